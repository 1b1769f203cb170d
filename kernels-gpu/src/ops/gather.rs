//! Indexing by arrays of indices (i64) along one axis, and compaction by a mask:
//!
//! - `gather_b4` and friends (by element size, bit for bit): `y[p] = x[p with its axis
//!   coordinate replaced by idx[p]]` over the output's shape: PyTorch's `gather`, and with the
//!   index broadcast along every other axis (stride 0) `index_select` and NumPy's `take`;
//! - `scatter_f32` and friends (per dtype, since `scatter_add` adds): for every position `q` of
//!   the output's lines, the index entries `j` of the same line with `idx[j] == q`'s axis
//!   coordinate, in order of `j`: the last one's source value (`scatter`) or the running sum
//!   of all of them added to `y[q]` in the compute type, rounded once (`scatter_add`);
//! - `compact_b4` and friends: `y[scan[i] - 1] = x[i]` where the inclusive prefix count of a
//!   mask steps (`masked_select`); `nonzero_i64`: the same positions' coordinates.
//!
//! Thread mapping: `map.rs`'s strided walk (rows mapping when the last dimension is at least
//! 32 long, else flat), one thread per output element (gather), per output position of the
//! scattered lines (scatter), per mask element (compact); `nonzero` a flat grid-stride loop.
//! Consecutive threads take consecutive positions of the last dimension, so the stores (and
//! the loads of a row-major source not indexed along its last axis) are coalesced; the
//! index loads of `index_select` are warp-uniform (broadcast).
//!
//! Out-of-range indices: the thread that meets one stores 1 in `err[0]` and the raw index in
//! `err[1]` (racing threads leave one of their values) and writes nothing; the host uploads
//! the two zero words before the launch and reads them back after it (16 bytes each way, no
//! extra pass over the indices; a host pre-check would read all of them once more). In a
//! scatter only the threads at axis coordinate 0 check, so each index is checked once.
//!
//! Why scatter is owner-computes rather than atomics: every output element is written by one
//! thread, in index order, so `scatter` picks the last duplicate and `scatter_add` sums in a
//! fixed order, bit for bit as the CPU does. The price is that each position reads its line's
//! `m` index entries: `O(n·m)` per line for an axis of length `n`, right for one-hot encoding
//! and short index lines, slow for long ones (an atomic version would be `O(m)`).

use super::layout::{MAX_RANK, Shape, Strides};
use super::map::walk;
use crate::prelude::*;

/// Negative indices count from the end of the axis (NumPy's `take`).
pub const WRAP: u32 = 1;
/// `scatter_add` rather than `scatter`.
pub const ADD: u32 = 2;

/// The indexed axis, passed by value (`.param .align 8 .b8 [40]`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    /// Length of the indexed axis (`x`'s for gather, `y`'s for scatter): indices must lie in
    /// `0..len` (`-len..len` with [`WRAP`]).
    pub len: u64,
    /// gather: `x`'s step along the axis; scatter: the source's step along the index's axis.
    pub step: i64,
    /// scatter: the index's length along the axis and its step there.
    pub index_len: u64,
    pub index_step: i64,
    /// [`WRAP`], [`ADD`].
    pub flags: u32,
    pub _pad: u32,
}

pub type GatherArgs<E> =
    (*const E, u64, Strides, *const i64, u64, Strides, *mut E, u64, Strides, Shape, Axis, *mut u64);
pub type ScatterArgs<E> =
    (*const E, u64, Strides, *const i64, u64, Strides, *mut E, u64, Strides, Strides, Shape, Axis, *mut u64);
pub type CompactArgs<E> = (*const i64, u64, Strides, *const E, u64, Strides, Shape, *mut E, u64);
pub type NonzeroArgs = (*const i64, u64, Shape, *mut i64, u64);

/// Records a bad index (any thread's; see the module doc).
#[inline(always)]
fn flag(err: &GlobalMut<u64>, raw: i64) {
    err.store_racy(0, 1);
    err.store_racy(1, raw as u64);
}

/// `y[p] = x[xs(p) + k·axis.step]` with `k = idx[is(p)]`, over `shape` (`xs` has step 0 along
/// the axis, `is` is the index's layout over the output, broadcast where it repeats).
///
/// # Safety
/// Each pointer holds its length and the strides stay inside; `err` holds two words.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn gather<E: Copy>(
    x: *const E,
    xl: u64,
    xs: Strides,
    idx: *const i64,
    il: u64,
    is: Strides,
    y: *mut E,
    yl: u64,
    ys: Strides,
    shape: Shape,
    axis: Axis,
    err: *mut u64,
) {
    let (xg, ig, yg) =
        unsafe { (Global::new(x, xl as usize), Global::new(idx, il as usize), GlobalMut::new(y, yl as usize)) };
    let eg = unsafe { GlobalMut::new(err, 2) };
    let n = axis.len as i64;
    let wrap = axis.flags & WRAP != 0;
    walk(&shape, [&xs, &is, &ys], false, |[xo, io, yo]| {
        let raw = ig.load(io);
        let k = if wrap && raw < 0 { raw + n } else { raw };
        if k < 0 || k >= n {
            flag(&eg, raw);
        } else {
            yg.store(yo, xg.load((xo as i64 + k * axis.step) as usize));
        }
    });
}

/// For each position `q` of `shape` (the index's shape with the axis `axis.len` long): the
/// index entries `j < axis.index_len` of `q`'s line equal to `q`'s axis coordinate (read
/// from the `cs` operand: step 1 along the axis, 0 elsewhere) update `y[ys(q)]`: replaced by
/// the last one's `src` value, or (with [`ADD`]) `y[q] + Σ src` in the compute type, rounded
/// once. `ss` and `is` have step 0 along the axis; `axis.step` and `axis.index_step` walk it.
///
/// # Safety
/// Each pointer holds its length and the strides stay inside; `err` holds two words.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn scatter<E: Elem>(
    src: *const E,
    sl: u64,
    ss: Strides,
    idx: *const i64,
    il: u64,
    is: Strides,
    y: *mut E,
    yl: u64,
    ys: Strides,
    cs: Strides,
    shape: Shape,
    axis: Axis,
    err: *mut u64,
) {
    let (sg, ig, yg) =
        unsafe { (Global::new(src, sl as usize), Global::new(idx, il as usize), GlobalMut::new(y, yl as usize)) };
    let eg = unsafe { GlobalMut::new(err, 2) };
    let n = axis.len as i64;
    let add = axis.flags & ADD != 0;
    walk(&shape, [&ss, &is, &ys, &cs], false, |[so, io, yo, r]| {
        let mut last = yg.load(yo);
        let mut acc = last.load();
        let mut hit = false;
        let mut j = 0u64;
        while j < axis.index_len {
            let k = ig.load((io as i64 + j as i64 * axis.index_step) as usize);
            if k == r as i64 {
                last = sg.load((so as i64 + j as i64 * axis.step) as usize);
                acc = acc.add(last.load());
                hit = true;
            } else if r == 0 && (k < 0 || k >= n) {
                flag(&eg, k);
            }
            j += 1;
        }
        if hit {
            yg.store(yo, if add { E::store(acc) } else { last });
        }
    });
}

/// `y[scan[i] - 1] = x[i]` where `scan` (the inclusive prefix count of the mask, contiguous
/// from offset 0) steps at `i`, over `shape`.
///
/// # Safety
/// Each pointer holds its length, the strides stay inside, and `scan`'s last value is at most
/// `yl`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn compact<E: Copy>(
    scan: *const i64,
    sl: u64,
    ss: Strides,
    x: *const E,
    xl: u64,
    xs: Strides,
    shape: Shape,
    y: *mut E,
    yl: u64,
) {
    let (sg, xg, yg) =
        unsafe { (Global::new(scan, sl as usize), Global::new(x, xl as usize), GlobalMut::new(y, yl as usize)) };
    walk(&shape, [&ss, &xs], false, |[si, xi]| {
        let s = sg.load(si);
        let prev = if si == 0 { 0 } else { sg.load(si - 1) };
        if s != prev {
            yg.store((s - 1) as usize, xg.load(xi));
        }
    });
}

/// Row `scan[i] - 1` of `y` (`count × rank`) = the coordinates of element `i` of an array of
/// shape `dims`, where `scan` (`n` elements) steps at `i`.
///
/// # Safety
/// `scan` holds `n` elements and `y` `yl ≥ scan[n - 1] · dims.rank`.
#[inline(always)]
pub unsafe fn nonzero(scan: *const i64, n: u64, dims: Shape, y: *mut i64, yl: u64) {
    let (sg, yg) = unsafe { (Global::new(scan, n as usize), GlobalMut::new(y, yl as usize)) };
    let rank = dims.rank as usize;
    let (mut i, step) = (global_thread_x(), grid_threads_x());
    while i < n as usize {
        let s = sg.load(i);
        let prev = if i == 0 { 0 } else { sg.load(i - 1) };
        if s != prev {
            let row = (s - 1) as usize * rank;
            let mut rest = i as u64;
            for k in 0..MAX_RANK {
                if k < rank {
                    let d = dims.dims[k].max(1);
                    yg.store(row + rank - 1 - k, (rest % d) as i64);
                    rest /= d;
                }
            }
        }
        i += step;
    }
}

kernels! {
    @entries
    gather_b1(x: *const u8, xl: u64, xs: Strides, idx: *const i64, il: u64, is: Strides, y: *mut u8, yl: u64, ys: Strides, shape: Shape, axis: Axis, err: *mut u64) => gather::<u8>;
    gather_b2(x: *const F16, xl: u64, xs: Strides, idx: *const i64, il: u64, is: Strides, y: *mut F16, yl: u64, ys: Strides, shape: Shape, axis: Axis, err: *mut u64) => gather::<F16>;
    gather_b4(x: *const u32, xl: u64, xs: Strides, idx: *const i64, il: u64, is: Strides, y: *mut u32, yl: u64, ys: Strides, shape: Shape, axis: Axis, err: *mut u64) => gather::<u32>;
    gather_b8(x: *const i64, xl: u64, xs: Strides, idx: *const i64, il: u64, is: Strides, y: *mut i64, yl: u64, ys: Strides, shape: Shape, axis: Axis, err: *mut u64) => gather::<i64>;
    compact_b1(scan: *const i64, sl: u64, ss: Strides, x: *const u8, xl: u64, xs: Strides, shape: Shape, y: *mut u8, yl: u64) => compact::<u8>;
    compact_b2(scan: *const i64, sl: u64, ss: Strides, x: *const F16, xl: u64, xs: Strides, shape: Shape, y: *mut F16, yl: u64) => compact::<F16>;
    compact_b4(scan: *const i64, sl: u64, ss: Strides, x: *const u32, xl: u64, xs: Strides, shape: Shape, y: *mut u32, yl: u64) => compact::<u32>;
    compact_b8(scan: *const i64, sl: u64, ss: Strides, x: *const i64, xl: u64, xs: Strides, shape: Shape, y: *mut i64, yl: u64) => compact::<i64>;
    nonzero_i64(scan: *const i64, n: u64, dims: Shape, y: *mut i64, yl: u64) => nonzero;
}

macro_rules! scatter_entries {
    ($($t:ty: $name:ident;)*) => {
        kernels! {
            @entries
            $( $name(src: *const $t, sl: u64, ss: Strides, idx: *const i64, il: u64, is: Strides, y: *mut $t, yl: u64, ys: Strides, cs: Strides, shape: Shape, axis: Axis, err: *mut u64) => scatter::<$t>; )*
        }

        /// The entries of this family, for the PTX cross-check.
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[crate::KernelInfo] = &[
            gather_b1.info, gather_b2.info, gather_b4.info, gather_b8.info,
            compact_b1.info, compact_b2.info, compact_b4.info, compact_b8.info,
            nonzero_i64.info,
            $($name.info,)*
        ];

        /// The scatter entry for element type `E` (host only).
        #[cfg(not(target_arch = "nvptx64"))]
        pub fn scatter_kernel<E: Elem>() -> crate::Kernel<ScatterArgs<E>> {
            let all: &[&dyn core::any::Any] = &[$(&$name),*];
            all.iter().find_map(|k| k.downcast_ref()).copied().expect("every dtype has a scatter entry")
        }
    };
}

scatter_entries! {
    f32: scatter_f32;
    f64: scatter_f64;
    F16: scatter_f16;
    BF16: scatter_bf16;
    i32: scatter_i32;
    i64: scatter_i64;
    u8: scatter_u8;
    u32: scatter_u32;
    Bool: scatter_bool;
}
