#![no_main]
// Fuzz target 'version': see pulse::fuzzing::version.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::version(data));
