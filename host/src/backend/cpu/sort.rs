//! Sorting and search on the CPU, the twin of `kernels_gpu::ops::sort`: the same keys (NumPy's
//! order as `i64`s, `kernels_gpu::ops::sort::SortKey`), rows sorted by `(key, index)` (stable),
//! split across cores by rows (one long row by rayon's parallel merge sort), and binary search.

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

/// The stable argsort of each row of `n` keys (`keys.len() / n` rows).
pub(crate) fn argsort_rows(keys: &[i64], n: usize) -> Vec<i64> {
    let mut out = vec![0i64; keys.len()];
    if n == 0 {
        return out;
    }
    let row = |(r, o): (usize, &mut [i64])| {
        let k = &keys[r * n..(r + 1) * n];
        for (i, v) in o.iter_mut().enumerate() {
            *v = i as i64;
        }
        // Stable: equal keys keep their order.
        if n >= PARALLEL_MIN {
            o.par_sort_by_key(|&i| k[i as usize]);
        } else {
            o.sort_by_key(|&i| k[i as usize]);
        }
    };
    if keys.len() < PARALLEL_MIN || n >= PARALLEL_MIN {
        out.chunks_mut(n).enumerate().for_each(row);
    } else {
        out.par_chunks_mut(n).enumerate().for_each(row);
    }
    out
}

/// For each value key, the number of `sorted` keys below it (`right`: at or below it).
pub(crate) fn searchsorted(sorted: &[i64], values: &[i64], right: bool) -> Vec<i64> {
    let one = |&v: &i64| sorted.partition_point(|&s| s < v || (right && s == v)) as i64;
    if values.len() < PARALLEL_MIN { values.iter().map(one).collect() } else { values.par_iter().map(one).collect() }
}
