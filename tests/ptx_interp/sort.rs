//! The sorting family's launches (`kernels_gpu::ops::sort`) on the interpreter, each also
//! judged against a host reference written here: the keys of every dtype's specials and
//! random values must order as NumPy sorts (NaN last, `-0.0 == 0.0`; reversed with
//! `DESCENDING`); `sort_block` on 3 rows of 37 and of 1000 keys with many ties must give the
//! stable argsort; the radix sort's AND/OR pre-pass (3 blocks over 2 · 4099 keys spanning
//! the 64-bit range, 2 blocks over 300 equal keys), its digit histogram and its stable scatter (first,
//! middle and last pass) on 2 rows of 4099 keys (a tile of 16 rounds and a tile of 3 per row,
//! 3 blocks for 4 tiles), ties among them; `searchsorted` left and right on a sorted row with
//! repeats. Outputs start poisoned (0xFF bytes).

use super::cases::{Case, bytes_of, multi, out, p, pm, setup, vals};
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::ops::radix;
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

/// Keys with many ties (`0..9`) and one large key (`i64::MAX - 1`).
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

/// Keys for the radix entries: every third a tie among `0..9`, the rest spread over the whole
/// 64-bit range (every digit varies), with `i64::MIN` and `i64::MAX` among them.
fn wide(len: usize, seed: u64) -> Vec<i64> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v: Vec<i64> = (0..len)
        .map(|e| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            if e % 3 == 0 { (s % 9) as i64 } else { s as i64 }
        })
        .collect();
    v[1] = i64::MIN;
    v[len - 2] = i64::MAX;
    v
}

/// 2 rows of `TILE + 3` keys: a full tile of 16 rounds and a tile of 3, in each row.
const ROWS: u64 = 2;
const N: u64 = radix::TILE + 3;

fn tiles() -> u64 {
    N.div_ceil(radix::TILE)
}

/// The key's digit at `shift`, as the radix sort orders it (sign bit flipped).
fn digit_of(k: i64, shift: u32) -> usize {
    (((k as u64 ^ (1 << 63)) >> shift) & 255) as usize
}

/// `hist[(row · 256 + d) · tiles + t]`, by hand.
fn hist_of(kv: &[i64], shift: u32) -> Vec<i64> {
    let t = tiles() as usize;
    let mut h = vec![0i64; ROWS as usize * 256 * t];
    for (e, &k) in kv.iter().enumerate() {
        let (row, i) = (e / N as usize, e % N as usize);
        h[(row * 256 + digit_of(k, shift)) * t + i / radix::TILE as usize] += 1;
    }
    h
}

fn bits_case() -> Case {
    multi(radix::radix_bits_i64.info, "2 · 4099 wide keys, 3 blocks; 300 equal keys".into(), SHARED, || {
        [(wide((ROWS * N) as usize, 5), 3u32), (vec![-77; 300], 2)]
            .into_iter()
            .map(|(kv, blocks)| {
                let len = kv.len();
                let cfg = radix::bits_config(len as u64, blocks);
                let (keys, parts) = (buf(&kv), out::<i64>(2 * blocks as usize));
                let args = (p(&keys), len as u64, pm(&parts));
                setup(radix::radix_bits_i64, cfg, SHARED, vec![keys, parts], args)
                    .labelled(format!("{len} keys"))
                    .verified(move |bs| {
                        let mut want = vec![0i64; 2 * blocks as usize];
                        for b in 0..blocks as usize {
                            let mine = kv.iter().enumerate().filter(|(i, _)| (i / 256) % blocks as usize == b);
                            want[2 * b] = mine.clone().fold(-1, |a, (_, &k)| a & k);
                            want[2 * b + 1] = mine.fold(0, |a, (_, &k)| a | k);
                        }
                        if read_i64(&bs[1]) == want { Ok(()) } else { Err("not the blocks' AND and OR".into()) }
                    })
            })
            .collect()
    })
}

fn hist_case() -> Case {
    multi(
        radix::radix_hist_i64.info,
        "2 rows of 4099 keys (tiles of 16 rounds and of 3), digits 0 and 7".into(),
        SHARED,
        || {
            [0u32, 56]
                .into_iter()
                .map(|shift| {
                    let kv = wide((ROWS * N) as usize, 7 + shift as u64);
                    let want = hist_of(&kv, shift);
                    let (keys, h) = (buf(&kv), out::<i64>(want.len()));
                    let cfg = radix::tile_config(ROWS, N, 3, radix::HIST_SHARED);
                    let args = (p(&keys), ROWS, N, shift, pm(&h));
                    setup(radix::radix_hist_i64, cfg, SHARED, vec![keys, h], args)
                        .labelled(format!("shift {shift}"))
                        .verified(
                            move |bs| if read_i64(&bs[1]) == want { Ok(()) } else { Err("wrong digit counts".into()) },
                        )
                })
                .collect()
        },
    )
}

/// One pass on 2 rows of 4099 pairs: the first (indices implicit), a middle one, the last
/// (indices only: the key output stays poisoned), each against a stable counting sort by hand.
fn scatter_case() -> Case {
    multi(radix::radix_scatter_i64.info, "2 rows of 4099 pairs, first/middle/last pass".into(), SHARED, || {
        [(0u32, radix::FIRST), (8, 0), (56, radix::LAST)]
            .into_iter()
            .map(|(shift, flags)| {
                let len = (ROWS * N) as usize;
                let kv = wide(len, 11 + shift as u64);
                let iv: Vec<i64> = (0..len as i64).map(|e| e * 7919 % 10007).collect();
                // Inclusive scans over the tiles of each (row, digit).
                let mut sv = hist_of(&kv, shift);
                for col in sv.chunks_mut(tiles() as usize) {
                    for t in 1..col.len() {
                        col[t] += col[t - 1];
                    }
                }
                let (mut wk, mut wi) = (vec![-1i64; len], vec![0i64; len]);
                for row in 0..ROWS as usize {
                    let base = row * N as usize;
                    let mut order: Vec<usize> = (base..base + N as usize).collect();
                    order.sort_by_key(|&e| digit_of(kv[e], shift));
                    for (r, &e) in order.iter().enumerate() {
                        if flags & radix::LAST == 0 {
                            wk[base + r] = kv[e];
                        }
                        wi[base + r] = if flags & radix::FIRST != 0 { (e - base) as i64 } else { iv[e] };
                    }
                }
                let (keys, idx, scan) = (buf(&kv), buf(&iv), buf(&sv));
                let (ko, io) = (out::<i64>(len), out::<i64>(len));
                let cfg = radix::tile_config(ROWS, N, 3, radix::SCATTER_SHARED);
                let args = (p(&keys), p(&idx), ROWS, N, shift, p(&scan), pm(&ko), pm(&io), flags);
                setup(radix::radix_scatter_i64, cfg, SHARED, vec![keys, idx, scan, ko, io], args)
                    .labelled(format!("shift {shift} flags {flags}"))
                    .verified(move |bs| {
                        if read_i64(&bs[3]) == wk && read_i64(&bs[4]) == wi {
                            Ok(())
                        } else {
                            Err("not the stable counting sort by the digit".into())
                        }
                    })
            })
            .collect()
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
        bits_case().in_family("sort"),
        hist_case().in_family("sort"),
        scatter_case().in_family("sort"),
        search_case().in_family("sort"),
    ]
}
