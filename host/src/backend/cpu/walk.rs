//! The CPU's elementwise engine, the twin of the kernels' `ops/map.rs`: `out = f(in...)` over
//! a [`Walk`] (the operands' layouts coalesced into the fewest dimensions).
//!
//! A contiguous walk is plain slices (the loop vectorizes, compiled for AVX-512 or AVX2 where
//! the CPU has them: `simd::dispatch`), split across cores when large. Otherwise the walk goes
//! row by row (every dimension but the last), each row an inner loop with constant steps; rows
//! are split across cores when the output's rows are contiguous, disjoint slices of it.

use super::{par, simd};
use crate::array::layout::Walk;

/// Below this many elements one core does the whole walk.
const PARALLEL_MIN: usize = 1 << 15;

/// The element offsets of the first element of each row, in order, for rows `range` (rows
/// are every dimension but the last, row-major). `f` is a `dyn` on purpose: one indirect call
/// per row, against a copy of this function per op, dtype and path (a quarter of the
/// library's LLVM IR when it took `impl FnMut`; see `par.rs`).
pub(crate) fn row_starts(walk: &Walk, k: usize, range: std::ops::Range<usize>, f: &mut dyn FnMut(usize, [isize; 4])) {
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

/// Outputs from this many bytes on are split into tasks of whole `PAGE`s (the size from which
/// `alloc.rs` asks for huge pages).
const LARGE: usize = 4 << 20;

/// A transparent huge page.
const PAGE: usize = 2 << 20;

/// Rows per task so that each holds about `PARALLEL_MIN` elements, or for a large output at
/// least a huge page of it (see [`runs`]).
fn rows_per_task<O>(inner: usize, n: usize) -> usize {
    let min = if n * size_of::<O>() >= LARGE { PAGE / size_of::<O>().max(1) } else { PARALLEL_MIN };
    (min / inner.max(1)).max(1)
}

/// Runs `f(start, run)` over `y` split into runs, in parallel when large: runs of
/// `PARALLEL_MIN` elements, or for a large output runs of whole 2 MiB stretches of its
/// addresses. A fresh output is written page fault by page fault, and with huge pages one
/// fault zeroes 2 MiB: threads writing small runs of one huge page wait on each other's
/// faults. Measured at 1e7 f32 into fresh memory on 2 cores: 7.5 ms in runs of 32 Ki
/// elements, 5.5 ms in runs of whole huge pages, 5.6 ms on one thread.
fn runs<O: Send>(y: &mut [O], f: impl Fn(usize, &mut [O]) + Sync + Send) {
    let n = y.len();
    let size = size_of::<O>().max(1);
    if n < PARALLEL_MIN {
        return f(0, y);
    }
    if n * size < LARGE {
        return par::chunks_mut(y, PARALLEL_MIN, &|t, y| f(t * PARALLEL_MIN, y));
    }
    let per = PAGE / size;
    let head = ((y.as_ptr() as usize).next_multiple_of(PAGE) - y.as_ptr() as usize) / size;
    let (first, rest) = y.split_at_mut(head.min(n));
    let mut first = Some(first);
    par::join(&mut || f(0, first.take().expect("joined once")), &mut || {
        par::chunks_mut(rest, per, &|t, y| f(head + t * per, y))
    });
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
const TILE: usize = 64;

/// Whether operand `k` is walked across its rows: a long step along the last dimension and a
/// unit step along the one before (a transposed view), so that consecutive rows of the walk
/// read neighbouring elements of it.
fn transposed(walk: &Walk, k: usize) -> bool {
    let d = walk.dims.len();
    let s = &walk.operands[k].1;
    d >= 2 && s[d - 1].unsigned_abs() > 1 && s[d - 2].unsigned_abs() == 1 && walk.dims[d - 2] > 1
}

/// [`map1`] for an input walked across its rows (`transposed`) into a dense `y` (the walk's
/// output rows back to back, from 0), in tiles of `TILE` rows by `TILE` columns. Row by row,
/// each output row reads one input column: a cache line, and for large inputs a page, per
/// element (4096x2500 f32: 109 ms, 40 times a copy). A tile reads its input as `TILE` runs of
/// up to `TILE` consecutive elements into a buffer in L1 (when the block's rows start at
/// consecutive input elements, as in a transpose; gathered otherwise), then writes its output
/// rows from that buffer. Blocks of rows (at least a huge page of output when large) go to
/// threads. Measured at 4096x2500 f32 on a loaded machine: 36 ms in 32-wide tiles read in
/// place, 25 ms in 64-wide tiles through the buffer, 12 ms for a plain copy of as many bytes:
/// the input is still read 256 bytes per row at a time, 10 KB apart.
fn tiled1<I: Copy + Sync, O: Copy + Send>(x: &[I], y: &mut [O], walk: &Walk, f: impl Fn(I) -> O + Sync + Send) {
    let inner = *walk.dims.last().unwrap();
    let xs = *walk.operands[1].1.last().unwrap();
    // One tile-high block of rows from row `first`.
    let block = |first: usize, y: &mut [O]| {
        let mut starts = [0isize; TILE];
        let count = y.len() / inner;
        row_starts(walk, 1, first..first + count, &mut |r, at| starts[r - first] = at[1]);
        let runs = starts[..count].iter().enumerate().all(|(r, &s)| s == starts[0] + r as isize);
        let mut buf = [[x[starts[0] as usize]; TILE]; TILE];
        for c0 in (0..inner).step_by(TILE) {
            let width = TILE.min(inner - c0);
            // buf[c][r]: column c0 + c of output row r.
            for (c, b) in buf[..width].iter_mut().enumerate() {
                let at = starts[0] + (c0 + c) as isize * xs;
                if runs {
                    b[..count].copy_from_slice(&x[at as usize..][..count]);
                } else {
                    for (r, v) in b[..count].iter_mut().enumerate() {
                        *v = x[(starts[r] + (c0 + c) as isize * xs) as usize];
                    }
                }
            }
            for r in 0..count {
                for (c, o) in y[r * inner + c0..][..width].iter_mut().enumerate() {
                    *o = f(buf[c][r]);
                }
            }
        }
    };
    let blocks = |first: usize, y: &mut [O]| {
        for (t, y) in y.chunks_mut(TILE * inner).enumerate() {
            block(first + t * TILE, y);
        }
    };
    let n = walk.len();
    if n >= PARALLEL_MIN {
        let per = rows_per_task::<O>(inner, n).next_multiple_of(TILE);
        par::chunks_mut(y, per * inner, &|t, y| blocks(t * per, y));
    } else {
        blocks(0, y);
    }
}

/// `y[w] = f(x[w])` over the walk (operand 0: `y`, 1: `x`).
pub(crate) fn map1<I: Copy + Sync, O: Copy + Send>(
    x: &[I],
    y: &mut [O],
    walk: &Walk,
    f: impl Fn(I) -> O + Sync + Send,
) {
    let n = walk.len();
    if n == 0 {
        return;
    }
    let inner = *walk.dims.last().unwrap();
    let (yo, xo) = (walk.operands[0].0, walk.operands[1].0);
    if walk.is_contiguous() {
        let (x, y) = (&x[xo..xo + n], &mut y[yo..yo + n]);
        runs(y, |at, y| {
            let x = &x[at..at + y.len()];
            simd::dispatch(|| {
                for (o, &i) in y.iter_mut().zip(x) {
                    *o = f(i);
                }
            })
        });
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
        let per = rows_per_task::<O>(inner, n);
        let y = &mut y[yo..yo + n];
        par::chunks_mut(y, per * inner, &|t, chunk| {
            let first = t * per;
            row_starts(walk, 1, first..(first + per).min(rows), &mut |r, at| {
                row(chunk, ((r - first) * inner) as isize, at[1])
            });
        });
    } else {
        row_starts(walk, 1, 0..rows, &mut |_, at| row(y, at[0], at[1]));
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
        runs(y, |at, y| {
            let (a, b) = (&a[at..at + y.len()], &b[at..at + y.len()]);
            simd::dispatch(|| {
                for ((o, &x), &z) in y.iter_mut().zip(a).zip(b) {
                    *o = f(x, z);
                }
            })
        });
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
                let (yv, av, bv) =
                    (&mut y[y_at as usize..][..inner], &a[a_at as usize..][..inner], &b[b_at as usize..][..inner]);
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
        let per = rows_per_task::<O>(inner, n);
        let y = &mut y[yo..yo + n];
        par::chunks_mut(y, per * inner, &|t, chunk| {
            let first = t * per;
            row_starts(walk, 1, first..(first + per).min(rows), &mut |r, at| {
                row(chunk, ((r - first) * inner) as isize, at[1], at[2])
            });
        });
    } else {
        row_starts(walk, 1, 0..rows, &mut |_, at| row(y, at[0], at[1], at[2]));
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
        let per = rows_per_task::<O>(inner, n);
        let y = &mut y[yo..yo + n];
        par::chunks_mut(y, per * inner, &|t, chunk| {
            let first = t * per;
            row_starts(walk, 1, first..(first + per).min(rows), &mut |r, mut at| {
                at[0] = ((r - first) * inner) as isize;
                row(chunk, at)
            });
        });
    } else {
        row_starts(walk, 1, 0..rows, &mut |_, at| row(y, at));
    }
}

/// `y[w] = f(y[w], b[w])` in place over the walk (operands: `y`, `y` again, `b`), so that an
/// in-place op (`a += b`) reads and writes its left operand without a copy of it.
pub(crate) fn update2<B: Copy + Sync, O: Copy + Send + Sync>(
    y: &mut [O],
    b: &[B],
    walk: &Walk,
    f: impl Fn(O, B) -> O + Sync + Send,
) {
    let n = walk.len();
    if n == 0 {
        return;
    }
    let inner = *walk.dims.last().unwrap();
    let (yo, bo) = (walk.operands[0].0, walk.operands[2].0);
    if walk.is_contiguous() {
        let (b, y) = (&b[bo..bo + n], &mut y[yo..yo + n]);
        runs(y, |at, y| {
            let b = &b[at..at + y.len()];
            simd::dispatch(|| {
                for (o, &z) in y.iter_mut().zip(b) {
                    *o = f(*o, z);
                }
            })
        });
        return;
    }
    let (ys, bs) = (*walk.operands[0].1.last().unwrap(), *walk.operands[2].1.last().unwrap());
    let row = |y: &mut [O], y_at: isize, b_at: isize| {
        let (mut yi, mut bi) = (y_at, b_at);
        for _ in 0..inner {
            y[yi as usize] = f(y[yi as usize], b[bi as usize]);
            yi += ys;
            bi += bs;
        }
    };
    let rows = n / inner;
    if n >= PARALLEL_MIN && dense(walk, 0) {
        let per = rows_per_task::<O>(inner, n);
        let y = &mut y[yo..yo + n];
        par::chunks_mut(y, per * inner, &|t, chunk| {
            let first = t * per;
            row_starts(walk, 2, first..(first + per).min(rows), &mut |r, at| {
                row(chunk, ((r - first) * inner) as isize, at[2])
            });
        });
    } else {
        row_starts(walk, 2, 0..rows, &mut |_, at| row(y, at[0], at[2]));
    }
}

/// `y` = `parts` back to back, in one parallel pass over `y` in the runs of [`runs`] (whole
/// huge pages when large), each run copying from whichever parts it overlaps: a join as fast
/// as one copy, where a copy per part would start and end a parallel region per part, each
/// splitting its own piece of the output.
pub(crate) fn concat<T: Copy + Send + Sync>(parts: &[&[T]], y: &mut [T]) {
    let mut starts = Vec::with_capacity(parts.len());
    let mut at = 0;
    for p in parts {
        starts.push(at);
        at += p.len();
    }
    debug_assert_eq!(at, y.len());
    runs(y, |at, mut out| {
        let (mut pos, mut p) = (at, starts.partition_point(|&s| s <= at).saturating_sub(1));
        while !out.is_empty() {
            let off = pos - starts[p];
            let take = (parts[p].len() - off).min(out.len());
            out[..take].copy_from_slice(&parts[p][off..off + take]);
            out = &mut out[take..];
            pos += take;
            p += 1;
        }
    });
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
