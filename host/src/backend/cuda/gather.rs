//! Indexing on CUDA: the launches of `kernels_gpu::ops::gather` (gather by element size,
//! scatter by dtype, mask compaction by element size, `nonzero`), from [`Walk`]s the array ops
//! build. Gather and scatter report an out-of-range index through two device words (a flag and
//! the value) uploaded as zeros before the launch and read back after it; the caller turns a
//! flagged value into [`crate::Error::IndexOutOfRange`].

use super::CudaDevice;
use super::elementwise::kernel_layout;
use crate::array::layout::Walk;
use crate::array::storage::{CudaData, CudaRef};
use crate::backend::with_kernel_type;
use crate::error::Result;
use kernels_gpu::Kernel;
use kernels_gpu::ops::gather::{self, Axis, CompactArgs, GatherArgs};
use kernels_gpu::ops::layout::Shape;
use kernels_gpu::ops::map;
use kernels_gpu::prelude::Elem;

fn config(dev: &CudaDevice, shape: &Shape) -> kernels_gpu::LaunchConfig {
    map::config(shape, false, 1, dev.grid_stride_blocks())
}

/// Runs `launch` with a zeroed error pair; the index it flagged, if any.
fn flagged(dev: &CudaDevice, launch: impl FnOnce(*mut u64) -> Result<()>) -> Result<Option<i64>> {
    let mut err = dev.upload(&[0u64; 2])?;
    launch(err.ptr_mut::<u64>())?;
    let words = err.to_vec()?;
    Ok((words[0] != 0).then_some(words[1] as i64))
}

/// `y[w] = x[w + k·axis.step]`, `k = idx[w]` over the walk (operands `y`, `x` with step 0
/// along the axis, `idx`); the first bad index the kernel met, if any.
pub(crate) fn gather(x: &CudaRef, idx: &CudaRef, y: &mut CudaData, walk: &Walk, axis: Axis) -> Result<Option<i64>> {
    if walk.len() == 0 {
        return Ok(None);
    }
    match x.dtype.size() {
        1 => launch_gather(gather::gather_b1, x, idx, y, walk, axis),
        2 => launch_gather(gather::gather_b2, x, idx, y, walk, axis),
        4 => launch_gather(gather::gather_b4, x, idx, y, walk, axis),
        _ => launch_gather(gather::gather_b8, x, idx, y, walk, axis),
    }
}

fn launch_gather<E: Copy + 'static>(
    k: Kernel<GatherArgs<E>>,
    x: &CudaRef,
    idx: &CudaRef,
    y: &mut CudaData,
    walk: &Walk,
    axis: Axis,
) -> Result<Option<i64>> {
    let dev = x.device().clone();
    let (shape, s) = kernel_layout("gather", walk)?;
    let cfg = config(&dev, &shape);
    let (xp, ip, yp) = (x.ptr_at::<E>(0), idx.ptr_at::<i64>(0), y.ptr_at_mut::<E>(0));
    let (xl, il, yl) = (x.len as u64, idx.len as u64, y.len as u64);
    flagged(&dev, |err| {
        // SAFETY: the strides reach only elements of each buffer (the layouts were checked),
        // and a valid index stays inside `x`'s axis; `err` holds two words.
        unsafe { dev.launch(&k, cfg, (xp, xl, s[1], ip, il, s[2], yp, yl, s[0], shape, axis, err)) }
    })
}

/// The scatter over the walk of the positions `Q` (operands `y`, `src` and `idx` with step 0
/// along the axis, the axis coordinate); the first bad index met, if any.
pub(crate) fn scatter(src: &CudaRef, idx: &CudaRef, y: &mut CudaData, walk: &Walk, axis: Axis) -> Result<Option<i64>> {
    if walk.len() == 0 {
        return Ok(None);
    }
    with_kernel_type!(y.dtype, |K| launch_scatter::<K>(src, idx, y, walk, axis))
}

fn launch_scatter<K: Elem>(
    src: &CudaRef,
    idx: &CudaRef,
    y: &mut CudaData,
    walk: &Walk,
    axis: Axis,
) -> Result<Option<i64>> {
    let dev = src.device().clone();
    let (shape, s) = kernel_layout("scatter", walk)?;
    let cfg = config(&dev, &shape);
    let (sp, ip, yp) = (src.ptr_at::<K>(0), idx.ptr_at::<i64>(0), y.ptr_at_mut::<K>(0));
    let (sl, il, yl) = (src.len as u64, idx.len as u64, y.len as u64);
    let k = gather::scatter_kernel::<K>();
    flagged(&dev, |err| {
        // SAFETY: as for `gather`; `y` is the op's own output.
        unsafe { dev.launch(&k, cfg, (sp, sl, s[1], ip, il, s[2], yp, yl, s[0], s[3], shape, axis, err)) }
    })
}

/// `y[scan[i] - 1] = x[i]` where the prefix count steps, over the walk (operands `scan`,
/// contiguous from 0, and `x`).
pub(crate) fn compact(scan: &CudaRef, x: &CudaRef, y: &mut CudaData, walk: &Walk) -> Result<()> {
    if walk.len() == 0 || y.len == 0 {
        return Ok(());
    }
    match x.dtype.size() {
        1 => launch_compact(gather::compact_b1, scan, x, y, walk),
        2 => launch_compact(gather::compact_b2, scan, x, y, walk),
        4 => launch_compact(gather::compact_b4, scan, x, y, walk),
        _ => launch_compact(gather::compact_b8, scan, x, y, walk),
    }
}

fn launch_compact<E: Copy + 'static>(
    k: Kernel<CompactArgs<E>>,
    scan: &CudaRef,
    x: &CudaRef,
    y: &mut CudaData,
    walk: &Walk,
) -> Result<()> {
    let dev = x.device().clone();
    let (shape, s) = kernel_layout("masked_select", walk)?;
    let cfg = config(&dev, &shape);
    let args = (
        scan.ptr_at::<i64>(0),
        scan.len as u64,
        s[0],
        x.ptr_at::<E>(0),
        x.len as u64,
        s[1],
        shape,
        y.ptr_at_mut::<E>(0),
        y.len as u64,
    );
    // SAFETY: the strides reach only elements of each buffer; the scan's last value is `y`'s
    // length (the caller sized `y` from it).
    unsafe { dev.launch(&k, cfg, args) }
}

/// The coordinates (in `shape`, at most 8 dimensions) of the `n` positions where `scan`
/// steps, as rows of `y`.
pub(crate) fn nonzero(scan: &CudaRef, n: usize, shape: &[usize], y: &mut CudaData) -> Result<()> {
    if n == 0 || y.len == 0 {
        return Ok(());
    }
    let dev = scan.device().clone();
    let dims = Shape::new(&shape.iter().map(|&d| d as u64).collect::<Vec<_>>());
    let cfg = map::config(&Shape::flat(n as u64), true, 1, dev.grid_stride_blocks());
    let args = (scan.ptr_at::<i64>(0), n as u64, dims, y.ptr_at_mut::<i64>(0), y.len as u64);
    // SAFETY: `scan` holds `n` counts, `y` `count × ndim` coordinates.
    unsafe { dev.launch(&gather::nonzero_i64, cfg, args) }
}
