//! One error type for everything a user can get wrong, or a device can refuse.

use crate::dtype::DType;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two operands whose shapes do not fit together.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible: {reason}")]
    ShapeMismatch { op: &'static str, lhs: Vec<usize>, rhs: Vec<usize>, reason: String },

    /// One operand whose shape the operation cannot take.
    #[error("{op}: shape {shape:?} is not supported: {reason}")]
    BadShape { op: &'static str, shape: Vec<usize>, reason: String },

    /// Data of the wrong length for the requested shape.
    #[error("{len} elements cannot fill shape {shape:?}, which holds {expected}")]
    DataLength { len: usize, shape: Vec<usize>, expected: usize },

    /// Operands on different devices (ferrite never copies implicitly).
    #[error("{op}: operands are on different devices ({lhs} and {rhs}); move one with to_device")]
    DeviceMismatch { op: &'static str, lhs: String, rhs: String },

    /// An operation or dtype the device cannot run.
    #[error("{op} is not supported for {dtype} on {device}")]
    Unsupported { op: &'static str, dtype: DType, device: String },

    /// A device string that does not parse.
    #[error(
        "unknown device {text:?}: expected cpu, cuda, cuda:N, gpu:N, /gpu:N, /device:GPU:N, emulated or emulated:sm_XY"
    )]
    DeviceSyntax { text: String },

    /// No CUDA driver, no GPU, or no GPU with that ordinal.
    #[error("no CUDA device: {0}")]
    NoCuda(String),

    /// A CUDA driver call failed; `kernel` names the last kernel launched when that matters.
    #[error("CUDA error {code} in {call}{}: {message}", kernel.map(|k| format!(" (kernel {k})")).unwrap_or_default())]
    Cuda { call: &'static str, code: String, message: String, kernel: Option<&'static str> },

    /// An earlier fault (an illegal address, a trap in a kernel) left the device's context
    /// unusable; every later call fails with this until the process restarts.
    #[error("{device} is unusable after an earlier fault ({cause}); restart the process to use it again")]
    DeviceLost { device: String, cause: String },

    /// The driver could not JIT-compile the embedded PTX; `log` is its error log.
    #[error("the driver rejected the {arch} PTX ({code}):\n{log}")]
    PtxJit { arch: &'static str, code: String, log: String },

    /// The device's compute capability is older than every embedded PTX variant.
    #[error("{device} has compute capability {major}.{minor}; ferrite's kernels need 7.0 or newer")]
    UnsupportedGpu { device: String, major: u32, minor: u32 },

    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    /// A data or weights file whose content is wrong, with where it is wrong.
    #[error("{path}: {location}: {message}")]
    Data { path: PathBuf, location: String, message: String },

    /// An array in a file (`member` names it inside an archive) whose element type is not the
    /// one asked for (`expected`), or one ferrite has no dtype for (`expected` is `None`).
    /// `found` is the file's own name for it (`<f4`, `int16`, `F32`, `I8`, ...).
    #[error("{}: {}", path.display(), file_dtype_problem(member.as_deref(), found, *expected))]
    FileDType { path: PathBuf, member: Option<String>, found: String, expected: Option<DType> },

    /// A name asked for that is not among a file's arrays; `present` lists the names it holds.
    #[error("{}: no array named {name:?}; the file holds {present:?}", path.display())]
    MissingArray { path: PathBuf, name: String, present: Vec<String> },

    /// A file holding an array a model has no tensor for (`expected` lists the model's names).
    #[error("{}: the model has no tensor named {name:?}; it has {expected:?}", path.display())]
    UnexpectedArray { path: PathBuf, name: String, expected: Vec<String> },

    /// A class label outside the model's classes, or negative (then `classes` is 0: no
    /// number of classes could hold it).
    #[error("label {label} at row {row} is {}", label_problem(label, *classes))]
    Label { row: usize, label: String, classes: usize },

    /// A classification loss with fewer than two classes: its softmax would be constant.
    #[error("classification needs at least 2 classes, but {what} has {classes}")]
    TooFewClasses { classes: usize, what: String },

    /// A NaN or infinite value where training needs finite numbers.
    #[error("{what} has a non-finite value ({value}) at row {row}, column {col}")]
    NonFinite { what: &'static str, row: usize, col: usize, value: f64 },

    /// `fit` stopped because the training loss was NaN or infinite (Keras's `TerminateOnNaN`).
    /// `epoch` and `batch` count from 0, as [`crate::nn::EpochLog::epoch`]; the message counts
    /// from 1, as the progress lines do. The model keeps the weights from before that batch.
    #[error(
        "fit stopped: the loss is {loss} at epoch {}/{epochs}, batch {}/{batches}; the model keeps the weights \
         from before that batch (lower the learning rate, or look for extreme values in the data)",
        epoch + 1,
        batch + 1
    )]
    NonFiniteLoss { epoch: usize, epochs: usize, batch: usize, batches: usize, loss: f64 },

    /// A weight that is NaN or infinite where a checkpoint must hold finite values.
    #[error("{tensor} element {index} is {value}: not saving non-finite weights (WeightsOptions::allow_non_finite)")]
    NonFiniteWeight { tensor: String, index: usize, value: f64 },

    /// An allocation the device cannot satisfy (NumPy's `MemoryError`): more than the
    /// device's memory, more than an address space holds, or refused by the allocator.
    #[error("out of memory: {device} cannot allocate {} ({bytes} bytes)", crate::alloc::human_bytes(*bytes))]
    OutOfMemory { bytes: u128, device: String },

    /// An axis outside the array's dimensions (NumPy's `AxisError`).
    #[error("{op}: axis {axis} is out of range for an array of {ndim} dimensions (shape {shape:?})")]
    AxisOutOfRange { op: &'static str, axis: isize, ndim: usize, shape: Vec<usize> },

    /// `einsum` subscripts that are malformed or not supported.
    #[error("einsum: subscripts {subscripts:?}: {reason}")]
    Einsum { subscripts: String, reason: String },

    /// An operation that does not take this dtype.
    #[error("{op} does not take {dtype} arrays{}", if hint.is_empty() { String::new() } else { format!(": {hint}") })]
    DType { op: &'static str, dtype: DType, hint: &'static str },
    /// An index past the end of a collection (a dataset's rows, say).
    #[error("{what} {index} is out of range: there are {len}")]
    OutOfRange { what: &'static str, index: usize, len: usize },

    /// An index outside the axis it indexes (NumPy's `IndexError`): a slice's index or a value
    /// of an index array (`gather`, `scatter`, `index_select`, `take`, `one_hot`), as given
    /// (negative counts from the end where the op allows it), the axis and its size.
    #[error("{op}: index {index} is out of range for axis {axis} of size {size}")]
    IndexOutOfRange { op: &'static str, index: i64, axis: usize, size: usize },

    /// `topk` asked for more elements than the axis holds: `k`, the axis and its size.
    #[error("{op}: k = {k} is larger than axis {axis}'s size {size}")]
    TopK { op: &'static str, k: usize, axis: usize, size: usize },

    /// A constructor's arguments that describe no array (NumPy's `ValueError`): `arange` with
    /// a zero step, non-finite bounds, more elements than an index holds, a random
    /// distribution's empty range. `op` names the constructor, `args` its arguments as given
    /// (name, value), `reason` what is wrong with them.
    #[error("{op}({}): {reason}", args.iter().map(|(name, v)| format!("{name}={v}")).collect::<Vec<_>>().join(", "))]
    BadArgument { op: &'static str, args: Vec<(&'static str, f64)>, reason: String },

    /// Backpropagation that cannot run as asked (no gradient tracked, say).
    #[error("{op}: {reason}")]
    Autograd { op: &'static str, reason: String },

    /// A model or training setting that cannot work (e.g. a layer without an input size).
    #[error("{0}")]
    Config(String),
}

/// The end of [`Error::Label`]'s message.
fn label_problem(label: &str, classes: usize) -> String {
    if label.starts_with('-') {
        "negative: class labels count from 0".into()
    } else {
        format!("outside the {classes} classes 0..{classes}")
    }
}

/// The end of [`Error::FileDType`]'s message.
fn file_dtype_problem(member: Option<&str>, found: &str, expected: Option<DType>) -> String {
    let what = member.map_or("the array".to_string(), |m| format!("array {m:?}"));
    match expected {
        Some(dtype) => format!("{what} holds {found}, not {dtype} (load it as its own dtype, then cast)"),
        None => format!(
            "{what} holds {found}, which no ferrite dtype holds (float32, float64, float16, bfloat16, int32, \
             int64, uint8, uint32, bool)"
        ),
    }
}

impl Error {
    pub(crate) fn shape_mismatch(op: &'static str, lhs: &[usize], rhs: &[usize], reason: impl Into<String>) -> Self {
        Error::ShapeMismatch { op, lhs: lhs.to_vec(), rhs: rhs.to_vec(), reason: reason.into() }
    }

    pub(crate) fn bad_argument(op: &'static str, args: &[(&'static str, f64)], reason: impl Into<String>) -> Self {
        Error::BadArgument { op, args: args.to_vec(), reason: reason.into() }
    }

    pub(crate) fn bad_shape(op: &'static str, shape: &[usize], reason: impl Into<String>) -> Self {
        Error::BadShape { op, shape: shape.to_vec(), reason: reason.into() }
    }
}
