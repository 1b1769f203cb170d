//! The CPU backend. Elementwise, reduction and softmax arithmetic is the kernels' own (the op
//! families' formulas, `Float::exp`), so CPU and GPU results differ only by summation order;
//! matmul is the `gemm` crate's kernels (`matmul.rs`). Hot loops are also compiled for
//! AVX-512 and AVX2 + FMA and chosen at run time (`simd`), and large inputs are split across
//! cores with rayon.
//!
//! Map: `walk.rs` (the strided elementwise engine), `elementwise.rs` (the op families on it),
//! `reduce.rs`, `matmul.rs`, `stream.rs` (streaming stores), `par.rs` (rayon behind `dyn`
//! tasks, for compile time), this file (softmax along the last axis and along any axis, sqrt
//! into an existing array).

pub(crate) mod elementwise;
pub(crate) mod gather;
mod matmul;
mod par;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod simd;
pub(crate) mod sort;
mod stream;
mod walk;

use crate::array::storage::{kernel_slice, kernel_slice_mut};
use crate::dtype::Element;
use kernels_gpu::prelude::{Elem, Float as KernelFloat};
use rayon::prelude::*;
use simd::multiversion;
use std::mem::MaybeUninit;

pub(crate) use elementwise::{convert, copy};
pub(crate) use matmul::{gemm_batched, gemm_into};
pub(crate) use simd::CpuMath;
pub(crate) use walk::concat;

/// Below this many elements (or multiply-adds) threads cost more than they save.
const PARALLEL_MIN: usize = 1 << 15;

/// Outputs from this many bytes on are written with streaming stores (`stream.rs`): they are
/// past any core's private caches, and are not read back from cache anyway.
const STREAM_MIN_BYTES: usize = 4 << 20;

/// `y = sqrt(x)` elementwise into an existing buffer.
pub(crate) fn sqrt_into<T: CpuMath>(x: &[T], y: &mut [T]) {
    multiversion! {
        fn sqrt_cached<T: CpuMath>(x: &[T], y: &mut [T]) {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = x.sqrt();
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    let stream = size_of_val(y) >= STREAM_MIN_BYTES && simd::has_avx2_fma();
    let chunk = |x: &[T], y: &mut [T]| {
        #[cfg(target_arch = "x86_64")]
        if stream {
            // SAFETY: AVX2 implies AVX.
            return unsafe { T::sqrt_stream(x, y) };
        }
        sqrt_cached(x, y)
    };
    // Memory-bound: below 2^18 elements one core takes tens of microseconds, about what a
    // rayon round trip costs; above, big chunks, each streaming its own range.
    if x.len() < PARALLEL_MIN * 8 {
        chunk(x, y);
    } else {
        let n = x.len().div_ceil(4 * rayon::current_num_threads()).max(PARALLEL_MIN);
        y.par_chunks_mut(n).zip(x.par_chunks(n)).for_each(|(y, x)| chunk(x, y));
    }
}

// Row softmax with the kernel's semantics (see `softmax.rs` in kernels-gpu): maxNum for the row
// maximum, NaN reaching the whole row through the sum. Every pass is a plain loop that
// vectorizes.

/// Folds `r` with `f` into 64 partial results, then those into one: independent chains, so
/// the loop runs at the adds' throughput rather than their latency.
#[inline(always)]
fn reduce<T: CpuMath>(r: &[T], init: T, f: impl Fn(T, T) -> T) -> T {
    let mut acc = [init; 64];
    let (chunks, rest) = r.as_chunks::<64>();
    for c in chunks {
        for j in 0..64 {
            acc[j] = f(acc[j], c[j]);
        }
    }
    let (chunks, rest) = rest.as_chunks::<16>();
    for c in chunks {
        for j in 0..16 {
            acc[j] = f(acc[j], c[j]);
        }
    }
    acc.iter().chain(rest).fold(init, |a, &v| f(a, v))
}

/// maxNum of a row, as a plain compare (`maxps`): NaN never enters the maximum.
#[inline(always)]
fn row_max<T: CpuMath>(r: &[T]) -> T {
    reduce(r, T::NEG_INFINITY, |m, v| if v > m { v } else { m })
}

/// Divides a row of `e^(x - max)` by its sum.
#[inline(always)]
fn normalize<T: CpuMath>(r: &mut [T]) {
    let inv = T::ONE / reduce(r, T::ZERO, |s, v| s + v);
    for v in r.iter_mut() {
        *v = *v * inv;
    }
}

multiversion! {
    /// Row softmax of whole `cols`-wide rows, in place.
    fn softmax_in_place_rows<T: CpuMath>(x: &mut [T], cols: usize) {
        for r in x.chunks_exact_mut(cols) {
            let m = row_max(r);
            for v in r.iter_mut() {
                *v = (*v - m).exp();
            }
            normalize(r);
        }
    }
}

multiversion! {
    /// Row softmax of `x` into uninitialised `y` (memory is read once and written once).
    fn softmax_rows_into<T: CpuMath>(x: &[T], y: &mut [MaybeUninit<T>], cols: usize) {
        for (x, y) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
            let m = row_max(x);
            for (y, &x) in y.iter_mut().zip(x) {
                y.write((x - m).exp());
            }
            // SAFETY: the loop above wrote the whole row.
            normalize(unsafe { y.assume_init_mut() });
        }
    }
}

/// Rows per rayon task: at least `PARALLEL_MIN` elements, or `None` if one thread is best.
fn rows_per_task(len: usize, cols: usize) -> Option<usize> {
    (len >= PARALLEL_MIN && cols > 0).then(|| (PARALLEL_MIN / cols).max(1))
}

/// Row softmax of a `rows × cols` array.
pub(crate) fn softmax<T: CpuMath>(x: &[T], cols: usize) -> Vec<T> {
    if cols == 0 {
        return x.to_vec();
    }
    let mut y = Vec::with_capacity(x.len());
    let out = &mut y.spare_capacity_mut()[..x.len()];
    match rows_per_task(x.len(), cols) {
        None => softmax_rows_into(x, out, cols),
        Some(rows) => {
            let n = rows * cols;
            out.par_chunks_mut(n).zip(x.par_chunks(n)).for_each(|(y, x)| softmax_rows_into(x, y, cols));
        }
    }
    // SAFETY: the calls above wrote every element: `x.len()` is a multiple of `cols`.
    unsafe { y.set_len(x.len()) };
    y
}

/// Row softmax of a `rows × cols` array, in place.
pub(crate) fn softmax_in_place<T: CpuMath>(x: &mut [T], cols: usize) {
    match rows_per_task(x.len(), cols) {
        _ if cols == 0 => {}
        None => softmax_in_place_rows(x, cols),
        Some(rows) => x.par_chunks_mut(rows * cols).for_each(|x| softmax_in_place_rows(x, cols)),
    }
}

/// `y`'s elements, shared by tasks that each write their own (disjoint) ones.
struct Disjoint<K>(*mut K);
// SAFETY: tasks write disjoint elements through it, and `y` outlives them (rayon's scope).
unsafe impl<K: Send> Send for Disjoint<K> {}
unsafe impl<K: Send> Sync for Disjoint<K> {}
impl<K> Disjoint<K> {
    /// # Safety
    /// `i` is within `y`, and no other task writes element `i`.
    unsafe fn write(&self, i: usize, v: K) {
        unsafe { self.0.add(i).write(v) }
    }
}

/// Softmax (`log`: log-softmax) along the middle axis of a contiguous `[outer, len, inner]`
/// array `x` into `y`: each of the `outer · inner` lanes by `kernels_gpu::softmax::lane`, the
/// GPU kernel's own arithmetic (16-bit floats load, compute in f32 and store once), lanes
/// split across cores.
pub(crate) fn softmax_axis<T: Element>(x: &[T], y: &mut [T], (outer, len, inner): (usize, usize, usize), log: bool)
where
    <T::Kernel as Elem>::Compute: KernelFloat,
{
    let (x, n) = (kernel_slice(x), x.len());
    assert!(y.len() == n && n == outer * len * inner, "softmax_axis: shapes checked by the caller");
    let y = Disjoint(kernel_slice_mut(y).as_mut_ptr());
    let lane = |g: usize| {
        let base = (g / inner) * len * inner + g % inner;
        kernels_gpu::softmax::lane(
            len,
            log,
            |k| x[base + k * inner].load(),
            // SAFETY: `base + k·inner < n`, and lane `g` alone writes these elements.
            |k, v| unsafe { y.write(base + k * inner, T::Kernel::store(v)) },
        );
    };
    let lanes = outer * inner;
    if n < PARALLEL_MIN {
        (0..lanes).for_each(lane);
    } else {
        (0..lanes).into_par_iter().with_min_len((PARALLEL_MIN / len.max(1)).max(1)).for_each(lane);
    }
}
