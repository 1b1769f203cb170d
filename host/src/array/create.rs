//! Constructors: `full`, `zeros`, `ones` (and their `_like`), `arange`, `linspace`, `eye`,
//! and seeded random samples.
//!
//! On a CUDA device (real or emulated) `full`, `zeros`, `ones`, `arange`, `linspace` and `eye`
//! write their elements with kernels (`kernels_gpu::ops::fill`), uploading nothing; on the
//! CPU they are host loops computing the same values (`arange` and `linspace` through the
//! kernels' own [`iota_value`], so both devices agree bit for bit). Random samples are
//! generated on the host and placed on the device once, so that a seed gives the same values
//! on every machine and device.
//!
//! Arguments that describe no array (a zero step, non-finite bounds, an empty random range)
//! are [`Error::BadArgument`] naming the constructor and the values.

use super::Array;
use super::storage::{Storage, bytes_of};
use crate::alloc::{try_collect, try_filled, volume};
use crate::backend::cuda::fill::{self as gpu, Iota};
use crate::device::{Device, default_device};
use crate::dtype::{Element, Float, Num};
use crate::error::{Error, Result};
use kernels_gpu::ops::fill::iota_value;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// `value`'s bits, zero-extended: what the fill and eye kernels take.
fn bits<T: Element>(value: T) -> u64 {
    let mut b = [0u8; 8];
    b[..size_of::<T>()].copy_from_slice(bytes_of(&[value]));
    u64::from_le_bytes(b)
}

impl<T: Element> Array<T> {
    /// An array of `shape` on `device` whose elements the CPU makes with `cpu` (of `n`), or a
    /// CUDA device writes with `cuda` into a fresh buffer.
    fn made_on(
        op: &'static str,
        shape: &[usize],
        device: &Device,
        cpu: impl FnOnce(usize) -> Result<Vec<T>>,
        cuda: impl FnOnce(&mut crate::array::storage::CudaData) -> Result<()>,
    ) -> Result<Self> {
        let n = volume(op, shape)?;
        if let Device::Cpu = device {
            crate::alloc::admit_on(device, n as u128 * size_of::<T>() as u128)?;
            return Self::from_vec_on(cpu(n)?, shape, device);
        }
        let mut storage = Storage::alloc(T::DTYPE, n, device)?;
        if let Storage::Cuda(y) = &mut storage {
            cuda(y)?;
        }
        Ok(Self::from_storage(storage, shape))
    }

    pub fn full(shape: &[usize], value: T) -> Result<Self> {
        Self::full_on(shape, value, &default_device())
    }

    /// An array of `shape` on `device` with every element `value` (on CUDA: one fill kernel).
    pub fn full_on(shape: &[usize], value: T, device: &Device) -> Result<Self> {
        Self::filled("full", shape, value, device)
    }

    /// [`Array::full_on`] whose errors name `op` (`zeros`, `ones_like`, ...).
    fn filled(op: &'static str, shape: &[usize], value: T, device: &Device) -> Result<Self> {
        Self::made_on(op, shape, device, |n| try_filled(n, value), |y| gpu::fill(y, bits(value)))
    }

    pub fn zeros(shape: &[usize]) -> Result<Self> {
        Self::filled("zeros", shape, T::from_f64(0.0), &default_device())
    }

    pub fn ones(shape: &[usize]) -> Result<Self> {
        Self::filled("ones", shape, T::from_f64(1.0), &default_device())
    }

    /// An array of this one's shape and device filled with `value`.
    pub fn full_like(&self, value: T) -> Result<Self> {
        Self::filled("full_like", self.shape(), value, &self.device())
    }

    pub fn zeros_like(&self) -> Result<Self> {
        Self::filled("zeros_like", self.shape(), T::from_f64(0.0), &self.device())
    }

    pub fn ones_like(&self) -> Result<Self> {
        Self::filled("ones_like", self.shape(), T::from_f64(1.0), &self.device())
    }

    /// `n` elements of an iota ([`iota_value`]) on `device`.
    fn iota_on(op: &'static str, n: usize, p: Iota, device: &Device) -> Result<Self> {
        let value = move |i: usize| T::from_f64(iota_value(i as u64, p.start, p.step, p.den, p.last, p.stop));
        Self::made_on(op, &[n], device, |n| try_collect(n, (0..n).map(value)), |y| gpu::iota(op, y, p))
    }
}

impl<T: Num> Array<T> {
    /// `start, start + step, ...` below `stop` (above it for a negative step): NumPy's
    /// `arange` length, `ceil((stop - start) / step)` elements, but element `i` computed on its
    /// own as `i · step + start`, one fused multiply-add in f64, rounded once to `T` (NumPy
    /// rounds twice, so values may differ from NumPy's by an ulp; an integer `T` truncates
    /// each value, where NumPy truncates `start` and `step` first: `arange(-2.5, 1.0, 1.0)` is
    /// `[-2, -1, 0, 0]` here, `[-2, -1, 0, 1]` in NumPy). On the default device.
    pub fn arange(start: f64, stop: f64, step: f64) -> Result<Self> {
        Self::arange_on(start, stop, step, &default_device())
    }

    /// [`Array::arange`] on `device`.
    pub fn arange_on(start: f64, stop: f64, step: f64, device: &Device) -> Result<Self> {
        let args = [("start", start), ("stop", stop), ("step", step)];
        if !(start.is_finite() && stop.is_finite() && step.is_finite()) {
            return Err(Error::bad_argument("arange", &args, "start, stop and step must be finite"));
        }
        if step == 0.0 {
            return Err(Error::bad_argument("arange", &args, "step must be nonzero"));
        }
        let n = ((stop - start) / step).ceil().max(0.0);
        // Past 2^53 consecutive indices are no longer f64 values, so `i · step` would repeat.
        if n > (1u64 << 53) as f64 || n >= usize::MAX as f64 {
            return Err(Error::bad_argument("arange", &args, format!("{n:e} elements are more than 2^53")));
        }
        // Element 0 is `start` itself, as NumPy writes it (`0 · step + start` would turn a
        // `-0.0` start into `+0.0`).
        let p = Iota { start, step, den: 1.0, last: 0, stop: start };
        Self::iota_on("arange", n as usize, p, device)
    }

    /// The `n × n` identity matrix, on the default device.
    pub fn eye(n: usize) -> Result<Self> {
        Self::eye_on(n, &default_device())
    }

    /// [`Array::eye`] on `device` (on CUDA: one kernel writing zeros and the diagonal).
    pub fn eye_on(n: usize, device: &Device) -> Result<Self> {
        let one = T::from_f64(1.0);
        let cpu = |total: usize| {
            let mut data = try_filled(total, T::from_f64(0.0))?;
            for i in 0..n {
                data[i * n + i] = one;
            }
            Ok(data)
        };
        Self::made_on("eye", &[n, n], device, cpu, |y| gpu::eye(y, n, bits(one)))
    }
}

impl<T: Float> Array<T> {
    /// `num` evenly spaced values from `start` to `stop` (NumPy's `linspace`; `endpoint`
    /// includes `stop`, exactly), on the default device.
    pub fn linspace(start: f64, stop: f64, num: usize, endpoint: bool) -> Result<Self> {
        Self::linspace_on(start, stop, num, endpoint, &default_device())
    }

    /// [`Array::linspace`] on `device`, computed as NumPy computes it: `step = (stop - start)
    /// / div` with `div = num - 1` (`endpoint`) or `num`, element `i` is `i · step + start`
    /// (here one fused multiply-add in f64, rounded once to `T`; NumPy rounds the product
    /// first), `(i / div) · (stop - start) + start` when `step` underflows to zero, and the
    /// last element is `stop` itself when `endpoint` and `num > 1`.
    pub fn linspace_on(start: f64, stop: f64, num: usize, endpoint: bool, device: &Device) -> Result<Self> {
        let args = [("start", start), ("stop", stop), ("num", num as f64)];
        if !(start.is_finite() && stop.is_finite()) {
            return Err(Error::bad_argument("linspace", &args, "start and stop must be finite"));
        }
        let delta = stop - start;
        if !delta.is_finite() {
            return Err(Error::bad_argument("linspace", &args, "stop - start overflows f64"));
        }
        if num as f64 > (1u64 << 53) as f64 {
            return Err(Error::bad_argument("linspace", &args, "num is more than 2^53"));
        }
        let div = if endpoint { num.saturating_sub(1) } else { num } as f64;
        let step = if div > 0.0 { delta / div } else { delta };
        let (den, step) = if div > 0.0 && step == 0.0 { (div, delta) } else { (1.0, step) };
        let last = if endpoint && num > 1 { num as u64 - 1 } else { u64::MAX };
        Self::iota_on("linspace", num, Iota { start, step, den, last, stop }, device)
    }

    /// Seeded uniform samples in `[low, high)`, generated on the host (ChaCha8, so the same
    /// seed gives the same values on every machine and device) and placed on the default device.
    pub fn rand_uniform(shape: &[usize], low: f64, high: f64, seed: u64) -> Result<Self> {
        let args = [("low", low), ("high", high)];
        if !(low.is_finite() && high.is_finite()) {
            return Err(Error::bad_argument("rand_uniform", &args, "low and high must be finite"));
        }
        let dist = Uniform::new(low, high).map_err(|e| Error::bad_argument("rand_uniform", &args, e.to_string()))?;
        Self::sample(shape, dist, seed)
    }

    /// Seeded normal samples with mean `mean` and standard deviation `std` (finite, >= 0).
    pub fn rand_normal(shape: &[usize], mean: f64, std: f64, seed: u64) -> Result<Self> {
        let args = [("mean", mean), ("std", std)];
        if !(std >= 0.0 && std.is_finite() && mean.is_finite()) {
            return Err(Error::bad_argument("rand_normal", &args, "mean and std must be finite, std >= 0"));
        }
        let dist = Normal::new(mean, std).map_err(|e| Error::bad_argument("rand_normal", &args, e.to_string()))?;
        Self::sample(shape, dist, seed)
    }

    fn sample(shape: &[usize], dist: impl Distribution<f64>, seed: u64) -> Result<Self> {
        let n = volume("rand", shape)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Self::from_vec(try_collect(n, (0..n).map(|_| T::from_f64(dist.sample(&mut rng))))?, shape)
    }
}
