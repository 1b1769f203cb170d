//! Fuzzes the loader of a safetensors weights file for a 4 -> 3 -> 2 model.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ferrite::fuzzing::weights(data);
});
