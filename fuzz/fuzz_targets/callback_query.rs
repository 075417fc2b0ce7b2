#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tower_oidc::fuzzing::callback_query(data));
