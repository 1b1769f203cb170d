//! Fuzzes the loader of raw IDX images and labels (split).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ferrite::fuzzing::idx(data);
});
