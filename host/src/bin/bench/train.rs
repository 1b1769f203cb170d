//! The seed's training step (100 → 64 relu → 10 softmax, batch 32, categorical
//! cross-entropy, plain SGD) on synthetic data, per device.

use super::measure::median;
use super::table::{Row, Table};
use ferrite::nn::{Activation, Dense, FitOptions, Loss, Metric, Optimizer, Sequential, TrainingData};
use ferrite::{Array, Device};

const BATCH: usize = 32;
/// The row's shape, as `bench_baselines.py` names it.
pub const SHAPE: &str = "100-64-10, batch 32";

/// `numpy`, when given, is asked for one epoch of its hand-written step after each of
/// ferrite's epochs (which then run as separate `fit` calls, on the CPU only: a GPU would
/// capture its graphs again in every call).
pub fn run(
    device: &Device,
    steps: usize,
    mut numpy: Option<impl FnMut(usize) -> Option<Vec<f64>>>,
    table: &mut Table,
) -> ferrite::Result<()> {
    let rows = BATCH * steps;
    let x = Array::<f32>::rand_uniform(&[rows, 100], 0.0, 1.0, 1)?;
    let labels: Vec<u32> = (0..rows as u32).map(|i| i.wrapping_mul(2_654_435_761) % 10).collect();
    let data = TrainingData::new(&x, &Array::from_vec(labels, &[rows])?)?.one_hot(10)?;
    let mut model = Sequential::new().seed(0).on(device);
    model.add(Dense::new(64, Activation::Relu).input_dim(100));
    model.add(Dense::new(10, Activation::Softmax));
    model.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[Metric::Accuracy])?;
    let launches_before = device_launches(device);
    let mut fit = |epochs| -> ferrite::Result<Vec<f64>> {
        let o = FitOptions { epochs, batch_size: BATCH, verbose: 0, ..Default::default() };
        Ok(model.fit_data(&data, &o)?.epochs.iter().map(|e| e.seconds / steps as f64).collect())
    };
    // Epoch 1 warms up (allocations, module load); the median of the others is reported.
    let (mut times, mut numpy_times) = (Vec::new(), Vec::new());
    match numpy.as_mut() {
        Some(turn) => {
            for epoch in 0..5 {
                let t = fit(1)?;
                let n = turn(1).unwrap_or_default(); // one call: one epoch of 500 steps
                if epoch > 0 {
                    times.extend(t);
                    numpy_times.extend(n);
                }
            }
        }
        None => times = fit(5)?.split_off(1),
    }
    let step = median(times);
    let launches =
        device_launches(device).map(|after| (after - launches_before.unwrap_or(0)) as f64 / (5 * steps) as f64);
    let mut row = Row::new("train step", SHAPE, "f32", device, step);
    row.numpy = (!numpy_times.is_empty()).then(|| median(numpy_times));
    row.note = format!(
        "{:.0} samples/s{}",
        BATCH as f64 / step,
        launches.map(|l| format!(", {l:.1} launches/step")).unwrap_or_default()
    );
    table.push(row);
    Ok(())
}

fn device_launches(d: &Device) -> Option<u64> {
    match d {
        Device::Cuda(c) => Some(c.launches()),
        Device::Cpu => None,
    }
}
