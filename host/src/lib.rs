//! ferrite: GPU arrays and Keras-style training for Rust, with every GPU kernel written in
//! Rust and compiled to PTX at build time.
//!
//! ```
//! use ferrite::{Array, Device};
//!
//! let (device, note) = Device::best_available(); // CUDA device 0, else the CPU
//! println!("{note}");
//! let x = Array::from_vec_on(vec![1.0f32, 2.0, 3.0, 4.0, 5.0], &[5], &device)?;
//! assert_eq!(x.sqrt()?.to_string(), "[1, 1.4142135, 1.7320508, 2, 2.236068]");
//! # Ok::<(), ferrite::Error>(())
//! ```
//!
//! Map of the crate: [`device`] (CPU, CUDA, scoped defaults), [`Array`] (typed arrays and
//! their operations), [`autograd`] (gradients, losses, optimizers), [`layers`] (PyTorch-style
//! modules: linear, convolution, pooling, normalization, ...), [`io`] (`.npy`, `.npz`,
//! safetensors, `ndarray`), `backend` (the CPU code and the CUDA launches), [`ptx`] (the
//! embedded kernels), [`nn`] (the Keras model and its fused training path), [`data`] (datasets). The kernels themselves live in the `kernels-gpu` crate.
//!
//! Cargo features, all on by default: `cli` (the `train` and `bench` programs' argument
//! parsing), `plot` (`History::plot`), `progress` (`fit`'s progress bar), `ndarray`
//! (conversions to and from `ndarray`). `default-features = false` builds arrays, training
//! and the file formats without them.

/// The README's indexing and masking example, run as a doctest (a unit test in
/// `array/ops/index.rs` checks that the README holds the same text).
#[cfg(doctest)]
#[doc = concat!("```\n", include_str!("array/ops/readme_indexing.rs"), "# Ok::<(), ferrite::Error>(())\n```")]
pub struct ReadmeIndexing;

mod alloc;
mod array;
pub mod autograd;
mod backend;
pub mod baselines;
pub mod data;
pub mod device;
mod dtype;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod io;
pub mod layers;
pub mod nn;
pub mod ptx;

pub use array::functions::*;
pub use array::{
    Array, Axes, Ellipsis, IndexType, MatmulPrecision, NewAxis, RangeLike, Side, SliceArg, Summable,
    experimental_wgmma, float32_matmul_precision, set_experimental_wgmma, set_float32_matmul_precision,
};
pub use backend::cuda::CudaDevice;
#[doc(hidden)]
pub use backend::cuda::{PtxLaunchError, PtxLauncher};
pub use data::{Dataset, Labels};
pub use device::{Device, DeviceSpec, default_device, with_device};
pub use dtype::{DType, Element, Float, Int, Native, Num};
pub use error::{Error, Result};
pub use half::{bf16, f16};
pub use io::{AnyArray, NamedArrays};

/// The README's code blocks, run as doc tests (`cargo test --doc`) so its examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
