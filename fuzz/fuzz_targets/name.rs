#![no_main]
// Fuzz target 'name': see pulse::fuzzing::name.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::name(data));
