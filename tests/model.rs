//! The model API on the CPU: Keras's recipe figures on the digits, the summary, and every
//! bad input as the exact error kind.

use ferrite::nn::{Activation, Dense, FitOptions, Loss, Metric, Optimizer, Sequential, TrainingData};
use ferrite::{Array, Dataset, Error};

fn digits() -> (TrainingData<f32>, TrainingData<f32>) {
    let (mut train, mut test) = Dataset::digits();
    train.scale(1.0 / 16.0).unwrap();
    test.scale(1.0 / 16.0).unwrap();
    let one_hot = |d: &Dataset| TrainingData::from_dataset(d).unwrap().one_hot(10).unwrap();
    (one_hot(&train), one_hot(&test))
}

fn seed_model(seed: u64) -> Sequential {
    let mut m = Sequential::new().seed(seed);
    m.add(Dense::new(64, Activation::Relu).input_dim(64));
    m.add(Dense::new(10, Activation::Softmax));
    m
}

/// Mean test accuracy over five seeds of the full 50-epoch recipe with `optimizer`.
fn recipe(optimizer: Optimizer) -> f64 {
    let (train, test) = digits();
    let runs: Vec<f64> = (0..5)
        .map(|seed| {
            let mut m = seed_model(seed);
            m.compile(Loss::CategoricalCrossentropy, optimizer, &[Metric::Accuracy]).unwrap();
            m.fit_data(&train, &FitOptions { epochs: 50, batch_size: 32, verbose: 0, ..Default::default() }).unwrap();
            m.evaluate_data(&test, 32).unwrap()[1]
        })
        .collect();
    runs.iter().sum::<f64>() / runs.len() as f64
}

/// Keras reaches 0.942 with the seed's recipe (plain SGD, lr 0.01, batch 32, 50 epochs); the
/// mean over seeds must be within a point of it.
#[test]
fn the_seed_recipe_matches_keras_on_digits() {
    let acc = recipe(Optimizer::sgd());
    assert!((acc - 0.942).abs() <= 0.01, "mean test accuracy {acc}, Keras 0.942");
}

#[test]
fn nesterov_momentum_reaches_097_on_digits() {
    let acc = recipe(Optimizer::Sgd { learning_rate: 0.01, momentum: 0.9, nesterov: true });
    assert!(acc >= 0.97, "mean test accuracy {acc}");
}

#[test]
fn summary_reads_like_keras() {
    let mut m = Sequential::new();
    m.add(Dense::new(64, Activation::Relu).input_dim(100));
    m.add(Dense::new(10, Activation::Softmax));
    let s = m.summary().unwrap();
    assert!(s.contains(" dense (Dense)              (None, 64)                6464\n"), "{s}");
    assert!(s.contains(" dense_1 (Dense)            (None, 10)                650\n"), "{s}");
    assert!(s.contains("Total params: 7114 (27.79 KB)"), "{s}");
    assert_eq!(m.count_params().unwrap(), 7114);
}

#[test]
fn keras_strings_compile() {
    let mut m = seed_model(0);
    m.compile_str("categorical_crossentropy", "sgd", &["accuracy"]).unwrap();
    for (loss, opt, metric) in [("hinge", "sgd", "accuracy"), ("mse", "rmsprop", "accuracy"), ("mse", "adam", "auc")] {
        assert!(matches!(m.compile_str(loss, opt, &[metric]), Err(Error::Config(_))), "{loss} {opt} {metric}");
    }
    assert!(matches!("swish".parse::<Activation>(), Err(Error::Config(_))));
}

#[test]
fn bad_architectures_are_config_errors() {
    let compile = |layers: &[Dense], loss: Loss| {
        let mut m = Sequential::new();
        for l in layers {
            m.add(*l);
        }
        m.compile(loss, Optimizer::sgd(), &[Metric::Accuracy])
    };
    let config = |r: ferrite::Result<()>, want: &str| match r {
        Err(e @ Error::Config(_)) => assert!(e.to_string().contains(want), "{e}"),
        other => panic!("expected a config error about {want:?}, got {other:?}"),
    };
    config(compile(&[], Loss::MeanSquaredError), "no layers");
    config(compile(&[Dense::new(3, Activation::Softmax)], Loss::CategoricalCrossentropy), "input_dim");
    let relu_out = [Dense::new(4, Activation::Relu).input_dim(3), Dense::new(2, Activation::Relu)];
    config(compile(&relu_out, Loss::CategoricalCrossentropy), "softmax output");
    let hidden_softmax = [Dense::new(4, Activation::Softmax).input_dim(3), Dense::new(2, Activation::Softmax)];
    config(compile(&hidden_softmax, Loss::CategoricalCrossentropy), "output layer only");
    let wrong_dim = [Dense::new(4, Activation::Relu).input_dim(3), Dense::new(2, Activation::Softmax).input_dim(5)];
    config(compile(&wrong_dim, Loss::CategoricalCrossentropy), "input_dim 5");
    config(compile(&[Dense::new(0, Activation::Linear).input_dim(3)], Loss::MeanSquaredError), "positive");
    let mut m = seed_model(0);
    let bad_lr = Optimizer::Sgd { learning_rate: -1.0, momentum: 0.0, nesterov: false };
    config(m.compile(Loss::CategoricalCrossentropy, bad_lr, &[]), "learning_rate");
}

#[test]
fn using_a_model_before_compile_is_an_error() {
    let (train, test) = digits();
    let mut m = seed_model(0);
    assert!(matches!(m.fit_data(&train, &FitOptions::default()), Err(Error::Config(_))));
    assert!(matches!(m.evaluate_data(&test, 32), Err(Error::Config(_))));
}

#[test]
fn data_that_does_not_fit_the_model_is_rejected_before_training() {
    let mut m = seed_model(0);
    m.compile(Loss::CategoricalCrossentropy, Optimizer::sgd(), &[Metric::Accuracy]).unwrap();
    let opts = FitOptions { verbose: 0, ..Default::default() };
    let x = |rows: usize, cols: usize| Array::from_vec(vec![0.5f32; rows * cols], &[rows, cols]).unwrap();
    // Wrong number of features: names both shapes.
    let y = Array::from_vec(vec![0.0f32; 40], &[4, 10]).unwrap();
    match m.fit(&x(4, 63), &y, &opts) {
        Err(e @ Error::ShapeMismatch { .. }) => {
            assert!(e.to_string().contains("[4, 63]") && e.to_string().contains("[4, 64]"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Rows of x and y differ.
    assert!(matches!(m.fit(&x(5, 64), &y, &opts), Err(Error::ShapeMismatch { .. })));
    // Integer labels with categorical cross-entropy: says what to do.
    let labels = Array::from_vec(vec![1u32, 2, 3, 4], &[4]).unwrap();
    match m.fit(&x(4, 64), &labels, &opts) {
        Err(e @ Error::ShapeMismatch { .. }) => {
            assert!(e.to_string().contains("sparse_categorical_crossentropy"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Labels out of range for sparse cross-entropy, and negative labels.
    m.compile(Loss::SparseCategoricalCrossentropy, Optimizer::sgd(), &[Metric::Accuracy]).unwrap();
    let big = Array::from_vec(vec![1u32, 2, 10, 4], &[4]).unwrap();
    match m.fit(&x(4, 64), &big, &opts) {
        Err(Error::Label { row: 2, label, classes: 10 }) => assert_eq!(label, "10"),
        other => panic!("{other:?}"),
    }
    let negative = Array::from_vec(vec![1i32, -3, 0, 4], &[4]).unwrap();
    assert!(matches!(m.fit(&x(4, 64), &negative, &opts), Err(Error::Label { row: 1, .. })));
    // NaN and infinite features.
    let mut v = vec![0.5f32; 4 * 64];
    v[2 * 64 + 7] = f32::NAN;
    let nan = Array::from_vec(v, &[4, 64]).unwrap();
    match m.fit(&nan, &Array::from_vec(vec![1u32; 4], &[4]).unwrap(), &opts) {
        Err(Error::NonFinite { what: "x", row: 2, col: 7, .. }) => {}
        other => panic!("{other:?}"),
    }
    // Options.
    let l4 = Array::from_vec(vec![1u32; 4], &[4]).unwrap();
    for bad in [
        FitOptions { batch_size: 0, ..opts.clone() },
        FitOptions { validation_split: 1.5, ..opts.clone() },
        FitOptions { validation_split: 0.9, ..opts.clone() },
    ] {
        assert!(matches!(m.fit(&x(4, 64), &l4, &bad), Err(Error::Config(_))), "{bad:?}");
    }
    assert!(matches!(m.predict(&x(3, 5), 32), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(m.evaluate(&x(4, 64), &l4, 0), Err(Error::Config(_))));
}

#[test]
fn set_weights_checks_shapes_and_get_weights_round_trips() {
    let mut m = seed_model(7);
    let w = m.get_weights().unwrap();
    assert_eq!(w.iter().map(Vec::len).collect::<Vec<_>>(), [64 * 64, 64, 64 * 10, 10]);
    // Glorot-uniform kernels within their limit, zero biases (Keras's defaults).
    let limit = (6.0f32 / 128.0).sqrt();
    assert!(w[0].iter().all(|v| v.abs() <= limit) && w[1].iter().all(|&b| b == 0.0));
    m.set_weights(&w).unwrap();
    assert_eq!(m.get_weights().unwrap(), w);
    let mut short = w.clone();
    short[2].pop();
    assert!(matches!(m.set_weights(&short), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(m.set_weights(&w[..2]), Err(Error::Config(_))));
}

#[test]
fn loading_a_missing_or_corrupt_weights_file_names_it() {
    let mut m = seed_model(0);
    let missing = std::env::temp_dir().join("ferrite-no-such-weights.safetensors");
    match m.load_weights(&missing) {
        Err(Error::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    let corrupt = std::env::temp_dir().join(format!("ferrite-corrupt-{}.safetensors", std::process::id()));
    std::fs::write(&corrupt, b"not a safetensors file").unwrap();
    let err = m.load_weights(&corrupt).unwrap_err();
    let _ = std::fs::remove_file(&corrupt);
    assert!(matches!(err, Error::Data { .. }) && err.to_string().contains("ferrite-corrupt"), "{err}");
}

#[test]
fn history_plots_to_a_png() {
    let (train, _) = digits();
    let mut m = seed_model(0);
    m.compile(Loss::CategoricalCrossentropy, Optimizer::adam(), &[Metric::Accuracy]).unwrap();
    let h =
        m.fit_data(&train, &FitOptions { epochs: 3, validation_split: 0.1, verbose: 0, ..Default::default() }).unwrap();
    let path = std::env::temp_dir().join(format!("ferrite-curves-{}.png", std::process::id()));
    h.plot(&path).unwrap();
    let png = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "a real image: {} bytes", png.len());
}

/// A history whose losses are NaN or infinite (a run with `terminate_on_nan` off), or span
/// f64's whole range, still plots: the values that cannot be drawn are gaps.
#[test]
fn histories_with_non_finite_values_plot() {
    use ferrite::nn::{EpochLog, History};
    let cases = [[f64::NAN; 3], [f64::INFINITY, f64::NAN, -1e308], [1e308, -1e308, 0.0], [5.0, 5.0, 5.0], [1e308; 3]];
    for (i, values) in cases.into_iter().enumerate() {
        let log = |(epoch, &loss): (usize, &f64)| EpochLog {
            epoch,
            loss,
            accuracy: Some(0.1),
            val_loss: Some(loss),
            val_accuracy: None,
            seconds: 0.0,
        };
        let h = History { epochs: values.iter().enumerate().map(log).collect(), warnings: Vec::new(), stopped_epoch: None };
        let path = std::env::temp_dir().join(format!("ferrite-nan-curves-{}-{i}.png", std::process::id()));
        h.plot(&path).unwrap_or_else(|e| panic!("{values:?}: {e}"));
        let png = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(png.starts_with(b"\x89PNG"), "{values:?}");
    }
}
