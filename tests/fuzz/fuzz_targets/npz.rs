//! Fuzzes the loader of an .npz archive.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ferrite::fuzzing::npz(data);
});
