//! Reductions on the CPU, with the kernels' own element, combine and finish formulas
//! (`kernels_gpu::ops::reduce`), compiled once per op (the op is a const generic, so the
//! formulas' branches on it fold away) and per dtype.
//!
//! Three ways through, by where the input is contiguous:
//! - the reduced elements of each output contiguous (rows, `sum(axis=-1)`): each output folds
//!   its slice in chunks of `CHUNK`, each chunk into 16 independent partial results (so the
//!   loop runs at the adds' throughput and vectorizes), chunks combined in order;
//! - the kept dimension innermost and contiguous (columns, `sum(axis=0)`): a vector of
//!   results per block of columns, updated row by row (contiguous, vectorized), in chunks of
//!   `CHUNK` rows combined in order;
//! - anything else: each output folds its elements in order, in chunks.
//!
//! Outputs are split across cores. The order differs from the GPU's but has the same kind of
//! error bound: about `(CHUNK + n/CHUNK)·u` for an n-term sum.

use super::simd;
use crate::array::layout::Layout;
use crate::array::storage::kernel_slice;
use crate::dtype::Element;
use kernels_gpu::ops::reduce::{Acc, CHUNK, Reduce, Reducible, State, combine, element, identity};
use kernels_gpu::prelude::Num;

/// A reduction's request: the op, the input's kept and reduced dimensions (each a layout over
/// the input's storage, `keep` with the input's offset, `red` from 0), the per-output center,
/// the scale and the finish.
pub(crate) struct Request<'a, A> {
    pub op: Reduce,
    pub keep: &'a Layout,
    pub red: &'a Layout,
    pub center: Option<&'a [A]>,
    pub scale: A,
    pub post: u32,
}

/// The results in the accumulator type, and the indices for arg ops.
pub(crate) type Results<A> = (Vec<A>, Option<Vec<i64>>);

/// The reduction of `x` (of host element type `T`) as `req` asks.
pub(crate) fn reduce<T: Element>(
    x: &[T],
    req: &Request<'_, <T::Kernel as Reducible>::Acc>,
) -> Results<<T::Kernel as Reducible>::Acc>
where
    T::Kernel: Reducible + Sync,
{
    let x = kernel_slice(x);
    macro_rules! ops {
        ($($op:ident),*) => {
            match req.op {
                $(Reduce::$op => run::<T::Kernel, { Reduce::$op as u32 }>(x, req),)*
            }
        };
    }
    ops!(Sum, Prod, Max, Min, ArgMax, ArgMin, SumSq, SumSqDev, SumExpShift)
}

fn run<K: Reducible + Sync, const OP: u32>(x: &[K], req: &Request<'_, K::Acc>) -> Results<K::Acc> {
    let n_out = req.keep.len();
    let mut values = vec![K::Acc::ZERO; n_out];
    let mut indices = Reduce::is_arg_code(OP).then(|| vec![0i64; n_out]);
    if n_out == 0 {
        return (values, indices);
    }
    let keep_offsets = offsets(req.keep);
    let finish = |s: State<K::Acc>, o: usize| K::Acc::post(s.v.mul(req.scale), req.post, center_of(req.center, o));
    let red_contiguous = req.red.is_contiguous() || req.red.len() <= 1;
    let keep_inner_unit =
        req.keep.ndim() > 0 && *req.keep.strides().last().unwrap() == 1 && *req.keep.shape().last().unwrap() > 1;
    if red_contiguous {
        let n_red = req.red.len();
        let red_start = req.red.offset();
        let per = |o: usize| -> State<K::Acc> {
            // An empty reduction reads nothing (its offsets may lie past an empty input).
            let slice = if n_red == 0 { &x[..0] } else { &x[keep_offsets[o] as usize + red_start..][..n_red] };
            if Reduce::is_arg_code(OP) && !slice.is_empty() {
                arg_slice::<K, OP>(slice)
            } else {
                fold_slice::<K, OP>(slice, center_of(req.center, o))
            }
        };
        let states: Vec<State<K::Acc>> =
            if n_out * n_red >= 1 << 15 { super::par::map_range(n_out, &per) } else { (0..n_out).map(per).collect() };
        write(states, &mut values, &mut indices, finish);
    } else if keep_inner_unit && req.center.is_none() {
        // Columns: blocks of contiguous outputs, updated one reduced element at a time. Each
        // task is one block of columns over one chunk of `CHUNK` reduced elements; each
        // output's chunks are then combined in order, as one thread would.
        let inner = *req.keep.shape().last().unwrap();
        let red_offsets = offsets(req.red);
        let rows = n_out / inner;
        let chunks = red_offsets.len().div_ceil(CHUNK as usize).max(1);
        let blocks = inner.div_ceil(COLUMN_BLOCK);
        let task = |t: usize| {
            let (row, rest) = (t / (blocks * chunks), t % (blocks * chunks));
            let (block, k) = (rest / chunks, rest % chunks);
            let cols = block * COLUMN_BLOCK..((block + 1) * COLUMN_BLOCK).min(inner);
            let base = keep_offsets[row * inner + cols.start] as usize;
            let red = &red_offsets
                [(k * CHUNK as usize).min(red_offsets.len())..((k + 1) * CHUNK as usize).min(red_offsets.len())];
            columns::<K, OP>(x, base, cols.len(), red, (k * CHUNK as usize) as u64)
        };
        let tasks = rows * blocks * chunks;
        let parts: Vec<Vec<State<K::Acc>>> = if n_out * red_offsets.len() >= 1 << 15 {
            super::par::map_range(tasks, &task)
        } else {
            (0..tasks).map(task).collect()
        };
        let mut states = vec![identity::<K::Acc>(OP); n_out];
        for (t, part) in parts.iter().enumerate() {
            let (row, block) = (t / (blocks * chunks), t / chunks % blocks);
            let first = row * inner + block * COLUMN_BLOCK;
            for (s, &p) in states[first..first + part.len()].iter_mut().zip(part) {
                *s = combine(OP, *s, p);
            }
        }
        write(states, &mut values, &mut indices, finish);
    } else {
        let red_offsets = offsets(req.red);
        let per = |o: usize| -> State<K::Acc> {
            let (base, c) = (keep_offsets[o], center_of(req.center, o));
            let mut total = identity::<K::Acc>(OP);
            for (k, chunk) in red_offsets.chunks(CHUNK as usize).enumerate() {
                let mut s = identity::<K::Acc>(OP);
                for (j, &off) in chunk.iter().enumerate() {
                    let r = (k * CHUNK as usize + j) as u64;
                    s = combine(OP, s, element(OP, x[(base + off) as usize].acc(), r, c));
                }
                total = combine(OP, total, s);
            }
            total
        };
        let states: Vec<State<K::Acc>> = super::par::map_range(n_out, &per);
        write(states, &mut values, &mut indices, finish);
    }
    (values, indices)
}

fn write<A: Acc>(
    states: Vec<State<A>>,
    values: &mut [A],
    indices: &mut Option<Vec<i64>>,
    finish: impl Fn(State<A>, usize) -> A,
) {
    for (o, s) in states.into_iter().enumerate() {
        values[o] = finish(s, o);
        if let Some(ix) = indices.as_mut() {
            ix[o] = s.i;
        }
    }
}

fn center_of<A: Acc>(center: Option<&[A]>, o: usize) -> A {
    center.map_or(A::ZERO, |c| c[o])
}

/// Every element offset of `layout`, in row-major order.
fn offsets(layout: &Layout) -> Vec<isize> {
    let mut out = Vec::with_capacity(layout.len());
    let (shape, strides) = (layout.shape(), layout.strides());
    let mut index = vec![0usize; shape.len()];
    let mut at = layout.offset() as isize;
    for _ in 0..layout.len() {
        out.push(at);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            at += strides[d];
            if index[d] < shape[d] {
                break;
            }
            at -= strides[d] * shape[d] as isize;
            index[d] = 0;
        }
    }
    out
}

/// One output's contiguous elements: chunks of `CHUNK`, each into 16 partial results.
fn fold_slice<K: Reducible, const OP: u32>(x: &[K], c: K::Acc) -> State<K::Acc> {
    simd::dispatch(|| {
        let mut total = identity::<K::Acc>(OP);
        for (k, chunk) in x.chunks(CHUNK as usize).enumerate() {
            let first = (k * CHUNK as usize) as u64;
            let mut part = [identity::<K::Acc>(OP); 16];
            let (groups, rest) = chunk.as_chunks::<16>();
            for (g, group) in groups.iter().enumerate() {
                for j in 0..16 {
                    let r = first + (g * 16 + j) as u64;
                    part[j] = combine(OP, part[j], element(OP, group[j].acc(), r, c));
                }
            }
            let mut s = identity::<K::Acc>(OP);
            for p in part {
                s = combine(OP, s, p);
            }
            for (j, v) in rest.iter().enumerate() {
                let r = first + (groups.len() * 16 + j) as u64;
                s = combine(OP, s, element(OP, v.acc(), r, c));
            }
            total = combine(OP, total, s);
        }
        total
    })
}

/// Columns per task of the columns path: 16 KiB of f32 partial results, which stay in L1
/// while the rows stream past. Narrower blocks read each row in pieces and lose the hardware
/// prefetcher at every piece: 4 KiB pieces took twice as long at 4096x2500.
const COLUMN_BLOCK: usize = 4096;

/// `inner` contiguous outputs from `base`, each folded over the reduced offsets `red` (one
/// chunk, whose first reduced index is `first`), row by row. Ops without an index fold plain
/// values, which vectorizes.
fn columns<K: Reducible, const OP: u32>(
    x: &[K],
    base: usize,
    inner: usize,
    red: &[isize],
    first: u64,
) -> Vec<State<K::Acc>> {
    simd::dispatch(|| {
        if !Reduce::is_arg_code(OP) {
            let mut part = vec![identity::<K::Acc>(OP).v; inner];
            for &off in red {
                let row = &x[(base as isize + off) as usize..][..inner];
                for (p, &v) in part.iter_mut().zip(row) {
                    let s = State { v: *p, i: 0 };
                    *p = combine(OP, s, element(OP, v.acc(), 0, K::Acc::ZERO)).v;
                }
            }
            return part.into_iter().map(|v| State { v, i: 0 }).collect();
        }
        let mut part = vec![identity::<K::Acc>(OP); inner];
        for (j, &off) in red.iter().enumerate() {
            let r = first + j as u64;
            let row = &x[(base as isize + off) as usize..][..inner];
            for (p, &v) in part.iter_mut().zip(row) {
                *p = combine(OP, *p, element(OP, v.acc(), r, K::Acc::ZERO));
            }
        }
        part
    })
}

/// Argmax (or argmin) of one output's contiguous, non-empty elements in two vectorized
/// passes: the extreme value and whether any element is NaN, then the first index holding it
/// (or the first NaN). The same value and index as folding with `combine` in any order: NaN
/// above all, then the extreme, ties to the first index.
fn arg_slice<K: Reducible, const OP: u32>(x: &[K]) -> State<K::Acc> {
    const LANES: usize = 16;
    let max = OP == Reduce::ArgMax as u32;
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<K>() == std::any::TypeId::of::<f32>() && simd::has_avx512() {
        // SAFETY: `K` is `f32` (same type, checked just above); the CPU has AVX-512F.
        let xf = unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), x.len()) };
        let found = unsafe { if max { arg_f32_avx512::<true>(xf) } else { arg_f32_avx512::<false>(xf) } };
        if let Some(i) = found {
            return State { v: x[i].acc(), i: i as i64 };
        }
    }
    // `v` strictly more extreme than `m` (false if either is NaN).
    let beats = move |v: K::Acc, m: K::Acc| if max { v > m } else { v < m };
    simd::dispatch(|| {
        let (groups, rest) = x.as_chunks::<LANES>();
        let mut best = [x[0].acc(); LANES];
        let mut nan = [false; LANES];
        for g in groups {
            for j in 0..LANES {
                let v = g[j].acc();
                nan[j] |= v.nan();
                best[j] = if beats(v, best[j]) { v } else { best[j] };
            }
        }
        let (mut m, mut any_nan) = (x[0].acc(), false);
        for (&b, &n) in best.iter().zip(&nan) {
            any_nan |= n;
            m = if beats(b, m) { b } else { m };
        }
        for v in rest {
            let v = v.acc();
            any_nan |= v.nan();
            m = if beats(v, m) { v } else { m };
        }
        let i = if any_nan { first_where(x, |v| v.nan()) } else { first_where(x, |v| v == m) };
        State { v: x[i].acc(), i: i as i64 }
    })
}

/// Argmax (`MAX`) or argmin of f32 in one pass, 64 lanes in four AVX-512 registers: each lane
/// keeps its extreme and the group it came from (replaced only by a strictly more extreme
/// value, so each lane keeps its first occurrence), then the lanes' first-occurring extreme
/// wins. `None` if any element is NaN (the caller's two passes find the first one), or for
/// fewer than 64 elements. The generic loop of [`arg_slice`] keeps its lanes in memory here:
/// two passes at half NumPy's speed on 2500-wide rows; this runs at the memory's.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn arg_f32_avx512<const MAX: bool>(x: &[f32]) -> Option<usize> {
    use std::arch::x86_64::*;
    let groups = x.len() / 64;
    if groups == 0 || groups > u32::MAX as usize {
        return None;
    }
    let p = x.as_ptr();
    // SAFETY (every load): group `g < groups` covers elements `64g .. 64g + 64` of `x`.
    let load = |g: usize, q: usize| unsafe { _mm512_loadu_ps(p.add(g * 64 + q * 16)) };
    let mut best = [load(0, 0), load(0, 1), load(0, 2), load(0, 3)];
    let mut at = [_mm512_setzero_si512(); 4];
    let mut nan: __mmask16 = 0;
    for b in best {
        nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(b, b);
    }
    for g in 1..groups {
        let k = _mm512_set1_epi32(g as i32);
        for q in 0..4 {
            let v = load(g, q);
            nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
            let wins = if MAX {
                _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best[q])
            } else {
                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(v, best[q])
            };
            best[q] = _mm512_mask_mov_ps(best[q], wins, v);
            at[q] = _mm512_mask_mov_epi32(at[q], wins, k);
        }
    }
    let tail = &x[groups * 64..];
    if nan != 0 || tail.iter().any(|v| v.is_nan()) {
        return None;
    }
    let (mut values, mut groups_at) = ([0f32; 64], [0u32; 64]);
    for q in 0..4 {
        // SAFETY: 16 lanes into 16 elements of each array.
        unsafe {
            _mm512_storeu_ps(values.as_mut_ptr().add(q * 16), best[q]);
            _mm512_storeu_si512(groups_at.as_mut_ptr().add(q * 16).cast(), at[q]);
        }
    }
    let beats = |v: f32, m: f32| if MAX { v > m } else { v < m };
    let (mut m, mut i) = (values[0], groups_at[0] as usize * 64);
    for (lane, (&v, &g)) in values.iter().zip(&groups_at).enumerate() {
        let index = g as usize * 64 + lane;
        if beats(v, m) || (v == m && index < i) {
            (m, i) = (v, index);
        }
    }
    for (t, &v) in tail.iter().enumerate() {
        if beats(v, m) {
            (m, i) = (v, groups * 64 + t);
        }
    }
    Some(i)
}

/// The first index of `x` whose value `hit`s (there is one), testing groups of 16 at a time.
#[inline(always)]
fn first_where<K: Reducible>(x: &[K], hit: impl Fn(K::Acc) -> bool) -> usize {
    let (groups, _) = x.as_chunks::<16>();
    for (g, group) in groups.iter().enumerate() {
        if group.iter().fold(false, |h, &v| h | hit(v.acc())) {
            return g * 16 + group.iter().position(|&v| hit(v.acc())).unwrap();
        }
    }
    let tail = groups.len() * 16;
    tail + x[tail..].iter().position(|&v| hit(v.acc())).expect("an element the first pass found")
}

trait ArgCode {
    fn is_arg_code(op: u32) -> bool;
}

impl ArgCode for Reduce {
    fn is_arg_code(op: u32) -> bool {
        op == Reduce::ArgMax as u32 || op == Reduce::ArgMin as u32
    }
}

#[cfg(test)]
mod tests {
    use crate::Array;

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Column sums, maxima and minima, across several chunks of reduced rows and several
    /// blocks of columns (in parallel), bit for bit one thread's order: each chunk of `CHUNK`
    /// rows summed in order, the chunks added in order.
    #[test]
    fn column_reductions_keep_one_threads_order() {
        use kernels_gpu::ops::reduce::CHUNK;
        for (rows, cols) in [(1, 5), (3, 2100), (2500, 2100), (1025, 3), (2049, 1030)] {
            let v = values(rows * cols, (rows * cols) as u64);
            let x = Array::from_vec(v.clone(), &[rows, cols]).unwrap();
            let sum = x.sum(0, false).unwrap().to_vec().unwrap();
            let max = x.max(0, false).unwrap().to_vec().unwrap();
            for c in 0..cols {
                let col: Vec<f32> = (0..rows).map(|r| v[r * cols + c]).collect();
                let want = col.chunks(CHUNK as usize).fold(0.0f32, |t, ch| t + ch.iter().fold(0.0f32, |s, &e| s + e));
                assert_eq!(sum[c].to_bits(), want.to_bits(), "sum of column {c} of {rows}x{cols}");
                assert_eq!(max[c], col.iter().copied().fold(f32::NEG_INFINITY, f32::max), "max of column {c}");
            }
            // A strided input (every other column) takes the same path.
            if cols > 2 {
                let s = x.slice_axis(1, None, None, 2).unwrap();
                let got = s.sum(0, false).unwrap().to_vec().unwrap();
                let want = s.contiguous().unwrap().sum(0, false).unwrap().to_vec().unwrap();
                assert_eq!(got, want, "{rows}x{cols}, every other column");
            }
        }
    }

    /// Argmax and argmin along rows against a plain scan: the first NaN if any, else the first
    /// occurrence of the extreme; ties, ±0, infinities, NaN anywhere, and lengths around the
    /// 16-lane groups and the AVX-512 path's 64-element groups (with and without a tail).
    #[test]
    fn arg_rows_take_the_first_nan_or_extreme() {
        for cols in [1, 2, 15, 16, 17, 33, 63, 64, 65, 129, 200, 1000] {
            let rows = 40;
            let mut v = values(rows * cols, cols as u64);
            for r in 0..rows {
                let row = &mut v[r * cols..][..cols];
                match r % 8 {
                    0 => row.fill(f32::NEG_INFINITY),
                    1 => row[cols / 2] = f32::NAN,
                    2 => {
                        row[cols - 1] = f32::NAN;
                        row[cols / 3] = f32::INFINITY;
                    }
                    3 => row.iter_mut().for_each(|e| *e = e.round()), // many ties
                    4 => row.iter_mut().enumerate().for_each(|(i, e)| *e = if i % 2 == 0 { 0.0 } else { -0.0 }),
                    5 => row.fill(f32::INFINITY),
                    6 => row[0] = f32::NAN,
                    _ => {}
                }
            }
            let x = Array::from_vec(v.clone(), &[rows, cols]).unwrap();
            let (amax, amin) = (
                x.argmax(Some(1), false).unwrap().to_vec().unwrap(),
                x.argmin(Some(1), false).unwrap().to_vec().unwrap(),
            );
            for r in 0..rows {
                let row = &v[r * cols..][..cols];
                let scan = |max: bool| -> i64 {
                    if let Some(i) = row.iter().position(|e| e.is_nan()) {
                        return i as i64;
                    }
                    let mut best = 0;
                    for (i, &e) in row.iter().enumerate() {
                        if (max && e > row[best]) || (!max && e < row[best]) {
                            best = i;
                        }
                    }
                    best as i64
                };
                assert_eq!(amax[r], scan(true), "argmax of row {r} ({cols} wide): {row:?}");
                assert_eq!(amin[r], scan(false), "argmin of row {r} ({cols} wide)");
            }
        }
    }
}
