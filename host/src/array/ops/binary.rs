//! Binary arithmetic with NumPy's broadcasting: `add`, `sub`, `mul`, `div`, `rem`, `maximum`,
//! `minimum` (every numeric dtype), `pow`, `atan2` (floats); each with an array or a scalar on
//! the right (`add_scalar`) or the left (`rsub_scalar`, ...), the operators `+ - * /` on
//! references, values, scalars and results (returning `Result`, as candle's), and `*_assign`
//! forms that write the left operand.

use super::{broadcast, compute_bits, on_device, output, same_device, walk};
use crate::array::Array;
use crate::array::layout::Walk;
use crate::array::storage::Storage;
use crate::backend::{cpu, cuda};
use crate::dtype::{Float, Num};
use crate::error::{Error, Result};
use kernels_gpu::ops::binary::Binary;
use std::sync::Arc;

impl<T: Num> Array<T> {
    /// `op(self, other)` with broadcasting, into a new array.
    pub(crate) fn binary(&self, op: Binary, other: &Array<T>) -> Result<Array<T>> {
        same_device(op.name(), self, other)?;
        let (shape, la, lb) = broadcast(op.name(), self, other)?;
        let (mut out, layout) = output::<T>(&shape, &self.device())?;
        let w = walk(&layout, &[&la, &lb]);
        on_device(
            &mut out,
            &[self.storage(), other.storage()],
            |y, x| cpu::elementwise::binary(op, x[0], x[1], y, &w),
            |y, x| cuda::elementwise::binary(op, &x[0], &x[1], y, &w),
        )?;
        Ok(Array::from_parts(Arc::new(out), layout))
    }

    /// `op(self, s)` (or `op(s, self)` with `scalar_first`) into a new array.
    pub(crate) fn binary_scalar(&self, op: Binary, s: T, scalar_first: bool) -> Result<Array<T>> {
        // The CPU walks any view; the CUDA scalar kernels take contiguous operands, so a CUDA
        // view takes the strided kernel with the scalar as a broadcast 0-d array instead.
        let x = self;
        if matches!(x.device(), crate::Device::Cuda(_)) && !x.is_contiguous() {
            let s = Array::full_on(&[], s, &x.device())?;
            return if scalar_first { s.binary(op, x) } else { x.binary(op, &s) };
        }
        let (mut out, layout) = output::<T>(self.shape(), &self.device())?;
        let w = walk(&layout, &[x.layout()]);
        let bits = compute_bits(s);
        on_device(
            &mut out,
            &[x.storage()],
            |y, a| cpu::elementwise::binary_scalar(op, a[0], bits, scalar_first, y, &w),
            |y, a| cuda::elementwise::binary_scalar(op, &a[0], bits, scalar_first, y, &w),
        )?;
        Ok(Array::from_parts(Arc::new(out), layout))
    }

    /// `self = op(self, other)`, `other` broadcast to this array's shape, writing this array's
    /// own storage (copied first if shared).
    pub(crate) fn binary_assign(&mut self, op: Binary, other: &Array<T>) -> Result<()> {
        same_device(op.name(), self, other)?;
        let lb = other.layout().broadcast_to(op.name(), self.shape()).map_err(|_| {
            Error::shape_mismatch(
                op.name(),
                self.shape(),
                other.shape(),
                "the right operand must broadcast to the left's shape",
            )
        })?;
        let other_storage = other.storage.clone();
        let (storage, la) = self.parts_mut()?;
        let la = la.clone();
        let w = Walk::new(&[&la, &la, &lb]);
        match (storage, &*other_storage) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                cpu::elementwise::binary_assign(op, a, b, &w);
                Ok(())
            }
            (Storage::Cuda(a), Storage::Cuda(b)) => {
                let input = a.view();
                cuda::elementwise::binary(op, &input, &b.view(), a, &w)
            }
            _ => unreachable!("same device"),
        }
    }
}

impl<T: Num> Array<T> {
    /// `self[.., start::step, ..] += src` along `axis`, for as many elements as `src` has along
    /// it, in place (storage shared with other arrays is copied first): how the gradient of
    /// overlapping windows ([`Array::unfold`]) is summed without a scatter. `src` must have
    /// this array's shape but along `axis`, and fit.
    pub(crate) fn add_into_slice(&mut self, axis: usize, start: usize, step: usize, src: &Array<T>) -> Result<()> {
        let op = "add_into_slice";
        let n = src.shape().get(axis).copied().unwrap_or(0);
        let last = (n.max(1) - 1).checked_mul(step).and_then(|v| v.checked_add(start));
        if src.ndim() != self.ndim() || axis >= self.ndim() || (n > 0 && last.is_none_or(|l| l >= self.shape()[axis])) {
            let why = format!("{n} elements from {start}, {step} apart, along axis {axis}");
            return Err(Error::shape_mismatch(op, self.shape(), src.shape(), why));
        }
        self.storage_mut()?;
        let full = self.layout.clone();
        let at = full.sliced(op, axis as isize, Some(start as isize), None, step as isize)?.sliced(
            op,
            axis as isize,
            None,
            Some(n as isize),
            1,
        )?;
        // The write goes through the slice's layout; the array's own is put back whatever
        // the outcome.
        self.layout = at;
        let done = self.binary_assign(Binary::Add, src);
        self.layout = full;
        done
    }
}

/// The method per op: array, scalar right, scalar left, in place.
macro_rules! binary_methods {
    ($bound:ident, $op:ident, $name:ident, $scalar:ident, $rscalar:ident, $assign:ident, $doc:literal) => {
        impl<T: $bound> Array<T> {
            #[doc = $doc]
            #[doc = ""]
            #[doc = "Broadcasts the operands (NumPy's rules); shapes that do not broadcast, or operands on different devices, are errors."]
            pub fn $name(&self, other: &Array<T>) -> Result<Array<T>> {
                self.binary(Binary::$op, other)
            }

            #[doc = $doc]
            #[doc = ""]
            #[doc = "With a scalar as the right operand."]
            pub fn $scalar(&self, s: T) -> Result<Array<T>> {
                self.binary_scalar(Binary::$op, s, false)
            }

            #[doc = $doc]
            #[doc = ""]
            #[doc = "With a scalar as the left operand."]
            pub fn $rscalar(&self, s: T) -> Result<Array<T>> {
                self.binary_scalar(Binary::$op, s, true)
            }

            #[doc = $doc]
            #[doc = ""]
            #[doc = "In place: writes this array (the right operand broadcast to its shape)."]
            pub fn $assign(&mut self, other: &Array<T>) -> Result<()> {
                self.binary_assign(Binary::$op, other)
            }
        }
    };
}

binary_methods!(Num, Add, add, add_scalar, radd_scalar, add_assign, "`self + other` elementwise.");
binary_methods!(Num, Sub, sub, sub_scalar, rsub_scalar, sub_assign, "`self - other` elementwise.");
binary_methods!(Num, Mul, mul, mul_scalar, rmul_scalar, mul_assign, "`self · other` elementwise.");
binary_methods!(
    Num,
    Div,
    div,
    div_scalar,
    rdiv_scalar,
    div_assign,
    "`self / other` elementwise: true division for floats, floor division (NumPy's `//`) for integers, where dividing by zero gives 0."
);
binary_methods!(
    Num,
    Rem,
    rem,
    rem_scalar,
    rrem_scalar,
    rem_assign,
    "The remainder of `self / other` with the divisor's sign (NumPy's `%`); 0 for an integer divided by zero."
);
binary_methods!(
    Num,
    Maximum,
    maximum,
    maximum_scalar,
    rmaximum_scalar,
    maximum_assign,
    "The larger of the two, elementwise; NaN if either is NaN (NumPy's `maximum`)."
);
binary_methods!(
    Num,
    Minimum,
    minimum,
    minimum_scalar,
    rminimum_scalar,
    minimum_assign,
    "The smaller of the two, elementwise; NaN if either is NaN (NumPy's `minimum`)."
);
binary_methods!(
    Float,
    Pow,
    pow,
    pow_scalar,
    rpow_scalar,
    pow_assign,
    "`self ^ other` elementwise (C's `pow`: `pow(x, 0) = 1`)."
);
binary_methods!(
    Float,
    Atan2,
    atan2,
    atan2_scalar,
    ratan2_scalar,
    atan2_assign,
    "The angle of `(other, self)`: `atan2(self, other)` elementwise."
);

/// The operators, as candle writes them: `&a + &b`, `&a * 2.0`, `(&a - &b)? / 3.0`, and a
/// result on the left of an array (`(&a * &b) + &c`); each returns `Result` (shapes may not
/// broadcast). Rust's orphan rule leaves out a result with a scalar or another result.
macro_rules! operator {
    ($trait:ident, $method:ident, $array:ident, $scalar:ident, $rscalar:ident) => {
        impl<T: Num> std::ops::$trait<&Array<T>> for &Array<T> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: &Array<T>) -> Result<Array<T>> {
                self.$array(rhs)
            }
        }
        impl<T: Num> std::ops::$trait<Array<T>> for &Array<T> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: Array<T>) -> Result<Array<T>> {
                self.$array(&rhs)
            }
        }
        impl<T: Num> std::ops::$trait<&Array<T>> for Array<T> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: &Array<T>) -> Result<Array<T>> {
                (&self).$array(rhs)
            }
        }
        impl<T: Num> std::ops::$trait<Array<T>> for Array<T> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: Array<T>) -> Result<Array<T>> {
                (&self).$array(&rhs)
            }
        }
        impl<T: Num> std::ops::$trait<T> for &Array<T> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: T) -> Result<Array<T>> {
                self.$scalar(rhs)
            }
        }
        impl<T: Num> std::ops::$trait<T> for Array<T> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: T) -> Result<Array<T>> {
                (&self).$scalar(rhs)
            }
        }
        impl<T: Num> std::ops::$trait<&Array<T>> for Result<Array<T>> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: &Array<T>) -> Result<Array<T>> {
                self?.$array(rhs)
            }
        }
        impl<T: Num> std::ops::$trait<Array<T>> for Result<Array<T>> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: Array<T>) -> Result<Array<T>> {
                self?.$array(&rhs)
            }
        }
        impl<T: Num> std::ops::$trait<Result<Array<T>>> for &Array<T> {
            type Output = Result<Array<T>>;
            fn $method(self, rhs: Result<Array<T>>) -> Result<Array<T>> {
                self.$array(&rhs?)
            }
        }
    };
}

operator!(Add, add, add, add_scalar, radd_scalar);
operator!(Sub, sub, sub, sub_scalar, rsub_scalar);
operator!(Mul, mul, mul, mul_scalar, rmul_scalar);
operator!(Div, div, div, div_scalar, rdiv_scalar);
operator!(Rem, rem, rem, rem_scalar, rrem_scalar);

/// Scalars on the left: `2.0 - &a`, for the float and integer types.
macro_rules! scalar_left {
    ($($t:ty),*) => {$(
        impl std::ops::Add<&Array<$t>> for $t {
            type Output = Result<Array<$t>>;
            fn add(self, rhs: &Array<$t>) -> Result<Array<$t>> {
                rhs.radd_scalar(self)
            }
        }
        impl std::ops::Sub<&Array<$t>> for $t {
            type Output = Result<Array<$t>>;
            fn sub(self, rhs: &Array<$t>) -> Result<Array<$t>> {
                rhs.rsub_scalar(self)
            }
        }
        impl std::ops::Mul<&Array<$t>> for $t {
            type Output = Result<Array<$t>>;
            fn mul(self, rhs: &Array<$t>) -> Result<Array<$t>> {
                rhs.rmul_scalar(self)
            }
        }
        impl std::ops::Div<&Array<$t>> for $t {
            type Output = Result<Array<$t>>;
            fn div(self, rhs: &Array<$t>) -> Result<Array<$t>> {
                rhs.rdiv_scalar(self)
            }
        }
    )*};
}
scalar_left!(f32, f64, half::f16, half::bf16, i32, i64, u8, u32);

impl<T: Num> std::ops::Neg for &Array<T> {
    type Output = Result<Array<T>>;
    fn neg(self) -> Result<Array<T>> {
        Array::neg(self)
    }
}

impl<T: Num> std::ops::Neg for Array<T> {
    type Output = Result<Array<T>>;
    fn neg(self) -> Result<Array<T>> {
        Array::neg(&self)
    }
}
