//! The unary family's contiguous entries (`kernels_gpu::ops::unary`) on the CPU grid emulator
//! and the PTX interpreter, through `sqrt`: misaligned pointers (the scalar path), grid-stride
//! loops, in place. Every other op and dtype, strided and broadcast, is the op registry's
//! (`tests/ops.rs`).
//!
//! sqrt is correctly rounded in IEEE arithmetic and the f64 square root rounded to f32 is the
//! correctly rounded f32 square root, so the expected tolerance is zero: bit-exact results.
//! Every case runs on the emulator and on the PTX interpreter (`common::interp`).

mod common;

use common::interp::{launch_kernel, on_each_target};
use common::*;
use kernels_gpu::Kernel;
use kernels_gpu::elementwise::config;
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::ops::unary::{Unary, UnaryArgs, unary_f32, unary_f64};
use rstest::rstest;

trait SqrtKernel: Elem {
    const UNARY: Kernel<UnaryArgs<Self>>;
}
impl SqrtKernel for f32 {
    const UNARY: Kernel<UnaryArgs<f32>> = unary_f32;
}
impl SqrtKernel for f64 {
    const UNARY: Kernel<UnaryArgs<f64>> = unary_f64;
}

const SQRT: u32 = Unary::Sqrt as u32;

/// Random inputs over many magnitudes, with the IEEE special cases mixed in.
fn inputs<T: Elem>(n: usize, case: &str) -> Vec<T> {
    let mut r = rng(case);
    let mut v: Vec<f64> = uniform(&mut r, n, -30.0, 30.0).into_iter().map(|e| e.exp2()).collect();
    let specials = [0.0, -0.0, -1.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-310, 4.0];
    for (i, s) in specials.iter().enumerate() {
        if i * 7 < n {
            v[i * 7] = *s;
        }
    }
    cast(&v)
}

/// `offset` elements skipped at the start make the pointers misaligned (scalar path);
/// `max_blocks` below the needed count makes threads loop (grid-stride path).
fn check_sqrt<T: SqrtKernel>(n: usize, offset: usize, max_blocks: u32) {
    let case = format!("sqrt {} n={n} offset={offset} blocks<={max_blocks}", T::NAME);
    let x = inputs::<T>(n, &case);
    let mut xs = vec![T::of(1.0); offset];
    xs.extend_from_slice(&x);
    let dx = DeviceBuffer::from_slice(&xs);
    let mut dy = DeviceBuffer::<T>::poisoned(n + offset);
    let cfg = config::<T>(n, max_blocks);
    unsafe {
        let (x, y) = (dx.as_ptr().add(offset), dy.as_mut_ptr().add(offset));
        launch_kernel(&T::UNARY, &cfg, (SQRT, x, y, n as u64, 0, 0, 0)).unwrap();
    }
    let got = &dy.to_vec()[offset..];
    let want: Vec<f64> = x.iter().map(|v| T::of(v.to_f64().sqrt()).to_f64()).collect();
    assert_close(got, &want, |_| 0.0, &case);
    // Equal values can still differ in sign (sqrt(-0) = -0); NaN payloads may differ.
    for (g, w) in got.iter().zip(&want) {
        assert!(w.is_nan() || g.to_f64().to_bits() == w.to_bits(), "{case}: {g:?} vs {w:?}");
    }
}

#[rstest]
fn sqrt_f32_matches_f64_reference(
    #[values(1, 2, 3, 4, 5, 7, 31, 1021, 1024, 1025, 4099)] n: usize,
    #[values(0, 1)] offset: usize,
    #[values(1, 3, 1024)] max_blocks: u32,
) {
    on_each_target(|| check_sqrt::<f32>(n, offset, max_blocks));
}

#[rstest]
fn sqrt_f64_matches_f64_reference(
    #[values(1, 2, 3, 5, 257, 1031, 2053)] n: usize,
    #[values(0, 1)] offset: usize,
    #[values(2, 1024)] max_blocks: u32,
) {
    on_each_target(|| check_sqrt::<f64>(n, offset, max_blocks));
}

#[test]
fn sqrt_works_in_place() {
    on_each_target(sqrt_in_place);
}

fn sqrt_in_place() {
    let x = inputs::<f32>(1000, "sqrt in place");
    let mut d = DeviceBuffer::from_slice(&x);
    let p = d.as_mut_ptr();
    unsafe { launch_kernel(&unary_f32, &config::<f32>(x.len(), 4), (SQRT, p.cast_const(), p, 1000, 0, 0, 0)).unwrap() };
    let want: Vec<f64> = x.iter().map(|v| (v.to_f64().sqrt() as f32) as f64).collect();
    assert_close(&d.to_vec(), &want, |_| 0.0, "sqrt in place");
}
