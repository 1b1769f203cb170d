//! Array operations as kernel launches. Geometry comes from each kernel module's `config`,
//! arguments are typed by the kernel's descriptor, so this file only picks kernels and sizes.

use super::{CudaDevice, DeviceBuffer};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use kernels_gpu::{Kernel, cast, elementwise, matmul, softmax};

type MatmulKernel<T> = Kernel<(*const T, *const T, *mut T, u32, u32, u32)>;

/// The element types with native kernels (16-bit floats are converted to f32 around them).
pub trait NativeKernels: Element + kernels_gpu::prelude::Float {
    const SQRT: Kernel<(*const Self, *mut Self, u64)>;
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
            const SQRT: Kernel<(*const $t, *mut $t, u64)> = elementwise::$sqrt;
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

pub(crate) fn sqrt<T: NativeKernels>(x: &DeviceBuffer<T>) -> Result<DeviceBuffer<T>> {
    let mut y = x.device().alloc::<T>(x.len())?;
    sqrt_into(x, &mut y)?;
    Ok(y)
}

/// `y = sqrt(x)` into an existing buffer of the same length (it may be `x` itself).
pub(crate) fn sqrt_into<T: NativeKernels>(x: &DeviceBuffer<T>, y: &mut DeviceBuffer<T>) -> Result<()> {
    let dev = x.device();
    let n = x.len();
    assert_eq!(n, y.len(), "sqrt_into: callers check the shapes");
    if n > 0 {
        let cfg = elementwise::config::<T>(n, dev.grid_stride_blocks());
        // SAFETY: both buffers hold `n` elements.
        unsafe { dev.launch(&T::SQRT, cfg, (x.ptr(), y.ptr_mut(), n as u64))? };
    }
    Ok(())
}

/// `rows × cols` row softmax.
pub(crate) fn softmax<T: NativeKernels>(x: &DeviceBuffer<T>, rows: usize, cols: usize) -> Result<DeviceBuffer<T>> {
    let dev = x.device();
    let mut y = dev.alloc::<T>(rows * cols)?;
    if rows > 0 && cols > 0 {
        let (r, c) = (dim32("softmax", "rows", rows)?, dim32("softmax", "columns", cols)?);
        if r > i32::MAX as u32 {
            return Err(Error::Config(format!("softmax: {rows} rows exceed the grid limit of 2^31 - 1")));
        }
        // One pass through registers when the row is whole 16-byte groups (device buffers are
        // 256-byte aligned) and fits; otherwise three passes, caching the row in shared memory.
        // Each entry's block is bounded by what its registers allow on this device.
        let args = (x.ptr(), y.ptr_mut(), r, c);
        let regs_max: Vec<u32> = T::SOFTMAX_REGS.iter().map(|k| dev.max_threads(&k.info)).collect::<Result<_>>()?;
        match softmax::regs_config::<T>(rows, cols, |i| regs_max[i]) {
            Some((i, cfg)) => unsafe { dev.launch(&T::SOFTMAX_REGS[i], cfg, args)? },
            None => {
                let cfg = softmax::config::<T>(rows, cols, dev.max_shared_bytes(), dev.max_threads(&T::SOFTMAX.info)?);
                unsafe { dev.launch(&T::SOFTMAX, cfg, args)? }
            }
        }
    }
    Ok(y)
}

/// `C[m×n] = op(A) · op(B)` with `op(A)` `m×k` and `op(B)` `k×n`.
pub(crate) fn matmul<T: NativeKernels>(
    a: &DeviceBuffer<T>,
    b: &DeviceBuffer<T>,
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
) -> Result<DeviceBuffer<T>> {
    let dev = a.device();
    let mut c = dev.alloc::<T>(m * n)?;
    if m > 0 && n > 0 {
        let (m32, k32, n32) = (dim32("matmul", "M", m)?, dim32("matmul", "K", k)?, dim32("matmul", "N", n)?);
        if m.div_ceil(matmul::TILE) > 65535 {
            return Err(Error::Config(format!(
                "matmul: M = {m} exceeds the grid limit of {} rows",
                65535 * matmul::TILE
            )));
        }
        let args = (a.ptr(), b.ptr(), c.ptr_mut(), m32, n32, k32);
        match T::LARGE_MATMUL {
            // Large enough to fill 128×128 tiles: the kernel with more work per shared load.
            Some(large) if !ta && !tb && m >= kernels_gpu::sgemm::TILE && n >= kernels_gpu::sgemm::TILE => unsafe {
                dev.launch(&large, kernels_gpu::sgemm::config(m, n), args)?
            },
            _ => unsafe { dev.launch(&T::matmul_kernel(ta, tb), matmul::config::<T>(m, n), args)? },
        }
    }
    Ok(c)
}

/// Converts between float types on the device (rounding to nearest even).
pub(crate) fn cast<S: Element, D: Element>(x: &DeviceBuffer<S>) -> Result<DeviceBuffer<D>> {
    let dev = x.device();
    let n = x.len();
    let mut y = dev.alloc::<D>(n)?;
    if n == 0 {
        return Ok(y);
    }
    let cfg = elementwise::config::<f64>(n, dev.grid_stride_blocks());
    // The pointer types come from each kernel's descriptor (`half::f16` and the kernels' `F16`
    // are both a transparent u16).
    macro_rules! go {
        ($k:expr) => {
            // SAFETY: `x` and `y` hold `n` elements of the kernel's source and target types.
            unsafe { dev.launch(&$k, cfg, (x.ptr(), y.ptr_mut(), n as u64)) }
        };
    }
    use DType::*;
    match (S::DTYPE, D::DTYPE) {
        (F32, F64) => go!(cast::cast_f32_f64),
        (F32, F16) => go!(cast::cast_f32_f16),
        (F32, BF16) => go!(cast::cast_f32_bf16),
        (F64, F32) => go!(cast::cast_f64_f32),
        (F64, F16) => go!(cast::cast_f64_f16),
        (F64, BF16) => go!(cast::cast_f64_bf16),
        (F16, F32) => go!(cast::cast_f16_f32),
        (F16, F64) => go!(cast::cast_f16_f64),
        (F16, BF16) => go!(cast::cast_f16_bf16),
        (BF16, F32) => go!(cast::cast_bf16_f32),
        (BF16, F64) => go!(cast::cast_bf16_f64),
        (BF16, F16) => go!(cast::cast_bf16_f16),
        (s, d) if s == d => dev.copy(x, &mut y),
        (s, d) => Err(Error::Unsupported { op: "cast", dtype: s, device: format!("CUDA (to {d})") }),
    }?;
    Ok(y)
}

impl CudaDevice {
    /// Copies `src` into `dst` (same length) on the device.
    pub(crate) fn copy<S: Copy, D: Copy>(&self, src: &DeviceBuffer<S>, dst: &mut DeviceBuffer<D>) -> Result<()> {
        let bytes = src.len() * size_of::<S>();
        assert_eq!(bytes, dst.len() * size_of::<D>(), "device copy between buffers of different sizes");
        unsafe { self.0.driver.copy_on_device(dst.ptr, src.ptr, bytes) }
    }
}
