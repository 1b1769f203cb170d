//! Helpers shared by the test suites: fresh random inputs, f64 references, tolerant compare.
#![allow(dead_code)]

pub mod arrays;
pub mod coverage;
pub mod devices;
pub mod interp;
pub mod tools;

pub use kernels_gpu::prelude::Float;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Debug;
use std::sync::OnceLock;

/// The largest block `entry` may launch with on every GPU ferrite's PTX targets: the least
/// over the variants of what its registers allow (ptxas's counts, `host/src/ptx/registers.rs`).
/// Kernel tests size their blocks with it, as the host does, so they never run a configuration
/// a GPU would refuse.
pub fn max_threads(entry: &str) -> u32 {
    ferrite::ptx::VARIANTS
        .iter()
        .filter(|v| v.has_entry(entry))
        .map(|v| {
            v.max_threads(entry).unwrap_or_else(|| {
                panic!(
                    "no register count for {entry} in the {} PTX: FERRITE_UPDATE_DOCS=1 cargo test --test ptx",
                    v.arch
                )
            })
        })
        .min()
        .unwrap_or_else(|| panic!("{entry} is in no PTX variant"))
}

/// The run's seed: `FERRITE_TEST_SEED` if set, else fresh from the clock (printed, so a
/// failure can be replayed with `FERRITE_TEST_SEED=<seed> cargo test`).
pub fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let s = std::env::var("FERRITE_TEST_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("FERRITE_TEST_SEED={s}");
        s
    })
}

/// A generator for one test case: the run's seed mixed with the case's name.
pub fn rng(case: &str) -> ChaCha8Rng {
    let h = case.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    ChaCha8Rng::seed_from_u64(seed() ^ h)
}

pub fn uniform(rng: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// Element types under test, with their unit roundoff.
pub trait Elem: Float + Debug + Send + Sync {
    const NAME: &'static str;
    /// Unit roundoff u = 2^-p (half the machine epsilon).
    const U: f64;
    /// Smallest positive normal number.
    const TINY: f64;
    fn of(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl Elem for f32 {
    const NAME: &'static str = "f32";
    const U: f64 = f32::EPSILON as f64 / 2.0;
    const TINY: f64 = f32::MIN_POSITIVE as f64;
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Elem for f64 {
    const NAME: &'static str = "f64";
    const U: f64 = f64::EPSILON / 2.0;
    const TINY: f64 = f64::MIN_POSITIVE;
    fn of(x: f64) -> f64 {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

pub fn cast<T: Elem>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::of(x)).collect()
}

pub fn widen<T: Elem>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

/// Checks `got[i]` against the f64 reference `want[i]` within `tol[i]`; NaN in the reference
/// requires NaN, and an unexpected NaN (e.g. an unwritten, poisoned element) fails.
pub fn assert_close<T: Elem>(got: &[T], want: &[f64], tol: impl Fn(usize) -> f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut bad = Vec::new();
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g.to_f64();
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= tol(i)
        };
        if !ok {
            bad.push(format!("[{i}] got {g:e}, want {w:e} (tolerance {:e})", tol(i)));
        }
    }
    assert!(
        bad.is_empty(),
        "{what}: {} of {} elements wrong (seed {}), first: {}",
        bad.len(),
        got.len(),
        seed(),
        bad[..bad.len().min(5)].join("; ")
    );
}
