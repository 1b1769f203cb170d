//! Runtime CPU-feature dispatch for the hot CPU loops, and an exp and ln that inline.
//!
//! The crate is built for baseline x86-64, where the kernels' `mul_add` (their formulas use
//! explicit FMAs, so that CPU and GPU round alike) is a libm call and `round_ties_even` is
//! `rintf`. [`multiversion!`] compiles a loop twice more, for AVX-512 and for AVX2 + FMA, and
//! picks the best copy the CPU runs: the same source and the same FMAs, as single
//! instructions, 16 or 8 lanes wide. Binaries still run on any x86-64.

use kernels_gpu::prelude::Float as KernelFloat;

/// Whether the CPU has AVX2 and FMA (std caches the answer; this is a load and a test).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx512() -> bool {
    has_avx2_fma() && is_x86_feature_detected!("avx512f")
}

/// Defines a function whose body is compiled three times: for AVX-512 (F) and for AVX2 + FMA,
/// each used when the CPU has them, and for the build's baseline. Everything the body calls
/// must inline into it (the kernels' scalar formulas are `#[inline(always)]`; `Float::exp` and
/// `ln` are not, hence [`CpuMath`]), and rayon closures must call such a function rather than
/// be the body, since code outside it keeps the baseline features.
macro_rules! multiversion {
    ($(#[$attr:meta])* $vis:vis fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),* $(,)?)
        $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        $vis fn $name $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2_fma $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
                portable $(::<$g>)? ($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn avx512 $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
                portable $(::<$g>)? ($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if $crate::backend::cpu::simd::has_avx512() {
                // SAFETY: the CPU has the features `avx512` is compiled for.
                return unsafe { avx512 $(::<$g>)? ($($arg),*) };
            }
            #[cfg(target_arch = "x86_64")]
            if $crate::backend::cpu::simd::has_avx2_fma() {
                // SAFETY: the CPU has the features `avx2_fma` is compiled for.
                return unsafe { avx2_fma $(::<$g>)? ($($arg),*) };
            }
            portable $(::<$g>)? ($($arg),*)
        }
    };
}
pub(crate) use multiversion;

/// Scalar math for the CPU loops, the kernels' formulas written so that loops vectorize.
pub trait CpuMath: KernelFloat + Send + Sync {
    /// `Float::exp`: the same range reduction, polynomial and scaling, bit for bit, with its
    /// range checks as selects instead of branches.
    fn exp_v(self) -> Self;
    /// `Float::ln`, bit for bit, inlined into the caller (so its FMAs are instructions).
    fn ln_v(self) -> Self;
    /// `y = sqrt(x)` with streaming stores (`stream.rs`).
    ///
    /// # Safety
    /// The CPU has AVX.
    #[cfg(target_arch = "x86_64")]
    unsafe fn sqrt_stream(x: &[Self], y: &mut [Self]);
}

impl CpuMath for f32 {
    #[inline(always)]
    fn exp_v(self) -> f32 {
        exp_f32(self)
    }
    #[inline(always)]
    fn ln_v(self) -> f32 {
        ln_f32(self)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn sqrt_stream(x: &[f32], y: &mut [f32]) {
        // SAFETY: the caller's contract.
        unsafe { super::stream::sqrt_stream_f32(x, y) }
    }
}

/// The kernels' own functions: f64 is not a performance target.
impl CpuMath for f64 {
    #[inline(always)]
    fn exp_v(self) -> f64 {
        KernelFloat::exp(self)
    }
    #[inline(always)]
    fn ln_v(self) -> f64 {
        KernelFloat::ln(self)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn sqrt_stream(x: &[f64], y: &mut [f64]) {
        // SAFETY: the caller's contract.
        unsafe { super::stream::sqrt_stream_f64(x, y) }
    }
}

/// The kernels' `exp_f32` (kernels-gpu `prelude/math.rs`, which explains the method) without
/// branches. `round_ties_even(x · log2 e)` is computed by adding `1.5 · 2^23`: in `[2^23, 2^24)`
/// floats are integers, so the addition rounds to nearest even, and the sum's low bits are the
/// integer. That holds for `|x · log2 e| < 2^22`; outside `[-104, 88.72]` the final selects
/// replace the result, and integer arithmetic wraps so that no input can overflow.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = core::f32::consts::LN_2;
    const LN2_LO: f32 = -1.904_654_3e-9;
    const SHIFT: f32 = 12_582_912.0; // 1.5 · 2^23
    const C: [f32; 8] = [1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0];
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = (-n).mul_add(LN2_HI, x);
    let r = (-n).mul_add(LN2_LO, r);
    let mut p = C[0];
    for &c in &C[1..] {
        p = p.mul_add(r, c);
    }
    let k = (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    let half = k >> 1;
    let pow2 = |k: i32| f32::from_bits((k.wrapping_add(127) as u32) << 23);
    let y = p * pow2(half) * pow2(k.wrapping_sub(half));
    if x > 88.722_84 {
        f32::INFINITY
    } else if x < -104.0 {
        0.0
    } else {
        y
    }
}

/// The kernels' `ln_f32` (kernels-gpu `prelude/math.rs`), copied so that it inlines.
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // written so that NaN takes the first branch
fn ln_f32(x: f32) -> f32 {
    if !(x > 0.0) || x == f32::INFINITY {
        return if x == 0.0 {
            f32::NEG_INFINITY
        } else if x == f32::INFINITY {
            x
        } else {
            f32::NAN
        };
    }
    let (mut bits, mut e) = (x.to_bits(), 0i32);
    if bits < 0x0080_0000 {
        bits = (x * 16_777_216.0).to_bits(); // subnormal: scale by 2^24 first
        e = -24;
    }
    e += ((bits >> 23) as i32) - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    if m > core::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut q = 1.0 / 11.0;
    for c in [1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0] {
        q = f32::mul_add(q, s2, c);
    }
    let r = 2.0 * s;
    f32::mul_add(e as f32, core::f32::consts::LN_2, f32::mul_add(r, s2 * q, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `exp_v` (or `ln_v`) over `x`, compiled for every tier this CPU runs, the baseline first.
    fn each_tier(x: &[f32], ln: bool) -> Vec<(&'static str, Vec<f32>)> {
        #[inline(always)]
        fn map(x: &[f32], ln: bool) -> Vec<f32> {
            x.iter().map(|&v| if ln { v.ln_v() } else { v.exp_v() }).collect()
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(x: &[f32], ln: bool) -> Vec<f32> {
            map(x, ln)
        }
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512(x: &[f32], ln: bool) -> Vec<f32> {
            map(x, ln)
        }
        let mut out = vec![("baseline", map(x, ln))];
        if has_avx2_fma() {
            // SAFETY: the CPU has the features.
            out.push(("avx2", unsafe { avx2(x, ln) }));
        }
        if has_avx512() {
            // SAFETY: the CPU has the features.
            out.push(("avx512", unsafe { avx512(x, ln) }));
        }
        out
    }

    /// Error of `got` against `want` in units of the last place of the f32 nearest `want`
    /// (the subnormal spacing below the normal range).
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        if got == w {
            return 0.0;
        }
        let ulp = if w.abs() < f32::MIN_POSITIVE {
            f32::from_bits(1)
        } else {
            f32::from_bits(w.abs().to_bits() + 1) - w.abs()
        };
        (got as f64 - want).abs() / ulp as f64
    }

    /// Bit for bit the kernels' `got`, NaN payloads aside.
    fn same(got: f32, kernel: f32) -> bool {
        got.to_bits() == kernel.to_bits() || (got.is_nan() && kernel.is_nan())
    }

    /// Every tier against the kernels' exp (bit for bit) and against f64 (2 ulp), over a dense
    /// sweep of the whole range, underflow to subnormals and 0 and overflow included, and specials.
    #[test]
    fn exp_v_is_the_kernel_exp_and_within_two_ulp() {
        let mut x: Vec<f32> = (0..2_000_000).map(|i| -110.0 + i as f32 * 1e-4).collect();
        x.extend((0..400_000).map(|i| -4.0 + i as f32 * 2e-5)); // dense around 0
        x.extend([f32::NEG_INFINITY, f32::INFINITY, f32::NAN, -f32::NAN, -0.0, 0.0, f32::MAX, f32::MIN]);
        x.extend([88.722_83, 88.722_84, 88.722_85, -103.97, -104.0, -104.01, -87.33, -87.34, -149.0, 1e-30]);
        for (tier, got) in each_tier(&x, false) {
            for (&x, &g) in x.iter().zip(&got) {
                let kernel = KernelFloat::exp(x);
                assert!(same(g, kernel), "{tier}: exp({x:e}) = {g:e}, kernel {kernel:e}");
                let e = ulps(g, (x as f64).exp());
                assert!(x.is_nan() || e <= 2.0, "{tier}: exp({x:e}) = {g:e}: {e} ulp");
            }
        }
        let specials = [f32::NEG_INFINITY, -200.0, -110.0, -100.0, 0.0, 89.0, f32::INFINITY, f32::NAN];
        for (tier, got) in each_tier(&specials, false) {
            let want = [0.0, 0.0, 0.0, (-100.0f64).exp() as f32, 1.0, f32::INFINITY, f32::INFINITY];
            assert!(got[..7] == want && got[3].is_subnormal() && got[7].is_nan(), "{tier}: {got:?}");
        }
    }

    /// Every tier's `ln_v` is the kernels' ln, bit for bit, over every binade and specials.
    #[test]
    fn ln_v_is_the_kernel_ln() {
        let mut x: Vec<f32> = (0..(0x7f80_0000u32 / 997)).map(|i| f32::from_bits(i * 997)).collect();
        x.extend([0.0, -0.0, -1.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1.0, f32::MAX, f32::from_bits(1)]);
        for (tier, got) in each_tier(&x, true) {
            for (&x, &g) in x.iter().zip(&got) {
                let kernel = KernelFloat::ln(x);
                assert!(same(g, kernel), "{tier}: ln({x:e}) = {g:e}, kernel {kernel:e}");
            }
        }
    }
}
