#![no_main]
// Fuzz target 'tag_message': see pulse::fuzzing::tag_message.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulse::fuzzing::tag_message(data));
