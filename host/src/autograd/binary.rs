//! Binary ops on [`Var`] with NumPy's broadcasting, their partial derivatives ([`partials`],
//! one arm per op of the kernels' list, no wildcard), the scalar forms (`add_scalar`,
//! `rsub_scalar`, ...) and the operators `+ - * /` and unary `-` (returning `Result`, as the
//! arrays' do). A broadcast operand's gradient is summed back to its shape.

use super::{Var, pass, scalar_on, sum_to};
use crate::array::Array;
use crate::dtype::Float;
use crate::error::Result;
use kernels_gpu::ops::binary::Binary;

/// `f()` if `need`.
fn when<T: Float>(need: bool, f: impl FnOnce() -> Result<Array<T>>) -> Result<Option<Array<T>>> {
    if need { f().map(Some) } else { Ok(None) }
}

/// `(g · ∂y/∂a, g · ∂y/∂b)` for `y = op(a, b)`, in the broadcast shape, each only if needed.
/// Ties of `maximum`/`minimum` split the gradient in halves (PyTorch's rule); `pow`'s base
/// gets 0 where the exponent is 0, its exponent 0 where the base is 0 and the exponent ≥ 0
/// (PyTorch's, where `0·inf` and `ln 0` would give NaN).
fn partials<T: Float>(
    op: Binary,
    (a, b, y, g): (&Array<T>, &Array<T>, &Array<T>, &Array<T>),
    needs: [bool; 2],
) -> Result<[Option<Array<T>>; 2]> {
    let c = T::from_f64;
    let [na, nb] = needs;
    // `g` where `wins`, half of it on ties (`maximum`, `minimum`).
    let share = |wins: Array<bool>, tie: Array<bool>| -> Result<Array<T>> {
        let half = pass(&tie, &g.mul_scalar(c(0.5))?)?;
        crate::where_(&wins, g, &half)
    };
    Ok(match op {
        Binary::Add => [when(na, || Ok(g.clone()))?, when(nb, || Ok(g.clone()))?],
        Binary::Sub => [when(na, || Ok(g.clone()))?, when(nb, || g.neg())?],
        Binary::Mul => [when(na, || g.mul(b))?, when(nb, || g.mul(a))?],
        Binary::Div => [when(na, || g.div(b))?, when(nb, || g.mul(y)?.div(b)?.neg())?],
        // y = a - floor(a/b)·b (NumPy's sign rule).
        Binary::Rem => [when(na, || Ok(g.clone()))?, when(nb, || g.mul(&a.div(b)?.floor()?)?.neg())?],
        Binary::Maximum => [when(na, || share(a.gt(b)?, a.eq(b)?))?, when(nb, || share(b.gt(a)?, a.eq(b)?))?],
        Binary::Minimum => [when(na, || share(a.lt(b)?, a.eq(b)?))?, when(nb, || share(b.lt(a)?, a.eq(b)?))?],
        Binary::Pow => [
            // 0 where the exponent is 0 (`0^0`'s slope would be 0·inf), as PyTorch's.
            when(na, || pass(&b.ne_scalar(c(0.0))?, &g.mul(b)?.mul(&a.pow(&b.sub_scalar(c(1.0))?)?)?))?,
            when(nb, || {
                let kept = a.ne_scalar(c(0.0))?.logical_or(&b.lt_scalar(c(0.0))?)?;
                pass(&kept, &g.mul(y)?.mul(&a.log()?)?)
            })?,
        ],
        Binary::Atan2 => {
            let r = || a.square()?.add(&b.square()?);
            [when(na, || g.mul(b)?.div(&r()?))?, when(nb, || g.mul(a)?.div(&r()?)?.neg())?]
        }
    })
}

impl<T: Float> Var<T> {
    /// Records `y = op(self, other)` (already computed).
    fn binary_op(&self, op: Binary, other: &Var<T>, y: Array<T>) -> Var<T> {
        let (a, b, saved) = (self.value.clone(), other.value.clone(), y.clone());
        Var::record_same(op.name(), y, &[self, other], move |g, needs| {
            let [ga, gb] = partials(op, (&a, &b, &saved, g), [needs[0], needs[1]])?;
            Ok(vec![ga.map(|ga| sum_to(&ga, a.shape())).transpose()?, gb.map(|gb| sum_to(&gb, b.shape())).transpose()?])
        })
    }

    /// Records `y = op(self, s)` (or `op(s, self)` with `scalar_first`), already computed.
    fn scalar_op(&self, op: Binary, s: T, scalar_first: bool, y: Array<T>) -> Result<Var<T>> {
        let (x, saved) = (self.value.clone(), y.clone());
        let s = scalar_on::<T>(s.to_f64(), &x.device())?;
        Ok(Var::record_unary(op.name(), y, self, move |g| {
            let grads = if scalar_first {
                partials(op, (&s, &x, &saved, g), [false, true])?[1].take()
            } else {
                partials(op, (&x, &s, &saved, g), [true, false])?[0].take()
            };
            Ok(grads.expect("the needed partial"))
        }))
    }
}

/// The methods per op: with a `Var`, a scalar on the right, a scalar on the left.
macro_rules! var_binary {
    ($($op:ident, $name:ident, $scalar:ident, $rscalar:ident, $doc:literal;)*) => {
        impl<T: Float> Var<T> {
            $(
                #[doc = $doc]
                #[doc = ""]
                #[doc = "Broadcasts the operands; each gradient is summed back to its operand's shape."]
                pub fn $name(&self, other: &Var<T>) -> Result<Var<T>> {
                    Ok(self.binary_op(Binary::$op, other, self.value.$name(&other.value)?))
                }

                #[doc = $doc]
                #[doc = ""]
                #[doc = "With a scalar (a constant) on the right."]
                pub fn $scalar(&self, s: T) -> Result<Var<T>> {
                    self.scalar_op(Binary::$op, s, false, self.value.$scalar(s)?)
                }

                #[doc = $doc]
                #[doc = ""]
                #[doc = "With a scalar (a constant) on the left."]
                pub fn $rscalar(&self, s: T) -> Result<Var<T>> {
                    self.scalar_op(Binary::$op, s, true, self.value.$rscalar(s)?)
                }
            )*
        }
    };
}

var_binary! {
    Add, add, add_scalar, radd_scalar, "`self + other`.";
    Sub, sub, sub_scalar, rsub_scalar, "`self - other`.";
    Mul, mul, mul_scalar, rmul_scalar, "`self · other`.";
    Div, div, div_scalar, rdiv_scalar, "`self / other`.";
    Rem, rem, rem_scalar, rrem_scalar, "The remainder with the divisor's sign (NumPy's `%`).";
    Maximum, maximum, maximum_scalar, rmaximum_scalar, "The larger of the two (ties share the gradient).";
    Minimum, minimum, minimum_scalar, rminimum_scalar, "The smaller of the two (ties share the gradient).";
    Pow, pow, pow_scalar, rpow_scalar, "`self ^ other`.";
    Atan2, atan2, atan2_scalar, ratan2_scalar, "`atan2(self, other)`.";
}

/// `&a + &b`, `&a + s`, `a + &b`, `a + s`, ... on `Var`s, as the methods.
macro_rules! operators {
    ($($trait:ident, $method:ident, $name:ident, $scalar:ident;)*) => {
        $(
            impl<T: Float> std::ops::$trait<&Var<T>> for &Var<T> {
                type Output = Result<Var<T>>;
                fn $method(self, other: &Var<T>) -> Result<Var<T>> {
                    self.$name(other)
                }
            }

            impl<T: Float> std::ops::$trait<T> for &Var<T> {
                type Output = Result<Var<T>>;
                fn $method(self, s: T) -> Result<Var<T>> {
                    self.$scalar(s)
                }
            }

            impl<T: Float> std::ops::$trait<&Var<T>> for Var<T> {
                type Output = Result<Var<T>>;
                fn $method(self, other: &Var<T>) -> Result<Var<T>> {
                    Var::$name(&self, other)
                }
            }

            impl<T: Float> std::ops::$trait<T> for Var<T> {
                type Output = Result<Var<T>>;
                fn $method(self, s: T) -> Result<Var<T>> {
                    self.$scalar(s)
                }
            }
        )*
    };
}

operators! {
    Add, add, add, add_scalar;
    Sub, sub, sub, sub_scalar;
    Mul, mul, mul, mul_scalar;
    Div, div, div, div_scalar;
}

impl<T: Float> std::ops::Neg for &Var<T> {
    type Output = Result<Var<T>>;
    fn neg(self) -> Result<Var<T>> {
        Var::neg(self)
    }
}
