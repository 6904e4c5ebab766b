#![no_main]
// Fuzz target 'address': see pulse::fuzzing::address.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::address(data));
