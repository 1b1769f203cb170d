//! The CPU backend. Elementwise, reduction and softmax arithmetic is the kernels' own (the op
//! families' formulas, `Float::exp`), so CPU and GPU results differ only by summation order;
//! matmul is the `gemm` crate's kernels (`matmul.rs`). Hot loops are also compiled for
//! AVX-512 and AVX2 + FMA and chosen at run time (`simd`), and large inputs are split across
//! cores with rayon.
//!
//! Map: `walk.rs` (the strided elementwise engine), `elementwise.rs` (the op families on it),
//! `reduce.rs`, `matmul.rs`, `stream.rs` (streaming stores), this file (softmax, sqrt into an
//! existing array).

pub(crate) mod elementwise;
pub(crate) mod gather;
mod matmul;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod simd;
pub(crate) mod sort;
mod stream;
mod walk;

use rayon::prelude::*;
use simd::multiversion;
use std::mem::MaybeUninit;

pub(crate) use elementwise::{convert, copy};
pub(crate) use walk::concat;
pub(crate) use matmul::{gemm_batched, gemm_into};
pub(crate) use simd::CpuMath;

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
