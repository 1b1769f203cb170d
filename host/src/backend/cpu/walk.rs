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

/// Rows and columns per tile of [`tiled1`].
const TILE: usize = 32;

/// Whether operand `k` is walked across its rows: a long step along the last dimension and a
/// unit step along the one before (a transposed view), so that consecutive rows of the walk
/// read neighbouring elements of it.
fn transposed(walk: &Walk, k: usize) -> bool {
    let d = walk.dims.len();
    let s = &walk.operands[k].1;
    d >= 2 && s[d - 1].unsigned_abs() > 1 && s[d - 2].unsigned_abs() == 1 && walk.dims[d - 2] > 1
}

/// [`map1`] for an input walked across its rows (`transposed`) into a dense `y` (the walk's
/// output rows back to back, from 0): tiles of `TILE` rows by `TILE` columns, so that the
/// input's cache lines, each holding elements of several consecutive rows, are used up while
/// they are in L1 (row by row, each is loaded once per row: a transpose at a tenth of the
/// copy rate, with a TLB miss per element for large inputs). Blocks of rows go to threads.
fn tiled1<I: Copy + Sync, O: Copy + Send>(x: &[I], y: &mut [O], walk: &Walk, f: impl Fn(I) -> O + Sync + Send) {
    let inner = *walk.dims.last().unwrap();
    let xs = *walk.operands[1].1.last().unwrap();
    let block = |first: usize, y: &mut [O]| {
        let mut starts = [0isize; TILE];
        let count = y.len() / inner;
        row_starts(walk, 1, first..first + count, |r, at| starts[r - first] = at[1]);
        for c0 in (0..inner).step_by(TILE) {
            let width = TILE.min(inner - c0);
            for (r, &start) in starts[..count].iter().enumerate() {
                let out = &mut y[r * inner + c0..][..width];
                let mut at = start + c0 as isize * xs;
                for o in out {
                    *o = f(x[at as usize]);
                    at += xs;
                }
            }
        }
    };
    if walk.len() >= PARALLEL_MIN {
        y.par_chunks_mut(TILE * inner).enumerate().for_each(|(t, y)| block(t * TILE, y));
    } else {
        y.chunks_mut(TILE * inner).enumerate().for_each(|(t, y)| block(t * TILE, y));
    }
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
    if ys == 1 && transposed(walk, 1) && dense(walk, 0) {
        return tiled1(x, &mut y[yo..yo + n], walk, f);
    }
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

#[cfg(test)]
mod tests {
    use crate::Array;

    /// Transposed copies (the tiled walk) against plain indexing: shapes around the tile edge,
    /// a 3-D permutation, a reversed axis and a non-zero offset, small (one thread) and large.
    #[test]
    fn transposed_copies_match_indexing() {
        for (rows, cols) in [(1, 1), (2, 3), (31, 33), (32, 64), (65, 7), (300, 129), (4, 20000)] {
            let v: Vec<u32> = (0..(rows * cols) as u32).collect();
            let x = Array::from_vec(v.clone(), &[rows, cols]).unwrap();
            let t = x.t().contiguous().unwrap().to_vec().unwrap();
            for c in 0..cols {
                for r in 0..rows {
                    assert_eq!(t[c * rows + r], v[r * cols + c], "{rows}x{cols} at ({c}, {r})");
                }
            }
            // Reversed rows, then transposed: a step of -1 along the rows.
            let f = x.slice_axis(0, None, None, -1).unwrap().t().contiguous().unwrap().to_vec().unwrap();
            assert_eq!(f[0], v[(rows - 1) * cols], "{rows}x{cols} reversed");
            // From an offset: rows 1.. only.
            if rows > 1 {
                let s = x.slice_axis(0, Some(1), None, 1).unwrap().t().contiguous().unwrap().to_vec().unwrap();
                for c in 0..cols {
                    for r in 1..rows {
                        assert_eq!(s[c * (rows - 1) + r - 1], v[r * cols + c], "{rows}x{cols} from row 1");
                    }
                }
            }
        }
        let (a, b, c) = (7, 45, 70);
        let v: Vec<f32> = (0..a * b * c).map(|i| i as f32).collect();
        let x = Array::from_vec(v.clone(), &[a, b, c]).unwrap();
        let p = x.permute(&[0, 2, 1]).unwrap().contiguous().unwrap().to_vec().unwrap();
        for i in 0..a {
            for k in 0..c {
                for j in 0..b {
                    assert_eq!(p[(i * c + k) * b + j], v[(i * b + j) * c + k]);
                }
            }
        }
        let q = x.permute(&[2, 1, 0]).unwrap().contiguous().unwrap().to_vec().unwrap();
        assert_eq!(q[(5 * b + 3) * a + 2], v[(2 * b + 3) * c + 5]);
    }
}
