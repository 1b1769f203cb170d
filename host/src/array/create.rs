//! Constructors: `full`, `zeros`, `ones` (and their `_like`), `arange`, `linspace`, `eye`,
//! and seeded random samples. Values are made on the host and placed on the device once
//! (random samples are generated on the host so that a seed gives the same values on every
//! machine and device).

use super::Array;
use crate::alloc::{try_collect, try_filled, volume};
use crate::device::{Device, default_device};
use crate::dtype::{Element, Float, Num};
use crate::error::{Error, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

impl<T: Element> Array<T> {
    pub fn full(shape: &[usize], value: T) -> Result<Self> {
        Self::full_on(shape, value, &default_device())
    }

    pub fn full_on(shape: &[usize], value: T, device: &Device) -> Result<Self> {
        let n = volume("full", shape)?;
        crate::alloc::admit_on(device, n as u128 * size_of::<T>() as u128)?;
        Self::from_vec_on(try_filled(n, value)?, shape, device)
    }

    pub fn zeros(shape: &[usize]) -> Result<Self> {
        Self::full(shape, T::from_f64(0.0))
    }

    pub fn ones(shape: &[usize]) -> Result<Self> {
        Self::full(shape, T::from_f64(1.0))
    }

    /// An array of this one's shape and device filled with `value`.
    pub fn full_like(&self, value: T) -> Result<Self> {
        Self::full_on(self.shape(), value, &self.device())
    }

    pub fn zeros_like(&self) -> Result<Self> {
        self.full_like(T::from_f64(0.0))
    }

    pub fn ones_like(&self) -> Result<Self> {
        self.full_like(T::from_f64(1.0))
    }
}

impl<T: Num> Array<T> {
    /// `start, start + step, ...` below `stop` (above it for a negative step), as NumPy's
    /// `arange`: `ceil((stop - start) / step)` elements, each `start + i · step` computed in f64
    /// and converted once.
    pub fn arange(start: f64, stop: f64, step: f64) -> Result<Self> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
            return Err(Error::Config(format!(
                "arange: start {start}, stop {stop} and step {step} must be finite, step nonzero"
            )));
        }
        let n = ((stop - start) / step).ceil().max(0.0);
        if n >= usize::MAX as f64 {
            return Err(Error::bad_shape("arange", &[usize::MAX], format!("{n} elements")));
        }
        let n = n as usize;
        let data = try_collect(n, (0..n).map(|i| T::from_f64(start + i as f64 * step)))?;
        Self::from_vec(data, &[n])
    }

    /// The `n × n` identity matrix.
    pub fn eye(n: usize) -> Result<Self> {
        let total = volume("eye", &[n, n])?;
        let mut data = try_filled(total, T::from_f64(0.0))?;
        for i in 0..n {
            data[i * n + i] = T::from_f64(1.0);
        }
        Self::from_vec(data, &[n, n])
    }
}

impl<T: Float> Array<T> {
    /// `num` evenly spaced values from `start` to `stop` (NumPy's `linspace`; `endpoint` includes
    /// `stop`), each computed in f64 and converted once.
    pub fn linspace(start: f64, stop: f64, num: usize, endpoint: bool) -> Result<Self> {
        let div = if endpoint { num.saturating_sub(1) } else { num } as f64;
        let step = if div > 0.0 { (stop - start) / div } else { 0.0 };
        let data = try_collect(
            num,
            (0..num)
                .map(|i| T::from_f64(if endpoint && i + 1 == num && num > 1 { stop } else { start + i as f64 * step })),
        )?;
        Self::from_vec(data, &[num])
    }

    /// Seeded uniform samples in `[low, high)`, generated on the host (ChaCha8, so the same
    /// seed gives the same values on every machine and device) and placed on the default device.
    pub fn rand_uniform(shape: &[usize], low: f64, high: f64, seed: u64) -> Result<Self> {
        if !(low.is_finite() && high.is_finite()) {
            return Err(Error::Config(format!("rand_uniform: low {low} and high {high} must be finite")));
        }
        let dist = Uniform::new(low, high)
            .map_err(|e| Error::Config(format!("rand_uniform: low {low} and high {high}: {e}")))?;
        Self::sample(shape, dist, seed)
    }

    /// Seeded normal samples with mean `mean` and standard deviation `std` (finite, >= 0).
    pub fn rand_normal(shape: &[usize], mean: f64, std: f64, seed: u64) -> Result<Self> {
        if !(std >= 0.0 && std.is_finite() && mean.is_finite()) {
            return Err(Error::Config(format!("rand_normal: mean {mean} and std {std} must be finite, std >= 0")));
        }
        let dist = Normal::new(mean, std).map_err(|e| Error::Config(format!("rand_normal: std {std}: {e}")))?;
        Self::sample(shape, dist, seed)
    }

    fn sample(shape: &[usize], dist: impl Distribution<f64>, seed: u64) -> Result<Self> {
        let n = volume("rand", shape)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Self::from_vec(try_collect(n, (0..n).map(|_| T::from_f64(dist.sample(&mut rng))))?, shape)
    }
}
