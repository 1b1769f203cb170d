//! What [`Sequential::add`](super::Sequential::add) takes: a Keras [`Dense`] (sized when the
//! model is built, from the input it receives) or any [`Module`] of `ferrite::layers`
//! (`Conv2d`, `MaxPool2d`, `BatchNorm`, `Dropout`, ...), each under a Keras-style name
//! (`dense`, `dense_1`, `conv2d`, ...) that prefixes its tensors in saved weights.
//!
//! A pure Dense stack trains on the fused network (`network.rs`); any other layer moves the
//! model onto the general path (`general.rs`), where every layer is a `Module` and the
//! gradients come from autograd. There a `Dense` becomes a [`DenseModule`]: a
//! [`Linear`] (PyTorch's `[units, inputs]` weight) and its activation, initialized from the
//! model's seed exactly as the fused path initializes it, so both paths start (and, with the
//! same steps, end) at the same weights.

use super::config::Activation;
use super::model::Dense;
use crate::autograd::Var;
use crate::error::Result;
use crate::layers::{self, Linear, Module, Tensor};
use crate::nn::NnFloat;

/// One layer of a Keras model.
pub enum Layer<T: NnFloat> {
    /// Keras's `Dense(units, activation)`.
    Dense(Dense),
    /// Any other layer, with its type's name (`Conv2d`) for `summary`; `softmax` when it is
    /// an `Activation::Softmax` over the last axis (an output a cross-entropy loss takes).
    Module { kind: &'static str, module: Box<dyn Module<T> + Send>, softmax: bool },
}

impl<T: NnFloat> From<Dense> for Layer<T> {
    fn from(d: Dense) -> Self {
        Layer::Dense(d)
    }
}

/// `From` per layer type of `ferrite::layers` (a blanket over every `Module` would collide
/// with `From<Dense>` under Rust's coherence rules); [`Layer::custom`] takes any other.
macro_rules! layer_from {
    ($($ty:ty => $kind:literal),* $(,)?) => {$(
        impl<T: NnFloat> From<$ty> for Layer<T> {
            fn from(m: $ty) -> Self {
                Layer::custom($kind, m)
            }
        }
    )*};
}

layer_from!(
    layers::Conv2d<T> => "Conv2d", layers::Conv1d<T> => "Conv1d", layers::MaxPool2d => "MaxPool2d",
    layers::AvgPool2d => "AvgPool2d", layers::GlobalAvgPool2d => "GlobalAvgPool2d",
    layers::Flatten => "Flatten", layers::Dropout => "Dropout",
    layers::BatchNorm<T> => "BatchNorm", layers::LayerNorm<T> => "LayerNorm",
    layers::Embedding<T> => "Embedding", layers::Linear<T> => "Linear",
    layers::Sequential<T> => "Sequential",
);

impl<T: NnFloat> From<layers::Activation> for Layer<T> {
    fn from(a: layers::Activation) -> Self {
        let softmax = matches!(a, layers::Activation::Softmax(-1 | 1));
        Layer::Module { kind: "Activation", module: Box::new(a), softmax }
    }
}

impl<T: NnFloat> Layer<T> {
    /// A layer of the user's own (any [`Module`]), shown in `summary` as `kind`.
    pub fn custom(kind: &'static str, module: impl Module<T> + Send + 'static) -> Self {
        Layer::Module { kind, module: Box::new(module), softmax: false }
    }

    /// Whether this layer ends in a softmax over the last axis: a softmax `Dense`, or an
    /// `Activation::Softmax` layer.
    pub(crate) fn is_softmax(&self) -> bool {
        match self {
            Layer::Dense(d) => d.activation == Activation::Softmax,
            Layer::Module { softmax, .. } => *softmax,
        }
    }

    /// The layer's type as `summary` shows it (`Dense`, `Conv2d`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Dense(_) => "Dense",
            Layer::Module { kind, .. } => kind,
        }
    }

    /// The Dense configuration, if this is one.
    pub fn dense(&self) -> Option<&Dense> {
        match self {
            Layer::Dense(d) => Some(d),
            Layer::Module { .. } => None,
        }
    }
}

/// A layer of the model with its name and, on the general path once built, its module.
pub(crate) struct Slot<T: NnFloat> {
    pub layer: Layer<T>,
    /// Keras's name: the kind in snake case, `_1`, `_2`, ... for later ones of a kind.
    pub name: String,
    /// A Dense layer's module, built on the general path.
    pub built: Option<DenseModule<T>>,
}

impl<T: NnFloat> Slot<T> {
    /// The slot for `layer`, named after the slots before it.
    pub fn new(layer: Layer<T>, before: &[Slot<T>]) -> Self {
        let base = snake_case(layer.kind());
        let same = before.iter().filter(|s| snake_case(s.layer.kind()) == base).count();
        let name = if same == 0 { base } else { format!("{base}_{same}") };
        Slot { layer, name, built: None }
    }

    /// The module that runs this layer: the built Dense or the user's module. `None` for an
    /// unbuilt Dense.
    pub fn module(&mut self) -> Option<&mut dyn Module<T>> {
        match (&mut self.layer, &mut self.built) {
            (Layer::Module { module, .. }, _) => Some(module.as_mut()),
            (Layer::Dense(_), Some(d)) => Some(d),
            (Layer::Dense(_), None) => None,
        }
    }
}

/// `Conv2d` → `conv2d`, `MaxPool2d` → `max_pool2d`, `BatchNorm` → `batch_norm`.
fn snake_case(kind: &str) -> String {
    let mut s = String::new();
    for (i, c) in kind.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(c.to_ascii_lowercase());
    }
    s
}

/// A Keras `Dense` on the general path: a [`Linear`] and the activation. The activation is
/// left out where the loss takes the logits (`logits_only`: a softmax output under a
/// cross-entropy loss, whose fused form is the stable one).
pub(crate) struct DenseModule<T: NnFloat> {
    pub linear: Linear<T>,
    pub activation: Activation,
    pub logits_only: bool,
}

impl<T: NnFloat> Module<T> for DenseModule<T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        let z = self.linear.forward(x)?;
        if self.logits_only {
            return Ok(z);
        }
        match self.activation {
            Activation::Linear => Ok(z),
            Activation::Relu => z.relu(),
            Activation::Sigmoid => z.sigmoid(),
            Activation::Tanh => z.tanh(),
            Activation::Softmax => z.softmax(-1),
        }
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        self.linear.tensors()
    }
}
