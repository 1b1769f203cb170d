//! rayon behind a `dyn` task: the CPU backend's parallel loops, compiled once per element type
//! instead of once per closure.
//!
//! rayon's plumbing (producers, consumers, `join_context`, the job types) is generic over the
//! closure it runs, and the backend's closures are one per op, dtype and path: called with
//! them directly, it was instantiated about 120,000 times, 4.4 of the library's 8.7 million
//! lines of LLVM IR (`cargo llvm-lines --lib`), and again in every test crate that reached a
//! generic entry. A task here is one chunk of elements (`chunks_mut`: at least 32 Ki elements in
//! `walk.rs`) or one output (`map_range` in `reduce.rs`: a whole reduction, which can be as
//! short as one element), so there is one indirect call per chunk or output; the loop inside
//! the task is still the caller's own, monomorphic and vectorized. The loops that still call
//! rayon directly (softmax, scan, sort keys, matmul panels) are instantiated per element type
//! only, a handful of copies each.

use rayon::prelude::*;

/// `task(index, chunk)` for each `size`-element chunk of `y` (the last may be shorter), in
/// parallel.
pub(crate) fn chunks_mut<O: Send>(y: &mut [O], size: usize, task: &(dyn Fn(usize, &mut [O]) + Sync)) {
    y.par_chunks_mut(size).enumerate().for_each(|(t, chunk)| task(t, chunk));
}

/// A chunk's task that can fail.
type TryTask<'a, O, E> = dyn Fn(usize, &mut [O]) -> Result<(), E> + Sync + 'a;

/// As [`chunks_mut`], stopping at the first error (which chunk's error comes back when several
/// fail is unspecified).
pub(crate) fn try_chunks_mut<O: Send, E: Send>(y: &mut [O], size: usize, task: &TryTask<'_, O, E>) -> Result<(), E> {
    y.par_chunks_mut(size).enumerate().try_for_each(|(t, chunk)| task(t, chunk))
}

/// `[task(0, first chunk), task(1, second chunk), ...]` over the `size`-element chunks of `y`,
/// computed in parallel, in chunk order.
pub(crate) fn map_chunks_mut<O: Send, R: Send>(
    y: &mut [O],
    size: usize,
    task: &(dyn Fn(usize, &mut [O]) -> R + Sync),
) -> Vec<R> {
    y.par_chunks_mut(size).enumerate().map(|(t, chunk)| task(t, chunk)).collect()
}

/// `[task(0), ..., task(n - 1)]`, computed in parallel.
pub(crate) fn map_range<R: Send>(n: usize, task: &(dyn Fn(usize) -> R + Sync)) -> Vec<R> {
    (0..n).into_par_iter().map(task).collect()
}

/// `a()` and `b()` at once (each is called once).
pub(crate) fn join(a: &mut (dyn FnMut() + Send), b: &mut (dyn FnMut() + Send)) {
    rayon::join(a, b);
}
