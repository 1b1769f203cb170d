//! Array operations as kernel launches. Geometry comes from each kernel module's `config`,
//! arguments are typed by the kernel's descriptor, so this file only picks kernels and sizes.

use crate::array::storage::{CudaData, CudaRef};
use crate::backend::Batch;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use kernels_gpu::{Kernel, matmul, softmax};

type MatmulKernel<T> = Kernel<(*const T, *const T, *mut T, u32, u32, u32, u64, u64)>;

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

/// `rows × cols` row softmax (or log-softmax, by `kernel`) of `x` (from element `xo`) into `y`
/// (contiguous), in one launch of `softmax::row_softmax`: each element loaded as `K`, the row
/// computed (and cached) in `K::Compute` (f32 for f16 and bf16), the result rounded once as it
/// is stored.
pub(crate) fn softmax_rows<K: kernels_gpu::prelude::Elem<Compute: kernels_gpu::prelude::Float>>(
    kernel: &Kernel<(*const K, *mut K, u32, u32)>,
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
        // The cache holds the compute type's values.
        let cfg = softmax::config::<K::Compute>(rows, cols, dev.max_shared_bytes(), dev.max_threads(&kernel.info)?);
        let args = (x.ptr_at::<K>(xo), y.ptr_at_mut::<K>(0), r, c);
        // SAFETY: `x` holds `rows · cols` elements from `xo`, `y` as many.
        unsafe { dev.launch(kernel, cfg, args)? }
    }
    Ok(())
}

/// Softmax (`log`: log-softmax) along the middle axis of the contiguous `[outer, len, inner]`
/// float array `x` (from element `xo`) into `y` (contiguous, same dtype): one launch of
/// `softmax::axis_softmax` (32 lanes × up to 32 segments of the axis a block), 16-bit floats
/// computed in f32 and stored once.
pub(crate) fn softmax_axis(
    x: &CudaRef,
    xo: usize,
    y: &mut CudaData,
    (outer, len, inner): (usize, usize, usize),
    log: bool,
) -> Result<()> {
    let lanes = outer * inner;
    if lanes == 0 || len == 0 {
        return Ok(());
    }
    let dev = x.device().clone();
    let dims = (outer as u64, len as u64, inner as u64, log as u32);
    macro_rules! go {
        ($k:expr, $t:ty) => {{
            // Each entry's block is bounded by what its registers allow on this device.
            let cfg =
                softmax::axis_config(dims.0 * dims.2, dims.1, dev.grid_stride_blocks(), dev.max_threads(&$k.info)?);
            let args = (x.ptr_at::<$t>(xo), y.ptr_at_mut::<$t>(0), dims.0, dims.1, dims.2, dims.3);
            // SAFETY: `x` holds `outer · len · inner` elements from `xo`, `y` as many.
            unsafe { dev.launch(&$k, cfg, args) }
        }};
    }
    use kernels_gpu::prelude::{BF16, F16};
    match y.dtype {
        DType::F32 => go!(softmax::softmax_axis_f32, f32),
        DType::F64 => go!(softmax::softmax_axis_f64, f64),
        DType::F16 => go!(softmax::softmax_axis_f16, F16),
        DType::BF16 => go!(softmax::softmax_axis_bf16, BF16),
        d => Err(Error::Unsupported { op: "softmax", dtype: d, device: crate::Device::Cuda(dev).to_string() }),
    }
}

/// `C[m×n] = op(A) · op(B)` with `op(A)` `m×k` and `op(B)` `k×n` (at most one transposed), of
/// `dtype`, for every product of `batch`, into `c` from element `co`: tensor cores where the
/// device and dtype allow (untransposed operands: the caller copies a transposed one first),
/// else the CUDA-core kernels (16-bit floats through f32 copies, rounded back once). A batch
/// is one launch (grid z), or one per [`matmul::MAX_BATCH`] products.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    dtype: DType,
    a: &CudaRef,
    ao: usize,
    b: &CudaRef,
    bo: usize,
    (c, co): (&mut CudaData, usize),
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    batch: Batch,
) -> Result<()> {
    if m == 0 || n == 0 || batch.count == 0 {
        return Ok(());
    }
    dim32("matmul", "M", m)?;
    dim32("matmul", "N", n)?;
    dim32("matmul", "K", k)?;
    let mut z = 0;
    while z < batch.count {
        let part = Batch { count: (batch.count - z).min(matmul::MAX_BATCH), ..batch };
        let (ao, bo, co) = (ao + z * batch.sa, bo + z * batch.sb, co + z * m * n);
        if ta || tb || !super::tensor_core::matmul(dtype, a, ao, b, bo, (c, co), (m, k, n), part)? {
            cuda_cores(dtype, (a, ao), (b, bo), (c, co), (m, k, n), (ta, tb), part)?;
        }
        z += part.count;
    }
    Ok(())
}

/// The CUDA-core kernels for one launch's batch (at most `MAX_BATCH` products).
fn cuda_cores(
    dtype: DType,
    (a, ao): (&CudaRef, usize),
    (b, bo): (&CudaRef, usize),
    (c, co): (&mut CudaData, usize),
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    batch: Batch,
) -> Result<()> {
    match dtype {
        DType::F32 => matmul_native::<f32>((a, ao), (b, bo), (c, co), (m, k, n), (ta, tb), batch),
        DType::F64 => matmul_native::<f64>((a, ao), (b, bo), (c, co), (m, k, n), (ta, tb), batch),
        DType::F16 | DType::BF16 => {
            // Without tensor cores: f32 copies of the operands' spans, an f32 product, rounded back.
            let dev = a.device().clone();
            let (an, bn, cn) = (batch.span(batch.sa, m * k), batch.span(batch.sb, k * n), batch.count * m * n);
            let f32s = |len: usize| -> Result<CudaData> {
                Ok(CudaData { buf: dev.alloc::<u8>(len * 4)?, dtype: DType::F32, len })
            };
            let (mut a32, mut b32, mut c32) = (f32s(an)?, f32s(bn)?, f32s(cn)?);
            super::elementwise::convert(a, ao, &mut a32, an)?;
            super::elementwise::convert(b, bo, &mut b32, bn)?;
            let (av, bv) = (a32.view(), b32.view());
            matmul_native::<f32>((&av, 0), (&bv, 0), (&mut c32, 0), (m, k, n), (ta, tb), batch)?;
            convert_into(&c32.view(), (c, co), cn)
        }
        d => Err(Error::Unsupported { op: "matmul", dtype: d, device: a.device().name().to_string() }),
    }
}

/// `len` converted elements of `x` into `c` from element `co`.
fn convert_into(x: &CudaRef, (c, co): (&mut CudaData, usize), len: usize) -> Result<()> {
    if co == 0 {
        return super::elementwise::convert(x, 0, c, len);
    }
    // The conversion writes from its output's start: convert into a scratch, then copy.
    let dev = x.device().clone();
    let size = c.dtype.size();
    let mut tmp = CudaData { buf: dev.alloc::<u8>(len * size)?, dtype: c.dtype, len };
    super::elementwise::convert(x, 0, &mut tmp, len)?;
    dev.copy_raw(c.ptr_at_mut::<u8>(co) as u64, tmp.ptr_at::<u8>(0) as u64, len * size)
}

fn matmul_native<T: NativeKernels>(
    (a, ao): (&CudaRef, usize),
    (b, bo): (&CudaRef, usize),
    (c, co): (&mut CudaData, usize),
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    batch: Batch,
) -> Result<()> {
    let dev = a.device().clone();
    let (m32, k32, n32) = (dim32("matmul", "M", m)?, dim32("matmul", "K", k)?, dim32("matmul", "N", n)?);
    if m.div_ceil(matmul::TILE) > 65535 {
        return Err(Error::Config(format!("matmul: M = {m} exceeds the grid limit of {} rows", 65535 * matmul::TILE)));
    }
    let (sa, sb) = (batch.sa as u64, batch.sb as u64);
    let args = (a.ptr_at::<T>(ao), b.ptr_at::<T>(bo), c.ptr_at_mut::<T>(co), m32, n32, k32, sa, sb);
    match T::LARGE_MATMUL {
        // Large enough to fill 128×128 tiles: the kernel with more work per shared load (it
        // checks its operands' alignment for its vector loads itself).
        Some(large) if !ta && !tb && m >= kernels_gpu::sgemm::TILE && n >= kernels_gpu::sgemm::TILE => {
            let cfg = matmul::batched(kernels_gpu::sgemm::config(m, n), batch.count);
            // SAFETY: `a`, `b`, `c` hold every batch's m·k, k·n and m·n elements from these offsets.
            unsafe { dev.launch(&large, cfg, args) }
        }
        _ => {
            let cfg = matmul::batched(matmul::config::<T>(m, n), batch.count);
            // SAFETY: as above.
            unsafe { dev.launch(&T::matmul_kernel(ta, tb), cfg, args) }
        }
    }
}
