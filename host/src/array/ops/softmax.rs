//! Softmax and log-softmax over any axis. The last axis of a contiguous array takes the fused
//! row kernels (one pass through registers, or three through shared memory, on the GPU; a
//! vectorized row loop on the CPU); any other axis is `exp(x - max) / Σ` from the reductions
//! and the broadcasting arithmetic. 16-bit floats compute in f32 and round once: on the GPU
//! the last axis has its own f16 and bf16 kernels, softmax and log-softmax (16 bits loaded,
//! f32 inside, 16 bits stored, one launch); the CPU and the other axes convert to f32 and back
//! around the f32 ops.
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
        if T::DTYPE.size() == 2 {
            if k + 1 == self.ndim() && !self.is_empty() {
                // The last axis on a GPU: one launch of the 16-bit kernel.
                let x = self.contiguous()?;
                let cols = *self.shape().last().unwrap();
                if let Some(y) = x.last_16_on_gpu(true, self.len() / cols, cols)? {
                    return Ok(y);
                }
            }
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
            if let Some(y) = x.last_16_on_gpu(false, rows, cols)? {
                return Ok(y);
            }
            // 16-bit on the CPU: through f32, rounded back once.
            return x.cast::<f32>()?.softmax_last_native(rows, cols)?.cast::<T>();
        }
        x.softmax_last_native(rows, cols)
    }

    /// The softmax (or with `log` the log-softmax) of the rows of a contiguous f16 or bf16
    /// array on a GPU, in one launch of the 16-bit kernel (f32 inside, rounded once as it
    /// stores); `None` on the CPU.
    fn last_16_on_gpu(&self, log: bool, rows: usize, cols: usize) -> Result<Option<Array<T>>> {
        let Storage::Cuda(c) = self.storage() else { return Ok(None) };
        let mut out = Storage::alloc(T::DTYPE, self.len(), &self.device())?;
        let Storage::Cuda(y) = &mut out else { unreachable!("one device") };
        let (o, x) = (self.layout().offset(), c.view());
        use kernels_gpu::softmax as k;
        match (T::DTYPE, log) {
            (DType::F16, false) => cuda::ops::softmax_16(&k::softmax_f16, &x, o, y, rows, cols)?,
            (DType::F16, true) => cuda::ops::softmax_16(&k::log_softmax_f16, &x, o, y, rows, cols)?,
            (_, false) => cuda::ops::softmax_16(&k::softmax_bf16, &x, o, y, rows, cols)?,
            (_, true) => cuda::ops::softmax_16(&k::log_softmax_bf16, &x, o, y, rows, cols)?,
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
