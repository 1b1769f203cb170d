//! Unary ops: one method per op of the kernels' list (`kernels_gpu::ops::unary`), made by
//! `for_each_unary!`, so a new op there is a new method here with nothing written by hand;
//! `clip` and `nan_to_num`, which take parameters, are written out.

use super::{compute_bits, on_device, output, walk};
use crate::array::Array;
use crate::backend::{cpu, cuda};
use crate::dtype::{Element, Float, Num};
use crate::error::{Error, Result};
use kernels_gpu::ops::unary::Unary;

impl<T: Element> Array<T> {
    /// `op(self)` elementwise into a new contiguous array (`p`: the op's parameters as compute
    /// bits).
    pub(crate) fn unary(&self, op: Unary, p: [u64; 3]) -> Result<Array<T>> {
        let (mut out, layout) = output::<T>(self.shape(), &self.device())?;
        let w = walk(&layout, &[self.layout()]);
        on_device(
            &mut out,
            &[self.storage()],
            |y, x| cpu::elementwise::unary(op, p, x[0], y, &w),
            |y, x| cuda::elementwise::unary(op, p, &x[0], y, &w),
        )?;
        Ok(Array::from_parts(std::sync::Arc::new(out), layout))
    }
}

/// One method per op, with the op's doc.
macro_rules! unary_method {
    ($kind:ident, Clip, $name:ident, $doc:expr) => {};
    ($kind:ident, NanToNum, $name:ident, $doc:expr) => {};
    (num, $op:ident, $name:ident, $doc:expr) => {
        impl<T: Num> Array<T> {
            #[doc = $doc]
            pub fn $name(&self) -> Result<Array<T>> {
                self.unary(Unary::$op, [0; 3])
            }
        }
    };
    ($kind:ident, $op:ident, $name:ident, $doc:expr) => {
        impl<T: Float> Array<T> {
            #[doc = $doc]
            pub fn $name(&self) -> Result<Array<T>> {
                self.unary(Unary::$op, [0; 3])
            }
        }
    };
}
kernels_gpu::for_each_unary!(unary_method);

impl<T: Num> Array<T> {
    /// Each element limited to `[min, max]` (NumPy's `clip`: NaN stays NaN; with `min > max`
    /// every element becomes `max`).
    pub fn clip(&self, min: T, max: T) -> Result<Array<T>> {
        self.unary(Unary::Clip, [compute_bits(min), compute_bits(max), 0])
    }
}

impl<T: Float> Array<T> {
    /// NaN replaced by `nan`, +inf by `posinf`, -inf by `neginf` (NumPy's `nan_to_num`, whose
    /// defaults are 0 and the largest and smallest finite values: [`Array::nan_to_num_default`]).
    pub fn nan_to_num(&self, nan: T, posinf: T, neginf: T) -> Result<Array<T>> {
        self.unary(Unary::NanToNum, [compute_bits(nan), compute_bits(posinf), compute_bits(neginf)])
    }

    /// `nan_to_num` with NumPy's defaults: 0, and the dtype's largest and smallest finite values.
    pub fn nan_to_num_default(&self) -> Result<Array<T>> {
        let big = match T::DTYPE {
            crate::DType::F64 => f64::MAX,
            crate::DType::F16 => 65504.0,
            crate::DType::BF16 => 3.3895313892515355e38,
            _ => f32::MAX as f64,
        };
        self.nan_to_num(T::from_f64(0.0), T::from_f64(big), T::from_f64(-big))
    }

    /// Elementwise square root into `out`, an existing array of the same shape on the same
    /// device (CuPy's `cp.sqrt(x, out=y)`): `out`'s elements are overwritten (its storage copied
    /// first if another array shares it).
    pub fn sqrt_into(&self, out: &mut Array<T>) -> Result<()> {
        if self.shape() != out.shape() {
            return Err(Error::shape_mismatch(
                "sqrt_into",
                self.shape(),
                out.shape(),
                "out must have the input's shape",
            ));
        }
        super::same_device("sqrt_into", self, out)?;
        // The streaming-store fast path: contiguous f32/f64 on the CPU, out its own storage.
        if let (Some(x), true) = (self.contiguous_cpu_slice(), out.is_contiguous()) {
            let (storage, layout) = out.parts_mut()?;
            let offset = layout.offset();
            if let crate::array::storage::Storage::Cpu(d) = storage {
                match (x, d) {
                    (CpuSlice::F32(x), crate::array::storage::CpuData::F32(y)) => {
                        cpu::sqrt_into(x, &mut y[offset..offset + x.len()]);
                        return Ok(());
                    }
                    (CpuSlice::F64(x), crate::array::storage::CpuData::F64(y)) => {
                        cpu::sqrt_into(x, &mut y[offset..offset + x.len()]);
                        return Ok(());
                    }
                    _ => {}
                }
            }
        }
        let (storage, layout) = out.parts_mut()?;
        let layout = layout.clone();
        let w = walk(&layout, &[self.layout()]);
        let p = [0; 3];
        match storage {
            crate::array::storage::Storage::Cpu(y) => {
                let x = match self.storage() {
                    crate::array::storage::Storage::Cpu(x) => x,
                    _ => unreachable!("same device"),
                };
                cpu::elementwise::unary(Unary::Sqrt, p, x, y, &w);
                Ok(())
            }
            crate::array::storage::Storage::Cuda(y) => {
                let x = match self.storage() {
                    crate::array::storage::Storage::Cuda(x) => x,
                    _ => unreachable!("same device"),
                };
                cuda::elementwise::unary(Unary::Sqrt, p, &x.view(), y, &w)
            }
        }
    }
}

/// A contiguous f32 or f64 CPU array's elements.
pub(crate) enum CpuSlice<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl<T: Element> Array<T> {
    fn contiguous_cpu_slice(&self) -> Option<CpuSlice<'_>> {
        if !self.is_contiguous() {
            return None;
        }
        let (o, n) = (self.layout().offset(), self.len());
        match self.storage() {
            crate::array::storage::Storage::Cpu(crate::array::storage::CpuData::F32(v)) => {
                Some(CpuSlice::F32(&v[o..o + n]))
            }
            crate::array::storage::Storage::Cpu(crate::array::storage::CpuData::F64(v)) => {
                Some(CpuSlice::F64(&v[o..o + n]))
            }
            _ => None,
        }
    }
}
