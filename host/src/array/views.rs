//! Views: new layouts over the same storage, no copy. `reshape` is a view of a contiguous
//! array (a copy otherwise, as NumPy's); `t`, `transpose`, `permute`, `broadcast_to`,
//! `squeeze`, `unsqueeze`, `slice_axis`, `unfold` and `flatten` (of a contiguous array) always
//! are.

use super::Array;
use crate::dtype::Element;
use crate::error::{Error, Result};

impl<T: Element> Array<T> {
    fn with_layout(&self, layout: super::layout::Layout) -> Array<T> {
        Array::from_parts(self.storage.clone(), layout)
    }

    /// The same elements in a new shape of the same size: a view when the array is
    /// contiguous, else a contiguous copy (NumPy's `reshape`). Every dimension is given (a
    /// `usize` has no NumPy `-1`; `flatten` covers the common case).
    pub fn reshape(&self, shape: &[usize]) -> Result<Array<T>> {
        if crate::alloc::volume("reshape", shape)? != self.len() {
            return Err(Error::shape_mismatch("reshape", self.shape(), shape, "the sizes differ"));
        }
        match self.layout.reshaped(shape) {
            Some(l) => Ok(self.with_layout(l)),
            None => Ok(self.copy()?.with_layout(super::layout::Layout::contiguous(shape))),
        }
    }

    /// The elements as one dimension (a view of a contiguous array, else a copy).
    pub fn flatten(&self) -> Result<Array<T>> {
        self.reshape(&[self.len()])
    }

    /// The axes reversed (NumPy's `.T`; a view).
    pub fn transpose(&self) -> Array<T> {
        let perm: Vec<isize> = (0..self.ndim() as isize).rev().collect();
        self.with_layout(self.layout.permuted("transpose", &perm).expect("a reversal is a permutation"))
    }

    /// The last two axes swapped (PyTorch's `.t()` for matrices, `mT` for stacks; a view). A
    /// 0-d or 1-d array is returned as it is.
    pub fn t(&self) -> Array<T> {
        let n = self.ndim();
        if n < 2 {
            return self.clone();
        }
        let mut perm: Vec<isize> = (0..n as isize).collect();
        perm.swap(n - 2, n - 1);
        self.with_layout(self.layout.permuted("t", &perm).expect("a swap is a permutation"))
    }

    /// Axes reordered: axis `i` of the result is axis `perm[i]` here (negative from the end;
    /// a view).
    pub fn permute(&self, perm: &[isize]) -> Result<Array<T>> {
        Ok(self.with_layout(self.layout.permuted("permute", perm)?))
    }

    /// Axes `a` and `b` exchanged (a view).
    pub fn swapaxes(&self, a: isize, b: isize) -> Result<Array<T>> {
        let (a, b) = (self.layout.axis("swapaxes", a)?, self.layout.axis("swapaxes", b)?);
        let mut perm: Vec<isize> = (0..self.ndim() as isize).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// Broadcast to `shape` (NumPy's rules; a view whose repeated elements have stride 0).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array<T>> {
        crate::alloc::volume("broadcast_to", shape)?;
        Ok(self.with_layout(self.layout.broadcast_to("broadcast_to", shape)?))
    }

    /// Without its length-1 axes (a view).
    pub fn squeeze(&self) -> Array<T> {
        self.with_layout(self.layout.squeezed("squeeze", None).expect("dropping length-1 axes"))
    }

    /// Without the length-1 axes `axes` (an error if one is longer; a view).
    pub fn squeeze_axes(&self, axes: &[isize]) -> Result<Array<T>> {
        Ok(self.with_layout(self.layout.squeezed("squeeze", Some(axes))?))
    }

    /// With a length-1 axis inserted at `axis` (negative from the end of the result; NumPy's
    /// `expand_dims`; a view).
    pub fn unsqueeze(&self, axis: isize) -> Result<Array<T>> {
        Ok(self.with_layout(self.layout.unsqueezed("unsqueeze", axis)?))
    }

    /// The windows of `size` elements, `step` apart, along `axis` (PyTorch's `unfold`,
    /// NumPy's `sliding_window_view` with a step; a view): `axis` becomes the number of
    /// windows, `(len - size) / step + 1`, and a new last axis of length `size` walks inside
    /// each window. Windows overlap when `step < size`; the view reads them without a copy
    /// (a write to it copies first). Convolutions and pooling are windows followed by a matmul
    /// or a reduction.
    ///
    /// ```
    /// use ferrite::Array;
    /// let x = Array::from_vec(vec![0.0f32, 1.0, 2.0, 3.0, 4.0], &[5])?;
    /// let w = x.unfold(0, 3, 2)?; // [[0, 1, 2], [2, 3, 4]]
    /// assert_eq!((w.shape(), w.to_vec()?), (&[2usize, 3][..], vec![0.0, 1.0, 2.0, 2.0, 3.0, 4.0]));
    /// # Ok::<(), ferrite::Error>(())
    /// ```
    pub fn unfold(&self, axis: isize, size: usize, step: usize) -> Result<Array<T>> {
        Ok(self.with_layout(self.layout.unfolded("unfold", axis, size, step)?))
    }

    /// Elements `start, start + step, ...` before `stop` along `axis` (NumPy's
    /// `a[..., start:stop:step, ...]`: `None` for an open end, negative indices from the end,
    /// out-of-range bounds clamped, a negative step walks backwards; a view).
    pub fn slice_axis(&self, axis: isize, start: Option<isize>, stop: Option<isize>, step: isize) -> Result<Array<T>> {
        Ok(self.with_layout(self.layout.sliced("slice", axis, start, stop, step)?))
    }
}
