//! The constructors' entries (`kernels_gpu::ops::fill`): `fill_b*` over an aligned and a
//! misaligned output (the vector path and the scalar tail), `iota_*` as `arange` (integer and
//! fractional steps, values that saturate the integer dtypes) and as `linspace` (the exact
//! endpoint, and the `i / den` form NumPy takes when the step underflows), `eye_b*` on an
//! identity whose size is not a multiple of anything. The inputs are chosen so that
//! `i · step + start` is exact in f64; the reference then rounds the exact value once to the
//! dtype with `reference.rs`'s own conversion, independently of the kernels.

use super::cases::{BLOCKS, Case, multi, out, pm, setup};
use super::reference::{self as r, Dt, V, check_all, get};
use kernels_gpu::Kernel;
use kernels_gpu::ops::fill::{self, EyeArgs, FillArgs, IotaArgs};
use kernels_gpu::ops::layout::Shape;
use kernels_gpu::ops::map;
use kernels_gpu::prelude::{BF16, Elem, F16};

const SHARED: u32 = 48 * 1024;
/// Elements of a launch: odd, so that the fill's vector path leaves a tail.
const N: usize = 3001;

fn cfg(n: usize, lanes: usize) -> kernels_gpu::LaunchConfig {
    map::config(&Shape::flat(n as u64), true, lanes, BLOCKS)
}

/// The value whose bits the fill stores: a byte pattern with every byte distinct.
const PATTERN: u64 = 0x8877_6655_4433_2211;

fn fill_case<E: Elem>(k: Kernel<FillArgs<E>>) -> Case {
    let size = size_of::<E>();
    multi(k.info, format!("n = {N}, aligned and misaligned"), SHARED, move || {
        (0..2)
            .map(|skip| {
                let y = out::<E>(N + skip);
                let args = (pm::<E>(&y).wrapping_add(skip), N as u64, PATTERN);
                setup(k, cfg(N, 16 / size), SHARED, vec![y], args)
                    .labelled(if skip > 0 { "misaligned".into() } else { String::new() })
                    .verified(move |b| {
                        let want = &PATTERN.to_le_bytes()[..size];
                        let bad = (0..N).filter(|&i| &b[0][(skip + i) * size..(skip + i + 1) * size] != want).count();
                        let poison_kept = (0..skip * size).all(|j| b[0][j] == 0xff);
                        match (bad, poison_kept) {
                            (0, true) => Ok(()),
                            (0, false) => Err("the fill wrote before its first element".into()),
                            _ => Err(format!("{bad} of {N} elements are not the value")),
                        }
                    })
            })
            .collect()
    })
}

/// `(start, step, den, last, stop)` of the iota launches, by name.
fn iota_params(float: bool) -> Vec<(&'static str, [f64; 3], u64, f64)> {
    let mut v = vec![
        ("arange(-300, ., 3)", [-300.0, 3.0, 1.0], u64::MAX, 0.0),
        ("arange(1e9, ., -7e5)", [1e9, -7e5, 1.0], u64::MAX, 0.0),
    ];
    if float {
        v.push(("arange(-3.5, ., 0.25)", [-3.5, 0.25, 1.0], u64::MAX, 0.0));
        v.push(("linspace endpoint", [-2.0, 0.125, 1.0], N as u64 - 1, 1234.5678));
        v.push(("linspace with den 4", [0.5, 3.0, 4.0], N as u64 - 1, 0.5 + 0.75 * (N as f64 - 1.0)));
    }
    v
}

fn iota_case<E: Elem>(k: Kernel<IotaArgs<E>>) -> Case {
    let dt = Dt::of::<E>();
    multi(k.info, format!("n = {N}, arange and linspace forms"), SHARED, move || {
        iota_params(dt.is_float())
            .into_iter()
            .map(|(name, [start, step, den], last, stop)| {
                let y = out::<E>(N);
                let args = (pm::<E>(&y), N as u64, start, step, den, last, stop);
                setup(k, cfg(N, 1), SHARED, vec![y], args).labelled(name.into()).verified(move |b| {
                    check_all(
                        dt,
                        N,
                        |i| get(dt, &b[0], i),
                        |i| {
                            // Exact in f64 for these inputs: i / den is a power-of-two division.
                            let x = if i as u64 == last { stop } else { i as f64 / den * step + start };
                            (r::cast(dt, V::F(x)), format!("{name}, element {i}"))
                        },
                    )
                })
            })
            .collect()
    })
}

fn eye_case<E: Elem>(k: Kernel<EyeArgs<E>>) -> Case {
    let (size, n) = (size_of::<E>(), 53usize);
    multi(k.info, format!("{n} × {n}"), SHARED, move || {
        let y = out::<E>(n * n);
        let one = 0x0807_0605_0403_0201u64;
        let args = (pm::<E>(&y), n as u64, one);
        vec![setup(k, cfg(n * n, 1), SHARED, vec![y], args).verified(move |b| {
            for r in 0..n {
                for c in 0..n {
                    let at = (r * n + c) * size;
                    let want = if r == c { one.to_le_bytes()[..size].to_vec() } else { vec![0; size] };
                    if b[0][at..at + size] != want[..] {
                        return Err(format!("element ({r}, {c}): {:02x?}, expected {want:02x?}", &b[0][at..at + size]));
                    }
                }
            }
            Ok(())
        })]
    })
}

pub fn cases() -> Vec<Case> {
    vec![
        fill_case(fill::fill_b1).in_family("fill"),
        fill_case(fill::fill_b2).in_family("fill"),
        fill_case(fill::fill_b4).in_family("fill"),
        fill_case(fill::fill_b8).in_family("fill"),
        eye_case(fill::eye_b1).in_family("fill"),
        eye_case(fill::eye_b2).in_family("fill"),
        eye_case(fill::eye_b4).in_family("fill"),
        eye_case(fill::eye_b8).in_family("fill"),
        iota_case::<f32>(fill::iota_f32).in_family("fill"),
        iota_case::<f64>(fill::iota_f64).in_family("fill"),
        iota_case::<F16>(fill::iota_f16).in_family("fill"),
        iota_case::<BF16>(fill::iota_bf16).in_family("fill"),
        iota_case::<i32>(fill::iota_i32).in_family("fill"),
        iota_case::<i64>(fill::iota_i64).in_family("fill"),
        iota_case::<u8>(fill::iota_u8).in_family("fill"),
        iota_case::<u32>(fill::iota_u32).in_family("fill"),
    ]
}
