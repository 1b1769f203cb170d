//! Row softmax on the CPU grid emulator against an f64 reference.
//!
//! Tolerance, relative to the reference output `y_i` (u = unit roundoff): `x_i - max` is
//! rounded once (an error of `|x_i - max|·u` in the exponent), exp is within 2 ulp (4u), the
//! sum of `cols` terms adds at most `(cols - 1)·u` plus the terms' own errors (weighted by
//! `e^(x-max)`, at most `cols/e·u + 4u`), and the reciprocal and the product one rounding
//! each. So `|y - y_ref| <= u·(|x_i - max| + 2·cols + 16)·y_ref`, plus the smallest normal for
//! outputs that underflow.

mod common;

use common::interp::{launch_kernel, on_each_target};
use common::*;
use kernels_gpu::Kernel;
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::softmax::{self, config};
use rstest::rstest;

type SoftmaxArgs<T> = (*const T, *mut T, u32, u32);

trait SoftmaxKernel: Elem {
    const SOFTMAX: Kernel<SoftmaxArgs<Self>>;
    /// The one-pass kernel holding `v` 16-byte groups per thread.
    fn regs(v: usize) -> Kernel<SoftmaxArgs<Self>>;
}
impl SoftmaxKernel for f32 {
    const SOFTMAX: Kernel<SoftmaxArgs<f32>> = softmax::softmax_f32;
    fn regs(v: usize) -> Kernel<SoftmaxArgs<f32>> {
        [
            softmax::softmax_regs_f32_v1,
            softmax::softmax_regs_f32_v2,
            softmax::softmax_regs_f32_v4,
            softmax::softmax_regs_f32_v8,
        ][v.trailing_zeros() as usize]
    }
}
impl SoftmaxKernel for f64 {
    const SOFTMAX: Kernel<SoftmaxArgs<f64>> = softmax::softmax_f64;
    fn regs(v: usize) -> Kernel<SoftmaxArgs<f64>> {
        [
            softmax::softmax_regs_f64_v1,
            softmax::softmax_regs_f64_v2,
            softmax::softmax_regs_f64_v4,
            softmax::softmax_regs_f64_v8,
        ][v.trailing_zeros() as usize]
    }
}

/// The formula, in f64, on the same (rounded) inputs. maxNum ignores NaN like the kernel;
/// the NaN still reaches every output through the sum.
fn reference(x: &[f64], cols: usize) -> (Vec<f64>, Vec<f64>) {
    let mut y = vec![0.0; x.len()];
    let mut gap = vec![0.0; x.len()];
    for (r, row) in x.chunks(cols).enumerate() {
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let s: f64 = row.iter().map(|&v| (v - m).exp()).sum();
        for (i, &v) in row.iter().enumerate() {
            y[r * cols + i] = (v - m).exp() / s;
            // -inf inputs give an exact 0 (an infinite gap times 0 would make the tolerance NaN).
            gap[r * cols + i] = if v == f64::NEG_INFINITY { 0.0 } else { (v - m).abs() };
        }
    }
    (y, gap)
}

/// The host's choice of one-pass kernel, with each entry's block bounded by its registers.
fn regs_config<T: SoftmaxKernel>(rows: usize, cols: usize) -> Option<(usize, kernels_gpu::LaunchConfig)> {
    softmax::regs_config::<T>(rows, cols, |i| max_threads(T::regs(softmax::REGS_GROUPS[i]).name()))
}

/// `max_shared`: the three-pass kernel with that much shared memory for its row cache; `None`:
/// the one-pass register kernel.
fn run<T: SoftmaxKernel>(x: &[T], rows: usize, cols: usize, max_shared: Option<u32>, case: &str) {
    let dx = DeviceBuffer::from_slice(x);
    let mut dy = DeviceBuffer::<T>::poisoned(x.len());
    let args = (dx.as_ptr(), dy.as_mut_ptr(), rows as u32, cols as u32);
    match max_shared {
        Some(shared) => {
            let cfg = config::<T>(rows, cols, shared, max_threads(T::SOFTMAX.name()));
            unsafe { launch_kernel(&T::SOFTMAX, &cfg, args) }.unwrap()
        }
        None => {
            let (i, cfg) = regs_config::<T>(rows, cols).expect("a row the register kernel takes");
            unsafe { launch_kernel(&T::regs(softmax::REGS_GROUPS[i]), &cfg, args) }.unwrap()
        }
    }
    let (want, gap) = reference(&widen(x), cols);
    let tol = |i: usize| T::U * (gap[i] + 2.0 * cols as f64 + 16.0) * want[i] + T::TINY;
    assert_close(&dy.to_vec(), &want, tol, case);
}

fn random_rows<T: SoftmaxKernel>(rows: usize, cols: usize, max_shared: Option<u32>) {
    let case = format!("softmax {} {rows}x{cols} shared {max_shared:?}", T::NAME);
    let x: Vec<T> = cast(&uniform(&mut rng(&case), rows * cols, -60.0, 60.0));
    run(&x, rows, cols, max_shared, &case);
}

/// Rows of length 1, primes, one past a warp, and longer than any block (1024 threads);
/// 48 KiB of shared memory caches the row, 0 forces the re-reading path.
#[rstest]
fn softmax_f32_matches_f64_reference(
    #[values((1, 1), (3, 1), (1, 2), (5, 7), (2, 31), (7, 32), (4, 33), (3, 1000), (2, 1025), (2, 5003), (1, 13001))]
    shape: (usize, usize),
    #[values(48 * 1024, 0)] max_shared: u32,
) {
    on_each_target(|| random_rows::<f32>(shape.0, shape.1, Some(max_shared)));
}

#[rstest]
fn softmax_f64_matches_f64_reference(
    #[values((1, 1), (2, 3), (3, 97), (2, 1031), (1, 6007))] shape: (usize, usize),
    #[values(48 * 1024, 0)] max_shared: u32,
) {
    on_each_target(|| random_rows::<f64>(shape.0, shape.1, Some(max_shared)));
}

/// The one-pass kernel at each register depth: rows of 1k to 28k f32 (and the smallest ones),
/// lengths one 16-byte group past a block's capacity, the longest row `V = 8` takes, and f64.
#[rstest]
fn one_pass_softmax_matches_f64_reference(
    #[values((1, 4), (3, 8), (2, 1000), (5, 1024), (3, 2052), (2, 4100), (2, 8196), (2, 12292), (1, 28672))] shape: (
        usize,
        usize,
    ),
) {
    on_each_target(|| random_rows::<f32>(shape.0, shape.1, None));
}

#[rstest]
fn one_pass_softmax_f64_matches_f64_reference(
    #[values((1, 2), (3, 998), (2, 4098), (1, 16384))] shape: (usize, usize),
) {
    on_each_target(|| random_rows::<f64>(shape.0, shape.1, None));
}

/// Rows the one-pass kernel can hold with the blocks its registers allow: `V = 8` at about 70
/// registers (sm_90a) fits 896 threads, 8 · 896 · 4 = 28,672 f32, not 32,768 (1024 threads
/// would need 73,728 registers of a block's 65,536).
#[test]
fn one_pass_softmax_takes_only_rows_it_can_hold() {
    let v8 = max_threads(softmax::softmax_regs_f32_v8.name());
    assert!(v8 < 1024, "softmax_regs_f32_v8 fits {v8} threads: the registers no longer limit it");
    assert!(regs_config::<f32>(1, 1001).is_none(), "not a multiple of 16 bytes");
    let longest = 8 * 4 * v8 as usize;
    let (i, cfg) = regs_config::<f32>(1, longest).unwrap();
    assert_eq!((softmax::REGS_GROUPS[i], cfg.block.x), (8, v8));
    assert!(regs_config::<f32>(1, longest + 4).is_none(), "one group past V = 8's largest block");
    assert!(regs_config::<f32>(1, 32768).is_none(), "32,768 f32 take the shared-memory kernel");
    assert_eq!(regs_config::<f32>(1, 1000).unwrap().0, 0);
}

/// Row 0 holds -inf among finite values, row 1 values near 1e4, row 2 a NaN, row 3 only
/// -inf, row 4 a +inf, row 5 is ordinary.
fn special_rows<T: SoftmaxKernel>(cols: usize, max_shared: Option<u32>) {
    let case = format!("softmax specials {} cols={cols} shared {max_shared:?}", T::NAME);
    let mut r = rng(&case);
    let mut x = uniform(&mut r, 6 * cols, -5.0, 5.0);
    let (ninf, inf, nan) = (f64::NEG_INFINITY, f64::INFINITY, f64::NAN);
    x[0] = ninf;
    if cols > 2 {
        x[cols - 1] = ninf;
    }
    for v in &mut x[cols..2 * cols] {
        *v += 1e4;
    }
    x[2 * cols + cols / 2] = nan;
    x[3 * cols..4 * cols].fill(ninf);
    x[4 * cols + cols / 3] = inf;
    let x: Vec<T> = cast(&x);
    run(&x, 6, cols, max_shared, &case);
    // The reference agrees with the IEEE reading spelled out in softmax.rs.
    let (y, _) = reference(&widen(&x), cols);
    assert!(y[2 * cols..4 * cols].iter().all(|v| v.is_nan()));
    assert!(y[4 * cols..5 * cols].iter().all(|v| v.is_nan()));
    assert!(cols == 1 || (y[0] == 0.0 && y[cols..2 * cols].iter().all(|v| v.is_finite())));
}

#[rstest]
fn softmax_special_values_follow_ieee(
    #[values(1, 2, 33, 2000)] cols: usize,
    #[values(Some(48 * 1024), Some(0), None)] max_shared: Option<u32>,
) {
    // The one-pass kernel takes rows of whole 16-byte groups only.
    if max_shared.is_some() || cols.is_multiple_of(4) {
        on_each_target(|| special_rows::<f32>(cols, max_shared));
    }
    if max_shared.is_some() || cols.is_multiple_of(2) {
        on_each_target(|| special_rows::<f64>(cols, max_shared));
    }
}

/// The lane kernels' sum (`softmax::blocked_sum`, which `axis_softmax` and the CPU's lanes
/// use) keeps its documented order: 2^25 ones in f32 sum to 2^25 exactly (in order they stop
/// at 2^24), and 10^6 random terms stay within `(128 + n/4096 + 2)·u·Σ|x|` of the exact sum.
#[test]
fn the_lane_sum_is_blocked_not_sequential() {
    let n = 1usize << 25;
    assert_eq!(softmax::blocked_sum::<f32>(0, n, |_| 1.0), n as f32);
    let x: Vec<f32> =
        (0..1_000_000u64).map(|i| ((i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as f32) / 16777216.0).collect();
    let got = softmax::blocked_sum::<f32>(0, x.len(), |k| x[k]) as f64;
    let exact: f64 = x.iter().map(|&v| v as f64).sum();
    let bound = (128.0 + x.len() as f64 / 4096.0 + 2.0) * f32::EPSILON as f64 / 2.0 * exact;
    assert!((got - exact).abs() <= bound, "{got} against {exact} (bound {bound:e})");
    // An empty range and one shorter than a block.
    assert_eq!(softmax::blocked_sum::<f32>(5, 5, |k| x[k]), 0.0);
    assert_eq!(softmax::blocked_sum::<f64>(0, 3, |k| k as f64), 3.0);
}
