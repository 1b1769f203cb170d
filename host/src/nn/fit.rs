//! `fit`, `evaluate` and `predict`, with Keras's options and results.

use super::callbacks::{Callbacks, EarlyStopping, ModelCheckpoint};
use super::data::TrainingData;
use super::guard::{LossWatch, Position, find_divergence};
use super::model::{Engine, EngineData, Sequential, dispatch};
use super::progress::Progress;
use crate::array::Array;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::nn::NnFloat;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Keras's `fit` arguments, with Keras's defaults (`epochs=1, batch_size=32, shuffle=True,
/// verbose=1`), and Keras's `TerminateOnNaN` callback, on by default.
#[derive(Clone, Debug)]
pub struct FitOptions<T = f32> {
    pub epochs: usize,
    pub batch_size: usize,
    pub shuffle: bool,
    /// The last fraction of the rows (before shuffling) held out for validation.
    pub validation_split: f64,
    pub validation_data: Option<TrainingData<T>>,
    /// 0 silent, 1 progress bar (on a terminal), 2 one line per epoch.
    pub verbose: u8,
    /// Stop with [`Error::NonFiniteLoss`] at the first batch whose running loss is NaN or
    /// infinite, keeping the weights from before it (Keras's `TerminateOnNaN`; see `guard.rs`;
    /// on the general path, `general.rs`: the first batch whose own loss is not finite).
    pub terminate_on_nan: bool,
    /// Keras's `EarlyStopping` callback.
    pub early_stopping: Option<EarlyStopping>,
    /// Keras's `ModelCheckpoint` callback.
    pub checkpoint: Option<ModelCheckpoint>,
}

impl<T> Default for FitOptions<T> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation_split: 0.0,
            validation_data: None,
            verbose: 1,
            terminate_on_nan: true,
            early_stopping: None,
            checkpoint: None,
        }
    }
}

/// One epoch's results; `accuracy` only if the model was compiled with that metric.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub accuracy: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub seconds: f64,
}

impl EpochLog {
    pub(crate) fn describe(&self, steps: usize) -> String {
        let mut s = format!(
            "{steps}/{steps} - {:.1}s - {:.0}us/step - loss: {:.4}",
            self.seconds,
            1e6 * self.seconds / steps.max(1) as f64,
            self.loss,
        );
        if let Some(a) = self.accuracy {
            s += &format!(" - accuracy: {a:.4}");
        }
        if let Some(l) = self.val_loss {
            s += &format!(" - val_loss: {l:.4}");
        }
        if let Some(a) = self.val_accuracy {
            s += &format!(" - val_accuracy: {a:.4}");
        }
        s
    }
}

/// Keras's `History`: the per-epoch logs, and the warnings `fit` gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub epochs: Vec<EpochLog>,
    /// E.g. the loss growing by orders of magnitude (also printed at verbose 1 and 2).
    pub warnings: Vec<String>,
    /// The epoch (from 0) after which [`EarlyStopping`] stopped training, if it did.
    pub stopped_epoch: Option<usize>,
}

impl History {
    pub fn loss(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.loss).collect()
    }
    pub fn accuracy(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.accuracy).collect()
    }
    pub fn val_loss(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_loss).collect()
    }
    pub fn val_accuracy(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_accuracy).collect()
    }
}

/// Steps per training chunk: one CUDA graph each on a GPU, and the granularity of progress
/// updates.
const CHUNK: usize = 16;

/// Epoch `epoch`'s order of `rows` rows: a seeded Fisher-Yates shuffle.
fn shuffled(rows: usize, seed: u64, epoch: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<u32> = (0..rows as u32).collect();
    for i in (1..rows).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    order
}

impl<T: NnFloat> Sequential<T> {
    /// Keras's `fit(x, y, epochs, batch_size, ...)`. As Keras with NumPy arrays, `x` and `y`
    /// may live on any device: they are copied to the host, checked, and uploaded to the
    /// model's device (the one copy ferrite makes without being asked).
    pub fn fit<Y: Element>(&mut self, x: &Array<T>, y: &Array<Y>, options: &FitOptions<T>) -> Result<History> {
        self.fit_data(&TrainingData::from_arrays("fit", &self.flat_input("fit", x)?, y)?, options)
    }

    /// `x` as the 2-D rows `TrainingData` holds: on the general path it must be
    /// `[rows, ...input shape]`, and is flattened.
    fn flat_input(&self, op: &'static str, x: &Array<T>) -> Result<Array<T>> {
        if !self.is_general() {
            return Ok(x.clone());
        }
        let input = self.sample_shape()?;
        let xs = x.shape();
        if xs.len() != input.len() + 1 || xs[1..] != input[..] {
            let want = [&[xs.first().copied().unwrap_or(0)], input.as_slice()].concat();
            return Err(Error::shape_mismatch(op, xs, &want, format!("the model takes samples of shape {input:?}")));
        }
        x.reshape(&[xs[0], input.iter().product()])
    }

    pub fn fit_data(&mut self, data: &TrainingData<T>, o: &FitOptions<T>) -> Result<History> {
        if o.batch_size == 0 {
            return Err(Error::Config("fit: batch_size must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&o.validation_split) {
            return Err(Error::Config(format!("fit: validation_split {} is not in [0, 1)", o.validation_split)));
        }
        if o.validation_split > 0.0 && o.validation_data.is_some() {
            return Err(Error::Config("fit: give validation_split or validation_data, not both".into()));
        }
        // Keras: the last rows, before any shuffling, are the validation set.
        let (train, val) = if o.validation_split > 0.0 {
            let keep = (data.rows as f64 * (1.0 - o.validation_split)).floor() as usize;
            if keep == 0 || keep == data.rows {
                return Err(Error::Config(format!(
                    "fit: validation_split {} of {} rows leaves an empty training or validation set",
                    o.validation_split, data.rows
                )));
            }
            (data.select(0..keep), Some(data.select(keep..data.rows)))
        } else {
            (data.clone(), o.validation_data.clone())
        };
        if self.is_general() {
            return self.fit_general(&train, val.as_ref(), o);
        }
        let seed = self.seed;
        let c = self.compiled("fit")?;
        let shapes = c.engine_shapes();
        train.check("fit", &shapes, c.loss)?;
        if let Some(v) = &val {
            v.check("fit", &shapes, c.loss)?;
        }
        let scored = !c.metrics.is_empty();
        let mut callbacks = Callbacks::new(o, val.is_some(), scored)?;
        let mut train_dev = c.engine.upload(&train)?;
        let mut val_dev = val.as_ref().map(|v| c.engine.upload(v)).transpose()?;
        let (rows, batch) = (train.rows, o.batch_size.min(train.rows));
        let steps = rows.div_ceil(batch);
        let batches: Vec<(usize, usize)> = (0..steps).map(|s| (s * batch, batch.min(rows - s * batch))).collect();
        let mut progress = Progress::new(o.verbose, o.epochs);
        let mut history = History::default();
        let mut watch = LossWatch::default();
        let at = |epoch, batch| Position { epoch, epochs: o.epochs, batch, batches: steps };
        for epoch in 0..o.epochs {
            let c = self.compiled.as_mut().expect("compiled above");
            let started = Instant::now();
            progress.begin_epoch(epoch, steps);
            let order: Vec<u32> = if o.shuffle { shuffled(rows, seed, epoch) } else { (0..rows as u32).collect() };
            // `?` inside returns from `fit_data`.
            dispatch!(&mut c.engine, &mut train_dev, |n, d| {
                n.set_order(d, &order)?;
                let mut before = if o.terminate_on_nan { Some(n.snapshot()?) } else { None };
                for (i, chunk) in batches.chunks(CHUNK).enumerate() {
                    if let Some(s) = &mut before {
                        n.save_to(s)?;
                    }
                    n.train_chunk(d, i, chunk)?;
                    if watch.initial.is_none() {
                        watch.initial = Some(n.scores(d, chunk[0].1)?.0);
                    }
                    let (start, len) = chunk[chunk.len() - 1];
                    let wanted = progress.wants_metrics();
                    let metrics = if wanted || before.is_some() { Some(n.scores(d, start + len)?) } else { None };
                    if let (Some(s), Some((loss, _))) = (&mut before, metrics)
                        && !loss.is_finite()
                    {
                        find_divergence(n, d, s, chunk, at(epoch, i * CHUNK))?;
                    }
                    if let Some((loss, _)) = metrics {
                        watch.check(loss, at(epoch, i * CHUNK + chunk.len()), &mut history, &progress);
                    }
                    let shown = metrics.filter(|_| wanted).map(|(l, a)| (l, scored.then_some(a)));
                    progress.step(i * CHUNK + chunk.len(), shown);
                }
            });
            let (loss, accuracy) = dispatch!(&c.engine, &train_dev, |n, d| n.scores(d, rows))?;
            watch.check(loss, at(epoch, steps), &mut history, &progress);
            let (val_loss, val_accuracy) = match &mut val_dev {
                Some(v) => {
                    let (l, a) = dispatch!(&mut c.engine, v, |n, d| n.evaluate(d, batch))?;
                    (Some(l), scored.then_some(a))
                }
                None => (None, None),
            };
            let accuracy = scored.then_some(accuracy);
            let log =
                EpochLog { epoch, loss, accuracy, val_loss, val_accuracy, seconds: started.elapsed().as_secs_f64() };
            if self.end_epoch(log, steps, &mut progress, &mut callbacks, &mut history)? {
                break;
            }
        }
        callbacks.finish(self)?;
        Ok(history)
    }

    /// Shows and records the epoch's `log` and runs the callbacks on it; `true` when they
    /// stop training.
    fn end_epoch(
        &mut self,
        log: EpochLog,
        steps: usize,
        progress: &mut Progress,
        callbacks: &mut Callbacks<T>,
        history: &mut History,
    ) -> Result<bool> {
        progress.end_epoch(&log, steps);
        let stop = callbacks.after_epoch(self, &log)?;
        if stop {
            history.stopped_epoch = Some(log.epoch);
        }
        history.epochs.push(log);
        Ok(stop)
    }

    /// `fit` on the general path (`general.rs`): the same batches, shuffles, logs and
    /// callbacks as the fused path's.
    fn fit_general(
        &mut self,
        train: &TrainingData<T>,
        val: Option<&TrainingData<T>>,
        o: &FitOptions<T>,
    ) -> Result<History> {
        let g = self
            .general
            .as_ref()
            .ok_or_else(|| Error::Config("fit needs a compiled model: call compile first".into()))?;
        let scored = g.scored();
        let mut callbacks = Callbacks::new(o, val.is_some(), scored)?;
        let train_dev = g.upload("fit", train)?;
        let val_dev = val.map(|v| g.upload("fit", v)).transpose()?;
        let (rows, batch) = (train.rows, o.batch_size.min(train.rows));
        let steps = rows.div_ceil(batch);
        let batches: Vec<(usize, usize)> = (0..steps).map(|s| (s * batch, batch.min(rows - s * batch))).collect();
        let mut progress = Progress::new(o.verbose, o.epochs);
        let mut history = History::default();
        let mut watch = LossWatch::default();
        for epoch in 0..o.epochs {
            let started = Instant::now();
            progress.begin_epoch(epoch, steps);
            let order: Vec<u32> = if o.shuffle { shuffled(rows, self.seed, epoch) } else { (0..rows as u32).collect() };
            let g = self.general.as_mut().expect("compiled above");
            let at = |batch, loss| Error::NonFiniteLoss { epoch, epochs: o.epochs, batch, batches: steps, loss };
            let (loss, accuracy) =
                g.train_epoch(&mut self.slots, &train_dev, &order, &batches, o.terminate_on_nan, &mut progress, at)?;
            watch.initial.get_or_insert(loss);
            watch.check(
                loss,
                Position { epoch, epochs: o.epochs, batch: steps, batches: steps },
                &mut history,
                &progress,
            );
            let (val_loss, val_accuracy) = match &val_dev {
                Some(v) => {
                    let (l, a) = g.evaluate(&mut self.slots, v, batch)?;
                    (Some(l), scored.then_some(a))
                }
                None => (None, None),
            };
            let accuracy = scored.then_some(accuracy);
            let log =
                EpochLog { epoch, loss, accuracy, val_loss, val_accuracy, seconds: started.elapsed().as_secs_f64() };
            if self.end_epoch(log, steps, &mut progress, &mut callbacks, &mut history)? {
                break;
            }
        }
        callbacks.finish(self)?;
        Ok(history)
    }

    /// Keras's `evaluate(x, y, batch_size)`: `[loss, accuracy]` (just `[loss]` if the model was
    /// compiled without the accuracy metric).
    pub fn evaluate<Y: Element>(&mut self, x: &Array<T>, y: &Array<Y>, batch_size: usize) -> Result<Vec<f64>> {
        self.evaluate_data(&TrainingData::from_arrays("evaluate", &self.flat_input("evaluate", x)?, y)?, batch_size)
    }

    pub fn evaluate_data(&mut self, data: &TrainingData<T>, batch_size: usize) -> Result<Vec<f64>> {
        if batch_size == 0 {
            return Err(Error::Config("evaluate: batch_size must be at least 1".into()));
        }
        if self.is_general() {
            let g = self
                .general
                .as_ref()
                .ok_or_else(|| Error::Config("evaluate needs a compiled model: call compile first".into()))?;
            let d = g.upload("evaluate", data)?;
            let (loss, acc) = g.evaluate(&mut self.slots, &d, batch_size)?;
            return Ok(if g.scored() { vec![loss, acc] } else { vec![loss] });
        }
        let c = self.compiled("evaluate")?;
        data.check("evaluate", &c.engine_shapes(), c.loss)?;
        let mut d = c.engine.upload(data)?;
        let (loss, acc) = dispatch!(&mut c.engine, &mut d, |n, d| n.evaluate(d, batch_size))?;
        Ok(if c.metrics.is_empty() { vec![loss] } else { vec![loss, acc] })
    }

    /// Keras's `predict(x, batch_size)`: the output layer's values, `rows × units`, on the CPU.
    pub fn predict(&mut self, x: &Array<T>, batch_size: usize) -> Result<Array<T>> {
        if batch_size == 0 {
            return Err(Error::Config("predict: batch_size must be at least 1".into()));
        }
        if self.is_general() {
            let g = self
                .general
                .as_ref()
                .ok_or_else(|| Error::Config("predict needs a compiled model: call compile first".into()))?;
            return g.predict(&mut self.slots, x, batch_size);
        }
        let xs = x.shape().to_vec();
        let c = self.compiled("predict")?;
        let shapes = c.engine_shapes();
        let (inputs, units) = (shapes[0].inputs, shapes[shapes.len() - 1].units);
        if xs.len() != 2 || xs[1] != inputs {
            return Err(Error::shape_mismatch(
                "predict",
                &xs,
                &[xs.first().copied().unwrap_or(0), inputs],
                format!("the model takes {inputs} features per row"),
            ));
        }
        let rows = xs[0];
        if rows > u32::MAX as usize {
            return Err(Error::bad_shape("predict", &xs, "more rows than 2^32 - 1"));
        }
        if rows == 0 {
            return Array::from_vec_on(Vec::new(), &[0, units], &crate::Device::Cpu);
        }
        let out = dispatch!(&mut c.engine, |n| n.predict(&x.to_vec()?, rows, batch_size))?;
        Array::from_vec_on(out, &[rows, units], &crate::Device::Cpu)
    }
}
