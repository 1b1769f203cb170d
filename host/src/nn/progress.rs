//! Keras-style progress output during `fit`: a bar with ETA, loss and accuracy on a terminal
//! (verbose 1), one line per epoch otherwise (verbose 2, or verbose 1 without a terminal),
//! nothing at verbose 0.

use super::fit::EpochLog;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
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

    fn bar_wanted(&self) -> bool {
        self.verbose == 1 && std::io::stderr().is_terminal()
    }

    pub fn begin_epoch(&mut self, epoch: usize, steps: usize) {
        if self.verbose == 0 {
            return;
        }
        if self.bar_wanted() {
            eprintln!("Epoch {}/{}", epoch + 1, self.epochs);
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

    pub fn step(&mut self, done: usize, metrics: Option<(f64, f64)>) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            if let Some((loss, acc)) = metrics {
                bar.set_message(format!("- loss: {loss:.4} - accuracy: {acc:.4}"));
                self.last_refresh = Instant::now();
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
                eprintln!("{line}");
            }
            None => println!("Epoch {}/{} - {line}", log.epoch + 1, self.epochs),
        }
    }
}
