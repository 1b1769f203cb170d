//! Timing on the CPU: warm-up, then the median of many runs. The machine may be shared, so a
//! measurement and its baseline run alternately and see the same conditions.

use std::time::{Duration, Instant};

/// How long another library's threads are given to go idle after its turn, and the least time
/// a warm-up keeps the cores busy.
const SETTLE: Duration = Duration::from_millis(300);

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

fn seconds(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// At least `calls` calls of `g`, and more until `SETTLE` has passed.
fn busy(g: &mut dyn FnMut(), calls: usize) {
    let t = Instant::now();
    for _ in 0..calls {
        g();
    }
    while t.elapsed() < SETTLE {
        g();
    }
}

pub fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Median seconds per call of `f`, of `baseline` and of `other` (calls timed elsewhere, such
/// as NumPy's: `other(n)` makes `n` calls and gives their times, or `None`). They take turns
/// in a few rounds of back-to-back calls; the first call of each turn is not counted (it
/// wakes its library's threads). After `other`'s turn the machine gets time to settle:
/// OpenBLAS's threads keep spinning about 2^28 cycles (~0.1 s) after a call, and would take
/// the cores from whatever runs next. The cores settle busy, running `f` untimed, not asleep:
/// on this project's VMs a core left idle for 0.3 s runs the next ~10 ms up to 2x slower
/// (measured at 512³ matmul: 2.2-2.4 ms after a sleep, 1.2 ms after busy time), so a sleep
/// here slowed whichever turn came first after it, and only that one.
pub fn rounds(
    runs: Runs,
    mut f: impl FnMut(),
    mut baseline: impl FnMut(),
    mut other: impl FnMut(usize) -> Option<Vec<f64>>,
) -> (f64, f64, Option<f64>) {
    busy(&mut f, runs.warmup);
    busy(&mut baseline, runs.warmup);
    // At least ten rounds where there are calls enough, and more (five calls each) for many
    // calls: short calls in few rounds cover a second or two, and one slow stretch of a shared
    // vCPU then decides the median.
    let rounds = runs.timed.clamp(1, 10).max(runs.timed / 5);
    let burst = runs.timed.div_ceil(rounds);
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (g, times) in [(&mut f as &mut dyn FnMut(), &mut a), (&mut baseline, &mut b)] {
            g();
            times.extend((0..burst).map(|_| seconds(g)));
        }
        if let Some(t) = other(burst + 1) {
            c.extend(t.into_iter().skip(1));
            busy(&mut f, 1);
        }
    }
    (median(a), median(b), (!c.is_empty()).then(|| median(c)))
}
