//! Layers without spatial structure: [`Linear`] (Keras's `Dense`), [`Embedding`],
//! [`Flatten`], [`Dropout`] and [`Activation`] (activations as layers).

use super::{Module, Tensor, bias_seed, kaiming_uniform};
use crate::array::Array;
use crate::autograd::Var;
use crate::dtype::Float;
use crate::error::{Error, Result};

/// `y = x · Wᵀ + b` over the last axis (PyTorch's `nn.Linear`, Keras's `Dense` without its
/// activation): `weight` `[out, in]`, `bias` `[out]`, both uniform in `±1/√in` at first.
pub struct Linear<T: Float> {
    pub weight: Var<T>,
    pub bias: Option<Var<T>>,
}

impl<T: Float> Linear<T> {
    /// `inputs → outputs` with a bias, initialized from `seed` on the default device.
    pub fn new(inputs: usize, outputs: usize, seed: u64) -> Result<Self> {
        Ok(Linear {
            weight: kaiming_uniform(&[outputs, inputs], inputs as f64, seed)?,
            bias: Some(kaiming_uniform(&[outputs], inputs as f64, bias_seed(seed))?),
        })
    }

    /// Without the bias.
    pub fn without_bias(self) -> Self {
        Linear { bias: None, ..self }
    }
}

impl<T: Float> Module<T> for Linear<T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        table("Linear", &self.weight)?;
        let inputs = self.weight.shape()[1];
        if x.shape().last() != Some(&inputs) {
            let why = format!("the input's last axis must have the layer's {inputs} features");
            return Err(Error::shape_mismatch("Linear", x.shape(), self.weight.shape(), why));
        }
        let y = x.matmul(&self.weight.t()?)?;
        match &self.bias {
            Some(b) => &y + b,
            None => Ok(y),
        }
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        let mut t = vec![("weight".to_string(), Tensor::Parameter(&mut self.weight))];
        if let Some(b) = &mut self.bias {
            t.push(("bias".into(), Tensor::Parameter(b)));
        }
        t
    }
}

/// Rows of a table picked by integer ids (PyTorch's `nn.Embedding`, Keras's `Embedding`):
/// `weight` `[count, dim]`, standard normal at first. The ids come as a float array holding
/// whole numbers (Keras casts them too) or through [`Embedding::lookup`].
pub struct Embedding<T: Float> {
    pub weight: Var<T>,
}

impl<T: Float> Embedding<T> {
    pub fn new(count: usize, dim: usize, seed: u64) -> Result<Self> {
        Ok(Embedding { weight: Var::parameter(Array::rand_normal(&[count, dim], 0.0, 1.0, seed)?) })
    }

    /// The rows `ids` (any shape): `ids.shape() + [dim]`. An id outside `0..count` is an
    /// `IndexOutOfRange` error.
    pub fn lookup(&self, ids: &Array<i64>) -> Result<Var<T>> {
        table("Embedding", &self.weight)?;
        let mut shape = ids.shape().to_vec();
        shape.push(self.weight.shape()[1]);
        self.weight.index_select(0, &ids.flatten()?)?.reshape(&shape)
    }
}

impl<T: Float> Module<T> for Embedding<T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        let v = x.value();
        if !(v.isfinite()?.all()? && v.floor()?.eq(v)?.all()?) {
            let why = "the ids must be whole numbers (a fraction, NaN or infinity cannot pick a row)";
            return Err(Error::bad_shape("Embedding", x.shape(), why));
        }
        // Whole numbers past i64's range saturate, and are then out of range as ids.
        self.lookup(&v.cast::<i64>()?)
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        vec![("weight".into(), Tensor::Parameter(&mut self.weight))]
    }
}

/// Every axis after the first as one (PyTorch's `nn.Flatten()`, Keras's `Flatten`; a 1-D
/// batch becomes `[n, 1]`, as Keras's, where PyTorch refuses it).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl<T: Float> Module<T> for Flatten {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        if x.ndim() == 0 {
            return Err(Error::bad_shape("Flatten", x.shape(), "a batch axis first"));
        }
        let rest = x.shape()[1..].iter().product();
        x.reshape(&[x.shape()[0], rest])
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        Vec::new()
    }
}

/// Zeroes each element with probability `p` in training and scales the rest by `1/(1-p)`
/// (inverted dropout, PyTorch's and Keras's); the identity in evaluation. The masks come
/// from a seeded generator (the host's, as `Array::rand_uniform`), a new one per call.
pub struct Dropout {
    p: f64,
    seed: u64,
    calls: u64,
    training: bool,
}

impl Dropout {
    /// `p` in `[0, 1]`.
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::BadArgument {
                op: "Dropout",
                args: vec![("p", p)],
                reason: "p must be in [0, 1]".into(),
            });
        }
        Ok(Dropout { p, seed, calls: 0, training: true })
    }
}

impl<T: Float> Module<T> for Dropout {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        if !self.training || self.p == 0.0 {
            return Ok(x.clone());
        }
        let seed = self.seed.wrapping_add(self.calls.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        self.calls += 1;
        // Drawn in f32 whatever T is, so a 16-bit T's rounding does not move the rate.
        let keep = Array::<f32>::rand_uniform(x.shape(), 0.0, 1.0, seed)?.ge_scalar(self.p as f32)?;
        let scale = if self.p < 1.0 { 1.0 / (1.0 - self.p) } else { 0.0 };
        let scale = Array::full(&[], T::from_f64(scale))?;
        let mask = crate::array::functions::where_(&keep, &scale, &Array::full(&[], T::from_f64(0.0))?)?;
        x * &Var::constant(mask.to_device(&x.device())?)
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        Vec::new()
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// An activation as a layer (PyTorch's `nn.ReLU`, ..., Keras's `Activation`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    /// `x` where positive, `slope·x` elsewhere (PyTorch's default slope is 0.01).
    LeakyRelu(f64),
    Sigmoid,
    Tanh,
    /// The exact (erf) form.
    Gelu,
    Silu,
    Softplus,
    /// Along the axis.
    Softmax(isize),
    LogSoftmax(isize),
}

impl Activation {
    /// The activation of `x`.
    pub fn apply<T: Float>(&self, x: &Var<T>) -> Result<Var<T>> {
        match *self {
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(slope) => {
                let positive = x.value().gt_scalar(T::from_f64(0.0))?;
                crate::autograd::where_(&positive, x, &(x * T::from_f64(slope))?)
            }
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Gelu => x.gelu(),
            Activation::Silu => x.silu(),
            Activation::Softplus => x.softplus(),
            Activation::Softmax(axis) => x.softmax(axis),
            Activation::LogSoftmax(axis) => x.log_softmax(axis),
        }
    }
}

impl<T: Float> Module<T> for Activation {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        self.apply(x)
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        Vec::new()
    }
}

/// A layer's weight table must be 2-D (`weight` is a public field a user may replace).
fn table<T: Float>(op: &'static str, w: &Var<T>) -> Result<()> {
    if w.ndim() == 2 { Ok(()) } else { Err(Error::bad_shape(op, w.shape(), "the weight must be 2-D")) }
}
