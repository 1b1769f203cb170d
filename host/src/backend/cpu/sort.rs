//! Sorting and search on the CPU, the twin of `kernels_gpu::ops::sort`: the same keys (NumPy's
//! order as `i64`s, `kernels_gpu::ops::sort::SortKey`), rows sorted by `(key, index)` (stable),
//! split across cores by rows (a long row by an LSD radix sort, a short one by comparison),
//! and binary search.

use crate::alloc::{try_collect, try_filled};
use crate::error::Result;
use kernels_gpu::ops::sort::{SortKey, key_of};
use rayon::prelude::*;

/// Below this many elements one core does the work.
const PARALLEL_MIN: usize = 1 << 15;

/// `key(x[i])` for every element, complemented with `flags`' `DESCENDING`.
pub(crate) fn keys<K: SortKey + Sync>(x: &[K], flags: u32) -> Vec<i64> {
    if x.len() < PARALLEL_MIN {
        x.iter().map(|&v| key_of(v, flags)).collect()
    } else {
        x.par_iter().map(|&v| key_of(v, flags)).collect()
    }
}

/// The stable argsort of each row of `n` keys (`keys.len() / n` rows): rows split across cores
/// when there are several (each long one sorted on its core), a single long row sorted alone.
/// Out of memory for the result or the radix sort's buffers is an error, not an abort.
pub(crate) fn argsort_rows(keys: &[i64], n: usize) -> Result<Vec<i64>> {
    let mut out = try_filled(keys.len(), 0i64)?;
    if n == 0 {
        return Ok(out);
    }
    let row = |(r, o): (usize, &mut [i64])| argsort_row(&keys[r * n..(r + 1) * n], o);
    if keys.len() < PARALLEL_MIN || keys.len() == n {
        out.chunks_mut(n).enumerate().try_for_each(row)?;
    } else {
        super::par::try_chunks_mut(&mut out, n, &|r, o| row((r, o)))?;
    }
    Ok(out)
}

/// Rows at least this long are sorted by radix (below, by comparison).
const RADIX_MIN: usize = 1 << 12;
/// Bits per radix digit: 2048 buckets, whose counts and cursors stay in L1.
const DIGIT: u32 = 11;

/// The stable argsort of one row of keys into `out`.
fn argsort_row(k: &[i64], out: &mut [i64]) -> Result<()> {
    if k.len() >= RADIX_MIN && u32::try_from(k.len()).is_ok() {
        return radix_argsort(k, out);
    }
    for (i, v) in out.iter_mut().enumerate() {
        *v = i as i64;
    }
    // Stable: equal keys keep their order.
    if k.len() >= PARALLEL_MIN {
        out.par_sort_by_key(|&i| k[i as usize]);
    } else {
        out.sort_by_key(|&i| k[i as usize]);
    }
    Ok(())
}

/// A least-significant-digit radix sort of `(key - min, index)` pairs, 11 bits a pass: each
/// pass is a stable counting sort, so the result is stable, and a digit that every key shares
/// is skipped (f32 keys need at most 6 passes of the 64 bits, keys within a span of 2^22 two).
/// One read builds every pass's counts; each pass then streams the pairs once. Rows shorter
/// than `2^32` only (the indices are `u32` while sorting).
fn radix_argsort(k: &[i64], out: &mut [i64]) -> Result<()> {
    let n = k.len();
    let min = k.iter().copied().min().unwrap_or(0) as u64;
    let passes =
        (64 - k.iter().map(|&v| (v as u64).wrapping_sub(min)).max().unwrap_or(0).leading_zeros()).div_ceil(DIGIT);
    let buckets = 1usize << DIGIT;
    let mut counts = vec![0usize; passes as usize * buckets];
    let mut keys: Vec<u64> = try_collect(n, k.iter().map(|&v| (v as u64).wrapping_sub(min)))?;
    for &v in &keys {
        for p in 0..passes {
            counts[p as usize * buckets + ((v >> (p * DIGIT)) as usize & (buckets - 1))] += 1;
        }
    }
    let mut idx: Vec<u32> = try_collect(n, 0..n as u32)?;
    let (mut keys2, mut idx2) = (try_filled(n, 0u64)?, try_filled(n, 0u32)?);
    for p in 0..passes {
        let count = &mut counts[p as usize * buckets..(p as usize + 1) * buckets];
        if count.iter().any(|&c| c == n) {
            continue;
        }
        let mut at = 0;
        for c in count.iter_mut() {
            (*c, at) = (at, at + *c);
        }
        for (&v, &i) in keys.iter().zip(&idx) {
            let d = (v >> (p * DIGIT)) as usize & (buckets - 1);
            keys2[count[d]] = v;
            idx2[count[d]] = i;
            count[d] += 1;
        }
        std::mem::swap(&mut keys, &mut keys2);
        std::mem::swap(&mut idx, &mut idx2);
    }
    for (o, &i) in out.iter_mut().zip(&idx) {
        *o = i as i64;
    }
    Ok(())
}

/// For each value key, the number of `sorted` keys below it (`right`: at or below it).
pub(crate) fn searchsorted(sorted: &[i64], values: &[i64], right: bool) -> Vec<i64> {
    let one = |&v: &i64| sorted.partition_point(|&s| s < v || (right && s == v)) as i64;
    if values.len() < PARALLEL_MIN { values.iter().map(one).collect() } else { values.par_iter().map(one).collect() }
}
