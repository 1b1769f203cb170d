//! Reductions on CUDA: the choice between the kernels' mappings (`kernels_gpu::ops::reduce`)
//! and their launches. Reduced elements contiguous (rows): a warp or block per output. A kept
//! dimension contiguous (columns): a thread per output, the reduction split into chunks when
//! there are too few outputs to fill the GPU, then a pass over the chunks' partial results.

use super::DeviceBuffer;
use super::elementwise::kernel_layout;
use crate::array::layout::{Layout, Walk};
use crate::array::storage::CudaRef;
use crate::error::Result;
use kernels_gpu::ops::reduce::{self, Reduce, Reducible};
use kernels_gpu::prelude::Num;

/// Threads a reduction should put to work to fill a large GPU (132 SMs × 2048).
const TARGET_THREADS: u64 = 132 * 2048;

/// The results of a reduction on the device: values in the accumulator type, indices for arg
/// ops.
pub(crate) struct Reduced {
    pub values: DeviceBuffer<u8>,
    pub indices: Option<DeviceBuffer<u8>>,
}

/// The reduction of `x` over `red` for every index of `keep` (both layouts over `x`'s
/// storage: `keep` with the array's offset, `red` from 0), into new buffers.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reduce<K: Reducible>(
    op: Reduce,
    x: &CudaRef,
    keep: &Layout,
    red: &Layout,
    center: Option<&DeviceBuffer<u8>>,
    scale: K::Acc,
    post: u32,
) -> Result<Reduced> {
    let dev = x.device().clone();
    let ks = reduce::kernels::<K>();
    let (n_out, n_red) = (keep.len() as u64, red.len() as u64);
    let acc_size = size_of::<K::Acc>();
    let mut values = dev.alloc::<u8>(n_out as usize * acc_size)?;
    let mut indices = if op.is_arg() { Some(dev.alloc::<u8>(n_out as usize * 8)?) } else { None };
    if n_out == 0 {
        return Ok(Reduced { values, indices });
    }
    let (keep_shape, keep_s) = kernel_layout(op.name(), &Walk::new(&[keep]))?;
    let (red_shape, red_s) = kernel_layout(op.name(), &Walk::new(&[red]))?;
    let center_ptr = center.map_or(std::ptr::null(), |c| c.ptr::<K::Acc>());
    let idx_ptr = |b: &mut Option<DeviceBuffer<u8>>| b.as_mut().map_or(std::ptr::null_mut(), |b| b.ptr_mut::<i64>());
    let scale_bits = scale.to_bits64();
    let code = op as u32;
    let xp = x.ptr_at::<K>(0);
    let xl = x.len as u64;
    let red_unit = red.strides().last().is_none_or(|&s| s == 1) || n_red <= 1;
    let keep_unit = keep.strides().last().is_some_and(|&s| s == 1);
    if red_unit || !keep_unit {
        let (cfg, per_out) = reduce::inner_config(n_out, n_red, dev.grid_stride_blocks());
        let args = (
            code,
            xp,
            xl,
            keep_shape,
            keep_s[0],
            red_shape,
            red_s[0],
            center_ptr,
            values.ptr_mut::<K::Acc>(),
            idx_ptr(&mut indices),
            scale_bits,
            post,
            per_out,
        );
        // SAFETY: the layouts reach only elements of `x`; the outputs hold `n_out` each.
        unsafe { dev.launch(&ks.inner, cfg, args)? };
        return Ok(Reduced { values, indices });
    }
    let (cfg, chunk) = reduce::outer_config(n_out, n_red, TARGET_THREADS, dev.grid_stride_blocks());
    let chunks = cfg.grid.y as usize;
    if chunks == 1 {
        let args = (
            code,
            xp,
            xl,
            keep_shape,
            keep_s[0],
            red_shape,
            red_s[0],
            center_ptr,
            values.ptr_mut::<K::Acc>(),
            idx_ptr(&mut indices),
            scale_bits,
            post,
            chunk,
        );
        // SAFETY: as above.
        unsafe { dev.launch(&ks.outer, cfg, args)? };
        return Ok(Reduced { values, indices });
    }
    let mut part = dev.alloc::<u8>(chunks * n_out as usize * acc_size)?;
    let mut part_idx = if op.is_arg() { Some(dev.alloc::<u8>(chunks * n_out as usize * 8)?) } else { None };
    let args = (
        code,
        xp,
        xl,
        keep_shape,
        keep_s[0],
        red_shape,
        red_s[0],
        center_ptr,
        part.ptr_mut::<K::Acc>(),
        idx_ptr(&mut part_idx),
        scale_bits,
        post,
        chunk,
    );
    // SAFETY: the partial buffers hold `chunks · n_out` results.
    unsafe { dev.launch(&ks.outer, cfg, args)? };
    let cfg = reduce::partials_config(n_out, dev.grid_stride_blocks());
    let args = (
        code,
        part.ptr::<K::Acc>(),
        part_idx.as_ref().map_or(std::ptr::null(), |b| b.ptr::<i64>()),
        chunks as u32,
        n_out,
        center_ptr,
        values.ptr_mut::<K::Acc>(),
        idx_ptr(&mut indices),
        scale_bits,
        post,
    );
    // SAFETY: as above.
    unsafe { dev.launch(&ks.partials, cfg, args)? };
    Ok(Reduced { values, indices })
}
