//! Where an array's elements sit in its storage: a shape, a stride per dimension (in
//! elements; 0 repeats an element, as a broadcast does; negative walks backwards) and an
//! offset. Views are layouts over the same storage: `reshape` of a contiguous array,
//! `transpose`, `permute`, `broadcast_to`, `squeeze`, `unsqueeze` and slicing copy nothing.
//!
//! Also here: NumPy's broadcasting of shapes, and the coalescing that turns the layouts of
//! one operation's operands into the fewest dimensions a kernel walks.

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
}

/// Row-major strides of `shape`.
pub(crate) fn contiguous_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut step = 1isize;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = step;
        step = step.saturating_mul(d.max(1) as isize);
    }
    strides
}

impl Layout {
    /// The row-major layout of `shape` from offset 0.
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout { shape: shape.to_vec(), strides: contiguous_strides(shape), offset: 0 }
    }

    pub(crate) fn new(shape: Vec<usize>, strides: Vec<isize>, offset: usize) -> Layout {
        debug_assert_eq!(shape.len(), strides.len());
        Layout { shape, strides, offset }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements (the shape was checked when the layout was made).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the elements are row-major and contiguous (any offset). Dimensions of length 1
    /// may have any stride; an empty array is contiguous.
    pub fn is_contiguous(&self) -> bool {
        if self.is_empty() {
            return true;
        }
        let mut step = 1isize;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != step {
                return false;
            }
            step *= d as isize;
        }
        true
    }

    /// Whether some element may show at more than one index (a broadcast's stride 0, or
    /// windows that overlap, as [`unfold`](super::Array::unfold)'s), so that writing through
    /// the layout is not elementwise. Conservative: the dimensions longer than 1, taken by
    /// increasing stride, must each step past everything the shorter strides reach; a layout
    /// that fails this is treated as repeating (a write copies it first).
    pub fn repeats_elements(&self) -> bool {
        let mut dims: Vec<(usize, usize)> = self
            .shape
            .iter()
            .zip(&self.strides)
            .filter(|&(&d, _)| d > 1)
            .map(|(&d, &s)| (s.unsigned_abs(), d))
            .collect();
        dims.sort_unstable();
        let mut reach = 0usize;
        for (s, d) in dims {
            if s <= reach {
                return true;
            }
            reach += s * (d - 1);
        }
        false
    }

    /// The smallest and largest element offsets the layout reaches (for a non-empty layout):
    /// the storage must hold `max + 1` elements.
    #[cfg_attr(not(feature = "ndarray"), allow(dead_code))] // ndarray conversions (io/ndarray.rs)
    pub fn span(&self) -> (usize, usize) {
        let (mut lo, mut hi) = (self.offset as isize, self.offset as isize);
        for (&d, &s) in self.shape.iter().zip(&self.strides) {
            if d == 0 {
                return (self.offset, self.offset);
            }
            let reach = (d as isize - 1) * s;
            if reach < 0 { lo += reach } else { hi += reach }
        }
        (lo as usize, hi as usize)
    }

    /// The windows of `size` elements, `step` apart, along `axis`: that axis becomes the
    /// window count and a last axis of length `size` walks inside a window (PyTorch's
    /// `unfold`). Windows overlap when `step < size`.
    pub(crate) fn unfolded(&self, op: &'static str, axis: isize, size: usize, step: usize) -> Result<Layout> {
        let k = self.axis(op, axis)?;
        let n = self.shape[k];
        if step == 0 || size == 0 || size > n {
            let why = format!(
                "windows of {size} elements {step} apart along axis {k} of length {n} (size 1..={n}, step >= 1)"
            );
            return Err(Error::bad_shape(op, &self.shape, why));
        }
        let mut out = self.clone();
        out.shape[k] = (n - size) / step + 1;
        // With one window the step is never taken (and may be past any stride).
        if out.shape[k] > 1 {
            out.strides[k] = self.strides[k] * step as isize; // step < n: within the array
        }
        out.shape.push(size);
        out.strides.push(self.strides[k]);
        crate::alloc::volume(op, &out.shape)?;
        Ok(out)
    }

    /// `axis` counted from the end when negative, checked against the number of dimensions.
    pub(crate) fn axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        normalize_axis(op, axis, self.ndim(), &self.shape)
    }

    /// The same elements in `shape`, if a view can give them: a contiguous layout reshapes to
    /// any shape of the same size (`None` otherwise: the caller copies first).
    pub(crate) fn reshaped(&self, shape: &[usize]) -> Option<Layout> {
        self.is_contiguous().then(|| Layout { offset: self.offset, ..Layout::contiguous(shape) })
    }

    /// Dimensions reordered: dimension `i` of the result is dimension `perm[i]` here.
    pub(crate) fn permuted(&self, op: &'static str, perm: &[isize]) -> Result<Layout> {
        let n = self.ndim();
        let bad = |why: String| Err(Error::bad_shape(op, &self.shape, why));
        if perm.len() != n {
            return bad(format!("the permutation {perm:?} has {} axes, the array {n}", perm.len()));
        }
        let mut seen = vec![false; n];
        let mut axes = Vec::with_capacity(n);
        for &p in perm {
            let a = self.axis(op, p)?;
            if std::mem::replace(&mut seen[a], true) {
                return bad(format!("axis {p} repeats in the permutation {perm:?}"));
            }
            axes.push(a);
        }
        Ok(Layout {
            shape: axes.iter().map(|&a| self.shape[a]).collect(),
            strides: axes.iter().map(|&a| self.strides[a]).collect(),
            offset: self.offset,
        })
    }

    /// Broadcast to `shape` (NumPy's rules: align at the end, a length-1 or missing
    /// dimension repeats with stride 0).
    pub(crate) fn broadcast_to(&self, op: &'static str, shape: &[usize]) -> Result<Layout> {
        let mismatch = || Error::shape_mismatch(op, &self.shape, shape, "the shapes do not broadcast");
        if shape.len() < self.ndim() {
            return Err(mismatch());
        }
        let lead = shape.len() - self.ndim();
        let mut strides = vec![0isize; shape.len()];
        for (i, (&d, &s)) in self.shape.iter().zip(&self.strides).enumerate() {
            let want = shape[lead + i];
            strides[lead + i] = match (d, want) {
                _ if d == want => s,
                (1, _) => 0,
                _ => return Err(mismatch()),
            };
        }
        Ok(Layout { shape: shape.to_vec(), strides, offset: self.offset })
    }

    /// Without the length-1 dimensions in `axes` (all of them for `None`).
    pub(crate) fn squeezed(&self, op: &'static str, axes: Option<&[isize]>) -> Result<Layout> {
        let drop: Vec<bool> = match axes {
            None => self.shape.iter().map(|&d| d == 1).collect(),
            Some(axes) => {
                let mut drop = vec![false; self.ndim()];
                for &a in axes {
                    let k = self.axis(op, a)?;
                    if self.shape[k] != 1 {
                        return Err(Error::bad_shape(
                            op,
                            &self.shape,
                            format!("axis {a} has length {}, not 1", self.shape[k]),
                        ));
                    }
                    drop[k] = true;
                }
                drop
            }
        };
        let kept = |k: usize| !drop[k];
        let shape = (0..self.ndim()).filter(|&k| kept(k)).map(|k| self.shape[k]).collect();
        let strides = (0..self.ndim()).filter(|&k| kept(k)).map(|k| self.strides[k]).collect();
        Ok(Layout { shape, strides, offset: self.offset })
    }

    /// With a length-1 dimension inserted at `axis` (which may be `ndim`, or negative from the
    /// end of the result).
    pub(crate) fn unsqueezed(&self, op: &'static str, axis: isize) -> Result<Layout> {
        let n = self.ndim() + 1;
        let k = normalize_axis(op, axis, n, &self.shape)?;
        let (mut shape, mut strides) = (self.shape.clone(), self.strides.clone());
        // The inserted stride makes the view contiguous where the array is.
        let stride = if k < self.ndim() { self.strides[k] * self.shape[k] as isize } else { 1 };
        shape.insert(k, 1);
        strides.insert(k, stride);
        Ok(Layout { shape, strides, offset: self.offset })
    }

    /// Elements `start, start + step, ...` (before `stop`) along `axis`: NumPy's
    /// `a[..., start:stop:step]`, with Python's clamping of out-of-range bounds and negative
    /// indices counted from the end. `step` must not be 0.
    pub(crate) fn sliced(
        &self,
        op: &'static str,
        axis: isize,
        start: Option<isize>,
        stop: Option<isize>,
        step: isize,
    ) -> Result<Layout> {
        let k = self.axis(op, axis)?;
        if step == 0 {
            return Err(Error::bad_shape(op, &self.shape, "a slice step of 0"));
        }
        let n = self.shape[k] as isize;
        let clamp = |i: isize, lo: isize, hi: isize| if i < 0 { (i + n).max(lo) } else { i.min(hi) };
        let (first, len) = if step > 0 {
            let (a, b) = (start.map_or(0, |i| clamp(i, 0, n)), stop.map_or(n, |i| clamp(i, 0, n)));
            (a, if b > a { (b - a + step - 1) / step } else { 0 })
        } else {
            let (a, b) = (start.map_or(n - 1, |i| clamp(i, -1, n - 1)), stop.map_or(-1, |i| clamp(i, -1, n - 1)));
            (a, if a > b { (a - b - step - 1) / -step } else { 0 })
        };
        let mut out = self.clone();
        out.shape[k] = len as usize;
        out.strides[k] = self.strides[k] * step;
        if len > 0 {
            out.offset = (self.offset as isize + first * self.strides[k]) as usize;
        }
        Ok(out)
    }
}

/// `axis` (negative from the end) as an index below `ndim`, or an error naming it.
pub(crate) fn normalize_axis(op: &'static str, axis: isize, ndim: usize, shape: &[usize]) -> Result<usize> {
    let k = if axis < 0 { axis + ndim as isize } else { axis };
    if k < 0 || k >= ndim as isize {
        return Err(Error::AxisOutOfRange { op, axis, ndim, shape: shape.to_vec() });
    }
    Ok(k as usize)
}

/// The broadcast shape of `a` and `b` (NumPy's rules), or an error naming both.
pub(crate) fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let at = |s: &[usize], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(Error::shape_mismatch(
                op,
                a,
                b,
                format!("dimension {} has lengths {x} and {y}, which do not broadcast", i as isize - n as isize),
            )),
        })
        .collect()
}

/// One operation's operands walked together: the shape of the walk (fewest dimensions, none
/// of length 1) and each operand's strides and offset along it. Dimensions that are
/// contiguous in every operand merge; a contiguous walk has one dimension and unit strides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Walk {
    pub dims: Vec<usize>,
    /// Per operand: (offset, stride per dimension).
    pub operands: Vec<(usize, Vec<isize>)>,
}

impl Walk {
    /// The walk of `layouts`, all of the same shape.
    pub fn new(layouts: &[&Layout]) -> Walk {
        let shape = layouts[0].shape();
        debug_assert!(layouts.iter().all(|l| l.shape() == shape));
        let mut dims: Vec<usize> = Vec::new();
        let mut strides: Vec<Vec<isize>> = vec![Vec::new(); layouts.len()];
        for d in 0..shape.len() {
            let n = shape[d];
            if n == 1 {
                continue;
            }
            // Merge into the previous dimension when every operand continues contiguously.
            let merge = !dims.is_empty()
                && layouts.iter().zip(&strides).all(|(l, s)| s.last() == Some(&(l.strides()[d] * n as isize)));
            if merge {
                *dims.last_mut().unwrap() *= n;
                for (l, s) in layouts.iter().zip(&mut strides) {
                    *s.last_mut().unwrap() = l.strides()[d];
                }
            } else {
                dims.push(n);
                for (l, s) in layouts.iter().zip(&mut strides) {
                    s.push(l.strides()[d]);
                }
            }
        }
        if dims.is_empty() {
            dims.push(if shape.contains(&0) { 0 } else { 1 });
            for s in &mut strides {
                s.push(1);
            }
        }
        Walk { dims, operands: layouts.iter().zip(strides).map(|(l, s)| (l.offset(), s)).collect() }
    }

    /// `n` contiguous elements, for a launch's geometry (no operands).
    pub fn flat(n: usize) -> Walk {
        Walk { dims: vec![n], operands: Vec::new() }
    }

    /// `n` contiguous elements of two operands, both from offset 0.
    pub fn contiguous2(n: usize) -> Walk {
        Walk { dims: vec![n], operands: vec![(0, vec![1]), (0, vec![1])] }
    }

    /// Whether every operand is walked contiguously: one dimension, unit strides.
    pub fn is_contiguous(&self) -> bool {
        self.dims.len() == 1 && self.operands.iter().all(|(_, s)| s[0] == 1)
    }

    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_python() {
        let l = Layout::contiguous(&[10]);
        let s = |a, b, st| l.sliced("t", 0, a, b, st).unwrap();
        let idx = |l: &Layout| {
            (0..l.shape()[0]).map(|i| l.offset() as isize + i as isize * l.strides()[0]).collect::<Vec<_>>()
        };
        assert_eq!(idx(&s(Some(2), Some(7), 2)), [2, 4, 6]);
        assert_eq!(idx(&s(None, None, -1)), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(idx(&s(Some(-3), None, 1)), [7, 8, 9]);
        assert_eq!(idx(&s(Some(8), Some(2), -3)), [8, 5]);
        assert_eq!(idx(&s(Some(20), Some(30), 1)), Vec::<isize>::new());
        assert_eq!(idx(&s(Some(-20), Some(2), 1)), [0, 1]);
        assert_eq!(idx(&s(None, Some(-20), -1)), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    }

    #[test]
    fn walks_merge_what_every_operand_has_contiguous() {
        let a = Layout::contiguous(&[4, 5, 6]);
        assert_eq!(Walk::new(&[&a, &a]).dims, [120]);
        let t = a.permuted("t", &[0, 2, 1]).unwrap();
        let w = Walk::new(&[&a.permuted("t", &[0, 2, 1]).unwrap(), &t]);
        assert_eq!(w.dims, [4, 6, 5]);
        let b = Layout::contiguous(&[6]).broadcast_to("t", &[4, 5, 6]).unwrap();
        let w = Walk::new(&[&a, &b]);
        assert_eq!((w.dims.clone(), w.operands[1].1.clone()), (vec![20, 6], vec![0, 1]));
        let one = Layout::contiguous(&[1, 1]);
        assert_eq!(Walk::new(&[&one]).dims, [1]);
    }

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[4, 1, 3], &[5, 1]).unwrap(), [4, 5, 3]);
        assert_eq!(broadcast_shapes("t", &[], &[2, 3]).unwrap(), [2, 3]);
        assert!(broadcast_shapes("t", &[2, 3], &[3, 2]).is_err());
    }
}
