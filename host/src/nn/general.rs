//! The general path of the Keras model: any stack of layers (`layer.rs`) trained through
//! autograd, with the loss and optimizer chosen in `compile` (the same [`Loss`] and
//! [`Optimizer`] as the fused path, run by `autograd::loss` and `autograd::optim`).
//!
//! - [`build`] sizes and initializes the model's Dense layers from a probe batch (one zero
//!   sample through the layers in evaluation mode, as Keras builds a model from its input
//!   shape) and moves every layer to the model's device; it also gives each layer's output
//!   shape for `summary`.
//! - [`General`] is what `compile` makes: the loss, the optimizer and the shapes.
//! - [`Stack`] is the model's layers as one [`Module`], its tensors named `<layer>.<tensor>`
//!   (`dense.weight`, `conv2d.bias`, `batch_norm.running_mean`): saved and loaded by
//!   `Module::save`/`load`, and what the optimizer updates.
//!
//! A batch is gathered on the device from the uploaded data (`index_select` of the epoch's
//! order); the loss and accuracy are read back after every batch (Keras's running means, and
//! `TerminateOnNaN`, which stops before the update of the first batch whose loss is not
//! finite, so the model keeps the weights from before it).

use super::config::{Activation, Loss, Metric, Optimizer};
use super::data::{Targets, TrainingData};
use super::layer::{DenseModule, Layer, Slot};
use super::progress::Progress;
use crate::array::Array;
use crate::autograd::optim;
use crate::autograd::{Var, loss, no_grad};
use crate::device::Device;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::layers::{Linear, Module, Tensor, prefixed};
use crate::nn::NnFloat;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The model's layers as one module (PyTorch's `nn.Sequential` with Keras's layer names).
pub(crate) struct Stack<'a, T: NnFloat>(pub &'a mut [Slot<T>]);

impl<T: NnFloat> Module<T> for Stack<'_, T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        let mut y = x.clone();
        for s in self.0.iter_mut() {
            let name = s.name.clone();
            let m = s.module().ok_or_else(|| Error::Config(format!("layer {name} is not built: compile first")))?;
            y = m.forward(&y)?;
        }
        Ok(y)
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        let mut all = Vec::new();
        for s in self.0.iter_mut() {
            let name = s.name.clone();
            if let Some(m) = s.module() {
                all.extend(prefixed(&name, m.tensors()));
            }
        }
        all
    }

    fn set_training(&mut self, training: bool) {
        self.0.iter_mut().filter_map(|s| s.module()).for_each(|m| m.set_training(training));
    }
}

/// Builds the layers for samples of shape `input` on `device`: each Dense gets a [`Linear`]
/// sized by the input it receives and Keras's Glorot-uniform kernel drawn from `seed` (the
/// draws of the fused path's `initial_params`, in the same order); the other layers move to
/// `device`. Layers built before keep their weights. Returns each layer's output shape for
/// one sample.
pub(crate) fn build<T: NnFloat>(
    slots: &mut [Slot<T>],
    input: &[usize],
    seed: u64,
    device: &Device,
) -> Result<Vec<Vec<usize>>> {
    if slots.is_empty() {
        return Err(Error::Config("the model has no layers; add one".into()));
    }
    if input.contains(&0) {
        return Err(Error::bad_shape("Sequential", input, "the input shape has an empty axis"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut shape = [&[1], input].concat();
    let mut probe = Var::constant(Array::full_on(&shape, T::from_f64(0.0), device)?);
    let mut shapes = Vec::new();
    for (i, s) in slots.iter_mut().enumerate() {
        if let Layer::Dense(d) = s.layer {
            let inputs = *shape.last().expect("the probe has a batch axis");
            if d.units == 0 {
                return Err(Error::Config(format!("layer {i} ({}) has 0 units", s.name)));
            }
            if let Some(n) = d.input_dim.filter(|&n| n != inputs) {
                return Err(Error::Config(format!(
                    "layer {i} ({}) declares input_dim {n} but receives {inputs} features",
                    s.name
                )));
            }
            let limit = (6.0 / (inputs as f64 + d.units as f64)).sqrt();
            let kernel: Vec<f64> = (0..inputs * d.units).map(|_| rng.random_range(-limit..limit)).collect();
            if s.built.is_none() {
                // Keras's kernel is `inputs × units`; Linear's weight is its transpose.
                let w =
                    (0..inputs * d.units).map(|j| T::from_f64(kernel[(j % inputs) * d.units + j / inputs])).collect();
                let linear = Linear {
                    weight: Var::parameter(Array::from_vec_on(w, &[d.units, inputs], device)?),
                    bias: Some(Var::parameter(Array::full_on(&[d.units], T::from_f64(0.0), device)?)),
                };
                s.built = Some(DenseModule { linear, activation: d.activation, logits_only: false });
            }
        }
        let m = s.module().expect("every layer is built above");
        m.to_device(device)?;
        m.set_training(false);
        probe = no_grad(|| m.forward(&probe))?;
        m.set_training(true);
        shape = probe.shape().to_vec();
        if shape.first() != Some(&1) || shape.contains(&0) {
            return Err(Error::Config(format!(
                "layer {i} ({}, {}) gives shape {shape:?} for a batch of one: a layer must keep the batch axis first \
                 and give no empty axis",
                s.name,
                s.layer.kind()
            )));
        }
        shapes.push(shape[1..].to_vec());
    }
    Ok(shapes)
}

/// Where the loss reads the model's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    /// The last layer's output (mean squared error).
    Outputs,
    /// The logits of the last layer, a softmax Dense run without its softmax
    /// (`DenseModule::logits_only`): cross-entropy on logits, the stable form.
    DenseLogits,
    /// The output of the layer before the last, an `Activation::Softmax` layer, which only
    /// `predict` runs.
    SoftmaxLayerLogits,
}

/// The layers whose output the loss takes: all but a final softmax layer.
fn trained<T: NnFloat>(head: Head, slots: &mut [Slot<T>]) -> &mut [Slot<T>] {
    let n = slots.len();
    if head == Head::SoftmaxLayerLogits { &mut slots[..n - 1] } else { slots }
}

/// The compiled general path: loss, metrics, optimizer and shapes.
pub(crate) struct General<T: NnFloat> {
    pub loss: Loss,
    pub metrics: Vec<Metric>,
    /// The optimizer as compiled, to start it again (`set_weights`, `load_weights`).
    config: Optimizer,
    optimizer: Box<dyn optim::Optimizer<T> + Send>,
    /// One sample's input and output shapes.
    pub input: Vec<usize>,
    pub output: Vec<usize>,
    head: Head,
    device: Device,
}

/// Training data on the device: the samples, the targets, and each row's class on the host
/// (for accuracy).
pub(crate) struct Uploaded<T: NnFloat> {
    x: Array<T>,
    targets: DeviceTargets<T>,
    classes: Vec<u32>,
    pub rows: usize,
}

enum DeviceTargets<T: NnFloat> {
    Classes(Array<i64>),
    Rows(Array<T>),
}

impl<T: NnFloat> General<T> {
    /// Checks the loss against the built layers and makes the optimizer.
    pub fn new(
        slots: &mut [Slot<T>],
        shapes: Vec<Vec<usize>>,
        input: Vec<usize>,
        loss: Loss,
        optimizer: Optimizer,
        metrics: &[Metric],
        device: &Device,
    ) -> Result<Self> {
        optimizer.validate()?;
        let optimizer_config = optimizer;
        let output = shapes.last().expect("build refuses empty models").clone();
        // Only the last layer may leave its softmax to the loss (it may have been another
        // layer at an earlier compile, before an `add`).
        slots.iter_mut().filter_map(|s| s.built.as_mut()).for_each(|d| d.logits_only = false);
        let last = slots.last_mut().expect("build refuses empty models");
        let head = match loss {
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
                if !last.layer.is_softmax() {
                    return Err(Error::Config(format!(
                        "{loss:?} needs a softmax output layer (Dense(.., Activation::Softmax) or \
                         layers::Activation::Softmax(-1)), but the last layer is {} ({})",
                        last.name,
                        last.layer.kind()
                    )));
                }
                if output.len() != 1 || output[0] < 2 {
                    let what = format!("the output of {loss:?} (shape {output:?} per sample)");
                    return Err(Error::TooFewClasses { classes: output.iter().product(), what });
                }
                if last.layer.dense().is_some() { Head::DenseLogits } else { Head::SoftmaxLayerLogits }
            }
            Loss::MeanSquaredError => Head::Outputs,
        };
        if let Some(d) = &mut last.built {
            d.logits_only = head == Head::DenseLogits;
        }
        let optimizer = start(optimizer)?;
        let metrics = metrics.to_vec();
        Ok(General { loss, metrics, config: optimizer_config, optimizer, input, output, head, device: device.clone() })
    }

    /// Starts the optimizer again (no moments, step 0), as the fused path does when its
    /// weights are replaced.
    pub fn reset_optimizer(&mut self) -> Result<()> {
        self.optimizer = start(self.config)?;
        Ok(())
    }

    /// The features per sample the data must have, and the outputs per sample.
    fn sizes(&self) -> (usize, usize) {
        (self.input.iter().product(), self.output.iter().product())
    }

    /// Checks `data` against the model and uploads it.
    pub fn upload(&self, op: &'static str, data: &TrainingData<T>) -> Result<Uploaded<T>> {
        let (features, units) = self.sizes();
        let shape = super::network::LayerShape { inputs: features, units, activation: Activation::Linear };
        data.check(op, &[shape], self.loss)?;
        let x = Array::from_vec_on(data.x.clone(), &[[data.rows].as_slice(), &self.input].concat(), &self.device)?;
        let (targets, classes) = match &data.targets {
            Targets::Classes(c) => {
                let labels = c.iter().map(|&l| l as i64).collect();
                (DeviceTargets::Classes(Array::from_vec_on(labels, &[data.rows], &self.device)?), c.clone())
            }
            Targets::Rows { values, cols } => {
                let classes = values.chunks(*cols).map(argmax).collect();
                let shape = [[data.rows].as_slice(), &self.output].concat();
                (DeviceTargets::Rows(Array::from_vec_on(values.clone(), &shape, &self.device)?), classes)
            }
        };
        Ok(Uploaded { x, targets, classes, rows: data.rows })
    }

    /// The loss of the batch `rows` (its output `out`) and the number of its rows predicted
    /// right.
    fn batch_loss(
        &self,
        out: &Var<T>,
        data: &Uploaded<T>,
        rows: &[u32],
        index: &Array<i64>,
    ) -> Result<(Var<T>, usize)> {
        let l = match &data.targets {
            DeviceTargets::Classes(c) => loss::sparse_cross_entropy(out, &c.index_select(0, index)?, 0.0)?,
            DeviceTargets::Rows(y) => {
                let y = Var::constant(y.index_select(0, index)?);
                if self.head == Head::Outputs { loss::mse(out, &y)? } else { loss::cross_entropy(out, &y, 0.0)? }
            }
        };
        let predicted = out.value().reshape(&[rows.len(), out.len() / rows.len().max(1)])?.argmax(Some(-1), false)?;
        let right = predicted.to_vec()?.iter().zip(rows).filter(|(p, r)| **p == **r as i64).count();
        Ok((l, right))
    }

    /// One epoch over `data` in `order`, in batches `(start, len)`: the running mean loss and
    /// accuracy. `at(i)` names batch `i` in the error that stops on a non-finite loss.
    #[allow(clippy::too_many_arguments)]
    pub fn train_epoch(
        &mut self,
        slots: &mut [Slot<T>],
        data: &Uploaded<T>,
        order: &[u32],
        batches: &[(usize, usize)],
        terminate_on_nan: bool,
        progress: &mut Progress,
        at: impl Fn(usize, f64) -> Error,
    ) -> Result<(f64, f64)> {
        let mut stack = Stack(trained(self.head, slots));
        stack.train();
        let (mut loss_sum, mut right, mut seen) = (0.0, 0usize, 0usize);
        for (i, &(start, len)) in batches.iter().enumerate() {
            let rows = &order[start..start + len];
            let index = Array::from_vec_on(rows.iter().map(|&r| r as i64).collect(), &[len], &self.device)?;
            let out = stack.forward(&Var::constant(data.x.index_select(0, &index)?))?;
            let (l, r) = self.batch_loss(
                &out,
                data,
                &rows.iter().map(|&r| data.classes[r as usize]).collect::<Vec<_>>(),
                &index,
            )?;
            let value = l.to_vec()?[0].to_f64();
            loss_sum += value * len as f64;
            (right, seen) = (right + r, seen + len);
            if terminate_on_nan && !loss_sum.is_finite() {
                return Err(at(i, loss_sum / seen as f64));
            }
            l.backward()?;
            let mut params = stack.parameters();
            self.optimizer.update(&mut params)?;
            params.iter().for_each(|p| p.zero_grad());
            let shown = progress
                .wants_metrics()
                .then(|| (loss_sum / seen as f64, self.scored().then_some(right as f64 / seen as f64)));
            progress.step(i + 1, shown);
        }
        Ok((loss_sum / seen.max(1) as f64, right as f64 / seen.max(1) as f64))
    }

    /// Whether accuracy is reported.
    pub fn scored(&self) -> bool {
        !self.metrics.is_empty()
    }

    /// Runs `each` on the outputs of `rows` rows of `x` in batches of `batch`, in evaluation
    /// mode without recording a graph; the layers are back in training mode after.
    fn batched(
        &self,
        slots: &mut [Slot<T>],
        x: &Array<T>,
        batch: usize,
        mut each: impl FnMut(&Var<T>, usize, usize) -> Result<()>,
    ) -> Result<()> {
        let mut stack = Stack(slots);
        stack.eval();
        let rows = x.shape()[0];
        let result = no_grad(|| -> Result<()> {
            for start in (0..rows).step_by(batch.max(1)) {
                let len = batch.min(rows - start);
                let out = stack.forward(&Var::constant(x.narrow(0, start as isize, len)?))?;
                each(&out, start, len)?;
            }
            Ok(())
        });
        stack.train();
        result
    }

    /// Keras's `evaluate`: the mean loss and accuracy over `data`.
    pub fn evaluate(&self, slots: &mut [Slot<T>], data: &Uploaded<T>, batch: usize) -> Result<(f64, f64)> {
        let (mut loss_sum, mut right) = (0.0, 0usize);
        self.batched(trained(self.head, slots), &data.x, batch, |out, start, len| {
            let rows: Vec<u32> = data.classes[start..start + len].to_vec();
            let index = Array::from_vec_on((start as i64..(start + len) as i64).collect(), &[len], &self.device)?;
            let (l, r) = self.batch_loss(out, data, &rows, &index)?;
            loss_sum += l.to_vec()?[0].to_f64() * len as f64;
            right += r;
            Ok(())
        })?;
        Ok((loss_sum / data.rows.max(1) as f64, right as f64 / data.rows.max(1) as f64))
    }

    /// Keras's `predict`: the outputs of every row of `x` (`[rows, ...input]`), on the host.
    pub fn predict(&self, slots: &mut [Slot<T>], x: &Array<T>, batch: usize) -> Result<Array<T>> {
        let xs = x.shape();
        if xs.len() != self.input.len() + 1 || xs[1..] != self.input[..] {
            let want = [&[xs.first().copied().unwrap_or(0)], self.input.as_slice()].concat();
            return Err(Error::shape_mismatch(
                "predict",
                xs,
                &want,
                format!("the model takes samples of shape {:?}", self.input),
            ));
        }
        let x = x.to_device(&self.device)?;
        let mut values = Vec::new();
        self.batched(slots, &x, batch, |out, _, _| {
            let p = if self.head == Head::DenseLogits { out.value().softmax_axis(-1)? } else { out.value().clone() };
            values.extend(p.to_vec()?);
            Ok(())
        })?;
        Array::from_vec_on(values, &[[xs[0]].as_slice(), &self.output].concat(), &Device::Cpu)
    }
}

/// The index of the largest value (the first of ties; NaN counts as largest, as NumPy's).
fn argmax<T: Element>(row: &[T]) -> u32 {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        let (v, b) = (v.to_f64(), row[best].to_f64());
        if v > b || (v.is_nan() && !b.is_nan()) {
            best = i;
        }
    }
    best as u32
}

/// The optimizer `config` names: Keras's SGD, or Keras's Adam (ε placed as the fused
/// path's kernel places it, so both paths take the same steps).
fn start<T: NnFloat>(config: Optimizer) -> Result<Box<dyn optim::Optimizer<T> + Send>> {
    Ok(match config {
        Optimizer::Sgd { learning_rate, momentum, nesterov } => {
            Box::new(optim::Sgd::with(learning_rate, momentum, nesterov && momentum > 0.0, 0.0)?)
        }
        Optimizer::Adam { learning_rate, beta_1, beta_2, epsilon } => {
            Box::new(optim::Adam::keras(learning_rate, (beta_1, beta_2), epsilon)?)
        }
    })
}

/// Whether slot `s`'s tensor `name` is a Dense kernel (stored as Linear's `[units, inputs]`,
/// shown as Keras's `inputs × units`).
fn is_kernel<T: NnFloat>(s: &Slot<T>, name: &str) -> bool {
    s.layer.dense().is_some() && name == "weight"
}

/// Keras's `get_weights`: every tensor but the counts, layer by layer in `state_dict` order
/// (BatchNorm's running statistics included, as Keras's moving mean and variance), each
/// flattened; a Dense kernel in Keras's `inputs × units` layout.
pub(crate) fn get_weights<T: NnFloat>(slots: &mut [Slot<T>]) -> Result<Vec<Vec<T>>> {
    let mut out = Vec::new();
    for s in slots.iter_mut() {
        let kernels: Vec<bool> = tensor_names(s).iter().map(|n| is_kernel(s, n)).collect();
        let m = s.module().expect("built");
        for ((_, t), kernel) in m.tensors().into_iter().zip(kernels) {
            let a = match t {
                Tensor::Parameter(p) => p.value().clone(),
                Tensor::Buffer(b) => b.clone(),
                Tensor::Count(_) => continue,
            };
            out.push(if kernel { a.t().to_vec()? } else { a.to_vec()? });
        }
    }
    Ok(out)
}

fn tensor_names<T: NnFloat>(s: &mut Slot<T>) -> Vec<String> {
    s.module().map(|m| m.tensors().into_iter().map(|(n, _)| n).collect()).unwrap_or_default()
}

/// Keras's `set_weights`: the list [`get_weights`] returns. Every array is checked before
/// any tensor changes.
pub(crate) fn set_weights<T: NnFloat>(slots: &mut [Slot<T>], weights: &[Vec<T>]) -> Result<()> {
    // Pass 1: the arrays, shaped and on their tensors' devices.
    let mut arrays = Vec::new();
    let mut next = weights.iter();
    for s in slots.iter_mut() {
        let kernels: Vec<bool> = tensor_names(s).iter().map(|n| is_kernel(s, n)).collect();
        let layer = s.name.clone();
        for ((name, t), kernel) in s.module().expect("built").tensors().into_iter().zip(kernels) {
            let (shape, device) = match &t {
                Tensor::Parameter(p) => (p.shape().to_vec(), p.device()),
                Tensor::Buffer(b) => (b.shape().to_vec(), b.device()),
                Tensor::Count(_) => continue,
            };
            let Some(v) = next.next() else {
                return Err(Error::Config(format!("set_weights: too few arrays: none for {layer}.{name}")));
            };
            if v.len() != shape.iter().product::<usize>() {
                let why = format!("{layer}.{name} has shape {shape:?}");
                return Err(Error::shape_mismatch("set_weights", &[v.len()], &shape, why));
            }
            let a = if kernel {
                Array::from_vec(v.clone(), &[shape[1], shape[0]])?.t().contiguous()?
            } else {
                Array::from_vec(v.clone(), &shape)?
            };
            arrays.push(a.to_device(&device)?);
        }
    }
    if next.next().is_some() {
        return Err(Error::Config(format!("set_weights: {} arrays for {} tensors", weights.len(), arrays.len())));
    }
    // Pass 2: the replacing, which cannot fail now.
    let mut arrays = arrays.into_iter();
    for (_, t) in Stack(slots).tensors() {
        match t {
            Tensor::Parameter(p) => p.assign(arrays.next().expect("counted above"))?,
            Tensor::Buffer(b) => *b = arrays.next().expect("counted above"),
            Tensor::Count(_) => {}
        }
    }
    Ok(())
}

/// The first tensor (by saved name) with a NaN or infinite element, for refusing to save it.
pub(crate) fn first_non_finite<T: NnFloat>(slots: &mut [Slot<T>]) -> Result<Option<(String, usize, f64)>> {
    for (name, t) in Stack(slots).tensors() {
        let values = match t {
            Tensor::Parameter(p) => p.to_vec()?,
            Tensor::Buffer(b) => b.to_vec()?,
            Tensor::Count(_) => continue,
        };
        if let Some(i) = values.iter().position(|v| !v.to_f64().is_finite()) {
            return Ok(Some((name, i, values[i].to_f64())));
        }
    }
    Ok(None)
}
