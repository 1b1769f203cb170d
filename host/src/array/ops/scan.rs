//! `cumsum`: inclusive prefix sums along an axis (NumPy's `cumsum`), in the result dtype of
//! `sum` (the same for floats, i64 for integers and bools), accumulating as the reductions do
//! (f32 for 16-bit floats, rounded once at the end). The axis is moved last and the rows made
//! contiguous (a copy only if they are not), scanned by `kernels_gpu::ops::scan` (or its CPU
//! twin in the same order), and the result is a view with the axis back in place.

use super::reduce::{Summable, finish};
use crate::array::Array;
use crate::array::layout::normalize_axis;
use crate::array::storage::{CpuData, CudaData, Storage};
use crate::backend::{cpu, cuda, with_kernel_type};
use crate::dtype::Element;
use crate::error::Result;

impl<T: Summable> Array<T> {
    /// The running sums along `axis` (`None`: of the flattened array, as NumPy's default).
    pub fn cumsum(&self, axis: Option<isize>) -> Result<Array<T::Sum>> {
        let Some(axis) = axis else { return self.flatten()?.cumsum(Some(0)) };
        let nd = self.ndim();
        let ax = normalize_axis("cumsum", axis, nd, self.shape())?;
        // The axis last; `back` undoes the move.
        let mut perm: Vec<isize> = (0..nd as isize).filter(|&d| d != ax as isize).collect();
        perm.push(ax as isize);
        let mut back = vec![0isize; nd];
        for (i, &p) in perm.iter().enumerate() {
            back[p as usize] = i as isize;
        }
        let x = self.permute(&perm)?.contiguous()?;
        let n = self.shape()[ax];
        let rows = x.len().checked_div(n).unwrap_or(0);
        let offset = x.layout().offset();
        let values = match x.storage() {
            Storage::Cpu(d) => {
                macro_rules! go {
                    ($v:expr, $wrap:ident) => {
                        Storage::Cpu(CpuData::$wrap(cpu::scan::cumsum(
                            &crate::array::storage::kernel_slice($v)[offset..offset + x.len()],
                            n,
                        )?))
                    };
                }
                match d {
                    CpuData::F32(v) => go!(v, F32),
                    CpuData::F64(v) => go!(v, F64),
                    CpuData::F16(v) => go!(v, F32),
                    CpuData::BF16(v) => go!(v, F32),
                    CpuData::I32(v) => go!(v, I64),
                    CpuData::I64(v) => go!(v, I64),
                    CpuData::U8(v) => go!(v, I64),
                    CpuData::U32(v) => go!(v, I64),
                    CpuData::Bool(v) => go!(v, I64),
                }
            }
            Storage::Cuda(c) => {
                let view = c.view();
                // The kernel stores the sum dtype itself (16-bit floats rounded once there).
                let buf = with_kernel_type!(c.dtype, |K| cuda::scan::cumsum::<K>(&view, offset, rows, n)?);
                Storage::Cuda(CudaData { buf, dtype: T::Sum::DTYPE, len: x.len() })
            }
        };
        finish::<T::Sum>(values, x.shape())?.permute(&back)
    }
}
