//! How f32 matrix products may trade precision for speed, like PyTorch's
//! `torch.set_float32_matmul_precision`. Exact FP32 is the default; `High` lets GPUs with
//! tensor cores (compute capability 8.0 and newer) round the inputs to tf32 (11 significant
//! bits), accumulating in f32.

use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulPrecision {
    /// FP32 products and sums (the default).
    Highest,
    /// TF32 tensor cores where the device has them.
    High,
}

static PRECISION: AtomicU8 = AtomicU8::new(0);

/// Sets the precision of f32 matrix products for the whole process.
pub fn set_float32_matmul_precision(p: MatmulPrecision) {
    PRECISION.store(p as u8, Ordering::Relaxed);
}

pub fn float32_matmul_precision() -> MatmulPrecision {
    match PRECISION.load(Ordering::Relaxed) {
        0 => MatmulPrecision::Highest,
        _ => MatmulPrecision::High,
    }
}
