//! Layers and models on autograd (PyTorch's `nn.Module`s, Keras's layers): a [`Module`] runs
//! `forward` on [`Var`]s, so its gradients come from the ops' backward rules, and names its
//! tensors as PyTorch's `state_dict` does, so a model saves to and loads from safetensors by
//! name (`0.weight`, `bn.running_mean`, ...) with PyTorch's layouts (a linear weight is
//! `[out, in]`, a convolution's `[OC, C / groups, KH, KW]`).
//!
//! - `dense.rs`: [`Linear`], [`Embedding`], [`Flatten`], [`Dropout`], [`Activation`];
//! - `conv.rs`: [`Conv2d`], [`Conv1d`], [`MaxPool2d`], [`AvgPool2d`], [`GlobalAvgPool2d`];
//! - `norm.rs`: [`BatchNorm`], [`LayerNorm`];
//! - here: the trait, [`Sequential`] and the state I/O.
//!
//! A custom model is a struct of layers with `forward` in user code; its `tensors` lists its
//! layers' under their field names with [`prefixed`]. Train it with [`Module::parameters`] and
//! an [`Optimizer`](crate::autograd::optim::Optimizer)'s `update`.

mod conv;
mod dense;
mod norm;

pub use crate::autograd::conv::{Conv2dSpec, Padding};
pub use conv::{AvgPool2d, Conv1d, Conv2d, DataFormat, GlobalAvgPool2d, MaxPool2d, Pool};
pub use dense::{Activation, Dropout, Embedding, Flatten, Linear};
pub use norm::{BatchNorm, LayerNorm};

use crate::array::Array;
use crate::autograd::Var;
use crate::device::Device;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::io::{AnyArray, NamedArrays};
use std::path::Path;

/// One tensor of a module's state, borrowed for reading or replacing.
pub enum Tensor<'a, T: Float> {
    /// A trained parameter.
    Parameter(&'a mut Var<T>),
    /// Saved but not trained (BatchNorm's running statistics).
    Buffer(&'a mut Array<T>),
    /// A saved count (BatchNorm's `num_batches_tracked`, an `i64` as in PyTorch).
    Count(&'a mut i64),
}

/// A layer or a model: PyTorch's `nn.Module`.
pub trait Module<T: Float> {
    /// The output for the input `x` (a batch first).
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>>;

    /// Every tensor of the state under its name relative to this module (PyTorch's
    /// `state_dict` keys), parameters first, in a fixed order.
    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)>;

    /// Training (the default) or evaluation mode: only in training does [`Dropout`] drop and
    /// [`BatchNorm`] normalize by the batch (and update its running statistics). A container
    /// passes the mode on to its layers.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Training mode (PyTorch's `model.train()`).
    fn train(&mut self) {
        self.set_training(true)
    }

    /// Evaluation mode (PyTorch's `model.eval()`).
    fn eval(&mut self) {
        self.set_training(false)
    }

    /// The trained parameters, in `tensors` order: what an optimizer's `update` takes.
    fn parameters(&mut self) -> Vec<&mut Var<T>> {
        self.tensors()
            .into_iter()
            .filter_map(|(_, t)| match t {
                Tensor::Parameter(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// Forgets every parameter's gradient.
    fn zero_grad(&mut self) {
        self.parameters().into_iter().for_each(|p| p.zero_grad());
    }

    /// The number of trained values.
    fn num_parameters(&mut self) -> usize {
        self.parameters().iter().map(|p| p.len()).sum()
    }

    /// Moves every tensor to `device` (parameters start with no gradient there).
    fn to_device(&mut self, device: &Device) -> Result<()> {
        for (_, t) in self.tensors() {
            match t {
                Tensor::Parameter(p) => *p = Var::parameter(p.value().to_device(device)?),
                Tensor::Buffer(b) => *b = b.to_device(device)?,
                Tensor::Count(_) => {}
            }
        }
        Ok(())
    }

    /// The state by name (PyTorch's `state_dict()`), sharing storage with the model.
    fn state_dict(&mut self) -> Result<Vec<(String, AnyArray)>> {
        self.tensors()
            .into_iter()
            .map(|(name, t)| {
                let a = match t {
                    Tensor::Parameter(p) => AnyArray::from(p.value()),
                    Tensor::Buffer(b) => AnyArray::from(&*b),
                    Tensor::Count(c) => AnyArray::from(Array::from_vec(vec![*c], &[])?),
                };
                Ok((name, a))
            })
            .collect()
    }

    /// Replaces the state from `arrays` (PyTorch's `load_state_dict(strict=True)`): every
    /// name must be there with its shape and dtype, and no other name may be; values move to
    /// each tensor's device. Nothing changes when something does not fit.
    fn load_state_dict(&mut self, arrays: &NamedArrays) -> Result<()> {
        let names: Vec<String> = self.tensors().into_iter().map(|(n, _)| n).collect();
        if let Some((extra, _)) = arrays.arrays.iter().find(|(n, _)| !names.contains(n)) {
            return Err(Error::UnexpectedArray { path: arrays.path.clone(), name: extra.clone(), expected: names });
        }
        // Every value fetched, checked and moved to its tensor's device before the first is
        // replaced, so that the replacing cannot fail.
        let mut values = Vec::new();
        for (name, t) in self.tensors() {
            let fits = |a: &[usize], b: &[usize]| {
                if a == b {
                    Ok(())
                } else {
                    Err(Error::shape_mismatch("load_state_dict", a, b, format!("{name} in the file vs the model")))
                }
            };
            values.push(match t {
                Tensor::Parameter(p) => {
                    let v = arrays.get::<T>(&name)?;
                    fits(v.shape(), p.shape())?;
                    if !p.is_parameter() {
                        let reason = format!("{name} is listed as a parameter but is not one (Var::parameter)");
                        return Err(Error::Autograd { op: "load_state_dict", reason });
                    }
                    AnyArray::from(v.to_device(&p.device())?)
                }
                Tensor::Buffer(b) => {
                    let v = arrays.get::<T>(&name)?;
                    fits(v.shape(), b.shape())?;
                    AnyArray::from(v.to_device(&b.device())?)
                }
                Tensor::Count(_) => {
                    let v = arrays.get::<i64>(&name)?;
                    fits(v.shape(), &[])?;
                    AnyArray::from(v)
                }
            });
        }
        for ((_, t), v) in self.tensors().into_iter().zip(values) {
            match t {
                Tensor::Parameter(p) => p.assign(v.downcast::<T>().expect("checked above"))?,
                Tensor::Buffer(b) => *b = v.downcast::<T>().expect("checked above"),
                Tensor::Count(c) => *c = v.downcast::<i64>().expect("checked above").to_vec()?[0],
            }
        }
        Ok(())
    }

    /// Saves the state in safetensors (loadable by PyTorch's `load_state_dict` through
    /// `safetensors.torch.load_file`).
    fn save(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        let state = self.state_dict()?;
        let named: Vec<(&str, AnyArray)> = state.iter().map(|(n, a)| (n.as_str(), a.clone())).collect();
        crate::io::save_safetensors(path, &named)
    }

    /// Loads the state saved by [`save`](Module::save) (or by PyTorch's
    /// `safetensors.torch.save_file(model.state_dict())`).
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        self.load_state_dict(&crate::io::load_safetensors(path)?)
    }
}

/// A sub-module's tensors under `prefix.` (how a model names its layers' tensors).
pub fn prefixed<'a, T: Float>(prefix: &str, tensors: Vec<(String, Tensor<'a, T>)>) -> Vec<(String, Tensor<'a, T>)> {
    tensors.into_iter().map(|(n, t)| (format!("{prefix}.{n}"), t)).collect()
}

/// Layers applied in order (PyTorch's `nn.Sequential`: layer `i`'s tensors are named `i.`...).
#[derive(Default)]
pub struct Sequential<T: Float> {
    layers: Vec<Box<dyn Module<T> + Send>>,
}

impl<T: Float> Sequential<T> {
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// With `layer` appended (Keras's `model.add`; not `std::ops::Add`, which would join two
    /// models).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Module<T> + Send + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl<T: Float> Module<T> for Sequential<T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        let mut y = x.clone();
        for layer in &mut self.layers {
            y = layer.forward(&y)?;
        }
        Ok(y)
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        self.layers.iter_mut().enumerate().flat_map(|(i, l)| prefixed(&i.to_string(), l.tensors())).collect()
    }

    fn set_training(&mut self, training: bool) {
        self.layers.iter_mut().for_each(|l| l.set_training(training));
    }
}

/// PyTorch's default initialization of a weight and bias with `fan_in` inputs per output (a
/// float: a product of user sizes cannot overflow it):
/// uniform in `±1/√fan_in` (Kaiming uniform with `a = √5`, as `nn.Linear` and `nn.Conv2d`).
fn kaiming_uniform<T: Float>(shape: &[usize], fan_in: f64, seed: u64) -> Result<Var<T>> {
    let bound = 1.0 / fan_in.max(1.0).sqrt();
    Ok(Var::parameter(Array::rand_uniform(shape, -bound, bound, seed)?))
}

/// The seed of a layer's second tensor (its bias) from the layer's seed.
fn bias_seed(seed: u64) -> u64 {
    seed ^ 0x9e37_79b9_7f4a_7c15
}
