//! Matrix products on the CPU: the `gemm` crate's kernels, with ferrite's own split across
//! cores.
//!
//! Not gemm's own threading (`Parallelism::Rayon`): it gives each thread an equal share of every
//! block and joins them several times per call, so one slow core holds all the others back. On
//! this project's shared 2-vCPU VMs one vCPU is at times much slower than the other for
//! seconds; gemm's split then took 2.2 ms at 512³, more than one thread alone (1.7 ms). Here C
//! is cut into panels that idle rayon threads take in turn, each a single-threaded gemm call:
//! 1.2 ms at 512³ normally, as gemm's split, and 1.7 ms in that state (measured alternately in
//! one process). At 1024³ and 2048³ the two are equal.

use crate::dtype::Element;
use rayon::prelude::*;
use std::ops::Range;

/// Below this many multiply-adds a product runs on one thread: measured on 2 cores, a second
/// thread breaks even at 128³ and pays from 256³.
const PARALLEL_MIN: usize = 128 * 128 * 128;

/// Panels per thread: more balance a slow core better, fewer pack the shared operand fewer
/// times (each panel packs all of it). Two and four measured the same at 512³ on 2 cores.
const PANELS_PER_THREAD: usize = 2;

/// Panel widths are multiples of this, a multiple of gemm's register tiles.
const PANEL_ALIGN: usize = 32;

/// `C = op(A) · op(B)` into `c` (`m×n`, row-major), or `C += op(A) · op(B)` if `accumulate`.
pub(crate) fn gemm_into<T: Element>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    dims: (usize, usize, usize),
    t: (bool, bool),
    accumulate: bool,
) {
    check(c.len(), a, b, dims);
    // SAFETY: the lengths were checked.
    unsafe { gemm_raw(c.as_mut_ptr(), a, b, dims, t, accumulate) }
}

/// A batch of products `C[z] = op(A) · op(B)`, `C[z]` the `z`-th `m×n` block of `c`, its operands
/// from elements `products[z]` of `a` and `b`. Products below [`PARALLEL_MIN`] run on one
/// thread each, in parallel over the batch; larger ones one at a time, each split across cores.
pub(crate) fn gemm_batched<T: Element>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    t: (bool, bool),
    products: &[(usize, usize)],
) {
    let mn = m * n;
    if mn == 0 {
        return;
    }
    let one = |(z, c): (usize, &mut [T])| {
        let (ao, bo) = products[z];
        gemm_into(c, &a[ao..], &b[bo..], (m, k, n), t, false)
    };
    if products.len() > 1 && m * n * k < PARALLEL_MIN {
        c.par_chunks_mut(mn).enumerate().for_each(one);
    } else {
        c.chunks_mut(mn).enumerate().for_each(one);
    }
}

fn check<T>(c: usize, a: &[T], b: &[T], (m, k, n): (usize, usize, usize)) {
    assert!(c >= m * n && a.len() >= m * k && b.len() >= k * n, "gemm: buffers smaller than the shapes");
}

/// # Safety
/// `c` is valid for `m·n` writes (and reads if `accumulate`), `a` and `b` hold `m·k` and `k·n`
/// elements.
unsafe fn gemm_raw<T: Element>(
    c: *mut T,
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            // SAFETY: the caller's contract.
            unsafe { std::slice::from_raw_parts_mut(c, m * n).fill(T::default()) }; // the empty sum
        }
        return;
    }
    let product = Product {
        a: a.as_ptr(),
        a_strides: if ta { (1, m as isize) } else { (k as isize, 1) },
        b: b.as_ptr(),
        b_strides: if tb { (1, k as isize) } else { (n as isize, 1) },
        c,
        ldc: n as isize,
        k,
        accumulate,
    };
    let threads = rayon::current_num_threads();
    // Split the longer side of C, so that the operand every panel packs again is the smaller.
    let (side, split_rows) = if m > n { (m, true) } else { (n, false) };
    let width = side.div_ceil(threads * PANELS_PER_THREAD).next_multiple_of(PANEL_ALIGN);
    // SAFETY (all three calls): the ranges lie in `0..m` and `0..n`, and parallel panels are
    // disjoint parts of C.
    if m * n * k < PARALLEL_MIN || threads == 1 || width >= side {
        unsafe { product.panel(0..m, 0..n) }
    } else if split_rows {
        (0..m.div_ceil(width)).into_par_iter().for_each(|p| unsafe { product.panel(panel(p, width, m), 0..n) });
    } else {
        (0..n.div_ceil(width)).into_par_iter().for_each(|p| unsafe { product.panel(0..m, panel(p, width, n)) });
    }
}

fn panel(p: usize, width: usize, len: usize) -> Range<usize> {
    p * width..((p + 1) * width).min(len)
}

/// The operands of one product: `op(A)` and `op(B)` as (row, column) strides, C row-major.
struct Product<T> {
    a: *const T,
    a_strides: (isize, isize),
    b: *const T,
    b_strides: (isize, isize),
    c: *mut T,
    ldc: isize,
    k: usize,
    accumulate: bool,
}

// SAFETY: threads only read A and B, and write disjoint panels of C (`gemm_raw`).
unsafe impl<T: Send + Sync> Sync for Product<T> {}

impl<T: Element> Product<T> {
    /// `C[rows, cols] (+)= op(A)[rows, :] · op(B)[:, cols]` on this thread.
    ///
    /// # Safety
    /// The ranges lie within C's shape, and no other thread touches this part of C.
    unsafe fn panel(&self, rows: Range<usize>, cols: Range<usize>) {
        let ((a_rs, a_cs), (b_rs, b_cs)) = (self.a_strides, self.b_strides);
        let (r0, c0) = (rows.start as isize, cols.start as isize);
        let one = T::from_f64(1.0);
        // SAFETY: the offsets stay inside the operands and C, whose strides these are; gemm
        // supports the f32 and f64 callers use, and reads C only if `accumulate`.
        unsafe {
            gemm::gemm(
                rows.len(),
                cols.len(),
                self.k,
                self.c.offset(r0 * self.ldc + c0),
                1,
                self.ldc,
                self.accumulate,
                self.a.offset(r0 * a_rs),
                a_cs,
                a_rs,
                self.b.offset(c0 * b_cs),
                b_cs,
                b_rs,
                one,
                one,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values in [-1, 1) that f32 holds exactly, so one f64 reference serves both types.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32 as f64
            })
            .collect()
    }

    /// Element (i, j) of op(X), X stored row-major (`cols` wide), or transposed if `t`.
    fn at(x: &[f64], t: bool, rows: usize, cols: usize, (i, j): (usize, usize)) -> f64 {
        if t { x[j * rows + i] } else { x[i * cols + j] }
    }

    /// `C (+)= op(A) · op(B)` in T through `gemm_into`, C starting as `c0`.
    fn product<T: Element>(
        a: &[f64],
        b: &[f64],
        c0: &[f64],
        dims: (usize, usize, usize),
        t: (bool, bool),
        acc: bool,
    ) -> Vec<f64> {
        let to_t = |x: &[f64]| x.iter().map(|&v| T::from_f64(v)).collect::<Vec<T>>();
        let mut c = to_t(c0);
        gemm_into(&mut c, &to_t(a), &to_t(b), dims, t, acc);
        c.iter().map(|v| v.to_f64()).collect()
    }

    /// Every way of splitting C (by rows, by columns, into one panel), every transpose,
    /// accumulating or not, in f32 and f64, against an f64 reference. C starts poisoned (NaN)
    /// unless accumulating. Three threads, so that the panels are the same on any machine.
    #[test]
    fn panels_match_an_f64_reference() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        // Above PARALLEL_MIN: split by rows (panels of 64, the last of 1 row), by columns (32s
        // and a last of 9), by columns with a last panel of 3, and a side too narrow to split
        // (17 rows, 16 columns); and one product below PARALLEL_MIN.
        let shapes = [(257, 97, 89), (131, 127, 137), (33, 1031, 67), (17, 7919, 16), (5, 3, 7)];
        for (m, k, n) in shapes {
            for t in [(false, false), (true, false), (false, true), (true, true)] {
                for accumulate in [false, true] {
                    let (a, b) = (values(m * k, 1), values(k * n, 2));
                    let c0 = if accumulate { values(m * n, 3) } else { vec![f64::NAN; m * n] };
                    let (c32, c64) = pool.install(|| {
                        (
                            product::<f32>(&a, &b, &c0, (m, k, n), t, accumulate),
                            product::<f64>(&a, &b, &c0, (m, k, n), t, accumulate),
                        )
                    });
                    for (i, j) in (0..m).flat_map(|i| (0..n).map(move |j| (i, j))) {
                        let (mut want, mut mag) = (if accumulate { c0[i * n + j] } else { 0.0 }, 0.0);
                        for p in 0..k {
                            let x = at(&a, t.0, m, k, (i, p)) * at(&b, t.1, k, n, (p, j));
                            want += x;
                            mag += x.abs();
                        }
                        let bound = |u: f64| (k + 1) as f64 * u * (mag + want.abs());
                        let case = format!("{m}x{k}x{n} transposed {t:?} accumulate {accumulate}: C[{i}][{j}]");
                        let (g32, g64) = (c32[i * n + j], c64[i * n + j]);
                        assert!((g32 - want).abs() <= bound(f32::EPSILON as f64), "f32 {case} = {g32}, want {want}");
                        assert!((g64 - want).abs() <= bound(f64::EPSILON), "f64 {case} = {g64}, want {want}");
                    }
                }
            }
        }
    }
}
