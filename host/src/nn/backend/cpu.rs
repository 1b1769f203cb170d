//! The training operations on the CPU: products through `gemm`, everything else through the
//! kernels' own scalar formulas (activations, loss, optimizers), in plain loops.

use super::{Dims, Head, Input, NnBackend, Scores, Targets, Update};
use crate::backend::cpu::{self, gemm_into};
use crate::dtype::{Element, Native};
use crate::error::Result;
use kernels_gpu::nn::{activation, optim};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::Range;

pub(crate) struct CpuNn<T> {
    /// Gathered input rows of the current layer (reused between steps).
    scratch: RefCell<Vec<T>>,
    _t: PhantomData<T>,
}

impl<T: Native> CpuNn<T> {
    pub(crate) fn new() -> Self {
        CpuNn { scratch: RefCell::new(Vec::new()), _t: PhantomData }
    }

    /// Runs `f` on the layer input's rows as one contiguous `batch × width` slice.
    fn with_rows<R>(&self, x: Input<'_, Self>, batch: usize, width: usize, f: impl FnOnce(&[T]) -> R) -> R {
        match x.rows {
            None => f(&x.x[..batch * width]),
            Some((index, start)) => {
                let mut buf = self.scratch.borrow_mut();
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

/// `(first maximum's index, maximum)` of a row.
fn argmax<T: Native>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

impl<T: Native> NnBackend for CpuNn<T> {
    type T = T;
    type Buf = Vec<T>;
    type Index = Vec<u32>;

    fn zeros(&self, len: usize) -> Result<Vec<T>> {
        Ok(vec![T::ZERO; len])
    }

    fn upload(&self, data: &[T]) -> Result<Vec<T>> {
        Ok(data.to_vec())
    }

    fn upload_index(&self, data: &[u32]) -> Result<Vec<u32>> {
        Ok(data.to_vec())
    }

    fn read(&self, buf: &Vec<T>, range: Range<usize>) -> Result<Vec<T>> {
        Ok(buf[range].to_vec())
    }

    fn write(&self, buf: &mut Vec<T>, data: &[T]) -> Result<()> {
        buf[..data.len()].copy_from_slice(data);
        Ok(())
    }

    fn write_index(&self, buf: &mut Vec<u32>, data: &[u32]) -> Result<()> {
        buf[..data.len()].copy_from_slice(data);
        Ok(())
    }

    fn dense_forward(&self, x: Input<'_, Self>, w: (&Vec<T>, usize), y: &mut Vec<T>, d: Dims, act: u32) -> Result<()> {
        let (b, i, u) = (d.batch, d.inputs, d.units);
        let w = &w.0[w.1..w.1 + (i + 1) * u];
        let y = &mut y[..b * u];
        for row in y.chunks_mut(u) {
            row.copy_from_slice(&w[i * u..]); // the bias row
        }
        self.with_rows(x, b, i, |xb| gemm_into(y, xb, w, (b, i, u), (false, false), true));
        for v in y.iter_mut() {
            *v = activation::apply(act, *v);
        }
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
        for (g, &y) in dx[..b * i].iter_mut().zip(&y_prev[..b * i]) {
            *g = *g * activation::derivative(act_prev, y);
        }
        Ok(())
    }

    fn dense_backward_params(&self, x: Input<'_, Self>, dz: &Vec<T>, g: (&mut Vec<T>, usize), d: Dims) -> Result<()> {
        let (b, i, u) = (d.batch, d.inputs, d.units);
        let g = &mut g.0[g.1..g.1 + (i + 1) * u];
        let dz = &dz[..b * u];
        self.with_rows(x, b, i, |xb| gemm_into(&mut g[..i * u], xb, dz, (i, b, u), (true, false), false));
        let bias = &mut g[i * u..];
        bias.fill(T::ZERO);
        for row in dz.chunks(u) {
            for (s, &v) in bias.iter_mut().zip(row) {
                *s = *s + v;
            }
        }
        Ok(())
    }

    fn head(
        &self,
        head: Head,
        z: &Vec<T>,
        targets: &Targets<Self>,
        (index, start): (&Vec<u32>, usize),
        _total: usize,
        mut dz: Option<&mut Vec<T>>,
        scores: Scores<'_, Self>,
        (batch, cols): (usize, usize),
    ) -> Result<()> {
        let scale = T::ONE / T::from_usize(batch);
        let mut target = vec![T::ZERO; cols];
        let mut y = vec![T::ZERO; cols];
        for r in 0..batch {
            let sample = index[start + r] as usize;
            match targets {
                Targets::Classes(l) => {
                    target.fill(T::ZERO);
                    match target.get_mut(l[sample] as usize) {
                        Some(t) => *t = T::ONE,
                        None => target.fill(T::NAN), // out of range: NaN, as the kernel
                    }
                }
                Targets::Rows(t) => target.copy_from_slice(&t[sample * cols..(sample + 1) * cols]),
            }
            let zr = &z[r * cols..(r + 1) * cols];
            let grad = dz.as_deref_mut().map(|g| &mut g[r * cols..(r + 1) * cols]);
            let (loss, right) = match head {
                Head::Xent => xent_row(zr, &target, grad, scale),
                Head::Mse(act) => mse_row(zr, &target, &mut y, act, grad, scale),
            };
            scores.loss[scores.offset + r] = loss;
            scores.correct[scores.offset + r] = if right { T::ONE } else { T::ZERO };
        }
        Ok(())
    }

    fn update(&self, step: Update<T>, p: &mut Vec<T>, g: &Vec<T>, state: &mut [Vec<T>]) -> Result<()> {
        match (step, state) {
            (Update::Sgd { lr }, []) => p.iter_mut().zip(g).for_each(|(p, &g)| *p = optim::sgd(*p, g, lr)),
            (Update::Momentum { lr, mu, nesterov }, [v]) => {
                for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                    (*p, *v) = optim::momentum(*p, g, *v, lr, mu, nesterov);
                }
            }
            (Update::Adam { alpha, beta1, beta2, eps }, [m, v]) => {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    (*p, *m, *v) = optim::adam(*p, g, *m, *v, alpha, beta1, beta2, eps);
                }
            }
            (step, state) => unreachable!("{step:?} with {} state buffers", state.len()),
        }
        Ok(())
    }

    fn sum2(&self, a: &Vec<T>, b: &Vec<T>, n: usize) -> Result<(f64, f64)> {
        let sum = |v: &[T]| v.iter().map(|&x| Element::to_f64(x)).sum::<f64>();
        Ok((sum(&a[..n]), sum(&b[..n])))
    }

    fn softmax(&self, x: &mut Vec<T>, rows: usize, cols: usize) -> Result<()> {
        let y = cpu::softmax(&x[..rows * cols], cols);
        x[..rows * cols].copy_from_slice(&y);
        Ok(())
    }
}

/// Softmax cross-entropy of one row, as `nn/loss.rs` computes it: `(loss, correct)`.
fn xent_row<T: Native>(z: &[T], y: &[T], dz: Option<&mut [T]>, scale: T) -> (T, bool) {
    let m = z.iter().fold(T::NEG_INFINITY, |a, &b| a.max_num(b));
    let s = z.iter().fold(T::ZERO, |a, &v| a + (v - m).exp());
    let lse = m + s.ln();
    let sum_y = y.iter().fold(T::ZERO, |a, &b| a + b);
    let loss = z.iter().zip(y).fold(T::ZERO, |l, (&zv, &t)| if t != T::ZERO { t.mul_add(lse - zv, l) } else { l });
    if let Some(dz) = dz {
        let inv = T::ONE / s;
        for ((g, &zv), &t) in dz.iter_mut().zip(z).zip(y) {
            *g = ((zv - m).exp() * inv).mul_add(sum_y, -t) * scale;
        }
    }
    (loss, argmax(z) == argmax(y))
}

/// Mean squared error of `act(z)` against `t` for one row: `(loss, correct)`.
fn mse_row<T: Native>(z: &[T], t: &[T], y: &mut [T], act: u32, dz: Option<&mut [T]>, scale: T) -> (T, bool) {
    let c = z.len();
    if act == activation::SOFTMAX {
        y.copy_from_slice(&cpu::softmax(z, c));
    } else {
        for (y, &v) in y.iter_mut().zip(z) {
            *y = activation::apply(act, v);
        }
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
