//! Sorting and search on CUDA: the launches of `kernels_gpu::ops::sort`. Rows of at most
//! `SHARED_MAX` keys sort in one launch (a block per row, in shared memory); longer rows are
//! padded into two scratch buffers (`rows · p` keys and indices, `p` the next power of two)
//! and sorted by one shared-memory launch for the network's stages `k ≤ SHARED_MAX`, then, for
//! each later stage, a global bitonic step per `j ≥ SHARED_MAX` and one shared-memory launch
//! for its steps `j < SHARED_MAX` (for `p = 2^24`: 14 shared launches and 91 global steps
//! instead of 300 global steps).

use super::DeviceBuffer;
use crate::array::storage::CudaRef;
use crate::error::Result;
use kernels_gpu::ops::sort::{self, SHARED_MAX, SortKey};

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
    let p = sort::padded(n64);
    let (mut kb, mut ib) = (dev.alloc::<i64>(rows * p as usize)?, dev.alloc::<i64>(rows * p as usize)?);
    let (kbp, ibp) = (kb.ptr_mut::<i64>(), ib.ptr_mut::<i64>());
    let blocks = dev.grid_stride_blocks();
    // SAFETY (every launch below): `keys` holds `rows · n` keys, `kb` and `ib` `rows · p`
    // elements, `out` `rows · n` indices; `p` is a power of two `> SHARED_MAX`, `j < k ≤ p`,
    // and the merge configuration gives the tile's shared memory.
    unsafe { dev.launch(&sort::sort_pad_i64, sort::flat_config(r * p, blocks), (kp, r, n64, p, kbp, ibp))? };
    let step = sort::flat_config(r * p / 2, blocks);
    let merge = sort::merge_config(r, p, blocks);
    // Every stage `k ≤ SHARED_MAX` in one shared-memory launch; then each later stage's steps
    // `j ≥ SHARED_MAX` in global memory and the rest of it in shared memory again.
    unsafe { dev.launch(&sort::sort_merge_i64, merge, (kbp, ibp, r, p, 2, SHARED_MAX))? };
    let mut k = 2 * SHARED_MAX;
    while k <= p {
        let mut j = k / 2;
        while j >= SHARED_MAX {
            unsafe { dev.launch(&sort::sort_step_i64, step, (kbp, ibp, r, p, k, j))? };
            j /= 2;
        }
        unsafe { dev.launch(&sort::sort_merge_i64, merge, (kbp, ibp, r, p, k, k))? };
        k *= 2;
    }
    let cfg = sort::flat_config(r * n64, blocks);
    unsafe { dev.launch(&sort::sort_unpad_i64, cfg, (ib.ptr::<i64>(), r, n64, p, out.ptr_mut::<i64>()))? };
    Ok(out)
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
