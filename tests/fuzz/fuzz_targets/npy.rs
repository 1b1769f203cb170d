//! Fuzzes the loader of a pair of .npy files (ferrite::fuzzing::split).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ferrite::fuzzing::npy_pair(data);
});
