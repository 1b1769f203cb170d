//! `cargo run --release --bin train`: trains a dense network Keras-style and reports the test
//! loss and accuracy, the device and the wall time.
//!
//! With no arguments it trains on the UCI digits embedded in ferrite (1347 training and 450
//! test images, scikit-learn's stratified split; pixel counts scaled by 1/16) with the seed's
//! model shape adapted to 64 inputs: Dense(64, relu) -> Dense(10, softmax), categorical
//! cross-entropy, SGD with Nesterov momentum 0.9, learning rate 0.01, batch 32, 30 epochs.
//!
//! `--model cnn` trains a convolutional network instead (`cnn.rs`: two 3 × 3 convolutions
//! with pooling, then a linear layer; autograd and Adam, 15 epochs by default).

mod cnn;

use clap::Parser;
use ferrite::layers::Module;
use ferrite::nn::{Activation, Dense, FitOptions, Loss, Metric, Optimizer, Sequential, TrainingData};
use ferrite::{Dataset, Device, Error, Labels};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// `println!`, except that a closed stdout (`train | head`) ends the program quietly with
/// status 141, as SIGPIPE ends a C program, instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {
        say(format_args!($($arg)*))
    };
}

fn say(line: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        let code = if e.kind() == std::io::ErrorKind::BrokenPipe { 141 } else { 74 }; // 74: EX_IOERR
        std::process::exit(code);
    }
}

#[derive(Parser, Debug)]
#[command(version, about = "Train a dense network on the GPU (or the CPU), Keras-style.")]
struct Args {
    /// Training data: CSV (label in the last column), .npz with arrays x and y, `x.npy,y.npy`,
    /// or MNIST IDX images (labels found beside them). Default: the embedded UCI digits.
    #[arg(long)]
    train: Option<String>,
    /// Test data, same formats (default: the digits test split when training on digits).
    #[arg(long)]
    test: Option<String>,
    /// Fraction of the training rows (the last ones) held out for validation.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    validation_split: f64,
    /// dense (the Keras model: --hidden, --optimizer) or cnn (square one-channel images).
    #[arg(long, default_value = "dense")]
    model: String,
    /// Epochs (default: 30 for the dense model, 15 for the CNN).
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Learning rate (default: the optimizer's, 0.01 for SGD and 0.001 for Adam).
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// sgd (Keras's plain SGD), momentum (0.9), nesterov (momentum 0.9, Nesterov) or adam.
    #[arg(long, default_value = "nesterov")]
    optimizer: String,
    /// Hidden layer sizes, comma-separated (relu each).
    #[arg(long, default_value = "64", value_delimiter = ',')]
    hidden: Vec<usize>,
    /// cpu, cuda, cuda:N, /gpu:N, emulated:sm_80, ... (default: CUDA device 0 if present, else the CPU).
    #[arg(long)]
    device: Option<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Multiply every feature by this (default: 1/16 for the digits' pixel counts, else 1).
    #[arg(long, allow_negative_numbers = true)]
    scale: Option<f32>,
    /// 0 silent, 1 progress bar on a terminal, 2 one line per epoch.
    #[arg(long, default_value_t = 1)]
    verbose: u8,
    /// Write the trained weights to this safetensors file.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Start from the weights in this safetensors file.
    #[arg(long)]
    load: Option<PathBuf>,
    /// Write loss and accuracy curves to this PNG.
    #[arg(long)]
    plot: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Fails now, not after training, if `path` cannot be written: a directory, a
/// write-protected file, or a directory that does not exist or takes no new files.
fn check_writable(path: &Path) -> ferrite::Result<()> {
    let fail = |source| Error::Io { path: path.into(), source };
    let refuse = |kind, why: &str| Err(fail(std::io::Error::new(kind, why.to_string())));
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return refuse(std::io::ErrorKind::IsADirectory, "is a directory"),
        Ok(m) if m.permissions().readonly() => {
            return refuse(std::io::ErrorKind::PermissionDenied, "the file is write-protected");
        }
        _ => {}
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    tempfile::Builder::new().prefix(".ferrite-probe").tempfile_in(dir).map(drop).map_err(fail)
}

/// For an out-of-memory error of a model whose output layer is most of it, a note on where
/// that layer's size came from: the labels' largest value (a label column holding ids looks
/// like millions of classes).
fn explain_memory(e: Error, data: &Dataset, classes: usize) -> Error {
    if let (Error::OutOfMemory { .. }, Labels::Classes { labels, .. }) = (&e, &data.labels)
        && let Some((row, max)) = labels.iter().enumerate().rev().max_by_key(|&(_, l)| l)
    {
        eprintln!(
            "note: the output layer has {classes} units, one per class: {classes} classes were inferred from the \
             largest label, {max} (data row {}) of {}",
            row + 1,
            data.source
        );
    }
    e
}

fn run(a: Args) -> ferrite::Result<()> {
    let started = Instant::now();
    for path in a.save.iter().chain(&a.plot) {
        check_writable(path)?;
    }
    let (device, note) = match &a.device {
        Some(s) => {
            let d = Device::new(s)?;
            let note = format!("running on {} (--device {s})", d.describe());
            (d, note)
        }
        None => Device::best_available(),
    };
    say!("{note}");

    let (mut train, mut test, default_scale) = match &a.train {
        None => {
            let (train, test) = Dataset::digits();
            (train, Some(test), 1.0 / 16.0)
        }
        Some(spec) => (Dataset::load(spec)?, None, 1.0),
    };
    if let Some(spec) = &a.test {
        test = Some(Dataset::load(spec)?);
    }
    let scale = a.scale.unwrap_or(default_scale);
    train.scale(scale)?;
    if let Some(t) = &mut test {
        t.scale(scale)?;
    }
    let classes = train.classes().max(test.as_ref().map_or(0, |t| t.classes()));
    if classes < 2 {
        return Err(Error::TooFewClasses { classes, what: format!("the labels of {}", train.source) });
    }
    say!("training on {} ({} rows, {} features, {classes} classes)", train.source, train.rows(), train.features);
    if let Some(t) = &test {
        if t.features != train.features {
            return Err(ferrite::Error::Config(format!(
                "the test data has {} features but the training data {}",
                t.features, train.features
            )));
        }
        say!("evaluating on {} ({} rows)", t.source, t.rows());
    }

    match a.model.as_str() {
        "dense" => {}
        "cnn" => return run_cnn(&a, &device, &train, test.as_ref(), started),
        other => return Err(Error::Config(format!("--model {other}: the models are dense and cnn"))),
    }
    let epochs = a.epochs.unwrap_or(30);
    let mut model = Sequential::new().seed(a.seed).on(&device);
    let mut inputs = Some(train.features);
    for &units in &a.hidden {
        let layer = Dense::new(units, Activation::Relu);
        model.add(match inputs.take() {
            Some(n) => layer.input_dim(n),
            None => layer,
        });
    }
    let output = Dense::new(classes, Activation::Softmax);
    model.add(match inputs {
        Some(n) => output.input_dim(n),
        None => output,
    });
    let mut optimizer: Optimizer = a.optimizer.parse()?;
    if let Some(lr) = a.lr {
        optimizer = optimizer.with_learning_rate(lr);
    }
    let output_params = (a.hidden.last().copied().unwrap_or(train.features) as u128 + 1) * classes as u128;
    let output_heavy = model.count_params().map_or(true, |total| 2 * output_params >= total as u128);
    let explain = |e| if output_heavy { explain_memory(e, &train, classes) } else { e };
    model.compile(Loss::CategoricalCrossentropy, optimizer, &[Metric::Accuracy]).map_err(explain)?;
    if let Some(path) = &a.load {
        model.load_weights(path)?;
        say!("loaded weights from {}", path.display());
    }
    if a.verbose > 0 {
        say!("{}", model.summary()?.trim_end());
    }

    let train_data = TrainingData::from_dataset(&train)?.one_hot(classes).map_err(explain)?;
    let options = FitOptions {
        epochs,
        batch_size: a.batch_size,
        validation_split: a.validation_split,
        verbose: a.verbose,
        ..Default::default()
    };
    let fit_started = Instant::now();
    let history = model.fit_data(&train_data, &options).map_err(explain)?;
    let fit_seconds = fit_started.elapsed().as_secs_f64();

    if let Some(t) = &test {
        let result = model.evaluate_data(&TrainingData::from_dataset(t)?.one_hot(classes)?, a.batch_size)?;
        say!("test loss: {:.4} - accuracy: {:.4}", result[0], result[1]);
    } else {
        say!("no test data (give --test FILE to evaluate)");
    }
    if let Some(path) = &a.save {
        model.save_weights(path)?;
        say!("saved weights to {}", path.display());
    }
    if let Some(path) = &a.plot {
        history.plot(path)?;
        say!("saved training curves to {}", path.display());
    }
    let steps = epochs * train_data.rows().div_ceil(a.batch_size.max(1));
    say!(
        "device: {} - wall time {:.2}s (training {:.2}s, {:.1} us/step)",
        device.describe(),
        started.elapsed().as_secs_f64(),
        fit_seconds,
        1e6 * fit_seconds / steps.max(1) as f64
    );
    Ok(())
}

/// `--model cnn`: the convolutional network of `cnn.rs`, trained with autograd and Adam.
fn run_cnn(
    a: &Args,
    device: &Device,
    train: &Dataset,
    test: Option<&Dataset>,
    started: Instant,
) -> ferrite::Result<()> {
    let dense_only = [("--plot", a.plot.is_some()), ("--validation-split", a.validation_split != 0.0)];
    if let Some((flag, _)) = dense_only.iter().find(|(_, given)| *given) {
        return Err(Error::Config(format!("{flag} is for the dense model; --model cnn does not take it")));
    }
    if a.optimizer != "nesterov" && a.optimizer != "adam" {
        return Err(Error::Config(format!("--model cnn trains with adam, not {}", a.optimizer)));
    }
    let classes = train.classes().max(test.map_or(0, |t| t.classes()));
    let (x, y, side) = cnn::images(train, device)?;
    let mut model = cnn::model(side, classes, a.seed)?;
    model.to_device(device)?;
    if let Some(path) = &a.load {
        model.load(path)?;
        say!("loaded weights from {}", path.display());
    }
    say!("cnn: {side}x{side} images, {} parameters", model.num_parameters());
    let (epochs, lr) = (a.epochs.unwrap_or(15), a.lr.unwrap_or(5e-3));
    let fit_started = Instant::now();
    let plan = cnn::Plan { epochs, batch: a.batch_size, lr, seed: a.seed };
    cnn::fit(&mut model, &x, &y, &plan, |epoch, loss| {
        if a.verbose >= 2 {
            say!("Epoch {}/{epochs} - loss: {loss:.4}", epoch + 1);
        }
    })?;
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    match test {
        Some(t) => {
            let (xt, yt, _) = cnn::images(t, device)?;
            say!("test accuracy: {:.4}", cnn::accuracy(&mut model, &xt, &yt)?);
        }
        None => say!("no test data (give --test FILE to evaluate)"),
    }
    if let Some(path) = &a.save {
        model.save(path)?;
        say!("saved weights to {}", path.display());
    }
    let steps = epochs * train.rows().div_ceil(a.batch_size.max(1));
    say!(
        "device: {} - wall time {:.2}s (training {:.2}s, {:.1} us/step)",
        device.describe(),
        started.elapsed().as_secs_f64(),
        fit_seconds,
        1e6 * fit_seconds / steps.max(1) as f64
    );
    Ok(())
}
