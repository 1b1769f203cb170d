//! Prefix sums on CUDA: the launch of `kernels_gpu::ops::scan` over contiguous rows.

use super::DeviceBuffer;
use crate::array::storage::CudaRef;
use crate::error::Result;
use kernels_gpu::ops::reduce::Reducible;
use kernels_gpu::ops::scan;

/// Row-wise inclusive prefix sums of `rows × n` contiguous elements of `x` from element
/// `offset`, into a new buffer of the sum dtype (`K::Sum`: converted once, at the store).
pub(crate) fn cumsum<K: Reducible>(x: &CudaRef, offset: usize, rows: usize, n: usize) -> Result<DeviceBuffer<u8>> {
    let dev = x.device().clone();
    let mut out = dev.alloc::<u8>(rows * n * size_of::<K::Sum>())?;
    if rows * n == 0 {
        return Ok(out);
    }
    let cfg = scan::config::<K::Acc>(rows as u64, dev.grid_stride_blocks());
    let args = (x.ptr_at::<K>(0), offset as u64, rows as u64, n as u64, out.ptr_mut::<K::Sum>());
    // SAFETY: `x` holds `offset + rows·n` elements (the caller's contiguous view) and `out`
    // `rows·n` sums.
    unsafe { dev.launch(&scan::kernel::<K>(), cfg, args)? };
    Ok(out)
}
