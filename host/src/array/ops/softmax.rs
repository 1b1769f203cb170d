//! Softmax and log-softmax over any axis. The last axis of a contiguous f32 or f64 array
//! takes the fused row kernels (one pass through registers, or three through shared memory, on
//! the GPU; a vectorized row loop on the CPU), and on the GPU f16 and bf16 have their own row
//! kernels, softmax and log-softmax. Every other case takes the lane kernel
//! (`kernels_gpu::softmax::axis_softmax`; the CPU runs its `lane` arithmetic): the axis in
//! the middle of `[outer, len, inner]`, one launch, 16-bit floats loaded, computed in f32 and
//! stored once. On the GPU it needs `inner > 1` (with `inner = 1` a warp's 32 lanes would be
//! 32 rows, read uncoalesced), so an axis whose trailing dimensions are all 1 is `exp(x -
//! max) / Σ` or `x - logsumexp(x)` from the reductions and the broadcasting arithmetic (the
//! 16-bit types through f32, rounded once). `log_softmax` along the last axis on a GPU is the
//! row kernel's log form for every float dtype.
//!
//! Numerics: subtracting the maximum keeps every exponent `<= 0`; a NaN makes its row NaN
//! (through the sum), a row of only `-inf` is NaN, as the formula gives.

use crate::array::Array;
use crate::array::layout::Layout;
use crate::array::storage::Storage;
use crate::backend::{cpu, cuda};
use crate::dtype::{DType, Float};
use crate::error::{Error, Result};
use std::sync::Arc;

impl<T: Float> Array<T> {
    /// Softmax over the last axis (numerically stable; a NaN makes its row NaN).
    pub fn softmax(&self) -> Result<Array<T>> {
        self.softmax_axis(-1)
    }

    /// Softmax over `axis` (negative from the end).
    pub fn softmax_axis(&self, axis: isize) -> Result<Array<T>> {
        if self.ndim() == 0 {
            return Err(Error::bad_shape("softmax", self.shape(), "a 0-d array has no axis to normalise over"));
        }
        let k = self.layout().axis("softmax", axis)?;
        if self.len() == 0 {
            return self.contiguous();
        }
        if k + 1 == self.ndim() {
            return self.softmax_last();
        }
        if let Some(y) = self.fused_along(k, false)? {
            return Ok(y);
        }
        if T::DTYPE.size() == 2 {
            // In f32, rounded once: `x - max` rounded to 16 bits would put up to 2^-9·|x - max|
            // into the exponent (e^-78 off by 15% in bf16).
            return self.cast::<f32>()?.softmax_axis(axis)?.cast::<T>();
        }
        let max = self.max(axis, true)?;
        let e = self.sub(&max)?.exp()?;
        let s = e.sum_same(axis.into(), true)?;
        e.div(&s)
    }

    /// `x - logsumexp(x)` over `axis`: the log of the softmax, without its underflow.
    pub fn log_softmax(&self, axis: isize) -> Result<Array<T>> {
        if self.ndim() == 0 {
            return Err(Error::bad_shape("log_softmax", self.shape(), "a 0-d array has no axis to normalise over"));
        }
        let k = self.layout().axis("log_softmax", axis)?;
        let on_gpu = matches!(self.storage(), Storage::Cuda(_));
        if k + 1 == self.ndim() && !self.is_empty() && on_gpu {
            // The last axis on a GPU: one launch of the row kernel.
            let x = self.contiguous()?;
            let cols = *self.shape().last().unwrap();
            if let Some(y) = x.last_on_gpu(true, self.len() / cols, cols)? {
                return Ok(y);
            }
        }
        if let Some(y) = self.fused_along(k, true)? {
            return Ok(y);
        }
        if T::DTYPE.size() == 2 {
            // In f32, rounded once (as the softmax).
            return self.cast::<f32>()?.log_softmax(axis)?.cast::<T>();
        }
        self.sub(&self.logsumexp(axis, true)?)
    }

    fn softmax_last(&self) -> Result<Array<T>> {
        let x = self.contiguous()?;
        let cols = *self.shape().last().unwrap();
        let rows = self.len().checked_div(cols).unwrap_or(0);
        if T::DTYPE != DType::F32 && T::DTYPE != DType::F64 {
            if let Some(y) = x.last_on_gpu(false, rows, cols)? {
                return Ok(y);
            }
            // 16-bit on the CPU: the lane arithmetic, in f32 inside.
            return Ok(x.fused_along(self.ndim() - 1, false)?.expect("the CPU takes every axis"));
        }
        x.softmax_last_native(rows, cols)
    }

    /// Softmax (`log`: log-softmax) along axis `k` in one launch of the lane kernel (or the
    /// CPU's lanes), if this device takes it for this shape (see the module doc); `None`
    /// otherwise.
    fn fused_along(&self, k: usize, log: bool) -> Result<Option<Array<T>>> {
        let shape = self.shape();
        let dims: (usize, usize, usize) = (shape[..k].iter().product(), shape[k], shape[k + 1..].iter().product());
        let inner = dims.2;
        if matches!(self.storage(), Storage::Cuda(_)) && inner < 2 {
            return Ok(None);
        }
        let x = self.contiguous()?;
        let mut out = Storage::alloc(T::DTYPE, self.len(), &self.device())?;
        let (o, n) = (x.layout().offset(), self.len());
        match (x.storage(), &mut out) {
            (Storage::Cpu(x), Storage::Cpu(y)) => {
                macro_rules! go {
                    ($t:ty) => {
                        cpu::softmax_axis::<$t>(
                            &x.as_slice::<$t>().expect("the dtype")[o..o + n],
                            y.as_mut_slice::<$t>().expect("the dtype"),
                            dims,
                            log,
                        )
                    };
                }
                match T::DTYPE {
                    DType::F32 => go!(f32),
                    DType::F64 => go!(f64),
                    DType::F16 => go!(half::f16),
                    _ => go!(half::bf16),
                }
            }
            (Storage::Cuda(x), Storage::Cuda(y)) => cuda::ops::softmax_axis(&x.view(), o, y, dims, log)?,
            _ => unreachable!("one device"),
        }
        Ok(Some(Array::from_parts(Arc::new(out), Layout::contiguous(shape))))
    }

    /// The softmax (or with `log` the log-softmax) of the rows of a contiguous array on a GPU,
    /// in one launch of `row_softmax` (16-bit floats computed in f32, rounded once as they are
    /// stored); `None` on the CPU. The f32/f64 softmax prefers the one-pass register kernels
    /// (`softmax_last_native`); this serves their log-softmax and both for 16 bits.
    fn last_on_gpu(&self, log: bool, rows: usize, cols: usize) -> Result<Option<Array<T>>> {
        let Storage::Cuda(c) = self.storage() else { return Ok(None) };
        let mut out = Storage::alloc(T::DTYPE, self.len(), &self.device())?;
        let Storage::Cuda(y) = &mut out else { unreachable!("one device") };
        let (o, x) = (self.layout().offset(), c.view());
        use cuda::ops::softmax_rows as go;
        use kernels_gpu::softmax as k;
        match (T::DTYPE, log) {
            (DType::F32, false) => go(&k::softmax_f32, &x, o, y, rows, cols)?,
            (DType::F32, true) => go(&k::log_softmax_f32, &x, o, y, rows, cols)?,
            (DType::F64, false) => go(&k::softmax_f64, &x, o, y, rows, cols)?,
            (DType::F64, true) => go(&k::log_softmax_f64, &x, o, y, rows, cols)?,
            (DType::F16, false) => go(&k::softmax_f16, &x, o, y, rows, cols)?,
            (DType::F16, true) => go(&k::log_softmax_f16, &x, o, y, rows, cols)?,
            (_, false) => go(&k::softmax_bf16, &x, o, y, rows, cols)?,
            (_, true) => go(&k::log_softmax_bf16, &x, o, y, rows, cols)?,
        }
        Ok(Some(Array::from_parts(Arc::new(out), Layout::contiguous(self.shape()))))
    }

    /// Row softmax of a contiguous f32 or f64 array.
    fn softmax_last_native(&self, rows: usize, cols: usize) -> Result<Array<T>> {
        let device = self.device();
        let mut out = Storage::alloc(T::DTYPE, self.len(), &device)?;
        let o = self.layout().offset();
        match (self.storage(), &mut out) {
            (Storage::Cpu(x), Storage::Cpu(y)) => {
                let n = self.len();
                match (x.as_slice::<f32>(), x.as_slice::<f64>()) {
                    (Some(x), _) => y.as_mut_slice::<f32>().unwrap().copy_from_slice(&cpu::softmax(&x[o..o + n], cols)),
                    (_, Some(x)) => y.as_mut_slice::<f64>().unwrap().copy_from_slice(&cpu::softmax(&x[o..o + n], cols)),
                    _ => unreachable!("f32 or f64"),
                }
            }
            (Storage::Cuda(x), Storage::Cuda(y)) => match T::DTYPE {
                DType::F32 => cuda::ops::softmax::<f32>(&x.view(), o, y, rows, cols)?,
                _ => cuda::ops::softmax::<f64>(&x.view(), o, y, rows, cols)?,
            },
            _ => unreachable!("one device"),
        }
        Ok(Array::from_parts(Arc::new(out), Layout::contiguous(self.shape())))
    }
}
