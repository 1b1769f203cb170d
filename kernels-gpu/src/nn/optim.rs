//! Optimizer updates, Keras 3's formulas, over all parameters of a network at once (they
//! live in one flat buffer, as do their gradients and the optimizer's state), so a training
//! step ends with one launch whatever the number of layers.
//!
//! Thread mapping: a 1-D grid-stride loop, one parameter per thread per step. The per-element
//! formulas are the functions below, which the CPU backend calls too.

use crate::prelude::*;

/// Plain SGD: `p -= lr · g`.
#[inline(always)]
pub fn sgd<T: Float>(p: T, g: T, lr: T) -> T {
    (-lr).mul_add(g, p)
}

/// SGD with momentum (Keras): `v = momentum · v - lr · g`; then `p += v`, or with Nesterov
/// `p += momentum · v - lr · g`. Returns `(p, v)`.
#[inline(always)]
pub fn momentum<T: Float>(p: T, g: T, v: T, lr: T, mu: T, nesterov: bool) -> (T, T) {
    let v = mu.mul_add(v, -(lr * g));
    let step = if nesterov { mu.mul_add(v, -(lr * g)) } else { v };
    (p + step, v)
}

/// Adam (Keras): `m += (g - m)(1 - β1)`, `v += (g² - v)(1 - β2)`, `p -= α · m / (sqrt(v) + ε)`
/// where the host computes `α = lr · sqrt(1 - β2^t) / (1 - β1^t)` for step `t`. Returns `(p, m, v)`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn adam<T: Float>(p: T, g: T, m: T, v: T, alpha: T, beta1: T, beta2: T, eps: T) -> (T, T, T) {
    let m = (g - m).mul_add(T::ONE - beta1, m);
    let v = g.mul_add(g, -v).mul_add(T::ONE - beta2, v);
    (p - alpha * m / (v.sqrt() + eps), m, v)
}

/// # Safety
/// `p`, `g`: `n` elements.
#[inline(always)]
pub unsafe fn sgd_step<T: Float>(p: *mut T, g: *const T, n: u64, lr: T) {
    let n = n as usize;
    let (p, g) = unsafe { (GlobalMut::new(p, n), Global::new(g, n)) };
    let mut i = global_thread_x();
    while i < n {
        p.store(i, sgd(p.load(i), g.load(i), lr));
        i += grid_threads_x();
    }
}

/// # Safety
/// `p`, `g`, `v`: `n` elements.
#[inline(always)]
pub unsafe fn momentum_step<T: Float>(p: *mut T, g: *const T, v: *mut T, n: u64, lr: T, mu: T, nesterov: u32) {
    let n = n as usize;
    let (p, g, v) = unsafe { (GlobalMut::new(p, n), Global::new(g, n), GlobalMut::new(v, n)) };
    let mut i = global_thread_x();
    while i < n {
        let (pi, vi) = momentum(p.load(i), g.load(i), v.load(i), lr, mu, nesterov != 0);
        p.store(i, pi);
        v.store(i, vi);
        i += grid_threads_x();
    }
}

/// # Safety
/// `p`, `g`, `m`, `v`: `n` elements.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn adam_step<T: Float>(
    p: *mut T,
    g: *const T,
    m: *mut T,
    v: *mut T,
    n: u64,
    alpha: T,
    beta1: T,
    beta2: T,
    eps: T,
) {
    let n = n as usize;
    let (p, g) = unsafe { (GlobalMut::new(p, n), Global::new(g, n)) };
    let (m, v) = unsafe { (GlobalMut::new(m, n), GlobalMut::new(v, n)) };
    let mut i = global_thread_x();
    while i < n {
        let (pi, mi, vi) = adam(p.load(i), g.load(i), m.load(i), v.load(i), alpha, beta1, beta2, eps);
        p.store(i, pi);
        m.store(i, mi);
        v.store(i, vi);
        i += grid_threads_x();
    }
}

kernels! {
    sgd_f32(p: *mut f32, g: *const f32, n: u64, lr: f32) => sgd_step::<f32>;
    sgd_f64(p: *mut f64, g: *const f64, n: u64, lr: f64) => sgd_step::<f64>;
    momentum_f32(p: *mut f32, g: *const f32, v: *mut f32, n: u64, lr: f32, mu: f32, nesterov: u32) => momentum_step::<f32>;
    momentum_f64(p: *mut f64, g: *const f64, v: *mut f64, n: u64, lr: f64, mu: f64, nesterov: u32) => momentum_step::<f64>;
    adam_f32(p: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, n: u64, alpha: f32, beta1: f32, beta2: f32, eps: f32) => adam_step::<f32>;
    adam_f64(p: *mut f64, g: *const f64, m: *mut f64, v: *mut f64, n: u64, alpha: f64, beta1: f64, beta2: f64, eps: f64) => adam_step::<f64>;
}
