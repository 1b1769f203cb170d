//! Copies between layouts, bit for bit, by element size (1, 2, 4 or 8 bytes: any dtype):
//!
//! - `copy_strided_b4` and friends: `y[walk] = x[walk]` for any strides (the map engine's rows
//!   or flat mapping), e.g. making a broadcast or sliced view contiguous;
//! - `transpose_b4` and friends: a 2-D walk whose input is strided along the output's
//!   contiguous dimension (`x.t().contiguous()`), through a 32×33 shared tile so that both the
//!   reads and the writes are coalesced.
//!
//! Thread mapping of `transpose`: one 32×32 tile per block (`grid.x` over output columns,
//! `grid.y` over output rows, both grid-striding), 32×8 threads; thread `(tx, ty)` reads
//! input rows `ty, ty + 8, ...` of the tile at column `tx` (consecutive `tx`: consecutive input
//! addresses), then after a barrier writes the tile transposed, again with consecutive `tx` on
//! consecutive output addresses. The tile's padding column keeps the column reads of shared
//! memory free of bank conflicts.

use super::layout::{Shape, Strides};
use super::map::map1;
use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Side of a transpose tile, and the rows of threads that walk it.
pub const TILE: u32 = 32;
pub const TILE_ROWS: u32 = 8;

/// # Safety
/// `x` holds `xl` elements and `y` `yl`; the strides stay inside.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn copy_strided<E: Elem>(x: *const E, xl: u64, xs: Strides, y: *mut E, yl: u64, ys: Strides, shape: Shape) {
    unsafe { map1((x, xl, xs), (y, yl, ys), &shape, |v: E| v) }
}

/// `y[r][c] = x[r·xr + c·xc]` for the `rows × cols` output `y` (contiguous, row-major), tile by
/// tile through shared memory.
///
/// # Safety
/// `x` holds `xl` elements and every `x` offset lies inside; `y` holds `rows · cols`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn transpose<E: Elem>(
    x: *const E,
    xl: u64,
    x_offset: u64,
    xr: i64,
    xc: i64,
    y: *mut E,
    rows: u64,
    cols: u64,
) {
    let (xg, yg) = unsafe { (Global::new(x, xl as usize), GlobalMut::new(y, (rows * cols) as usize)) };
    let tile = Shared::<E>::new(0, (TILE * (TILE + 1)) as usize);
    let (tx, ty) = (thread_idx().x as u64, thread_idx().y as u64);
    let (tiles_c, tiles_r) = (cols.div_ceil(TILE as u64), rows.div_ceil(TILE as u64));
    let mut tr = block_idx().y as u64;
    while tr < tiles_r {
        let mut tc = block_idx().x as u64;
        while tc < tiles_c {
            let (r0, c0) = (tr * TILE as u64, tc * TILE as u64);
            // Read: consecutive tx walk the output's rows, which are contiguous in the input
            // when the input is the transposed view (xr == 1).
            let mut k = ty;
            while k < TILE as u64 {
                let (c, r) = (c0 + k, r0 + tx);
                if r < rows && c < cols {
                    let at = x_offset as i64 + r as i64 * xr + c as i64 * xc;
                    tile.store((k * (TILE as u64 + 1) + tx) as usize, xg.load(at as usize));
                }
                k += TILE_ROWS as u64;
            }
            sync_threads();
            // Write: consecutive tx walk an output row.
            let mut k = ty;
            while k < TILE as u64 {
                let (r, c) = (r0 + k, c0 + tx);
                if r < rows && c < cols {
                    yg.store((r * cols + c) as usize, tile.load((tx * (TILE as u64 + 1) + k) as usize));
                }
                k += TILE_ROWS as u64;
            }
            sync_threads();
            tc += grid_dim().x as u64;
        }
        tr += grid_dim().y as u64;
    }
}

/// [`transpose`]'s launch for a `rows × cols` output: a block per tile, up to 65,535 tiles
/// down and `max_blocks` across.
pub fn transpose_config<E>(rows: u64, cols: u64, max_blocks: u32) -> LaunchConfig {
    let x = cols.div_ceil(TILE as u64).clamp(1, max_blocks.max(1) as u64) as u32;
    let y = rows.div_ceil(TILE as u64).clamp(1, 65_535) as u32;
    LaunchConfig {
        grid: Dim3::xy(x, y),
        block: Dim3::xy(TILE, TILE_ROWS),
        shared_bytes: (TILE * (TILE + 1)) * size_of::<E>() as u32,
    }
}

pub type CopyArgs<E> = (*const E, u64, Strides, *mut E, u64, Strides, Shape);
pub type TransposeArgs<E> = (*const E, u64, u64, i64, i64, *mut E, u64, u64);

kernels! {
    @entries
    copy_strided_b1(x: *const u8, xl: u64, xs: Strides, y: *mut u8, yl: u64, ys: Strides, shape: Shape) => copy_strided::<u8>;
    copy_strided_b2(x: *const F16, xl: u64, xs: Strides, y: *mut F16, yl: u64, ys: Strides, shape: Shape) => copy_strided::<F16>;
    copy_strided_b4(x: *const u32, xl: u64, xs: Strides, y: *mut u32, yl: u64, ys: Strides, shape: Shape) => copy_strided::<u32>;
    copy_strided_b8(x: *const i64, xl: u64, xs: Strides, y: *mut i64, yl: u64, ys: Strides, shape: Shape) => copy_strided::<i64>;
    transpose_b1(x: *const u8, xl: u64, x_offset: u64, xr: i64, xc: i64, y: *mut u8, rows: u64, cols: u64) => transpose::<u8>;
    transpose_b2(x: *const F16, xl: u64, x_offset: u64, xr: i64, xc: i64, y: *mut F16, rows: u64, cols: u64) => transpose::<F16>;
    transpose_b4(x: *const u32, xl: u64, x_offset: u64, xr: i64, xc: i64, y: *mut u32, rows: u64, cols: u64) => transpose::<u32>;
    transpose_b8(x: *const i64, xl: u64, x_offset: u64, xr: i64, xc: i64, y: *mut i64, rows: u64, cols: u64) => transpose::<i64>;
}

/// The copy entries, for the PTX cross-check.
#[cfg(not(target_arch = "nvptx64"))]
pub const KERNELS: &[crate::KernelInfo] = &[
    copy_strided_b1.info,
    copy_strided_b2.info,
    copy_strided_b4.info,
    copy_strided_b8.info,
    transpose_b1.info,
    transpose_b2.info,
    transpose_b4.info,
    transpose_b8.info,
];
