//! The optimizers against PyTorch's formulas, written here per element in f64 (not the
//! kernels' Keras form the library runs them in): three steps on `L = Σ c·p²` (so the gradient
//! `2c·p` changes every step), f32 and f64 parameters, on every device; a rate change in the
//! middle for momentum; the bad arguments; clipping and the schedules' values.

use crate::common::devices::{Case, CaseResult};
use crate::ensure;
use ferrite::autograd::Var;
use ferrite::autograd::optim::{Adam, Optimizer, RmsProp, Schedule, Sgd, clip_grad_norm, zero_grad};
use ferrite::nn::NnFloat;
use ferrite::{Array, Axes, Device, Error};

pub const CASES: &[(&str, Case)] = &[
    ("optim_f64_matches_pytorch", matches_pytorch::<f64>),
    ("optim_f32_matches_pytorch", matches_pytorch::<f32>),
    ("optim_errors_and_skips", errors_and_skips),
    ("optim_clip_and_schedules", clip_and_schedules),
];

/// Which optimizer, with its settings.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Sgd { lr: f64, mu: f64, nesterov: bool, wd: f64 },
    Adam { lr: f64, wd: f64, decoupled: bool },
    RmsProp { lr: f64, wd: f64 },
}

const KINDS: &[Kind] = &[
    Kind::Sgd { lr: 0.1, mu: 0.0, nesterov: false, wd: 0.0 },
    Kind::Sgd { lr: 0.1, mu: 0.9, nesterov: false, wd: 0.0 },
    Kind::Sgd { lr: 0.1, mu: 0.9, nesterov: true, wd: 0.01 },
    Kind::Adam { lr: 0.01, wd: 0.0, decoupled: false },
    Kind::Adam { lr: 0.01, wd: 0.1, decoupled: false },
    Kind::Adam { lr: 0.01, wd: 0.1, decoupled: true },
    Kind::RmsProp { lr: 0.01, wd: 0.01 },
];

/// The rate at step `t` (from 1): halved at the second, 0 at the third (momentum and state
/// go on, the parameter stays), back at the fourth.
fn rate(lr: f64, t: usize) -> f64 {
    match t {
        2 => lr / 2.0,
        3 => 0.0,
        _ => lr,
    }
}

/// PyTorch's updates of `p` (one element) at the given rates, one per step on which the
/// parameter has a gradient (`2c·p`); the state and step count are the parameter's own.
fn reference(kind: Kind, mut p: f64, c: f64, rates: &[f64]) -> f64 {
    let (mut b, mut m, mut v) = (0.0, 0.0, 0.0);
    for (k, &lr) in rates.iter().enumerate() {
        let t = k + 1;
        let mut g = 2.0 * c * p;
        match kind {
            Kind::Sgd { mu, nesterov, wd, .. } => {
                g += wd * p;
                if mu != 0.0 {
                    b = if t == 1 { g } else { mu * b + g };
                    g = if nesterov { g + mu * b } else { b };
                }
                p -= lr * g;
            }
            Kind::Adam { wd, decoupled, .. } => {
                if decoupled {
                    p *= 1.0 - lr * wd;
                } else {
                    g += wd * p;
                }
                let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
                m = b1 * m + (1.0 - b1) * g;
                v = b2 * v + (1.0 - b2) * g * g;
                let (mh, vh) = (m / (1.0 - b1.powi(t as i32)), v / (1.0 - b2.powi(t as i32)));
                p -= lr * mh / (vh.sqrt() + eps);
            }
            Kind::RmsProp { wd, .. } => {
                g += wd * p;
                v = 0.99 * v + 0.01 * g * g;
                p -= lr * g / (v.sqrt() + 1e-8);
            }
        }
    }
    p
}

fn optimizer<T: NnFloat>(kind: Kind) -> ferrite::Result<Box<dyn Optimizer<T>>> {
    Ok(match kind {
        Kind::Sgd { lr, mu, nesterov, wd } => Box::new(Sgd::with(lr, mu, nesterov, wd)?),
        Kind::Adam { lr, wd, decoupled: false } => Box::new(Adam::with(lr, (0.9, 0.999), 1e-8, wd)?),
        Kind::Adam { lr, wd, decoupled: true } => Box::new(Adam::adamw(lr, (0.9, 0.999), 1e-8, wd)?),
        Kind::RmsProp { lr, wd } => Box::new(RmsProp::with(lr, 0.99, 1e-8, wd)?),
    })
}

/// Two parameters: `p`, a contiguous view at an offset into a larger array, with a gradient
/// at every step; `q`, a transposed view, with one at steps 2 and 4 only.
fn matches_pytorch<T: NnFloat>(d: &Device) -> CaseResult {
    let mut rng = crate::common::rng(&format!("optim {}", T::DTYPE));
    let draw = |rng: &mut _, n, lo, hi| -> Vec<T> {
        crate::common::uniform(rng, n, lo, hi).into_iter().map(T::from_f64).collect()
    };
    let (big, q0) = (draw(&mut rng, 12, -2.0, 2.0), draw(&mut rng, 4, -2.0, 2.0));
    let (cp, cq) = (draw(&mut rng, 6, 0.1, 1.0), draw(&mut rng, 4, 0.1, 1.0));
    let cpv = Var::constant(Array::from_vec_on(cp.clone(), &[2, 3], d)?);
    let cqv = Var::constant(Array::from_vec_on(cq.clone(), &[2, 2], d)?);
    for &kind in KINDS {
        let p = Array::from_vec_on(big.clone(), &[4, 3], d)?.narrow(0, 2, 2)?;
        let q = Array::from_vec_on(q0.clone(), &[2, 2], d)?.t();
        let (p_start, q_start) = (p.to_vec()?, q.to_vec()?);
        let mut params = vec![Var::parameter(p), Var::parameter(q)];
        let mut opt = optimizer::<T>(kind)?;
        let base = opt.lr();
        for t in 1..=4 {
            opt.set_lr(rate(base, t))?;
            {
                let mut loss = cpv.mul(&params[0].square()?)?.sum(Axes::All, false)?;
                if t % 2 == 0 {
                    loss = loss.add(&cqv.mul(&params[1].square()?)?.sum(Axes::All, false)?)?;
                }
                loss.backward()?;
                // The graph is dropped here, so the step writes the parameters in place (p at
                // its view's offset), not into copies.
            }
            opt.step(&mut params)?;
            zero_grad(&params);
        }
        // f32: each step's rounding, relative to the step sizes (about lr·|g|).
        let tol = if T::DTYPE == ferrite::DType::F64 { 1e-12 } else { 2e-6 };
        let every: Vec<f64> = (1..=4).map(|t| rate(base, t)).collect();
        let even: Vec<f64> = [2, 4].iter().map(|&t| rate(base, t)).collect();
        for (name, got, start, c, rates) in
            [("p", params[0].to_vec()?, &p_start, &cp, &every), ("q", params[1].to_vec()?, &q_start, &cq, &even)]
        {
            // Both in their views' logical (row-major) order, as the constants.
            for i in 0..got.len() {
                let want = reference(kind, start[i].to_f64(), c[i].to_f64(), rates);
                let g = got[i].to_f64();
                ensure!(
                    (g - want).abs() <= tol * (1.0 + want.abs()),
                    "{kind:?} on {d} ({}): {name}[{i}] = {g}, want {want}",
                    T::DTYPE
                );
            }
        }
    }
    Ok(())
}

fn errors_and_skips(d: &Device) -> CaseResult {
    let bad = |r: ferrite::Result<()>, op: &str, name: &str| match r {
        Err(Error::BadArgument { op: o, args, .. }) if o == op && args[0].0 == name => Ok(()),
        other => Err(format!("{op} with a bad {name}: {other:?}")),
    };
    bad(Sgd::<f32>::with(0.1, 0.0, true, 0.0).map(drop), "SGD", "momentum")?;
    bad(Sgd::<f32>::new(-1.0).map(drop), "SGD", "lr")?;
    bad(Adam::<f32>::with(0.1, (0.9, 1.0), 1e-8, 0.0).map(drop), "Adam", "beta2")?;
    bad(Adam::<f32>::with(0.1, (0.9, 0.999), 0.0, 0.0).map(drop), "Adam", "eps")?;
    bad(RmsProp::<f32>::with(0.1, f64::NAN, 1e-8, 0.0).map(drop), "RMSprop", "alpha")?;
    bad(clip_grad_norm::<f32>(&[], -1.0).map(drop), "clip_grad_norm", "max_norm")?;
    // A parameter without a gradient is left as it is; one that changes shape is an error.
    let mut params = vec![Var::parameter(Array::from_vec_on(vec![1.0f32, 2.0], &[2], d)?)];
    let mut opt = Adam::new(0.1)?;
    opt.step(&mut params)?;
    ensure!(params[0].to_vec()? == [1.0, 2.0], "no gradient, no step");
    params[0].sum(Axes::All, false)?.backward()?;
    opt.step(&mut params)?;
    params[0] = Var::parameter(Array::from_vec_on(vec![1.0f32; 3], &[3], d)?);
    params[0].sum(Axes::All, false)?.backward()?;
    match opt.step(&mut params) {
        Err(Error::ShapeMismatch { op: "Adam", lhs, rhs, .. }) if lhs == [2] && rhs == [3] => {}
        other => return Err(format!("a parameter that changed shape: {other:?}").into()),
    }
    // A parameter moved to another device than its state's.
    let moved = if matches!(d, Device::Cpu) { Device::emulated_cuda(8, 0)? } else { Device::Cpu };
    params[0] = Var::parameter(Array::from_vec_on(vec![1.0f32, 2.0], &[2], &moved)?);
    params[0].sum(Axes::All, false)?.backward()?;
    match opt.step(&mut params) {
        Err(Error::DeviceMismatch { op: "Adam", .. }) => {}
        other => return Err(format!("a parameter on {moved} with its state on {d}: {other:?}").into()),
    }
    let mut sgd = Sgd::<f32>::new(0.1)?;
    match sgd.set_lr(f64::NAN) {
        Err(Error::BadArgument { op: "SGD", .. }) => Ok(()),
        other => Err(format!("set_lr(NaN): {other:?}").into()),
    }
}

fn clip_and_schedules(d: &Device) -> CaseResult {
    let a = Var::parameter(Array::from_vec_on(vec![1.0f64, 1.0], &[2], d)?);
    let b = Var::parameter(Array::from_vec_on(vec![1.0f64], &[1], d)?);
    // Gradients [3, 0] and [4]: joint norm 5.
    a.mul(&Var::constant(Array::from_vec_on(vec![3.0, 0.0], &[2], d)?))?.sum(Axes::All, false)?.backward()?;
    b.mul_scalar(4.0)?.sum(Axes::All, false)?.backward()?;
    let params = [a, b];
    let norm = clip_grad_norm(&params, 1.0)?;
    let s = 1.0 / (5.0 + 1e-6);
    let (ga, gb) =
        (params[0].grad().ok_or("a's gradient")?.to_vec()?, params[1].grad().ok_or("b's gradient")?.to_vec()?);
    ensure!(norm == 5.0 && ga == [3.0 * s, 0.0] && gb == [4.0 * s], "clip: norm {norm}, {ga:?} {gb:?}");
    ensure!(clip_grad_norm(&params, 10.0)? < 1.0, "the clipped norm");
    let after = params[0].grad().ok_or("a's gradient")?.to_vec()?;
    ensure!(after == ga, "a norm under the bound leaves the gradients: {after:?}");
    let step: Vec<f64> = (0..5).map(|e| Schedule::Step { step_size: 2, gamma: 0.5 }.lr(1.0, e)).collect();
    ensure!(step == [1.0, 1.0, 0.5, 0.5, 0.25], "step schedule {step:?}");
    let cosine = Schedule::Cosine { t_max: 4, eta_min: 0.1 };
    let at = |e| cosine.lr(1.1, e);
    ensure!(
        at(0) == 1.1 && (at(2) - 0.6).abs() < 1e-15 && (at(4) - 0.1).abs() < 1e-15,
        "cosine {} {} {}",
        at(0),
        at(2),
        at(4)
    );
    ensure!(Schedule::Constant.lr(0.3, 7) == 0.3, "constant");
    Ok(())
}
