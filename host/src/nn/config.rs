//! What a model is made of, by the names Keras users write: activations, losses, optimizers.

use crate::error::{Error, Result};
use kernels_gpu::nn::activation as codes;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    /// Only on the output layer (it couples the row; the loss kernels handle it).
    Softmax,
}

impl Activation {
    /// The kernels' code for it.
    pub(crate) fn code(self) -> u32 {
        match self {
            Activation::Linear => codes::LINEAR,
            Activation::Relu => codes::RELU,
            Activation::Sigmoid => codes::SIGMOID,
            Activation::Tanh => codes::TANH,
            Activation::Softmax => codes::SOFTMAX,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "linear" | "none" | "" => Activation::Linear,
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            other => {
                return Err(Error::Config(format!(
                    "unknown activation {other:?}: expected relu, softmax, sigmoid, tanh or linear"
                )));
            }
        })
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// One-hot (or soft) target rows; needs a softmax output layer.
    CategoricalCrossentropy,
    /// Integer class labels; needs a softmax output layer.
    SparseCategoricalCrossentropy,
    /// Mean over each row of the squared error, any output activation.
    MeanSquaredError,
}

impl FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "categorical_crossentropy" => Loss::CategoricalCrossentropy,
            "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy,
            "mse" | "mean_squared_error" => Loss::MeanSquaredError,
            other => {
                return Err(Error::Config(format!(
                    "unknown loss {other:?}: expected categorical_crossentropy, \
                     sparse_categorical_crossentropy or mean_squared_error"
                )));
            }
        })
    }
}

/// Keras's optimizers with Keras's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// `keras.optimizers.SGD(learning_rate, momentum, nesterov)`; defaults 0.01, 0, false.
    Sgd { learning_rate: f64, momentum: f64, nesterov: bool },
    /// `keras.optimizers.Adam`; defaults 0.001, 0.9, 0.999, 1e-7.
    Adam { learning_rate: f64, beta_1: f64, beta_2: f64, epsilon: f64 },
}

impl Optimizer {
    /// `'sgd'`: plain SGD, learning rate 0.01.
    pub fn sgd() -> Self {
        Optimizer::Sgd { learning_rate: 0.01, momentum: 0.0, nesterov: false }
    }

    pub fn adam() -> Self {
        Optimizer::Adam { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 }
    }

    pub fn learning_rate(&self) -> f64 {
        match *self {
            Optimizer::Sgd { learning_rate, .. } | Optimizer::Adam { learning_rate, .. } => learning_rate,
        }
    }

    /// The same optimizer with another learning rate.
    pub fn with_learning_rate(self, lr: f64) -> Self {
        match self {
            Optimizer::Sgd { momentum, nesterov, .. } => Optimizer::Sgd { learning_rate: lr, momentum, nesterov },
            Optimizer::Adam { beta_1, beta_2, epsilon, .. } => {
                Optimizer::Adam { learning_rate: lr, beta_1, beta_2, epsilon }
            }
        }
    }

    /// Buffers of optimizer state, each as large as the parameters.
    pub(crate) fn state_buffers(&self) -> usize {
        match *self {
            Optimizer::Sgd { momentum: 0.0, .. } => 0,
            Optimizer::Sgd { .. } => 1,
            Optimizer::Adam { .. } => 2,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: f64| Err(Error::Config(format!("optimizer {what} = {v} is out of range")));
        match *self {
            Optimizer::Sgd { learning_rate, momentum, .. } => {
                if !(learning_rate > 0.0 && learning_rate.is_finite()) {
                    return bad("learning_rate", learning_rate);
                }
                if !(0.0..1.0).contains(&momentum) {
                    return bad("momentum", momentum);
                }
            }
            Optimizer::Adam { learning_rate, beta_1, beta_2, epsilon } => {
                if !(learning_rate > 0.0 && learning_rate.is_finite()) {
                    return bad("learning_rate", learning_rate);
                }
                for (n, v) in [("beta_1", beta_1), ("beta_2", beta_2)] {
                    if !(0.0..1.0).contains(&v) {
                        return bad(n, v);
                    }
                }
                if !(epsilon > 0.0 && epsilon.is_finite()) {
                    return bad("epsilon", epsilon);
                }
            }
        }
        Ok(())
    }
}

impl FromStr for Optimizer {
    type Err = Error;
    /// `sgd` (Keras's plain SGD), `momentum` (SGD, momentum 0.9), `nesterov` (the same with
    /// Nesterov), `adam`, each with its default learning rate.
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "sgd" => Optimizer::sgd(),
            "momentum" => Optimizer::Sgd { learning_rate: 0.01, momentum: 0.9, nesterov: false },
            "nesterov" => Optimizer::Sgd { learning_rate: 0.01, momentum: 0.9, nesterov: true },
            "adam" => Optimizer::adam(),
            other => {
                return Err(Error::Config(format!(
                    "unknown optimizer {other:?}: expected sgd, momentum, nesterov or adam"
                )));
            }
        })
    }
}

/// Metrics `compile` accepts (Keras's `metrics=['accuracy']`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
}

impl FromStr for Metric {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "accuracy" | "acc" => Ok(Metric::Accuracy),
            other => Err(Error::Config(format!("unknown metric {other:?}: expected accuracy"))),
        }
    }
}
