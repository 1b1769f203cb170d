//! Models, training data, options, weights and device strings: each bad input an error of
//! its exact kind.

use super::Sweep;
use crate::expect;
use ferrite::nn::{Activation, Dense, FitOptions, Loss, Metric, Optimizer, Sequential, TrainingData};
use ferrite::{Array, Dataset, Device, Error, Labels};

fn model(d: &Device, layers: &[Dense]) -> Sequential {
    let mut m = Sequential::new().on(d);
    for l in layers {
        m.add(*l);
    }
    m
}

fn compile(d: &Device, layers: &[Dense], loss: Loss, optimizer: Optimizer) -> ferrite::Result<Sequential> {
    let mut m = model(d, layers);
    m.compile(loss, optimizer, &[Metric::Accuracy])?;
    Ok(m)
}

/// 8 rows of 2 features, 2 classes, as arrays.
fn xy(d: &Device) -> (Array<f32>, Array<u32>) {
    let x = (0..16).map(|i| i as f32 / 16.0).collect();
    (Array::from_vec_on(x, &[8, 2], d).unwrap(), Array::from_vec((0..8).map(|i| i % 2).collect(), &[8]).unwrap())
}

pub fn sweep(s: &mut Sweep, d: &Device) {
    let on = |what: &str| format!("{what} on {d}");
    let relu = |units| Dense::new(units, Activation::Relu);
    let softmax = |units| Dense::new(units, Activation::Softmax);
    let sgd = Optimizer::sgd();

    // Architectures whose sizes overflow, or cannot be allocated.
    let max_inputs = [Dense::new(1, Activation::Linear).input_dim(usize::MAX)];
    expect!(s, on("count_params of input_dim usize::MAX"), model(d, &max_inputs).count_params(), Error::Config(_));
    expect!(
        s,
        on("compile input_dim usize::MAX"),
        compile(d, &max_inputs, Loss::MeanSquaredError, sgd),
        Error::Config(_)
    );
    let wide = [relu(60_000_000).input_dim(64), softmax(10)];
    expect!(
        s,
        on("compile Dense(60M) on 64 inputs"),
        compile(d, &wide, Loss::CategoricalCrossentropy, sgd),
        Error::OutOfMemory { .. }
    );
    let deep: Vec<Dense> =
        std::iter::once(relu(60_000).input_dim(60_000)).chain((0..100).map(|_| relu(60_000))).collect();
    expect!(
        s,
        on("compile 101 layers of 60000"),
        compile(d, &deep, Loss::MeanSquaredError, sgd),
        Error::OutOfMemory { .. }
    );
    let classes = [relu(64).input_dim(1), softmax(1 << 24)];
    expect!(
        s,
        on("compile 2^24 classes"),
        compile(d, &classes, Loss::CategoricalCrossentropy, sgd),
        Error::OutOfMemory { .. }
    );
    let one = [softmax(1).input_dim(2)];
    expect!(
        s,
        on("compile one class, categorical"),
        compile(d, &one, Loss::CategoricalCrossentropy, sgd),
        Error::TooFewClasses { classes: 1, .. }
    );
    expect!(
        s,
        on("compile one class, sparse"),
        compile(d, &one, Loss::SparseCategoricalCrossentropy, sgd),
        Error::TooFewClasses { .. }
    );
    let adam = Optimizer::Adam { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: f64::INFINITY };
    expect!(
        s,
        on("Adam epsilon inf"),
        compile(d, &[softmax(2).input_dim(2)], Loss::CategoricalCrossentropy, adam),
        Error::Config(_)
    );

    // Training data and options.
    let net = || compile(d, &[softmax(2).input_dim(2)], Loss::SparseCategoricalCrossentropy, Optimizer::sgd());
    let quiet = FitOptions { verbose: 0, ..Default::default() };
    let (x, y) = xy(d);
    let flat = Array::from_vec_on(vec![0.5f32; 8], &[8], d).unwrap();
    expect!(s, on("fit with 1-D x"), net()?.fit(&flat, &y, &quiet), Error::BadShape { op: "fit", .. });
    expect!(s, on("evaluate with 1-D x"), net()?.evaluate(&flat, &y, 4), Error::BadShape { op: "evaluate", .. });
    expect!(
        s,
        on("TrainingData::new with 1-D x"),
        TrainingData::new(&flat, &y),
        Error::BadShape { op: "TrainingData::new", .. }
    );
    let negative = Array::from_vec(vec![0i32, 1, 0, -1, 0, 1, 0, 1], &[8]).unwrap();
    s.check(&on("a negative label"), || match TrainingData::new(&x, &negative) {
        Err(e @ Error::Label { row: 3, classes: 0, .. }) if e.to_string().contains("negative") => Ok(()),
        other => Err(format!("expected Error::Label naming a negative label, got {other:?}")),
    });
    let big = Array::from_vec(vec![0u32, 1, 2, 1, 0, 1, 0, 1], &[8]).unwrap();
    expect!(s, on("a label past the classes"), net()?.fit(&x, &big, &quiet), Error::Label { row: 2, classes: 2, .. });
    let nan_x = Array::from_vec_on(vec![f32::NAN; 16], &[8, 2], d).unwrap();
    expect!(s, on("NaN features"), net()?.fit(&nan_x, &y, &quiet), Error::NonFinite { what: "x", .. });
    expect!(
        s,
        on("batch_size 0"),
        net()?.fit(&x, &y, &FitOptions { batch_size: 0, ..quiet.clone() }),
        Error::Config(_)
    );
    expect!(
        s,
        on("validation_split NaN"),
        net()?.fit(&x, &y, &FitOptions { validation_split: f64::NAN, ..quiet.clone() }),
        Error::Config(_)
    );
    let data = TrainingData::new(&x, &y).unwrap();
    expect!(s, on("one_hot(usize::MAX)"), data.clone().one_hot(usize::MAX), Error::BadShape { .. });
    // Inputs that overflow the network: the loss becomes NaN, and fit stops.
    let huge = Array::from_vec_on((0..16).map(|i| 1e18 * i as f32).collect(), &[8, 2], d).unwrap();
    let diverge = Optimizer::sgd().with_learning_rate(1e6);
    let mut m = compile(d, &[softmax(2).input_dim(2)], Loss::SparseCategoricalCrossentropy, diverge).unwrap();
    expect!(
        s,
        on("a loss that overflows"),
        m.fit(&huge, &y, &FitOptions { epochs: 3, batch_size: 2, ..quiet.clone() }),
        Error::NonFiniteLoss { epoch: 0, .. }
    );
    expect!(
        s,
        on("rand_normal with std -1"),
        ferrite::with_device(d, || Array::<f32>::rand_normal(&[2], 0.0, -1.0, 0)),
        Error::BadArgument { op: "rand_normal", .. }
    );
    expect!(
        s,
        on("rand_uniform to inf"),
        ferrite::with_device(d, || Array::<f32>::rand_uniform(&[2], 0.0, f64::INFINITY, 0)),
        Error::BadArgument { op: "rand_uniform", .. }
    );

    // Weights.
    let dir = std::env::temp_dir().join(format!("ferrite-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut nan = model(d, &[Dense::new(1, Activation::Linear).input_dim(1)]);
    nan.set_weights(&[vec![f32::NAN], vec![0.0]]).unwrap();
    expect!(
        s,
        on("save NaN weights"),
        nan.save_weights(dir.join("nan.safetensors")),
        Error::NonFiniteWeight { index: 0, .. }
    );
    let mut wide64 = Sequential::<f64>::typed().on(d);
    wide64.add(Dense::new(1, Activation::Linear).input_dim(1));
    wide64.set_weights(&[vec![1e300], vec![0.0]]).unwrap();
    let path = dir.join("f64.safetensors");
    wide64.save_weights(&path).unwrap();
    let mut narrow = model(d, &[Dense::new(1, Activation::Linear).input_dim(1)]);
    expect!(s, on("load f64 1e300 into f32"), narrow.load_weights(&path), Error::Data { .. });
    expect!(s, on("save into a directory"), narrow.save_weights(&dir), Error::Io { .. });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Cases that involve no device: datasets, files and device strings.
pub fn sweep_host(s: &mut Sweep) {
    let (train, _) = Dataset::digits();
    expect!(s, "Dataset::row(99999)", train.row(99999), Error::OutOfRange { index: 99999, len: 1347, .. });
    expect!(s, "Dataset::select([99999])", train.select(&[0, 99999]), Error::OutOfRange { .. });
    let labels = Labels::Classes { labels: vec![0, 1], classes: 2 };
    expect!(s, "Labels::select([2])", labels.select(&[2]), Error::OutOfRange { .. });
    expect!(s, "Dataset::scale(NaN)", train.clone().scale(f32::NAN), Error::Config(_));
    expect!(s, "Dataset::scale(1e38)", train.clone().scale(1e38), Error::Data { .. });
    let mut poked = train.clone();
    poked.x[5] = f32::NAN;
    expect!(s, "TrainingData::from_dataset with a NaN", TrainingData::<f32>::from_dataset(&poked), Error::Data { .. });
    let mut relabelled = train.clone();
    relabelled.labels = Labels::Classes { labels: vec![11; train.rows()], classes: 10 };
    expect!(
        s,
        "TrainingData::from_dataset with a label past the classes",
        TrainingData::<f32>::from_dataset(&relabelled),
        Error::Data { .. }
    );

    expect!(
        s,
        "Device::new(\"emulated:sm_4294967295\")",
        Device::new("emulated:sm_4294967295"),
        Error::DeviceSyntax { .. }
    );
    expect!(s, "Device::new(\"emulated:sm_+80\")", Device::new("emulated:sm_+80"), Error::DeviceSyntax { .. });
    s.check("the device-string hint names emulated", || match Device::new("tpu") {
        Err(e @ Error::DeviceSyntax { .. }) if e.to_string().contains("emulated") => Ok(()),
        other => Err(format!("{other:?}")),
    });
    s.check("two devices opened from one string are one device", || {
        let (a, b) = (Device::new("emulated:sm_80").unwrap(), Device::new("emulated:sm_80").unwrap());
        let x = Array::from_vec_on(vec![2.0f32], &[1, 1], &a).unwrap();
        let y = Array::from_vec_on(vec![3.0f32], &[1, 1], &b).unwrap();
        match (a == b, x.matmul(&y).and_then(|p| p.to_vec())) {
            (true, Ok(v)) if v == [6.0] => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });

    // A `.npy` header that names a key twice (NumPy would take the last).
    let dir = std::env::temp_dir().join(format!("ferrite-sweep-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let npy = crate::seeds::npy_with_header;
    let x = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'shape': (1,), }", &1f32.to_le_bytes());
    let y = npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", &[0]);
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    std::fs::write(&xp, x).unwrap();
    std::fs::write(&yp, y).unwrap();
    let spec = format!("{},{}", xp.display(), yp.display());
    s.check("an .npy header naming 'shape' twice", || match Dataset::load(&spec) {
        Err(e @ Error::Data { .. }) if e.to_string().contains("'shape' more than once") => Ok(()),
        other => Err(format!("expected Error::Data naming the key, got {other:?}")),
    });
    let _ = std::fs::remove_dir_all(&dir);
}
