//! Training guards on every device: a NaN loss stops `fit` at its batch with the weights from
//! before it (Keras's `TerminateOnNaN`, on by default), turning it off trains on, a loss that
//! grows a hundredfold warns, a model without metrics records no accuracy, and data on
//! another device is uploaded.

use super::model;
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::nn::{Activation, Dense, FitOptions, Loss, Metric, Optimizer, Sequential, TrainingData};
use ferrite::{Array, Device, Error};

/// `rows` rows whose features (up to 1.5e19) overflow f32 logits after one step at lr 1e6;
/// the first rows are the same for every `rows`.
fn overflowing(d: &Device, rows: usize) -> ferrite::Result<TrainingData<f32>> {
    let x = Array::from_vec_on((0..2 * rows).map(|i| 1e18 * (i % 16) as f32).collect(), &[rows, 2], d)?;
    TrainingData::new(&x, &Array::from_vec((0..rows as u32).map(|i| i % 2).collect(), &[rows])?)
}

fn diverging(d: &Device) -> ferrite::Result<Sequential> {
    let mut m = model(d, &[Dense::new(2, Activation::Softmax).input_dim(2)], 3);
    m.compile(Loss::SparseCategoricalCrossentropy, Optimizer::sgd().with_learning_rate(1e6), &[Metric::Accuracy])?;
    Ok(m)
}

pub fn a_nan_loss_stops_fit_keeping_the_weights_before_its_batch(d: &Device) -> CaseResult {
    let data = overflowing(d, 16)?;
    let options = FitOptions { epochs: 5, batch_size: 2, shuffle: false, verbose: 0, ..Default::default() };
    let mut m = diverging(d)?;
    let batch = match m.fit_data(&data, &options) {
        Err(e @ Error::NonFiniteLoss { epoch: 0, epochs: 5, batch, batches: 8, loss }) => {
            ensure!(batch > 0 && !loss.is_finite(), "{e}");
            ensure!(e.to_string().contains(&format!("epoch 1/5, batch {}/8", batch + 1)), "{e}");
            batch
        }
        other => return Err(format!("expected Error::NonFiniteLoss in epoch 0, got {other:?}").into()),
    };
    let kept = m.get_weights()?;
    ensure!(kept.iter().flatten().all(|w| w.is_finite()), "kept weights {kept:?}");
    // The same model trained on exactly the batches before the bad one.
    let mut reference = diverging(d)?;
    reference.fit_data(&overflowing(d, 2 * batch)?, &FitOptions { epochs: 1, terminate_on_nan: false, ..options })?;
    ensure!(reference.get_weights()? == kept, "kept {kept:?}, but {batch} batches give {:?}", reference.get_weights()?);
    Ok(())
}

pub fn terminate_on_nan_can_be_turned_off(d: &Device) -> CaseResult {
    let options = FitOptions { epochs: 2, batch_size: 2, verbose: 0, terminate_on_nan: false, ..Default::default() };
    let h = diverging(d)?.fit_data(&overflowing(d, 16)?, &options)?;
    ensure!(h.loss().iter().any(|l| !l.is_finite()), "the loss stayed finite: {:?}", h.loss());
    Ok(())
}

/// A linear model on x = 1, y = 0 at lr 0.6: each step multiplies the error by -1.4, so the
/// loss grows about 2x a step and stays finite for hundreds of steps.
pub fn a_loss_that_grows_a_hundredfold_warns(d: &Device) -> CaseResult {
    let x = Array::from_vec(vec![1.0f32; 8], &[8, 1])?;
    let y = Array::from_vec(vec![0.0f32; 8], &[8, 1])?;
    let mut m = model(d, &[Dense::new(1, Activation::Linear).input_dim(1)], 1);
    m.set_weights(&[vec![0.5], vec![0.0]])?;
    m.compile(Loss::MeanSquaredError, Optimizer::sgd().with_learning_rate(0.6), &[])?;
    let h = m.fit(&x, &y, &FitOptions { epochs: 3, batch_size: 1, verbose: 0, ..Default::default() })?;
    ensure!(h.loss().iter().all(|l| l.is_finite()), "{:?}", h.loss());
    ensure!(h.warnings.len() == 1 && h.warnings[0].contains("the loss grew from"), "{:?}", h.warnings);
    // A loss that falls does not warn.
    m.set_weights(&[vec![0.5], vec![0.0]])?;
    m.compile(Loss::MeanSquaredError, Optimizer::sgd().with_learning_rate(0.1), &[])?;
    let h = m.fit(&x, &y, &FitOptions { epochs: 3, batch_size: 1, verbose: 0, ..Default::default() })?;
    ensure!(h.warnings.is_empty(), "{:?}", h.warnings);
    Ok(())
}

/// Keras records only the compiled metrics: MSE without `accuracy` has none.
pub fn a_model_without_metrics_records_no_accuracy(d: &Device) -> CaseResult {
    let x = Array::from_vec((0..16).map(|i| i as f32 / 16.0).collect(), &[8, 2])?;
    let y = Array::from_vec(vec![0.5f32; 8], &[8, 1])?;
    let mut m = model(d, &[Dense::new(1, Activation::Linear).input_dim(2)], 0);
    m.compile(Loss::MeanSquaredError, Optimizer::sgd(), &[])?;
    let options = FitOptions { epochs: 2, validation_split: 0.25, verbose: 0, ..Default::default() };
    let h = m.fit(&x, &y, &options)?;
    ensure!(h.accuracy().is_empty() && h.val_accuracy().is_empty(), "{h:?}");
    ensure!(h.epochs.iter().all(|e| e.accuracy.is_none() && e.val_loss.is_some()), "{h:?}");
    ensure!(m.evaluate(&x, &y, 4)?.len() == 1, "evaluate gives [loss] only");
    Ok(())
}

/// `fit` takes data on any device and uploads it to the model's (documented, as Keras).
pub fn fit_uploads_data_from_another_device(d: &Device) -> CaseResult {
    let other = if d.is_cuda() { Device::Cpu } else { Device::emulated_cuda(8, 0)? };
    let x = Array::from_vec_on((0..16).map(|i| i as f32 / 16.0).collect(), &[8, 2], &other)?;
    let y = Array::from_vec_on(vec![0.5f32; 8], &[8, 1], &other)?;
    let mut m = model(d, &[Dense::new(1, Activation::Linear).input_dim(2)], 0);
    m.compile(Loss::MeanSquaredError, Optimizer::sgd(), &[])?;
    m.fit(&x, &y, &FitOptions { epochs: 1, verbose: 0, ..Default::default() })?;
    Ok(())
}
