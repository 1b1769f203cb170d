//! Losses as functions of [`Var`]s, each the mean over the batch (PyTorch's default
//! `reduction="mean"`), written with `Var` ops so their gradients come from the ops' rules:
//! `mse`, `mae`, `huber`, `binary_cross_entropy`, `binary_cross_entropy_with_logits`,
//! `cross_entropy` (logits against class probabilities, with label smoothing) and
//! `sparse_cross_entropy` (logits against integer labels). A prediction and a target of
//! different shapes are an error naming both (no silent broadcasting, which PyTorch only
//! warns about).

use super::Var;
use crate::array::{Array, Axes, IndexType};
use crate::dtype::Float;
use crate::error::{Error, Result};

fn same_shape<T: Float>(op: &'static str, pred: &Var<T>, target: &Var<T>) -> Result<()> {
    if pred.shape() == target.shape() {
        Ok(())
    } else {
        Err(Error::shape_mismatch(
            op,
            pred.shape(),
            target.shape(),
            "the prediction and the target must have one shape",
        ))
    }
}

/// Mean squared error, `mean((pred - target)²)`.
pub fn mse<T: Float>(pred: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
    same_shape("mse", pred, target)?;
    pred.sub(target)?.square()?.mean(Axes::All, false)
}

/// Mean absolute error, `mean(|pred - target|)`.
pub fn mae<T: Float>(pred: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
    same_shape("mae", pred, target)?;
    pred.sub(target)?.abs()?.mean(Axes::All, false)
}

/// Huber loss with threshold `delta` (PyTorch's `huber_loss`): `d²/2` where `|d| ≤ delta`,
/// `delta·(|d| - delta/2)` beyond, `d = pred - target`.
pub fn huber<T: Float>(pred: &Var<T>, target: &Var<T>, delta: f64) -> Result<Var<T>> {
    same_shape("huber", pred, target)?;
    if delta.is_nan() || delta <= 0.0 {
        return Err(Error::BadArgument {
            op: "huber",
            args: vec![("delta", delta)],
            reason: "delta must be positive".into(),
        });
    }
    let d = pred.sub(target)?;
    let a = d.abs()?;
    let near = a.value().le_scalar(T::from_f64(delta))?;
    let quadratic = d.square()?.mul_scalar(T::from_f64(0.5))?;
    let linear = a.sub_scalar(T::from_f64(delta / 2.0))?.mul_scalar(T::from_f64(delta))?;
    super::where_(&near, &quadratic, &linear)?.mean(Axes::All, false)
}

/// Binary cross-entropy of probabilities `prob` against targets in `[0, 1]`, each log
/// clamped at -100 as PyTorch's `binary_cross_entropy`, with PyTorch's gradient
/// `(p - t) / max(p(1 - p), 1e-12) / n` for the probabilities: a probability of exactly 0 or 1
/// (an f32 sigmoid past 16.6) gives a finite loss and a finite gradient. The target's
/// gradient is `(log(1 - p) - log p) / n` with both logs clamped (PyTorch's is unclamped,
/// infinite at 0 and 1).
pub fn binary_cross_entropy<T: Float>(prob: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
    same_shape("binary_cross_entropy", prob, target)?;
    let c = T::from_f64;
    let (p, t) = (prob.value().clone(), target.value().clone());
    let log_p = p.log()?.maximum_scalar(c(-100.0))?;
    let log_q = p.rsub_scalar(c(1.0))?.log()?.maximum_scalar(c(-100.0))?;
    let y = t.mul(&log_p)?.add(&t.rsub_scalar(c(1.0))?.mul(&log_q)?)?.mean(Axes::All, false)?.neg()?;
    let n = c(p.len() as f64);
    Ok(Var::record_same("binary_cross_entropy", y, &[prob, target], move |g, needs| {
        let g = g.div_scalar(n)?;
        let dp = if needs[0] {
            let spread = p.mul(&p.rsub_scalar(c(1.0))?)?.maximum_scalar(c(1e-12))?;
            Some(p.sub(&t)?.div(&spread)?.mul(&g)?)
        } else {
            None
        };
        let dt = if needs[1] { Some(log_q.sub(&log_p)?.mul(&g)?) } else { None };
        Ok(vec![dp, dt])
    }))
}

/// Binary cross-entropy of logits `z` (sigmoid applied inside, without overflow):
/// `mean(softplus(z) - z·t)`, whose gradient is `(sigmoid(z) - t) / n`.
pub fn binary_cross_entropy_with_logits<T: Float>(logits: &Var<T>, target: &Var<T>) -> Result<Var<T>> {
    same_shape("binary_cross_entropy_with_logits", logits, target)?;
    logits.softplus()?.sub(&logits.mul(target)?)?.mean(Axes::All, false)
}

/// Categorical cross-entropy of `logits` `[batch, classes]` (softmax applied inside, as
/// log-softmax) against class probabilities `target` (one-hot rows, say), with label smoothing
/// `smoothing` in `[0, 1)` (the target mixed with the uniform distribution, as PyTorch's and
/// Keras's `label_smoothing`): the mean over the batch of `-Σ target · log_softmax(logits)`.
pub fn cross_entropy<T: Float>(logits: &Var<T>, target: &Var<T>, smoothing: f64) -> Result<Var<T>> {
    same_shape("cross_entropy", logits, target)?;
    if logits.ndim() != 2 {
        return Err(Error::bad_shape("cross_entropy", logits.shape(), "logits must be [batch, classes]"));
    }
    if !(0.0..1.0).contains(&smoothing) {
        return Err(Error::BadArgument {
            op: "cross_entropy",
            args: vec![("smoothing", smoothing)],
            reason: "label smoothing must lie in [0, 1)".into(),
        });
    }
    let classes = logits.shape()[1] as f64;
    let target = if smoothing > 0.0 {
        target.mul_scalar(T::from_f64(1.0 - smoothing))?.add_scalar(T::from_f64(smoothing / classes))?
    } else {
        target.clone()
    };
    target.mul(&logits.log_softmax(-1)?)?.sum(-1, false)?.mean(Axes::All, false)?.neg()
}

/// [`cross_entropy`] against integer class `labels` `[batch]` (PyTorch's `cross_entropy` with
/// class indices, Keras's `sparse_categorical_crossentropy`); a label outside
/// `0..classes` is an error naming it.
pub fn sparse_cross_entropy<T: Float, I: IndexType>(
    logits: &Var<T>,
    labels: &Array<I>,
    smoothing: f64,
) -> Result<Var<T>> {
    if logits.ndim() != 2 || labels.shape() != &logits.shape()[..1] {
        return Err(Error::shape_mismatch(
            "sparse_cross_entropy",
            logits.shape(),
            labels.shape(),
            "logits must be [batch, classes] and labels [batch]",
        ));
    }
    let target = Var::constant(labels.one_hot::<T>(logits.shape()[1])?);
    cross_entropy(logits, &target, smoothing)
}
