//! The seed's training step (100 → 64 relu → 10 softmax, batch 32, categorical
//! cross-entropy, plain SGD) on synthetic data, per device: the Keras model's fused step,
//! then the same step through `ferrite::layers` and autograd, with the fused one as its
//! baseline.

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
    let data = TrainingData::new(&x, &Array::from_vec(labels.clone(), &[rows])?)?.one_hot(10)?;
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
    let labels = Array::from_vec(labels.iter().map(|&l| i64::from(l)).collect(), &[rows])?;
    let mut row = Row::new("autograd train step", SHAPE, "f32", device, autograd_step(device, &x, &labels, steps)?);
    row.baseline = Some(("fused step".into(), step));
    row.note = "layers + autograd + SGD, vs the fused step above".into();
    table.push(row);
    Ok(())
}

fn device_launches(d: &Device) -> Option<u64> {
    match d {
        Device::Cuda(c) => Some(c.launches()),
        Device::Cpu => None,
    }
}

/// The same step written as a user's own PyTorch-style loop: `ferrite::layers` (Linear, relu,
/// Linear), cross-entropy on the logits through autograd, plain SGD at Keras's 0.01. Its
/// ratio to the fused step (`baseline`, measured just before in this run) is the price of
/// the general path: a graph per step, a kernel or CPU pass per op, no fused update.
fn autograd_step(device: &Device, x: &Array<f32>, labels: &Array<i64>, steps: usize) -> ferrite::Result<f64> {
    use ferrite::autograd::optim::{Optimizer, Sgd};
    use ferrite::autograd::{Var, loss};
    use ferrite::layers::{self, Linear, Module};
    let mut model = layers::Sequential::<f32>::new()
        .add(Linear::new(100, 64, 0)?)
        .add(layers::Activation::Relu)
        .add(Linear::new(64, 10, 1)?);
    model.to_device(device)?;
    let (x, labels) = (x.to_device(device)?, labels.to_device(device)?);
    let mut opt = Sgd::new(0.01)?;
    let mut times = Vec::new();
    // Epoch 1 warms up, as the fused row's; the median of the others is reported.
    for epoch in 0..5 {
        let started = std::time::Instant::now();
        let mut last = None;
        for s in 0..steps {
            let at = (s * BATCH) as isize;
            let logits = model.forward(&Var::constant(x.narrow(0, at, BATCH)?))?;
            let loss = loss::sparse_cross_entropy(&logits, &labels.narrow(0, at, BATCH)?, 0.0)?;
            model.zero_grad();
            loss.backward()?;
            opt.update(&mut model.parameters())?;
            last = Some(loss);
        }
        // Reading the last loss waits for the device's queue.
        if let Some(l) = last {
            l.to_vec()?;
        }
        if epoch > 0 {
            times.push(started.elapsed().as_secs_f64() / steps as f64);
        }
    }
    Ok(median(times))
}
