//! Indexing on the CPU, the twin of `kernels_gpu::ops::gather`: gather over a [`Walk`] (split
//! across cores by rows of the contiguous output, a row whose index is constant copied as one
//! slice), scatter in the index's row-major order on one core (so a repeated index keeps the
//! last value, and `scatter_add` sums each output's terms in index order in the compute type,
//! rounded once: bit for bit the GPU's result), and mask compaction.
//!
//! A bad index is returned as `Err(value)`: the first in row-major order.

use super::walk::row_starts;
use crate::array::layout::Walk;
use kernels_gpu::prelude::{Elem, Num};

/// Below this many elements one core does the whole gather.
const PARALLEL_MIN: usize = 1 << 15;

/// `k` checked against an axis of `n` (negative from the end with `wrap`), or the raw value.
#[inline(always)]
fn checked(raw: i64, n: usize, wrap: bool) -> Result<isize, i64> {
    let k = if wrap && raw < 0 { raw + n as i64 } else { raw };
    if k < 0 || k >= n as i64 { Err(raw) } else { Ok(k as isize) }
}

/// `y[w] = x[w + k·axis_step]` with `k = idx[w]` over the walk (operands: `y`, contiguous from
/// 0; `x` with step 0 along the axis; `idx`).
pub(crate) fn gather<T: Copy + Send + Sync>(
    x: &[T],
    idx: &[i64],
    y: &mut [T],
    walk: &Walk,
    axis_step: isize,
    n: usize,
    wrap: bool,
) -> Result<(), i64> {
    let total = walk.len();
    if total == 0 {
        return Ok(());
    }
    let inner = *walk.dims.last().unwrap();
    let (xs, is) = (*walk.operands[1].1.last().unwrap(), *walk.operands[2].1.last().unwrap());
    let ys = *walk.operands[0].1.last().unwrap();
    debug_assert!(ys == 1 || inner == 1, "the output is contiguous");
    let rows = total / inner;
    // Rows `first..` into `y` (the output's rows from `first`, contiguous).
    let run = |first: usize, y: &mut [T]| -> Result<(), i64> {
        let count = y.len() / inner;
        let mut result = Ok(());
        row_starts(walk, 0, first..first + count, &mut |r, at| {
            if result.is_err() {
                return;
            }
            let out = &mut y[(r - first) * inner..(r - first + 1) * inner];
            let (xa, ia) = (at[1], at[2]);
            if is == 0 {
                // One index for the whole row: one check, then a copy.
                match checked(idx[ia as usize], n, wrap) {
                    Ok(k) => {
                        let base = xa + k * axis_step;
                        if xs == 1 {
                            out.copy_from_slice(&x[base as usize..base as usize + inner]);
                        } else {
                            for (c, o) in out.iter_mut().enumerate() {
                                *o = x[(base + c as isize * xs) as usize];
                            }
                        }
                    }
                    Err(raw) => result = Err(raw),
                }
                return;
            }
            for (c, o) in out.iter_mut().enumerate() {
                let c = c as isize;
                match checked(idx[(ia + c * is) as usize], n, wrap) {
                    Ok(k) => *o = x[(xa + c * xs + k * axis_step) as usize],
                    Err(raw) => {
                        result = Err(raw);
                        return;
                    }
                }
            }
        });
        result
    };
    let y = &mut y[..total];
    if total < PARALLEL_MIN {
        return run(0, y);
    }
    let per = (PARALLEL_MIN / inner).max(1);
    let results: Vec<Result<(), i64>> = super::par::map_chunks_mut(y, per * inner, &|t, chunk| run(t * per, chunk));
    debug_assert_eq!(results.len(), rows.div_ceil(per));
    results.into_iter().collect()
}

/// For each index element (row-major over the walk of the index's shape; operands: `idx`,
/// `src`, `y` with step 0 along the axis), `y[w + k·y_step]` takes `src[w]` (or, with `add`,
/// adds it, in the compute type, rounded once per output at the end).
pub(crate) fn scatter<K: Elem>(
    src: &[K],
    idx: &[i64],
    y: &mut [K],
    walk: &Walk,
    y_step: isize,
    n: usize,
    add: bool,
) -> Result<(), i64> {
    if walk.len() == 0 {
        return Ok(());
    }
    let inner = *walk.dims.last().unwrap();
    let steps: Vec<isize> = walk.operands.iter().map(|o| *o.1.last().unwrap()).collect();
    let mut acc: Vec<(K::Compute, bool)> = if add { y.iter().map(|v| (v.load(), false)).collect() } else { Vec::new() };
    let mut result = Ok(());
    row_starts(walk, 0, 0..walk.len() / inner, &mut |_, at| {
        for c in 0..inner as isize {
            if result.is_err() {
                return;
            }
            let k = match checked(idx[(at[0] + c * steps[0]) as usize], n, false) {
                Ok(k) => k,
                Err(raw) => {
                    result = Err(raw);
                    return;
                }
            };
            let v = src[(at[1] + c * steps[1]) as usize];
            let o = (at[2] + c * steps[2] + k * y_step) as usize;
            if add {
                acc[o] = (acc[o].0.add(v.load()), true);
            } else {
                y[o] = v;
            }
        }
    });
    result?;
    for (o, (a, hit)) in y.iter_mut().zip(acc) {
        if hit {
            *o = K::store(a);
        }
    }
    Ok(())
}

/// The elements of `x` where the mask is true, in row-major order, over the walk (operands:
/// the mask and `x`, both of the broadcast shape).
pub(crate) fn masked_select<T: Copy>(mask: &[bool], x: &[T], walk: &Walk, out: &mut [T]) {
    if walk.len() == 0 {
        return;
    }
    let inner = *walk.dims.last().unwrap();
    let (ms, xs) = (*walk.operands[0].1.last().unwrap(), *walk.operands[1].1.last().unwrap());
    let mut next = 0;
    row_starts(walk, 0, 0..walk.len() / inner, &mut |_, at| {
        for c in 0..inner as isize {
            if mask[(at[0] + c * ms) as usize] {
                out[next] = x[(at[1] + c * xs) as usize];
                next += 1;
            }
        }
    });
    debug_assert_eq!(next, out.len());
}

/// The number of true elements of the mask over the walk (one operand).
pub(crate) fn count(mask: &[bool], walk: &Walk) -> usize {
    if walk.len() == 0 {
        return 0;
    }
    let inner = *walk.dims.last().unwrap();
    let ms = *walk.operands[0].1.last().unwrap();
    let mut n = 0;
    row_starts(walk, 0, 0..walk.len() / inner, &mut |_, at| {
        n += (0..inner as isize).filter(|&c| mask[(at[0] + c * ms) as usize]).count();
    });
    n
}

/// The coordinates in `shape` of the true elements of `mask` (contiguous, row-major), as rows
/// of `out`.
pub(crate) fn nonzero(mask: &[bool], shape: &[usize], out: &mut [i64]) {
    let nd = shape.len();
    let mut row = 0;
    for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
        let mut rest = i;
        for d in (0..nd).rev() {
            out[row * nd + d] = (rest % shape[d]) as i64;
            rest /= shape[d];
        }
        row += 1;
    }
}
