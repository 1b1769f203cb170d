//! Keras's model API: [`Sequential`] of [`Layer`]s ([`Dense`] and the modules of
//! `ferrite::layers`), compiled with a [`Loss`], an [`Optimizer`] and [`Metric`]s, trained
//! with `fit` (with Keras's callbacks) on the CPU or a CUDA device.
//!
//! Map: `config.rs` (names), `layer.rs` (what `add` takes), `model.rs` (the model API),
//! `fit.rs` (training loop and results), `callbacks.rs` (early stopping, checkpoints),
//! `general.rs` (any layers, through autograd), `guard.rs` (stopping on NaN, warning on
//! divergence), `data.rs` (checked training data), `network.rs` (a pure Dense stack's fused
//! step, once for all devices), `backend/` (its operations per device), `progress.rs`, `weights.rs` and `checkpoint.rs` (safetensors files written as a
//! durable, clean replace), `plot.rs` (behind the `plot` feature).

pub(crate) mod backend;
mod callbacks;
pub(crate) mod checkpoint;
mod config;
mod data;
mod fit;
mod general;
mod guard;
mod layer;
mod model;
mod network;
#[cfg(feature = "plot")]
mod plot;
mod progress;
mod weights;

pub use callbacks::{EarlyStopping, ModelCheckpoint, Monitor};
pub use config::{Activation, Loss, Metric, Optimizer};
pub use layer::Layer;
pub use data::TrainingData;
pub use fit::{EpochLog, FitOptions, History};
pub use model::{Dense, Sequential};
pub use weights::WeightsOptions;

use crate::backend::{cpu::CpuMath, cuda::ops::NativeKernels};
use crate::dtype::Native;

/// The element types a network trains in, f32 and f64: a [`Native`] float with every
/// backend's kernels for the training step (the CPU's vector math, CUDA's matmul and softmax,
/// and the network's own kernels in `backend/`). It lives here, not in the dtype layer, so
/// the dtypes depend on no backend.
pub trait NnFloat: Native + CpuMath + NativeKernels + backend::cuda::NnKernels {}
impl<T: Native + CpuMath + NativeKernels + backend::cuda::NnKernels> NnFloat for T {}
