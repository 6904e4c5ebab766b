#![no_main]
// Fuzz target 'age_content': see pulse::fuzzing::age_content.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::age_content(data));
