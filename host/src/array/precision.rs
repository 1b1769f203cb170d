//! How f32 matrix products may trade precision for speed, like PyTorch's
//! `torch.set_float32_matmul_precision`. Exact FP32 is the default; `High` lets GPUs with
//! tensor cores (compute capability 8.0 and newer) round the inputs to tf32 (11 significant
//! bits), accumulating in f32.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

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

static WGMMA: AtomicBool = AtomicBool::new(false);

/// Lets bf16 and f16 matmuls on Hopper GPUs (compute capability 9.0, `sm_90a` PTX) use the
/// `wgmma` kernel instead of `mma.sync`, for the whole process. Off by default: that kernel is
/// proven against f64 references on the CPU emulator but has never run on a GPU, and its
/// shared-memory descriptors are exactly the kind of thing an emulator written from the same
/// reading of the PTX ISA could get wrong in the same way. `bench` measures it next to cuBLAS.
pub fn set_experimental_wgmma(enabled: bool) {
    WGMMA.store(enabled, Ordering::Relaxed);
}

pub fn experimental_wgmma() -> bool {
    WGMMA.load(Ordering::Relaxed)
}
