//! The loaders from bytes, for the fuzzers: the cargo-fuzz targets in `tests/fuzz/` and the
//! fixed-budget run in `tests/fuzz_smoke.rs`. Each returns the loader's result; a fuzzer only
//! looks for panics, aborts and hangs. Not a stable API.
//!
//! The dataset loaders' targets run the array loaders of `ferrite::io` on the same input too
//! (`.npy`, `.npz`, safetensors): one parser each, fuzzed through both callers.
//!
//! Loaders that read two files (a `.npy` pair, IDX images and labels) take one input split by
//! [`split`]: a 4-byte little-endian length of the first file, then both files.

use crate::data::{Dataset, csv, idx, npy};
use crate::error::Result;
use crate::nn::{Activation, Dense, Sequential, WeightsOptions};
use std::path::Path;

/// The first file and the rest (the whole input and nothing if it is too short).
pub fn split(input: &[u8]) -> (&[u8], &[u8]) {
    let Some((len, rest)) = input.split_first_chunk::<4>() else { return (input, &[]) };
    rest.split_at(rest.len().min(u32::from_le_bytes(*len) as usize))
}

/// The input [`split`] takes apart into `first` and `second`.
pub fn join(first: &[u8], second: &[u8]) -> Vec<u8> {
    let len = u32::try_from(first.len()).expect("fuzz seeds are small");
    [&len.to_le_bytes()[..], first, second].concat()
}

pub fn csv(input: &[u8]) -> Result<Dataset> {
    csv::read_csv(input, Path::new("fuzz.csv"), None)
}

/// `x.npy` and `y.npy`, [`split`].
pub fn npy_pair(input: &[u8]) -> Result<Dataset> {
    let (x, y) = split(input);
    let _ = crate::io::npy::load_npy_from(x, Path::new("x.npy"));
    npy::load_npy_pair_from(x, Path::new("x.npy"), y, Path::new("y.npy"))
}

pub fn npz(input: &[u8]) -> Result<Dataset> {
    let _ = crate::io::npy::load_npz_from(std::io::Cursor::new(input), Path::new("fuzz.npz"));
    npy::load_npz_from(std::io::Cursor::new(input), Path::new("fuzz.npz"))
}

/// IDX images and labels, [`split`]; each raw or gzipped.
pub fn idx(input: &[u8]) -> Result<Dataset> {
    let (images, labels) = split(input);
    idx::load_idx_from(images, Path::new("images-idx3-ubyte"), labels, Path::new("labels-idx1-ubyte"))
}

/// The model the weights target loads into: Dense(3, relu) on 4 inputs, then Dense(2, softmax).
pub fn weights_model() -> Sequential {
    let mut model = Sequential::new();
    model.add(Dense::new(3, Activation::Relu).input_dim(4));
    model.add(Dense::new(2, Activation::Softmax));
    model
}

/// A safetensors file loaded into [`weights_model`].
pub fn weights(input: &[u8]) -> Result<()> {
    let _ = crate::io::safetensors::load_safetensors_from(input, Path::new("fuzz.safetensors"));
    weights_model().load_weights_from(input, Path::new("fuzz.safetensors"), &WeightsOptions::default())
}
