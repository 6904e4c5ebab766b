#![no_main]
// Fuzz target 'search_cache': see pulse::fuzzing::search_cache.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::search_cache(data));
