//! The seed's training step (100 → 64 relu → 10 softmax, batch 32, categorical
//! cross-entropy, plain SGD) on synthetic data, per device.

use super::table::{Row, Table};
use ferrite::nn::{Activation, Dense, FitOptions, Loss, Metric, Optimizer, Sequential, TrainingData};
use ferrite::{Array, Device};

const BATCH: usize = 32;

pub fn run(device: &Device, steps: usize, table: &mut Table) -> ferrite::Result<()> {
    let rows = BATCH * steps;
    let x = Array::<f32>::rand_uniform(&[rows, 100], 0.0, 1.0, 1)?;
    let labels: Vec<u32> = (0..rows as u32).map(|i| i.wrapping_mul(2_654_435_761) % 10).collect();
    let data = TrainingData::new(&x, &Array::from_vec(labels, &[rows])?)?.one_hot(10)?;
    let mut model = Sequential::new().seed(0).on(device);
    model.add(Dense::new(64, Activation::Relu).input_dim(100));
    model.add(Dense::new(10, Activation::Softmax));
    model.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[Metric::Accuracy])?;
    let launches_before = device_launches(device);
    // Epoch 1 warms up (allocations, module load); the median of the others is reported.
    let h = model.fit_data(&data, &FitOptions { epochs: 5, batch_size: BATCH, verbose: 0, ..Default::default() })?;
    let mut times: Vec<f64> = h.epochs[1..].iter().map(|e| e.seconds / steps as f64).collect();
    times.sort_by(f64::total_cmp);
    let step = times[times.len() / 2];
    let launches =
        device_launches(device).map(|after| (after - launches_before.unwrap_or(0)) as f64 / (5 * steps) as f64);
    let mut row = Row::new("train step", "100-64-10, batch 32", "f32", device, step);
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
