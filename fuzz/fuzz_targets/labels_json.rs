#![no_main]
// Fuzz target 'labels_json': see pulse::fuzzing::labels_json.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::labels_json(data));
