//! Spatial layers: [`Conv2d`], [`Conv1d`], [`MaxPool2d`], [`AvgPool2d`] and
//! [`GlobalAvgPool2d`], over channels-first (NCHW, PyTorch's) or channels-last (NHWC, Keras's)
//! inputs. The arithmetic is `autograd::conv`'s (im2col into the matmul).

use super::{Module, Tensor, bias_seed, kaiming_uniform};
use crate::autograd::Var;
use crate::autograd::conv::{Conv2dSpec, Padding, avg_pool2d, conv1d, conv2d, max_pool2d};
use crate::dtype::Float;
use crate::error::{Error, Result};

/// Where the channels are: `[N, C, H, W]` (PyTorch's default) or `[N, H, W, C]` (Keras's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataFormat {
    #[default]
    ChannelsFirst,
    ChannelsLast,
}

impl DataFormat {
    /// `f` on the NCHW view of `x` (a permuted view for channels-last), its result back in
    /// this format.
    fn around<T: Float>(self, x: &Var<T>, f: impl FnOnce(&Var<T>) -> Result<Var<T>>) -> Result<Var<T>> {
        match self {
            DataFormat::ChannelsFirst => f(x),
            DataFormat::ChannelsLast => {
                if x.ndim() != 4 {
                    return Err(Error::bad_shape("channels_last", x.shape(), "the input must be [N, H, W, C]"));
                }
                f(&x.permute(&[0, 3, 1, 2])?)?.permute(&[0, 2, 3, 1])
            }
        }
    }
}

/// 2-D convolution (PyTorch's `nn.Conv2d`, Keras's `Conv2D`): `weight`
/// `[out, in / groups, KH, KW]`, `bias` `[out]`, uniform in `±1/√(in / groups · KH · KW)`.
pub struct Conv2d<T: Float> {
    pub weight: Var<T>,
    pub bias: Option<Var<T>>,
    pub spec: Conv2dSpec,
    pub format: DataFormat,
}

impl<T: Float> Conv2d<T> {
    /// `inputs → outputs` channels with a `kernel` window, stride 1, no padding, one group
    /// (set `spec` and `format` for others: [`Conv2d::with`]).
    pub fn new(inputs: usize, outputs: usize, kernel: [usize; 2], seed: u64) -> Result<Self> {
        Conv2d::with(inputs, outputs, kernel, Conv2dSpec::default(), seed)
    }

    /// With the stride, padding, dilation and groups of `spec`.
    pub fn with(inputs: usize, outputs: usize, kernel: [usize; 2], spec: Conv2dSpec, seed: u64) -> Result<Self> {
        let g = spec.groups;
        if g == 0 || !inputs.is_multiple_of(g) || !outputs.is_multiple_of(g) {
            return Err(Error::Config(format!(
                "Conv2d: {inputs} input and {outputs} output channels do not split into {g} groups"
            )));
        }
        let fan_in = (inputs / g) as f64 * kernel[0] as f64 * kernel[1] as f64;
        Ok(Conv2d {
            weight: kaiming_uniform(&[outputs, inputs / g, kernel[0], kernel[1]], fan_in, seed)?,
            bias: Some(kaiming_uniform(&[outputs], fan_in, bias_seed(seed))?),
            spec,
            format: DataFormat::ChannelsFirst,
        })
    }

    /// Taking channels-last input (and giving channels-last output).
    pub fn channels_last(self) -> Self {
        Conv2d { format: DataFormat::ChannelsLast, ..self }
    }

    pub fn without_bias(self) -> Self {
        Conv2d { bias: None, ..self }
    }
}

impl<T: Float> Module<T> for Conv2d<T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        self.format.around(x, |x| conv2d(x, &self.weight, self.bias.as_ref(), &self.spec))
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        weight_and_bias(&mut self.weight, &mut self.bias)
    }
}

fn weight_and_bias<'a, T: Float>(w: &'a mut Var<T>, b: &'a mut Option<Var<T>>) -> Vec<(String, Tensor<'a, T>)> {
    let mut t = vec![("weight".to_string(), Tensor::Parameter(w))];
    if let Some(b) = b {
        t.push(("bias".into(), Tensor::Parameter(b)));
    }
    t
}

/// 1-D convolution over `[N, C, L]` (PyTorch's `nn.Conv1d`): `weight` `[out, in / groups, K]`.
pub struct Conv1d<T: Float> {
    pub weight: Var<T>,
    pub bias: Option<Var<T>>,
    pub stride: usize,
    pub padding: Padding,
    pub dilation: usize,
    pub groups: usize,
}

impl<T: Float> Conv1d<T> {
    /// Stride 1, no padding, no dilation, one group (`stride`, `padding` and `dilation` may be
    /// changed after; other `groups` need a weight of `[out, in / groups, K]` as well).
    pub fn new(inputs: usize, outputs: usize, kernel: usize, seed: u64) -> Result<Self> {
        let fan_in = inputs as f64 * kernel as f64;
        Ok(Conv1d {
            weight: kaiming_uniform(&[outputs, inputs, kernel], fan_in, seed)?,
            bias: Some(kaiming_uniform(&[outputs], fan_in, bias_seed(seed))?),
            stride: 1,
            padding: Padding::Valid,
            dilation: 1,
            groups: 1,
        })
    }
}

impl<T: Float> Module<T> for Conv1d<T> {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        conv1d(x, &self.weight, self.bias.as_ref(), self.stride, self.padding, self.dilation, self.groups)
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        weight_and_bias(&mut self.weight, &mut self.bias)
    }
}

/// The geometry of a pooling layer; `stride` defaults to the kernel (PyTorch's and Keras's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: Padding,
    pub format: DataFormat,
}

impl Pool {
    fn new(kernel: [usize; 2]) -> Pool {
        Pool { kernel, stride: kernel, padding: Padding::Valid, format: DataFormat::ChannelsFirst }
    }
}

macro_rules! pool_layer {
    ($name:ident, $f:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub Pool);

        impl $name {
            /// A `kernel` window moved by its own size, no padding, channels first (change
            /// the fields of `.0` for others).
            pub fn new(kernel: [usize; 2]) -> Self {
                $name(Pool::new(kernel))
            }
        }

        impl<T: Float> Module<T> for $name {
            fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
                let p = self.0;
                p.format.around(x, |x| $f(x, p.kernel, p.stride, p.padding))
            }

            fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
                Vec::new()
            }
        }
    };
}

pool_layer!(
    MaxPool2d,
    max_pool2d,
    "The largest value of each window (PyTorch's `nn.MaxPool2d`, Keras's `MaxPooling2D`)."
);
pool_layer!(
    AvgPool2d,
    avg_pool2d,
    "The mean of each window (PyTorch's `nn.AvgPool2d`: `Explicit` padding counts its zeros; Keras's `AveragePooling2D`: `Same` averages only the real elements)."
);

/// The mean over the spatial axes: `[N, C]` (Keras's `GlobalAveragePooling2D`; PyTorch's
/// `AdaptiveAvgPool2d(1)` then `Flatten`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool2d(pub DataFormat);

impl<T: Float> Module<T> for GlobalAvgPool2d {
    fn forward(&mut self, x: &Var<T>) -> Result<Var<T>> {
        if x.ndim() != 4 {
            return Err(Error::bad_shape("GlobalAvgPool2d", x.shape(), "the input must have 4 dimensions"));
        }
        match self.0 {
            DataFormat::ChannelsFirst => x.mean(vec![2, 3], false),
            DataFormat::ChannelsLast => x.mean(vec![1, 2], false),
        }
    }

    fn tensors(&mut self) -> Vec<(String, Tensor<'_, T>)> {
        Vec::new()
    }
}
