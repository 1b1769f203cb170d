//! Normalization layers: [`BatchNorm`] (per channel, over the batch; running statistics for
//! evaluation) and [`LayerNorm`] (per sample, over the last axes). Both are made of the
//! reductions and arithmetic on [`Var`], so their gradients are the ops' rules.

use super::{Module, Tensor};
use crate::array::Array;
use crate::autograd::{Var, no_grad};
use crate::dtype::Float;
use crate::error::{Error, Result};

/// Batch normalization over axis 1 of `[N, C]`, `[N, C, L]` or `[N, C, H, W]` (PyTorch's
/// `BatchNorm1d`/`BatchNorm2d`, Keras's `BatchNormalization` on channels-first data).
///
/// In training, each channel is normalized by the batch's mean and biased variance, and the
/// running statistics move by `momentum` toward the batch's mean and *unbiased* variance (as
/// PyTorch's); in evaluation the running statistics normalize. Then `· weight + bias`.
pub struct BatchNorm<T: Float> {
    pub weight: Var<T>,
    pub bias: Var<T>,
    pub running_mean: Array<T>,
    pub running_var: Array<T>,
    pub num_batches_tracked: i64,
    /// PyTorch's convention: `running = (1 - momentum) · running + momentum · batch` (0.1).
    pub momentum: f64,
    pub eps: f64,
    training: bool,
}

impl<T: Float> BatchNorm<T> {
    /// `channels` channels: weight 1, bias 0, running mean 0 and variance 1, momentum 0.1,
    /// eps 1e-5 (PyTorch's defaults).
    pub fn new(channels: usize) -> Result<Self> {
        Ok(BatchNorm {
            weight: Var::parameter(Array::ones(&[channels])?),
            bias: Var::parameter(Array::zeros(&[channels])?),
            running_mean: Array::zeros(&[channels])?,
            running_var: Array::ones(&[channels])?,
            num_batches_tracked: 0,
            momentum: 0.1,
            eps: 1e-5,
            training: true,
        })
    }
}

impl<T: Float> Module<T> for BatchNorm<T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        let c = self.weight.len();
        if x.ndim() < 2 || x.shape()[1] != c {
            let why = format!("the input must be [N, {c}, ...]: the layer has {c} channels on axis 1");
            return Err(Error::shape_mismatch("BatchNorm", x.shape(), &[c], why));
        }
        let mut per_channel = vec![1; x.ndim()];
        per_channel[1] = c;
        let axes: Vec<isize> = (0..x.ndim() as isize).filter(|&a| a != 1).collect();
        let count = x.len() / c.max(1);
        let eps = T::from_f64(self.eps);
        let y = if self.training {
            if count < 2 {
                let why = format!("training needs more than one value per channel, the batch has {count}");
                return Err(Error::bad_shape("BatchNorm", x.shape(), why));
            }
            let mean = x.mean(axes.clone(), true)?;
            let var = x.var(axes, 0, true)?;
            no_grad(|| -> Result<()> {
                let m = self.momentum;
                let keep = T::from_f64(1.0 - m);
                let batch_mean = mean.value().reshape(&[c])?.mul_scalar(T::from_f64(m))?;
                let unbiased = count as f64 / (count - 1) as f64;
                let batch_var = var.value().reshape(&[c])?.mul_scalar(T::from_f64(m * unbiased))?;
                self.running_mean = self.running_mean.mul_scalar(keep)?.add(&batch_mean)?;
                self.running_var = self.running_var.mul_scalar(keep)?.add(&batch_var)?;
                Ok(())
            })?;
            self.num_batches_tracked += 1;
            (&(x - &mean)? * &(&var + eps)?.rsqrt()?)?
        } else {
            let mean = Var::constant(self.running_mean.reshape(&per_channel)?);
            let inv = Var::constant(self.running_var.reshape(&per_channel)?.add_scalar(eps)?.rsqrt()?);
            (&(x - &mean)? * &inv)?
        };
        &(&y * &self.weight.reshape(&per_channel)?)? + &self.bias.reshape(&per_channel)?
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        vec![
            ("weight".into(), Tensor::Parameter(&mut self.weight)),
            ("bias".into(), Tensor::Parameter(&mut self.bias)),
            ("running_mean".into(), Tensor::Buffer(&mut self.running_mean)),
            ("running_var".into(), Tensor::Buffer(&mut self.running_var)),
            ("num_batches_tracked".into(), Tensor::Count(&mut self.num_batches_tracked)),
        ]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// Layer normalization over the last axes (PyTorch's `nn.LayerNorm(shape)`, Keras's
/// `LayerNormalization`): each sample normalized by its own mean and biased variance over
/// those axes, then `· weight + bias` (of that shape: 1 and 0 at first); eps 1e-5.
pub struct LayerNorm<T: Float> {
    pub weight: Var<T>,
    pub bias: Var<T>,
    pub eps: f64,
}

impl<T: Float> LayerNorm<T> {
    /// Normalizing over the trailing axes `shape` (at least one axis, as PyTorch's).
    pub fn new(shape: &[usize]) -> Result<Self> {
        if shape.is_empty() {
            return Err(Error::bad_shape("LayerNorm", shape, "normalizing over no axis leaves only the bias"));
        }
        Ok(LayerNorm {
            weight: Var::parameter(Array::ones(shape)?),
            bias: Var::parameter(Array::zeros(shape)?),
            eps: 1e-5,
        })
    }
}

impl<T: Float> Module<T> for LayerNorm<T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        let shape = self.weight.shape().to_vec();
        let k = shape.len();
        if x.ndim() < k || x.shape()[x.ndim() - k..] != shape[..] {
            let why = format!("the input's last {k} axes must be the layer's shape");
            return Err(Error::shape_mismatch("LayerNorm", x.shape(), &shape, why));
        }
        let axes: Vec<isize> = (x.ndim() - k..x.ndim()).map(|a| a as isize).collect();
        let mean = x.mean(axes.clone(), true)?;
        let var = x.var(axes, 0, true)?;
        let y = (&(x - &mean)? * &(&var + T::from_f64(self.eps))?.rsqrt()?)?;
        &(&y * &self.weight)? + &self.bias
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        vec![("weight".into(), Tensor::Parameter(&mut self.weight)), ("bias".into(), Tensor::Parameter(&mut self.bias))]
    }
}
