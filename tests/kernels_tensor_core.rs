//! Tensor cores on the emulator: the `mma.sync` fragment layouts against the PTX ISA's own
//! formulas (written out per element here, independently of `emu/mma.rs`), and the tensor-core
//! matmul kernels against an f64 reference.

mod common;

use common::cast;
use common::interp::{launch_kernel, launch_kernel_with, on_each_target};
use common::*;
use kernels_gpu::emu::{DeviceBuffer, LaunchConfig, Limits, launch};
use kernels_gpu::prelude::*;
use kernels_gpu::tensor_core::{self, config};
use kernels_gpu::wgmma_matmul;
use rstest::rstest;

/// Runs one warp that builds its fragments from A (16×K) and B (K×8) with the PTX ISA's
/// formulas for `kind` (§9.7.14.5.7 and §9.7.14.5.8, transcribed element by element), calls
/// mma with C = 0, and scatters D back with the accumulator formula.
fn warp_mma(kind: MmaKind, a: &[f32], b: &[f32]) -> Vec<f32> {
    let k = if kind == MmaKind::Tf32M16N8K8 { 8 } else { 16 };
    assert_eq!((a.len(), b.len()), (16 * k, k * 8));
    let (da, db) = (DeviceBuffer::from_slice(a), DeviceBuffer::from_slice(b));
    let mut dd = DeviceBuffer::<f32>::poisoned(16 * 8);
    let (pa, pb, pd) = (da.as_ptr() as usize, db.as_ptr() as usize, dd.as_mut_ptr() as usize);
    let cfg = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(32), shared_bytes: 0 };
    launch(&cfg, &move || {
        let (a, b) = unsafe { (Global::new(pa as *const f32, 16 * k), Global::new(pb as *const f32, k * 8)) };
        let d = unsafe { GlobalMut::new(pd as *mut f32, 128) };
        let lane = thread_idx().x as usize;
        let (g, t) = (lane >> 2, lane % 4);
        let at = |row: usize, col: usize| a.load(row * k + col);
        let bt = |row: usize, col: usize| b.load(row * 8 + col);
        let h = |x: f32| if kind == MmaKind::Bf16M16N8K16 { BF16::from_f32(x).0 } else { F16::from_f32(x).0 };
        let (fa, fb): ([u32; 4], [u32; 2]) = match kind {
            MmaKind::Tf32M16N8K8 => {
                // a0: (g, t), a1: (g + 8, t), a2: (g, t + 4), a3: (g + 8, t + 4); b0: (t, g), b1: (t + 4, g)
                (
                    [tf32(at(g, t)), tf32(at(g + 8, t)), tf32(at(g, t + 4)), tf32(at(g + 8, t + 4))],
                    [tf32(bt(t, g)), tf32(bt(t + 4, g))],
                )
            }
            _ => {
                // a_i: row g for i in {0,1,4,5}, else g + 8; col 2t + (i & 1), + 8 for i >= 4;
                // two elements per register, a_{2r} low.
                let ai = |i: usize| {
                    let row = if i < 2 || (4..6).contains(&i) { g } else { g + 8 };
                    let col = 2 * t + (i & 1) + if i >= 4 { 8 } else { 0 };
                    h(at(row, col))
                };
                // b_i: row 2t + (i & 1), + 8 for i >= 2; col g.
                let bi = |i: usize| h(bt(2 * t + (i & 1) + if i >= 2 { 8 } else { 0 }, g));
                (
                    core::array::from_fn(|r| pack2(ai(2 * r), ai(2 * r + 1))),
                    core::array::from_fn(|r| pack2(bi(2 * r), bi(2 * r + 1))),
                )
            }
        };
        let out = match kind {
            MmaKind::Tf32M16N8K8 => mma_m16n8k8_tf32(fa, fb, [0.0; 4]),
            MmaKind::Bf16M16N8K16 => mma_m16n8k16_bf16(fa, fb, [0.0; 4]),
            MmaKind::F16M16N8K16 => mma_m16n8k16_f16(fa, fb, [0.0; 4]),
        };
        // c_i: row g for i < 2, else g + 8; col 2t + (i & 1).
        for (i, v) in out.into_iter().enumerate() {
            d.store((if i < 2 { g } else { g + 8 }) * 8 + 2 * t + (i & 1), v);
        }
    })
    .unwrap();
    dd.to_vec()
}

#[rstest]
fn mma_fragment_layouts_follow_the_ptx_isa(
    #[values(MmaKind::Tf32M16N8K8, MmaKind::Bf16M16N8K16, MmaKind::F16M16N8K16)] kind: MmaKind,
) {
    let k = if kind == MmaKind::Tf32M16N8K8 { 8 } else { 16 };
    // Small integers: exact in every input type and in f32 sums, so D must equal A·B exactly;
    // any misplaced element changes some entry.
    let a: Vec<f32> = (0..16 * k).map(|i| ((i * 7 + 3) % 11) as f32 - 5.0).collect();
    let b: Vec<f32> = (0..k * 8).map(|i| ((i * 5 + 1) % 13) as f32 - 6.0).collect();
    let d = warp_mma(kind, &a, &b);
    for i in 0..16 {
        for j in 0..8 {
            let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * 8 + j]).sum();
            assert_eq!(d[i * 8 + j], want, "{kind:?}: D[{i}][{j}]");
        }
    }
}

#[test]
fn tf32_rounds_to_nearest_ties_away() {
    // 1 + 2^-11 is halfway between tf32 neighbours 1 and 1 + 2^-10: away from zero is up.
    let d = DeviceBuffer::from_slice(&[
        1.0f32 + 2f32.powi(-11),
        -(1.0 + 2f32.powi(-11)),
        1.0 + 3.0 * 2f32.powi(-12),
        f32::INFINITY,
    ]);
    let mut out = DeviceBuffer::<u32>::poisoned(4);
    let (pi, po) = (d.as_ptr() as usize, out.as_mut_ptr() as usize);
    launch(&LaunchConfig { grid: Dim3::x(1), block: Dim3::x(32), shared_bytes: 0 }, &move || {
        let (i, o) = unsafe { (Global::new(pi as *const f32, 4), GlobalMut::new(po as *mut u32, 4)) };
        let t = thread_idx().x as usize;
        if t < 4 {
            o.store(t, tf32(i.load(t)));
        }
    })
    .unwrap();
    let got: Vec<f32> = out.to_vec().into_iter().map(f32::from_bits).collect();
    let up = 1.0 + 2f32.powi(-10);
    assert_eq!(got, [up, -up, up, f32::INFINITY]);
}

#[derive(Clone, Copy, Debug)]
enum Input {
    Tf32,
    Bf16,
    F16,
}

/// Which tensor-core instruction the kernel under test uses.
/// Hopper's limits: the `wgmma` kernel opts in to 64 KiB of shared memory (up to 227 KiB).
fn hopper() -> Limits {
    Limits { max_shared_bytes: 227 * 1024, ..Limits::default() }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    /// `mma.sync` (`tensor_core.rs`, sm_80+).
    Mma,
    /// `wgmma` (`wgmma_matmul.rs`, sm_90a; bf16 and f16 only).
    Wgmma,
}

/// The tensor-core product against an f64 reference. Per output, with `S = Σ|a||b|`:
/// tf32 rounds each input to 11 significant bits (relative error ≤ 2^-11 each, so ≤ 2^-10
/// per product); every kind then accumulates K products in f32 (≤ K·2^-24·S); bf16 and f16
/// outputs round once more (2^-8, 2^-11 of the result). A and B start `skip` elements into
/// their buffers (a misaligned base when not 0, which must not take the vector loads).
fn check(input: Input, unit: Unit, (m, n, k): (usize, usize, usize), skip: usize) {
    let case = format!("tensor core {unit:?} {input:?} {m}x{k}·{k}x{n}, operands {skip} elements in");
    let mut r = rng(&case);
    let a64 = uniform(&mut r, skip + m * k, -1.0, 1.0);
    let b64 = uniform(&mut r, skip + k * n, -1.0, 1.0);
    let cfg = if unit == Unit::Mma { config(m, n) } else { wgmma_matmul::config(m, n) };
    let (a, b, got, in_rel, out_rel): (Vec<f64>, Vec<f64>, Vec<f64>, f64, f64) = match input {
        Input::Tf32 => {
            assert_eq!(unit, Unit::Mma, "wgmma_matmul has no tf32 kernel");
            let (a, b): (Vec<f32>, Vec<f32>) = (cast(&a64), cast(&b64));
            let (da, db) = (DeviceBuffer::from_slice(&a), DeviceBuffer::from_slice(&b));
            let mut dc = DeviceBuffer::<f32>::poisoned(m * n);
            // SAFETY: `skip` elements into buffers of `skip + len` elements.
            let (pa, pb) = unsafe { (da.as_ptr().add(skip), db.as_ptr().add(skip)) };
            let args = (pa, pb, dc.as_mut_ptr(), m as u32, n as u32, k as u32, 0u64, 0u64);
            unsafe { launch_kernel(&tensor_core::mma_matmul_tf32, &cfg, args) }.unwrap();
            (widen(&a[skip..]), widen(&b[skip..]), widen(&dc.to_vec()), 2f64.powi(-10), 0.0)
        }
        Input::Bf16 | Input::F16 => {
            let bf = matches!(input, Input::Bf16);
            let enc = |v: &[f64]| -> Vec<u16> {
                v.iter().map(|&x| if bf { BF16::from_f64(x).0 } else { F16::from_f64(x).0 }).collect()
            };
            let dec = |h: u16| -> f64 { if bf { BF16(h).to_f32() as f64 } else { F16(h).to_f32() as f64 } };
            let (a, b) = (enc(&a64), enc(&b64));
            let (da, db) = (DeviceBuffer::from_slice(&a), DeviceBuffer::from_slice(&b));
            let mut dc = DeviceBuffer::<u16>::poisoned(m * n);
            // SAFETY: as above.
            let (pa, pb) = unsafe { (da.as_ptr().add(skip), db.as_ptr().add(skip)) };
            let args = (pa, pb, dc.as_mut_ptr(), m as u32, n as u32, k as u32, 0u64, 0u64);
            macro_rules! cast_args {
                () => {
                    (args.0.cast(), args.1.cast(), args.2.cast(), args.3, args.4, args.5, args.6, args.7)
                };
            }
            unsafe {
                match (unit, bf) {
                    (Unit::Mma, true) => launch_kernel(&tensor_core::mma_matmul_bf16, &cfg, cast_args!()),
                    (Unit::Mma, false) => launch_kernel(&tensor_core::mma_matmul_f16, &cfg, cast_args!()),
                    (Unit::Wgmma, true) => {
                        launch_kernel_with(&wgmma_matmul::wgmma_matmul_bf16, &cfg, &hopper(), cast_args!())
                    }
                    (Unit::Wgmma, false) => {
                        launch_kernel_with(&wgmma_matmul::wgmma_matmul_f16, &cfg, &hopper(), cast_args!())
                    }
                }
            }
            .unwrap();
            let out_rel = if bf { 2f64.powi(-8) } else { 2f64.powi(-11) };
            let got = dc.to_vec().into_iter().map(|h| if h == 0xffff { f64::NAN } else { dec(h) }).collect();
            (
                a[skip..].iter().map(|&h| dec(h)).collect(),
                b[skip..].iter().map(|&h| dec(h)).collect(),
                got,
                0.0,
                out_rel,
            )
        }
    };
    let (mut want, mut tol) = (vec![0.0; m * n], vec![0.0; m * n]);
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut mag) = (0.0, 0.0);
            for p in 0..k {
                s += a[i * k + p] * b[p * n + j];
                mag += (a[i * k + p] * b[p * n + j]).abs();
            }
            want[i * n + j] = s;
            tol[i * n + j] = (in_rel + (k + 2) as f64 * 2f64.powi(-24)) * mag + out_rel * s.abs() + 1e-30;
        }
    }
    // The f64 reference sees the inputs as stored (tf32 rounding is inside the tolerance).
    assert_close(&got, &want, |i| tol[i], &case);
}

/// Shapes: single elements, primes, exact 128 tiles and one past, K not a multiple of the
/// 16-word stage, odd and even stage counts through the two buffers. A takes 16-byte loads
/// when K is a multiple of 4 (tf32) or 8 (16-bit), B vector loads when N is a multiple of 4:
/// the cases cover both, either and neither, and misaligned bases (`skip`).
#[rstest]
#[case(1, 1, 1, 0)]
#[case(17, 9, 5, 0)]
#[case(128, 128, 16, 0)]
#[case(129, 130, 33, 0)]
#[case(200, 67, 257, 0)]
#[case(31, 300, 64, 0)]
#[case(130, 132, 72, 0)]
#[case(67, 260, 100, 0)]
#[case(129, 131, 96, 0)]
#[case(130, 132, 72, 1)]
#[case(64, 136, 40, 2)]
fn tensor_core_matmul_matches_f64_reference(#[case] m: usize, #[case] n: usize, #[case] k: usize, #[case] skip: usize) {
    on_each_target(|| check(Input::Tf32, Unit::Mma, (m, n, k), skip));
    on_each_target(|| check(Input::Bf16, Unit::Mma, (m, n, k), skip));
    on_each_target(|| check(Input::F16, Unit::Mma, (m, n, k), skip));
}

/// The `wgmma` kernel's shapes: its tile is 128×128 with 64 K per stage in two alternating
/// buffers (1 to 6 stages here, odd and even counts), and it takes 16-byte loads of A only
/// when K is a multiple of 8 and 8-byte loads of B only when N is a multiple of 4, so both the
/// vector and the element-by-element staging paths are covered.
#[rstest]
#[case(1, 1, 1, 0)]
#[case(17, 9, 5, 0)]
#[case(128, 128, 64, 0)]
#[case(129, 132, 72, 0)]
#[case(131, 257, 67, 0)]
#[case(64, 136, 200, 0)]
#[case(64, 128, 192, 0)]
#[case(130, 129, 321, 0)]
#[case(129, 132, 72, 1)]
fn wgmma_matmul_matches_f64_reference(#[case] m: usize, #[case] n: usize, #[case] k: usize, #[case] skip: usize) {
    on_each_target(|| check(Input::Bf16, Unit::Wgmma, (m, n, k), skip));
    on_each_target(|| check(Input::F16, Unit::Wgmma, (m, n, k), skip));
}
