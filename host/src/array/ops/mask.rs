//! Boolean masks: `masked_select` (the elements where a broadcast mask is true, 1-D),
//! `masked_fill` (a copy with `value` where it is true; `where_` with a 0-d value) and
//! `nonzero` (the coordinates of the nonzero elements, `[count, ndim]` as PyTorch's).
//!
//! On CUDA the mask's inclusive prefix count (the `cumsum` kernel) places each selected
//! element, and its last value, read back (8 bytes), sizes the result: the result's length
//! depends on the data, so these ops synchronise, as in PyTorch. The CPU counts, then copies.

use super::{output, same_device};
use crate::array::Array;
use crate::array::layout::{Layout, Walk, broadcast_shapes};
use crate::array::storage::Storage;
use crate::backend::{cpu, cuda};
use crate::dtype::Element;
use crate::error::{Error, Result};
use kernels_gpu::ops::layout::MAX_RANK;
use std::sync::Arc;

/// The inclusive prefix count of `mask` (flattened, contiguous from offset 0) and its total.
fn prefix_count(mask: &Array<bool>) -> Result<(Array<i64>, usize)> {
    let scan = mask.cumsum(None)?;
    let scan = if scan.layout().offset() == 0 && scan.is_contiguous() { scan } else { scan.copy()? };
    let total = match scan.len() {
        0 => 0,
        n => scan.slice_axis(0, Some(n as isize - 1), None, 1)?.to_vec()?[0] as usize,
    };
    Ok((scan, total))
}

impl<T: Element> Array<T> {
    /// The elements where `mask` (broadcast with `self`, NumPy's rules) is true, in row-major
    /// order, as a 1-D array (PyTorch's `masked_select`, NumPy's `x[mask]`).
    pub fn masked_select(&self, mask: &Array<bool>) -> Result<Array<T>> {
        let op = "masked_select";
        same_device(op, self, mask)?;
        let shape = broadcast_shapes(op, self.shape(), mask.shape())?;
        crate::alloc::volume(op, &shape)?;
        let (lm, lx) = (mask.layout().broadcast_to(op, &shape)?, self.layout().broadcast_to(op, &shape)?);
        match (mask.storage(), self.storage()) {
            (Storage::Cpu(md), Storage::Cpu(xd)) => {
                let m = md.typed::<bool>();
                let count = cpu::gather::count(m, &Walk::new(&[&lm]));
                let (mut out, layout) = output::<T>(&[count], &self.device())?;
                let Storage::Cpu(yd) = &mut out else { unreachable!("on the CPU") };
                let y = yd.as_mut_slice::<T>().expect("the output's dtype");
                cpu::gather::masked_select(m, xd.typed::<T>(), &Walk::new(&[&lm, &lx]), y);
                Ok(Array::from_parts(Arc::new(out), layout))
            }
            (Storage::Cuda(_), Storage::Cuda(xd)) => {
                let (scan, count) = prefix_count(&mask.broadcast_to(&shape)?)?;
                let (mut out, layout) = output::<T>(&[count], &self.device())?;
                let Storage::Cuda(yd) = &mut out else { unreachable!("on CUDA") };
                let Storage::Cuda(sd) = scan.storage() else { unreachable!("on CUDA") };
                let w = Walk::new(&[&Layout::contiguous(&shape), &lx]);
                cuda::gather::compact(&sd.view(), &xd.view(), yd, &w)?;
                Ok(Array::from_parts(Arc::new(out), layout))
            }
            _ => unreachable!("operands checked to share a device"),
        }
    }

    /// A copy with `value` where `mask` is true (PyTorch's `masked_fill`): the mask broadcasts
    /// to `self`'s shape (and must not make it larger).
    pub fn masked_fill(&self, mask: &Array<bool>, value: T) -> Result<Array<T>> {
        let op = "masked_fill";
        same_device(op, self, mask)?;
        if broadcast_shapes(op, self.shape(), mask.shape())? != self.shape() {
            return Err(Error::shape_mismatch(
                op,
                self.shape(),
                mask.shape(),
                "the mask must broadcast to the array's shape",
            ));
        }
        let v = Array::full_on(&[], value, &self.device())?;
        super::compare::where_(mask, &v, self)
    }

    /// The coordinates of the nonzero (true) elements in row-major order, one row each: an
    /// `[count, ndim]` array (PyTorch's `nonzero`; NumPy's `argwhere`, the transpose of its
    /// `nonzero`). On CUDA at most 8 dimensions.
    pub fn nonzero(&self) -> Result<Array<i64>> {
        let op = "nonzero";
        let mask = self.nonzero_mask()?;
        let nd = self.ndim();
        match mask.storage() {
            Storage::Cpu(md) => {
                let o = mask.layout().offset();
                let m = &md.typed::<bool>()[o..o + mask.len()];
                let count = m.iter().filter(|&&b| b).count();
                let (mut out, layout) = output::<i64>(&[count, nd], &self.device())?;
                let Storage::Cpu(yd) = &mut out else { unreachable!("on the CPU") };
                cpu::gather::nonzero(m, self.shape(), yd.as_mut_slice::<i64>().expect("i64"));
                Ok(Array::from_parts(Arc::new(out), layout))
            }
            Storage::Cuda(_) => {
                if nd > MAX_RANK {
                    return Err(Error::bad_shape(
                        op,
                        self.shape(),
                        format!("CUDA takes at most {MAX_RANK} dimensions"),
                    ));
                }
                let (scan, count) = prefix_count(&mask)?;
                let (mut out, layout) = output::<i64>(&[count, nd], &self.device())?;
                let Storage::Cuda(yd) = &mut out else { unreachable!("on CUDA") };
                let Storage::Cuda(sd) = scan.storage() else { unreachable!("on CUDA") };
                cuda::gather::nonzero(&sd.view(), mask.len(), self.shape(), yd)?;
                Ok(Array::from_parts(Arc::new(out), layout))
            }
        }
    }
}
