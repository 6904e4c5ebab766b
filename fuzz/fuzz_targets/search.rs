#![no_main]
// Fuzz target 'search': see pulse::fuzzing::search.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::search(data));
