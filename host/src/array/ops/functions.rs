//! The operations as free functions, spelt as NumPy spells them (`ferrite::exp(&x)`,
//! `ferrite::maximum(&a, &b)`, `ferrite::sum(&x, 0, false)`, `ferrite::less(&a, &b)`,
//! `ferrite::arange::<f32>(0.0, 5.0, 1.0)`): each calls the method of the same (or the
//! NumPy-named) name. The unary ones are made from the kernels' op list, as the methods are.

use super::Axes;
use crate::array::Array;
use crate::dtype::{Element, Float, Num};
use crate::error::Result;

pub use super::compare::where_;
pub use super::einsum::{dot, einsum, outer};
pub use super::join::{concatenate, stack};
pub use super::matmul::matmul;

macro_rules! unary_function {
    ($kind:ident, Clip, $name:ident, $doc:expr) => {};
    ($kind:ident, NanToNum, $name:ident, $doc:expr) => {};
    (num, $op:ident, $name:ident, $doc:expr) => {
        #[doc = $doc]
        pub fn $name<T: Num>(x: &Array<T>) -> Result<Array<T>> {
            x.$name()
        }
    };
    ($kind:ident, $op:ident, $name:ident, $doc:expr) => {
        #[doc = $doc]
        pub fn $name<T: Float>(x: &Array<T>) -> Result<Array<T>> {
            x.$name()
        }
    };
}
kernels_gpu::for_each_unary!(unary_function);

macro_rules! binary_function {
    ($($bound:ident $name:ident),*) => {$(
        #[doc = concat!("`a.", stringify!($name), "(b)`, with broadcasting.")]
        pub fn $name<T: $bound>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
            a.$name(b)
        }
    )*};
}
binary_function!(Num add, Num sub, Num mul, Num div, Num rem, Num maximum, Num minimum, Float pow, Float atan2);

/// `x.clip(min, max)`.
pub fn clip<T: Num>(x: &Array<T>, min: T, max: T) -> Result<Array<T>> {
    x.clip(min, max)
}

/// Softmax over the last axis.
pub fn softmax<T: Float>(x: &Array<T>) -> Result<Array<T>> {
    x.softmax()
}

/// `x.sum(axes, keepdims)`.
pub fn sum<T: super::reduce::Summable>(x: &Array<T>, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T::Sum>> {
    x.sum(axes, keepdims)
}

/// `x.mean(axes, keepdims)`.
pub fn mean<T: Float>(x: &Array<T>, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> {
    x.mean(axes, keepdims)
}

/// `x.logsumexp(axes, keepdims)`.
pub fn logsumexp<T: Float>(x: &Array<T>, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> {
    x.logsumexp(axes, keepdims)
}

/// `x.transpose()`: the axes reversed (a view).
pub fn transpose<T: Element>(x: &Array<T>) -> Array<T> {
    x.transpose()
}

/// Free functions that forward to the method of the same (or NumPy's) name, with its bounds.
macro_rules! forward {
    ($($(#[$doc:meta])* fn $name:ident<$t:ident: $bound:path>($($arg:ident: $ty:ty),*) -> $out:ty = $method:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name<$t: $bound>(x: &Array<$t>, $($arg: $ty),*) -> $out {
            x.$method($($arg),*)
        }
    )*};
}

// Reductions and scans (NumPy's names; `max`/`min` also as `amax`/`amin`).
forward! {
    /// `x.prod(axes, keepdims)` (integers and bools: i64, wrapping).
    fn prod<T: super::reduce::Summable>(axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T::Sum>> = prod;
    /// `x.max(axes, keepdims)` (NaN propagates).
    fn max<T: Element>(axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> = max;
    /// `x.min(axes, keepdims)` (NaN propagates).
    fn min<T: Element>(axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> = min;
    /// NumPy's `amax`, PyTorch's `amax`: [`max`].
    fn amax<T: Element>(axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> = max;
    /// NumPy's `amin`, PyTorch's `amin`: [`min`].
    fn amin<T: Element>(axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> = min;
    /// `x.argmax(axis, keepdims)` (`None`: of the flattened array).
    fn argmax<T: Element>(axis: Option<isize>, keepdims: bool) -> Result<Array<i64>> = argmax;
    /// `x.argmin(axis, keepdims)` (`None`: of the flattened array).
    fn argmin<T: Element>(axis: Option<isize>, keepdims: bool) -> Result<Array<i64>> = argmin;
    /// `x.var(axes, ddof, keepdims)`.
    fn var<T: Float>(axes: impl Into<Axes>, ddof: usize, keepdims: bool) -> Result<Array<T>> = var;
    /// `x.std(axes, ddof, keepdims)`.
    fn std<T: Float>(axes: impl Into<Axes>, ddof: usize, keepdims: bool) -> Result<Array<T>> = std;
    /// `x.norm(axes, keepdims)`: the L2 norm (NumPy's `linalg.norm` over axes).
    fn norm<T: Float>(axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> = norm;
    /// `x.cumsum(axis)` (`None`: of the flattened array).
    fn cumsum<T: super::reduce::Summable>(axis: Option<isize>) -> Result<Array<T::Sum>> = cumsum;
    /// `x.log_softmax(axis)`.
    fn log_softmax<T: Float>(axis: isize) -> Result<Array<T>> = log_softmax;
}

// Comparisons and logic (NumPy's names for the methods `eq`, `lt`, ...).
forward! {
    /// `x == y` elementwise, broadcast (`x.eq(y)`).
    fn equal<T: Element>(y: &Array<T>) -> Result<Array<bool>> = eq;
    /// `x != y` elementwise, broadcast.
    fn not_equal<T: Element>(y: &Array<T>) -> Result<Array<bool>> = ne;
    /// `x < y` elementwise, broadcast.
    fn less<T: Element>(y: &Array<T>) -> Result<Array<bool>> = lt;
    /// `x <= y` elementwise, broadcast.
    fn less_equal<T: Element>(y: &Array<T>) -> Result<Array<bool>> = le;
    /// `x > y` elementwise, broadcast.
    fn greater<T: Element>(y: &Array<T>) -> Result<Array<bool>> = gt;
    /// `x >= y` elementwise, broadcast.
    fn greater_equal<T: Element>(y: &Array<T>) -> Result<Array<bool>> = ge;
    /// Both nonzero, elementwise, broadcast.
    fn logical_and<T: Element>(y: &Array<T>) -> Result<Array<bool>> = logical_and;
    /// Either nonzero, elementwise, broadcast.
    fn logical_or<T: Element>(y: &Array<T>) -> Result<Array<bool>> = logical_or;
    /// Exactly one nonzero, elementwise, broadcast.
    fn logical_xor<T: Element>(y: &Array<T>) -> Result<Array<bool>> = logical_xor;
    /// The elements that are zero.
    fn logical_not<T: Element>() -> Result<Array<bool>> = logical_not;
    /// NaN elements.
    fn isnan<T: Float>() -> Result<Array<bool>> = isnan;
    /// ±inf elements.
    fn isinf<T: Float>() -> Result<Array<bool>> = isinf;
    /// Elements neither NaN nor ±inf.
    fn isfinite<T: Float>() -> Result<Array<bool>> = isfinite;
    /// Whether any element is nonzero.
    fn any<T: Element>() -> Result<bool> = any;
    /// Whether every element is nonzero.
    fn all<T: Element>() -> Result<bool> = all;
}

// Sorting, indexing and shapes.
forward! {
    /// `x.sort(axis)`, stable (`None`: the flattened array).
    fn sort<T: Element>(axis: Option<isize>) -> Result<Array<T>> = sort;
    /// `x.argsort(axis)`, stable (`None`: indices into the flattened array).
    fn argsort<T: Element>(axis: Option<isize>) -> Result<Array<i64>> = argsort;
    /// `x.unique()`: the sorted distinct elements and their counts.
    fn unique<T: Element>() -> Result<(Array<T>, Array<i64>)> = unique;
    /// `x.searchsorted(values, side)`.
    fn searchsorted<T: Element>(values: &Array<T>, side: super::sort::Side) -> Result<Array<i64>> = searchsorted;
    /// The indices of the nonzero elements, one row per element (`x.nonzero()`; NumPy's
    /// `argwhere`).
    fn argwhere<T: Element>() -> Result<Array<i64>> = nonzero;
    /// `x.reshape(shape)` (a view when `x` is contiguous).
    fn reshape<T: Element>(shape: &[usize]) -> Result<Array<T>> = reshape;
    /// The flattened array (a view when `x` is contiguous).
    fn ravel<T: Element>() -> Result<Array<T>> = flatten;
    /// A new axis of length 1 at `axis` (a view).
    fn expand_dims<T: Element>(axis: isize) -> Result<Array<T>> = unsqueeze;
    /// Axes `a` and `b` exchanged (a view).
    fn swapaxes<T: Element>(a: isize, b: isize) -> Result<Array<T>> = swapaxes;
    /// The axes in the order `perm` (a view; NumPy 2's `permute_dims`).
    fn permute_dims<T: Element>(perm: &[isize]) -> Result<Array<T>> = permute;
    /// `x` broadcast to `shape` (a view, stride 0 on the repeated axes).
    fn broadcast_to<T: Element>(shape: &[usize]) -> Result<Array<T>> = broadcast_to;
    /// `x` reversed along `axes` (a view).
    fn flip<T: Element>(axes: impl Into<Axes>) -> Result<Array<T>> = flip;
    /// `x` rolled by `shift` along `axis` (`None`: the flattened array, reshaped back).
    fn roll<T: Element>(shift: isize, axis: Option<isize>) -> Result<Array<T>> = roll;
    /// `x` repeated `reps` times per axis.
    fn tile<T: Element>(reps: &[usize]) -> Result<Array<T>> = tile;
    /// Each element repeated `repeats` times along `axis` (`None`: flattened).
    fn repeat<T: Element>(repeats: usize, axis: Option<isize>) -> Result<Array<T>> = repeat;
    /// `x` padded with `value` by `(before, after)` per axis (NumPy's `mode='constant'`).
    fn pad<T: Element>(widths: &[(usize, usize)], value: T) -> Result<Array<T>> = pad;
    /// The elements at `indices` along `axis` (`None`: of the flattened array).
    fn take<T: Element>(indices: &Array<i64>, axis: Option<isize>) -> Result<Array<T>> = take;
}

/// NumPy's `take_along_axis`: `x.gather(axis, indices)`.
pub fn take_along_axis<T: Element>(x: &Array<T>, indices: &Array<i64>, axis: isize) -> Result<Array<T>> {
    x.gather(axis, indices)
}

// Creation, on the default device (`with_device` chooses it).
/// `[start, stop)` by `step` (NumPy's `arange`).
pub fn arange<T: Num>(start: f64, stop: f64, step: f64) -> Result<Array<T>> {
    Array::arange(start, stop, step)
}

/// `num` values from `start` to `stop` (NumPy's `linspace`).
pub fn linspace<T: Float>(start: f64, stop: f64, num: usize, endpoint: bool) -> Result<Array<T>> {
    Array::linspace(start, stop, num, endpoint)
}

/// The `n × n` identity.
pub fn eye<T: Num>(n: usize) -> Result<Array<T>> {
    Array::eye(n)
}

/// `shape` filled with `value`.
pub fn full<T: Element>(shape: &[usize], value: T) -> Result<Array<T>> {
    Array::full(shape, value)
}

/// `shape` filled with zeros.
pub fn zeros<T: Element>(shape: &[usize]) -> Result<Array<T>> {
    Array::zeros(shape)
}

/// `shape` filled with ones.
pub fn ones<T: Element>(shape: &[usize]) -> Result<Array<T>> {
    Array::ones(shape)
}

forward! {
    /// Zeros of `x`'s shape, on its device.
    fn zeros_like<T: Element>() -> Result<Array<T>> = zeros_like;
    /// Ones of `x`'s shape, on its device.
    fn ones_like<T: Element>() -> Result<Array<T>> = ones_like;
    /// `value` in `x`'s shape, on its device.
    fn full_like<T: Element>(value: T) -> Result<Array<T>> = full_like;
}
