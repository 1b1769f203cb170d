//! Keras's `Sequential` over every layer (the general path, trained through autograd) on
//! every device: a Dense stack trained on both paths ends at the same weights; a Keras CNN
//! learns the digits; `EarlyStopping`, `ModelCheckpoint` and `TerminateOnNaN` act as Keras's;
//! weights (BatchNorm's running statistics included) save and load by name; `summary`,
//! `predict` and the errors a user can cause.

use super::{digits, model};
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::layers::{self, BatchNorm, Conv2d, Conv2dSpec, Dropout, Flatten, MaxPool2d, Padding};
use ferrite::nn::{
    Activation, Dense, EarlyStopping, FitOptions, Loss, Metric, ModelCheckpoint, Monitor, Optimizer, Sequential,
    TrainingData,
};
use ferrite::{Array, Dataset, Device, Error};

fn quiet() -> FitOptions<f32> {
    FitOptions { verbose: 0, ..Default::default() }
}

/// The first `rows` training digits, pixels scaled to `[0, 1]`, one-hot labels (fewer rows
/// keep the emulated devices' runs short).
fn first_digits<T: ferrite::nn::NnFloat>(rows: usize) -> ferrite::Result<TrainingData<T>> {
    let (train, _) = Dataset::digits();
    let x: Vec<T> = train.x[..rows * 64].iter().map(|&v| T::from_f64(v as f64 / 16.0)).collect();
    let labels: Vec<u32> = train.labels.to_classes()[..rows].to_vec();
    TrainingData::new(&Array::from_vec(x, &[rows, 64])?, &Array::from_vec(labels, &[rows])?)?.one_hot(10)
}

fn max_diff<T: Copy + Into<f64>>(a: &[Vec<T>], b: &[Vec<T>]) -> f64 {
    a.iter().flatten().zip(b.iter().flatten()).map(|(&x, &y)| (x.into() - y.into()).abs()).fold(0.0, f64::max)
}

/// The same Dense stack, seed, optimizer and batches on the fused path and through autograd:
/// the same initial weights (bit for bit) and, after three shuffled epochs in f64 on 500
/// digits, the same weights, losses and accuracies within 1e-9 (the two paths sum in
/// different orders; nothing else differs). Three recipes: SGD with momentum and categorical
/// cross-entropy, Keras's Adam and sparse labels, Nesterov and mean squared error on a
/// linear output.
pub fn the_general_path_matches_the_fused_path(d: &Device) -> CaseResult {
    let one_hot = first_digits::<f64>(500)?;
    let (train, _) = Dataset::digits();
    let x: Vec<f64> = train.x[..500 * 64].iter().map(|&v| v as f64 / 16.0).collect();
    let classes = TrainingData::new(
        &Array::from_vec(x, &[500, 64])?,
        &Array::from_vec(train.labels.to_classes()[..500].to_vec(), &[500])?,
    )?;
    let momentum = Optimizer::Sgd { learning_rate: 0.05, momentum: 0.9, nesterov: false };
    let nesterov = Optimizer::Sgd { learning_rate: 0.02, momentum: 0.9, nesterov: true };
    let adam = Optimizer::adam().with_learning_rate(0.005);
    let recipes = [
        (Loss::CategoricalCrossentropy, momentum, Activation::Softmax, &one_hot),
        (Loss::SparseCategoricalCrossentropy, adam, Activation::Softmax, &classes),
        (Loss::MeanSquaredError, nesterov, Activation::Linear, &one_hot),
    ];
    for (loss, optimizer, output, data) in recipes {
        let make = |autograd: bool| -> ferrite::Result<Sequential<f64>> {
            let mut m = Sequential::<f64>::typed().seed(5).on(d).use_autograd(autograd);
            m.add(Dense::new(24, Activation::Relu).input_dim(64));
            m.add(Dense::new(16, Activation::Tanh));
            m.add(Dense::new(10, output));
            m.compile(loss, optimizer, &[Metric::Accuracy])?;
            Ok(m)
        };
        let (mut fused, mut general) = (make(false)?, make(true)?);
        ensure!(!fused.is_general() && general.is_general(), "the paths");
        ensure!(fused.get_weights()? == general.get_weights()?, "{loss:?}: the initial weights differ");
        let o = FitOptions { epochs: 3, batch_size: 50, verbose: 0, ..Default::default() };
        let (hf, hg) = (fused.fit_data(data, &o)?, general.fit_data(data, &o)?);
        let diff = max_diff(&fused.get_weights()?, &general.get_weights()?);
        ensure!(diff < 1e-9, "{loss:?}, {optimizer:?}: weights differ by {diff:e} after 3 epochs");
        ensure!(hf.epochs.len() == 3 && hg.epochs.len() == 3, "{hf:?} {hg:?}");
        let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
        ensure!(close(&hf.loss(), &hg.loss()), "{loss:?}: losses {:?} vs {:?}", hf.loss(), hg.loss());
        ensure!(close(&hf.accuracy(), &hg.accuracy()), "accuracies {:?} vs {:?}", hf.accuracy(), hg.accuracy());
        // Either path loads the other's weights file.
        let path = std::env::temp_dir().join(format!("ferrite-paths-{}-{d}.safetensors", std::process::id()));
        for (from, to) in [(&mut fused, make(true)?), (&mut general, make(false)?)] {
            from.save_weights(&path)?;
            let mut to = to;
            to.load_weights(&path)?;
            ensure!(to.get_weights()? == from.get_weights()?, "{loss:?}: a file of one path loaded into the other");
        }
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

/// A linear Dense and a softmax `Activation` layer train and predict as one softmax Dense
/// (the loss takes the logits either way).
pub fn a_softmax_layer_is_an_output_as_a_softmax_dense(d: &Device) -> CaseResult {
    let train = first_digits::<f32>(200)?;
    let make = |split: bool| -> ferrite::Result<Sequential<f32>> {
        let mut m = Sequential::new().seed(3).on(d).input_shape(&[64]).use_autograd(true);
        if split {
            m.add(Dense::new(10, Activation::Linear));
            m.add(layers::Activation::Softmax(-1));
        } else {
            m.add(Dense::new(10, Activation::Softmax));
        }
        m.compile(Loss::CategoricalCrossentropy, Optimizer::adam(), &[Metric::Accuracy])?;
        Ok(m)
    };
    let (mut a, mut b) = (make(true)?, make(false)?);
    let (ha, hb) = (a.fit_data(&train, &quiet())?, b.fit_data(&train, &quiet())?);
    ensure!(ha.loss() == hb.loss(), "{:?} vs {:?}", ha.loss(), hb.loss());
    ensure!(a.get_weights()? == b.get_weights()?, "the weights differ");
    let x = Array::<f32>::rand_uniform(&[7, 64], 0.0, 1.0, 2)?;
    ensure!(a.predict(&x, 4)?.to_vec()? == b.predict(&x, 4)?.to_vec()?, "the predictions differ");
    Ok(())
}

/// The digits as `[rows, 1, 8, 8]` images in `[0, 1]` and `i32` labels.
fn images(d: &Dataset) -> ferrite::Result<(Array<f32>, Array<i32>)> {
    let x = Array::from_vec(d.x.iter().map(|v| v / 16.0).collect(), &[d.rows(), 1, 8, 8])?;
    let y = Array::from_vec(d.labels.to_classes().into_iter().map(|c| c as i32).collect(), &[d.rows()])?;
    Ok((x, y))
}

/// Keras's `Sequential([Input((1, 8, 8)), Conv2D(8, 3, padding="same", activation="relu"),
/// MaxPooling2D(2), Flatten(), Dense(10, activation="softmax")])`.
fn cnn(d: &Device, seed: u64) -> ferrite::Result<Sequential<f32>> {
    let same = Conv2dSpec { padding: Padding::Same, ..Default::default() };
    let mut m = Sequential::new().seed(seed).on(d).input_shape(&[1, 8, 8]);
    m.add(Conv2d::with(1, 8, [3, 3], same, seed)?);
    m.add(layers::Activation::Relu);
    m.add(MaxPool2d::new([2, 2]));
    m.add(Flatten);
    m.add(Dense::new(10, Activation::Softmax));
    Ok(m)
}

/// Two epochs of Adam on 800 training images reach 0.85 test accuracy (a small network, kept
/// short for the emulated devices; the CLI's CNN test holds the 0.98 bar), with validation
/// logged, `predict` giving probability rows, and `evaluate` agreeing with `predict`.
pub fn a_keras_cnn_learns_the_digits(d: &Device) -> CaseResult {
    let (train, test) = Dataset::digits();
    let ((x, y), (tx, ty)) = (images(&train)?, images(&test)?);
    let (x, y) = (x.narrow(0, 0, 800)?, y.narrow(0, 0, 800)?);
    let mut m = cnn(d, 0)?;
    m.compile(Loss::SparseCategoricalCrossentropy, Optimizer::adam().with_learning_rate(0.01), &[Metric::Accuracy])?;
    let h = m.fit(&x, &y, &FitOptions { epochs: 2, batch_size: 16, validation_split: 0.1, ..quiet() })?;
    ensure!(h.val_loss().len() == 2 && h.val_accuracy().len() == 2, "{h:?}");
    let loss = h.loss();
    ensure!(loss[1] < loss[0], "the loss did not fall: {loss:?}");
    let scores = m.evaluate(&tx, &ty, 64)?;
    ensure!(scores[1] >= 0.85, "test accuracy {} after 2 epochs", scores[1]);
    let p = m.predict(&tx, 100)?;
    ensure!(p.shape() == [test.rows(), 10], "predict shape {:?}", p.shape());
    let (p, labels) = (p.to_vec()?, ty.to_vec()?);
    let mut right = 0;
    for (row, &label) in p.chunks(10).zip(&labels) {
        let sum: f32 = row.iter().sum();
        ensure!((sum - 1.0).abs() < 1e-5, "a predicted row sums to {sum}");
        let best = (0..10).fold(0, |b, i| if row[i] > row[b] { i } else { b });
        right += (best as i32 == label) as usize;
    }
    let acc = right as f64 / labels.len() as f64;
    ensure!((acc - scores[1]).abs() < 1e-9, "predict's accuracy {acc} vs evaluate's {}", scores[1]);
    Ok(())
}

/// `EarlyStopping` as Keras 3's: a value that cannot improve by `min_delta` (a loss by 1e9,
/// an accuracy by 2) stops training `patience` epochs after the first, and with
/// `restore_best_weights` the model ends at the first epoch's weights (those of a one-epoch
/// fit from the same seed), also when training runs to its last epoch without stopping.
pub fn early_stopping_stops_and_restores_the_best_weights(d: &Device) -> CaseResult {
    let train = first_digits(400)?;
    let layers = [Dense::new(16, Activation::Relu).input_dim(64), Dense::new(10, Activation::Softmax)];
    for autograd in [false, true] {
        let fresh = || -> ferrite::Result<Sequential<f32>> {
            let mut m = model::<f32>(d, &layers, 2).use_autograd(autograd);
            m.compile(Loss::CategoricalCrossentropy, Optimizer::sgd().with_learning_rate(0.1), &[Metric::Accuracy])?;
            Ok(m)
        };
        let mut one = fresh()?;
        one.fit_data(&train, &FitOptions { epochs: 1, ..quiet() })?;
        let first = one.get_weights()?;
        for (monitor, min_delta, patience, epochs, ran) in
            [(Monitor::Loss, 1e9, 2, 10, 3), (Monitor::Accuracy, 2.0, 0, 10, 2), (Monitor::Loss, 1e9, 5, 3, 3)]
        {
            let stop = EarlyStopping { monitor, patience, min_delta, restore_best_weights: true };
            let mut m = fresh()?;
            let h = m.fit_data(&train, &FitOptions { epochs, early_stopping: Some(stop), ..quiet() })?;
            let stopped = (ran < epochs).then_some(ran - 1);
            ensure!(
                h.epochs.len() == ran && h.stopped_epoch == stopped,
                "autograd {autograd}, {monitor:?}, patience {patience}: {} epochs, stopped {:?}",
                h.epochs.len(),
                h.stopped_epoch
            );
            ensure!(m.get_weights()? == first, "autograd {autograd}, {monitor:?}: not the first epoch's weights");
        }
    }
    Ok(())
}

/// `ModelCheckpoint` on both paths: with `save_best_only` the file holds the weights of the
/// epoch with the lowest `val_loss` (validation on shifted labels, so it rises as the model
/// learns: an epoch after the best is not saved); otherwise a Keras template names one file
/// per epoch (`{epoch:02d}`, `{loss:.2f}`, in a folder it creates), the last equal to the
/// model; a placeholder the logs lack is an error before training.
pub fn model_checkpoint_keeps_the_best_epoch(d: &Device) -> CaseResult {
    let train = first_digits(300)?;
    let (_, test) = Dataset::digits();
    let mut labels = test.labels.to_classes();
    labels.rotate_left(7);
    let x = test.x.iter().map(|v| v / 16.0).collect();
    let val = TrainingData::new(&Array::from_vec(x, &[test.rows(), 64])?, &Array::from_vec(labels, &[test.rows()])?)?
        .one_hot(10)?;
    let dir = std::env::temp_dir().join(format!("ferrite-checkpoints-{}-{d}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let best = dir.join("best.safetensors");
    let layers = [Dense::new(32, Activation::Relu).input_dim(64), Dense::new(10, Activation::Softmax)];
    for autograd in [false, true] {
        let fresh = || -> ferrite::Result<Sequential<f32>> {
            let mut m = model::<f32>(d, &layers, 6).use_autograd(autograd);
            m.compile(Loss::CategoricalCrossentropy, Optimizer::sgd().with_learning_rate(0.5), &[Metric::Accuracy])?;
            Ok(m)
        };
        let epochs = 4;
        let o = FitOptions {
            epochs,
            validation_data: Some(val.clone()),
            checkpoint: Some(ModelCheckpoint::new(&best).best_only(Monitor::ValLoss)),
            ..quiet()
        };
        let h = fresh()?.fit_data(&train, &o)?;
        let vl = h.val_loss();
        let at = (0..vl.len()).fold(0, |b, i| if vl[i] < vl[b] { i } else { b });
        ensure!(at + 1 < epochs, "val_loss fell every epoch ({vl:?}): the test needs an epoch that is not saved");
        let mut replay = fresh()?;
        replay.fit_data(&train, &FitOptions { epochs: at + 1, ..quiet() })?;
        let mut loaded = fresh()?;
        loaded.load_weights(&best)?;
        ensure!(
            loaded.get_weights()? == replay.get_weights()?,
            "autograd {autograd}: not epoch {at}'s weights ({vl:?})"
        );

        let mut m = fresh()?;
        let template = dir.join(format!("per-epoch-{autograd}")).join("w{{{epoch}}}.{epoch:02d}-{loss:.2f}.st");
        // Every epoch needs no monitored value (the default, val_loss, is not logged here).
        let h = m.fit_data(
            &train,
            &FitOptions { epochs: 2, checkpoint: Some(ModelCheckpoint::new(&template)), ..quiet() },
        )?;
        let file = |e: usize| template.with_file_name(format!("w{{{}}}.{:02}-{:.2}.st", e + 1, e + 1, h.loss()[e]));
        ensure!(file(0).exists() && file(1).exists(), "no {:?} or {:?}", file(0), file(1));
        ensure!(file(0).to_string_lossy().contains("w{1}.01-"), "{:?}", file(0));
        let mut last = fresh()?;
        last.load_weights(file(1))?;
        ensure!(last.get_weights()? == m.get_weights()?, "the last file is not the model");
        let best_without_validation = ModelCheckpoint::new(&best).best_only(Monitor::ValLoss);
        let o = FitOptions { epochs: 1, checkpoint: Some(best_without_validation), ..quiet() };
        let e = m.fit_data(&train, &o).unwrap_err();
        ensure!(matches!(&e, Error::Config(s) if s.contains("val_loss")), "best of val_loss without validation: {e}");
        for bad in ["{epoch:x}", "{epoch", "epoch}", "{lr}", "{loss:.999f}", "{epoch:0999d}"] {
            let c = ModelCheckpoint::new(dir.join(bad));
            let e = m.fit_data(&train, &FitOptions { epochs: 1, checkpoint: Some(c), ..quiet() }).unwrap_err();
            ensure!(matches!(&e, Error::Config(s) if s.contains("ModelCheckpoint path")), "{bad}: {e}");
        }
        let lacking = ModelCheckpoint { monitor: Monitor::Loss, ..ModelCheckpoint::new(dir.join("{val_loss}.st")) };
        let e = m.fit_data(&train, &FitOptions { epochs: 1, checkpoint: Some(lacking), ..quiet() }).unwrap_err();
        ensure!(matches!(&e, Error::Config(s) if s.contains("{val_loss}")), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `TerminateOnNaN` on the general path: the first batch whose loss is not finite stops
/// `fit`, named by epoch and batch, before its update (the weights of a fit on exactly the
/// batches before it).
pub fn terminate_on_nan_names_the_batch_on_the_general_path(d: &Device) -> CaseResult {
    let overflowing = |rows: usize| -> ferrite::Result<TrainingData<f32>> {
        let x = Array::from_vec((0..2 * rows).map(|i| 1e18 * (i % 16) as f32).collect(), &[rows, 2])?;
        TrainingData::new(&x, &Array::from_vec((0..rows as u32).map(|i| i % 2).collect(), &[rows])?)
    };
    let diverging = || -> ferrite::Result<Sequential<f32>> {
        let mut m = model::<f32>(d, &[Dense::new(2, Activation::Softmax).input_dim(2)], 3).use_autograd(true);
        m.compile(Loss::SparseCategoricalCrossentropy, Optimizer::sgd().with_learning_rate(1e6), &[Metric::Accuracy])?;
        Ok(m)
    };
    let options = FitOptions { epochs: 5, batch_size: 2, shuffle: false, ..quiet() };
    let mut m = diverging()?;
    let batch = match m.fit_data(&overflowing(16)?, &options) {
        Err(e @ Error::NonFiniteLoss { epoch: 0, epochs: 5, batch, batches: 8, loss }) => {
            ensure!(batch > 0 && !loss.is_finite(), "{e}");
            ensure!(e.to_string().contains(&format!("epoch 1/5, batch {}/8", batch + 1)), "{e}");
            batch
        }
        other => return Err(format!("expected Error::NonFiniteLoss in epoch 0, got {other:?}").into()),
    };
    let mut reference = diverging()?;
    let o = FitOptions { epochs: 1, terminate_on_nan: false, ..options };
    reference.fit_data(&overflowing(2 * batch)?, &o)?;
    ensure!(reference.get_weights()? == m.get_weights()?, "not the weights of the {batch} batches before");
    Ok(())
}

/// BatchNorm's running statistics and count, Dropout, and the layer names: saved by name,
/// loaded into a model with other initial weights, the predictions agree (Dropout is off in
/// `predict`, so two calls agree too).
pub fn weights_with_running_statistics_save_and_load(d: &Device) -> CaseResult {
    let make = |seed: u64| -> ferrite::Result<Sequential<f32>> {
        let mut m = Sequential::new().seed(seed).on(d);
        m.add(Dense::new(16, Activation::Relu).input_dim(64));
        m.add(BatchNorm::new(16)?);
        m.add(Dropout::new(0.3, seed)?);
        m.add(Dense::new(10, Activation::Softmax));
        m.compile(Loss::CategoricalCrossentropy, Optimizer::adam(), &[Metric::Accuracy])?;
        Ok(m)
    };
    let (train, _) = digits();
    let (_, test) = Dataset::digits();
    let mut a = make(1)?;
    a.fit_data(&train, &FitOptions { epochs: 1, ..quiet() })?;
    let path = std::env::temp_dir().join(format!("ferrite-general-{}-{d}.safetensors", std::process::id()));
    a.save_weights(&path)?;
    let names = ferrite::io::load_safetensors(&path)?.names().into_iter().map(String::from).collect::<Vec<_>>();
    let mut b = make(2)?;
    b.load_weights(&path)?;
    let _ = std::fs::remove_file(&path);
    for name in ["dense.weight", "dense_1.bias", "batch_norm.running_mean", "batch_norm.num_batches_tracked"] {
        ensure!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    let x = Array::from_vec(test.x.clone(), &[test.rows(), 64])?;
    let (pa, pb) = (a.predict(&x, 64)?.to_vec()?, b.predict(&x, 64)?.to_vec()?);
    ensure!(pa == pb, "predictions differ after a save and load");
    ensure!(pa == a.predict(&x, 64)?.to_vec()?, "predict is not deterministic (Dropout on?)");
    ensure!(a.get_weights()? == b.get_weights()?, "get_weights differ");
    Ok(())
}

/// `summary` shows each layer's Keras name, output shape and values; `count_params` counts
/// them all (BatchNorm's running statistics as non-trainable, as Keras).
pub fn summary_names_layers_and_shapes(d: &Device) -> CaseResult {
    let mut m = cnn(d, 0)?;
    m.add(BatchNorm::new(10)?);
    let s = m.summary()?;
    for line in [
        "conv2d (Conv2d)            (None, 8, 8, 8)           80",
        "max_pool2d (MaxPool2d)     (None, 8, 4, 4)           0",
        "flatten (Flatten)          (None, 128)               0",
        "dense (Dense)              (None, 10)                1290",
        "batch_norm (BatchNorm)     (None, 10)                40",
        "Trainable params: 1390",
        "Non-trainable params: 20",
    ] {
        ensure!(s.contains(line), "{line:?} not in\n{s}");
    }
    ensure!(m.count_params()? == 1410, "count_params {}", m.count_params()?);
    Ok(())
}

/// What a user can get wrong on the general path is an error naming it.
pub fn general_model_errors_name_the_problem(d: &Device) -> CaseResult {
    let mut no_input = Sequential::new().on(d);
    no_input.add(Flatten);
    no_input.add(Dense::new(10, Activation::Softmax));
    let e = no_input.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[]).unwrap_err();
    ensure!(matches!(&e, Error::Config(s) if s.contains("input_shape")), "{e}");

    let mut no_softmax = Sequential::new().on(d).input_shape(&[64]);
    no_softmax.add(Dense::new(10, Activation::Relu));
    no_softmax.add(Dropout::new(0.1, 0)?);
    let e = no_softmax.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[]).unwrap_err();
    ensure!(matches!(&e, Error::Config(s) if s.contains("softmax") && s.contains("dropout")), "{e}");

    let mut m = cnn(d, 0)?;
    let e = m.fit(&Array::<f32>::zeros(&[4, 1, 8, 8])?, &Array::<i32>::zeros(&[4])?, &quiet()).unwrap_err();
    ensure!(matches!(&e, Error::Config(s) if s.contains("compile")), "fit before compile: {e}");
    m.compile(Loss::SparseCategoricalCrossentropy, Optimizer::adam(), &[Metric::Accuracy])?;
    let e = m.fit(&Array::<f32>::zeros(&[4, 64])?, &Array::<i32>::zeros(&[4])?, &quiet()).unwrap_err();
    ensure!(matches!(&e, Error::ShapeMismatch { .. }) && e.to_string().contains("[1, 8, 8]"), "flat x: {e}");
    let e = m.predict(&Array::<f32>::zeros(&[4, 1, 8, 7])?, 8).unwrap_err();
    ensure!(matches!(e, Error::ShapeMismatch { .. }), "predict: {e}");
    let x = Array::<f32>::zeros(&[4, 1, 8, 8])?;
    let e = m.fit(&x, &Array::from_vec(vec![0i32, 1, 10, 2], &[4])?, &quiet()).unwrap_err();
    ensure!(matches!(e, Error::Label { row: 2, classes: 10, .. }), "label 10 of 10 classes: {e}");
    let stop = Some(EarlyStopping::default());
    let e = m.fit(&x, &Array::<i32>::zeros(&[4])?, &FitOptions { early_stopping: stop, ..quiet() }).unwrap_err();
    ensure!(matches!(&e, Error::Config(s) if s.contains("val_loss")), "EarlyStopping without validation: {e}");
    let e = m.set_weights(&[vec![0.0; 3]]).unwrap_err();
    ensure!(matches!(e, Error::ShapeMismatch { .. }), "set_weights: {e}");

    // A layer of the user's that loses the batch axis is refused where the model is built.
    struct Total;
    impl ferrite::layers::Module<f32> for Total {
        fn forward(&mut self, x: &ferrite::autograd::Var<f32>) -> ferrite::Result<ferrite::autograd::Var<f32>> {
            x.sum(ferrite::Axes::All, false)
        }
        fn tensors(&mut self) -> Vec<(String, ferrite::layers::Tensor<'_, f32>)> {
            Vec::new()
        }
    }
    let mut total = Sequential::new().on(d).input_shape(&[3]);
    total.add(ferrite::nn::Layer::custom("Total", Total));
    let e = total.compile(Loss::MeanSquaredError, Optimizer::sgd(), &[]).unwrap_err();
    ensure!(matches!(&e, Error::Config(s) if s.contains("(total, Total)") && s.contains("batch axis")), "{e}");

    // A Dense stack takes its input size from input_shape too (and stays on the fused path).
    let mut flat = Sequential::new().on(d).input_shape(&[64]);
    flat.add(Dense::new(10, Activation::Softmax));
    ensure!(!flat.is_general(), "a Dense stack over a 1-D input is fused");
    flat.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[])?;
    let mut clash = Sequential::new().on(d).input_shape(&[63]);
    clash.add(Dense::new(10, Activation::Softmax).input_dim(64));
    let e = clash.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[]).unwrap_err();
    ensure!(matches!(&e, Error::Config(s) if s.contains("64") && s.contains("[63]")), "{e}");

    // Moving a compiled model uncompiles it and keeps its weights, on both paths.
    for autograd in [false, true] {
        let mut m = model::<f32>(d, &[Dense::new(3, Activation::Softmax).input_dim(4)], 1).use_autograd(autograd);
        m.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[])?;
        let x = Array::<f32>::rand_uniform(&[6, 4], 0.0, 1.0, 3)?;
        let y = Array::from_vec((0..18).map(|i| ((i % 3) == (i / 3) % 3) as u8 as f32).collect(), &[6, 3])?;
        m.fit(&x, &y, &quiet())?;
        let trained = m.get_weights()?;
        let mut moved = m.on(&Device::Cpu);
        let e = moved.fit(&x, &y, &quiet()).unwrap_err();
        ensure!(matches!(&e, Error::Config(s) if s.contains("compile")), "autograd {autograd}: fit after on(): {e}");
        moved.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[])?;
        ensure!(moved.get_weights()? == trained, "autograd {autograd}: on() lost the weights");
    }
    Ok(())
}

/// A layer added after `compile` joins the model at the next one: the earlier layers keep
/// their weights, and the former output layer applies its softmax again (only the last one's
/// is left to the loss), so the model predicts as one built with both layers from the start.
pub fn a_layer_added_after_compile_joins_at_the_next(d: &Device) -> CaseResult {
    let x = Array::<f32>::rand_uniform(&[5, 3], -1.0, 1.0, 4)?;
    let adam = Optimizer::adam();
    let mut grown = Sequential::new().seed(8).on(d).input_shape(&[3]);
    grown.add(Dense::new(4, Activation::Softmax));
    grown.add(Dropout::new(0.5, 0)?);
    grown.compile(Loss::CategoricalCrossentropy, adam, &[]).unwrap_err(); // the last layer is not a softmax
    let mut grown = Sequential::new().seed(8).on(d).input_shape(&[3]).use_autograd(true);
    grown.add(Dense::new(4, Activation::Softmax));
    grown.compile(Loss::CategoricalCrossentropy, adam, &[])?;
    grown.add(Dense::new(2, Activation::Softmax));
    grown.compile(Loss::CategoricalCrossentropy, adam, &[])?;
    let mut whole = Sequential::new().seed(8).on(d).input_shape(&[3]).use_autograd(true);
    whole.add(Dense::new(4, Activation::Softmax));
    whole.add(Dense::new(2, Activation::Softmax));
    whole.compile(Loss::CategoricalCrossentropy, adam, &[])?;
    let (a, b) = (grown.predict(&x, 8)?.to_vec()?, whole.predict(&x, 8)?.to_vec()?);
    ensure!(a == b, "{a:?} vs {b:?}");
    Ok(())
}
