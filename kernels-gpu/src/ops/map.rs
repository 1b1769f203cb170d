//! The elementwise engine every map-like family shares (unary, binary, comparisons, `where`,
//! casts, copies): `out[i] = f(in_0[i], ...)` over strided operands of one [`Shape`].
//!
//! Thread mapping, decided from the shape alone (the host's [`config`] matches it):
//! - **contiguous** (every operand a whole contiguous buffer; a kernel entry of its own, since
//!   the strided walk's layout parameters cost registers and so occupancy): a 1-D grid-stride
//!   loop. When every operand has the same number of elements per 16 bytes and starts 16-byte
//!   aligned, thread `g` takes 16-byte groups `g, g + S, ...` (`S` threads in the grid) with one
//!   vector load and store each ([`UNROLL`] says why one is enough); the elements past the
//!   last whole group, or every element when the vector path does not apply, go one per
//!   thread.
//! - **rows** (last dimension at least 32 long): `grid.y` walks rows (every dimension but the
//!   last), `grid.x` the last dimension; a row's starting offsets cost one division per
//!   dimension, once per row, and consecutive threads touch consecutive elements of the row.
//! - **flat** (a short last dimension): a 1-D grid-stride loop over all elements, each thread
//!   finding its row by division.
//!
//! Outputs may alias inputs only exactly (the same element read and written by one thread).

use super::layout::{Shape, Strides};
use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// 16-byte groups each thread loads before it stores any. One is enough: at full occupancy
/// (2048 threads per SM) 16 bytes per thread keep 32 KiB per SM in flight, above the ~22 KiB
/// that an H200's bandwidth-latency product asks of each of its 132 SMs; and every extra group
/// copies the op's formula once more per lane into the PTX.
pub const UNROLL: usize = 1;
/// Threads per block.
pub const BLOCK: u32 = 256;
/// The last dimension's length from which the rows mapping is used.
pub const ROWS_MIN_INNER: u64 = 32;

/// How [`walk`] maps threads to elements for `shape` (`unit`: every operand contiguous).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    Contiguous,
    Rows,
    Flat,
}

#[inline(always)]
pub fn mapping(shape: &Shape, unit: bool) -> Mapping {
    if unit {
        Mapping::Contiguous
    } else if shape.inner() >= ROWS_MIN_INNER {
        Mapping::Rows
    } else {
        Mapping::Flat
    }
}

/// The launch for `shape` (non-empty): enough blocks for one 16-byte group (or element) per
/// thread, at most `max_blocks` (grid-stride loops do the rest); rows mapping: `grid.y` up to
/// 65,535 rows at a time.
pub fn config(shape: &Shape, unit: bool, lanes: usize, max_blocks: u32) -> LaunchConfig {
    let max_blocks = max_blocks.max(1) as u64;
    let (grid, block) = match mapping(shape, unit) {
        Mapping::Contiguous => {
            let work = shape.len().div_ceil(lanes.max(1) as u64);
            (Dim3::x(work.div_ceil(BLOCK as u64).clamp(1, max_blocks) as u32), Dim3::x(BLOCK))
        }
        Mapping::Rows => {
            let block = (shape.inner().next_multiple_of(32)).min(BLOCK as u64) as u32;
            let x = shape.inner().div_ceil(block as u64).clamp(1, max_blocks);
            let y = shape.rows().clamp(1, 65_535).min((max_blocks * 8 / x).max(1));
            (Dim3::xy(x as u32, y as u32), Dim3::x(block))
        }
        Mapping::Flat => (Dim3::x(shape.len().div_ceil(BLOCK as u64).clamp(1, max_blocks) as u32), Dim3::x(BLOCK)),
    };
    LaunchConfig { grid, block, shared_bytes: 0 }
}

/// Calls `visit([offset of operand k])` for every element of `shape`, once, spread over the
/// grid by [`mapping`] (rows or flat; contiguous launches use the `*_contiguous` functions).
#[inline(always)]
pub fn walk<const K: usize>(shape: &Shape, s: [&Strides; K], unit: bool, mut visit: impl FnMut([usize; K])) {
    match mapping(shape, unit) {
        Mapping::Rows => {
            let (rows, inner) = (shape.rows(), shape.inner() as usize);
            let (first, step) = (global_thread_x(), grid_threads_x());
            let steps: [i64; K] = core::array::from_fn(|k| s[k].inner_step());
            let mut row = block_idx().y as u64;
            while row < rows {
                let starts: [i64; K] = core::array::from_fn(|k| s[k].row_start(shape, row));
                let mut c = first;
                while c < inner {
                    visit(core::array::from_fn(|k| (starts[k] + c as i64 * steps[k]) as usize));
                    c += step;
                }
                row += grid_dim().y as u64;
            }
        }
        Mapping::Flat | Mapping::Contiguous => {
            let (n, inner) = (shape.len(), shape.inner().max(1));
            let steps: [i64; K] = core::array::from_fn(|k| s[k].inner_step());
            let (mut i, step) = (global_thread_x() as u64, grid_threads_x() as u64);
            while i < n {
                let (row, c) = (i / inner, (i % inner) as i64);
                visit(core::array::from_fn(|k| (s[k].row_start(shape, row) + c * steps[k]) as usize));
                i += step;
            }
        }
    }
}

/// Grid-stride over `groups` 16-byte groups.
#[inline(always)]
fn groups<V: Copy>(groups: usize, load: impl Fn(usize) -> V, store: impl Fn(usize, V)) {
    let (start, stride) = (global_thread_x(), grid_threads_x());
    let mut p = start;
    while p < groups {
        store(p, load(p));
        p += stride;
    }
}

/// Whether element `offset` of a view at `ptr` starts 16-byte aligned.
#[inline(always)]
fn aligned<T>(ptr: *const T, offset: u64) -> bool {
    (ptr as usize + offset as usize * size_of::<T>()).is_multiple_of(16)
}

/// `y[i] = f(x[i])` over `n` contiguous elements: 16-byte groups when both start aligned and
/// hold as many elements, then one element per thread for the rest.
///
/// # Safety
/// `x` and `y` hold `n` elements each (they may be the same buffer).
#[inline(always)]
pub unsafe fn map1_contiguous<I: Elem, O: Elem>(x: *const I, y: *mut O, n: u64, f: impl Fn(I) -> O) {
    let n = n as usize;
    let (xg, yg) = unsafe { (Global::new(x, n), GlobalMut::new(y, n)) };
    let mut done = 0;
    if I::LANES == O::LANES && aligned(x, 0) && aligned(y.cast_const(), 0) {
        groups(
            n / I::LANES,
            |p| xg.load_lanes(p),
            |p, v| {
                // Indexed with a constant trip count, so the loop unrolls and the lanes stay in
                // registers (a zip of slices may not, leaving them in local memory).
                let mut out = O::Lanes::default();
                for k in 0..O::LANES {
                    out.as_mut()[k] = f(v.as_ref()[k]);
                }
                yg.store_lanes(p, out)
            },
        );
        done = n / I::LANES * I::LANES;
    }
    let (mut i, step) = (done + global_thread_x(), grid_threads_x());
    while i < n {
        yg.store(i, f(xg.load(i)));
        i += step;
    }
}

/// `y[i] = f(a[i], b[i])` over `n` contiguous elements, as [`map1_contiguous`].
///
/// # Safety
/// `a`, `b` and `y` hold `n` elements each.
#[inline(always)]
pub unsafe fn map2_contiguous<A: Elem, B: Elem, O: Elem>(
    a: *const A,
    b: *const B,
    y: *mut O,
    n: u64,
    f: impl Fn(A, B) -> O,
) {
    let n = n as usize;
    let (ag, bg, yg) = unsafe { (Global::new(a, n), Global::new(b, n), GlobalMut::new(y, n)) };
    let mut done = 0;
    let same_lanes = A::LANES == O::LANES && B::LANES == O::LANES;
    if same_lanes && aligned(a, 0) && aligned(b, 0) && aligned(y.cast_const(), 0) {
        groups(
            n / O::LANES,
            |p| (ag.load_lanes(p), bg.load_lanes(p)),
            |p, (va, vb)| {
                let mut out = O::Lanes::default();
                for k in 0..O::LANES {
                    out.as_mut()[k] = f(va.as_ref()[k], vb.as_ref()[k]);
                }
                yg.store_lanes(p, out)
            },
        );
        done = n / O::LANES * O::LANES;
    }
    let (mut i, step) = (done + global_thread_x(), grid_threads_x());
    while i < n {
        yg.store(i, f(ag.load(i), bg.load(i)));
        i += step;
    }
}

/// `y = f(x)` over strided operands (rows or flat mapping; a contiguous launch takes
/// [`map1_contiguous`] instead, a kernel of its own with far fewer registers).
///
/// # Safety
/// `x` holds `x_len` elements and `y` `y_len`; every offset the strides reach lies inside.
#[inline(always)]
pub unsafe fn map1<I: Elem, O: Elem>(
    (x, x_len, xs): (*const I, u64, Strides),
    (y, y_len, ys): (*mut O, u64, Strides),
    shape: &Shape,
    f: impl Fn(I) -> O,
) {
    let (xg, yg) = unsafe { (Global::new(x, x_len as usize), GlobalMut::new(y, y_len as usize)) };
    walk(shape, [&xs, &ys], false, |[i, o]| yg.store(o, f(xg.load(i))));
}

/// `y = f(a, b)` over strided operands.
///
/// # Safety
/// As for [`map1`], for each operand.
#[inline(always)]
pub unsafe fn map2<A: Elem, B: Elem, O: Elem>(
    (a, a_len, as_): (*const A, u64, Strides),
    (b, b_len, bs): (*const B, u64, Strides),
    (y, y_len, ys): (*mut O, u64, Strides),
    shape: &Shape,
    f: impl Fn(A, B) -> O,
) {
    let (ag, bg, yg) =
        unsafe { (Global::new(a, a_len as usize), Global::new(b, b_len as usize), GlobalMut::new(y, y_len as usize)) };
    walk(shape, [&as_, &bs, &ys], false, |[i, j, o]| yg.store(o, f(ag.load(i), bg.load(j))));
}

/// `y = f(c, a, b)` elementwise (`where`), strided.
///
/// # Safety
/// As for [`map1`], for each operand.
#[inline(always)]
pub unsafe fn map3<C: Elem, A: Elem, B: Elem, O: Elem>(
    (c, c_len, cs): (*const C, u64, Strides),
    (a, a_len, as_): (*const A, u64, Strides),
    (b, b_len, bs): (*const B, u64, Strides),
    (y, y_len, ys): (*mut O, u64, Strides),
    shape: &Shape,
    f: impl Fn(C, A, B) -> O,
) {
    let (cg, ag, bg, yg) = unsafe {
        (
            Global::new(c, c_len as usize),
            Global::new(a, a_len as usize),
            Global::new(b, b_len as usize),
            GlobalMut::new(y, y_len as usize),
        )
    };
    walk(shape, [&cs, &as_, &bs, &ys], false, |[k, i, j, o]| yg.store(o, f(cg.load(k), ag.load(i), bg.load(j))));
}
