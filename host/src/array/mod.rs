//! `Array<T>`: a typed, row-major n-dimensional array owned by one device.
//!
//! Constructors allocate on the [default device](crate::default_device) unless told
//! otherwise (`*_on`); operations run on the operands' device and never copy between devices
//! implicitly (`to_device`, `cpu()` and `cuda()` do that, as in PyTorch).

mod display;
mod ops;
mod precision;

use crate::alloc::{try_collect, try_filled, try_to_vec, volume};
use crate::backend::Storage;
use crate::device::{Device, default_device};
use crate::dtype::{DType, Element, Float};
use crate::error::{Error, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

pub use ops::{matmul, softmax, sqrt};
pub use precision::{
    MatmulPrecision, experimental_wgmma, float32_matmul_precision, set_experimental_wgmma, set_float32_matmul_precision,
};

pub struct Array<T: Element> {
    shape: Vec<usize>,
    storage: Storage<T>,
}

/// `n` elements made on the host by `fill`, placed on `device`. A CUDA buffer is allocated
/// first, so a device short of memory is the one an [`Error::OutOfMemory`] names.
fn place<T: Element>(device: &Device, n: usize, fill: impl FnOnce() -> Result<Vec<T>>) -> Result<Storage<T>> {
    Ok(match device {
        Device::Cpu => Storage::Cpu(fill()?),
        Device::Cuda(c) => {
            let mut buf = c.alloc::<T>(n)?;
            buf.write(&fill()?)?;
            Storage::Cuda(buf)
        }
    })
}

impl<T: Element> Array<T> {
    /// An array of `shape` holding `data` (row-major) on the default device.
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        Self::from_vec_on(data, shape, &default_device())
    }

    pub fn from_slice(data: &[T], shape: &[usize]) -> Result<Self> {
        Self::from_vec_on(try_to_vec(data)?, shape, &default_device())
    }

    /// An array of `shape` holding `data` on `device`; `data.len()` must equal the shape's size.
    pub fn from_vec_on(data: Vec<T>, shape: &[usize], device: &Device) -> Result<Self> {
        let expected = volume("from_vec", shape)?;
        if data.len() != expected {
            return Err(Error::DataLength { len: data.len(), shape: shape.to_vec(), expected });
        }
        let storage = match device {
            Device::Cpu => Storage::Cpu(data),
            Device::Cuda(c) => Storage::Cuda(c.upload(&data)?),
        };
        Ok(Array { shape: shape.to_vec(), storage })
    }

    /// A 0-dimensional array holding `value`.
    pub fn scalar(value: T) -> Result<Self> {
        Self::from_vec(vec![value], &[])
    }

    pub fn full(shape: &[usize], value: T) -> Result<Self> {
        Self::full_on(shape, value, &default_device())
    }

    pub fn full_on(shape: &[usize], value: T, device: &Device) -> Result<Self> {
        let n = volume("full", shape)?;
        let storage = place(device, n, || try_filled(n, value))?;
        Ok(Array { shape: shape.to_vec(), storage })
    }

    pub fn zeros(shape: &[usize]) -> Result<Self> {
        Self::full(shape, T::from_f64(0.0))
    }

    pub fn ones(shape: &[usize]) -> Result<Self> {
        Self::full(shape, T::from_f64(1.0))
    }

    pub(crate) fn from_storage(shape: Vec<usize>, storage: Storage<T>) -> Self {
        Array { shape, storage }
    }

    pub(crate) fn storage(&self) -> &Storage<T> {
        &self.storage
    }

    pub(crate) fn storage_mut(&mut self) -> &mut Storage<T> {
        &mut self.storage
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> DType {
        T::DTYPE
    }

    pub fn device(&self) -> Device {
        match &self.storage {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Cuda(b) => Device::Cuda(b.device().clone()),
        }
    }

    /// The elements in row-major order, copied to the host (`cp.asnumpy`, `.cpu().numpy()`).
    pub fn to_vec(&self) -> Result<Vec<T>> {
        match &self.storage {
            Storage::Cpu(v) => try_to_vec(v),
            Storage::Cuda(b) => b.to_vec(),
        }
    }

    /// A copy on `device` (a copy even if already there).
    pub fn to_device(&self, device: &Device) -> Result<Self> {
        let storage = match (&self.storage, device) {
            (Storage::Cpu(v), Device::Cpu) => Storage::Cpu(try_to_vec(v)?),
            (Storage::Cuda(b), Device::Cuda(c)) if b.device().same_device(c) => Storage::Cuda(b.try_clone()?),
            (Storage::Cpu(v), Device::Cuda(c)) => Storage::Cuda(c.upload(v)?),
            (Storage::Cuda(b), Device::Cpu) => Storage::Cpu(b.to_vec()?),
            (Storage::Cuda(b), Device::Cuda(c)) => Storage::Cuda(c.upload(&b.to_vec()?)?),
        };
        Ok(Array { shape: self.shape.clone(), storage })
    }

    /// A copy on the CPU (PyTorch's `.cpu()`).
    pub fn cpu(&self) -> Result<Self> {
        self.to_device(&Device::Cpu)
    }

    /// A copy on CUDA device 0 (PyTorch's `.cuda()`): an error if there is none.
    pub fn cuda(&self) -> Result<Self> {
        self.to_device(&Device::cuda(0)?)
    }

    pub fn try_clone(&self) -> Result<Self> {
        self.to_device(&self.device())
    }

    /// Copies `src`'s elements into this array (PyTorch's `copy_`), across devices if they
    /// differ; the shapes must match. On one CUDA device this is a device-to-device copy,
    /// the benchmark's bandwidth ceiling.
    pub fn copy_from(&mut self, src: &Array<T>) -> Result<()> {
        if self.shape != src.shape {
            return Err(Error::shape_mismatch("copy_from", &self.shape, &src.shape, "the shapes differ"));
        }
        match (&mut self.storage, &src.storage) {
            (Storage::Cpu(d), Storage::Cpu(s)) => d.copy_from_slice(s),
            (Storage::Cuda(d), Storage::Cuda(s)) if d.device().same_device(s.device()) => {
                let dev = d.device().clone();
                dev.copy(s, d)?
            }
            (Storage::Cuda(d), Storage::Cpu(s)) => d.write(s)?,
            (Storage::Cpu(d), Storage::Cuda(s)) => d.copy_from_slice(&s.to_vec()?),
            (Storage::Cuda(d), Storage::Cuda(s)) => d.write(&s.to_vec()?)?,
        }
        Ok(())
    }

    /// The same elements in a new shape of the same size (a copy).
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        if volume("reshape", shape)? != self.len() {
            return Err(Error::shape_mismatch("reshape", &self.shape, shape, "the sizes differ"));
        }
        let mut out = self.try_clone()?;
        out.shape = shape.to_vec();
        Ok(out)
    }
}

impl<T: Float> Array<T> {
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

    /// Seeded normal samples with mean `mean` and standard deviation `std` (finite, and not
    /// negative).
    pub fn rand_normal(shape: &[usize], mean: f64, std: f64, seed: u64) -> Result<Self> {
        if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
            return Err(Error::Config(format!("rand_normal: mean {mean} and std {std}: need finite values, std >= 0")));
        }
        let dist = Normal::new(mean, std).map_err(|e| Error::Config(format!("rand_normal: std {std}: {e}")))?;
        Self::sample(shape, dist, seed)
    }

    fn sample(shape: &[usize], dist: impl Distribution<f64>, seed: u64) -> Result<Self> {
        let n = volume("rand", shape)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let values = || try_collect(n, std::iter::repeat_with(|| T::from_f64(dist.sample(&mut rng))));
        Ok(Array { shape: shape.to_vec(), storage: place(&default_device(), n, values)? })
    }
}
