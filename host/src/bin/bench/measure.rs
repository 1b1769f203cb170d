//! Timing on the CPU: warm-up, then the median of many runs. The machine may be shared, so a
//! measurement and its baseline run alternately and see the same conditions.

use std::time::Instant;

/// Warm-up calls and timed calls per measurement.
#[derive(Clone, Copy)]
pub struct Runs {
    pub warmup: usize,
    pub timed: usize,
}

impl Runs {
    /// `timed` runs (fewer with `--quick`), after a warm-up of a fifth as many.
    pub fn new(timed: usize, quick: bool) -> Self {
        let timed = if quick { timed.div_ceil(10).max(3) } else { timed };
        Runs { warmup: timed.div_ceil(5), timed }
    }
}

fn seconds(f: &mut impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Median seconds per call of `f` and of `baseline`, called alternately.
pub fn pair(runs: Runs, mut f: impl FnMut(), mut baseline: impl FnMut()) -> (f64, f64) {
    for _ in 0..runs.warmup {
        f();
        baseline();
    }
    let (mut a, mut b) = (Vec::with_capacity(runs.timed), Vec::with_capacity(runs.timed));
    for _ in 0..runs.timed {
        a.push(seconds(&mut f));
        b.push(seconds(&mut baseline));
    }
    (median(a), median(b))
}
