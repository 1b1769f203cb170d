//! The operations as free functions, spelt as NumPy spells them (`ferrite::exp(&x)`,
//! `ferrite::maximum(&a, &b)`, `ferrite::sum(&x, 0, false)`): each calls the method of the same
//! name. The unary ones are made from the kernels' op list, as the methods are.

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
