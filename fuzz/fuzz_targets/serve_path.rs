#![no_main]
// Fuzz target 'serve_path': see pulse::fuzzing::serve_path.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::serve_path(data));
