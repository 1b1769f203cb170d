//! `Sequential`: Keras's model API, on the CPU or a CUDA device: over [`Network`] (the fused
//! path) for a pure Dense stack, over the layers and autograd (`general.rs`) otherwise.

use super::backend::Head;
use super::backend::cpu::CpuNn;
use super::backend::cuda::CudaNn;
use super::config::{Activation, Loss, Metric, Optimizer};
use super::data::TrainingData;
use super::general::{self, General, Stack};
use super::layer::{Layer, Slot};
use super::network::{Data, LayerShape, Network};
use crate::alloc::{admit_on, bytes_of, try_with_capacity};
use crate::device::{Device, default_device};
use crate::error::{Error, Result};
use crate::layers::Tensor;
use crate::nn::NnFloat;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A fully connected layer: `Dense(units, activation, input_dim)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dense {
    pub units: usize,
    pub activation: Activation,
    /// Needed on the first layer only (Keras's `input_dim`).
    pub input_dim: Option<usize>,
}

impl Dense {
    pub fn new(units: usize, activation: Activation) -> Self {
        Dense { units, activation, input_dim: None }
    }

    pub fn input_dim(mut self, n: usize) -> Self {
        self.input_dim = Some(n);
        self
    }
}

/// The network on its device, erased over the backend.
pub(crate) enum Engine<T: NnFloat> {
    Cpu(Network<CpuNn<T>>),
    Cuda(Network<CudaNn<T>>),
}

/// A dataset uploaded to the engine's device.
pub(crate) enum EngineData<T: NnFloat> {
    Cpu(Data<CpuNn<T>>),
    Cuda(Data<CudaNn<T>>),
}

/// Runs `$body` with `$net` (and each `$data`) bound to the engine's concrete types.
macro_rules! dispatch {
    ($engine:expr, |$net:ident| $body:expr) => {
        match $engine {
            Engine::Cpu($net) => $body,
            Engine::Cuda($net) => $body,
        }
    };
    ($engine:expr, $data:expr, |$net:ident, $d:ident| $body:expr) => {
        match ($engine, $data) {
            (Engine::Cpu($net), EngineData::Cpu($d)) => $body,
            (Engine::Cuda($net), EngineData::Cuda($d)) => $body,
            _ => unreachable!("data uploaded by another engine"),
        }
    };
}
pub(crate) use dispatch;

impl<T: NnFloat> Engine<T> {
    pub fn upload(&self, data: &TrainingData<T>) -> Result<EngineData<T>> {
        Ok(match self {
            Engine::Cpu(n) => EngineData::Cpu(n.upload(&data.x, data.rows, data.host_targets())?),
            Engine::Cuda(n) => EngineData::Cuda(n.upload(&data.x, data.rows, data.host_targets())?),
        })
    }
}

pub(crate) struct Compiled<T: NnFloat> {
    pub loss: Loss,
    pub metrics: Vec<Metric>,
    pub engine: Engine<T>,
}

/// Keras's `Sequential`, over `f32` (or `f64`) parameters: any [`Layer`] — Keras's
/// [`Dense`] or a module of `ferrite::layers` (`Conv2d`, `MaxPool2d`, `Dropout`,
/// `BatchNorm`, ...). A stack of Dense layers alone trains on the fused, graph-captured path;
/// any other layer (or [`use_autograd`](Sequential::use_autograd)) trains it through autograd.
pub struct Sequential<T: NnFloat = f32> {
    pub(crate) slots: Vec<Slot<T>>,
    /// One sample's shape (Keras's `Input(shape=...)`); the first Dense's `input_dim` if unset.
    pub(crate) input: Option<Vec<usize>>,
    /// Train a Dense stack through autograd too.
    pub(crate) autograd: bool,
    /// The compiled general path.
    pub(crate) general: Option<General<T>>,
    pub(crate) seed: u64,
    pub(crate) device: Device,
    pub(crate) compiled: Option<Compiled<T>>,
    /// Weights set (or loaded) before `compile`; `compile` starts from them.
    pub(crate) pending: Option<Vec<T>>,
}

impl Sequential<f32> {
    /// An empty f32 model on the default device, seed 0.
    pub fn new() -> Self {
        Sequential::typed()
    }
}

impl Default for Sequential<f32> {
    fn default() -> Self {
        Sequential::new()
    }
}

impl<T: NnFloat> Sequential<T> {
    /// An empty model over `T` (f32 or f64).
    pub fn typed() -> Self {
        Sequential {
            slots: Vec::new(),
            input: None,
            autograd: false,
            general: None,
            seed: 0,
            device: default_device(),
            compiled: None,
            pending: None,
        }
    }

    /// Seeds the weights and the shuffling: the same seed gives the same weights and, on the
    /// same device, the same training history.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Trains and predicts on `device` (the default device otherwise). Call before `compile`.
    /// After `compile`, the model must be compiled again (its weights kept).
    pub fn on(mut self, device: &Device) -> Self {
        self.device = device.clone();
        self.invalidate();
        self
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// One sample's shape (Keras's `Input(shape=...)`): `[1, 8, 8]` for one-channel 8 × 8
    /// images. Needed unless the first layer is a Dense with `input_dim`.
    /// Like `add`, it changes the architecture: weights set before are dropped.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input = Some(shape.to_vec());
        self.invalidate();
        self.pending = None;
        self
    }

    /// Trains even a stack of Dense layers through the layers and autograd, not the fused
    /// network (for comparing the two; the fused path is faster). Call before `compile` and
    /// before setting weights: weights trained or set on one path are not carried to the
    /// other.
    pub fn use_autograd(mut self, on: bool) -> Self {
        self.autograd = on;
        self.invalidate();
        self
    }

    /// Keras's `model.add(layer)`: a [`Dense`], a module of `ferrite::layers`, or any
    /// [`Module`](crate::layers::Module) through [`Layer::custom`]. Uncompiles the model.
    pub fn add(&mut self, layer: impl Into<Layer<T>>) -> &mut Self {
        let slot = Slot::new(layer.into(), &self.slots);
        self.slots.push(slot);
        self.invalidate();
        self.pending = None;
        self
    }

    /// Uncompiles the model, keeping its weights: the fused path's as pending weights (the
    /// general path's stay in its layers).
    fn invalidate(&mut self) {
        if let Some(c) = self.compiled.take()
            && let Ok(params) = dispatch!(&c.engine, |n| n.params())
        {
            self.pending = Some(params);
        }
        self.general = None;
    }

    /// The layers, in order.
    pub fn layers(&self) -> impl Iterator<Item = &Layer<T>> {
        self.slots.iter().map(|s| &s.layer)
    }

    /// Whether the model trains through autograd: it has a layer other than Dense, an input
    /// of more than one axis, or [`use_autograd`](Sequential::use_autograd) asked for it.
    pub fn is_general(&self) -> bool {
        self.autograd
            || self.slots.iter().any(|s| s.layer.dense().is_none())
            || self.input.as_ref().is_some_and(|s| s.len() != 1)
    }

    /// One sample's shape: the given one, or the first Dense's `input_dim`.
    pub(crate) fn sample_shape(&self) -> Result<Vec<usize>> {
        if let Some(s) = &self.input {
            return Ok(s.clone());
        }
        match self.slots.first().map(|s| (&s.layer, &s.name)) {
            Some((Layer::Dense(Dense { input_dim: Some(n), .. }), _)) => Ok(vec![*n]),
            Some((l, name)) => Err(Error::Config(format!(
                "the first layer ({name}, {}) needs the model's input shape: Sequential::input_shape(&[..]) \
                 (Keras's Input(shape=...)), or input_dim on a first Dense",
                l.kind()
            ))),
            None => Err(Error::Config("the model has no layers; add one".into())),
        }
    }

    /// Builds the general path's layers (sizing its Dense layers); each layer's output shape.
    pub(crate) fn build_general(&mut self) -> Result<Vec<Vec<usize>>> {
        let input = self.sample_shape()?;
        general::build(&mut self.slots, &input, self.seed, &self.device)
    }

    /// The layers as one module: `model.stack().state_dict()`, `.parameters()`, ...
    pub(crate) fn stack(&mut self) -> Stack<'_, T> {
        Stack(&mut self.slots)
    }

    /// Input and output sizes of every layer, checking the architecture.
    pub(crate) fn shapes(&self) -> Result<Vec<LayerShape>> {
        let layers = self
            .slots
            .iter()
            .map(|s| {
                s.layer.dense().copied().ok_or_else(|| {
                    Error::Config(format!(
                        "layer {} is a {}: not a Dense stack (the general path)",
                        s.name,
                        s.layer.kind()
                    ))
                })
            })
            .collect::<Result<Vec<Dense>>>()?;
        let first = layers.first().ok_or_else(|| Error::Config("the model has no layers; add a Dense layer".into()))?;
        let mut inputs = match (first.input_dim, self.input.as_deref()) {
            (Some(n), Some(s)) if s != [n] => {
                return Err(Error::Config(format!(
                    "the first layer's input_dim {n} disagrees with the model's input shape {s:?}"
                )));
            }
            (Some(n), _) | (None, Some(&[n])) => n,
            _ => {
                return Err(Error::Config(
                    "the first layer needs input_dim (Dense::new(..).input_dim(n)) or the model an input shape \
                     (Sequential::input_shape(&[n]))"
                        .into(),
                ));
            }
        };
        let mut shapes = Vec::new();
        for (i, l) in layers.iter().enumerate() {
            if l.units == 0 || inputs == 0 {
                return Err(Error::Config(format!(
                    "layer {i} has {} inputs and {} units; both must be positive",
                    inputs, l.units
                )));
            }
            if let Some(d) = l.input_dim.filter(|&d| d != inputs) {
                return Err(Error::Config(format!(
                    "layer {i} declares input_dim {d} but the previous layer has {inputs} units"
                )));
            }
            if l.activation == Activation::Softmax && i + 1 != layers.len() {
                return Err(Error::Config(format!("layer {i}: softmax is supported on the output layer only")));
            }
            let params = inputs.checked_add(1).and_then(|i| i.checked_mul(l.units)).filter(|&p| p <= u32::MAX as usize);
            if params.is_none() {
                return Err(Error::Config(format!("layer {i} ({inputs} inputs, {} units) is too large", l.units)));
            }
            shapes.push(LayerShape { inputs, units: l.units, activation: l.activation });
            inputs = l.units;
        }
        Ok(shapes)
    }

    /// Keras's Glorot-uniform kernels (limit `sqrt(6 / (fan_in + fan_out))`) and zero biases,
    /// drawn from the model's seed.
    pub(crate) fn initial_params(&self, shapes: &[LayerShape]) -> Result<Vec<T>> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut params = try_with_capacity(total_params(shapes)?)?;
        for s in shapes {
            let limit = (6.0 / (s.inputs as f64 + s.units as f64)).sqrt();
            params.extend((0..s.inputs * s.units).map(|_| T::from_f64(rng.random_range(-limit..limit))));
            params.extend(std::iter::repeat_n(T::from_f64(0.0), s.units));
        }
        Ok(params)
    }

    /// Refuses a model whose parameters, gradients and optimizer state cannot fit in the
    /// device's memory, before anything is allocated (a 15 GB layer on a 16 GB machine).
    fn check_footprint(&self, shapes: &[LayerShape], optimizer: &Optimizer) -> Result<()> {
        let buffers = 2 + optimizer.state_buffers() as u128;
        admit_on(&self.device, bytes_of::<T>(total_params(shapes)?) * buffers).map(drop)
    }

    /// Keras's `compile(loss, optimizer, metrics)`: checks the architecture against the loss,
    /// creates the weights and puts the model on its device.
    pub fn compile(&mut self, loss: Loss, optimizer: Optimizer, metrics: &[Metric]) -> Result<()> {
        if self.is_general() {
            self.invalidate();
            let shapes = self.build_general()?;
            let input = self.sample_shape()?;
            let g = General::new(&mut self.slots, shapes, input, loss, optimizer, metrics, &self.device)?;
            self.general = Some(g);
            return Ok(());
        }
        let shapes = self.shapes()?;
        optimizer.validate()?;
        let out = shapes.last().expect("shapes() refuses empty models");
        let head = match loss {
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy
                if out.activation != Activation::Softmax =>
            {
                return Err(Error::Config(format!(
                    "{loss:?} needs a softmax output layer, but the last layer's activation is {}",
                    out.activation
                )));
            }
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy if out.units < 2 => {
                let what = format!("the output layer of {loss:?} ({} unit)", out.units);
                return Err(Error::TooFewClasses { classes: out.units, what });
            }
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => Head::Xent,
            Loss::MeanSquaredError => Head::Mse(out.activation.code()),
        };
        self.check_footprint(&shapes, &optimizer)?;
        // Keep trained (or loaded) weights across a recompile, as Keras does.
        let params = self.flat_params(&shapes)?;
        self.pending = None;
        let engine = match &self.device {
            Device::Cpu => Engine::Cpu(Network::new(CpuNn::new(), shapes, &params, head, optimizer)?),
            Device::Cuda(c) => Engine::Cuda(Network::new(CudaNn::new(c.clone()), shapes, &params, head, optimizer)?),
        };
        self.compiled = Some(Compiled { loss, metrics: metrics.to_vec(), engine });
        Ok(())
    }

    /// `compile` from Keras's strings: `compile_str("categorical_crossentropy", "sgd", &["accuracy"])`.
    pub fn compile_str(&mut self, loss: &str, optimizer: &str, metrics: &[&str]) -> Result<()> {
        let metrics = metrics.iter().map(|m| m.parse()).collect::<Result<Vec<Metric>>>()?;
        self.compile(loss.parse()?, optimizer.parse()?, &metrics)
    }

    pub(crate) fn compiled(&mut self, what: &str) -> Result<&mut Compiled<T>> {
        self.compiled
            .as_mut()
            .ok_or_else(|| Error::Config(format!("{what} needs a compiled model: call compile first")))
    }

    /// All parameters in the flat layout: from the device if compiled, else the pending ones,
    /// else the seeded initial ones.
    pub(crate) fn flat_params(&self, shapes: &[LayerShape]) -> Result<Vec<T>> {
        match (&self.compiled, &self.pending) {
            (Some(c), _) => dispatch!(&c.engine, |n| n.params()),
            (None, Some(p)) => Ok(p.clone()),
            (None, None) => self.initial_params(shapes),
        }
    }

    /// Replaces all parameters (flat layout, length already checked).
    pub(crate) fn replace_params(&mut self, flat: Vec<T>) -> Result<()> {
        match &mut self.compiled {
            Some(c) => dispatch!(&mut c.engine, |n| n.set_params(&flat)),
            None => {
                self.pending = Some(flat);
                Ok(())
            }
        }
    }

    /// Keras's `get_weights()`: per layer, the kernel (`inputs × units`, row-major) and the bias.
    ///
    /// On the general path: every tensor but counts, layer by layer (a BatchNorm's running
    /// mean and variance included, as Keras's), a Dense kernel as `inputs × units` and the
    /// other layers' tensors in PyTorch's layouts.
    pub fn get_weights(&mut self) -> Result<Vec<Vec<T>>> {
        if self.is_general() {
            self.ensure_built()?;
            return general::get_weights(&mut self.slots);
        }
        let shapes = self.shapes()?;
        let flat = self.flat_params(&shapes)?;
        let mut out = Vec::new();
        let mut at = 0;
        for s in &shapes {
            out.push(flat[at..at + s.inputs * s.units].to_vec());
            out.push(flat[at + s.inputs * s.units..at + s.params()].to_vec());
            at += s.params();
        }
        Ok(out)
    }

    /// Keras's `set_weights`: the same list `get_weights` returns. Resets the optimizer state.
    pub fn set_weights(&mut self, weights: &[Vec<T>]) -> Result<()> {
        if self.is_general() {
            self.ensure_built()?;
            general::set_weights(&mut self.slots, weights)?;
            return self.general.as_mut().map_or(Ok(()), General::reset_optimizer);
        }
        let shapes = self.shapes()?;
        if weights.len() != 2 * shapes.len() {
            return Err(Error::Config(format!(
                "set_weights: {} arrays for {} layers (a kernel and a bias each)",
                weights.len(),
                shapes.len()
            )));
        }
        let mut flat = Vec::new();
        for (i, s) in shapes.iter().enumerate() {
            let (k, b) = (&weights[2 * i], &weights[2 * i + 1]);
            if k.len() != s.inputs * s.units || b.len() != s.units {
                return Err(Error::shape_mismatch(
                    "set_weights",
                    &[k.len(), b.len()],
                    &[s.inputs * s.units, s.units],
                    format!("layer {i} needs a {}x{} kernel and {} biases", s.inputs, s.units, s.units),
                ));
            }
            flat.extend_from_slice(k);
            flat.extend_from_slice(b);
        }
        self.replace_params(flat)
    }

    /// The batch-mean loss and its gradient with respect to every parameter (in
    /// `get_weights` order, flattened), for the first `rows` rows of `data`: for gradient
    /// checks and debugging. Changes nothing.
    pub fn loss_and_gradients(&mut self, data: &TrainingData<T>) -> Result<(f64, Vec<T>)> {
        if self.is_general() {
            return Err(Error::Config(
                "loss_and_gradients is the fused Dense path's; a model with other layers gets its gradients from \
                 autograd (Var::backward)"
                    .into(),
            ));
        }
        let c = self.compiled("loss_and_gradients")?;
        data.check("loss_and_gradients", &c.engine_shapes(), c.loss)?;
        let mut d = c.engine.upload(data)?;
        dispatch!(&mut c.engine, &mut d, |n, d| n.gradients(d, 0, data.rows))
    }

    /// Parameters per layer, and in total.
    pub fn count_params(&mut self) -> Result<usize> {
        if self.is_general() {
            self.ensure_built()?;
            return Ok(self.general_counts().iter().map(|(t, n)| t + n).sum());
        }
        total_params(&self.shapes()?)
    }

    /// Builds the general path's layers unless compiled (and so built) already.
    pub(crate) fn ensure_built(&mut self) -> Result<()> {
        if self.general.is_none() {
            self.build_general()?;
        }
        Ok(())
    }

    /// Per layer of the general path, its trainable and non-trainable values.
    fn general_counts(&mut self) -> Vec<(usize, usize)> {
        let count = |s: &mut Slot<T>| {
            let m = s.module().expect("built");
            m.tensors().iter().fold((0, 0), |(p, b), (_, t)| match t {
                Tensor::Parameter(v) => (p + v.len(), b),
                Tensor::Buffer(a) => (p, b + a.len()),
                Tensor::Count(_) => (p, b),
            })
        };
        self.slots.iter_mut().map(count).collect()
    }

    /// Keras's `model.summary()`, as text.
    pub fn summary(&mut self) -> Result<String> {
        if self.is_general() {
            return self.general_summary();
        }
        let shapes = self.shapes()?;
        let rows: Vec<(String, String, usize)> = shapes
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let name = if i == 0 { "dense (Dense)".to_string() } else { format!("dense_{i} (Dense)") };
                (name, format!("(None, {})", l.units), l.params())
            })
            .collect();
        Ok(summary_table::<T>(&rows, self.count_params()?, 0))
    }

    /// `summary` on the general path: each layer's output shape (from the probe batch) and
    /// values, Keras's non-trainable ones being the running statistics.
    fn general_summary(&mut self) -> Result<String> {
        let outputs = self.build_general()?;
        let counts = self.general_counts();
        let rows: Vec<(String, String, usize)> = (self.slots.iter().zip(&outputs).zip(&counts))
            .map(|((slot, shape), (p, b))| {
                let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                (format!("{} ({})", slot.name, slot.layer.kind()), format!("(None, {})", dims.join(", ")), p + b)
            })
            .collect();
        let (trainable, fixed) = counts.iter().fold((0, 0), |(p, b), (x, y)| (p + x, b + y));
        Ok(summary_table::<T>(&rows, trainable, fixed))
    }
}

/// Keras's summary table: a row per layer (name and type, output shape, values), then the
/// totals with their sizes in `T`.
fn summary_table<T: NnFloat>(rows: &[(String, String, usize)], trainable: usize, fixed: usize) -> String {
    let (line, double) = ("_".repeat(65), "=".repeat(65));
    let mut s = format!(
        "Model: \"sequential\"\n{line}\n {:<27}{:<26}{}\n{double}\n",
        "Layer (type)", "Output Shape", "Param #"
    );
    for (name, shape, params) in rows {
        s += &format!(" {name:<27}{shape:<26}{params}\n");
    }
    // Keras prints an empty count's size in bytes.
    let size =
        |n: usize| if n == 0 { "0.00 Byte".to_string() } else { format!("{:.2} KB", bytes_of::<T>(n) as f64 / 1024.0) };
    let total = trainable + fixed;
    s += &format!(
        "{double}\nTotal params: {total} ({})\nTrainable params: {trainable} ({})\nNon-trainable params: {fixed} ({})\n{line}\n",
        size(total),
        size(trainable),
        size(fixed),
    );
    s
}

/// All layers' parameters (each layer's count is checked by `shapes`; their sum too, here).
pub(crate) fn total_params(shapes: &[LayerShape]) -> Result<usize> {
    let sum = shapes.iter().try_fold(0usize, |n, s| n.checked_add(s.params()));
    sum.ok_or_else(|| {
        Error::Config(format!("the model's {} layers have more parameters than usize holds", shapes.len()))
    })
}

impl<T: NnFloat> Compiled<T> {
    pub(crate) fn engine_shapes(&self) -> Vec<LayerShape> {
        dispatch!(&self.engine, |n| n.layers().to_vec())
    }
}
