#![no_main]
// Fuzz target 'selector': see pulse::fuzzing::selector.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::selector(data));
