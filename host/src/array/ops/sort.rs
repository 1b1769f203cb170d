//! Sorting and search: `sort`, `argsort`, `topk`, `unique`, `searchsorted`, on every device
//! and dtype, in NumPy's order: NaN after `+inf` (all NaNs alike), `-0.0` equal to `0.0`, and
//! stable (equal elements keep their order, so `-0.0` and `0.0` stay as they came).
//!
//! Every op maps the values to `i64` keys in that order (`kernels_gpu::ops::sort`: one pass;
//! `topk` complements them for a descending order with NaN first, as PyTorch ranks NaN
//! largest), moves the axis last as contiguous rows, and argsorts the rows by `(key, index)`:
//! on CUDA a bitonic network for a row of at most 2048 (one shared-memory launch) and an LSD
//! radix sort of 8-bit digits for a longer one (`kernels_gpu::ops::radix`), on the CPU an LSD
//! radix sort of 11-bit digits for rows of 4096 or more (a comparison sort below); both skip
//! the digits every key shares. The values
//! follow by `gather`; `unique`
//! compares neighbouring sorted keys and compacts (`masked_select`, `nonzero`).

use super::join::concatenate;
use super::same_device;
use crate::array::Array;
use crate::array::layout::{Layout, normalize_axis};
use crate::array::storage::{CpuData, CudaData, Storage, kernel_slice, with_cpu};
use crate::backend::{cpu, cuda, with_kernel_type};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use kernels_gpu::ops::sort::DESCENDING;
use std::sync::Arc;

/// Which insertion point [`Array::searchsorted`] returns among equal elements (NumPy's
/// `side`): before them (`Left`, the first `i` with `a[i] >= v`) or after them (`Right`, the
/// first `i` with `a[i] > v`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Side {
    #[default]
    Left,
    Right,
}

/// The sort keys of `x` (any layout), as a contiguous `i64` array of its shape.
fn keys_of<T: Element>(x: &Array<T>, flags: u32) -> Result<Array<i64>> {
    let x = x.contiguous()?;
    let (off, n) = (x.layout().offset(), x.len());
    let storage = match x.storage() {
        Storage::Cpu(d) => {
            let keys = with_cpu!(d, |v: U| cpu::sort::keys(&kernel_slice::<U>(v)[off..off + n], flags));
            Storage::Cpu(CpuData::from_vec(keys))
        }
        Storage::Cuda(c) => {
            let view = c.view();
            let buf = with_kernel_type!(c.dtype, |K| cuda::sort::keys::<K>(&view, off, n, flags)?);
            Storage::Cuda(CudaData { buf, dtype: DType::I64, len: n })
        }
    };
    Ok(Array::from_parts(Arc::new(storage), Layout::contiguous(x.shape())))
}

/// The stable argsort of the rows (last axis) of fresh contiguous keys.
fn argsort_rows(keys: &Array<i64>) -> Result<Array<i64>> {
    let n = keys.shape().last().copied().unwrap_or(1);
    let rows = keys.len().checked_div(n).unwrap_or(0);
    let storage = match keys.storage() {
        Storage::Cpu(d) => Storage::Cpu(CpuData::from_vec(cpu::sort::argsort_rows(&d.typed::<i64>()[..keys.len()], n)?)),
        Storage::Cuda(c) => {
            let buf = cuda::sort::argsort_rows(&c.view(), rows, n)?;
            Storage::Cuda(CudaData { buf, dtype: DType::I64, len: keys.len() })
        }
    };
    Ok(Array::from_parts(Arc::new(storage), Layout::contiguous(keys.shape())))
}

impl<T: Element> Array<T> {
    /// `self` with axis `ax` moved last, contiguous, and the permutation that moves it back.
    fn axis_last(&self, ax: usize) -> Result<(Array<T>, Vec<isize>)> {
        let nd = self.ndim();
        let mut perm: Vec<isize> = (0..nd as isize).filter(|&d| d != ax as isize).collect();
        perm.push(ax as isize);
        let mut back = vec![0isize; nd];
        for (i, &p) in perm.iter().enumerate() {
            back[p as usize] = i as isize;
        }
        Ok((self.permute(&perm)?.contiguous()?, back))
    }

    /// The indices that sort `self` along `flags`' order, axis last; and `self` so moved.
    fn argsort_along(&self, op: &'static str, axis: isize, flags: u32) -> Result<(Array<T>, Array<i64>, Vec<isize>)> {
        let ax = normalize_axis(op, axis, self.ndim(), self.shape())?;
        let (x, back) = self.axis_last(ax)?;
        let idx = argsort_rows(&keys_of(&x, flags)?)?;
        Ok((x, idx, back))
    }

    /// The elements sorted along `axis` (NumPy's `np.sort(x, axis, kind='stable')`; `None`
    /// sorts the flattened array, as NumPy's `axis=None`): NaN last, `-0.0` and `0.0` equal and
    /// in their original order.
    pub fn sort(&self, axis: Option<isize>) -> Result<Array<T>> {
        let Some(axis) = axis else { return self.flatten()?.sort(Some(0)) };
        let (x, idx, back) = self.argsort_along("sort", axis, 0)?;
        x.gather(-1, &idx)?.permute(&back)
    }

    /// The `i64` indices that sort `self` along `axis` (NumPy's `argsort(kind='stable')`;
    /// `None`: indices into the flattened array): equal elements keep their order, NaN sorts
    /// last.
    pub fn argsort(&self, axis: Option<isize>) -> Result<Array<i64>> {
        let Some(axis) = axis else { return self.flatten()?.argsort(Some(0)) };
        let (_, idx, back) = self.argsort_along("argsort", axis, 0)?;
        idx.permute(&back)
    }

    /// The `k` largest elements along `axis` and their `i64` indices (PyTorch's
    /// `topk(k, axis, largest=True, sorted=True)`): sorted descending, NaN ranked largest, ties
    /// in index order. `k` may be at most the axis's length ([`Error::TopK`] otherwise).
    pub fn topk(&self, k: usize, axis: isize) -> Result<(Array<T>, Array<i64>)> {
        let op = "topk";
        let ax = normalize_axis(op, axis, self.ndim(), self.shape())?;
        let size = self.shape()[ax];
        if k > size {
            return Err(Error::TopK { op, k, axis: ax, size });
        }
        let (x, idx, back) = self.argsort_along(op, ax as isize, DESCENDING)?;
        let idx = idx.slice_axis(-1, Some(0), Some(k as isize), 1)?.contiguous()?;
        Ok((x.gather(-1, &idx)?.permute(&back)?, idx.permute(&back)?))
    }

    /// The distinct elements of the flattened array, sorted, and how often each occurs
    /// (NumPy's `np.unique(x, return_counts=True)`: every NaN counts as one value, placed
    /// last; `-0.0` and `0.0` are one value, the first in the array's order returned).
    pub fn unique(&self) -> Result<(Array<T>, Array<i64>)> {
        let flat = self.flatten()?;
        let (n, dev) = (flat.len(), self.device());
        if n == 0 {
            return Ok((flat, Array::from_vec_on(Vec::new(), &[0], &dev)?));
        }
        let keys = keys_of(&flat, 0)?;
        let idx = argsort_rows(&keys)?;
        let (sk, sv) = (keys.gather(0, &idx)?, flat.gather(0, &idx)?);
        let step = sk.slice_axis(0, Some(1), None, 1)?.ne(&sk.slice_axis(0, Some(0), Some(n as isize - 1), 1)?)?;
        let mask = concatenate(&[&Array::full_on(&[1], true, &dev)?, &step], 0)?;
        let starts = mask.nonzero()?.flatten()?;
        let ends = concatenate(&[&starts.slice_axis(0, Some(1), None, 1)?, &Array::full_on(&[1], n as i64, &dev)?], 0)?;
        Ok((sv.masked_select(&mask)?, ends.sub(&starts)?))
    }

    /// Where `values` (any shape) would be inserted into `self`, a sorted 1-D array, to keep
    /// it sorted (NumPy's `searchsorted`): an `i64` array of `values`' shape. `self` must be
    /// sorted in [`Array::sort`]'s order (NaN last), else the result is unspecified.
    pub fn searchsorted(&self, values: &Array<T>, side: Side) -> Result<Array<i64>> {
        let op = "searchsorted";
        if self.ndim() != 1 {
            return Err(Error::bad_shape(op, self.shape(), "the sorted array must be 1-D"));
        }
        same_device(op, self, values)?;
        let (a, v) = (keys_of(self, 0)?, keys_of(values, 0)?);
        let right = side == Side::Right;
        let out = match (a.storage(), v.storage()) {
            (Storage::Cpu(ad), Storage::Cpu(vd)) => {
                Storage::Cpu(CpuData::from_vec(cpu::sort::searchsorted(ad.typed::<i64>(), vd.typed::<i64>(), right)))
            }
            (Storage::Cuda(ad), Storage::Cuda(vd)) => {
                let buf = cuda::sort::searchsorted(&ad.view(), &vd.view(), right)?;
                Storage::Cuda(CudaData { buf, dtype: DType::I64, len: v.len() })
            }
            _ => unreachable!("operands checked to share a device"),
        };
        Ok(Array::from_parts(Arc::new(out), Layout::contiguous(values.shape())))
    }
}
