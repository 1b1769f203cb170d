//! The CPU's elementwise engine, the twin of the kernels' `ops/map.rs`: `out = f(in...)` over
//! a [`Walk`] (the operands' layouts coalesced into the fewest dimensions).
//!
//! A contiguous walk is plain slices (the loop vectorizes, compiled for AVX-512 or AVX2 where
//! the CPU has them: `simd::dispatch`), split across cores when large. Otherwise the walk goes
//! row by row (every dimension but the last), each row an inner loop with constant steps; rows
//! are split across cores when the output's rows are contiguous, disjoint slices of it.

use super::simd;
use crate::array::layout::Walk;
use rayon::prelude::*;

/// Below this many elements one core does the whole walk.
const PARALLEL_MIN: usize = 1 << 15;

/// The element offsets of the first element of each row, in order, for rows `range` (rows
/// are every dimension but the last, row-major).
fn row_starts(walk: &Walk, k: usize, range: std::ops::Range<usize>, mut f: impl FnMut(usize, [isize; 4])) {
    let outer = &walk.dims[..walk.dims.len() - 1];
    let ops = walk.operands.len();
    // The multi-index of the first row, then counted up.
    let mut index = vec![0usize; outer.len()];
    let mut rest = range.start;
    for d in (0..outer.len()).rev() {
        index[d] = rest % outer[d];
        rest /= outer[d];
    }
    let mut at = [0isize; 4];
    for (o, a) in walk.operands.iter().zip(&mut at).take(ops) {
        *a = o.0 as isize + index.iter().zip(&o.1).map(|(&i, &s)| i as isize * s).sum::<isize>();
    }
    let _ = k;
    for row in range {
        f(row, at);
        // Count up, carrying; each operand's offset moves by its strides.
        for d in (0..outer.len()).rev() {
            index[d] += 1;
            for (o, a) in walk.operands.iter().zip(&mut at).take(ops) {
                *a += o.1[d];
            }
            if index[d] < outer[d] {
                break;
            }
            for (o, a) in walk.operands.iter().zip(&mut at).take(ops) {
                *a -= o.1[d] * outer[d] as isize;
            }
            index[d] = 0;
        }
    }
}

/// Rows per task so that each holds about `PARALLEL_MIN` elements.
fn rows_per_task(inner: usize) -> usize {
    (PARALLEL_MIN / inner.max(1)).max(1)
}

/// Whether operand `k`'s rows are contiguous and back to back in walk order (its rows are
/// then disjoint slices, which threads may write at once).
fn dense(walk: &Walk, k: usize) -> bool {
    let (_, s) = &walk.operands[k];
    let mut step = 1isize;
    for (&d, &st) in walk.dims.iter().zip(s).rev() {
        if d > 1 && st != step {
            return false;
        }
        step *= d as isize;
    }
    true
}

/// `y[w] = f(x[w])` over the walk (operand 0: `y`, 1: `x`).
pub(crate) fn map1<I: Copy + Sync, O: Copy + Send>(x: &[I], y: &mut [O], walk: &Walk, f: impl Fn(I) -> O + Sync + Send) {
    let n = walk.len();
    if n == 0 {
        return;
    }
    let inner = *walk.dims.last().unwrap();
    let (yo, xo) = (walk.operands[0].0, walk.operands[1].0);
    if walk.is_contiguous() {
        let (x, y) = (&x[xo..xo + n], &mut y[yo..yo + n]);
        let run = |x: &[I], y: &mut [O]| {
            simd::dispatch(|| {
                for (o, &i) in y.iter_mut().zip(x) {
                    *o = f(i);
                }
            })
        };
        if n < PARALLEL_MIN {
            run(x, y);
        } else {
            y.par_chunks_mut(PARALLEL_MIN).zip(x.par_chunks(PARALLEL_MIN)).for_each(|(y, x)| run(x, y));
        }
        return;
    }
    let (ys, xs) = (*walk.operands[0].1.last().unwrap(), *walk.operands[1].1.last().unwrap());
    let row = |y: &mut [O], y_at: isize, x_at: isize| {
        let (mut yi, mut xi) = (y_at, x_at);
        for _ in 0..inner {
            y[yi as usize] = f(x[xi as usize]);
            yi += ys;
            xi += xs;
        }
    };
    let rows = n / inner;
    if n >= PARALLEL_MIN && dense(walk, 0) {
        let per = rows_per_task(inner);
        let y = &mut y[yo..yo + n];
        y.par_chunks_mut(per * inner).enumerate().for_each(|(t, chunk)| {
            let first = t * per;
            row_starts(walk, 1, first..(first + per).min(rows), |r, at| row(chunk, ((r - first) * inner) as isize, at[1]));
        });
    } else {
        row_starts(walk, 1, 0..rows, |_, at| row(y, at[0], at[1]));
    }
}

/// `y[w] = f(a[w], b[w])` over the walk (operands: `y`, `a`, `b`).
pub(crate) fn map2<A: Copy + Sync, B: Copy + Sync, O: Copy + Send>(
    a: &[A],
    b: &[B],
    y: &mut [O],
    walk: &Walk,
    f: impl Fn(A, B) -> O + Sync + Send,
) {
    let n = walk.len();
    if n == 0 {
        return;
    }
    let inner = *walk.dims.last().unwrap();
    let (yo, ao, bo) = (walk.operands[0].0, walk.operands[1].0, walk.operands[2].0);
    if walk.is_contiguous() {
        let (a, b, y) = (&a[ao..ao + n], &b[bo..bo + n], &mut y[yo..yo + n]);
        let run = |a: &[A], b: &[B], y: &mut [O]| {
            simd::dispatch(|| {
                for ((o, &x), &z) in y.iter_mut().zip(a).zip(b) {
                    *o = f(x, z);
                }
            })
        };
        if n < PARALLEL_MIN {
            run(a, b, y);
        } else {
            y.par_chunks_mut(PARALLEL_MIN)
                .zip(a.par_chunks(PARALLEL_MIN).zip(b.par_chunks(PARALLEL_MIN)))
                .for_each(|(y, (a, b))| run(a, b, y));
        }
        return;
    }
    let steps: Vec<isize> = walk.operands.iter().map(|o| *o.1.last().unwrap()).collect();
    let (ys, as_, bs) = (steps[0], steps[1], steps[2]);
    let row = |y: &mut [O], y_at: isize, a_at: isize, b_at: isize| {
        simd::dispatch(|| {
            if ys == 1 && as_ == 1 && bs == 0 {
                let (yv, av, bv) = (&mut y[y_at as usize..][..inner], &a[a_at as usize..][..inner], b[b_at as usize]);
                for (o, &x) in yv.iter_mut().zip(av) {
                    *o = f(x, bv);
                }
            } else if ys == 1 && as_ == 0 && bs == 1 {
                let (yv, av, bv) = (&mut y[y_at as usize..][..inner], a[a_at as usize], &b[b_at as usize..][..inner]);
                for (o, &z) in yv.iter_mut().zip(bv) {
                    *o = f(av, z);
                }
            } else if ys == 1 && as_ == 1 && bs == 1 {
                let (yv, av, bv) = (&mut y[y_at as usize..][..inner], &a[a_at as usize..][..inner], &b[b_at as usize..][..inner]);
                for ((o, &x), &z) in yv.iter_mut().zip(av).zip(bv) {
                    *o = f(x, z);
                }
            } else {
                let (mut yi, mut ai, mut bi) = (y_at, a_at, b_at);
                for _ in 0..inner {
                    y[yi as usize] = f(a[ai as usize], b[bi as usize]);
                    yi += ys;
                    ai += as_;
                    bi += bs;
                }
            }
        })
    };
    let rows = n / inner;
    if n >= PARALLEL_MIN && dense(walk, 0) {
        let per = rows_per_task(inner);
        let y = &mut y[yo..yo + n];
        y.par_chunks_mut(per * inner).enumerate().for_each(|(t, chunk)| {
            let first = t * per;
            row_starts(walk, 1, first..(first + per).min(rows), |r, at| {
                row(chunk, ((r - first) * inner) as isize, at[1], at[2])
            });
        });
    } else {
        row_starts(walk, 1, 0..rows, |_, at| row(y, at[0], at[1], at[2]));
    }
}

/// `y[w] = f(c[w], a[w], b[w])` over the walk (operands: `y`, `c`, `a`, `b`), row by row.
pub(crate) fn map3<C: Copy + Sync, A: Copy + Sync, B: Copy + Sync, O: Copy + Send>(
    c: &[C],
    a: &[A],
    b: &[B],
    y: &mut [O],
    walk: &Walk,
    f: impl Fn(C, A, B) -> O + Sync + Send,
) {
    let n = walk.len();
    if n == 0 {
        return;
    }
    let inner = *walk.dims.last().unwrap();
    let steps: Vec<isize> = walk.operands.iter().map(|o| *o.1.last().unwrap()).collect();
    let row = |y: &mut [O], at: [isize; 4]| {
        let mut at = at;
        for _ in 0..inner {
            y[at[0] as usize] = f(c[at[1] as usize], a[at[2] as usize], b[at[3] as usize]);
            for (k, s) in steps.iter().enumerate() {
                at[k] += s;
            }
        }
    };
    let rows = n / inner;
    let yo = walk.operands[0].0;
    if n >= PARALLEL_MIN && dense(walk, 0) {
        let per = rows_per_task(inner);
        let y = &mut y[yo..yo + n];
        y.par_chunks_mut(per * inner).enumerate().for_each(|(t, chunk)| {
            let first = t * per;
            row_starts(walk, 1, first..(first + per).min(rows), |r, mut at| {
                at[0] = ((r - first) * inner) as isize;
                row(chunk, at)
            });
        });
    } else {
        row_starts(walk, 1, 0..rows, |_, at| row(y, at));
    }
}
