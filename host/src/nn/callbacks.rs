//! Keras's `fit` callbacks: [`EarlyStopping`] and [`ModelCheckpoint`], with Keras's defaults
//! and rules (`TerminateOnNaN` is `FitOptions::terminate_on_nan`, in `guard.rs` and
//! `general.rs`). Both watch one value of each epoch's log ([`Monitor`]); a loss improves by
//! falling, an accuracy by rising, and NaN never improves. They run after each epoch on both
//! of the model's paths, through `get_weights`, `set_weights` and `save_weights`.

use super::fit::{EpochLog, FitOptions};
use super::model::Sequential;
use crate::error::{Error, Result};
use crate::nn::NnFloat;
use std::path::PathBuf;

/// The value of an epoch's log a callback watches (Keras's `monitor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    Loss,
    Accuracy,
    ValLoss,
    ValAccuracy,
}

impl Monitor {
    pub fn name(self) -> &'static str {
        match self {
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
            Monitor::ValLoss => "val_loss",
            Monitor::ValAccuracy => "val_accuracy",
        }
    }

    fn value(self, log: &EpochLog) -> Option<f64> {
        match self {
            Monitor::Loss => Some(log.loss),
            Monitor::Accuracy => log.accuracy,
            Monitor::ValLoss => log.val_loss,
            Monitor::ValAccuracy => log.val_accuracy,
        }
    }

    /// Whether `value` beats `best` by more than `min_delta` (any finite value beats none).
    fn improves(self, value: f64, best: Option<f64>, min_delta: f64) -> bool {
        let Some(best) = best else { return !value.is_nan() };
        match self {
            Monitor::Loss | Monitor::ValLoss => value < best - min_delta,
            Monitor::Accuracy | Monitor::ValAccuracy => value > best + min_delta,
        }
    }
}

/// Stops training when the monitored value has not improved for `patience` epochs (Keras's
/// `EarlyStopping`; its defaults: `val_loss`, patience 0, no minimum change, weights not
/// restored). With `restore_best_weights`, the model takes back the weights of its best
/// epoch when it stops.
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    pub monitor: Monitor,
    pub patience: usize,
    /// How much the value must change to count as an improvement (at least 0).
    pub min_delta: f64,
    pub restore_best_weights: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping { monitor: Monitor::ValLoss, patience: 0, min_delta: 0.0, restore_best_weights: false }
    }
}

/// Saves the weights (`save_weights`, safetensors) after each epoch, or with
/// `save_best_only` only after epochs that improve the monitored value (Keras's
/// `ModelCheckpoint`; its defaults: `val_loss`, every epoch). `{epoch}` in the path becomes
/// the epoch's number from 1, two digits at least (Keras's `{epoch:02d}`).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelCheckpoint {
    pub path: PathBuf,
    pub monitor: Monitor,
    pub save_best_only: bool,
}

impl ModelCheckpoint {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ModelCheckpoint { path: path.into(), monitor: Monitor::ValLoss, save_best_only: false }
    }

    /// Only after an epoch that improves on every one before it.
    pub fn best_only(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self.save_best_only = true;
        self
    }

    fn path_for(&self, epoch: usize) -> PathBuf {
        let p = self.path.to_string_lossy();
        if p.contains("{epoch}") {
            PathBuf::from(p.replace("{epoch}", &format!("{:02}", epoch + 1)))
        } else {
            self.path.clone()
        }
    }
}

/// The callbacks of one `fit`, with what they have seen.
pub(crate) struct Callbacks<T> {
    early: Option<(EarlyStopping, Option<f64>, usize)>,
    checkpoint: Option<(ModelCheckpoint, Option<f64>)>,
    best_weights: Option<Vec<Vec<T>>>,
}

impl<T: NnFloat> Callbacks<T> {
    /// Checks that each monitored value will be in the logs (`val_*` needs validation data,
    /// `accuracy` the metric) before any epoch runs.
    pub fn new(o: &FitOptions<T>, validating: bool, scored: bool) -> Result<Self> {
        let available = |m: Monitor, who: &str| {
            let missing = match m {
                Monitor::Loss => None,
                Monitor::Accuracy if !scored => Some("the model was compiled without the accuracy metric"),
                Monitor::ValLoss if !validating => Some("fit has no validation data"),
                Monitor::ValAccuracy if !validating || !scored => {
                    Some("val_accuracy needs validation data and the accuracy metric")
                }
                _ => None,
            };
            match missing {
                Some(why) => Err(Error::Config(format!("fit: {who} monitors {}, but {why}", m.name()))),
                None => Ok(()),
            }
        };
        if let Some(e) = &o.early_stopping {
            available(e.monitor, "EarlyStopping")?;
            if !(e.min_delta >= 0.0 && e.min_delta.is_finite()) {
                return Err(Error::Config(format!(
                    "fit: EarlyStopping min_delta {} must be finite and >= 0",
                    e.min_delta
                )));
            }
        }
        if let Some(c) = &o.checkpoint {
            available(c.monitor, "ModelCheckpoint")?;
        }
        Ok(Callbacks {
            early: o.early_stopping.clone().map(|e| (e, None, 0)),
            checkpoint: o.checkpoint.clone().map(|c| (c, None)),
            best_weights: None,
        })
    }

    /// Runs the callbacks on `log`; `true` when training should stop (the best weights are
    /// back in `model` if asked).
    pub fn after_epoch(&mut self, model: &mut Sequential<T>, log: &EpochLog) -> Result<bool> {
        if let Some((c, best)) = &mut self.checkpoint {
            let value = c.monitor.value(log).expect("checked in new");
            let improved = c.monitor.improves(value, *best, 0.0);
            if improved {
                *best = Some(value);
            }
            if improved || !c.save_best_only {
                model.save_weights(c.path_for(log.epoch))?;
            }
        }
        let Some((e, best, wait)) = &mut self.early else { return Ok(false) };
        let value = e.monitor.value(log).expect("checked in new");
        if e.monitor.improves(value, *best, e.min_delta) {
            (*best, *wait) = (Some(value), 0);
            if e.restore_best_weights {
                self.best_weights = Some(model.get_weights()?);
            }
            return Ok(false);
        }
        *wait += 1;
        // Keras: stop once `patience` epochs in a row have not improved (never after the first).
        if *wait < e.patience.max(1) || log.epoch == 0 {
            return Ok(false);
        }
        if let Some(w) = &self.best_weights {
            model.set_weights(w)?;
        }
        Ok(true)
    }
}
