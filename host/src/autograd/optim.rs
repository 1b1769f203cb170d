//! Optimizers over a list of parameters (PyTorch's `torch.optim`): [`Sgd`] (momentum,
//! Nesterov, weight decay), [`Adam`] and AdamW ([`Adam::adamw`]), [`RmsProp`]; gradient
//! clipping by norm ([`clip_grad_norm`]); learning-rate schedules ([`Schedule`]).
//!
//! SGD and Adam update each parameter in place in one fused pass: the kernels the Keras
//! model's training step launches (`kernels_gpu::nn::optim`, one launch per parameter on a
//! GPU; the same per-element formulas on the CPU), with PyTorch's formulas expressed in their
//! terms (the momentum buffer kept as Keras's `-r·b` at a rate `r` per parameter, rescaled
//! when the rate changes; Adam's bias corrections folded into its step size and epsilon). A
//! parameter whose storage a recorded graph still holds is copied first (copy-on-write).
//! Weight decay costs more passes (L2: two array ops into the gradient; AdamW: one scaling
//! the parameter); RMSprop runs as array ops (a fused kernel of its own is still to come).
//! A parameter without a gradient is skipped, its state and step count included, as in
//! PyTorch. Every step checks all parameters (shape and device against their state) before
//! it changes any. All three take f32 and f64 parameters ([`NnFloat`]).

use super::Var;
use crate::array::Array;
use crate::array::storage::Storage;
use crate::error::{Error, Result};
use crate::nn::NnFloat;
use crate::nn::backend::Update;

/// An optimizer: `step` updates every parameter from its gradient.
pub trait Optimizer<T: NnFloat> {
    /// One update of `params` (the same list, in the same order, at every step: the optimizer's
    /// state is kept by position).
    fn step(&mut self, params: &mut [Var<T>]) -> Result<()> {
        self.update(&mut params.iter_mut().collect::<Vec<_>>())
    }
    /// [`step`](Optimizer::step) over parameters borrowed from their owners: a model's
    /// (`optimizer.update(&mut model.parameters())`, the layers' [`Module`](crate::layers::Module)).
    fn update(&mut self, params: &mut [&mut Var<T>]) -> Result<()>;
    /// The learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (a schedule's value for the epoch): finite and at least 0.
    fn set_lr(&mut self, lr: f64) -> Result<()>;
}

/// Forgets every parameter's gradient (PyTorch's `optimizer.zero_grad()`).
pub fn zero_grad<'a, T: NnFloat + 'a>(params: impl IntoIterator<Item = &'a Var<T>>) {
    params.into_iter().for_each(Var::zero_grad);
}

fn bad(op: &'static str, name: &'static str, value: f64, reason: &str) -> Error {
    Error::BadArgument { op, args: vec![(name, value)], reason: reason.into() }
}

/// `Optimizer::lr` and `set_lr` (checked) over the optimizer's `lr` field.
macro_rules! rate_methods {
    ($op:literal) => {
        fn lr(&self) -> f64 {
            self.lr
        }

        fn set_lr(&mut self, lr: f64) -> Result<()> {
            check($op, "lr", lr, 0.0, None)?;
            self.lr = lr;
            Ok(())
        }
    };
}

/// `eps` must be finite and above 0.
fn check_eps(op: &'static str, eps: f64) -> Result<()> {
    if eps.is_finite() && eps > 0.0 { Ok(()) } else { Err(bad(op, "eps", eps, "eps must be finite and above 0")) }
}

/// `v` must be finite and at least `lo` (and below `hi` if given).
fn check(op: &'static str, name: &'static str, v: f64, lo: f64, hi: Option<f64>) -> Result<()> {
    if !v.is_finite() || v < lo || hi.is_some_and(|h| v >= h) {
        let range = hi.map_or(format!("at least {lo}"), |h| format!("in [{lo}, {h})"));
        return Err(bad(op, name, v, &format!("{name} must be finite and {range}")));
    }
    Ok(())
}

/// The optimizer state of each parameter, by position: buffers of its shape on its device
/// (made on first use), its step count and (momentum) the rate its buffer is scaled by.
struct Slots<T: NnFloat> {
    op: &'static str,
    per: usize,
    state: Vec<Slot<T>>,
}

struct Slot<T: NnFloat> {
    buffers: Vec<Array<T>>,
    steps: i32,
    rate: f64,
}

impl<T: NnFloat> Slots<T> {
    fn new(op: &'static str, per: usize) -> Self {
        Slots { op, per, state: Vec::new() }
    }

    /// Checks every parameter that has a gradient against the gradient and its state (shape,
    /// device) before a step changes anything; returns the gradients (`None`: skipped).
    fn gradients(&self, params: &[&mut Var<T>]) -> Result<Vec<Option<Array<T>>>> {
        params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let Some(g) = p.grad() else { return Ok(None) };
                crate::array::same_device(self.op, p.value(), &g)?;
                if let Some(b) = self.state.get(i).and_then(|s| s.buffers.first()) {
                    if b.shape() != p.shape() {
                        return Err(Error::shape_mismatch(
                            self.op,
                            b.shape(),
                            p.shape(),
                            format!("parameter {i} changed shape since the last step (the state is kept by position)"),
                        ));
                    }
                    crate::array::same_device(self.op, b, p.value())?;
                }
                Ok(Some(g))
            })
            .collect()
    }

    /// Parameter `i`'s state (zero buffers at first).
    fn of(&mut self, i: usize, p: &Var<T>) -> Result<&mut Slot<T>> {
        if self.state.len() <= i {
            self.state.resize_with(i + 1, || Slot { buffers: Vec::new(), steps: 0, rate: 0.0 });
        }
        let slot = &mut self.state[i];
        if slot.buffers.is_empty() {
            for _ in 0..self.per {
                slot.buffers.push(Array::full_on(p.shape(), T::from_f64(0.0), &p.device())?);
            }
        }
        Ok(slot)
    }
}

/// One fused update of parameter `p`, in place (made contiguous first if it is not), from `g`,
/// with the state buffers `state` (checked: one device, `p`'s shape).
fn fused<T: NnFloat>(step: Update<T>, p: &mut Var<T>, g: &Array<T>, state: &mut [Array<T>]) -> Result<()> {
    let g = g.contiguous()?;
    if !p.value.is_contiguous() {
        p.value = p.value.contiguous()?;
    }
    let n = p.value.len();
    let go = g.layout().offset();
    // Each buffer written below is its array's own (copied first if shared).
    let mut parts: Vec<(&mut Storage, usize)> = Vec::with_capacity(state.len());
    for s in state.iter_mut() {
        let (storage, layout) = s.parts_mut()?;
        let o = layout.offset();
        parts.push((storage, o));
    }
    let (pv, pl) = p.value.parts_mut()?;
    let po = pl.offset();
    match (pv, g.storage()) {
        (Storage::Cpu(pv), Storage::Cpu(gv)) => {
            let mut slices: Vec<&mut [T]> = parts
                .into_iter()
                .map(|(s, o)| match s {
                    Storage::Cpu(c) => &mut c.as_mut_slice::<T>().expect("the parameter's dtype")[o..o + n],
                    Storage::Cuda(_) => unreachable!("state lives with its parameter"),
                })
                .collect();
            let pv = &mut pv.as_mut_slice::<T>().expect("the parameter's dtype")[po..po + n];
            crate::nn::backend::cpu::update(step, pv, &gv.typed::<T>()[go..go + n], &mut slices);
        }
        (Storage::Cuda(pv), Storage::Cuda(gv)) => {
            let state: Vec<*mut T> = parts
                .into_iter()
                .map(|(s, o)| match s {
                    Storage::Cuda(c) => c.ptr_at_mut::<T>(o),
                    Storage::Cpu(_) => unreachable!("state lives with its parameter"),
                })
                .collect();
            let dev = pv.device().clone();
            // SAFETY: the parameter, its gradient and every state buffer hold `n` elements
            // from their offsets on this device.
            unsafe {
                crate::nn::backend::cuda::launch_update(
                    &dev,
                    step,
                    pv.ptr_at_mut::<T>(po),
                    gv.ptr_at::<T>(go),
                    &state,
                    n,
                )?
            }
        }
        _ => unreachable!("checked: one device"),
    }
    Ok(())
}

/// Stochastic gradient descent, PyTorch's `SGD` (dampening 0): `b = μ·b + g` (`b = g` at a
/// parameter's first step), then `p -= lr·b` (Nesterov: `p -= lr·(g + μ·b)`); weight decay adds
/// `wd·p` to `g` first.
pub struct Sgd<T: NnFloat> {
    lr: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
    /// The momentum buffers as the kernel keeps them: `-r·b`, `r` the slot's rate (never 0).
    slots: Slots<T>,
}

impl<T: NnFloat> Sgd<T> {
    /// Plain SGD with rate `lr`.
    pub fn new(lr: f64) -> Result<Self> {
        Sgd::with(lr, 0.0, false, 0.0)
    }

    /// SGD with `momentum` (0 for none), `nesterov` (needs a momentum) and L2 `weight_decay`.
    pub fn with(lr: f64, momentum: f64, nesterov: bool, weight_decay: f64) -> Result<Self> {
        check("SGD", "lr", lr, 0.0, None)?;
        check("SGD", "momentum", momentum, 0.0, None)?;
        check("SGD", "weight_decay", weight_decay, 0.0, None)?;
        if nesterov && momentum == 0.0 {
            return Err(bad("SGD", "momentum", momentum, "Nesterov momentum needs a momentum above 0"));
        }
        Ok(Sgd { lr, momentum, nesterov, weight_decay, slots: Slots::new("SGD", 1) })
    }
}

/// `g + wd·p` (L2 weight decay into the gradient), or `g` itself.
fn decayed<T: NnFloat>(g: Array<T>, p: &Var<T>, wd: f64) -> Result<Array<T>> {
    if wd == 0.0 { Ok(g) } else { g.add(&p.value().mul_scalar(T::from_f64(wd))?) }
}

impl<T: NnFloat> Optimizer<T> for Sgd<T> {
    fn update(&mut self, params: &mut [&mut Var<T>]) -> Result<()> {
        let c = T::from_f64;
        let grads = self.slots.gradients(params)?;
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            let g = decayed(g, p, self.weight_decay)?;
            if self.momentum == 0.0 {
                fused(Update::Sgd { lr: c(self.lr) }, p, &g, &mut [])?;
                continue;
            }
            let (lr, mu) = (self.lr, self.momentum);
            let slot = self.slots.of(i, p)?;
            if slot.rate == 0.0 {
                // The first step: any rate represents b = 0.
                slot.rate = if lr > 0.0 { lr } else { 1.0 };
            }
            if lr == 0.0 {
                // b still accumulates (as PyTorch's), p stays: `-r·b = μ·(-r·b) - r·g`.
                let r = slot.rate;
                slot.buffers[0] = slot.buffers[0].mul_scalar(c(mu))?.sub(&g.mul_scalar(c(r))?)?;
                slot.steps += 1;
                continue;
            }
            if slot.rate != lr {
                slot.buffers[0] = slot.buffers[0].mul_scalar(c(lr / slot.rate))?;
                slot.rate = lr;
            }
            slot.steps += 1;
            fused(Update::Momentum { lr: c(lr), mu: c(mu), nesterov: self.nesterov }, p, &g, &mut slot.buffers)?;
        }
        Ok(())
    }

    rate_methods!("SGD");
}

/// Adam, PyTorch's formulas: `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`,
/// `p -= lr · m̂ / (sqrt(v̂) + ε)` with the bias-corrected `m̂ = m/(1-β1^t)`,
/// `v̂ = v/(1-β2^t)`, `t` the parameter's own step count; weight decay as L2 (`Adam`) or
/// decoupled (`AdamW`: `p *= 1 - lr·wd` first). [`Adam::keras`] places ε as Keras does.
pub struct Adam<T: NnFloat> {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    /// Keras's `p -= lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) + ε)`: ε not bias-corrected.
    keras_epsilon: bool,
    slots: Slots<T>,
}

impl<T: NnFloat> Adam<T> {
    /// Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay.
    pub fn new(lr: f64) -> Result<Self> {
        Adam::with(lr, (0.9, 0.999), 1e-8, 0.0)
    }

    /// Adam with L2 weight decay (added to the gradient).
    pub fn with(lr: f64, betas: (f64, f64), eps: f64, weight_decay: f64) -> Result<Self> {
        check("Adam", "lr", lr, 0.0, None)?;
        check("Adam", "beta1", betas.0, 0.0, Some(1.0))?;
        check("Adam", "beta2", betas.1, 0.0, Some(1.0))?;
        check("Adam", "weight_decay", weight_decay, 0.0, None)?;
        check_eps("Adam", eps)?;
        Ok(Adam { lr, betas, eps, weight_decay, decoupled: false, keras_epsilon: false, slots: Slots::new("Adam", 2) })
    }

    /// Keras's Adam (what the Keras model's fused path runs): ε added to `sqrt(v)`, not to
    /// the bias-corrected `sqrt(v̂)`, so the two differ where `sqrt(v)` is near ε.
    pub fn keras(lr: f64, betas: (f64, f64), eps: f64) -> Result<Self> {
        Ok(Adam { keras_epsilon: true, ..Adam::with(lr, betas, eps, 0.0)? })
    }

    /// AdamW: decoupled weight decay `weight_decay` (PyTorch's `AdamW` defaults it to 0.01;
    /// here it is given).
    pub fn adamw(lr: f64, betas: (f64, f64), eps: f64, weight_decay: f64) -> Result<Self> {
        Ok(Adam { decoupled: true, ..Adam::with(lr, betas, eps, weight_decay)? })
    }
}

impl<T: NnFloat> Optimizer<T> for Adam<T> {
    fn update(&mut self, params: &mut [&mut Var<T>]) -> Result<()> {
        let c = T::from_f64;
        let (b1, b2) = self.betas;
        let grads = self.slots.gradients(params)?;
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            let g = if self.decoupled {
                if self.weight_decay != 0.0 {
                    let shrunk = p.value().mul_scalar(c(1.0 - self.lr * self.weight_decay))?;
                    p.assign(shrunk)?;
                }
                g
            } else {
                decayed(g, p, self.weight_decay)?
            };
            let slot = self.slots.of(i, p)?;
            slot.steps = slot.steps.saturating_add(1);
            let t = slot.steps;
            let (c1, c2) = (1.0 - b1.powi(t), (1.0 - b2.powi(t)).sqrt());
            // PyTorch's step in the kernel's terms: α = lr·sqrt(1-β2^t)/(1-β1^t), ε' = ε·sqrt(1-β2^t)
            // (Keras's: ε' = ε).
            let eps = if self.keras_epsilon { self.eps } else { self.eps * c2 };
            let step = Update::Adam { alpha: c(self.lr * c2 / c1), beta1: c(b1), beta2: c(b2), eps: c(eps) };
            fused(step, p, &g, &mut slot.buffers)?;
        }
        Ok(())
    }

    rate_methods!("Adam");
}

/// RMSprop, PyTorch's (not centered, no momentum): `v = α·v + (1-α)·g²`,
/// `p -= lr · g / (sqrt(v) + ε)`; L2 weight decay into the gradient. Array ops, not fused.
pub struct RmsProp<T: NnFloat> {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    slots: Slots<T>,
}

impl<T: NnFloat> RmsProp<T> {
    /// RMSprop with PyTorch's defaults: alpha 0.99, eps 1e-8.
    pub fn new(lr: f64) -> Result<Self> {
        RmsProp::with(lr, 0.99, 1e-8, 0.0)
    }

    pub fn with(lr: f64, alpha: f64, eps: f64, weight_decay: f64) -> Result<Self> {
        check("RMSprop", "lr", lr, 0.0, None)?;
        check("RMSprop", "alpha", alpha, 0.0, Some(1.0))?;
        check("RMSprop", "weight_decay", weight_decay, 0.0, None)?;
        check_eps("RMSprop", eps)?;
        Ok(RmsProp { lr, alpha, eps, weight_decay, slots: Slots::new("RMSprop", 1) })
    }
}

impl<T: NnFloat> Optimizer<T> for RmsProp<T> {
    fn update(&mut self, params: &mut [&mut Var<T>]) -> Result<()> {
        let c = T::from_f64;
        let grads = self.slots.gradients(params)?;
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            let g = decayed(g, p, self.weight_decay)?;
            let (alpha, eps, lr) = (self.alpha, self.eps, self.lr);
            let slot = self.slots.of(i, p)?;
            slot.steps += 1;
            let v = slot.buffers[0].mul_scalar(c(alpha))?.add(&g.square()?.mul_scalar(c(1.0 - alpha))?)?;
            let step = g.div(&v.sqrt()?.add_scalar(c(eps))?)?.mul_scalar(c(lr))?;
            slot.buffers[0] = v;
            let stepped = p.value().sub(&step)?;
            p.assign(stepped)?;
        }
        Ok(())
    }

    rate_methods!("RMSprop");
}

/// Scales every gradient so that their joint L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`: by `max_norm / (norm + 1e-6)` when the norm is larger) and returns the
/// norm before clipping (NaN or infinite if a gradient is; nothing is scaled then).
pub fn clip_grad_norm<'a, T: NnFloat + 'a>(
    params: impl IntoIterator<Item = &'a Var<T>> + Clone,
    max_norm: f64,
) -> Result<f64> {
    check("clip_grad_norm", "max_norm", max_norm, 0.0, None)?;
    let mut total = 0.0f64;
    for p in params.clone() {
        if let Some(g) = p.grad() {
            let n = g.norm(crate::Axes::All, false)?.to_vec()?[0].to_f64();
            total += n * n;
        }
    }
    let norm = total.sqrt();
    if norm.is_finite() && norm > max_norm {
        let scale = T::from_f64(max_norm / (norm + 1e-6));
        for p in params {
            if let Some(g) = p.grad() {
                p.set_grad(Some(g.mul_scalar(scale)?))?;
            }
        }
    }
    Ok(norm)
}

/// A learning rate by epoch, as PyTorch's schedulers' closed forms.
#[derive(Clone, Copy, Debug)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// `base · gamma^(epoch / step_size)` (`StepLR`; a `step_size` of 0 is taken as 1).
    Step { step_size: usize, gamma: f64 },
    /// `eta_min + (base - eta_min) · (1 + cos(π · epoch / t_max)) / 2` (`CosineAnnealingLR`'s
    /// closed form; a `t_max` of 0 is taken as 1).
    Cosine { t_max: usize, eta_min: f64 },
}

impl Schedule {
    /// The rate for `epoch` (from 0) from the base rate `base`.
    pub fn lr(&self, base: f64, epoch: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { step_size, gamma } => base * gamma.powi((epoch / step_size.max(1)) as i32),
            Schedule::Cosine { t_max, eta_min } => {
                let phase = std::f64::consts::PI * epoch as f64 / t_max.max(1) as f64;
                eta_min + (base - eta_min) * (1.0 + phase.cos()) / 2.0
            }
        }
    }
}
