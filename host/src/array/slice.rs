//! NumPy's basic indexing: `x.slice(&s![1..5, .., ..;-1, 3, NewAxis])` is `x[1:5, :, ::-1, 3,
//! np.newaxis]`, a view (ranges with steps, negative ones walking backwards, single indices
//! that drop their axis, `NewAxis`, one `Ellipsis`; axes not named are taken whole). Also the
//! PyTorch views `narrow`, `select` and `flip`, and writing into a slice (`slice_assign`,
//! `slice_fill`).
//!
//! Writes never reach another array: ferrite's arrays are values (`Array` docs). Where NumPy's
//! `v = x[1:3]; v[:] = 0` changes `x`, in ferrite the write copies `v`'s elements first if
//! they share storage with `x` (copy-on-write), so `x` keeps its values; assign through the
//! array you mean to change: `x.slice_assign(&s![1..3], &zeros)`. A broadcast view is copied
//! before a write too (one element shown at many indices cannot take different values).
//!
//! Ranges follow NumPy's `start:stop:step` (`s![5..1;-1]` is 5, 4, 3, 2), not ndarray's
//! "slice, then reverse" reading of a negative step; bounds clamp as Python's do, negative
//! ones count from the end, and `a..=b` includes `b`.

use super::Array;
use super::layout::Layout;
use super::ops::same_device;
use crate::dtype::Element;
use crate::error::{Error, Result};
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// One entry of a slice (the `s!` macro makes them): NumPy's `start:stop:step`, an index,
/// `np.newaxis` or `...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceArg {
    /// `start:stop:step`; `None` for an open end; `inclusive` when `stop` itself is taken.
    Range { start: Option<isize>, stop: Option<isize>, inclusive: bool, step: isize },
    /// One index (negative from the end): its axis is dropped.
    Index(isize),
    /// A new axis of length 1.
    NewAxis,
    /// As many whole axes as the others leave (at most one per slice).
    Ellipsis,
}

/// `np.newaxis` in [`s!`](crate::s).
#[derive(Clone, Copy, Debug)]
pub struct NewAxis;

/// `...` in [`s!`](crate::s).
#[derive(Clone, Copy, Debug)]
pub struct Ellipsis;

impl From<NewAxis> for SliceArg {
    fn from(_: NewAxis) -> SliceArg {
        SliceArg::NewAxis
    }
}

impl From<Ellipsis> for SliceArg {
    fn from(_: Ellipsis) -> SliceArg {
        SliceArg::Ellipsis
    }
}

impl From<RangeFull> for SliceArg {
    fn from(_: RangeFull) -> SliceArg {
        SliceArg::Range { start: None, stop: None, inclusive: false, step: 1 }
    }
}

impl SliceArg {
    /// The range with step `step` (`s![a..b;step]`); only ranges take a step (the macro
    /// refuses `s![3;2]` at compile time).
    pub fn stepped(range: impl Into<SliceArg> + RangeLike, step: isize) -> SliceArg {
        match range.into() {
            SliceArg::Range { start, stop, inclusive, .. } => SliceArg::Range { start, stop, inclusive, step },
            _ => unreachable!("RangeLike types become ranges"),
        }
    }
}

/// The range types (`a..b`, `a..`, `..b`, `..`, `a..=b`, `..=b`), which take a step.
pub trait RangeLike {}
impl RangeLike for RangeFull {}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for SliceArg {
            fn from(i: $t) -> SliceArg {
                SliceArg::Index(i as isize)
            }
        }
        impl From<Range<$t>> for SliceArg {
            fn from(r: Range<$t>) -> SliceArg {
                SliceArg::Range { start: Some(r.start as isize), stop: Some(r.end as isize), inclusive: false, step: 1 }
            }
        }
        impl From<RangeFrom<$t>> for SliceArg {
            fn from(r: RangeFrom<$t>) -> SliceArg {
                SliceArg::Range { start: Some(r.start as isize), stop: None, inclusive: false, step: 1 }
            }
        }
        impl From<RangeTo<$t>> for SliceArg {
            fn from(r: RangeTo<$t>) -> SliceArg {
                SliceArg::Range { start: None, stop: Some(r.end as isize), inclusive: false, step: 1 }
            }
        }
        impl From<RangeInclusive<$t>> for SliceArg {
            fn from(r: RangeInclusive<$t>) -> SliceArg {
                SliceArg::Range { start: Some(*r.start() as isize), stop: Some(*r.end() as isize), inclusive: true, step: 1 }
            }
        }
        impl From<RangeToInclusive<$t>> for SliceArg {
            fn from(r: RangeToInclusive<$t>) -> SliceArg {
                SliceArg::Range { start: None, stop: Some(r.end as isize), inclusive: true, step: 1 }
            }
        }
        impl RangeLike for Range<$t> {}
        impl RangeLike for RangeFrom<$t> {}
        impl RangeLike for RangeTo<$t> {}
        impl RangeLike for RangeInclusive<$t> {}
        impl RangeLike for RangeToInclusive<$t> {}
    )*};
}
from_int!(isize, usize, i32, i64);

/// A NumPy slice as an array of [`SliceArg`]s, for [`Array::slice`]: `s![1..5, .., ..;-1, 3,
/// NewAxis, Ellipsis]` is NumPy's `[1:5, :, ::-1, 3, np.newaxis, ...]`. A range takes a step
/// after `;` (`a..b;step`, NumPy's `a:b:step`).
#[macro_export]
macro_rules! s {
    (@one $e:expr) => { $crate::SliceArg::from($e) };
    (@one $e:expr ; $step:expr) => { $crate::SliceArg::stepped($e, ($step) as isize) };
    ($($e:expr $(; $step:expr)?),* $(,)?) => { [$($crate::s!(@one $e $(; $step)?)),*] };
}

/// `index` (negative from the end) checked against axis `axis` of length `len`.
pub(crate) fn wrap_index(op: &'static str, index: isize, axis: usize, len: usize) -> Result<usize> {
    let i = if index < 0 { index + len as isize } else { index };
    if i < 0 || i >= len as isize {
        return Err(Error::IndexOutOfRange { op, index: index as i64, axis, size: len });
    }
    Ok(i as usize)
}

impl Layout {
    /// The layout `spec` selects (NumPy's basic indexing), or an error naming what does not fit.
    pub(crate) fn indexed(&self, op: &'static str, spec: &[SliceArg]) -> Result<Layout> {
        let bad = |why: String| Err(Error::bad_shape(op, self.shape(), why));
        let ellipses = spec.iter().filter(|a| matches!(a, SliceArg::Ellipsis)).count();
        if ellipses > 1 {
            return bad(format!("{ellipses} ellipses in one slice; at most one"));
        }
        let takes_axis = |a: &&SliceArg| matches!(a, SliceArg::Range { .. } | SliceArg::Index(_));
        let named = spec.iter().filter(takes_axis).count();
        if named > self.ndim() {
            return bad(format!("{named} indices for an array of {} dimensions", self.ndim()));
        }
        let (mut shape, mut strides) = (Vec::new(), Vec::new());
        let mut offset = self.offset() as isize;
        let mut k = 0; // the next axis of self
        for arg in spec {
            match *arg {
                SliceArg::Ellipsis => {
                    for _ in 0..self.ndim() - named {
                        shape.push(self.shape()[k]);
                        strides.push(self.strides()[k]);
                        k += 1;
                    }
                }
                SliceArg::NewAxis => {
                    shape.push(1);
                    strides.push(0);
                }
                SliceArg::Index(i) => {
                    let i = wrap_index(op, i, k, self.shape()[k])?;
                    offset += i as isize * self.strides()[k];
                    k += 1;
                }
                SliceArg::Range { start, stop, inclusive, step } => {
                    // An inclusive end moves one step further (past either end: open).
                    let stop = match (stop, inclusive) {
                        (Some(-1), true) if step > 0 => None,
                        (Some(0), true) if step < 0 => None,
                        (Some(e), true) => Some(if step > 0 { e + 1 } else { e - 1 }),
                        (e, _) => e,
                    };
                    let one = Layout::new(vec![self.shape()[k]], vec![self.strides()[k]], 0);
                    let s = one.sliced(op, 0, start, stop, step).map_err(|e| match e {
                        Error::BadShape { reason, .. } => {
                            Error::bad_shape(op, self.shape(), format!("axis {k}: {reason}"))
                        }
                        e => e,
                    })?;
                    shape.push(s.shape()[0]);
                    strides.push(s.strides()[0]);
                    offset += s.offset() as isize;
                    k += 1;
                }
            }
        }
        shape.extend_from_slice(&self.shape()[k..]);
        strides.extend_from_slice(&self.strides()[k..]);
        if shape.contains(&0) {
            offset = self.offset() as isize; // an empty view reads nothing; keep it in bounds
        }
        Ok(Layout::new(shape, strides, offset as usize))
    }
}

impl<T: Element> Array<T> {
    /// NumPy's basic indexing `x[spec]`, a view: `x.slice(&s![1..5, .., ..;-1, 3])`. See the
    /// module docs for the rules; an index outside its axis is [`Error::IndexOutOfRange`],
    /// too many indices, a second `Ellipsis` or a zero step are [`Error::BadShape`].
    ///
    /// The README's example:
    ///
    /// ```
    /// use ferrite::{Array, NewAxis, s};
    ///
    /// // NumPy: x = np.arange(12.).reshape(3, 4)
    /// let x = Array::<f32>::arange(0.0, 12.0, 1.0)?.reshape(&[3, 4])?;
    /// assert_eq!(x.slice(&s![1.., ..;-1])?.to_vec()?, [7.0, 6.0, 5.0, 4.0, 11.0, 10.0, 9.0, 8.0]); // x[1:, ::-1]
    /// assert_eq!(x.slice(&s![.., 1])?.to_vec()?, [1.0, 5.0, 9.0]); // x[:, 1], a view
    /// assert_eq!(x.slice(&s![NewAxis, 2, 1..=2])?.shape(), [1, 2]); // x[None, 2, 1:3]
    /// let mut y = x.clone(); // y[0, 1:3] = [-1, -2]: y changes, x does not
    /// y.slice_assign(&s![0, 1..3], &Array::from_vec(vec![-1.0, -2.0], &[2])?)?;
    /// assert_eq!(y.slice(&s![0])?.to_vec()?, [0.0, -1.0, -2.0, 3.0]);
    /// assert_eq!(x.slice(&s![0])?.to_vec()?, [0.0, 1.0, 2.0, 3.0]);
    /// let z = ferrite::concatenate(&[&x, &y.flip(0)?], 0)?; // np.concatenate((x, y[::-1]))
    /// assert_eq!(z.shape(), [6, 4]);
    /// # Ok::<(), ferrite::Error>(())
    /// ```
    pub fn slice(&self, spec: &[SliceArg]) -> Result<Array<T>> {
        Ok(Array::from_parts(self.storage.clone(), self.layout.indexed("slice", spec)?))
    }

    /// `length` elements from `start` (negative from the end) along `axis` (PyTorch's `narrow`;
    /// a view).
    pub fn narrow(&self, axis: isize, start: isize, length: usize) -> Result<Array<T>> {
        let k = self.layout.axis("narrow", axis)?;
        let n = self.shape()[k];
        // `start == n` is allowed for an empty view, as PyTorch allows it.
        let s = if start == n as isize { n } else { wrap_index("narrow", start, k, n)? };
        if length > n - s {
            return Err(Error::bad_shape(
                "narrow",
                self.shape(),
                format!("{length} elements from {start} run past the end of axis {k} (length {n})"),
            ));
        }
        let mut spec = vec![SliceArg::from(..); k];
        spec.push(SliceArg::from(s..s + length));
        self.slice(&spec)
    }

    /// The elements at `index` (negative from the end) along `axis`, without that axis
    /// (PyTorch's `select`, NumPy's `x[..., index, ...]`; a view).
    pub fn select(&self, axis: isize, index: isize) -> Result<Array<T>> {
        let k = self.layout.axis("select", axis)?;
        let mut spec = vec![SliceArg::from(..); k];
        spec.push(SliceArg::Index(index));
        Ok(Array::from_parts(self.storage.clone(), self.layout.indexed("select", &spec)?))
    }

    /// The elements in reverse order along each of `axes` (every axis for `Axes::All`;
    /// NumPy's `flip`; a view with negative strides).
    pub fn flip(&self, axes: impl Into<super::Axes>) -> Result<Array<T>> {
        let mut spec = vec![SliceArg::from(..); self.ndim()];
        let all: Vec<isize> = (0..self.ndim() as isize).collect();
        let list = match axes.into() {
            super::Axes::All => all,
            super::Axes::Some(list) => list,
        };
        for &a in &list {
            let k = self.layout.axis("flip", a)?;
            if spec[k] != SliceArg::from(..) {
                return Err(Error::bad_shape("flip", self.shape(), format!("axis {a} appears twice in {list:?}")));
            }
            spec[k] = SliceArg::stepped(.., -1);
        }
        self.slice(&spec)
    }

    /// Writes `value`, broadcast to the slice's shape, into `self[spec]` (NumPy's `x[spec] =
    /// value`, PyTorch's `x[spec].copy_(value)`). Only `self` changes: storage it shares with
    /// other arrays (its views, `value`) is copied first. `value` must be on `self`'s device.
    pub fn slice_assign(&mut self, spec: &[SliceArg], value: &Array<T>) -> Result<()> {
        let target = self.layout.indexed("slice_assign", spec)?;
        same_device("slice_assign", self, value)?;
        let from = value.layout.broadcast_to("slice_assign", target.shape())?;
        let src = value.storage.clone();
        // Checked above; the copy-on-write may have changed the layout, so index it again.
        let (storage, layout) = self.parts_mut()?;
        let target = layout.indexed("slice_assign", spec)?;
        super::copy_layout(&src, &from, storage, &target)
    }

    /// Sets every element of `self[spec]` to `value` (NumPy's `x[spec] = value` for a scalar).
    pub fn slice_fill(&mut self, spec: &[SliceArg], value: T) -> Result<()> {
        let scalar = Array::from_vec_on(vec![value], &[], &self.device())?;
        self.slice_assign(spec, &scalar)
    }
}
