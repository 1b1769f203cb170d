//! The loss heads on the CPU, as `nn/loss.rs` in kernels-gpu computes them: per-sample loss
//! and correctness, and the gradient of the batch-mean loss.

use crate::backend::cpu::{self, simd::multiversion};
use crate::nn::NnFloat;
use kernels_gpu::nn::activation;

/// Index of a row's first maximum (0 if the first value is NaN; later NaNs are skipped): the
/// maximum by selects, then one search, rather than a data-dependent branch per value.
#[inline(always)]
fn argmax<T: NnFloat>(row: &[T]) -> usize {
    let Some(&first) = row.first() else { return 0 };
    let m = row.iter().fold(first, |m, &v| if v > m { v } else { m });
    row.iter().position(|&v| v == m).unwrap_or(0)
}

multiversion! {
    /// Softmax cross-entropy of `z` (`batch × cols`) against `t`, as `nn/loss.rs` computes it:
    /// per-row loss and correctness, and the batch-mean gradient into `dz` if given. `e` is
    /// scratch for `e^(z - max)`, computed for the whole batch in one vectorized pass.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn xent<T: NnFloat>(
        z: &[T],
        t: &[T],
        e: &mut [T],
        dz: Option<&mut [T]>,
        loss: &mut [T],
        right: &mut [T],
        cols: usize,
        scale: T,
    ) {
        let mut dz = dz;
        let max = |z: &[T]| z.iter().fold(T::NEG_INFINITY, |a, &b| a.max_num(b));
        for (e, z) in e.chunks_exact_mut(cols).zip(z.chunks_exact(cols)) {
            let m = max(z);
            e.iter_mut().zip(z).for_each(|(e, &z)| *e = z - m);
        }
        e.iter_mut().for_each(|v| *v = v.exp());
        let rows = z.chunks_exact(cols).zip(t.chunks_exact(cols)).zip(e.chunks_exact(cols));
        for (r, ((z, t), e)) in rows.enumerate() {
            let s = e.iter().fold(T::ZERO, |a, &v| a + v);
            let lse = max(z) + s.ln();
            let sum_y = t.iter().fold(T::ZERO, |a, &b| a + b);
            loss[r] = z.iter().zip(t).fold(T::ZERO, |l, (&z, &t)| if t != T::ZERO { t.mul_add(lse - z, l) } else { l });
            right[r] = if argmax(z) == argmax(t) { T::ONE } else { T::ZERO };
            if let Some(dz) = dz.as_deref_mut() {
                let inv = T::ONE / s;
                for ((g, &e), &t) in dz[r * cols..(r + 1) * cols].iter_mut().zip(e).zip(t) {
                    *g = (e * inv).mul_add(sum_y, -t) * scale;
                }
            }
        }
    }
}

/// Mean squared error of `act(z)` against `t` for one row: `(loss, correct)`.
pub(super) fn mse_row<T: NnFloat>(
    z: &[T],
    t: &[T],
    y: &mut [T],
    act: u32,
    dz: Option<&mut [T]>,
    scale: T,
) -> (T, bool) {
    let c = z.len();
    y.copy_from_slice(z);
    if act == activation::SOFTMAX {
        cpu::softmax_in_place(y, c);
    } else {
        y.iter_mut().for_each(|v| *v = activation::apply(act, *v));
    }
    let g_scale = (T::ONE + T::ONE) * scale / T::from_usize(c);
    let sq = y.iter().zip(t).fold(T::ZERO, |a, (&yv, &tv)| (yv - tv).mul_add(yv - tv, a));
    let gy = y.iter().zip(t).fold(T::ZERO, |a, (&yv, &tv)| ((yv - tv) * g_scale).mul_add(yv, a));
    if let Some(dz) = dz {
        for ((d, &yv), &tv) in dz.iter_mut().zip(y.iter()).zip(t) {
            let g = (yv - tv) * g_scale;
            *d = if act == activation::SOFTMAX { yv * (g - gy) } else { g * activation::derivative(act, yv) };
        }
    }
    let half = T::ONE / (T::ONE + T::ONE);
    let right = if c == 1 { (y[0] > half) == (t[0] > half) } else { argmax(y) == argmax(t) };
    (sq / T::from_usize(c), right)
}
