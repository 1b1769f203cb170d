//! Convolution and pooling on [`Var`]s, NCHW, as im2col into the matmul:
//!
//! - the windows are a view ([`Var::unfold`] on the two spatial axes, after `pad`; a dilation
//!   is a stepped slice of each window), `[N, C, OH, OW, KH, KW]`;
//! - `conv2d` permutes that view to `[N, OH, OW, C, KH, KW]` and reshapes it to the im2col
//!   matrix `[N·OH·OW, C·KH·KW]` (the one copy: the strided copy kernel), multiplies it by the
//!   weight `[OC, C·KH·KW]ᵀ` on the matmul path (the tensor-core kernels on a GPU), and returns
//!   `[N, OH, OW, OC]` permuted to NCHW (a view: NHWC callers take it as it is);
//! - groups run as one batched matmul over the group axis;
//! - pooling reduces the window axes (`max`, `mean`).
//!
//! Every step is an op with its backward rule, so the gradients need no code here: the
//! weight's is `colsᵀ · g`, the input's goes back through the matmul, the copy and `unfold`'s
//! strided adds (col2im without atomics: one add per position in a window's extent, along
//! each spatial axis in turn). Costs, for the roofline: the im2col matrix is `KH·KW` times the
//! input (read once by the matmul), and the backward's strided adds move about as much again
//! (`KW` adds over the `KH`-times-larger row windows, then `KH` over the input's size).

use super::Var;
use crate::array::SliceArg;
use crate::dtype::Float;
use crate::error::{Error, Result};

/// How a convolution or a pooling pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding (Keras's `"valid"`, PyTorch's `padding=0`).
    Valid,
    /// Output length `ceil(len / stride)` (Keras's and TensorFlow's `"same"`; PyTorch's
    /// `padding="same"` for stride 1): the padding needed, the odd element after.
    Same,
    /// This many elements before and after, on every spatial axis (PyTorch's `padding=p`).
    Explicit(usize),
}

/// A 2-D convolution's geometry (PyTorch's `Conv2d` arguments but the channel counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dSpec {
    pub stride: [usize; 2],
    pub padding: Padding,
    pub dilation: [usize; 2],
    /// Channel groups: input and output channels both split into `groups` parts, part `i`
    /// of the output seeing only part `i` of the input (`groups == C`: depthwise).
    pub groups: usize,
}

impl Default for Conv2dSpec {
    /// Stride 1, no padding, no dilation, one group (PyTorch's defaults).
    fn default() -> Self {
        Conv2dSpec { stride: [1, 1], padding: Padding::Valid, dilation: [1, 1], groups: 1 }
    }
}

fn bad<T>(op: &'static str, shape: &[usize], why: String) -> Result<T> {
    Err(Error::bad_shape(op, shape, why))
}

/// The padding (before, after) of one spatial axis of length `len`.
fn pads(padding: Padding, len: usize, extent: usize, stride: usize) -> (usize, usize) {
    match padding {
        Padding::Valid => (0, 0),
        Padding::Explicit(p) => (p, p),
        // An empty axis stays empty (no window fits; `windows` says so).
        Padding::Same if len == 0 => (0, 0),
        Padding::Same => {
            let out = len.div_ceil(stride);
            let total = ((out - 1).saturating_mul(stride).saturating_add(extent)).saturating_sub(len);
            (total / 2, total - total / 2)
        }
    }
}

/// The windows of an NCHW input: `[N, C, OH, OW, KH, KW]`, padded with `fill`.
fn windows<T: Float>(
    op: &'static str,
    x: &Var<T>,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    padding: Padding,
    fill: T,
) -> Result<Var<T>> {
    if x.ndim() != 4 {
        return bad(op, x.shape(), format!("the input must be [N, C, H, W], not {} dimensions", x.ndim()));
    }
    let numbers = [("kernel", kernel), ("stride", stride), ("dilation", dilation)];
    if let Some((name, v)) = numbers.iter().find(|(_, v)| v.contains(&0)) {
        return bad(op, x.shape(), format!("{name} {v:?} has a 0"));
    }
    let extents = [0, 1].map(|a| (kernel[a] - 1).checked_mul(dilation[a]).and_then(|e| e.checked_add(1)));
    let [Some(eh), Some(ew)] = extents else {
        return bad(op, x.shape(), format!("kernel {kernel:?} with dilation {dilation:?} overflows"));
    };
    let extent = |a: usize| [eh, ew][a];
    let p = [0, 1].map(|a| pads(padding, x.shape()[2 + a], extent(a), stride[a]));
    let mut v = if p == [(0, 0); 2] { x.clone() } else { x.pad(&[(0, 0), (0, 0), p[0], p[1]], fill)? };
    for a in 0..2 {
        let len = v.shape()[2 + a];
        if extent(a) > len {
            let why = format!(
                "a window of {} elements (kernel {kernel:?}, dilation {dilation:?}) is longer than spatial axis {a} \
                 ({len} with padding)",
                extent(a)
            );
            return bad(op, x.shape(), why);
        }
        v = v.unfold(2 + a as isize, extent(a), stride[a])?;
        if dilation[a] > 1 {
            let mut spec = vec![SliceArg::from(..); v.ndim() - 1];
            spec.push(SliceArg::stepped(.., dilation[a] as isize));
            v = v.slice(&spec)?;
        }
    }
    Ok(v)
}

/// 2-D convolution (cross-correlation, as PyTorch's and Keras's) of an NCHW input `x`
/// `[N, C, H, W]` with `weight` `[OC, C / groups, KH, KW]` (PyTorch's layout) and an optional
/// `bias` `[OC]`: `[N, OC, OH, OW]`, a permuted view of an NHWC result.
pub fn conv2d<T: Float>(x: &Var<T>, weight: &Var<T>, bias: Option<&Var<T>>, spec: &Conv2dSpec) -> Result<Var<T>> {
    let op = "conv2d";
    let g = spec.groups;
    if weight.ndim() != 4 || x.ndim() != 4 {
        let why = format!("the input must be [N, C, H, W] and the weight [OC, C/groups, KH, KW]: {:?}", weight.shape());
        return bad(op, x.shape(), why);
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let [oc, cg, kh, kw] = [0, 1, 2, 3].map(|a| weight.shape()[a]);
    if g == 0 || c % g != 0 || oc % g != 0 || cg != c / g.max(1) {
        return Err(Error::shape_mismatch(
            op,
            x.shape(),
            weight.shape(),
            format!(
                "{c} input and {oc} output channels in {g} groups need a weight of [{oc}, {}, KH, KW]",
                c / g.max(1)
            ),
        ));
    }
    if let Some(b) = bias
        && b.shape() != [oc]
    {
        return Err(Error::shape_mismatch(op, b.shape(), &[oc], "the bias has one value per output channel"));
    }
    let win = windows(op, x, [kh, kw], spec.stride, spec.dilation, spec.padding, T::from_f64(0.0))?;
    let (oh, ow) = (win.shape()[2], win.shape()[3]);
    let rows = n * oh * ow;
    // The im2col matrix, one copy: [N·OH·OW, G, C/G·KH·KW].
    let cols = win.permute(&[0, 2, 3, 1, 4, 5])?.reshape(&[rows, g, cg * kh * kw])?;
    let w = weight.reshape(&[g, oc / g, cg * kh * kw])?;
    let y = if g == 1 {
        cols.reshape(&[rows, cg * kh * kw])?.matmul(&w.reshape(&[oc, cg * kh * kw])?.t()?)?
    } else {
        // [G, rows, C/G·K] · [G, C/G·K, OC/G] -> [G, rows, OC/G] -> [rows, G, OC/G]
        cols.permute(&[1, 0, 2])?.matmul(&w.t()?)?.permute(&[1, 0, 2])?.reshape(&[rows, oc])?
    };
    let mut y = y.reshape(&[n, oh, ow, oc])?;
    if let Some(b) = bias {
        y = (&y + b)?;
    }
    y.permute(&[0, 3, 1, 2])
}

/// 1-D convolution of `x` `[N, C, L]` with `weight` `[OC, C / groups, K]`: [`conv2d`] over a
/// height of 1 (`stride`, `dilation` and `padding` along the length).
pub fn conv1d<T: Float>(
    x: &Var<T>,
    weight: &Var<T>,
    bias: Option<&Var<T>>,
    stride: usize,
    padding: Padding,
    dilation: usize,
    groups: usize,
) -> Result<Var<T>> {
    if x.ndim() != 3 || weight.ndim() != 3 {
        let why = format!("the input must be [N, C, L] and the weight [OC, C/groups, K]: {:?}", weight.shape());
        return bad("conv1d", x.shape(), why);
    }
    // The height's padding must stay 0: `Explicit` pads the length only, through the 2-D
    // spec's explicit padding of a width-only input (height 1, kernel 1, no padding needed).
    let x2 = x.unsqueeze(2)?;
    let x2 = match padding {
        Padding::Explicit(p) if p > 0 => x2.pad(&[(0, 0), (0, 0), (0, 0), (p, p)], T::from_f64(0.0))?,
        _ => x2,
    };
    let padding = if matches!(padding, Padding::Explicit(_)) { Padding::Valid } else { padding };
    let spec = Conv2dSpec { stride: [1, stride], padding, dilation: [1, dilation], groups };
    conv2d(&x2, &weight.unsqueeze(2)?, bias, &spec)?.squeeze_axes(&[2])
}

/// A pooling's explicit padding must leave a real element in every window: at most half the
/// kernel (PyTorch's rule; `Same` never pads more).
fn pool_padding(op: &'static str, x: &[usize], kernel: [usize; 2], padding: Padding) -> Result<()> {
    match padding {
        Padding::Explicit(p) if kernel.iter().any(|&k| p > k / 2) => {
            bad(op, x, format!("padding {p} is more than half the kernel {kernel:?}: a window would hold only padding"))
        }
        _ => Ok(()),
    }
}

/// 2-D max pooling of an NCHW input (PyTorch's `max_pool2d`: padding is `-inf`; a NaN in a
/// window gives NaN). Tied maxima share the gradient (PyTorch gives it to one of them).
pub fn max_pool2d<T: Float>(x: &Var<T>, kernel: [usize; 2], stride: [usize; 2], padding: Padding) -> Result<Var<T>> {
    pool_padding("max_pool2d", x.shape(), kernel, padding)?;
    let win = windows("max_pool2d", x, kernel, stride, [1, 1], padding, T::from_f64(f64::NEG_INFINITY))?;
    win.max(vec![-2, -1], false)
}

/// 2-D average pooling of an NCHW input. `Explicit` padding counts its zeros in the mean
/// (PyTorch's `avg_pool2d` default, `count_include_pad`); `Same` averages only the real
/// elements of each window (Keras's and TensorFlow's `"same"`).
pub fn avg_pool2d<T: Float>(x: &Var<T>, kernel: [usize; 2], stride: [usize; 2], padding: Padding) -> Result<Var<T>> {
    let op = "avg_pool2d";
    pool_padding(op, x.shape(), kernel, padding)?;
    let win = windows(op, x, kernel, stride, [1, 1], padding, T::from_f64(0.0))?;
    if padding != Padding::Same {
        return win.mean(vec![-2, -1], false);
    }
    // The number of real elements in each window: the same windows over ones.
    let ones = Var::constant(x.value().ones_like()?);
    let count = windows(op, &ones, kernel, stride, [1, 1], padding, T::from_f64(0.0))?.sum(vec![-2, -1], false)?;
    &win.sum(vec![-2, -1], false)? / &count.detach()
}
