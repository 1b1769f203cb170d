//! Runtime CPU-feature dispatch for the hot CPU loops.
//!
//! The crate is built for baseline x86-64, where the kernels' `mul_add` (their formulas use
//! explicit FMAs, so that CPU and GPU round alike) is a libm call. [`multiversion!`] compiles
//! a loop twice more, for AVX-512 and for AVX2 + FMA, and picks the best copy the CPU runs:
//! the same source and the same FMAs, as single instructions, 16 or 8 lanes wide. The
//! kernels' `exp` is branch-free and `#[inline(always)]`, so it vectorizes inside these loops.
//! Binaries still run on any x86-64.

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
/// must inline into it (the kernels' scalar formulas, `exp` and `ln` are `#[inline(always)]`),
/// and rayon closures must call such a function rather than be the body, since code outside
/// it keeps the baseline features.
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

/// Runs `f` compiled for AVX-512 or AVX2 + FMA where the CPU has them: the closure is inlined
/// into a function with those target features, so its loops vectorize with them (the same
/// idea as [`multiversion!`], for code written as a closure).
#[inline(always)]
pub(crate) fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2_fma<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if has_avx512() {
            // SAFETY: the CPU has the features `avx512` is compiled for.
            return unsafe { avx512(f) };
        }
        if has_avx2_fma() {
            // SAFETY: the CPU has the features `avx2_fma` is compiled for.
            return unsafe { avx2_fma(f) };
        }
    }
    f()
}

/// What the CPU loops need beyond the kernels' `Float`.
pub trait CpuMath: KernelFloat + Send + Sync {
    /// `y = sqrt(x)` with streaming stores (`stream.rs`).
    ///
    /// # Safety
    /// The CPU has AVX.
    #[cfg(target_arch = "x86_64")]
    unsafe fn sqrt_stream(x: &[Self], y: &mut [Self]);
}

impl CpuMath for f32 {
    #[cfg(target_arch = "x86_64")]
    unsafe fn sqrt_stream(x: &[f32], y: &mut [f32]) {
        // SAFETY: the caller's contract.
        unsafe { super::stream::sqrt_stream_f32(x, y) }
    }
}

impl CpuMath for f64 {
    #[cfg(target_arch = "x86_64")]
    unsafe fn sqrt_stream(x: &[f64], y: &mut [f64]) {
        // SAFETY: the caller's contract.
        unsafe { super::stream::sqrt_stream_f64(x, y) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernels' exp (or ln) over `x`, compiled for every tier this CPU runs (inlined into
    /// each), the baseline first.
    fn each_tier(x: &[f32], ln: bool) -> Vec<(&'static str, Vec<f32>)> {
        #[inline(always)]
        fn map(x: &[f32], ln: bool) -> Vec<f32> {
            x.iter().map(|&v| if ln { KernelFloat::ln(v) } else { KernelFloat::exp(v) }).collect()
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

    /// Every tier against the baseline build of the kernels' exp (bit for bit: FMAs are FMAs
    /// whether libm or the CPU does them) and against f64 (2 ulp), over a dense sweep of the
    /// whole range, underflow to subnormals and 0 and overflow included, and specials.
    #[test]
    fn exp_is_the_same_in_every_tier_and_within_two_ulp() {
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

    /// Every tier's ln is the baseline's, bit for bit, over every binade and specials.
    #[test]
    fn ln_is_the_same_in_every_tier() {
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
