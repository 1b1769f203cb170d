//! Float conversion kernels on the CPU grid emulator against an exact reference.
//!
//! Widening (f16/bf16 -> f32/f64) is exact, so every one of the 65536 bit patterns must
//! convert to exactly the value it encodes. Narrowing must give the nearest representable
//! value, ties to the even bit pattern, with overflow to infinity at the IEEE threshold: the
//! reference finds it by binary search over all finite 16-bit values sorted as f64.

mod common;

use common::interp::{launch_kernel, on_each_target};
use common::*;
use kernels_gpu::Kernel;
use kernels_gpu::elementwise::config;
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::ops::cast;
use kernels_gpu::prelude::{BF16, F16};

/// Exact value of 16-bit pattern `h` with `frac` fraction bits and `exp` exponent bits.
fn value16(h: u16, frac: u32, exp: u32) -> f64 {
    let sign = if h >> (frac + exp) & 1 == 1 { -1.0 } else { 1.0 };
    let e = ((h >> frac) & ((1 << exp) - 1)) as i32;
    let f = (h & ((1 << frac) - 1)) as f64;
    let bias = (1 << (exp - 1)) - 1;
    if e == (1 << exp) - 1 {
        return if f == 0.0 { sign * f64::INFINITY } else { f64::NAN };
    }
    let (m, p) = if e == 0 { (f, 1 - bias) } else { (f + (1 << frac) as f64, e - bias) };
    sign * m * 2f64.powi(p - frac as i32)
}

/// Round-to-nearest-even into a 16-bit format, by search over its finite non-negative values.
struct Nearest {
    values: Vec<(f64, u16)>,
    frac: u32,
    exp: u32,
}

impl Nearest {
    fn new(frac: u32, exp: u32) -> Self {
        let mut values: Vec<(f64, u16)> =
            (0..=0x7fffu16).map(|h| (value16(h, frac, exp), h)).filter(|(v, _)| v.is_finite()).collect();
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Infinity behaves as the next value up, one ulp past the largest finite one.
        let (max, bits) = *values.last().unwrap();
        let ulp = max - values[values.len() - 2].0;
        values.push((max + ulp, bits + 1));
        Nearest { values, frac, exp }
    }

    fn round(&self, x: f64) -> f64 {
        if x.is_nan() || x.is_infinite() {
            return x;
        }
        let a = x.abs();
        let i = self.values.partition_point(|(v, _)| *v < a);
        let pick = if i == self.values.len() {
            self.values.len() - 1
        } else if i == 0 || self.values[i].0 == a {
            i
        } else {
            let (lo, hi) = (self.values[i - 1], self.values[i]);
            let (dl, dh) = (a - lo.0, hi.0 - a);
            if dl < dh || (dl == dh && lo.1 % 2 == 0) { i - 1 } else { i }
        };
        let v = value16(self.values[pick].1, self.frac, self.exp);
        if x.is_sign_negative() { -v } else { v }
    }
}

fn run<S: Copy, D: Copy>(k: &Kernel<(*const S, *mut D, u64)>, x: &[S]) -> Vec<D> {
    let dx = DeviceBuffer::from_slice(x);
    let mut dy = DeviceBuffer::<D>::poisoned(x.len());
    let cfg = config::<f64>(x.len(), 64);
    unsafe { launch_kernel(k, &cfg, (dx.as_ptr(), dy.as_mut_ptr(), x.len() as u64)) }.unwrap();
    dy.to_vec()
}

fn same(got: f64, want: f64) -> bool {
    (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
}

#[test]
fn widening_is_exact_for_every_bit_pattern() {
    on_each_target(widening_is_exact_for_every_bit_pattern_body);
}

fn widening_is_exact_for_every_bit_pattern_body() {
    let all: Vec<u16> = (0..=u16::MAX).collect();
    let f16: Vec<F16> = all.iter().map(|&h| F16(h)).collect();
    let bf16: Vec<BF16> = all.iter().map(|&h| BF16(h)).collect();
    let checks: [(&str, Vec<f64>, u32, u32); 4] = [
        ("f16 -> f32", run(&cast::cast_f16_f32, &f16).into_iter().map(|v| v as f64).collect(), 10, 5),
        ("f16 -> f64", run(&cast::cast_f16_f64, &f16), 10, 5),
        ("bf16 -> f32", run(&cast::cast_bf16_f32, &bf16).into_iter().map(|v| v as f64).collect(), 7, 8),
        ("bf16 -> f64", run(&cast::cast_bf16_f64, &bf16), 7, 8),
    ];
    for (what, got, frac, exp) in checks {
        for (h, g) in all.iter().zip(got) {
            assert!(same(g, value16(*h, frac, exp)), "{what}: {h:#06x} gave {g:e}");
        }
    }
}

/// Random values over the whole range of the target format, its subnormals, exact halfway
/// points, the overflow threshold, and the IEEE specials.
fn narrowing_inputs(case: &str, target: &Nearest) -> Vec<f64> {
    let mut r = rng(case);
    let mut v: Vec<f64> = uniform(&mut r, 20_000, -40.0, 40.0).into_iter().map(|e| e.exp2()).collect();
    v.extend(uniform(&mut r, 5_000, -1.0, 1.0).into_iter().map(|s| s * 1e-6));
    for w in target.values.windows(2).step_by(97) {
        v.push((w[0].0 + w[1].0) / 2.0); // a tie
        v.push(-(w[0].0 + w[1].0) / 2.0);
    }
    let (max, inf) = (target.values[target.values.len() - 2].0, target.values[target.values.len() - 1].0);
    v.extend([max, (max + inf) / 2.0, inf, 0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-300]);
    v
}

#[test]
fn narrowing_rounds_to_nearest_even() {
    on_each_target(narrowing_rounds_to_nearest_even_body);
}

fn narrowing_rounds_to_nearest_even_body() {
    for (name, frac, exp) in [("f16", 10, 5), ("bf16", 7, 8)] {
        let target = Nearest::new(frac, exp);
        let x64 = narrowing_inputs(&format!("narrow to {name}"), &target);
        let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
        let bits = |v: Vec<u16>| v;
        let (from64, from32): (Vec<u16>, Vec<u16>) = if name == "f16" {
            (
                bits(run(&cast::cast_f64_f16, &x64).into_iter().map(|h| h.0).collect()),
                bits(run(&cast::cast_f32_f16, &x32).into_iter().map(|h| h.0).collect()),
            )
        } else {
            (
                run(&cast::cast_f64_bf16, &x64).into_iter().map(|h| h.0).collect(),
                run(&cast::cast_f32_bf16, &x32).into_iter().map(|h| h.0).collect(),
            )
        };
        for (i, &x) in x64.iter().enumerate() {
            let got = value16(from64[i], frac, exp);
            assert!(same(got, target.round(x)), "f64 {x:e} -> {name}: got {got:e}, want {:e}", target.round(x));
            let x = x32[i] as f64;
            let got = value16(from32[i], frac, exp);
            assert!(same(got, target.round(x)), "f32 {x:e} -> {name}: got {got:e}, want {:e}", target.round(x));
        }
    }
}

#[test]
fn f32_f64_conversions_round_once() {
    on_each_target(f32_f64_conversions_round_once_body);
}

fn f32_f64_conversions_round_once_body() {
    let x64: Vec<f64> = uniform(&mut rng("f64 -> f32"), 10_000, -1e6, 1e6);
    let got = run(&cast::cast_f64_f32, &x64);
    assert!(x64.iter().zip(&got).all(|(x, g)| (*x as f32).to_bits() == g.to_bits()));
    let back = run(&cast::cast_f32_f64, &got);
    assert!(got.iter().zip(&back).all(|(g, b)| *g as f64 == *b));
    // Between the 16-bit types the conversion goes through f64, exactly.
    let h: Vec<F16> = (0..=u16::MAX).map(F16).collect();
    let b = run(&cast::cast_f16_bf16, &h);
    let bt = Nearest::new(7, 8);
    for (x, y) in h.iter().zip(&b) {
        let v = value16(x.0, 10, 5);
        assert!(same(value16(y.0, 7, 8), bt.round(v)), "f16 {:#06x} -> bf16", x.0);
    }
    let back = run(&cast::cast_bf16_f16, &b);
    let ht = Nearest::new(10, 5);
    for (y, z) in b.iter().zip(&back) {
        assert!(same(value16(z.0, 10, 5), ht.round(value16(y.0, 7, 8))));
    }
}
