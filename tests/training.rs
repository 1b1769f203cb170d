//! Training on every device (the CPU, the emulated CUDA device at each PTX generation, a real
//! GPU when present): gradients against central finite differences in f64, one step against
//! the CPU, convergence on the digits, determinism, prediction and saved weights; Keras's
//! model over every layer (`training/keras_layers.rs`).

mod common;
#[path = "training/guards.rs"]
mod guards;
#[path = "training/keras_layers.rs"]
mod keras_layers;

use common::devices::{Case, CaseResult, run_with_cuda_only};
use common::rng;
use ferrite::nn::{Activation, Dense, FitOptions, Loss, Metric, Optimizer, Sequential, TrainingData};
use ferrite::{Array, Dataset, Device};
use rand::RngExt;

fn main() {
    let cases: &[(&'static str, Case)] = &[
        ("gradients_match_finite_differences", gradients_match_finite_differences),
        ("one_step_matches_the_cpu", one_step_matches_the_cpu),
        ("training_converges_on_digits", training_converges_on_digits),
        ("same_seed_same_history", same_seed_same_history),
        ("predict_agrees_with_evaluate", predict_agrees_with_evaluate),
        ("saved_weights_load_back", saved_weights_load_back),
        ("validation_split_holds_out_the_last_rows", validation_split_holds_out_the_last_rows),
        (
            "a_nan_loss_stops_fit_keeping_the_weights_before_its_batch",
            guards::a_nan_loss_stops_fit_keeping_the_weights_before_its_batch,
        ),
        ("terminate_on_nan_can_be_turned_off", guards::terminate_on_nan_can_be_turned_off),
        ("a_loss_that_grows_a_hundredfold_warns", guards::a_loss_that_grows_a_hundredfold_warns),
        ("a_model_without_metrics_records_no_accuracy", guards::a_model_without_metrics_records_no_accuracy),
        ("fit_uploads_data_from_another_device", guards::fit_uploads_data_from_another_device),
        ("the_general_path_matches_the_fused_path", keras_layers::the_general_path_matches_the_fused_path),
        (
            "a_softmax_layer_is_an_output_as_a_softmax_dense",
            keras_layers::a_softmax_layer_is_an_output_as_a_softmax_dense,
        ),
        ("a_keras_cnn_learns_the_digits", keras_layers::a_keras_cnn_learns_the_digits),
        (
            "early_stopping_stops_and_restores_the_best_weights",
            keras_layers::early_stopping_stops_and_restores_the_best_weights,
        ),
        ("model_checkpoint_keeps_the_best_epoch", keras_layers::model_checkpoint_keeps_the_best_epoch),
        (
            "terminate_on_nan_names_the_batch_on_the_general_path",
            keras_layers::terminate_on_nan_names_the_batch_on_the_general_path,
        ),
        (
            "weights_with_running_statistics_save_and_load",
            keras_layers::weights_with_running_statistics_save_and_load,
        ),
        ("summary_names_layers_and_shapes", keras_layers::summary_names_layers_and_shapes),
        ("general_model_errors_name_the_problem", keras_layers::general_model_errors_name_the_problem),
        (
            "a_layer_added_after_compile_joins_at_the_next",
            keras_layers::a_layer_added_after_compile_joins_at_the_next,
        ),
    ];
    run_with_cuda_only(
        cases,
        &[
            ("cuda_training_replays_captured_graphs", cuda_training_replays_captured_graphs),
            ("the_ptx_interpreter_trains_bit_for_bit", the_ptx_interpreter_trains_bit_for_bit),
        ],
    )
}

/// Two epochs on this device and on the PTX interpreter from the same seed end with the same
/// weights, bit for bit: the dense, loss-head and optimizer kernels' PTX, run by the
/// interpreter, does what this device does with it (a GPU), or what their Rust source does
/// (the emulator).
fn the_ptx_interpreter_trains_bit_for_bit(d: &Device) -> CaseResult {
    let interp = Device::emulated_cuda_with_launcher(9, 0, std::sync::Arc::new(common::interp::Interp))?;
    let mut r = rng("interpreter bits");
    let x: Vec<f32> = (0..96 * 20).map(|_| r.random_range(-1.0..1.0)).collect();
    let y: Vec<u32> = (0..96).map(|_| r.random_range(0..4)).collect();
    let data = TrainingData::new(&Array::from_vec(x, &[96, 20])?, &Array::from_vec(y, &[96])?)?.one_hot(4)?;
    let layers = [Dense::new(16, Activation::Tanh).input_dim(20), Dense::new(4, Activation::Softmax)];
    let opts = FitOptions { epochs: 2, batch_size: 32, verbose: 0, ..Default::default() };
    for (name, opt) in [("nesterov", "nesterov".parse::<Optimizer>()?), ("adam", Optimizer::adam())] {
        let mut weights = Vec::new();
        for device in [d, &interp] {
            let mut m: Sequential<f32> = model(device, &layers, 5);
            m.compile(Loss::CategoricalCrossentropy, opt, &[Metric::Accuracy])?;
            m.fit_data(&data, &opts)?;
            weights.push(m.get_weights()?);
        }
        for (l, (a, b)) in weights[0].iter().zip(&weights[1]).enumerate() {
            let bad = a.iter().zip(b).position(|(p, q)| p.to_bits() != q.to_bits());
            ensure!(
                bad.is_none(),
                "{name}: array {l}[{}] is {} on {d}, {} on the interpreter",
                bad.unwrap(),
                a[bad.unwrap()],
                b[bad.unwrap()]
            );
        }
    }
    let f64_data = random_data("interpreter bits f64", 64, 12, 3, Loss::MeanSquaredError);
    let layers = [Dense::new(8, Activation::Sigmoid).input_dim(12), Dense::new(3, Activation::Linear)];
    let opts = FitOptions::<f64> { epochs: 2, batch_size: 32, verbose: 0, ..Default::default() };
    let mut weights = Vec::new();
    for device in [d, &interp] {
        let mut m: Sequential<f64> = model(device, &layers, 6);
        m.compile(Loss::MeanSquaredError, Optimizer::sgd(), &[Metric::Accuracy])?;
        m.fit_data(&f64_data, &opts)?;
        weights.push(m.get_weights()?);
    }
    ensure!(weights[0] == weights[1], "f64 MSE: the weights differ between {d} and the interpreter");
    Ok(())
}

fn digits() -> (TrainingData<f32>, TrainingData<f32>) {
    let (mut train, mut test) = Dataset::digits();
    train.scale(1.0 / 16.0).unwrap();
    test.scale(1.0 / 16.0).unwrap();
    let one_hot = |d: &Dataset| TrainingData::from_dataset(d).unwrap().one_hot(10).unwrap();
    (one_hot(&train), one_hot(&test))
}

fn model<T: FloatModel>(d: &Device, layers: &[Dense], seed: u64) -> Sequential<T> {
    let mut m = T::sequential().seed(seed).on(d);
    for l in layers {
        m.add(*l);
    }
    m
}

/// `Sequential::new()` is f32; f64 models come from `typed()`.
trait FloatModel: ferrite::nn::NnFloat {
    fn sequential() -> Sequential<Self>;
}
impl FloatModel for f32 {
    fn sequential() -> Sequential<f32> {
        Sequential::new()
    }
}
impl FloatModel for f64 {
    fn sequential() -> Sequential<f64> {
        Sequential::<f64>::typed()
    }
}

/// Random f64 data for a `features → ... → outputs` model: class labels or target rows.
fn random_data(case: &str, rows: usize, features: usize, outputs: usize, loss: Loss) -> TrainingData<f64> {
    let mut r = rng(case);
    let x: Vec<f64> = (0..rows * features).map(|_| r.random_range(-1.5..1.5)).collect();
    let x = Array::from_vec(x, &[rows, features]).unwrap();
    match loss {
        Loss::SparseCategoricalCrossentropy => {
            let y: Vec<u32> = (0..rows).map(|_| r.random_range(0..outputs as u32)).collect();
            TrainingData::new(&x, &Array::from_vec(y, &[rows]).unwrap()).unwrap()
        }
        Loss::CategoricalCrossentropy => {
            // Soft labels: the general formula, not only one-hot rows.
            let mut y = vec![0.0f64; rows * outputs];
            for row in y.chunks_mut(outputs) {
                let w: Vec<f64> = (0..outputs).map(|_| r.random_range(0.0..1.0)).collect();
                let s: f64 = w.iter().sum();
                row.iter_mut().zip(&w).for_each(|(t, v)| *t = v / s);
            }
            TrainingData::new(&x, &Array::from_vec(y, &[rows, outputs]).unwrap()).unwrap()
        }
        Loss::MeanSquaredError => {
            let y: Vec<f64> = (0..rows * outputs).map(|_| r.random_range(0.0..1.0)).collect();
            TrainingData::new(&x, &Array::from_vec(y, &[rows, outputs]).unwrap()).unwrap()
        }
    }
}

/// Central differences of the f64 loss for every parameter, against `loss_and_gradients`:
/// each hidden activation, and each loss with each output activation it allows.
fn gradients_match_finite_differences(d: &Device) -> CaseResult {
    use Activation::*;
    let configs = [
        (Relu, Softmax, Loss::CategoricalCrossentropy),
        (Sigmoid, Softmax, Loss::SparseCategoricalCrossentropy),
        (Tanh, Softmax, Loss::CategoricalCrossentropy),
        (Linear, Linear, Loss::MeanSquaredError),
        (Relu, Sigmoid, Loss::MeanSquaredError),
        (Tanh, Tanh, Loss::MeanSquaredError),
        (Sigmoid, Softmax, Loss::MeanSquaredError),
        (Linear, Relu, Loss::MeanSquaredError),
    ];
    for (hidden, out, loss) in configs {
        let case = format!("gradcheck {hidden} {out} {loss:?}");
        let layers = [Dense::new(4, hidden).input_dim(5), Dense::new(3, out)];
        let mut m: Sequential<f64> = model(d, &layers, 3);
        m.compile(loss, Optimizer::sgd(), &[Metric::Accuracy])?;
        let data = random_data(&case, 6, 5, 3, loss);
        let (l0, grads) = m.loss_and_gradients(&data)?;
        let base = m.get_weights()?;
        let flat: Vec<f64> = base.iter().flatten().copied().collect();
        let unflatten = |v: &[f64]| -> Vec<Vec<f64>> {
            let mut at = 0;
            base.iter()
                .map(|w| {
                    at += w.len();
                    v[at - w.len()..at].to_vec()
                })
                .collect()
        };
        let h = 1e-5;
        for i in 0..flat.len() {
            let mut p = flat.clone();
            p[i] += h;
            m.set_weights(&unflatten(&p))?;
            let up = m.evaluate_data(&data, 6)?[0];
            p[i] -= 2.0 * h;
            m.set_weights(&unflatten(&p))?;
            let down = m.evaluate_data(&data, 6)?[0];
            let fd = (up - down) / (2.0 * h);
            // O(h²) truncation plus rounding of the loss (~1e-16 · l / h).
            let tol = 1e-7 + 1e-6 * fd.abs() + 1e-10 * l0.abs() / h;
            ensure!(
                (fd - grads[i]).abs() <= tol,
                "{case}: parameter {i}: backprop {} vs finite differences {fd}",
                grads[i]
            );
        }
        m.set_weights(&base)?;
    }
    Ok(())
}

/// The seed's shape (100 → 64 relu → 10 softmax, batch 32), one SGD step here and on the CPU.
fn one_step_matches_the_cpu(d: &Device) -> CaseResult {
    let layers = [Dense::new(64, Activation::Relu).input_dim(100), Dense::new(10, Activation::Softmax)];
    let mut r = rng("one step");
    let x: Vec<f32> = (0..32 * 100).map(|_| r.random_range(0.0..1.0)).collect();
    let y: Vec<u32> = (0..32).map(|_| r.random_range(0..10)).collect();
    let data = TrainingData::new(&Array::from_vec(x, &[32, 100])?, &Array::from_vec(y, &[32])?)?.one_hot(10)?;
    let opts = FitOptions { epochs: 1, verbose: 0, ..Default::default() };
    let mut weights = Vec::new();
    for device in [d, &Device::Cpu] {
        let mut m: Sequential<f32> = model(device, &layers, 11);
        m.compile(
            Loss::CategoricalCrossentropy,
            Optimizer::Sgd { learning_rate: 0.5, momentum: 0.0, nesterov: false },
            &[Metric::Accuracy],
        )?;
        let before = m.get_weights()?;
        m.fit_data(&data, &opts)?;
        let after = m.get_weights()?;
        ensure!(after != before, "the step changed nothing");
        weights.push(after);
    }
    // Products differ in summation order only: |Δ| ≲ K·u·Σ|terms| ≈ 100·6e-8, times lr.
    for (layer, (a, b)) in weights[0].iter().zip(&weights[1]).enumerate() {
        for (i, (p, q)) in a.iter().zip(b).enumerate() {
            ensure!((p - q).abs() <= 2e-5 * (1.0 + q.abs()), "array {layer}[{i}]: {p} here vs {q} on the CPU");
        }
    }
    Ok(())
}

/// A short run per optimizer (the full 50-epoch figures are in tests/model.rs, on the CPU, and
/// in the README): each must pass a bar set well below what it reaches.
fn training_converges_on_digits(d: &Device) -> CaseResult {
    let (train, test) = digits();
    let layers = [Dense::new(64, Activation::Relu).input_dim(64), Dense::new(10, Activation::Softmax)];
    let epochs = if d.is_cuda() { 3 } else { 10 };
    for (name, opt, bar) in [
        ("nesterov", "nesterov".parse::<Optimizer>()?, 0.85),
        ("adam", Optimizer::adam().with_learning_rate(0.01), 0.85),
        ("sgd", Optimizer::sgd().with_learning_rate(0.1), 0.80),
    ] {
        let mut m: Sequential<f32> = model(d, &layers, 0);
        m.compile(Loss::CategoricalCrossentropy, opt, &[Metric::Accuracy])?;
        let h = m.fit_data(&train, &FitOptions { epochs, verbose: 0, ..Default::default() })?;
        let loss = h.loss();
        ensure!(loss.last() < loss.first(), "{name}: loss did not fall: {loss:?}");
        let acc = m.evaluate_data(&test, 32)?[1];
        ensure!(acc >= bar, "{name}: test accuracy {acc} after {epochs} epochs (bar {bar})");
    }
    Ok(())
}

fn same_seed_same_history(d: &Device) -> CaseResult {
    let (train, _) = digits();
    let layers = [Dense::new(16, Activation::Tanh).input_dim(64), Dense::new(10, Activation::Softmax)];
    let run = |seed: u64| -> ferrite::Result<_> {
        let mut m: Sequential<f32> = model(d, &layers, seed);
        m.compile(Loss::CategoricalCrossentropy, Optimizer::adam(), &[Metric::Accuracy])?;
        let h = m.fit_data(&train, &FitOptions { epochs: 2, verbose: 0, ..Default::default() })?;
        Ok((h.loss(), h.accuracy(), m.get_weights()?))
    };
    let (a, b, c) = (run(5)?, run(5)?, run(6)?);
    ensure!(a == b, "the same seed gave different histories or weights");
    ensure!(a.2 != c.2 && a.0 != c.0, "another seed gave the same run");
    Ok(())
}

fn predict_agrees_with_evaluate(d: &Device) -> CaseResult {
    let (train, test) = digits();
    let layers = [Dense::new(32, Activation::Sigmoid).input_dim(64), Dense::new(10, Activation::Softmax)];
    let mut m: Sequential<f32> = model(d, &layers, 2);
    m.compile(Loss::CategoricalCrossentropy, "nesterov".parse()?, &[Metric::Accuracy])?;
    m.fit_data(&train, &FitOptions { epochs: 2, verbose: 0, ..Default::default() })?;
    let (_, test_ds) = Dataset::digits();
    let x: Vec<f32> = test_ds.x.iter().map(|v| v / 16.0).collect();
    let p = m.predict(&Array::from_vec(x, &[450, 64])?, 37)?.to_vec()?;
    let truth = test_ds.labels.to_classes();
    let mut right = 0;
    for (row, &t) in p.chunks(10).zip(&truth) {
        let s: f32 = row.iter().sum();
        ensure!((s - 1.0).abs() < 1e-5, "softmax rows sum to 1, got {s}");
        let argmax = (0..10).fold(0, |b, i| if row[i] > row[b] { i } else { b });
        right += (argmax == t as usize) as usize;
    }
    let acc = m.evaluate_data(&test, 50)?[1];
    ensure!((right as f64 / 450.0 - acc).abs() < 1e-9, "predict gives {right}/450 right, evaluate {acc}");
    Ok(())
}

fn saved_weights_load_back(d: &Device) -> CaseResult {
    let layers = [Dense::new(8, Activation::Relu).input_dim(64), Dense::new(10, Activation::Softmax)];
    let mut a: Sequential<f32> = model(d, &layers, 4);
    a.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[Metric::Accuracy])?;
    a.fit_data(&digits().0, &FitOptions { epochs: 1, verbose: 0, ..Default::default() })?;
    let path = std::env::temp_dir().join(format!("ferrite-weights-{}-{d}.safetensors", std::process::id()));
    a.save_weights(&path)?;
    let mut b: Sequential<f32> = model(d, &layers, 99);
    b.load_weights(&path)?; // before compile: kept until compile
    b.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[Metric::Accuracy])?;
    ensure!(a.get_weights()? == b.get_weights()?, "weights differ after a save and load");
    let mut wrong: Sequential<f32> =
        model(d, &[Dense::new(9, Activation::Relu).input_dim(64), Dense::new(10, Activation::Softmax)], 0);
    let err = wrong.load_weights(&path).unwrap_err();
    let _ = std::fs::remove_file(&path);
    ensure!(
        matches!(err, ferrite::Error::Data { .. }) && err.to_string().contains("dense.weight"),
        "wrong architecture: {err}"
    );
    Ok(())
}

fn validation_split_holds_out_the_last_rows(d: &Device) -> CaseResult {
    let (train, _) = digits();
    let layers = [Dense::new(16, Activation::Relu).input_dim(64), Dense::new(10, Activation::Softmax)];
    let mut m: Sequential<f32> = model(d, &layers, 1);
    m.compile(Loss::CategoricalCrossentropy, "nesterov".parse()?, &[Metric::Accuracy])?;
    let h = m.fit_data(&train, &FitOptions { epochs: 2, validation_split: 0.2, verbose: 0, ..Default::default() })?;
    ensure!(h.val_loss().len() == 2 && h.val_accuracy().len() == 2, "validation metrics per epoch: {h:?}");
    // Keras: the last 20% of the rows, unshuffled, are the validation set.
    let (full, _) = Dataset::digits();
    let keep = (full.rows() as f64 * 0.8).floor() as usize;
    let mut held = full.select(&(keep..full.rows()).collect::<Vec<_>>())?;
    held.scale(1.0 / 16.0)?;
    let holdout = TrainingData::from_dataset(&held)?.one_hot(10)?;
    let v = m.evaluate_data(&holdout, 32)?;
    ensure!(
        (v[0] - h.val_loss()[1]).abs() < 1e-5 && (v[1] - h.val_accuracy()[1]).abs() < 1e-9,
        "val metrics {v:?} vs {h:?}"
    );
    Ok(())
}

/// On CUDA, each chunk of 16 steps is captured once and replayed as one graph launch per
/// epoch (SGD); Adam's per-step scalars rule graphs out.
fn cuda_training_replays_captured_graphs(d: &Device) -> CaseResult {
    let Device::Cuda(cuda) = d else { return Err(format!("a CUDA-only case ran on {d}").into()) };
    // A device of its own where possible, so other cases running at the same time do not
    // add to the counters.
    let device = if cuda.is_emulated() {
        let (major, minor) = cuda.compute_capability();
        Device::emulated_cuda(major, minor)?
    } else {
        d.clone()
    };
    let Device::Cuda(c) = &device else { unreachable!() };
    let (train, _) = digits(); // 1347 rows: 43 steps of 32, so 3 chunks per epoch
    let layers = [Dense::new(16, Activation::Relu).input_dim(64), Dense::new(10, Activation::Softmax)];
    let mut m: Sequential<f32> = model(&device, &layers, 0);
    m.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[Metric::Accuracy])?;
    let (graphs, launches) = (c.graph_launches(), c.launches());
    m.fit_data(&train, &FitOptions { epochs: 2, verbose: 0, ..Default::default() })?;
    let replays = c.graph_launches() - graphs;
    ensure!(
        if cuda.is_emulated() { replays == 6 } else { replays >= 6 },
        "{replays} graph launches for 2 epochs of 3 chunks"
    );
    // Captured launches are counted once, when captured: 43 steps × 7 kernels, plus metrics.
    let direct = c.launches() - launches;
    ensure!(
        !cuda.is_emulated() || direct < 43 * 7 + 10,
        "{direct} launches: the second epoch should replay, not relaunch"
    );
    m.compile(Loss::CategoricalCrossentropy, Optimizer::adam(), &[Metric::Accuracy])?;
    let graphs = c.graph_launches();
    m.fit_data(&train, &FitOptions { epochs: 1, verbose: 0, ..Default::default() })?;
    ensure!(!cuda.is_emulated() || c.graph_launches() == graphs, "Adam must not use graphs");
    Ok(())
}
