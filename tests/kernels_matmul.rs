//! Tiled matmul on the CPU grid emulator against an f64 reference.
//!
//! Tolerance: each output is a K-term dot product accumulated with FMAs, whose rounding error
//! is bounded by `K·u·Σ_k |a_ik|·|b_kj|` (u = unit roundoff; the classic γ_K bound). The test
//! allows twice that, plus the rounding of the inputs themselves, which are exact here since
//! the reference uses the same (already rounded) values.

mod common;

use common::interp::{launch_kernel, on_each_target};
use common::*;
use kernels_gpu::Kernel;
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::matmul::{self, config};
use rstest::rstest;

type MatmulArgs<T> = (*const T, *const T, *mut T, u32, u32, u32, u64, u64);

trait MatmulKernels: Elem {
    /// Indexed by (transpose A, transpose B).
    fn kernel(ta: bool, tb: bool) -> Kernel<MatmulArgs<Self>>;
}
impl MatmulKernels for f32 {
    fn kernel(ta: bool, tb: bool) -> Kernel<MatmulArgs<f32>> {
        match (ta, tb) {
            (false, false) => matmul::matmul_f32,
            (true, false) => matmul::matmul_tn_f32,
            (false, true) => matmul::matmul_nt_f32,
            (true, true) => unreachable!("no TT kernel"),
        }
    }
}
impl MatmulKernels for f64 {
    fn kernel(ta: bool, tb: bool) -> Kernel<MatmulArgs<f64>> {
        match (ta, tb) {
            (false, false) => matmul::matmul_f64,
            (true, false) => matmul::matmul_tn_f64,
            (false, true) => matmul::matmul_nt_f64,
            (true, true) => unreachable!("no TT kernel"),
        }
    }
}

fn check<T: MatmulKernels>(m: usize, n: usize, k: usize, ta: bool, tb: bool) {
    let case = format!("matmul {} {m}x{k} · {k}x{n} ta={ta} tb={tb}", T::NAME);
    let mut r = rng(&case);
    let a: Vec<T> = cast(&uniform(&mut r, m * k, -1.0, 1.0));
    let b: Vec<T> = cast(&uniform(&mut r, k * n, -1.0, 1.0));
    // op(A)[i][p] and op(B)[p][j] from the stored layouts.
    let at = |i: usize, p: usize| a[if ta { p * m + i } else { i * k + p }].to_f64();
    let bt = |p: usize, j: usize| b[if tb { j * k + p } else { p * n + j }].to_f64();
    let mut want = vec![0.0; m * n];
    let mut bound = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                want[i * n + j] += at(i, p) * bt(p, j);
                bound[i * n + j] += (at(i, p) * bt(p, j)).abs();
            }
        }
    }
    let (da, db) = (DeviceBuffer::from_slice(&a), DeviceBuffer::from_slice(&b));
    let mut dc = DeviceBuffer::<T>::poisoned(m * n);
    let args = (da.as_ptr(), db.as_ptr(), dc.as_mut_ptr(), m as u32, n as u32, k as u32, 0u64, 0u64);
    unsafe { launch_kernel(&T::kernel(ta, tb), &config::<T>(m, n), args) }.unwrap();
    let tol = |i: usize| 2.0 * k as f64 * T::U * bound[i] + f64::MIN_POSITIVE;
    assert_close(&dc.to_vec(), &want, tol, &case);
}

/// Shapes: ones, primes, exact tiles (64) and one past them, long thin and wide flat.
#[rstest]
#[case(1, 1, 1)]
#[case(1, 7, 1)]
#[case(7, 1, 33)]
#[case(2, 3, 0)]
#[case(33, 65, 17)]
#[case(64, 64, 64)]
#[case(65, 129, 63)]
#[case(127, 1, 1000)]
#[case(1000, 7, 33)]
#[case(5, 1031, 2053)]
#[case(257, 263, 269)]
fn matmul_f32_matches_f64_reference(
    #[case] m: usize,
    #[case] n: usize,
    #[case] k: usize,
    #[values((false, false), (true, false), (false, true))] t: (bool, bool),
) {
    on_each_target(|| check::<f32>(m, n, k, t.0, t.1));
}

/// The 128×128-tile FP32 kernel: one element, primes, exact tiles and one past them, K not a
/// multiple of its 8-deep steps, and the two-buffer pipeline over many steps. K or N a multiple
/// of 4 takes the 16-byte loads (for A or B); `skip` elements before each operand make their
/// bases misaligned, which must fall back to single loads.
#[rstest]
#[case(1, 1, 1, 0)]
#[case(2, 3, 0, 0)]
#[case(7, 13, 5, 0)]
#[case(128, 128, 8, 0)]
#[case(129, 257, 17, 0)]
#[case(300, 131, 200, 0)]
#[case(64, 500, 3, 0)]
#[case(256, 132, 36, 0)]
#[case(131, 260, 44, 0)]
#[case(130, 128, 9, 0)]
#[case(3, 4, 4, 0)]
#[case(131, 260, 44, 1)]
#[case(130, 132, 12, 2)]
fn sgemm_128_matches_f64_reference(#[case] m: usize, #[case] n: usize, #[case] k: usize, #[case] skip: usize) {
    on_each_target(|| sgemm_128_matches_f64_reference_body(m, n, k, skip));
}

fn sgemm_128_matches_f64_reference_body(m: usize, n: usize, k: usize, skip: usize) {
    let case = format!("sgemm {m}x{k} · {k}x{n}, operands {skip} elements in");
    let mut r = rng(&case);
    let a: Vec<f32> = cast(&uniform(&mut r, skip + m * k, -1.0, 1.0));
    let b: Vec<f32> = cast(&uniform(&mut r, skip + k * n, -1.0, 1.0));
    let (mut want, mut bound) = (vec![0.0; m * n], vec![0.0; m * n]);
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                let t = a[skip + i * k + p] as f64 * b[skip + p * n + j] as f64;
                want[i * n + j] += t;
                bound[i * n + j] += t.abs();
            }
        }
    }
    let (da, db) = (DeviceBuffer::from_slice(&a), DeviceBuffer::from_slice(&b));
    let mut dc = DeviceBuffer::<f32>::poisoned(m * n);
    // SAFETY: `skip` elements into buffers of `skip + len` elements.
    let (pa, pb) = unsafe { (da.as_ptr().add(skip), db.as_ptr().add(skip)) };
    let args = (pa, pb, dc.as_mut_ptr(), m as u32, n as u32, k as u32, 0u64, 0u64);
    unsafe { launch_kernel(&kernels_gpu::sgemm::sgemm_f32, &kernels_gpu::sgemm::config(m, n), args) }.unwrap();
    assert_close(&dc.to_vec(), &want, |i| 2.0 * k as f64 * f32::U * bound[i] + f64::MIN_POSITIVE, &case);
}

#[rstest]
#[case(1, 1, 1)]
#[case(3, 5, 7)]
#[case(65, 17, 129)]
#[case(2053, 3, 31)]
#[case(131, 67, 97)]
fn matmul_f64_matches_f64_reference(
    #[case] m: usize,
    #[case] n: usize,
    #[case] k: usize,
    #[values((false, false), (true, false), (false, true))] t: (bool, bool),
) {
    on_each_target(|| check::<f64>(m, n, k, t.0, t.1));
}

/// A strided batch (grid z): batch `z` reads A from `z·sa` (a gap of 3 elements between the
/// matrices) and B from `z·sb` (0: one B for every batch, a broadcast) and writes the `z`-th
/// block of C. Each kernel kind: the 64-tile kernel in every transpose, and sgemm.
#[rstest]
#[case(false, false, false)]
#[case(true, false, false)]
#[case(false, true, false)]
#[case(false, false, true)]
fn batches_read_their_strides(#[case] ta: bool, #[case] tb: bool, #[case] large: bool) {
    on_each_target(|| {
        let (m, n, k, batches) = if large { (130, 129, 9, 3) } else { (7, 5, 13, 3) };
        let (sa, sb) = (m * k + 3, 0);
        let case = format!("batched matmul f32 {m}x{k}·{k}x{n} ×{batches} ta={ta} tb={tb} large={large}");
        let mut r = rng(&case);
        let a: Vec<f32> = cast(&uniform(&mut r, (batches - 1) * sa + m * k, -1.0, 1.0));
        let b: Vec<f32> = cast(&uniform(&mut r, k * n, -1.0, 1.0));
        let (mut want, mut bound) = (vec![0.0; batches * m * n], vec![0.0; batches * m * n]);
        for z in 0..batches {
            let at = |i: usize, p: usize| a[z * sa + if ta { p * m + i } else { i * k + p }] as f64;
            let bt = |p: usize, j: usize| b[z * sb + if tb { j * k + p } else { p * n + j }] as f64;
            for i in 0..m {
                for j in 0..n {
                    for p in 0..k {
                        want[(z * m + i) * n + j] += at(i, p) * bt(p, j);
                        bound[(z * m + i) * n + j] += (at(i, p) * bt(p, j)).abs();
                    }
                }
            }
        }
        let (da, db) = (DeviceBuffer::from_slice(&a), DeviceBuffer::from_slice(&b));
        let mut dc = DeviceBuffer::<f32>::poisoned(batches * m * n);
        let args = (da.as_ptr(), db.as_ptr(), dc.as_mut_ptr(), m as u32, n as u32, k as u32, sa as u64, sb as u64);
        let result = if large {
            let cfg = matmul::batched(kernels_gpu::sgemm::config(m, n), batches);
            unsafe { launch_kernel(&kernels_gpu::sgemm::sgemm_f32, &cfg, args) }
        } else {
            unsafe { launch_kernel(&f32::kernel(ta, tb), &matmul::batched(config::<f32>(m, n), batches), args) }
        };
        result.unwrap();
        assert_close(&dc.to_vec(), &want, |i| 2.0 * k as f64 * f32::U * bound[i] + f64::MIN_POSITIVE, &case);
    });
}
