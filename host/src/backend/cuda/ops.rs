//! Array operations as kernel launches. Geometry comes from each kernel module's `config`,
//! arguments are typed by the kernel's descriptor, so this file only picks kernels and sizes.

use crate::array::storage::{CudaData, CudaRef};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use kernels_gpu::{Kernel, matmul, softmax};

type MatmulKernel<T> = Kernel<(*const T, *const T, *mut T, u32, u32, u32)>;

/// The element types with native kernels (16-bit floats are converted to f32 around them).
pub trait NativeKernels: Element + kernels_gpu::prelude::Float + kernels_gpu::prelude::Elem {
    const SOFTMAX: Kernel<(*const Self, *mut Self, u32, u32)>;
    /// The one-pass softmax holding 1, 2, 4 or 8 16-byte groups per thread.
    const SOFTMAX_REGS: [Kernel<(*const Self, *mut Self, u32, u32)>; 4];
    /// `C = op(A) · op(B)` for (transpose A, transpose B); `(true, true)` has no kernel.
    fn matmul_kernel(ta: bool, tb: bool) -> MatmulKernel<Self>;
    /// The 128×128-tile kernel for large untransposed products, where there is one.
    const LARGE_MATMUL: Option<MatmulKernel<Self>>;
}

macro_rules! native {
    ($t:ty, $sqrt:ident, $softmax:ident, [$($regs:ident),*], $nn:ident, $tn:ident, $nt:ident, $large:expr) => {
        impl NativeKernels for $t {
            const LARGE_MATMUL: Option<MatmulKernel<$t>> = $large;
            const SOFTMAX: Kernel<(*const $t, *mut $t, u32, u32)> = softmax::$softmax;
            const SOFTMAX_REGS: [Kernel<(*const $t, *mut $t, u32, u32)>; 4] = [$(softmax::$regs),*];
            fn matmul_kernel(ta: bool, tb: bool) -> MatmulKernel<$t> {
                match (ta, tb) {
                    (false, false) => matmul::$nn,
                    (true, false) => matmul::$tn,
                    (false, true) => matmul::$nt,
                    (true, true) => unreachable!("callers transpose at most one operand"),
                }
            }
        }
    };
}
native!(
    f32,
    sqrt_f32,
    softmax_f32,
    [softmax_regs_f32_v1, softmax_regs_f32_v2, softmax_regs_f32_v4, softmax_regs_f32_v8],
    matmul_f32,
    matmul_tn_f32,
    matmul_nt_f32,
    Some(kernels_gpu::sgemm::sgemm_f32)
);
native!(
    f64,
    sqrt_f64,
    softmax_f64,
    [softmax_regs_f64_v1, softmax_regs_f64_v2, softmax_regs_f64_v4, softmax_regs_f64_v8],
    matmul_f64,
    matmul_tn_f64,
    matmul_nt_f64,
    None
);

/// Kernel sizes are 32-bit: larger dimensions are refused rather than truncated.
pub(super) fn dim32(op: &'static str, what: &str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Config(format!("{op}: {what} = {n} exceeds the kernels' 32-bit sizes")))
}

/// `rows × cols` row softmax of f32 or f64 `x` (from element `xo`) into `y` (contiguous).
pub(crate) fn softmax<T: NativeKernels>(
    x: &CudaRef,
    xo: usize,
    y: &mut CudaData,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let dev = x.device().clone();
    if rows > 0 && cols > 0 {
        let (r, c) = (dim32("softmax", "rows", rows)?, dim32("softmax", "columns", cols)?);
        if r > i32::MAX as u32 {
            return Err(Error::Config(format!("softmax: {rows} rows exceed the grid limit of 2^31 - 1")));
        }
        // One pass through registers when the row is whole 16-byte groups, both ends 16-byte
        // aligned, and the row fits; otherwise three passes, caching the row in shared memory.
        // Each entry's block is bounded by what its registers allow on this device.
        let (xp, yp) = (x.ptr_at::<T>(xo), y.ptr_at_mut::<T>(0));
        let args = (xp, yp, r, c);
        let aligned = (xp as usize).is_multiple_of(16);
        let regs_max: Vec<u32> = T::SOFTMAX_REGS.iter().map(|k| dev.max_threads(&k.info)).collect::<Result<_>>()?;
        match softmax::regs_config::<T>(rows, cols, |i| regs_max[i]).filter(|_| aligned) {
            // SAFETY: `x` holds `rows · cols` elements from `xo`, `y` as many.
            Some((i, cfg)) => unsafe { dev.launch(&T::SOFTMAX_REGS[i], cfg, args)? },
            None => {
                let cfg = softmax::config::<T>(rows, cols, dev.max_shared_bytes(), dev.max_threads(&T::SOFTMAX.info)?);
                // SAFETY: as above.
                unsafe { dev.launch(&T::SOFTMAX, cfg, args)? }
            }
        }
    }
    Ok(())
}

/// `C[m×n] = op(A) · op(B)` with `op(A)` `m×k` and `op(B)` `k×n` (at most one transposed), of
/// `dtype`, into `c`: tensor cores where the device and dtype allow (untransposed operands),
/// else the CUDA-core kernels (16-bit floats through f32 copies, rounded back once).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    dtype: DType,
    a: &CudaRef,
    ao: usize,
    b: &CudaRef,
    bo: usize,
    c: &mut CudaData,
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    if !ta && !tb && super::tensor_core::matmul(dtype, a, ao, b, bo, c, (m, k, n))? {
        return Ok(());
    }
    match dtype {
        DType::F32 => matmul_native::<f32>(a, ao, b, bo, c, (m, k, n), (ta, tb)),
        DType::F64 => matmul_native::<f64>(a, ao, b, bo, c, (m, k, n), (ta, tb)),
        DType::F16 | DType::BF16 => {
            // Without tensor cores: f32 copies of the operands, an f32 product, rounded back.
            let dev = a.device().clone();
            let (an, bn) = (m * k, k * n);
            let mut a32 = CudaData { buf: dev.alloc::<u8>(an * 4)?, dtype: DType::F32, len: an };
            let mut b32 = CudaData { buf: dev.alloc::<u8>(bn * 4)?, dtype: DType::F32, len: bn };
            let mut c32 = CudaData { buf: dev.alloc::<u8>(m * n * 4)?, dtype: DType::F32, len: m * n };
            super::elementwise::convert(a, ao, &mut a32, an)?;
            super::elementwise::convert(b, bo, &mut b32, bn)?;
            matmul_native::<f32>(&a32.view(), 0, &b32.view(), 0, &mut c32, (m, k, n), (ta, tb))?;
            super::elementwise::convert(&c32.view(), 0, c, m * n)
        }
        d => Err(Error::Unsupported { op: "matmul", dtype: d, device: a.device().name().to_string() }),
    }
}

#[allow(clippy::too_many_arguments)]
fn matmul_native<T: NativeKernels>(
    a: &CudaRef,
    ao: usize,
    b: &CudaRef,
    bo: usize,
    c: &mut CudaData,
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
) -> Result<()> {
    let dev = a.device().clone();
    let (m32, k32, n32) = (dim32("matmul", "M", m)?, dim32("matmul", "K", k)?, dim32("matmul", "N", n)?);
    if m.div_ceil(matmul::TILE) > 65535 {
        return Err(Error::Config(format!("matmul: M = {m} exceeds the grid limit of {} rows", 65535 * matmul::TILE)));
    }
    let args = (a.ptr_at::<T>(ao), b.ptr_at::<T>(bo), c.ptr_at_mut::<T>(0), m32, n32, k32);
    match T::LARGE_MATMUL {
        // Large enough to fill 128×128 tiles: the kernel with more work per shared load (it
        // checks its operands' alignment for its vector loads itself).
        Some(large) if !ta && !tb && m >= kernels_gpu::sgemm::TILE && n >= kernels_gpu::sgemm::TILE => {
            // SAFETY: `a`, `b`, `c` hold m·k, k·n and m·n elements from these offsets.
            unsafe { dev.launch(&large, kernels_gpu::sgemm::config(m, n), args) }
        }
        // SAFETY: as above.
        _ => unsafe { dev.launch(&T::matmul_kernel(ta, tb), matmul::config::<T>(m, n), args) },
    }
}
