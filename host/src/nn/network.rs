//! A dense network on one backend: the parameters, the optimizer state and the per-layer
//! buffers, and the training step as a sequence of backend operations, written once for the
//! CPU and for CUDA.
//!
//! Layout: all parameters are one flat buffer; layer `l` owns `W_aug = [W; b]`, an
//! `(inputs + 1) × units` block at `offsets[l]` (Keras's `get_weights` order), and the
//! gradients and optimizer state have the same layout, so one update touches everything.
//!
//! A step on rows `order[start..start + batch]` of a dataset already on the device:
//! forward through every layer (the first gathers its rows through the order), the loss head
//! (per-sample loss and correctness at `start..`, and the output gradient), then backward
//! layer by layer (parameter gradients, and the previous layer's delta), then the update.

use super::backend::{Dims, Head, Input, NnBackend, Scores, Targets, Update};
use super::config::{Activation, Optimizer};
use crate::alloc::{try_with_capacity, volume};
use crate::backend::cuda::CudaGraph;
use crate::dtype::Element;
use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LayerShape {
    pub inputs: usize,
    pub units: usize,
    pub activation: Activation,
}

impl LayerShape {
    pub fn params(&self) -> usize {
        (self.inputs + 1) * self.units
    }
}

/// Parameters and optimizer state set aside (`Network::snapshot`).
pub(crate) struct Snapshot<B: NnBackend> {
    params: B::Buf,
    state: Vec<B::Buf>,
    steps: u64,
}

/// Targets as the host holds them.
pub(crate) enum HostTargets<'a, T> {
    Classes(&'a [u32]),
    Rows(&'a [T]),
}

/// A dataset on the network's device, with its row order and per-sample scores.
pub(crate) struct Data<B: NnBackend> {
    x: B::Buf,
    targets: Targets<B>,
    rows: usize,
    order: B::Index,
    loss: B::Buf,
    correct: B::Buf,
    /// Captured training chunks, by chunk index: they bake in this data's buffers, so they
    /// live and die with it.
    graphs: Vec<Option<CudaGraph>>,
}

pub(crate) struct Network<B: NnBackend> {
    b: B,
    layers: Vec<LayerShape>,
    offsets: Vec<usize>,
    params: B::Buf,
    grads: B::Buf,
    state: Vec<B::Buf>,
    head: Head,
    optimizer: Optimizer,
    steps: u64,
    /// Per layer, `batch_cap × units`: outputs, then deltas (gradients w.r.t. pre-activations).
    acts: Vec<B::Buf>,
    deltas: Vec<B::Buf>,
    batch_cap: usize,
}

impl<B: NnBackend> Network<B> {
    pub fn new(b: B, layers: Vec<LayerShape>, params: &[B::T], head: Head, optimizer: Optimizer) -> Result<Self> {
        let offsets = layers.iter().scan(0, |at, l| Some(std::mem::replace(at, *at + l.params()))).collect();
        let n = params.len();
        let state = (0..optimizer.state_buffers()).map(|_| b.zeros(n)).collect::<Result<_>>()?;
        Ok(Network {
            params: b.upload(params)?,
            grads: b.zeros(n)?,
            state,
            b,
            layers,
            offsets,
            head,
            optimizer,
            steps: 0,
            acts: Vec::new(),
            deltas: Vec::new(),
            batch_cap: 0,
        })
    }

    fn ensure_batch(&mut self, batch: usize) -> Result<()> {
        if batch > self.batch_cap {
            let zeros = |l: &LayerShape| self.b.zeros(volume("fit", &[batch, l.units])?);
            self.acts = self.layers.iter().map(zeros).collect::<Result<_>>()?;
            self.deltas = self.layers.iter().map(zeros).collect::<Result<_>>()?;
            self.batch_cap = batch;
        }
        Ok(())
    }

    /// Copies a dataset to the device; rows start in their stored order.
    pub fn upload(&self, x: &[B::T], rows: usize, targets: HostTargets<'_, B::T>) -> Result<Data<B>> {
        let targets = match targets {
            HostTargets::Classes(c) => Targets::Classes(self.b.upload_index(c)?),
            HostTargets::Rows(r) => Targets::Rows(self.b.upload(r)?),
        };
        let order: Vec<u32> = (0..rows as u32).collect();
        Ok(Data {
            x: self.b.upload(x)?,
            targets,
            rows,
            order: self.b.upload_index(&order)?,
            loss: self.b.zeros(rows)?,
            correct: self.b.zeros(rows)?,
            graphs: Vec::new(),
        })
    }

    pub fn set_order(&self, data: &mut Data<B>, order: &[u32]) -> Result<()> {
        self.b.write_index(&mut data.order, order)
    }

    /// Forward pass over rows `order[start..start + batch]`; the last layer's activation is
    /// `last_act` (the loss heads apply the real one themselves).
    fn forward(&mut self, data: &Data<B>, start: usize, batch: usize, last_act: u32) -> Result<()> {
        self.ensure_batch(batch)?;
        let last = self.layers.len() - 1;
        for (l, shape) in self.layers.iter().enumerate() {
            let (done, rest) = self.acts.split_at_mut(l);
            let input = match l {
                0 => Input { x: &data.x, rows: Some((&data.order, start)), total: data.rows },
                _ => Input { x: &done[l - 1], rows: None, total: batch },
            };
            let act = if l == last { last_act } else { shape.activation.code() };
            let d = Dims { batch, inputs: shape.inputs, units: shape.units };
            self.b.dense_forward(input, (&self.params, self.offsets[l]), &mut rest[0], d, act)?;
        }
        Ok(())
    }

    /// Loss head on the last layer's logits; gradients into the last delta if `train`.
    fn score(&mut self, data: &mut Data<B>, start: usize, batch: usize, train: bool) -> Result<()> {
        let last = self.layers.len() - 1;
        let cols = self.layers[last].units;
        let dz = if train { Some(&mut self.deltas[last]) } else { None };
        let scores = Scores { loss: &mut data.loss, correct: &mut data.correct, offset: start };
        self.b.head(
            self.head,
            &self.acts[last],
            &data.targets,
            (&data.order, start),
            data.rows,
            dz,
            scores,
            (batch, cols),
        )
    }

    fn head_input_act(&self) -> u32 {
        Activation::Linear.code()
    }

    /// Forward, loss and backward on one batch: leaves the gradients in `self.grads`.
    fn backprop(&mut self, data: &mut Data<B>, start: usize, batch: usize) -> Result<()> {
        self.forward(data, start, batch, self.head_input_act())?;
        self.score(data, start, batch, true)?;
        for l in (0..self.layers.len()).rev() {
            let shape = self.layers[l];
            let d = Dims { batch, inputs: shape.inputs, units: shape.units };
            let input = match l {
                0 => Input { x: &data.x, rows: Some((&data.order, start)), total: data.rows },
                _ => Input { x: &self.acts[l - 1], rows: None, total: batch },
            };
            self.b.dense_backward_params(input, &self.deltas[l], (&mut self.grads, self.offsets[l]), d)?;
            if l > 0 {
                let (below, here) = self.deltas.split_at_mut(l);
                let act_prev = self.layers[l - 1].activation.code();
                let w = (&self.params, self.offsets[l]);
                self.b.dense_backward_input(&here[0], w, &self.acts[l - 1], &mut below[l - 1], d, act_prev)?;
            }
        }
        Ok(())
    }

    /// One optimizer step on rows `order[start..start + batch]`.
    pub fn train_batch(&mut self, data: &mut Data<B>, start: usize, batch: usize) -> Result<()> {
        self.backprop(data, start, batch)?;
        self.steps += 1;
        let step = self.update_step();
        self.b.update(step, &mut self.params, &self.grads, &mut self.state)
    }

    /// The batches `(start, len)` of chunk `chunk` of an epoch, one optimizer step each. On a
    /// CUDA device the chunk's launches are captured into a graph the first time and replayed
    /// afterwards: one launch per chunk instead of `3 × layers + 1` per step. The graph bakes
    /// in every argument, which holds across epochs because the order is rewritten in place and
    /// the step's scalars are constant; Adam's bias correction changes every step, so Adam runs
    /// without graphs.
    pub fn train_chunk(&mut self, data: &mut Data<B>, chunk: usize, batches: &[(usize, usize)]) -> Result<()> {
        let device = self.b.graph_device().filter(|_| !matches!(self.optimizer, Optimizer::Adam { .. }));
        let Some(device) = device else {
            return batches.iter().try_for_each(|&(start, len)| self.train_batch(data, start, len));
        };
        self.ensure_batch(batches.iter().map(|b| b.1).max().unwrap_or(0))?;
        if data.graphs.len() <= chunk {
            data.graphs.resize_with(chunk + 1, || None);
        }
        if data.graphs[chunk].is_none() {
            let graph =
                device.capture(|| batches.iter().try_for_each(|&(start, len)| self.train_batch(data, start, len)))?;
            // The capture counted its steps without running them; the replay below runs them.
            self.steps -= batches.len() as u64;
            data.graphs[chunk] = Some(graph);
        }
        data.graphs[chunk].as_ref().expect("captured above").replay()?;
        self.steps += batches.len() as u64;
        Ok(())
    }

    fn update_step(&self) -> Update<B::T> {
        let t = |v: f64| <B::T as Element>::from_f64(v);
        match self.optimizer {
            Optimizer::Sgd { learning_rate, momentum: 0.0, .. } => Update::Sgd { lr: t(learning_rate) },
            Optimizer::Sgd { learning_rate, momentum, nesterov } => {
                Update::Momentum { lr: t(learning_rate), mu: t(momentum), nesterov }
            }
            Optimizer::Adam { learning_rate, beta_1, beta_2, epsilon } => {
                let n = self.steps as f64;
                let alpha = learning_rate * (1.0 - beta_2.powf(n)).sqrt() / (1.0 - beta_1.powf(n));
                Update::Adam { alpha: t(alpha), beta1: t(beta_1), beta2: t(beta_2), eps: t(epsilon) }
            }
        }
    }

    /// The batch-mean loss and the gradients for rows `order[start..start + batch]`, without
    /// updating anything.
    pub fn gradients(&mut self, data: &mut Data<B>, start: usize, batch: usize) -> Result<(f64, Vec<B::T>)> {
        self.backprop(data, start, batch)?;
        let loss: Vec<B::T> = self.b.read(&data.loss, start..start + batch)?;
        let mean = loss.iter().map(|&v| Element::to_f64(v)).sum::<f64>() / batch as f64;
        Ok((mean, self.b.read(&self.grads, 0..self.params_len())?))
    }

    /// Mean loss and accuracy over the first `n` per-sample scores (reads the device once).
    pub fn scores(&self, data: &Data<B>, n: usize) -> Result<(f64, f64)> {
        let (loss, correct) = self.b.sum2(&data.loss, &data.correct, n)?;
        Ok((loss / n as f64, correct / n as f64))
    }

    /// Loss and accuracy over the whole dataset, in stored order.
    pub fn evaluate(&mut self, data: &mut Data<B>, batch: usize) -> Result<(f64, f64)> {
        let order: Vec<u32> = (0..data.rows as u32).collect();
        self.set_order(data, &order)?;
        let mut start = 0;
        while start < data.rows {
            let len = batch.min(data.rows - start);
            self.forward(data, start, len, self.head_input_act())?;
            self.score(data, start, len, false)?;
            start += len;
        }
        self.scores(data, data.rows)
    }

    /// The network's outputs (with the output activation) for every row of `x`.
    pub fn predict(&mut self, x: &[B::T], rows: usize, batch: usize) -> Result<Vec<B::T>> {
        let last = self.layers.last().expect("networks have layers");
        let (units, act) = (last.units, last.activation);
        let mut data = self.upload(x, rows, HostTargets::Rows(&[]))?;
        let mut out = try_with_capacity(volume("predict", &[rows, units])?)?;
        let mut start = 0;
        while start < rows {
            let len = batch.min(rows - start);
            let last_act = if act == Activation::Softmax { Activation::Linear.code() } else { act.code() };
            self.forward(&data, start, len, last_act)?;
            let y = self.acts.last_mut().expect("networks have layers");
            if act == Activation::Softmax {
                self.b.softmax(y, len, units)?;
            }
            out.extend(self.b.read(y, 0..len * units)?);
            start += len;
        }
        data.loss = self.b.zeros(0)?; // release early; `data` drops here too
        Ok(out)
    }

    pub fn layers(&self) -> &[LayerShape] {
        &self.layers
    }

    pub fn params_len(&self) -> usize {
        self.layers.iter().map(LayerShape::params).sum()
    }

    pub fn params(&self) -> Result<Vec<B::T>> {
        self.b.read(&self.params, 0..self.params_len())
    }

    /// A copy of the parameters and the optimizer's state, to return to with [`Self::restore`].
    pub fn snapshot(&self) -> Result<Snapshot<B>> {
        let copy = |buf: &B::Buf| -> Result<B::Buf> {
            let mut c = self.b.zeros(self.params_len())?;
            self.b.copy(buf, &mut c)?;
            Ok(c)
        };
        let state = self.state.iter().map(copy).collect::<Result<_>>()?;
        Ok(Snapshot { params: copy(&self.params)?, state, steps: self.steps })
    }

    /// Overwrites `snapshot` with the current parameters and optimizer state.
    pub fn save_to(&self, snapshot: &mut Snapshot<B>) -> Result<()> {
        self.b.copy(&self.params, &mut snapshot.params)?;
        for (from, to) in self.state.iter().zip(&mut snapshot.state) {
            self.b.copy(from, to)?;
        }
        snapshot.steps = self.steps;
        Ok(())
    }

    pub fn restore(&mut self, snapshot: &Snapshot<B>) -> Result<()> {
        self.b.copy(&snapshot.params, &mut self.params)?;
        for (from, to) in snapshot.state.iter().zip(&mut self.state) {
            self.b.copy(from, to)?;
        }
        self.steps = snapshot.steps;
        Ok(())
    }

    /// Whether every parameter is finite (reads them all: for rare checks).
    pub fn params_finite(&self) -> Result<bool> {
        Ok(self.params()?.iter().all(|&v| Element::to_f64(v).is_finite()))
    }

    /// Replaces the parameters (same layout) and resets the optimizer.
    pub fn set_params(&mut self, params: &[B::T]) -> Result<()> {
        self.b.write(&mut self.params, params)?;
        let n = params.len();
        self.state = (0..self.optimizer.state_buffers()).map(|_| self.b.zeros(n)).collect::<Result<_>>()?;
        self.steps = 0;
        Ok(())
    }
}
