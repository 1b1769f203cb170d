//! The training operations on the CPU: products through `gemm`, everything else through the
//! kernels' own scalar formulas (activations, loss, optimizers) in loops compiled for AVX-512
//! or AVX2 + FMA when the CPU has them (`backend/cpu/simd.rs`). Scratch buffers live in the
//! backend, so a step allocates nothing.

mod loss;

use super::{Dims, Head, Input, NnBackend, Scores, Targets, Update};
use crate::alloc::{try_filled, try_to_vec};
use crate::backend::cpu::simd::multiversion;
use crate::backend::cpu::{self, gemm_into};
use crate::dtype::Element;
use crate::error::Result;
use crate::nn::NnFloat;
use kernels_gpu::nn::{activation, optim};
use loss::{mse_row, xent};
use std::cell::RefCell;
use std::ops::Range;

pub(crate) struct CpuNn<T> {
    /// Gathered input rows of the current layer.
    rows: RefCell<Vec<T>>,
    /// The loss head's targets and per-logit work values, `batch × cols` each.
    targets: RefCell<Vec<T>>,
    work: RefCell<Vec<T>>,
}

impl<T: NnFloat> CpuNn<T> {
    pub(crate) fn new() -> Self {
        CpuNn { rows: RefCell::default(), targets: RefCell::default(), work: RefCell::default() }
    }

    /// Runs `f` on the layer input's rows as one contiguous `batch × width` slice.
    fn with_rows<R>(&self, x: Input<'_, Self>, batch: usize, width: usize, f: impl FnOnce(&[T]) -> R) -> R {
        match x.rows {
            None => f(&x.x[..batch * width]),
            Some((index, start)) => {
                let mut buf = self.rows.borrow_mut();
                buf.clear();
                for &r in &index[start..start + batch] {
                    let r = r as usize;
                    buf.extend_from_slice(&x.x[r * width..(r + 1) * width]);
                }
                f(&buf)
            }
        }
    }
}

/// A scratch buffer of `len` elements (contents unspecified).
fn scratch<T: NnFloat>(cell: &RefCell<Vec<T>>, len: usize) -> std::cell::RefMut<'_, [T]> {
    let mut v = cell.borrow_mut();
    if v.len() < len {
        v.resize(len, T::ZERO);
    }
    std::cell::RefMut::map(v, |v| &mut v[..len])
}

multiversion! {
    /// `y = act(y + bias)` on each `units`-wide row (gemm wrote `x · W` into `y`).
    fn bias_activate<T: NnFloat>(y: &mut [T], bias: &[T], act: u32) {
        for row in y.chunks_exact_mut(bias.len()) {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v = *v + b;
            }
            // One loop per activation, so the common ones vectorize; the identity is skipped.
            match act {
                activation::RELU => row.iter_mut().for_each(|v| *v = activation::apply(activation::RELU, *v)),
                activation::SIGMOID | activation::TANH => row.iter_mut().for_each(|v| *v = activation::apply(act, *v)),
                _ => {}
            }
        }
    }
}

multiversion! {
    /// `g *= act'(y)`, the derivative through the activation's output.
    fn times_derivative<T: NnFloat>(g: &mut [T], y: &[T], act: u32) {
        let zip = g.iter_mut().zip(y);
        match act {
            activation::RELU => zip.for_each(|(g, &y)| *g = *g * activation::derivative(activation::RELU, y)),
            activation::SIGMOID | activation::TANH => zip.for_each(|(g, &y)| *g = *g * activation::derivative(act, y)),
            _ => {}
        }
    }
}

multiversion! {
    /// `bias = Σ_rows dz`, in row order.
    fn column_sums<T: NnFloat>(bias: &mut [T], dz: &[T]) {
        bias.fill(T::ZERO);
        for row in dz.chunks_exact(bias.len()) {
            for (s, &v) in bias.iter_mut().zip(row) {
                *s = *s + v;
            }
        }
    }
}

multiversion! {
    /// `p -= lr · g` over every parameter.
    fn sgd<T: NnFloat>(p: &mut [T], g: &[T], lr: T) {
        p.iter_mut().zip(g).for_each(|(p, &g)| *p = optim::sgd(*p, g, lr));
    }
}

multiversion! {
    fn momentum<T: NnFloat>(p: &mut [T], g: &[T], v: &mut [T], lr: T, mu: T, nesterov: bool) {
        for ((p, &g), v) in p.iter_mut().zip(g).zip(v) {
            (*p, *v) = optim::momentum(*p, g, *v, lr, mu, nesterov);
        }
    }
}

multiversion! {
    #[allow(clippy::too_many_arguments)]
    fn adam<T: NnFloat>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], alpha: T, beta1: T, beta2: T, eps: T) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
            (*p, *m, *v) = optim::adam(*p, g, *m, *v, alpha, beta1, beta2, eps);
        }
    }
}

/// One optimizer step over the slices `p` (parameters), `g` (gradients) and the step's state
/// (momentum: `v`; Adam: `m`, `v`), with the kernels' per-element formulas.
pub(crate) fn update<T: NnFloat>(step: Update<T>, p: &mut [T], g: &[T], state: &mut [&mut [T]]) {
    match (step, state) {
        (Update::Sgd { lr }, []) => sgd(p, g, lr),
        (Update::Momentum { lr, mu, nesterov }, [v]) => momentum(p, g, v, lr, mu, nesterov),
        (Update::Adam { alpha, beta1, beta2, eps }, [m, v]) => adam(p, g, m, v, alpha, beta1, beta2, eps),
        (step, state) => unreachable!("{step:?} with {} state buffers", state.len()),
    }
}

impl<T: NnFloat> NnBackend for CpuNn<T> {
    type T = T;
    type Buf = Vec<T>;
    type Index = Vec<u32>;

    fn zeros(&self, len: usize) -> Result<Vec<T>> {
        try_filled(len, T::ZERO)
    }

    fn upload(&self, data: &[T]) -> Result<Vec<T>> {
        try_to_vec(data)
    }

    fn upload_index(&self, data: &[u32]) -> Result<Vec<u32>> {
        try_to_vec(data)
    }

    fn read(&self, buf: &Vec<T>, range: Range<usize>) -> Result<Vec<T>> {
        try_to_vec(&buf[range])
    }

    fn write(&self, buf: &mut Vec<T>, data: &[T]) -> Result<()> {
        buf[..data.len()].copy_from_slice(data);
        Ok(())
    }

    fn write_index(&self, buf: &mut Vec<u32>, data: &[u32]) -> Result<()> {
        buf[..data.len()].copy_from_slice(data);
        Ok(())
    }

    fn copy(&self, src: &Vec<T>, dst: &mut Vec<T>) -> Result<()> {
        dst.copy_from_slice(src);
        Ok(())
    }

    fn dense_forward(&self, x: Input<'_, Self>, w: (&Vec<T>, usize), y: &mut Vec<T>, d: Dims, act: u32) -> Result<()> {
        let (b, i, u) = (d.batch, d.inputs, d.units);
        let w = &w.0[w.1..w.1 + (i + 1) * u];
        let y = &mut y[..b * u];
        self.with_rows(x, b, i, |xb| gemm_into(y, xb, w, (b, i, u), (false, false), false));
        bias_activate(y, &w[i * u..], act);
        Ok(())
    }

    fn dense_backward_input(
        &self,
        dz: &Vec<T>,
        w: (&Vec<T>, usize),
        y_prev: &Vec<T>,
        dx: &mut Vec<T>,
        d: Dims,
        act_prev: u32,
    ) -> Result<()> {
        let (b, i, u) = (d.batch, d.inputs, d.units);
        let w = &w.0[w.1..w.1 + i * u];
        gemm_into(&mut dx[..b * i], &dz[..b * u], w, (b, u, i), (false, true), false);
        times_derivative(&mut dx[..b * i], &y_prev[..b * i], act_prev);
        Ok(())
    }

    fn dense_backward_params(&self, x: Input<'_, Self>, dz: &Vec<T>, g: (&mut Vec<T>, usize), d: Dims) -> Result<()> {
        let (b, i, u) = (d.batch, d.inputs, d.units);
        let g = &mut g.0[g.1..g.1 + (i + 1) * u];
        let dz = &dz[..b * u];
        self.with_rows(x, b, i, |xb| gemm_into(&mut g[..i * u], xb, dz, (i, b, u), (true, false), false));
        column_sums(&mut g[i * u..], dz);
        Ok(())
    }

    fn head(
        &self,
        head: Head,
        z: &Vec<T>,
        targets: &Targets<Self>,
        (index, start): (&Vec<u32>, usize),
        _total: usize,
        dz: Option<&mut Vec<T>>,
        scores: Scores<'_, Self>,
        (batch, cols): (usize, usize),
    ) -> Result<()> {
        let scale = T::ONE / T::from_usize(batch);
        let (z, n) = (&z[..batch * cols], batch * cols);
        let mut t = scratch(&self.targets, n);
        for (t, &sample) in t.chunks_exact_mut(cols).zip(&index[start..start + batch]) {
            let sample = sample as usize;
            match targets {
                Targets::Classes(l) => {
                    t.fill(T::ZERO);
                    match t.get_mut(l[sample] as usize) {
                        Some(t) => *t = T::ONE,
                        None => t.fill(T::NAN), // out of range: NaN, as the kernel
                    }
                }
                Targets::Rows(rows) => t.copy_from_slice(&rows[sample * cols..(sample + 1) * cols]),
            }
        }
        let mut dz = dz.map(|g| &mut g[..n]);
        let loss = &mut scores.loss[scores.offset..scores.offset + batch];
        let right = &mut scores.correct[scores.offset..scores.offset + batch];
        let mut work = scratch(&self.work, n);
        match head {
            Head::Xent => xent(z, &t, &mut work, dz, loss, right, cols, scale),
            Head::Mse(act) => {
                let rows = z.chunks_exact(cols).zip(t.chunks_exact(cols)).zip(work.chunks_exact_mut(cols));
                for (r, ((z, t), y)) in rows.enumerate() {
                    let grad = dz.as_deref_mut().map(|g| &mut g[r * cols..(r + 1) * cols]);
                    let (l, ok) = mse_row(z, t, y, act, grad, scale);
                    (loss[r], right[r]) = (l, if ok { T::ONE } else { T::ZERO });
                }
            }
        }
        Ok(())
    }

    fn update(&self, step: Update<T>, p: &mut Vec<T>, g: &Vec<T>, state: &mut [Vec<T>]) -> Result<()> {
        let mut state: Vec<&mut [T]> = state.iter_mut().map(|s| &mut s[..]).collect();
        update(step, p, g, &mut state);
        Ok(())
    }

    fn sum2(&self, a: &Vec<T>, b: &Vec<T>, n: usize) -> Result<(f64, f64)> {
        let sum = |v: &[T]| v.iter().map(|&x| Element::to_f64(x)).sum::<f64>();
        Ok((sum(&a[..n]), sum(&b[..n])))
    }

    fn softmax(&self, x: &mut Vec<T>, rows: usize, cols: usize) -> Result<()> {
        cpu::softmax_in_place(&mut x[..rows * cols], cols);
        Ok(())
    }
}
