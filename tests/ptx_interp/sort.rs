//! The sorting family's launches (`kernels_gpu::ops::sort`) on the interpreter, each also
//! judged against a host reference written here: the keys of every dtype's specials and
//! random values must order as NumPy sorts (NaN last, `-0.0 == 0.0`; reversed with
//! `DESCENDING`); `sort_block` on 3 rows of 37 and of 1000 keys with many ties must give the
//! stable argsort; the global path's pad, one bitonic step and unpad on 2 rows of 37 keys
//! (`p = 64`), its shared-memory stages on 2 rows of 4096 pairs (two tiles each); `searchsorted` left and right on a sorted row with repeats.

use super::cases::{Case, bytes_of, multi, out, p, pm, setup, vals};
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::ops::sort::{self, DESCENDING, KeyArgs, RIGHT};
use kernels_gpu::prelude::{BF16, Bool, Elem, F16};
use kernels_gpu::{Kernel, LaunchConfig};
use std::cmp::Ordering;

const SHARED: u32 = 48 * 1024;

fn buf<E: Copy>(v: &[E]) -> DeviceBuffer<u8> {
    DeviceBuffer::from_slice(&bytes_of(v))
}

fn read_i64(b: &[u8]) -> Vec<i64> {
    b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn flat(n: u64) -> LaunchConfig {
    sort::flat_config(n, 4)
}

/// NumPy's order of two values (NaN last, `-0.0 == 0.0`).
fn order(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap(),
    }
}

/// Keys of specials and random values: every pair must compare as the values do.
fn key_case<E: Elem>(k: Kernel<KeyArgs<E>>, specials: &'static [f64]) -> Case {
    multi(k.info, "specials and 200 random values, ascending and descending".into(), SHARED, move || {
        let mut xs: Vec<f64> = specials.to_vec();
        xs.extend(vals(200, 7, -300.0, 300.0).into_iter().map(|v| E::from_double(v).to_double()));
        let xv: Vec<E> = xs.iter().map(|&v| E::from_double(v)).collect();
        let xs: Vec<f64> = xv.iter().map(|v| v.to_double()).collect();
        let n = xv.len();
        [0, DESCENDING]
            .into_iter()
            .map(|flags| {
                let (x, keys) = (buf(&xv), out::<i64>(n));
                let xs = xs.clone();
                let args = (p(&x), n as u64, flags, pm(&keys));
                setup(k, flat(n as u64), SHARED, vec![x, keys], args).labelled(format!("flags {flags}")).verified(
                    move |bs| {
                        let kv = read_i64(&bs[1]);
                        for i in 0..n {
                            for j in 0..n {
                                let mut want = order(xs[i], xs[j]);
                                if flags == DESCENDING {
                                    want = want.reverse();
                                }
                                if kv[i].cmp(&kv[j]) != want {
                                    return Err(format!(
                                        "keys of {} and {} order as {:?}",
                                        xs[i],
                                        xs[j],
                                        want.reverse()
                                    ));
                                }
                            }
                        }
                        Ok(())
                    },
                )
            })
            .collect()
    })
}

/// Keys with many ties (`0..9`, one `i64::MAX - 1` as NaN's).
fn tied(rows: usize, n: usize, seed: u64) -> Vec<i64> {
    let mut v: Vec<i64> = vals(rows * n, seed, 0.0, 9.0).into_iter().map(|v| v as i64).collect();
    v[n / 2] = i64::MAX - 1;
    v
}

/// The stable argsort of each row, by hand.
fn argsort(keys: &[i64], n: usize) -> Vec<i64> {
    keys.chunks(n.max(1))
        .flat_map(|row| {
            let mut i: Vec<usize> = (0..row.len()).collect();
            i.sort_by_key(|&j| row[j]);
            i.into_iter().map(|j| j as i64)
        })
        .collect()
}

fn block_case() -> Case {
    multi(sort::sort_block_i64.info, "3 rows of 37 and of 1000 tied keys".into(), SHARED, || {
        [37usize, 1000]
            .into_iter()
            .map(|n| {
                let kv = tied(3, n, n as u64);
                let want = argsort(&kv, n);
                let (keys, o) = (buf(&kv), out::<i64>(3 * n));
                let cfg = sort::block_config(3, n as u64, 2);
                let args = (p(&keys), 3, n as u64, pm(&o));
                setup(sort::sort_block_i64, cfg, SHARED, vec![keys, o], args).labelled(format!("n {n}")).verified(
                    move |bs| {
                        if read_i64(&bs[1]) == want { Ok(()) } else { Err("not the stable argsort".into()) }
                    },
                )
            })
            .collect()
    })
}

const ROWS: u64 = 2;
const N: u64 = 37;
const P: u64 = 64;

fn pad_case() -> Case {
    multi(sort::sort_pad_i64.info, "2 rows of 37 keys padded to 64".into(), SHARED, || {
        let kv = tied(ROWS as usize, N as usize, 3);
        let (keys, kb, ib) = (buf(&kv), out::<i64>((ROWS * P) as usize), out::<i64>((ROWS * P) as usize));
        let args = (p(&keys), ROWS, N, P, pm(&kb), pm(&ib));
        vec![setup(sort::sort_pad_i64, flat(ROWS * P), SHARED, vec![keys, kb, ib], args).verified(move |bs| {
            let (k, i) = (read_i64(&bs[1]), read_i64(&bs[2]));
            for e in 0..(ROWS * P) as usize {
                let (r, c) = (e / P as usize, e % P as usize);
                let want = if c < N as usize { kv[r * N as usize + c] } else { i64::MAX };
                if k[e] != want || i[e] != c as i64 {
                    return Err(format!("pair {e}: ({}, {})", k[e], i[e]));
                }
            }
            Ok(())
        })]
    })
}

fn step_case() -> Case {
    multi(sort::sort_step_i64.info, "2 rows of 64 pairs, steps (8, 4) and (64, 1)".into(), SHARED, || {
        [(8u64, 4u64), (64, 1)]
            .into_iter()
            .map(|(k, j)| {
                let kv = tied(ROWS as usize, P as usize, k);
                let iv: Vec<i64> = (0..ROWS * P).map(|e| (e % P) as i64).collect();
                let (kb, ib) = (buf(&kv), buf(&iv));
                let args = (pm(&kb), pm(&ib), ROWS, P, k, j);
                setup(sort::sort_step_i64, flat(ROWS * P / 2), SHARED, vec![kb, ib], args)
                    .labelled(format!("k {k} j {j}"))
                    .verified(move |bs| {
                        let (mut wk, mut wi) = (kv.clone(), iv.clone());
                        for e in 0..(ROWS * P) as usize {
                            let (r, i) = (e / P as usize, e % P as usize);
                            let l = i ^ j as usize;
                            if l <= i {
                                continue;
                            }
                            let (a, b) = (r * P as usize + i, r * P as usize + l);
                            let up = i & k as usize == 0;
                            if ((wk[a], wi[a]) > (wk[b], wi[b])) == up {
                                wk.swap(a, b);
                                wi.swap(a, b);
                            }
                        }
                        if read_i64(&bs[0]) == wk && read_i64(&bs[1]) == wi {
                            Ok(())
                        } else {
                            Err("not the compare-exchange step".into())
                        }
                    })
            })
            .collect()
    })
}

/// Pairs ordered by (key, index), ascending or descending.
fn sorted_pairs(k: &[i64], i: &[i64], up: bool) -> (Vec<i64>, Vec<i64>) {
    let mut v: Vec<(i64, i64)> = k.iter().copied().zip(i.iter().copied()).collect();
    v.sort();
    if !up {
        v.reverse();
    }
    v.into_iter().unzip()
}

const MP: u64 = 2 * sort::SHARED_MAX;

/// `sort_merge` on 2 rows of `2 · SHARED_MAX` tied pairs: stages 2 to `SHARED_MAX` leave each
/// tile sorted, ascending where its row position has bit `SHARED_MAX` clear, descending where
/// set; the last stage's shared steps (`j < SHARED_MAX`), after its global step `j =
/// SHARED_MAX` done here, leave each row sorted ascending.
fn merge_case() -> Case {
    const T: usize = sort::SHARED_MAX as usize;
    multi(sort::sort_merge_i64.info, "2 rows of 4096 tied pairs, stages 2 to 2048 and 4096".into(), SHARED, || {
        [(2u64, sort::SHARED_MAX), (MP, MP)]
            .into_iter()
            .map(|(lo, hi)| {
                let mut kv = tied(ROWS as usize, MP as usize, lo);
                let mut iv: Vec<i64> = (0..ROWS * MP).map(|e| (e % MP) as i64).collect();
                let (mut wk, mut wi) = (Vec::new(), Vec::new());
                for r in 0..ROWS as usize {
                    let row = r * MP as usize;
                    if lo == MP {
                        // The input of the last stage's shared steps: the row's tiles sorted
                        // up and down (a bitonic row), then the global step `j = T`.
                        for (t, up) in [(0, true), (1, false)] {
                            let s = row + t * T;
                            let (k, i) = sorted_pairs(&kv[s..s + T], &iv[s..s + T], up);
                            kv[s..s + T].copy_from_slice(&k);
                            iv[s..s + T].copy_from_slice(&i);
                        }
                        for a in row..row + T {
                            if (kv[a], iv[a]) > (kv[a + T], iv[a + T]) {
                                kv.swap(a, a + T);
                                iv.swap(a, a + T);
                            }
                        }
                        let (k, i) = sorted_pairs(&kv[row..row + 2 * T], &iv[row..row + 2 * T], true);
                        wk.extend(k);
                        wi.extend(i);
                    } else {
                        for (t, up) in [(0, true), (1, false)] {
                            let s = row + t * T;
                            let (k, i) = sorted_pairs(&kv[s..s + T], &iv[s..s + T], up);
                            wk.extend(k);
                            wi.extend(i);
                        }
                    }
                }
                let (kb, ib) = (buf(&kv), buf(&iv));
                let args = (pm(&kb), pm(&ib), ROWS, MP, lo, hi);
                let cfg = sort::merge_config(ROWS, MP, 3);
                setup(sort::sort_merge_i64, cfg, SHARED, vec![kb, ib], args)
                    .labelled(format!("stages {lo} to {hi}"))
                    .verified(move |bs| {
                        if read_i64(&bs[0]) == wk && read_i64(&bs[1]) == wi {
                            Ok(())
                        } else {
                            Err("not the tiles' sorted order".into())
                        }
                    })
            })
            .collect()
    })
}

fn unpad_case() -> Case {
    multi(sort::sort_unpad_i64.info, "2 rows of 64 indices to 37".into(), SHARED, || {
        let iv: Vec<i64> = (0..ROWS * P).map(|e| (e * 7 % 64) as i64).collect();
        let (ib, o) = (buf(&iv), out::<i64>((ROWS * N) as usize));
        let args = (p(&ib), ROWS, N, P, pm(&o));
        vec![setup(sort::sort_unpad_i64, flat(ROWS * N), SHARED, vec![ib, o], args).verified(move |bs| {
            let want: Vec<i64> = (0..ROWS * N).map(|e| iv[((e / N) * P + e % N) as usize]).collect();
            if read_i64(&bs[1]) == want { Ok(()) } else { Err("not the rows' first 37".into()) }
        })]
    })
}

fn search_case() -> Case {
    multi(sort::searchsorted_i64.info, "100 sorted keys with repeats, 300 values, both sides".into(), SHARED, || {
        let mut sorted = tied(1, 100, 11);
        sorted.sort();
        let values: Vec<i64> = vals(300, 13, -2.0, 11.0).into_iter().map(|v| v as i64).collect();
        [0, RIGHT]
            .into_iter()
            .map(|flags| {
                let (s, v, o) = (buf(&sorted), buf(&values), out::<i64>(300));
                let args = (p(&s), 100, p(&v), 300, flags, pm(&o));
                let (sorted, values) = (sorted.clone(), values.clone());
                setup(sort::searchsorted_i64, flat(300), SHARED, vec![s, v, o], args)
                    .labelled(format!("flags {flags}"))
                    .verified(move |bs| {
                        let want: Vec<i64> = values
                            .iter()
                            .map(|&q| sorted.iter().filter(|&&s| s < q || (flags == RIGHT && s == q)).count() as i64)
                            .collect();
                        if read_i64(&bs[2]) == want { Ok(()) } else { Err("wrong insertion points".into()) }
                    })
            })
            .collect()
    })
}

const FLOATS: &[f64] = &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1e-40, -1e-40, 1.5, -2.5, -f64::NAN];
const INTS: &[f64] = &[0.0, 1.0, -1.0, 2147483647.0, -2147483648.0, 255.0, 7.0];
const BOOLS: &[f64] = &[0.0, 1.0, 1.0, 0.0];

/// Every entry of the family.
pub fn cases() -> Vec<Case> {
    vec![
        key_case::<f32>(sort::sort_key_f32, FLOATS).in_family("sort"),
        key_case::<f64>(sort::sort_key_f64, FLOATS).in_family("sort"),
        key_case::<F16>(sort::sort_key_f16, FLOATS).in_family("sort"),
        key_case::<BF16>(sort::sort_key_bf16, FLOATS).in_family("sort"),
        key_case::<i32>(sort::sort_key_i32, INTS).in_family("sort"),
        key_case::<i64>(sort::sort_key_i64, INTS).in_family("sort"),
        key_case::<u8>(sort::sort_key_u8, INTS).in_family("sort"),
        key_case::<u32>(sort::sort_key_u32, INTS).in_family("sort"),
        key_case::<Bool>(sort::sort_key_bool, BOOLS).in_family("sort"),
        block_case().in_family("sort"),
        pad_case().in_family("sort"),
        merge_case().in_family("sort"),
        step_case().in_family("sort"),
        unpad_case().in_family("sort"),
        search_case().in_family("sort"),
    ]
}
