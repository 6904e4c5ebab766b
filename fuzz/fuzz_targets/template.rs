#![no_main]
// Fuzz target 'template': see pulse::fuzzing::template.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::template(data));
