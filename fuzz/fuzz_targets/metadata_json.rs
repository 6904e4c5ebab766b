#![no_main]
// Fuzz target 'metadata_json': see pulse::fuzzing::metadata_json.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::metadata_json(data));
