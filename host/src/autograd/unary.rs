//! Unary ops on [`Var`] and their derivatives: one method per op of the kernels' unary list
//! (`for_each_unary!`, as the array methods are made), each recording [`derivative`], whose
//! `match` names every op (a new op in the list does not compile until its rule is here).
//! The rules are PyTorch's: `relu`'s derivative is 0 at 0, `abs`'s is `sign(x)`, the
//! piecewise-constant ops (`sign`, `floor`, `ceil`, `round`, `trunc`) pass zero.

use super::{Var, pass, scalar_on};
use crate::array::Array;
use crate::dtype::Float;
use crate::error::Result;
use kernels_gpu::ops::unary::Unary;
use std::f64::consts::{LN_2, PI};

/// `g · op'(x)`, with `y = op(x)` and the op's parameters `p` (`clip`'s bounds).
fn derivative<T: Float>(op: Unary, p: [T; 2], x: &Array<T>, y: &Array<T>, g: &Array<T>) -> Result<Array<T>> {
    let c = T::from_f64;
    let one_minus = |a: &Array<T>| a.rsub_scalar(c(1.0));
    Ok(match op {
        Unary::Neg => g.neg()?,
        Unary::Abs => g.mul(&x.sign()?)?,
        Unary::Sign | Unary::Floor | Unary::Ceil | Unary::Round | Unary::Trunc => g.zeros_like()?,
        Unary::Square => g.mul(&x.mul_scalar(c(2.0))?)?,
        // PyTorch's clamp: the gradient passes where lo ≤ x ≤ hi.
        Unary::Clip => pass(&x.ge_scalar(p[0])?.logical_and(&x.le_scalar(p[1])?)?, g)?,
        Unary::Sqrt => g.div(&y.mul_scalar(c(2.0))?)?,
        Unary::Rsqrt => g.mul(&y.mul(y)?.mul(y)?)?.mul_scalar(c(-0.5))?,
        Unary::Recip => g.mul(&y.square()?)?.neg()?,
        Unary::Exp => g.mul(y)?,
        Unary::Exp2 => g.mul(y)?.mul_scalar(c(LN_2))?,
        Unary::Expm1 => g.mul(&y.add_scalar(c(1.0))?)?,
        Unary::Log => g.div(x)?,
        Unary::Log2 => g.div(&x.mul_scalar(c(LN_2))?)?,
        Unary::Log1p => g.div(&x.add_scalar(c(1.0))?)?,
        Unary::Sin => g.mul(&x.cos()?)?,
        Unary::Cos => g.mul(&x.sin()?)?.neg()?,
        Unary::Tan => g.mul(&y.square()?.add_scalar(c(1.0))?)?,
        Unary::Tanh => g.mul(&one_minus(&y.square()?)?)?,
        Unary::Sigmoid => g.mul(&y.mul(&one_minus(y)?)?)?,
        Unary::Relu => pass(&x.gt_scalar(c(0.0))?, g)?,
        Unary::Gelu => {
            // Φ(x) + x·φ(x), Φ(x) = gelu(x)/x (1/2 at 0), φ(x) = e^(-x²/2)/√(2π).
            let zero = x.eq_scalar(c(0.0))?;
            let cdf = crate::where_(&zero, &scalar_on(0.5, &x.device())?, &y.div(x)?)?;
            let pdf = x.square()?.mul_scalar(c(-0.5))?.exp()?.mul_scalar(c(1.0 / (2.0 * PI).sqrt()))?;
            g.mul(&cdf.add(&x.mul(&pdf)?)?)?
        }
        Unary::GeluTanh => {
            // y = x/2 · (1 + t), t = tanh(k(x + a·x³)):
            // y' = (1 + t)/2 + x/2 · (1 - t²) · k(1 + 3a·x²).
            let (k, a) = (0.797_884_560_802_865_4, 0.044_715);
            let x2 = x.square()?;
            let t = x2.mul_scalar(c(a))?.add_scalar(c(1.0))?.mul(x)?.mul_scalar(c(k))?.tanh()?;
            let inner = x2.mul_scalar(c(3.0 * a))?.add_scalar(c(1.0))?.mul_scalar(c(k))?;
            let outer = x.mul(&one_minus(&t.square()?)?)?.mul(&inner)?;
            g.mul(&t.add_scalar(c(1.0))?.add(&outer)?.mul_scalar(c(0.5))?)?
        }
        Unary::Silu => {
            // s·(1 + x(1 - s)), s = sigmoid(x).
            let s = x.sigmoid()?;
            g.mul(&s.mul(&x.mul(&one_minus(&s)?)?.add_scalar(c(1.0))?)?)?
        }
        Unary::Softplus => g.mul(&x.sigmoid()?)?,
        // PyTorch's nan_to_num: the gradient passes where x is finite.
        Unary::NanToNum => pass(&x.isfinite()?, g)?,
    })
}

impl<T: Float> Var<T> {
    /// Records `y = op(self)` (already computed) with [`derivative`].
    fn unary_op(&self, op: Unary, p: [T; 2], y: Array<T>) -> Var<T> {
        let x = self.value.clone();
        let saved = y.clone();
        Var::record_unary(op.name(), y, self, move |g| derivative(op, p, &x, &saved, g))
    }

    /// Each element limited to `[min, max]`; the gradient passes where `min ≤ x ≤ max`.
    pub fn clip(&self, min: T, max: T) -> Result<Var<T>> {
        Ok(self.unary_op(Unary::Clip, [min, max], self.value.clip(min, max)?))
    }

    /// NaN to `nan`, ±inf to `posinf`/`neginf`; the gradient passes where the input is finite.
    pub fn nan_to_num(&self, nan: T, posinf: T, neginf: T) -> Result<Var<T>> {
        let zero = T::from_f64(0.0);
        Ok(self.unary_op(Unary::NanToNum, [zero, zero], self.value.nan_to_num(nan, posinf, neginf)?))
    }
}

/// One method per op of the list, recording its derivative.
macro_rules! var_unary {
    ($kind:ident, Clip, $name:ident, $doc:expr) => {};
    ($kind:ident, NanToNum, $name:ident, $doc:expr) => {};
    ($kind:ident, $op:ident, $name:ident, $doc:expr) => {
        impl<T: Float> Var<T> {
            #[doc = concat!("`", stringify!($name), "` elementwise, its derivative recorded.")]
            #[doc = ""]
            #[doc = $doc]
            pub fn $name(&self) -> Result<Var<T>> {
                let zero = T::from_f64(0.0);
                Ok(self.unary_op(Unary::$op, [zero, zero], self.value.$name()?))
            }
        }
    };
}
kernels_gpu::for_each_unary!(var_unary);
