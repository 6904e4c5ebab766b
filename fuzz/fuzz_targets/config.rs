#![no_main]
// Fuzz target 'config': see pulse::fuzzing::config.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::config(data));
