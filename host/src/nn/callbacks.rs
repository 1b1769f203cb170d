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

    /// Whether `value` beats `best` by more than `min_delta`. Any value beats none (Keras 3's
    /// `MonitorCallback`: the first epoch is the best so far); NaN beats nothing else.
    fn improves(self, value: f64, best: Option<f64>, min_delta: f64) -> bool {
        let Some(best) = best else { return true };
        match self {
            Monitor::Loss | Monitor::ValLoss => value < best - min_delta,
            Monitor::Accuracy | Monitor::ValAccuracy => value > best + min_delta,
        }
    }
}

/// Stops training when the monitored value has not improved for `patience` epochs (Keras's
/// `EarlyStopping`; its defaults: `val_loss`, patience 0, no minimum change, weights not
/// restored). With `restore_best_weights`, the model takes back the weights of its best
/// epoch when training ends, stopped early or not (Keras 3's rule; the first epoch is the
/// best until another improves on it by more than `min_delta`).
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
/// `ModelCheckpoint`; its defaults: `val_loss`, every epoch; the monitor is read only with
/// `save_best_only`, and the first epoch is the best so far). The path is a Keras template:
/// `{epoch}` is the epoch's number from 1 (`{epoch:02d}` zero-padded), `{loss}`,
/// `{accuracy}`, `{val_loss}` and `{val_accuracy}` the epoch's values (`{val_loss:.2f}` with
/// two decimals), `{{` and `}}` braces; another placeholder is an error before training.
/// Missing folders are created.
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

    /// The path for the epoch of `log`, from the template.
    fn path_for(&self, log: &EpochLog) -> Result<PathBuf> {
        let template = self.path.to_string_lossy();
        let bad = |why: String| Error::Config(format!("ModelCheckpoint path {template:?}: {why}"));
        let mut out = String::new();
        let mut rest = template.as_ref();
        while let Some(i) = rest.find(['{', '}']) {
            out += &rest[..i];
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                out += &tail[..1];
                rest = &tail[2..];
                continue;
            }
            let end =
                tail.find('}').filter(|_| tail.starts_with('{')).ok_or_else(|| bad("an unmatched brace".into()))?;
            let inner = &tail[1..end];
            let (name, spec) = inner.split_once(':').unwrap_or((inner, ""));
            out += &placeholder(name, spec, log).map_err(|why| bad(format!("{{{inner}}}: {why}")))?;
            rest = &tail[end + 1..];
        }
        out += rest;
        Ok(PathBuf::from(out))
    }
}

/// The widest field and most decimals a checkpoint path may ask for.
const MAX_WIDTH: usize = 64;

/// One `{name:spec}` of a checkpoint path for the epoch of `log` (Python's format specs
/// `d`, `0Nd` for the epoch and `.Nf` for values; none for `str`).
fn placeholder(name: &str, spec: &str, log: &EpochLog) -> std::result::Result<String, String> {
    if name == "epoch" {
        let epoch = log.epoch + 1;
        return match spec.strip_suffix('d').map(|w| if w.is_empty() { Ok(0) } else { w.parse::<usize>() }) {
            _ if spec.is_empty() => Ok(epoch.to_string()),
            Some(Ok(width)) if (spec.starts_with('0') || width == 0) && width <= MAX_WIDTH => {
                Ok(format!("{epoch:0width$}"))
            }
            _ => Err("an epoch takes d or 0Nd".into()),
        };
    }
    let monitor = [Monitor::Loss, Monitor::Accuracy, Monitor::ValLoss, Monitor::ValAccuracy]
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or("not epoch, loss, accuracy, val_loss or val_accuracy")?;
    let v = monitor.value(log).ok_or("not in this fit's logs")?;
    match spec.strip_prefix('.').and_then(|p| p.strip_suffix('f')).map(str::parse::<usize>) {
        _ if spec.is_empty() => Ok(v.to_string()),
        Some(Ok(p)) if p <= MAX_WIDTH => Ok(format!("{v:.p$}")),
        _ => Err("a value takes .Nf".into()),
    }
}

/// The callbacks of one `fit`, with what they have seen.
pub(crate) struct Callbacks<T> {
    /// The callback, its best value and the epochs since it improved.
    early: Option<(EarlyStopping, Option<f64>, usize)>,
    checkpoint: Option<(ModelCheckpoint, Option<f64>)>,
    best_weights: Option<Vec<Vec<T>>>,
}

impl<T: NnFloat> Callbacks<T> {
    /// Checks that each monitored value (and each value a checkpoint path names) will be in
    /// the logs (`val_*` needs validation data, `accuracy` the metric) before any epoch runs.
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
            // Keras reads the monitor only to find the best epoch.
            if c.save_best_only {
                available(c.monitor, "ModelCheckpoint")?;
            }
            let some = |on: bool| on.then_some(0.0);
            let log = EpochLog {
                epoch: 0,
                loss: 0.0,
                accuracy: some(scored),
                val_loss: some(validating),
                val_accuracy: some(validating && scored),
                seconds: 0.0,
            };
            c.path_for(&log)?;
        }
        Ok(Callbacks {
            early: o.early_stopping.clone().map(|e| (e, None, 0)),
            checkpoint: o.checkpoint.clone().map(|c| (c, None)),
            best_weights: None,
        })
    }

    /// Runs the callbacks on `log`; `true` when training should stop.
    pub fn after_epoch(&mut self, model: &mut Sequential<T>, log: &EpochLog) -> Result<bool> {
        if let Some((c, best)) = &mut self.checkpoint {
            let save = !c.save_best_only || {
                let value = c.monitor.value(log).expect("checked in new when save_best_only");
                let improved = c.monitor.improves(value, *best, 0.0);
                if improved {
                    *best = Some(value);
                }
                improved
            };
            if save {
                let path = c.path_for(log)?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.into(), source })?;
                }
                model.save_weights(path)?;
            }
        }
        let Some((e, best, wait)) = &mut self.early else { return Ok(false) };
        let value = e.monitor.value(log).expect("checked in new");
        *wait += 1;
        if e.monitor.improves(value, *best, e.min_delta) {
            (*best, *wait) = (Some(value), 0);
            if e.restore_best_weights {
                self.best_weights = Some(model.get_weights()?);
            }
            return Ok(false);
        }
        // Keras: stop once `patience` epochs in a row have not improved (never after the first).
        Ok(*wait >= e.patience && log.epoch > 0)
    }

    /// At the end of training, stopped early or not: the best epoch's weights back, if
    /// `restore_best_weights` asked for them.
    pub fn finish(self, model: &mut Sequential<T>) -> Result<()> {
        match self.best_weights {
            Some(w) => model.set_weights(&w),
            None => Ok(()),
        }
    }
}
