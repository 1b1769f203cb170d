//! Keras-style progress output during `fit`: a bar with ETA, loss and accuracy on a terminal
//! (verbose 1), one line per epoch otherwise (verbose 2, or verbose 1 without a terminal),
//! nothing at verbose 0. Output that cannot be written (a closed pipe) is dropped: it never
//! stops training. The bar is indicatif's, behind the `progress` feature; without it verbose 1
//! prints the per-epoch lines.

use super::fit::EpochLog;
#[cfg(feature = "progress")]
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the bar refreshes its loss and accuracy: each refresh reads the device once.
const REFRESH: Duration = Duration::from_millis(200);

pub(crate) struct Progress {
    verbose: u8,
    epochs: usize,
    bar: Option<ProgressBar>,
    last_refresh: Instant,
}

impl Progress {
    pub fn new(verbose: u8, epochs: usize) -> Self {
        Progress { verbose, epochs, bar: None, last_refresh: Instant::now() }
    }

    #[cfg_attr(not(feature = "progress"), allow(dead_code))] // the bar's only user is feature-gated
    fn bar_wanted(&self) -> bool {
        cfg!(feature = "progress") && self.verbose == 1 && std::io::stderr().is_terminal()
    }

    pub fn begin_epoch(&mut self, epoch: usize, steps: usize) {
        if self.verbose == 0 {
            return;
        }
        #[cfg(not(feature = "progress"))]
        let _ = (epoch, steps);
        #[cfg(feature = "progress")]
        if self.bar_wanted() {
            let _ = writeln!(std::io::stderr(), "Epoch {}/{}", epoch + 1, self.epochs);
            let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{pos:>5}/{len} [{bar:30}] ETA {eta} {msg}")
                .expect("valid template")
                .progress_chars("=> ");
            bar.set_style(style);
            self.bar = Some(bar);
            self.last_refresh = Instant::now();
        }
    }

    /// Whether the caller should read the running loss and accuracy for the bar now.
    pub fn wants_metrics(&self) -> bool {
        self.bar.is_some() && self.last_refresh.elapsed() >= REFRESH
    }

    /// `metrics`: the running loss and, if the model measures it, the accuracy.
    pub fn step(&mut self, done: usize, metrics: Option<(f64, Option<f64>)>) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            if let Some((loss, acc)) = metrics {
                let acc = acc.map(|a| format!(" - accuracy: {a:.4}")).unwrap_or_default();
                bar.set_message(format!("- loss: {loss:.4}{acc}"));
                self.last_refresh = Instant::now();
            }
        }
    }

    /// A warning on stderr, unless silent.
    pub fn warn(&self, message: &str) {
        if self.verbose > 0 {
            let line = format!("Warning: {message}");
            match &self.bar {
                Some(bar) => bar.suspend(|| drop(writeln!(std::io::stderr(), "{line}"))),
                None => drop(writeln!(std::io::stderr(), "{line}")),
            }
        }
    }

    pub fn end_epoch(&mut self, log: &EpochLog, steps: usize) {
        if self.verbose == 0 {
            return;
        }
        let line = log.describe(steps);
        match self.bar.take() {
            Some(bar) => {
                bar.finish_and_clear();
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            None => drop(writeln!(std::io::stdout(), "Epoch {}/{} - {line}", log.epoch + 1, self.epochs)),
        }
    }
}

/// Without the `progress` feature there is never a bar: this stands in for indicatif's, so
/// the code above reads the same either way.
#[cfg(not(feature = "progress"))]
struct ProgressBar;

#[cfg(not(feature = "progress"))]
impl ProgressBar {
    fn set_position(&self, _: u64) {}
    fn set_message(&self, _: String) {}
    fn suspend(&self, f: impl FnOnce()) {
        f()
    }
    fn finish_and_clear(&self) {}
}
