//! Training guards: Keras's `TerminateOnNaN` (on by default, `FitOptions::terminate_on_nan`)
//! and a warning when the loss grows by orders of magnitude.
//!
//! `fit` reads the epoch's running mean loss after every chunk of steps (one device read per
//! 16 steps), as Keras checks the running loss it logs after every batch. When it is not
//! finite, the network goes back to the snapshot taken before the chunk and replays the
//! chunk's batches one at a time, each checked, to find the first batch whose running loss is
//! not finite (or whose update leaves a weight that is not): `fit` stops there with
//! [`Error::NonFiniteLoss`] naming the epoch and batch, and the model keeps the weights from
//! before that batch. The snapshot is one copy of the parameters and the optimizer's state.

use super::backend::NnBackend;
use super::fit::History;
use super::network::{Data, Network, Snapshot};
use super::progress::Progress;
use crate::error::{Error, Result};

/// Where in `fit` a chunk of steps starts.
pub(crate) struct Position {
    pub epoch: usize,
    pub epochs: usize,
    /// The chunk's first batch in the epoch.
    pub batch: usize,
    pub batches: usize,
}

/// Called when the running loss after `chunk` (batches `(start, len)`, trained from
/// `before`) is not finite: replays the chunk from `before` one checked batch at a time and
/// stops at the first bad one with the weights from before it. `Ok` if the replay finds none
/// (the chunk's result is then the replay's).
pub(crate) fn find_divergence<B: NnBackend>(
    net: &mut Network<B>,
    data: &mut Data<B>,
    before: &mut Snapshot<B>,
    chunk: &[(usize, usize)],
    at: Position,
) -> Result<()> {
    net.restore(before)?;
    for (j, &(start, len)) in chunk.iter().enumerate() {
        net.save_to(before)?;
        net.train_batch(data, start, len)?;
        let (loss, _) = net.scores(data, start + len)?;
        if !loss.is_finite() || !net.params_finite()? {
            net.restore(before)?;
            let Position { epoch, epochs, batch, batches } = at;
            return Err(Error::NonFiniteLoss { epoch, epochs, batch: batch + j, batches, loss });
        }
    }
    Ok(())
}

/// How much larger than the loss at the start of `fit` the running loss may grow before a
/// warning: two orders of magnitude.
const GROWTH: f64 = 100.0;

/// Watches the running loss for growth by orders of magnitude; warns once per `fit`.
#[derive(Default)]
pub(crate) struct LossWatch {
    /// The first batch's mean loss, before any update.
    pub initial: Option<f64>,
    warned: bool,
}

impl LossWatch {
    pub fn check(&mut self, loss: f64, at: Position, history: &mut History, progress: &Progress) {
        let Some(initial) = self.initial.filter(|&l| l > 0.0) else { return };
        if self.warned || loss.is_nan() || loss <= GROWTH * initial {
            return;
        }
        self.warned = true;
        let message = format!(
            "the loss grew from {initial:.4} to {loss:.4e} by epoch {}/{}, batch {}/{}: the learning rate may be \
             too high",
            at.epoch + 1,
            at.epochs,
            at.batch,
            at.batches
        );
        progress.warn(&message);
        history.warnings.push(message);
    }
}
