//! Indexing with arrays of indices (`i64`, or `i32` cast to `i64` first): `index_select`,
//! `take`, `gather`, `scatter`, `scatter_add` and `one_hot`, on every device and dtype.
//!
//! Negative indices: `take` follows NumPy (`-1` is the last element, as `np.take`); the others
//! follow PyTorch and refuse them. Any index outside its axis is
//! [`Error::IndexOutOfRange`] naming the value, the axis and its size, never a silent read: the
//! CPU checks as it goes (naming the first bad index in row-major order), a CUDA kernel flags
//! the bad index it meets in two device words the host reads back after the launch (16 bytes
//! each way and one synchronisation, against a pre-check that would read every index once
//! more: as many bytes again as an f64 gather's output, twice an f32 one's).
//!
//! `scatter` and `scatter_add` are deterministic on every device: each output element is
//! updated in index order (the last of repeated indices wins; sums run in that order in the
//! compute type, f32 for 16-bit floats, rounded once), so CUDA and the CPU agree bit for bit.
//! On CUDA each output position reads its line's `m` indices (see `kernels_gpu::ops::gather`):
//! fast for one-hot-like scatters, `O(n·m)` per line for long ones.

use super::{output, same_device, walk};
use crate::array::Array;
use crate::array::layout::{Layout, Walk, normalize_axis};
use crate::array::storage::{Storage, kernel_slice, kernel_slice_mut};
use crate::backend::{cpu, cuda};
use crate::dtype::{Element, Num};
use crate::error::{Error, Result};
use kernels_gpu::ops::gather::{ADD, Axis, WRAP};
use std::sync::Arc;

/// The dtypes an index array may have: `i64` (PyTorch's `LongTensor`) and `i32` (cast to
/// `i64` first, one pass over the indices).
pub trait IndexType: Element {
    #[doc(hidden)]
    fn as_i64(a: &Array<Self>) -> Result<Array<i64>>;
}

impl IndexType for i64 {
    fn as_i64(a: &Array<i64>) -> Result<Array<i64>> {
        Ok(a.clone())
    }
}

impl IndexType for i32 {
    fn as_i64(a: &Array<i32>) -> Result<Array<i64>> {
        a.cast()
    }
}

fn axis_params(n: usize, step: isize, index_len: usize, index_step: isize, flags: u32) -> Axis {
    Axis {
        len: n as u64,
        step: step as i64,
        index_len: index_len as u64,
        index_step: index_step as i64,
        flags,
        _pad: 0,
    }
}

/// `x`'s layout over `shape` with step 0 along `ax` (and that step).
fn without_axis(l: &Layout, shape: &[usize], ax: usize) -> (Layout, isize) {
    let mut s = l.strides().to_vec();
    let step = std::mem::replace(&mut s[ax], 0);
    (Layout::new(shape.to_vec(), s, l.offset()), step)
}

/// `out[p] = x[p with axis coordinate idx[il(p)]]` over `shape`.
fn gather_core<T: Element>(
    op: &'static str,
    x: &Array<T>,
    ax: usize,
    idx: &Array<i64>,
    il: Layout,
    shape: &[usize],
    wrap: bool,
) -> Result<Array<T>> {
    same_device(op, x, idx)?;
    let n = x.shape()[ax];
    let (xl, step) = without_axis(x.layout(), shape, ax);
    let (mut out, layout) = output::<T>(shape, &x.device())?;
    if layout.is_empty() && !idx.is_empty() {
        // No output element to check an index (another axis is empty): as NumPy, check them
        // all here; they are `idx.len()` values, not read by any kernel.
        let bad =
            idx.to_vec()?.into_iter().find(|&v| !(if wrap { -(n as i64)..n as i64 } else { 0..n as i64 }).contains(&v));
        return match bad {
            Some(index) => Err(Error::IndexOutOfRange { op, index, axis: ax, size: n }),
            None => Ok(Array::from_parts(Arc::new(out), layout)),
        };
    }
    let w = walk(&layout, &[&xl, &il]);
    let bad = match (x.storage(), idx.storage(), &mut out) {
        (Storage::Cpu(xd), Storage::Cpu(id), Storage::Cpu(yd)) => {
            let y = yd.as_mut_slice::<T>().expect("the output's dtype");
            cpu::gather::gather(xd.typed::<T>(), id.typed::<i64>(), y, &w, step, n, wrap).err()
        }
        (Storage::Cuda(xd), Storage::Cuda(id), Storage::Cuda(yd)) => {
            let axis = axis_params(n, step, 0, 0, if wrap { WRAP } else { 0 });
            cuda::gather::gather(&xd.view(), &id.view(), yd, &w, axis)?
        }
        _ => unreachable!("operands checked to share a device"),
    };
    match bad {
        Some(index) => Err(Error::IndexOutOfRange { op, index, axis: ax, size: n }),
        None => Ok(Array::from_parts(Arc::new(out), layout)),
    }
}

impl<T: Element> Array<T> {
    /// The elements at `index` (1-D, or 0-d for one) along `axis` (PyTorch's `index_select`;
    /// the result has `index.len()` elements along `axis`). Indices must lie in
    /// `0..self.shape()[axis]`.
    pub fn index_select<I: IndexType>(&self, axis: isize, index: &Array<I>) -> Result<Array<T>> {
        let op = "index_select";
        let ax = normalize_axis(op, axis, self.ndim(), self.shape())?;
        if index.ndim() > 1 {
            return Err(Error::bad_shape(op, index.shape(), "the index must be 1-D"));
        }
        same_device(op, self, index)?;
        self.select_along(op, ax, &I::as_i64(index)?, false)
    }

    /// `self` along `ax` at the 1-D (or 0-d) `idx`.
    fn select_along(&self, op: &'static str, ax: usize, idx: &Array<i64>, wrap: bool) -> Result<Array<T>> {
        let mut shape = self.shape().to_vec();
        shape[ax] = idx.len();
        crate::alloc::volume(op, &shape)?;
        let mut strides = vec![0isize; shape.len()];
        strides[ax] = idx.strides().first().copied().unwrap_or(0);
        let il = Layout::new(shape.clone(), strides, idx.layout().offset());
        gather_core(op, self, ax, idx, il, &shape, wrap)
    }

    /// NumPy's `take`: the elements at `indices` (any shape) along `axis`, or of the flattened
    /// array for `None`; the result's shape is `shape[..axis] + indices.shape + shape[axis+1..]`.
    /// Negative indices count from the end (`-n..n` is valid).
    pub fn take<I: IndexType>(&self, indices: &Array<I>, axis: Option<isize>) -> Result<Array<T>> {
        let op = "take";
        let Some(axis) = axis else { return self.flatten()?.take(indices, Some(0)) };
        let ax = normalize_axis(op, axis, self.ndim(), self.shape())?;
        same_device(op, self, indices)?;
        let flat = I::as_i64(indices)?.flatten()?;
        let picked = self.select_along(op, ax, &flat, true)?;
        let mut shape = self.shape()[..ax].to_vec();
        shape.extend_from_slice(indices.shape());
        shape.extend_from_slice(&self.shape()[ax + 1..]);
        picked.reshape(&shape)
    }

    /// PyTorch's `gather`: `out[i][j][k] = self[index[i][j][k]][j][k]` for `axis` 0 (and so on),
    /// the result of `index`'s shape. `index` has as many dimensions as `self`, no longer than
    /// it along the other axes; indices must lie in `0..self.shape()[axis]`.
    pub fn gather<I: IndexType>(&self, axis: isize, index: &Array<I>) -> Result<Array<T>> {
        let op = "gather";
        let ax = normalize_axis(op, axis, self.ndim(), self.shape())?;
        same_device(op, self, index)?;
        fits(op, index.shape(), self.shape(), Some(ax), "the array")?;
        let idx = I::as_i64(index)?;
        gather_core(op, self, ax, &idx, idx.layout().clone(), index.shape(), false)
    }

    /// PyTorch's `scatter` (out of place): a copy of `self` with
    /// `out[index[i][j][k]][j][k] = src[i][j][k]` for `axis` 0 (and so on), over `index`'s
    /// shape; of repeated indices the last (in row-major order) wins, on every device.
    /// `index` has as many dimensions as `self` and `src`, no longer than `src` along any axis
    /// nor than `self` along the others; indices must lie in `0..self.shape()[axis]`.
    pub fn scatter<I: IndexType>(&self, axis: isize, index: &Array<I>, src: &Array<T>) -> Result<Array<T>> {
        self.scatter_core("scatter", axis, index, src, false)
    }

    fn scatter_core<I: IndexType>(
        &self,
        op: &'static str,
        axis: isize,
        index: &Array<I>,
        src: &Array<T>,
        add: bool,
    ) -> Result<Array<T>> {
        let ax = normalize_axis(op, axis, self.ndim(), self.shape())?;
        same_device(op, self, index)?;
        same_device(op, self, src)?;
        fits(op, index.shape(), src.shape(), None, "the source")?;
        fits(op, index.shape(), self.shape(), Some(ax), "the array")?;
        let idx = I::as_i64(index)?;
        let mut out = self.copy()?;
        if idx.is_empty() {
            return Ok(out);
        }
        let (n, m) = (self.shape()[ax], idx.shape()[ax]);
        let ishape = idx.shape().to_vec();
        let y_strides = out.strides().to_vec();
        let (storage, _) = out.parts_mut()?;
        let bad = match (src.storage(), idx.storage(), storage) {
            (Storage::Cpu(sd), Storage::Cpu(id), Storage::Cpu(yd)) => {
                // Every operand over the index's shape, the output without its axis.
                let sl = Layout::new(ishape.clone(), src.strides().to_vec(), src.layout().offset());
                let (yl, y_step) = without_axis(&Layout::new(ishape.clone(), y_strides, 0), &ishape, ax);
                let w = Walk::new(&[idx.layout(), &sl, &yl]);
                let (s, y) = (kernel_slice(sd.typed::<T>()), kernel_slice_mut(yd.as_mut_slice::<T>().expect("dtype")));
                cpu::gather::scatter(s, id.typed::<i64>(), y, &w, y_step, n, add).err()
            }
            (Storage::Cuda(sd), Storage::Cuda(id), Storage::Cuda(yd)) => {
                if n == 0 {
                    // No position to own the check: every index is out of range.
                    return Err(Error::IndexOutOfRange { op, index: idx.flatten()?.to_vec()?[0], axis: ax, size: 0 });
                }
                // Over the positions `q` (the index's shape, the axis `n` long).
                let mut q = ishape.clone();
                q[ax] = n;
                let yl = Layout::new(q.clone(), y_strides, 0);
                let (sl, s_step) = without_axis(src.layout(), &q, ax);
                let (il, i_step) = without_axis(idx.layout(), &q, ax);
                let mut unit = vec![0isize; q.len()];
                unit[ax] = 1;
                let coord = Layout::new(q.clone(), unit, 0);
                let w = Walk::new(&[&yl, &sl, &il, &coord]);
                let axis = axis_params(n, s_step, m, i_step, if add { ADD } else { 0 });
                cuda::gather::scatter(&sd.view(), &id.view(), yd, &w, axis)?
            }
            _ => unreachable!("operands checked to share a device"),
        };
        match bad {
            Some(index) => Err(Error::IndexOutOfRange { op, index, axis: ax, size: n }),
            None => Ok(out),
        }
    }
}

impl<T: Num> Array<T> {
    /// PyTorch's `scatter_add` (out of place): as [`Array::scatter`], but each `src` value is
    /// added to its output element. Deterministic on every device: an element's terms are added
    /// in index order to its value, in the compute type (f32 for 16-bit floats), and rounded
    /// once, so the CPU and CUDA agree bit for bit (PyTorch's CUDA kernel adds with atomics,
    /// in an order that varies from run to run).
    pub fn scatter_add<I: IndexType>(&self, axis: isize, index: &Array<I>, src: &Array<T>) -> Result<Array<T>> {
        self.scatter_core("scatter_add", axis, index, src, true)
    }
}

impl<I: IndexType> Array<I> {
    /// One-hot rows (PyTorch's `one_hot`, Keras's `to_categorical`): a result of shape
    /// `self.shape() + [classes]` holding 1 at each label's class and 0 elsewhere, in the dtype
    /// asked for. Labels must lie in `0..classes`.
    pub fn one_hot<T: Element>(&self, classes: usize) -> Result<Array<T>> {
        let op = "one_hot";
        let mut shape = self.shape().to_vec();
        shape.push(classes);
        crate::alloc::volume(op, &shape)?;
        let zeros = Array::<T>::full_on(&shape, T::from_f64(0.0), &self.device())?;
        let index = self.unsqueeze(-1)?;
        let ones = Array::<T>::full_on(&vec![1; shape.len()], T::from_f64(1.0), &self.device())?;
        zeros.scatter_core(op, -1, &index, &ones.broadcast_to(index.shape())?, false)
    }
}

/// `index` must have `within`'s number of dimensions and be no longer along any axis but
/// `except`.
fn fits(op: &'static str, index: &[usize], within: &[usize], except: Option<usize>, what: &str) -> Result<()> {
    if index.len() != within.len() {
        return Err(Error::shape_mismatch(
            op,
            index,
            within,
            format!("the index has {} dimensions, {what} {}", index.len(), within.len()),
        ));
    }
    match (0..index.len()).find(|&d| Some(d) != except && index[d] > within[d]) {
        Some(d) => Err(Error::shape_mismatch(
            op,
            index,
            within,
            format!("the index is longer than {what} along axis {d} ({} > {})", index[d], within[d]),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_holds_the_doc_tested_example() {
        let readme = include_str!("../../../../README.md");
        assert!(readme.contains(include_str!("readme_indexing.rs")), "README.md and readme_indexing.rs differ");
    }
}
