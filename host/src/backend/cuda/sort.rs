//! Sorting and search on CUDA: the launches of `kernels_gpu::ops::sort` and `::radix`. Rows of
//! at most `SHARED_MAX` keys sort in one launch (a block per row, in shared memory); longer
//! rows by the LSD radix sort: one AND/OR pre-pass read back to skip the digits every key
//! shares, then three launches per remaining 8-bit digit (histogram, scan, scatter); f32 keys
//! take 5 passes at most, not 8.

use super::DeviceBuffer;
use crate::array::storage::CudaRef;
use crate::error::Result;
use kernels_gpu::ops::sort::{self, SHARED_MAX, SortKey};
use kernels_gpu::ops::{radix, scan};

/// The keys of `n` contiguous elements of `x` from element `offset` (`flags`: `DESCENDING`).
pub(crate) fn keys<K: SortKey + 'static>(x: &CudaRef, offset: usize, n: usize, flags: u32) -> Result<DeviceBuffer<u8>> {
    let dev = x.device().clone();
    let mut out = dev.alloc::<u8>(n * 8)?;
    if n == 0 {
        return Ok(out);
    }
    let cfg = sort::flat_config(n as u64, dev.grid_stride_blocks());
    let args = (x.ptr_at::<K>(offset), n as u64, flags, out.ptr_mut::<i64>());
    // SAFETY: `x` holds `offset + n` elements and `out` `n` keys.
    unsafe { dev.launch(&sort::key_kernel::<K>(), cfg, args)? };
    Ok(out)
}

/// The stable argsort of each of the `rows` rows of `n` keys (contiguous, from 0).
pub(crate) fn argsort_rows(keys: &CudaRef, rows: usize, n: usize) -> Result<DeviceBuffer<u8>> {
    let dev = keys.device().clone();
    let mut out = dev.alloc::<u8>(rows * n * 8)?;
    if rows * n == 0 {
        return Ok(out);
    }
    let (r, n64) = (rows as u64, n as u64);
    let kp = keys.ptr_at::<i64>(0);
    if n64 <= SHARED_MAX {
        let cfg = sort::block_config(r, n64, dev.grid_stride_blocks());
        // SAFETY: `keys` and `out` hold `rows · n` elements; the config gives `p · 12` bytes.
        unsafe { dev.launch(&sort::sort_block_i64, cfg, (kp, r, n64, out.ptr_mut::<i64>()))? };
        return Ok(out);
    }
    radix_rows(keys, rows, n, &mut out)?;
    Ok(out)
}

/// The LSD radix argsort of rows longer than `SHARED_MAX` into `out` (`rows · n` indices):
/// the keys' AND and OR read back to pick the digits that vary, then per digit a histogram, a
/// scan of it (`cumsum_i64`) and a stable scatter of the (key, index) pairs, ping-ponging
/// between two pairs of scratch buffers. When no digit varies one pass on the lowest digit
/// still runs: it writes the identity permutation.
fn radix_rows(keys: &CudaRef, rows: usize, n: usize, out: &mut DeviceBuffer<u8>) -> Result<()> {
    let dev = keys.device().clone();
    let (r, n64, len) = (rows as u64, n as u64, rows * n);
    let kp = keys.ptr_at::<i64>(0);
    let blocks = dev.grid_stride_blocks();
    let cfg = radix::bits_config(len as u64, blocks);
    let mut parts = dev.alloc::<i64>(2 * cfg.grid.x as usize)?;
    // SAFETY: `keys` holds `len` keys and `parts` two per block of the launch.
    unsafe { dev.launch(&radix::radix_bits_i64, cfg, (kp, len as u64, parts.ptr_mut::<i64>()))? };
    let (and, or) = parts.to_vec()?.chunks_exact(2).fold((-1i64, 0i64), |(a, o), p| (a & p[0], o | p[1]));
    let mut shifts: Vec<u32> = radix::passes(and, or).collect();
    if shifts.is_empty() {
        shifts.push(0);
    }
    let counts = rows * radix::DIGITS * n.div_ceil(radix::TILE as usize);
    let (mut hist, mut scan) = (dev.alloc::<i64>(counts)?, dev.alloc::<i64>(counts)?);
    // Scratch pairs for every pass but the last (which writes `out`).
    let scratch = if shifts.len() > 1 { len } else { 0 };
    let mut kb = [dev.alloc::<i64>(scratch)?, dev.alloc::<i64>(scratch)?];
    let mut ib = [dev.alloc::<i64>(scratch)?, dev.alloc::<i64>(scratch)?];
    let hist_cfg = radix::tile_config(r, n64, blocks, radix::HIST_SHARED);
    let scatter_cfg = radix::tile_config(r, n64, blocks, radix::SCATTER_SHARED);
    let scan_cfg = scan::config::<i64>((rows * radix::DIGITS) as u64, blocks);
    let tiles = n64.div_ceil(radix::TILE);
    let (mut src_k, mut src_i) = (kp, kp);
    for (p, &shift) in shifts.iter().enumerate() {
        let last = p + 1 == shifts.len();
        let flags = if p == 0 { radix::FIRST } else { 0 } | if last { radix::LAST } else { 0 };
        let (hp, sp) = (hist.ptr_mut::<i64>(), scan.ptr_mut::<i64>());
        let (ko, io) = if last {
            (kp.cast_mut(), out.ptr_mut::<i64>())
        } else {
            (kb[p % 2].ptr_mut::<i64>(), ib[p % 2].ptr_mut::<i64>())
        };
        let scan_args = (hp.cast_const(), 0, r * radix::DIGITS as u64, tiles, sp);
        let scatter_args = (src_k, src_i, r, n64, shift, sp.cast_const(), ko, io, flags);
        // SAFETY: the sources hold `len` pairs (the indices unread on the first pass), `hist`
        // and `scan` `rows · 256 · tiles` counts, the destinations `len` pairs (the keys
        // unwritten on the last pass, so the input's pointer stands in); the configurations
        // give each kernel its shared memory.
        unsafe {
            dev.launch(&radix::radix_hist_i64, hist_cfg, (src_k, r, n64, shift, hp))?;
            dev.launch(&scan::cumsum_i64, scan_cfg, scan_args)?;
            dev.launch(&radix::radix_scatter_i64, scatter_cfg, scatter_args)?;
        }
        (src_k, src_i) = (ko.cast_const(), io.cast_const());
    }
    Ok(())
}

/// For each of the `values` keys, its insertion point in the sorted `sorted` keys.
pub(crate) fn searchsorted(sorted: &CudaRef, values: &CudaRef, right: bool) -> Result<DeviceBuffer<u8>> {
    let dev = values.device().clone();
    let (n, m) = (sorted.len as u64, values.len as u64);
    let mut out = dev.alloc::<u8>(m as usize * 8)?;
    if m == 0 {
        return Ok(out);
    }
    let cfg = sort::flat_config(m, dev.grid_stride_blocks());
    let flags = if right { sort::RIGHT } else { 0 };
    let args = (sorted.ptr_at::<i64>(0), n, values.ptr_at::<i64>(0), m, flags, out.ptr_mut::<i64>());
    // SAFETY: `sorted` holds `n` keys, `values` and `out` `m` elements.
    unsafe { dev.launch(&sort::searchsorted_i64, cfg, args)? };
    Ok(out)
}
