#![no_main]
// Fuzz target 'sidecar': see pulse::fuzzing::sidecar.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::sidecar(data));
