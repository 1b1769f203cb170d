//! Row softmax on the CPU grid emulator against an f64 reference.
//!
//! Tolerance, relative to the reference output `y_i` (u = unit roundoff): `x_i - max` is
//! rounded once (an error of `|x_i - max|·u` in the exponent), exp is within 2 ulp (4u), the
//! sum of `cols` terms adds at most `(cols - 1)·u` plus the terms' own errors (weighted by
//! `e^(x-max)`, at most `cols/e·u + 4u`), and the reciprocal and the product one rounding
//! each. So `|y - y_ref| <= u·(|x_i - max| + 2·cols + 16)·y_ref`, plus the smallest normal for
//! outputs that underflow.

mod common;

use common::*;
use kernels_gpu::Kernel;
use kernels_gpu::emu::{DeviceBuffer, launch_kernel};
use kernels_gpu::softmax::{self, config};
use rstest::rstest;

trait SoftmaxKernel: Elem {
    const SOFTMAX: Kernel<(*const Self, *mut Self, u32, u32)>;
}
impl SoftmaxKernel for f32 {
    const SOFTMAX: Kernel<(*const f32, *mut f32, u32, u32)> = softmax::softmax_f32;
}
impl SoftmaxKernel for f64 {
    const SOFTMAX: Kernel<(*const f64, *mut f64, u32, u32)> = softmax::softmax_f64;
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

fn run<T: SoftmaxKernel>(x: &[T], rows: usize, cols: usize, max_shared: u32, case: &str) {
    let dx = DeviceBuffer::from_slice(x);
    let mut dy = DeviceBuffer::<T>::poisoned(x.len());
    let cfg = config::<T>(rows, cols, max_shared);
    unsafe { launch_kernel(&T::SOFTMAX, &cfg, (dx.as_ptr(), dy.as_mut_ptr(), rows as u32, cols as u32)) }.unwrap();
    let (want, gap) = reference(&widen(x), cols);
    let tol = |i: usize| T::U * (gap[i] + 2.0 * cols as f64 + 16.0) * want[i] + T::TINY;
    assert_close(&dy.to_vec(), &want, tol, case);
}

fn random_rows<T: SoftmaxKernel>(rows: usize, cols: usize, max_shared: u32) {
    let case = format!("softmax {} {rows}x{cols} shared<={max_shared}", T::NAME);
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
    random_rows::<f32>(shape.0, shape.1, max_shared);
}

#[rstest]
fn softmax_f64_matches_f64_reference(
    #[values((1, 1), (2, 3), (3, 97), (2, 1031), (1, 6007))] shape: (usize, usize),
    #[values(48 * 1024, 0)] max_shared: u32,
) {
    random_rows::<f64>(shape.0, shape.1, max_shared);
}

/// Row 0 holds -inf among finite values, row 1 values near 1e4, row 2 a NaN, row 3 only
/// -inf, row 4 a +inf, row 5 is ordinary.
fn special_rows<T: SoftmaxKernel>(cols: usize, max_shared: u32) {
    let case = format!("softmax specials {} cols={cols} shared<={max_shared}", T::NAME);
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
fn softmax_special_values_follow_ieee(#[values(1, 2, 33, 2000)] cols: usize, #[values(48 * 1024, 0)] max_shared: u32) {
    special_rows::<f32>(cols, max_shared);
    special_rows::<f64>(cols, max_shared);
}
