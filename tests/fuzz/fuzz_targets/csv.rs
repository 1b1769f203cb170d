//! Fuzzes the loader of CSV with a header row.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ferrite::fuzzing::csv(data);
});
