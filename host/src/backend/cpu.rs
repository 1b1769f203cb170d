//! The CPU backend. Elementwise and softmax arithmetic is the kernels' own (`UnaryOp`,
//! `Float::exp`), so CPU and GPU results differ only by summation order; matmul is the
//! `gemm` crate. Large inputs are split across cores with rayon.

use crate::dtype::Element;
use kernels_gpu::elementwise::UnaryOp;
use kernels_gpu::prelude::Float as KernelFloat;
use rayon::prelude::*;

/// Below this many elements (or multiply-adds) threads cost more than they save.
const PARALLEL_MIN: usize = 1 << 15;

pub(crate) fn unary<Op: UnaryOp, T: KernelFloat + Send + Sync>(x: &[T]) -> Vec<T> {
    if x.len() < PARALLEL_MIN {
        x.iter().map(|&v| Op::apply(v)).collect()
    } else {
        x.par_iter().with_min_len(PARALLEL_MIN / 4).map(|&v| Op::apply(v)).collect()
    }
}

/// Row softmax of a `rows × cols` array, with the kernel's semantics (see `softmax.rs` in
/// kernels-gpu): maxNum for the row maximum, NaN reaching the whole row through the sum.
pub(crate) fn softmax<T: KernelFloat + Send + Sync>(x: &[T], cols: usize) -> Vec<T> {
    let mut y = x.to_vec();
    if cols == 0 {
        return y;
    }
    let row = |r: &mut [T]| {
        let m = r.iter().fold(T::NEG_INFINITY, |m, &v| m.max_num(v));
        let mut s = T::ZERO;
        for v in r.iter_mut() {
            *v = (*v - m).exp();
            s = s + *v;
        }
        let inv = T::ONE / s;
        for v in r.iter_mut() {
            *v = *v * inv;
        }
    };
    if x.len() < PARALLEL_MIN {
        y.chunks_mut(cols).for_each(row);
    } else {
        y.par_chunks_mut(cols).with_min_len((PARALLEL_MIN / cols).max(1)).for_each(row);
    }
    y
}

/// `C[m×n] = op(A) · op(B)`, row-major, `op(A)` `m×k`, `op(B)` `k×n`; `ta`/`tb` mean the operand
/// is stored transposed (`k×m`, `n×k`).
pub(crate) fn matmul<T: Element>(a: &[T], b: &[T], dims: (usize, usize, usize), t: (bool, bool)) -> Vec<T> {
    let mut c = vec![T::default(); dims.0 * dims.2];
    gemm_into(&mut c, a, b, dims, t, false);
    c
}

/// `C = op(A) · op(B)` into `c` (`m×n`, row-major), or `C += op(A) · op(B)` if `accumulate`.
pub(crate) fn gemm_into<T: Element>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    accumulate: bool,
) {
    assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n, "gemm_into: buffers smaller than the shapes");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(T::default()); // the empty sum
        }
        return;
    }
    let (a_rs, a_cs) = if ta { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if tb { (1, k as isize) } else { (n as isize, 1) };
    let par = if m * n * k >= PARALLEL_MIN * 8 { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    let one = T::from_f64(1.0);
    // SAFETY: the strides describe `a` (m·k), `b` (k·n) and `c` (m·n), whose lengths are checked
    // above; gemm supports the f32 and f64 callers use.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            one,
            one,
            false,
            false,
            false,
            par,
        )
    };
}

/// Conversion through f64: exact for every source type, then one rounding (or, for integer
/// targets, truncation toward zero with saturation, as Rust's `as` does).
pub(crate) fn cast<S: Element, D: Element>(x: &[S]) -> Vec<D> {
    x.iter().map(|&v| D::from_f64(v.to_f64())).collect()
}
