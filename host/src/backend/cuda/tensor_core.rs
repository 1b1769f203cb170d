//! Which tensor-core kernel a matmul launches, and the launch.
//!
//! - f32: `mma.sync` on tf32 when [`MatmulPrecision::High`] allows it (sm_80 and newer);
//!   otherwise the exact FP32 kernels of `ops.rs`.
//! - bf16 / f16: `mma.sync` (sm_80 and newer), or on Hopper `wgmma` when
//!   [`experimental_wgmma`] is on. That switch is off by default because the `wgmma` kernel has
//!   been proven on the emulator only, never on a GPU (`docs/performance.md`).

use super::CudaDevice;
use super::ops::dim32;
use crate::array::storage::{CudaData, CudaRef};
use crate::array::{MatmulPrecision, experimental_wgmma, float32_matmul_precision};
use crate::backend::Batch;
use crate::dtype::DType;
use crate::error::Result;
use kernels_gpu::{LaunchConfig, tensor_core, wgmma_matmul};

/// The tensor-core matmul kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TensorCoreKernel {
    MmaTf32,
    MmaBf16,
    MmaF16,
    WgmmaBf16,
    WgmmaF16,
}

impl TensorCoreKernel {
    fn name(self) -> &'static str {
        match self {
            Self::MmaTf32 => tensor_core::mma_matmul_tf32.name(),
            Self::MmaBf16 => tensor_core::mma_matmul_bf16.name(),
            Self::MmaF16 => tensor_core::mma_matmul_f16.name(),
            Self::WgmmaBf16 => wgmma_matmul::wgmma_matmul_bf16.name(),
            Self::WgmmaF16 => wgmma_matmul::wgmma_matmul_f16.name(),
        }
    }

    /// The kernel for `dtype` on `dev` under the current settings; `None`: no tensor cores for
    /// it there, use the CUDA-core path.
    fn choose(dev: &CudaDevice, dtype: DType) -> Option<Self> {
        let wgmma = |k: Self| (experimental_wgmma() && dev.has_kernel(k.name())).then_some(k);
        let k = match dtype {
            DType::F32 if float32_matmul_precision() == MatmulPrecision::High => Self::MmaTf32,
            DType::BF16 => wgmma(Self::WgmmaBf16).unwrap_or(Self::MmaBf16),
            DType::F16 => wgmma(Self::WgmmaF16).unwrap_or(Self::MmaF16),
            _ => return None,
        };
        dev.has_kernel(k.name()).then_some(k)
    }

    fn config(self, m: usize, n: usize) -> LaunchConfig {
        match self {
            Self::WgmmaBf16 | Self::WgmmaF16 => wgmma_matmul::config(m, n),
            _ => tensor_core::config(m, n),
        }
    }
}

/// The PTX entry a matmul of `dtype` would launch on tensor cores on `dev` now, if any.
pub(crate) fn kernel_name(dev: &CudaDevice, dtype: DType) -> Option<&'static str> {
    TensorCoreKernel::choose(dev, dtype).map(TensorCoreKernel::name)
}

/// `C = A · B` of `dtype` on tensor cores for every product of `batch` (at most
/// `MAX_BATCH`; operands from elements `ao` and `bo`, C from `co`) when the device has them
/// and the dtype and settings allow; `false` means "use the CUDA-core path".
///
/// The tensor-core kernels read A and B row-major only (their staging loads K-consecutive
/// words of A and N-consecutive rows of B): the array layer copies a transposed operand to
/// row-major once (`contiguous()`) before it comes here, which costs one pass over it and
/// keeps the product on tensor cores.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    dtype: DType,
    a: &CudaRef,
    ao: usize,
    b: &CudaRef,
    bo: usize,
    (c, co): (&mut CudaData, usize),
    (m, k, n): (usize, usize, usize),
    batch: Batch,
) -> Result<bool> {
    let dev = a.device().clone();
    let Some(kernel) = TensorCoreKernel::choose(&dev, dtype) else { return Ok(false) };
    // Both kernels' tiles are 128 rows: the grid's y limit bounds M.
    if m == 0 || n == 0 || m.div_ceil(tensor_core::TILE) > 65535 {
        return Ok(false);
    }
    let (m32, k32, n32) = (dim32("matmul", "M", m)?, dim32("matmul", "K", k)?, dim32("matmul", "N", n)?);
    let cfg = kernels_gpu::matmul::batched(kernel.config(m, n), batch.count);
    let (sa, sb) = (batch.sa as u64, batch.sb as u64);
    macro_rules! go {
        ($k:expr, $t:ty) => {
            // SAFETY: `a`, `b`, `c` hold every batch's m·k, k·n and m·n elements of the
            // kernel's type from these offsets; `choose` picked the kernel from the dtype.
            unsafe {
                let (pa, pb, pc) = (a.ptr_at::<$t>(ao), b.ptr_at::<$t>(bo), c.ptr_at_mut::<$t>(co));
                dev.launch(&$k, cfg, (pa, pb, pc, m32, n32, k32, sa, sb))
            }
        };
    }
    use kernels_gpu::prelude::{BF16, F16};
    match kernel {
        TensorCoreKernel::MmaTf32 => go!(tensor_core::mma_matmul_tf32, f32),
        TensorCoreKernel::MmaBf16 => go!(tensor_core::mma_matmul_bf16, BF16),
        TensorCoreKernel::MmaF16 => go!(tensor_core::mma_matmul_f16, F16),
        TensorCoreKernel::WgmmaBf16 => go!(wgmma_matmul::wgmma_matmul_bf16, BF16),
        TensorCoreKernel::WgmmaF16 => go!(wgmma_matmul::wgmma_matmul_f16, F16),
    }?;
    Ok(true)
}
