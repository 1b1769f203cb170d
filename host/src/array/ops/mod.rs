//! Array operations, one file per family; each checks its operands (shapes, devices,
//! dtypes: an `Err` naming the op and the values), allocates the result on the operands'
//! device, and hands the storages and their [`Walk`] to the CPU or CUDA backend, which run the
//! same formulas (`kernels_gpu::ops`).
//!
//! - `unary.rs`: `neg`, `abs`, `sqrt`, `exp`, `tanh`, `gelu`, `clip`, ... (made from the
//!   kernels' op list, one method per op);
//! - `binary.rs`: `add`, `sub`, `mul`, `div`, `rem`, `pow`, `maximum`, `minimum`, `atan2` with
//!   broadcasting or a scalar, the operators `+ - * /` and the `*_assign` forms;
//! - `compare.rs`: `eq` ... `ge`, `logical_*`, `isnan`, `where_`, `any`, `all`;
//! - `reduce.rs`: `sum`, `mean`, `prod`, `max`, `min`, `argmax`, `argmin`, `var`, `std`,
//!   `logsumexp`, `norm` over any axes;
//! - `softmax.rs`: `softmax` and `log_softmax` over any axis;
//! - `matmul.rs`: `matmul` with NumPy's batch rules; `einsum.rs`: `dot`, `outer`, `einsum`;
//! - `join.rs`: `concatenate`, `stack`, `split`, `chunk`, `repeat`, `tile`, `pad`, `roll`;
//! - `index.rs`: `index_select`, `take`, `gather`, `scatter`, `scatter_add`, `one_hot`;
//! - `mask.rs`: `masked_select`, `masked_fill`, `nonzero`;
//! - `sort.rs`: `sort`, `argsort`, `topk`, `unique`, `searchsorted`;
//! - `functions.rs`: the free functions, NumPy's spelling.

mod binary;
mod compare;
mod einsum;
pub mod functions;
mod index;
mod join;
mod mask;
mod matmul;
mod reduce;
mod scan;
mod softmax;
mod sort;
mod unary;

use super::Array;
use super::layout::{Layout, Walk, broadcast_shapes};
use super::storage::{CpuData, CudaData, CudaRef, Storage};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};

pub use index::IndexType;
pub use reduce::{Axes, Summable};
pub use sort::Side;

/// Both operands on one device, or an error naming both.
pub(crate) fn same_device<A: Element, B: Element>(op: &'static str, a: &Array<A>, b: &Array<B>) -> Result<()> {
    let (da, db) = (a.device(), b.device());
    if da == db { Ok(()) } else { Err(Error::DeviceMismatch { op, lhs: da.to_string(), rhs: db.to_string() }) }
}

/// The broadcast shape of `a` and `b`, and both layouts broadcast to it.
pub(crate) fn broadcast<A: Element, B: Element>(
    op: &'static str,
    a: &Array<A>,
    b: &Array<B>,
) -> Result<(Vec<usize>, Layout, Layout)> {
    let shape = broadcast_shapes(op, a.shape(), b.shape())?;
    crate::alloc::volume(op, &shape)?;
    let (la, lb) = (a.layout.broadcast_to(op, &shape)?, b.layout.broadcast_to(op, &shape)?);
    Ok((shape, la, lb))
}

/// A fresh contiguous array of `shape` on `device` for an op's result.
pub(crate) fn output<T: Element>(shape: &[usize], device: &crate::Device) -> Result<(Storage, Layout)> {
    let n = crate::alloc::volume("allocate", shape)?;
    Ok((Storage::alloc(T::DTYPE, n, device)?, Layout::contiguous(shape)))
}

/// An op on a dtype it does not take, as an error.
pub(crate) fn dtype_error(op: &'static str, dtype: DType, hint: &'static str) -> Error {
    Error::DType { op, dtype, hint }
}

/// The compute type's bits of `v`, as the kernels take a scalar parameter.
pub(crate) fn compute_bits<T: Element>(v: T) -> u64 {
    use kernels_gpu::prelude::{Elem, Num};
    let k = super::storage::kernel_slice(std::slice::from_ref(&v))[0];
    k.load().to_bits64()
}

/// Runs `cpu` or `cuda` on the storages of the result and the operands, which share a device.
pub(crate) fn on_device(
    out: &mut Storage,
    inputs: &[&Storage],
    cpu: impl FnOnce(&mut CpuData, &[&CpuData]),
    cuda: impl FnOnce(&mut CudaData, &[CudaRef]) -> Result<()>,
) -> Result<()> {
    match out {
        Storage::Cpu(o) => {
            let ins: Vec<&CpuData> = inputs
                .iter()
                .map(|s| match s {
                    Storage::Cpu(d) => d,
                    Storage::Cuda(_) => unreachable!("operands checked to share a device"),
                })
                .collect();
            cpu(o, &ins);
            Ok(())
        }
        Storage::Cuda(o) => {
            let ins: Vec<CudaRef> = inputs
                .iter()
                .map(|s| match s {
                    Storage::Cuda(d) => d.view(),
                    Storage::Cpu(_) => unreachable!("operands checked to share a device"),
                })
                .collect();
            cuda(o, &ins)
        }
    }
}

/// `walk` over `out` and `inputs`' layouts (out first, as the backends expect).
pub(crate) fn walk(out: &Layout, inputs: &[&Layout]) -> Walk {
    let mut all = vec![out];
    all.extend_from_slice(inputs);
    Walk::new(&all)
}
