//! Comparisons and logic, giving `Array<bool>`: `eq`, `ne`, `lt`, `le`, `gt`, `ge` (IEEE: NaN
//! compares unequal to everything), `logical_and`/`or`/`xor`/`not` (nonzero is true), the
//! float tests `isnan`, `isinf`, `isfinite`, `where_(cond, a, b)` with broadcasting of all three,
//! and `any`/`all`.

use super::{broadcast, broadcast_shapes, compute_bits, on_device, output, same_device, walk};
use crate::array::Array;
use crate::array::layout::Layout;
use crate::backend::{cpu, cuda};
use crate::dtype::{Element, Float};
use crate::error::Result;
use kernels_gpu::ops::compare::{Compare, Test};
use std::sync::Arc;

impl<T: Element> Array<T> {
    fn compare(&self, op: Compare, other: &Array<T>) -> Result<Array<bool>> {
        same_device(op.name(), self, other)?;
        let (shape, la, lb) = broadcast(op.name(), self, other)?;
        let (mut out, layout) = output::<bool>(&shape, &self.device())?;
        let w = walk(&layout, &[&la, &lb]);
        on_device(
            &mut out,
            &[self.storage(), other.storage()],
            |y, x| cpu::elementwise::compare(op, x[0], x[1], y, &w),
            |y, x| cuda::elementwise::compare(op, &x[0], &x[1], y, &w),
        )?;
        Ok(Array::from_parts(Arc::new(out), layout))
    }

    fn compare_scalar(&self, op: Compare, s: T) -> Result<Array<bool>> {
        // As `binary_scalar`: a CUDA view compares with a broadcast 0-d array, no copy.
        let x = self;
        if matches!(x.device(), crate::Device::Cuda(_)) && !x.is_contiguous() {
            return x.compare(op, &Array::full_on(&[], s, &x.device())?);
        }
        let (mut out, layout) = output::<bool>(self.shape(), &self.device())?;
        let w = walk(&layout, &[x.layout()]);
        let bits = compute_bits(s);
        on_device(
            &mut out,
            &[x.storage()],
            |y, a| cpu::elementwise::compare_scalar(op, a[0], bits, false, y, &w),
            |y, a| cuda::elementwise::compare_scalar(op, &a[0], bits, false, y, &w),
        )?;
        Ok(Array::from_parts(Arc::new(out), layout))
    }

    fn test(&self, op: Test) -> Result<Array<bool>> {
        let x = self.contiguous()?;
        let (mut out, layout) = output::<bool>(self.shape(), &self.device())?;
        let (offset, n) = (x.layout().offset(), x.len());
        on_device(
            &mut out,
            &[x.storage()],
            |y, a| cpu::elementwise::test(op, a[0], offset, y, n),
            |y, a| cuda::elementwise::test(op, &a[0], offset, y, n),
        )?;
        Ok(Array::from_parts(Arc::new(out), layout))
    }

    /// Elements that are nonzero (true for bool), as bools: NumPy's `logical_not(logical_not(x))`,
    /// `astype(bool)`.
    pub fn nonzero_mask(&self) -> Result<Array<bool>> {
        self.test(Test::Not)?.logical_not()
    }

    /// Elements that are zero (false for bool): NumPy's `logical_not`.
    pub fn logical_not(&self) -> Result<Array<bool>> {
        self.test(Test::Not)
    }

    /// Whether any element is nonzero (NumPy's `any`; false for an empty array).
    pub fn any(&self) -> Result<bool> {
        if self.len() == 0 {
            return Ok(false);
        }
        Ok(self.nonzero_mask()?.cast::<u8>()?.max(super::Axes::All, false)?.to_vec()?.first().copied().unwrap_or(0)
            != 0)
    }

    /// Whether every element is nonzero (NumPy's `all`; true for an empty array).
    pub fn all(&self) -> Result<bool> {
        Ok(!self.logical_not()?.any()?)
    }
}

macro_rules! comparisons {
    ($($op:ident, $name:ident, $scalar:ident, $doc:literal;)*) => {
        impl<T: Element> Array<T> {
            $(
                #[doc = $doc]
                #[doc = ""]
                #[doc = "Broadcasts the operands; the result is a bool array."]
                pub fn $name(&self, other: &Array<T>) -> Result<Array<bool>> {
                    self.compare(Compare::$op, other)
                }

                #[doc = $doc]
                #[doc = ""]
                #[doc = "Against a scalar."]
                pub fn $scalar(&self, s: T) -> Result<Array<bool>> {
                    self.compare_scalar(Compare::$op, s)
                }
            )*
        }
    };
}

comparisons! {
    Eq, eq, eq_scalar, "`self == other` elementwise (NaN equals nothing).";
    Ne, ne, ne_scalar, "`self != other` elementwise (true where either is NaN).";
    Lt, lt, lt_scalar, "`self < other` elementwise.";
    Le, le, le_scalar, "`self <= other` elementwise.";
    Gt, gt, gt_scalar, "`self > other` elementwise.";
    Ge, ge, ge_scalar, "`self >= other` elementwise.";
    And, logical_and, logical_and_scalar, "Both nonzero, elementwise.";
    Or, logical_or, logical_or_scalar, "Either nonzero, elementwise.";
    Xor, logical_xor, logical_xor_scalar, "Exactly one nonzero, elementwise.";
}

impl<T: Float> Array<T> {
    /// NaN elements.
    pub fn isnan(&self) -> Result<Array<bool>> {
        self.test(Test::IsNan)
    }

    /// ±inf elements.
    pub fn isinf(&self) -> Result<Array<bool>> {
        self.test(Test::IsInf)
    }

    /// Elements neither NaN nor ±inf.
    pub fn isfinite(&self) -> Result<Array<bool>> {
        self.test(Test::IsFinite)
    }
}

/// `cond ? a : b` elementwise, all three broadcast together (NumPy's `where`).
pub fn where_<T: Element>(cond: &Array<bool>, a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    same_device("where", cond, a)?;
    same_device("where", a, b)?;
    let shape = broadcast_shapes("where", &broadcast_shapes("where", cond.shape(), a.shape())?, b.shape())?;
    let lc: Layout = cond.layout().broadcast_to("where", &shape)?;
    let (la, lb) = (a.layout().broadcast_to("where", &shape)?, b.layout().broadcast_to("where", &shape)?);
    let (mut out, layout) = output::<T>(&shape, &a.device())?;
    let w = walk(&layout, &[&lc, &la, &lb]);
    on_device(
        &mut out,
        &[cond.storage(), a.storage(), b.storage()],
        |y, x| cpu::elementwise::select(x[0], x[1], x[2], y, &w),
        |y, x| cuda::elementwise::select(&x[0], &x[1], &x[2], y, &w),
    )?;
    Ok(Array::from_parts(Arc::new(out), layout))
}
