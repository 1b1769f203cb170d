//! Reductions on CUDA: the choice between the kernels' mappings (`kernels_gpu::ops::reduce`)
//! and their launches. Reduced elements contiguous (rows): a warp or block per output. A kept
//! dimension contiguous (columns): a thread per output. Either way the reduction is split into
//! chunks when there are too few outputs to fill the GPU (for rows: when they are long), then
//! a pass over the chunks' partial results writes the results. The final launch writes the
//! accumulator type or, for f16 and bf16 results, the 16-bit dtype itself (one rounding, no
//! second cast launch).

use super::DeviceBuffer;
use super::elementwise::kernel_layout;
use crate::array::layout::{Layout, Walk};
use crate::array::storage::CudaRef;
use crate::error::Result;
use kernels_gpu::ops::reduce::{self, Reduce, Reducible};
use kernels_gpu::prelude::Num;

/// Threads a reduction should put to work to fill a large GPU (132 SMs × 2048).
const TARGET_THREADS: u64 = 132 * 2048;

/// The results of a reduction on the device: values in the accumulator type or, when asked
/// for and the dtype has such entries (the 16-bit floats, the narrower integers and bool), in
/// the input's own dtype; indices for arg ops.
pub(crate) struct Reduced {
    pub values: DeviceBuffer<u8>,
    pub own: bool,
    pub indices: Option<DeviceBuffer<u8>>,
}

/// The final launch's kernels: writing the accumulator, or the input's own dtype.
enum Finals<K: Reducible> {
    Acc(reduce::ReduceKernels<K>),
    Own(reduce::OwnKernels<K>),
}

/// The reduction of `x` over `red` for every index of `keep` (both layouts over `x`'s
/// storage: `keep` with the array's offset, `red` from 0), into new buffers. `own` asks for
/// the values in `K` itself (converted once, at the final store) where `K` has such entries.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reduce<K: Reducible>(
    op: Reduce,
    x: &CudaRef,
    keep: &Layout,
    red: &Layout,
    center: Option<&DeviceBuffer<u8>>,
    scale: K::Acc,
    post: u32,
    own: bool,
) -> Result<Reduced> {
    let dev = x.device().clone();
    let ks = reduce::kernels::<K>();
    let finals = match ks.own {
        Some(o) if own => Finals::Own(o),
        _ => Finals::Acc(ks),
    };
    let own = matches!(finals, Finals::Own(_));
    let (n_out, n_red) = (keep.len() as u64, red.len() as u64);
    let acc_size = size_of::<K::Acc>();
    let out_size = if own { size_of::<K>() } else { acc_size };
    let mut values = dev.alloc::<u8>(n_out as usize * out_size)?;
    let mut indices = if op.is_arg() { Some(dev.alloc::<u8>(n_out as usize * 8)?) } else { None };
    if n_out == 0 {
        return Ok(Reduced { values, own, indices });
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
    // The final launch's arguments with output `out`, the last one `per_out` or `chunk`.
    macro_rules! args {
        ($out:expr, $idx:expr, $last:expr) => {
            (code, xp, xl, keep_shape, keep_s[0], red_shape, red_s[0], center_ptr, $out, $idx, scale_bits, post, $last)
        };
    }
    let inner = red_unit || !keep_unit;
    let (cfg, last) = if inner {
        reduce::inner_config(n_out, n_red, TARGET_THREADS, dev.grid_stride_blocks())
    } else {
        reduce::outer_config(n_out, n_red, TARGET_THREADS, dev.grid_stride_blocks())
    };
    let chunks = cfg.grid.y as usize;
    if chunks == 1 {
        // SAFETY (every launch below): the layouts reach only elements of `x`; the outputs
        // hold `n_out` results of the kernel's output type each.
        unsafe {
            match (&finals, inner) {
                (Finals::Acc(k), true) => {
                    dev.launch(&k.inner, cfg, args!(values.ptr_mut(), idx_ptr(&mut indices), last))?
                }
                (Finals::Acc(k), false) => {
                    dev.launch(&k.outer, cfg, args!(values.ptr_mut(), idx_ptr(&mut indices), last))?
                }
                (Finals::Own(k), true) => {
                    dev.launch(&k.inner, cfg, args!(values.ptr_mut(), idx_ptr(&mut indices), last))?
                }
                (Finals::Own(k), false) => {
                    dev.launch(&k.outer, cfg, args!(values.ptr_mut(), idx_ptr(&mut indices), last))?
                }
            }
        }
        return Ok(Reduced { values, own, indices });
    }
    // Chunks: partial results in the accumulator type (whatever the entry's output type), then
    // one pass over them that stores the final type.
    let mut part = dev.alloc::<u8>(chunks * n_out as usize * acc_size)?;
    let mut part_idx = if op.is_arg() { Some(dev.alloc::<u8>(chunks * n_out as usize * 8)?) } else { None };
    let pidx = idx_ptr(&mut part_idx);
    // SAFETY: the partial buffers hold `chunks · n_out` accumulators and indices.
    unsafe {
        match (&finals, inner) {
            (Finals::Acc(k), true) => dev.launch(&k.inner, cfg, args!(part.ptr_mut(), pidx, last))?,
            (Finals::Acc(k), false) => dev.launch(&k.outer, cfg, args!(part.ptr_mut(), pidx, last))?,
            (Finals::Own(k), true) => dev.launch(&k.inner, cfg, args!(part.ptr_mut(), pidx, last))?,
            (Finals::Own(k), false) => dev.launch(&k.outer, cfg, args!(part.ptr_mut(), pidx, last))?,
        }
    }
    let cfg = reduce::partials_config(n_out, dev.grid_stride_blocks());
    let pi = part_idx.as_ref().map_or(std::ptr::null(), |b| b.ptr::<i64>());
    let pp = part.ptr::<K::Acc>();
    let chunks = chunks as u32;
    // SAFETY: as above; `values` holds `n_out` results of the entry's output type.
    unsafe {
        match &finals {
            Finals::Acc(k) => dev.launch(
                &k.partials,
                cfg,
                (code, pp, pi, chunks, n_out, center_ptr, values.ptr_mut(), idx_ptr(&mut indices), scale_bits, post),
            )?,
            Finals::Own(k) => dev.launch(
                &k.partials,
                cfg,
                (code, pp, pi, chunks, n_out, center_ptr, values.ptr_mut(), idx_ptr(&mut indices), scale_bits, post),
            )?,
        }
    }
    Ok(Reduced { values, own, indices })
}
