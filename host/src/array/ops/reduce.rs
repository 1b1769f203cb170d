//! Reductions over one axis, several or all, with `keepdims`: `sum`, `prod`, `max`, `min`,
//! `argmax`, `argmin`, and for floats `mean`, `var`, `std` (with `ddof`), `logsumexp` and
//! `norm` (L2). Sums of floats accumulate in f32 (f64 for f64 arrays), of integers and bools
//! in i64 (PyTorch's rule; NumPy agrees for signed integers and bools but sums u8 and u32 in
//! uint64, which ferrite does not have; i64 sums wrap), in the order the kernels document
//! (`kernels_gpu::ops::reduce`: per-thread chunks, then trees). `var` is two-pass: the mean,
//! then the mean square deviation from it (not `E[x²] - E[x]²`, which cancels).

use super::{dtype_error, same_device};
use crate::array::Array;
use crate::array::layout::{Layout, normalize_axis};
use crate::array::storage::{CpuData, CudaData, Storage};
use crate::backend::cpu::reduce as cpu_reduce;
use crate::backend::cuda::reduce as cuda_reduce;
use crate::backend::with_kernel_type;
use crate::dtype::{DType, Element, Float};
use crate::error::{Error, Result};
use kernels_gpu::ops::reduce::{POST_LOG_CENTER, POST_SQRT, Reduce, Reducible};
use kernels_gpu::prelude::Num as _;
use std::sync::Arc;

/// The axes a reduction runs over: all of them, one, or several (negative counts from the
/// end). `5`, `-1`, `[0, 2]` and `Axes::All` all convert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axes {
    All,
    Some(Vec<isize>),
}

impl From<isize> for Axes {
    fn from(a: isize) -> Axes {
        Axes::Some(vec![a])
    }
}
impl From<i32> for Axes {
    fn from(a: i32) -> Axes {
        Axes::Some(vec![a as isize])
    }
}
impl From<usize> for Axes {
    fn from(a: usize) -> Axes {
        Axes::Some(vec![a as isize])
    }
}
impl<const N: usize> From<[isize; N]> for Axes {
    fn from(a: [isize; N]) -> Axes {
        Axes::Some(a.to_vec())
    }
}
impl From<&[isize]> for Axes {
    fn from(a: &[isize]) -> Axes {
        Axes::Some(a.to_vec())
    }
}
impl From<Vec<isize>> for Axes {
    fn from(a: Vec<isize>) -> Axes {
        Axes::Some(a)
    }
}

/// The kept and reduced dimensions of `layout` for `axes`, and the result's shape.
struct Split {
    keep: Layout,
    red: Layout,
    shape: Vec<usize>,
}

fn split(op: &'static str, layout: &Layout, axes: &Axes, keepdims: bool) -> Result<Split> {
    let n = layout.ndim();
    let mut reduced = vec![false; n];
    match axes {
        Axes::All => reduced.iter_mut().for_each(|r| *r = true),
        Axes::Some(list) => {
            for &a in list {
                let k = normalize_axis(op, a, n, layout.shape())?;
                if std::mem::replace(&mut reduced[k], true) {
                    return Err(Error::bad_shape(op, layout.shape(), format!("axis {a} appears twice in {list:?}")));
                }
            }
        }
    }
    let pick = |want: bool| -> (Vec<usize>, Vec<isize>) {
        (0..n).filter(|&d| reduced[d] == want).map(|d| (layout.shape()[d], layout.strides()[d])).unzip()
    };
    let (ks, kst) = pick(false);
    let (rs, rst) = pick(true);
    let shape =
        if keepdims { (0..n).map(|d| if reduced[d] { 1 } else { layout.shape()[d] }).collect() } else { ks.clone() };
    Ok(Split { keep: Layout::new(ks, kst, layout.offset()), red: Layout::new(rs, rst, 0), shape })
}

/// The accumulator dtype of `dtype`: f32 for f32/f16/bf16, f64, or i64.
pub(super) fn acc_dtype(dtype: DType) -> DType {
    match dtype {
        DType::F64 => DType::F64,
        d if d.is_float() => DType::F32,
        _ => DType::I64,
    }
}

/// The reduction's values (in the accumulator dtype, or the input's own) and indices.
struct Output {
    values: Storage,
    indices: Option<Storage>,
}

/// Runs `op` over `x` (of `shape`) with `scale`, `post` and an optional per-output center (an
/// array of the accumulator dtype and the kept shape). `own` asks the GPU for values in the
/// array's own dtype, stored once by the kernel (the 16-bit floats, i32, u8, u32 and bool have
/// such entries; otherwise, and on the CPU, the values come in the accumulator dtype and
/// [`finish`] converts them).
///
/// Not generic, on purpose: it dispatches on the storage's dtype, so a method of `Array<T>`
/// holding this body made every crate that reduced a `T` compile every dtype's and every
/// op's CPU reduction again (with rayon's plumbing, two thirds of a test binary's code).
#[allow(clippy::too_many_arguments)] // one call per reduction kind: the request is its arguments
fn reduce_raw(
    x: &Storage,
    shape: &[usize],
    op: Reduce,
    s: &Split,
    center: Option<&Storage>,
    scale: f64,
    post: u32,
    own: bool,
) -> Result<Output> {
    // The extremes and their indices have no identity (NumPy raises); the sums start at
    // zero and the product at one.
    let has_identity = !matches!(op, Reduce::Max | Reduce::Min | Reduce::ArgMax | Reduce::ArgMin);
    if s.red.is_empty() && !s.keep.is_empty() && !has_identity {
        return Err(Error::bad_shape(op.name(), shape, "a reduction of no elements has no identity"));
    }
    let n_out = s.keep.len();
    match x {
        Storage::Cpu(x) => {
            let center = center.map(|c| match c {
                Storage::Cpu(d) => d,
                _ => unreachable!("same device"),
            });
            macro_rules! go {
                ($t:ty, $x:expr, $wrap:ident) => {{
                    type A = <<$t as Element>::Kernel as Reducible>::Acc;
                    let c: Option<&[A]> = center.map(|d| d.as_slice::<A>().expect("the accumulator's dtype"));
                    let req = cpu_reduce::Request {
                        op,
                        keep: &s.keep,
                        red: &s.red,
                        center: c,
                        scale: A::of_f64(scale),
                        post,
                    };
                    let (v, i) = cpu_reduce::reduce::<$t>($x, &req);
                    Output {
                        values: Storage::Cpu(CpuData::$wrap(v)),
                        indices: i.map(|i| Storage::Cpu(CpuData::I64(i))),
                    }
                }};
            }
            let _ = n_out;
            Ok(match x {
                CpuData::F32(v) => go!(f32, v, F32),
                CpuData::F64(v) => go!(f64, v, F64),
                CpuData::F16(v) => go!(half::f16, v, F32),
                CpuData::BF16(v) => go!(half::bf16, v, F32),
                CpuData::I32(v) => go!(i32, v, I64),
                CpuData::I64(v) => go!(i64, v, I64),
                CpuData::U8(v) => go!(u8, v, I64),
                CpuData::U32(v) => go!(u32, v, I64),
                CpuData::Bool(v) => go!(bool, v, I64),
            })
        }
        Storage::Cuda(x) => {
            let center = center.map(|c| match c {
                Storage::Cuda(d) => &d.buf,
                _ => unreachable!("same device"),
            });
            let view = x.view();
            let reduced = with_kernel_type!(x.dtype, |K| {
                let scale = <<K as Reducible>::Acc as kernels_gpu::prelude::Num>::of_f64(scale);
                cuda_reduce::reduce::<K>(op, &view, &s.keep, &s.red, center, scale, post, own)?
            });
            let acc = if reduced.own { x.dtype } else { acc_dtype(x.dtype) };
            Ok(Output {
                values: Storage::Cuda(CudaData { buf: reduced.values, dtype: acc, len: n_out }),
                indices: reduced.indices.map(|b| Storage::Cuda(CudaData { buf: b, dtype: DType::I64, len: n_out })),
            })
        }
    }
}

impl<T: Element> Array<T> {
    /// `op` over `axes` as an array of `U`: the array's own dtype (max, min, and the float
    /// sums: stored so by the kernel) or the accumulator's (integer sums).
    fn reduce_to<U: Element>(&self, op: Reduce, axes: Axes, keepdims: bool, scale: f64, post: u32) -> Result<Array<U>> {
        let s = split(op.name(), &self.layout, &axes, keepdims)?;
        let out = reduce_raw(&self.storage, self.shape(), op, &s, None, scale, post, U::DTYPE == T::DTYPE)?;
        finish::<U>(out.values, &s.shape)
    }

    /// The sum over `axes` (NumPy's `sum`): f32, f64, f16 and bf16 arrays give their own dtype
    /// (16-bit sums accumulate in f32 and round once); integers and bools give i64.
    pub fn sum(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T::Sum>>
    where
        T: Summable,
    {
        self.reduce_to(Reduce::Sum, axes.into(), keepdims, 1.0, 0)
    }

    /// The product over `axes` (integers and bools: i64, wrapping).
    pub fn prod(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T::Sum>>
    where
        T: Summable,
    {
        self.reduce_to(Reduce::Prod, axes.into(), keepdims, 1.0, 0)
    }

    /// The largest element over `axes`; NaN if any is NaN (NumPy's `max`). An empty reduction
    /// is an error, as in NumPy.
    pub fn max(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> {
        self.reduce_to(Reduce::Max, axes.into(), keepdims, 1.0, 0)
    }

    /// The smallest element over `axes`; NaN if any is NaN.
    pub fn min(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> {
        self.reduce_to(Reduce::Min, axes.into(), keepdims, 1.0, 0)
    }

    /// The index of the largest element along `axis` (`None`: of the flattened array, as
    /// NumPy's `argmax()`): the first occurrence, and the first NaN if there is one.
    pub fn argmax(&self, axis: Option<isize>, keepdims: bool) -> Result<Array<i64>> {
        self.arg(Reduce::ArgMax, axis, keepdims)
    }

    /// The index of the smallest element along `axis` (the first occurrence; the first NaN if
    /// there is one).
    pub fn argmin(&self, axis: Option<isize>, keepdims: bool) -> Result<Array<i64>> {
        self.arg(Reduce::ArgMin, axis, keepdims)
    }

    fn arg(&self, op: Reduce, axis: Option<isize>, keepdims: bool) -> Result<Array<i64>> {
        let (src, axes) = match axis {
            None => (self.reshape(&[self.len()])?, Axes::All),
            Some(a) => (self.clone(), Axes::from(a)),
        };
        let s = split(op.name(), &src.layout, &axes, keepdims)?;
        let shape = if axis.is_none() && keepdims { vec![1; self.ndim()] } else { s.shape.clone() };
        let out = reduce_raw(&src.storage, src.shape(), op, &s, None, 1.0, 0, false)?;
        Ok(Array::from_parts(Arc::new(out.indices.expect("arg ops give indices")), Layout::contiguous(&shape)))
    }
}

impl<T: Float> Array<T> {
    fn count(&self, op: &'static str, axes: &Axes) -> Result<usize> {
        let s = split(op, &self.layout, axes, false)?;
        Ok(s.red.len())
    }

    /// The sum over `axes` in the array's own dtype.
    pub(crate) fn sum_same(&self, axes: Axes, keepdims: bool) -> Result<Array<T>> {
        self.reduce_to(Reduce::Sum, axes, keepdims, 1.0, 0)
    }

    /// The mean over `axes` (NumPy's `mean`; NaN for an empty reduction, as NumPy's).
    pub fn mean(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> {
        let axes = axes.into();
        let n = self.count("mean", &axes)?;
        self.reduce_to(Reduce::Sum, axes, keepdims, 1.0 / n as f64, 0)
    }

    /// The variance over `axes` with `ddof` delta degrees of freedom (NumPy's `var`: divides by
    /// `n - ddof`; NaN when that is not positive).
    pub fn var(&self, axes: impl Into<Axes>, ddof: usize, keepdims: bool) -> Result<Array<T>> {
        self.var_post(axes.into(), ddof, keepdims, 0, "var")
    }

    /// The standard deviation over `axes` (the square root of [`Array::var`]).
    pub fn std(&self, axes: impl Into<Axes>, ddof: usize, keepdims: bool) -> Result<Array<T>> {
        self.var_post(axes.into(), ddof, keepdims, POST_SQRT, "std")
    }

    fn var_post(&self, axes: Axes, ddof: usize, keepdims: bool, post: u32, op: &'static str) -> Result<Array<T>> {
        let s = split(op, &self.layout, &axes, keepdims)?;
        let n = s.red.len();
        // The mean stays in the accumulator dtype: it is the second pass's center.
        let mean = reduce_raw(&self.storage, self.shape(), Reduce::Sum, &s, None, 1.0 / n as f64, 0, false)?;
        let scale = if n > ddof { 1.0 / (n - ddof) as f64 } else { f64::NAN };
        let out = reduce_raw(&self.storage, self.shape(), Reduce::SumSqDev, &s, Some(&mean.values), scale, post, true)?;
        finish::<T>(out.values, &s.shape)
    }

    /// `ln Σ e^x` over `axes`, without overflow (the maximum is taken out first); -inf for a
    /// row of -inf or no elements, +inf if any element is +inf, NaN if any is NaN.
    pub fn logsumexp(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> {
        let s = split("logsumexp", &self.layout, &axes.into(), keepdims)?;
        if s.red.is_empty() {
            // ln 0 (SciPy's `logsumexp` of nothing).
            return Array::full_on(&s.shape, T::from_f64(f64::NEG_INFINITY), &self.device());
        }
        let max = reduce_raw(&self.storage, self.shape(), Reduce::Max, &s, None, 1.0, 0, false)?;
        let out = reduce_raw(
            &self.storage,
            self.shape(),
            Reduce::SumExpShift,
            &s,
            Some(&max.values),
            1.0,
            POST_LOG_CENTER,
            true,
        )?;
        finish::<T>(out.values, &s.shape)
    }

    /// The L2 norm over `axes`: `sqrt(Σ x²)` (as NumPy's `linalg.norm` of a vector; no scaling
    /// against overflow, as there).
    pub fn norm(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array<T>> {
        let axes = axes.into();
        // Checked under its own name first (the kernel's reduction is `sum_sq`).
        split("norm", &self.layout, &axes, keepdims)?;
        self.reduce_to(Reduce::SumSq, axes, keepdims, 1.0, POST_SQRT)
    }
}

/// A result as an `Array<U>` of `shape`: as it is when the kernel stored `U` already,
/// otherwise (an accumulator-dtype result) converted.
pub(super) fn finish<U: Element>(values: Storage, shape: &[usize]) -> Result<Array<U>> {
    let dtype = values.dtype();
    let raw: Arc<Storage> = Arc::new(values);
    if dtype == U::DTYPE {
        return Ok(Array::from_parts(raw, Layout::contiguous(shape)));
    }
    macro_rules! convert {
        ($a:ty) => {
            Array::<$a>::from_parts(raw, Layout::contiguous(shape)).cast::<U>()
        };
    }
    match dtype {
        DType::F32 => convert!(f32),
        DType::F64 => convert!(f64),
        DType::I64 => convert!(i64),
        d => Err(dtype_error("reduce", d, "accumulators are f32, f64 or i64")),
    }
}

/// Element types a sum or product is defined for, and its result's dtype: the same for floats,
/// i64 for integers and bools (PyTorch's rule: NumPy gives i64 for signed integers and bools,
/// uint64 for u8 and u32; the same values below 2^63).
pub trait Summable: Element {
    type Sum: Element;
}

macro_rules! summable {
    ($($t:ty => $s:ty),*) => {$( impl Summable for $t { type Sum = $s; } )*};
}
summable!(f32 => f32, f64 => f64, half::f16 => half::f16, half::bf16 => half::bf16, i32 => i64, i64 => i64, u8 => i64, u32 => i64, bool => i64);

#[allow(dead_code)]
fn assert_same_device<A: Element, B: Element>(a: &Array<A>, b: &Array<B>) -> Result<()> {
    same_device("reduce", a, b)
}
