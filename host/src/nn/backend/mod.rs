//! The operations a training step is made of, once per device: `cpu.rs` (gemm and plain
//! loops over the kernels' own scalar formulas) and `cuda.rs` (one kernel launch each, on a
//! GPU or on the emulator). `network.rs` strings them together once for both.

pub(crate) mod cpu;
pub(crate) mod cuda;

use crate::backend::cuda::CudaDevice;
use crate::error::Result;
use crate::nn::NnFloat;
use std::ops::Range;

/// Sizes of one dense layer applied to one batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub batch: usize,
    pub inputs: usize,
    pub units: usize,
}

/// A layer's input: the rows `index[start..start + batch]` of a dataset of `total` rows, or
/// (no index) the first `batch` rows of a batch buffer.
pub(crate) struct Input<'a, B: ?Sized + NnBackend> {
    pub x: &'a B::Buf,
    pub rows: Option<(&'a B::Index, usize)>,
    pub total: usize,
}

impl<B: ?Sized + NnBackend> Clone for Input<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<B: ?Sized + NnBackend> Copy for Input<'_, B> {}

/// Training targets as stored on the device.
pub(crate) enum Targets<B: ?Sized + NnBackend> {
    /// Integer class per row (sparse categorical cross-entropy).
    Classes(B::Index),
    /// A row of target values per row (categorical cross-entropy, mean squared error).
    Rows(B::Buf),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Head {
    /// Softmax cross-entropy.
    Xent,
    /// Mean squared error after this output activation code.
    Mse(u32),
}

/// One optimizer update with its scalars for this step (Adam's bias correction included).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Update<T> {
    Sgd { lr: T },
    Momentum { lr: T, mu: T, nesterov: bool },
    Adam { alpha: T, beta1: T, beta2: T, eps: T },
}

/// Per-sample outputs of a loss head: loss and correctness at `offset..offset + batch`.
pub(crate) struct Scores<'a, B: ?Sized + NnBackend> {
    pub loss: &'a mut B::Buf,
    pub correct: &'a mut B::Buf,
    pub offset: usize,
}

pub(crate) trait NnBackend {
    type T: NnFloat;
    /// `T` elements in the device's memory.
    type Buf;
    /// `u32` elements in the device's memory.
    type Index;

    fn zeros(&self, len: usize) -> Result<Self::Buf>;
    fn upload(&self, data: &[Self::T]) -> Result<Self::Buf>;
    fn upload_index(&self, data: &[u32]) -> Result<Self::Index>;
    /// Copies `range` back to the host (waiting for queued work).
    fn read(&self, buf: &Self::Buf, range: Range<usize>) -> Result<Vec<Self::T>>;
    fn write(&self, buf: &mut Self::Buf, data: &[Self::T]) -> Result<()>;
    fn write_index(&self, buf: &mut Self::Index, data: &[u32]) -> Result<()>;
    /// `dst = src`, buffers of the same length on this device.
    fn copy(&self, src: &Self::Buf, dst: &mut Self::Buf) -> Result<()>;

    /// `y = act([x | 1] · w_aug)`, `w_aug` at `w.1` in `w.0`.
    fn dense_forward(
        &self,
        x: Input<'_, Self>,
        w: (&Self::Buf, usize),
        y: &mut Self::Buf,
        d: Dims,
        act: u32,
    ) -> Result<()>;
    /// `dx = (dz · Wᵀ) ⊙ act_prev'(y_prev)`.
    fn dense_backward_input(
        &self,
        dz: &Self::Buf,
        w: (&Self::Buf, usize),
        y_prev: &Self::Buf,
        dx: &mut Self::Buf,
        d: Dims,
        act_prev: u32,
    ) -> Result<()>;
    /// `g_aug = [x | 1]ᵀ · dz`, written at `g.1` in `g.0`.
    fn dense_backward_params(
        &self,
        x: Input<'_, Self>,
        dz: &Self::Buf,
        g: (&mut Self::Buf, usize),
        d: Dims,
    ) -> Result<()>;
    /// Loss, correctness and (if `dz` is given) the gradient of the batch-mean loss for logits
    /// `z` (`batch × cols`) against the targets of rows `rows.0[rows.1..rows.1 + batch]`.
    #[allow(clippy::too_many_arguments)]
    fn head(
        &self,
        head: Head,
        z: &Self::Buf,
        targets: &Targets<Self>,
        rows: (&Self::Index, usize),
        total: usize,
        dz: Option<&mut Self::Buf>,
        scores: Scores<'_, Self>,
        shape: (usize, usize),
    ) -> Result<()>;
    /// Updates `params` from `grads`; `state` holds the optimizer's buffers.
    fn update(
        &self,
        step: Update<Self::T>,
        params: &mut Self::Buf,
        grads: &Self::Buf,
        state: &mut [Self::Buf],
    ) -> Result<()>;
    /// `(Σ a[..n], Σ b[..n])`, in a fixed order.
    fn sum2(&self, a: &Self::Buf, b: &Self::Buf, n: usize) -> Result<(f64, f64)>;
    /// Row softmax of `rows × cols` values, in place.
    fn softmax(&self, x: &mut Self::Buf, rows: usize, cols: usize) -> Result<()>;

    /// The CUDA device whose launches can be captured into graphs, if any.
    fn graph_device(&self) -> Option<CudaDevice> {
        None
    }
}
