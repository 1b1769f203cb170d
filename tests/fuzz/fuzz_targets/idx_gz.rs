//! Fuzzes the loader of gzipped IDX images and labels (split); the same loader as idx, seeded with gzip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ferrite::fuzzing::idx(data);
});
