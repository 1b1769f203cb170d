//! The indexing family's launches (`kernels_gpu::ops::gather`) on the interpreter, each also
//! judged against a host reference written here: gather along the middle axis of a `[3, 5, 40]`
//! (rows mapping) and a `[4, 3, 9]` (flat mapping) array, with a full index and with an
//! `index_select` index broadcast by stride 0, then with one index one past the end (the error
//! words must hold it); scatter and scatter-add of integer-valued sources (exact in every
//! dtype) with repeated indices; mask compaction from a strided source; `nonzero`.

use super::cases::{Case, bytes_of, multi, out, p, pm, setup, vals};
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::ops::gather::{self, ADD, Axis, CompactArgs, GatherArgs, ScatterArgs, WRAP};
use kernels_gpu::ops::layout::{Shape, Strides};
use kernels_gpu::ops::map;
use kernels_gpu::prelude::{Bool, Elem, F16, Num};
use kernels_gpu::{Kernel, LaunchConfig};

const SHARED: u32 = 48 * 1024;
const GEOS: [[u64; 3]; 2] = [[3, 5, 40], [4, 3, 9]];

fn cfg(shape: &Shape) -> LaunchConfig {
    map::config(shape, false, 1, 8)
}

fn buf<E: Copy>(v: &[E]) -> DeviceBuffer<u8> {
    DeviceBuffer::from_slice(&bytes_of(v))
}

/// Integer values in `lo..hi` as `E`.
fn ints<E: Elem>(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<E> {
    vals(n, seed, lo, hi).into_iter().map(|v| E::from_double(v.floor())).collect()
}

fn indices(n: usize, seed: u64, len: u64) -> Vec<i64> {
    vals(n, seed, 0.0, len as f64).into_iter().map(|v| v as i64).collect()
}

fn read<E: Copy>(b: &[u8], i: usize) -> E {
    let s = size_of::<E>();
    // SAFETY: `b` holds element `i` of `E` (a plain value type) at that byte offset.
    unsafe { b[i * s..(i + 1) * s].as_ptr().cast::<E>().read_unaligned() }
}

/// `y[a][j][c] = x[a][idx(a, j, c)][c]` over `[a, m, c]` from `x` of `[a, b, c]`.
pub fn gather_case<E: Elem>(k: Kernel<GatherArgs<E>>) -> Case {
    let size = size_of::<E>();
    multi(
        k.info,
        "[3, 5, 40] and [4, 3, 9] along the middle axis: full, broadcast, one bad".into(),
        SHARED,
        move || {
            let mut v = Vec::new();
            for [a, b, c] in GEOS {
                let m = b + 2;
                let (n, outn) = ((a * b * c) as usize, (a * m * c) as usize);
                let xv = ints::<E>(n, 3, -50.0, 50.0);
                let xs = Strides::new(0, &[(b * c) as i64, 0, 1]);
                let shape = Shape::new(&[a, m, c]);
                let ys = Strides::new(0, &[(m * c) as i64, c as i64, 1]);
                for (label, broadcast, bad) in
                    [("full", false, false), ("broadcast", true, false), ("one bad", false, true)]
                {
                    let mut iv = indices(if broadcast { m as usize } else { outn }, 5, b);
                    if bad {
                        iv[outn / 2] = b as i64; // one past the end
                    }
                    let is = if broadcast { Strides::new(0, &[0, 1, 0]) } else { ys };
                    let (x, idx, y, err) = (buf(&xv), buf(&iv), out::<E>(outn), buf(&[0u64; 2]));
                    let axis = Axis { len: b, step: c as i64, index_len: 0, index_step: 0, flags: WRAP, _pad: 0 };
                    let args = (
                        p(&x),
                        n as u64,
                        xs,
                        p(&idx),
                        iv.len() as u64,
                        is,
                        pm(&y),
                        outn as u64,
                        ys,
                        shape,
                        axis,
                        pm(&err),
                    );
                    let iv2 = iv.clone();
                    v.push(
                        setup(k, cfg(&shape), SHARED, vec![x, idx, y, err], args)
                            .labelled(format!("{label} {:?}", [a, b, c]))
                            .verified(move |bs| {
                                let flag: [u64; 2] = [read(&bs[3], 0), read(&bs[3], 1)];
                                if bad {
                                    return if flag == [1, b] { Ok(()) } else { Err(format!("error words {flag:?}")) };
                                }
                                if flag != [0, 0] {
                                    return Err(format!("error words {flag:?} without a bad index"));
                                }
                                for o in 0..outn {
                                    let (ia, j, ic) = (o as u64 / (m * c), o as u64 / c % m, o as u64 % c);
                                    let raw = iv2[if broadcast { j as usize } else { o }];
                                    let kk = if raw < 0 { raw + b as i64 } else { raw } as u64;
                                    let at = ((ia * b + kk) * c + ic) as usize;
                                    if bs[2][o * size..(o + 1) * size] != bs[0][at * size..(at + 1) * size] {
                                        return Err(format!("output {o} is not x[{at}]"));
                                    }
                                }
                                Ok(())
                            }),
                    );
                }
            }
            v
        },
    )
}

/// Scatter (and add) along the middle axis of `y` `[a, b, c]` from an index and source
/// `[a, m, c]` with repeated indices, over the positions `[a, b, c]`.
pub fn scatter_case<E: Elem>(k: Kernel<ScatterArgs<E>>) -> Case
where
    E::Compute: Num,
{
    let is_bool = size_of::<E>() == 1 && core::any::TypeId::of::<E>() == core::any::TypeId::of::<Bool>();
    multi(k.info, "[3, 5, 40] and [4, 3, 9] along the middle axis, replace and add".into(), SHARED, move || {
        let mut v = Vec::new();
        for [a, b, c] in GEOS {
            let m = 2 * b + 1;
            let (yn, sn) = ((a * b * c) as usize, (a * m * c) as usize);
            let y0 = ints::<E>(yn, 7, 0.0, 20.0);
            let sv = ints::<E>(sn, 8, 0.0, 20.0);
            let iv = indices(sn, 9, b);
            for add in if is_bool { vec![false] } else { vec![false, true] } {
                let (src, idx, y, err) = (buf(&sv), buf(&iv), buf(&y0), buf(&[0u64; 2]));
                let shape = Shape::new(&[a, b, c]);
                let ss = Strides::new(0, &[(m * c) as i64, 0, 1]);
                let ys = Strides::new(0, &[(b * c) as i64, c as i64, 1]);
                let cs = Strides::new(0, &[0, 1, 0]);
                let axis = Axis {
                    len: b,
                    step: c as i64,
                    index_len: m,
                    index_step: c as i64,
                    flags: if add { ADD } else { 0 },
                    _pad: 0,
                };
                let args =
                    (p(&src), sn as u64, ss, p(&idx), sn as u64, ss, pm(&y), yn as u64, ys, cs, shape, axis, pm(&err));
                let (y0, sv, iv) = (y0.clone(), sv.clone(), iv.clone());
                v.push(
                    setup(k, cfg(&shape), SHARED, vec![src, idx, y, err], args)
                        .labelled(format!("add {add} {:?}", [a, b, c]))
                        .verified(move |bs| {
                            let mut want: Vec<f64> = y0.iter().map(|e| e.to_double()).collect();
                            let mut last: Vec<Option<E>> = vec![None; yn];
                            for s in 0..sn {
                                let (ia, ic) = (s as u64 / (m * c), s as u64 % c);
                                let o = ((ia * b + iv[s] as u64) * c + ic) as usize;
                                want[o] += sv[s].to_double();
                                last[o] = Some(sv[s]);
                            }
                            for o in 0..yn {
                                let got: E = read(&bs[2], o);
                                let ok = if add {
                                    got.to_double() == E::from_double(want[o]).to_double()
                                } else {
                                    bytes_of(&[got]) == bytes_of(&[last[o].unwrap_or(y0[o])])
                                };
                                if !ok {
                                    return Err(format!("y[{o}] = {}, expected {}", got.to_double(), want[o]));
                                }
                            }
                            Ok(())
                        }),
                );
            }
        }
        v
    })
}

/// `y[scan[i] - 1] = x[i]` from a reversed `x` of 3001 elements (flat: a `[23, 130]` rows walk
/// too), the mask about half true.
pub fn compact_case<E: Elem>(k: Kernel<CompactArgs<E>>) -> Case {
    let size = size_of::<E>();
    multi(k.info, "3001 from a reversed view, and [23, 130] rows".into(), SHARED, move || {
        let mut v = Vec::new();
        for dims in [vec![3001u64], vec![23, 130]] {
            let n: u64 = dims.iter().product();
            let mask: Vec<bool> = vals(n as usize, 11, 0.0, 2.0).into_iter().map(|v| v >= 1.0).collect();
            let scan: Vec<i64> = mask
                .iter()
                .scan(0i64, |s, &m| {
                    *s += m as i64;
                    Some(*s)
                })
                .collect();
            let count = *scan.last().unwrap() as usize;
            let xv = ints::<E>(n as usize, 12, -50.0, 50.0);
            let (sb, x, y) = (buf(&scan), buf(&xv), out::<E>(count));
            let shape = Shape::new(&dims);
            let ss = Strides::new(0, &if dims.len() == 1 { vec![1] } else { vec![dims[1] as i64, 1] });
            let xs = Strides::new(n - 1, &if dims.len() == 1 { vec![-1] } else { vec![-(dims[1] as i64), -1] });
            let args = (p(&sb), n, ss, p(&x), n, xs, shape, pm(&y), count as u64);
            v.push(setup(k, cfg(&shape), SHARED, vec![sb, x, y], args).labelled(format!("{dims:?}")).verified(
                move |bs| {
                    let want: Vec<usize> = (0..n as usize).filter(|&i| mask[i]).map(|i| n as usize - 1 - i).collect();
                    for (o, &at) in want.iter().enumerate() {
                        if bs[2][o * size..(o + 1) * size] != bs[1][at * size..(at + 1) * size] {
                            return Err(format!("output {o} is not x[{at}]"));
                        }
                    }
                    Ok(())
                },
            ));
        }
        v
    })
}

/// The coordinates in `[3, 5, 7]` and `[1031]` of the true elements of a mask.
pub fn nonzero_case(k: Kernel<gather::NonzeroArgs>) -> Case {
    multi(k.info, "[3, 5, 7] and [1031]".into(), SHARED, move || {
        let mut v = Vec::new();
        for dims in [vec![3u64, 5, 7], vec![1031]] {
            let n: u64 = dims.iter().product();
            let mask: Vec<bool> = vals(n as usize, 13, 0.0, 3.0).into_iter().map(|v| v >= 2.0).collect();
            let scan: Vec<i64> = mask
                .iter()
                .scan(0i64, |s, &m| {
                    *s += m as i64;
                    Some(*s)
                })
                .collect();
            let count = *scan.last().unwrap() as usize;
            let (sb, y) = (buf(&scan), out::<i64>(count * dims.len()));
            let args = (p(&sb), n, Shape::new(&dims), pm(&y), (count * dims.len()) as u64);
            let c = map::config(&Shape::flat(n), true, 1, 8);
            v.push(setup(k, c, SHARED, vec![sb, y], args).labelled(format!("{dims:?}")).verified(move |bs| {
                let mut row = 0;
                for i in 0..n as usize {
                    if !mask[i] {
                        continue;
                    }
                    let (mut rest, nd) = (i as u64, dims.len());
                    for d in (0..nd).rev() {
                        let got: i64 = read(&bs[1], row * nd + d);
                        if got != (rest % dims[d]) as i64 {
                            return Err(format!("row {row} coordinate {d}: {got}, element {i}"));
                        }
                        rest /= dims[d];
                    }
                    row += 1;
                }
                Ok(())
            }));
        }
        v
    })
}

/// Every entry of the family.
pub fn cases() -> Vec<Case> {
    let mut v = vec![
        gather_case(gather::gather_b1).in_family("gather"),
        gather_case::<F16>(gather::gather_b2).in_family("gather"),
        gather_case(gather::gather_b4).in_family("gather"),
        gather_case(gather::gather_b8).in_family("gather"),
        compact_case(gather::compact_b1).in_family("gather"),
        compact_case::<F16>(gather::compact_b2).in_family("gather"),
        compact_case(gather::compact_b4).in_family("gather"),
        compact_case(gather::compact_b8).in_family("gather"),
        nonzero_case(gather::nonzero_i64).in_family("gather"),
    ];
    macro_rules! scatters {
        ($($t:ty),*) => {$( v.push(scatter_case(gather::scatter_kernel::<$t>()).in_family("gather")); )*};
    }
    scatters!(f32, f64, F16, kernels_gpu::prelude::BF16, i32, i64, u8, u32, Bool);
    v
}
