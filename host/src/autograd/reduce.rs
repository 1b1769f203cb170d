//! Reductions, softmax and matmul on [`Var`], with their backward rules: the output's gradient
//! spread back over the reduced axes (a broadcast view, no copy) and scaled by each op's
//! derivative. `max`/`min` share the gradient among tied maxima (PyTorch's `amax` rule);
//! `norm` gives 0 at the origin.

use super::{Var, normalized, pass, spread, sum_to};
use crate::array::{Array, Axes, Summable};
use crate::dtype::Float;
use crate::error::Result;

impl<T: Float> Var<T> {
    /// Records a reduction over `axes` whose value is `y` and whose input gradient is
    /// `rule(x, y spread over x's shape, g spread likewise)`.
    fn reduction(
        &self,
        op: &'static str,
        axes: Axes,
        y: Array<T>,
        rule: impl Fn(&Array<T>, &Array<T>, &Array<T>) -> Result<Array<T>> + Send + Sync + 'static,
    ) -> Var<T> {
        let x = self.value.clone();
        let (axes, saved) = (normalized(&axes, x.ndim()), y.clone());
        Var::record_unary(op, y, self, move |g| {
            let (ys, gs) = (spread(&saved, x.shape(), &axes)?, spread(g, x.shape(), &axes)?);
            rule(&x, &ys, &gs)
        })
    }

    /// The number of elements each output of a reduction over `axes` takes.
    fn count(&self, axes: &Axes) -> usize {
        normalized(axes, self.ndim()).iter().map(|&a| self.shape()[a]).product()
    }

    /// The sum over `axes` (NumPy's `sum` in the array's dtype).
    pub fn sum(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.sum_same(axes.clone(), keepdims)?;
        Ok(self.reduction("sum", axes, y, |_, _, g| Ok(g.clone())))
    }

    /// The mean over `axes`.
    pub fn mean(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.mean(axes.clone(), keepdims)?;
        let n = self.count(&axes) as f64;
        Ok(self.reduction("mean", axes, y, move |_, _, g| g.div_scalar(T::from_f64(n))))
    }

    /// The largest element over `axes`; tied maxima share the gradient equally.
    pub fn max(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.max(axes.clone(), keepdims)?;
        Ok(self.extreme("max", axes, y))
    }

    /// The smallest element over `axes`; tied minima share the gradient equally.
    pub fn min(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.min(axes.clone(), keepdims)?;
        Ok(self.extreme("min", axes, y))
    }

    fn extreme(&self, op: &'static str, axes: Axes, y: Array<T>) -> Var<T> {
        let red = axes.clone();
        self.reduction(op, axes, y, move |x, y, g| {
            let hit = x.eq(y)?;
            let ties = hit.cast::<T>()?.sum_same(red.clone(), true)?;
            pass(&hit, &g.div(&ties)?)
        })
    }

    /// The variance over `axes` with `ddof` delta degrees of freedom.
    pub fn var(&self, axes: impl Into<Axes>, ddof: usize, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.var(axes.clone(), ddof, keepdims)?;
        Ok(self.deviation("var", axes, ddof, y, false))
    }

    /// The standard deviation over `axes` (the gradient is NaN where it is 0, as PyTorch's).
    pub fn std(&self, axes: impl Into<Axes>, ddof: usize, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.std(axes.clone(), ddof, keepdims)?;
        Ok(self.deviation("std", axes, ddof, y, true))
    }

    /// Records `var` (`∂x = 2(x - mean) / (n - ddof)`) or `std` (`(x - mean) / ((n - ddof)·y)`);
    /// NaN, as the value, when there are no more elements than `ddof`.
    fn deviation(&self, op: &'static str, axes: Axes, ddof: usize, y: Array<T>, std: bool) -> Var<T> {
        let n = self.count(&axes);
        let factor = if std { 1.0 } else { 2.0 };
        let scale = T::from_f64(if n > ddof { factor / (n - ddof) as f64 } else { f64::NAN });
        let red = axes.clone();
        self.reduction(op, axes, y, move |x, y, g| {
            let d = g.mul(&x.sub(&x.mean(red.clone(), true)?)?)?.mul_scalar(scale)?;
            if std { d.div(y) } else { Ok(d) }
        })
    }

    /// The L2 norm over `axes` (gradient `x / ‖x‖`, 0 where the norm is 0).
    pub fn norm(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.norm(axes.clone(), keepdims)?;
        Ok(self.reduction("norm", axes, y, |x, y, g| pass(&y.ne_scalar(T::from_f64(0.0))?, &g.mul(x)?.div(y)?)))
    }

    /// `ln Σ e^x` over `axes` (gradient: the softmax).
    pub fn logsumexp(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.logsumexp(axes.clone(), keepdims)?;
        Ok(self.reduction("logsumexp", axes, y, |x, y, g| g.mul(&x.sub(y)?.exp()?)))
    }

    /// Softmax over `axis`: `∂x = y · (g - Σ g·y)`.
    pub fn softmax(&self, axis: isize) -> Result<Var<T>> {
        let y = self.value.softmax_axis(axis)?;
        let saved = y.clone();
        Ok(Var::record_unary("softmax", y, self, move |g| {
            let dot = g.mul(&saved)?.sum_same(Axes::from(axis), true)?;
            saved.mul(&g.sub(&dot)?)
        }))
    }

    /// Log-softmax over `axis`: `∂x = g - e^y · Σ g`.
    pub fn log_softmax(&self, axis: isize) -> Result<Var<T>> {
        let y = self.value.log_softmax(axis)?;
        let saved = y.clone();
        Ok(Var::record_unary("log_softmax", y, self, move |g| {
            g.sub(&saved.exp()?.mul(&g.sum_same(Axes::from(axis), true)?)?)
        }))
    }

    /// The matrix product with NumPy's rules (batch dimensions broadcast, 1-D operands as a row
    /// or a column): `∂a = g · bᵀ`, `∂b = aᵀ · g`, each summed over the batch dimensions its
    /// operand was broadcast along.
    pub fn matmul(&self, other: &Var<T>) -> Result<Var<T>> {
        // 1-D operands become matrices (views recorded as reshapes), the result loses the axis.
        match (self.ndim(), other.ndim()) {
            (0, _) | (_, 0) => {
                let shape = if self.ndim() == 0 { self.shape() } else { other.shape() };
                Err(crate::Error::bad_shape("matmul", shape, "a 0-d operand has no matrix dimensions (use mul)"))
            }
            // A dot product (NumPy gives a 0-d result).
            (1, 1) => {
                if self.len() != other.len() {
                    return Err(crate::Error::shape_mismatch(
                        "matmul",
                        self.shape(),
                        other.shape(),
                        "a dot product needs equal lengths",
                    ));
                }
                self.mul(other)?.sum(Axes::All, false)
            }
            (1, _) => {
                let y = self.reshape(&[1, self.len()])?.matmul(other)?;
                let n = y.ndim();
                let shape = [&y.shape()[..n - 2], &y.shape()[n - 1..]].concat();
                y.reshape(&shape)
            }
            (_, 1) => {
                let y = self.matmul(&other.reshape(&[other.len(), 1])?)?;
                let shape = y.shape()[..y.ndim() - 1].to_vec();
                y.reshape(&shape)
            }
            _ => {
                let y = self.value.matmul(&other.value)?;
                let (a, b) = (self.value.clone(), other.value.clone());
                Ok(Var::record_same("matmul", y, &[self, other], move |g, needs| {
                    let ga = if needs[0] { Some(sum_to(&g.matmul(&b.swapaxes(-1, -2)?)?, a.shape())?) } else { None };
                    let gb = if needs[1] { Some(sum_to(&a.swapaxes(-1, -2)?.matmul(g)?, b.shape())?) } else { None };
                    Ok(vec![ga, gb])
                }))
            }
        }
    }
}

/// The ops whose array forms give `T::Sum` (the same type for every float).
impl<T: Float + Summable<Sum = T>> Var<T> {
    /// The running sums along `axis` (`None`: of the flattened value): `∂x` is the running sum
    /// of `g` from the other end.
    pub fn cumsum(&self, axis: Option<isize>) -> Result<Var<T>> {
        let Some(axis) = axis else { return self.flatten()?.cumsum(Some(0)) };
        let y = self.value.cumsum(Some(axis))?;
        Ok(Var::record_unary("cumsum", y, self, move |g| g.flip(axis)?.cumsum(Some(axis))?.flip(axis)))
    }

    /// The product over `axes`: `∂x_i` is the product of the others (`y / x_i` without zeros;
    /// with one zero, the zero's is the product of the rest and the others' 0; with more, all
    /// 0), as PyTorch's.
    pub fn prod(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.prod(axes.clone(), keepdims)?;
        let red = axes.clone();
        Ok(self.reduction("prod", axes, y, move |x, y, g| {
            let (zero, one) = (T::from_f64(0.0), T::from_f64(1.0));
            let is_zero = x.eq_scalar(zero)?;
            let zeros = is_zero.cast::<T>()?.sum_same(red.clone(), true)?.broadcast_to(x.shape())?;
            let rest = crate::where_(&is_zero, &Array::full_on(&[], one, &x.device())?, x)?.prod(red.clone(), true)?;
            let single = zeros.eq_scalar(one)?.logical_and(&is_zero)?;
            let none = zeros.eq_scalar(zero)?;
            let d = crate::where_(&none, &y.div(x)?, &pass(&single, &rest.broadcast_to(x.shape())?)?)?;
            g.mul(&d)
        }))
    }
}
