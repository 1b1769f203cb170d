//! Array operations: shape and device checks, then the backend of the operands' device.
//! 16-bit float arrays compute in f32: converted, computed, rounded back once.

use super::Array;
use crate::backend::{Storage, cpu, cuda};
use crate::dtype::{Element, Float, Native};
use crate::error::{Error, Result};
use kernels_gpu::elementwise::Sqrt;
use std::any::Any;

/// Runs `f` on `x` in its compute type, converting around it only for 16-bit floats.
fn in_compute_type<T: Float>(
    x: &Array<T>,
    f: impl FnOnce(&Array<T::Compute>) -> Result<Array<T::Compute>>,
) -> Result<Array<T>> {
    if let Some(native) = (x as &dyn Any).downcast_ref::<Array<T::Compute>>() {
        let out: Box<dyn Any> = Box::new(f(native)?);
        return Ok(*out.downcast::<Array<T>>().expect("T is its own compute type"));
    }
    f(&x.cast::<T::Compute>()?)?.cast::<T>()
}

fn same_device<T: Element>(op: &'static str, a: &Array<T>, b: &Array<T>) -> Result<()> {
    let (da, db) = (a.device(), b.device());
    if da == db { Ok(()) } else { Err(Error::DeviceMismatch { op, lhs: da.to_string(), rhs: db.to_string() }) }
}

/// `(m, k, n, output shape)` for NumPy's matmul rules on 1-D and 2-D right operands: a 1-D
/// operand is a vector (its dimension dropped from the result), leading dimensions of the left
/// operand are batch rows.
fn matmul_shapes(a: &[usize], b: &[usize]) -> Result<(usize, usize, usize, Vec<usize>)> {
    let mismatch = |reason: String| Err(Error::shape_mismatch("matmul", a, b, reason));
    if a.is_empty() || b.is_empty() {
        return mismatch("a 0-d array has no dimension to contract".into());
    }
    if b.len() > 2 {
        return mismatch("a right operand with batch dimensions is not supported; reshape it to 2-D".into());
    }
    let k = a[a.len() - 1];
    let (kb, n) = if b.len() == 1 { (b[0], None) } else { (b[0], Some(b[1])) };
    if k != kb {
        return mismatch(format!("the contracted dimensions differ ({k} != {kb})"));
    }
    let lead = &a[..a.len() - 1];
    let mut out = lead.to_vec();
    out.extend(n);
    crate::alloc::volume("matmul", &out)?; // the result's size, and so m·n, fits in usize
    Ok((lead.iter().product(), k, n.unwrap_or(1), out))
}

impl<T: Float> Array<T> {
    /// Elementwise square root, correctly rounded; NaN for negative elements (as NumPy).
    pub fn sqrt(&self) -> Result<Array<T>> {
        in_compute_type(self, |x| x.sqrt_native())
    }

    /// Elementwise square root into `out`, an existing array of the same shape on the same
    /// device (CuPy's `cp.sqrt(x, out=y)`; the dtype is `T` for both, so it cannot differ).
    /// On the CPU it writes `out` in place; on CUDA the kernel's new buffer replaces `out`'s.
    pub fn sqrt_into(&self, out: &mut Array<T>) -> Result<()> {
        if self.shape() != out.shape() {
            return Err(Error::shape_mismatch(
                "sqrt_into",
                self.shape(),
                out.shape(),
                "out must have the input's shape",
            ));
        }
        same_device("sqrt_into", self, out)?;
        match (
            (self as &dyn Any).downcast_ref::<Array<T::Compute>>(),
            (out as &mut dyn Any).downcast_mut::<Array<T::Compute>>(),
        ) {
            (Some(x), Some(y)) => x.sqrt_into_native(y),
            _ => {
                *out.storage_mut() = self.sqrt()?.storage; // 16-bit types: through f32, as `sqrt`
                Ok(())
            }
        }
    }

    /// Softmax over the last axis (numerically stable; a NaN makes its row NaN).
    pub fn softmax(&self) -> Result<Array<T>> {
        if self.ndim() == 0 {
            return Err(Error::bad_shape("softmax", self.shape(), "a 0-d array has no axis to normalise over"));
        }
        in_compute_type(self, |x| x.softmax_native())
    }

    /// Matrix product with NumPy's `matmul` rules for a 1-D or 2-D right operand.
    pub fn matmul(&self, other: &Array<T>) -> Result<Array<T>> {
        let dims = matmul_shapes(self.shape(), other.shape())?;
        same_device("matmul", self, other)?;
        if let (Storage::Cuda(a), Storage::Cuda(b)) = (self.storage(), other.storage())
            && let Some(c) = cuda::tensor_core::matmul(a, b, (dims.0, dims.1, dims.2))?
        {
            return Ok(Array::from_storage(dims.3, Storage::Cuda(c)));
        }
        if let (Some(a), Some(b)) = (
            (self as &dyn Any).downcast_ref::<Array<T::Compute>>(),
            (other as &dyn Any).downcast_ref::<Array<T::Compute>>(),
        ) {
            let out: Box<dyn Any> = Box::new(a.matmul_native(b, dims)?);
            return Ok(*out.downcast::<Array<T>>().expect("T is its own compute type"));
        }
        let (a, b) = (self.cast::<T::Compute>()?, other.cast::<T::Compute>()?);
        a.matmul_native(&b, dims)?.cast::<T>()
    }
}

impl<T: Native> Array<T> {
    fn sqrt_native(&self) -> Result<Array<T>> {
        let storage = match self.storage() {
            Storage::Cpu(v) => Storage::Cpu(cpu::unary::<Sqrt, T>(v)?),
            Storage::Cuda(b) => Storage::Cuda(cuda::ops::sqrt(b)?),
        };
        Ok(Array::from_storage(self.shape().to_vec(), storage))
    }

    fn sqrt_into_native(&self, out: &mut Array<T>) -> Result<()> {
        match (self.storage(), out.storage_mut()) {
            (Storage::Cpu(x), Storage::Cpu(y)) => cpu::sqrt_into(x, y),
            (Storage::Cuda(x), Storage::Cuda(y)) => cuda::ops::sqrt_into(x, y)?,
            _ => unreachable!("devices checked by the caller"),
        }
        Ok(())
    }

    fn softmax_native(&self) -> Result<Array<T>> {
        let cols = self.shape()[self.ndim() - 1];
        let rows = self.len().checked_div(cols).unwrap_or(0);
        let storage = match self.storage() {
            Storage::Cpu(v) => Storage::Cpu(cpu::softmax(v, cols)?),
            Storage::Cuda(b) => Storage::Cuda(cuda::ops::softmax(b, rows, cols)?),
        };
        Ok(Array::from_storage(self.shape().to_vec(), storage))
    }

    fn matmul_native(&self, other: &Array<T>, (m, k, n, shape): (usize, usize, usize, Vec<usize>)) -> Result<Array<T>> {
        let storage = match (self.storage(), other.storage()) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Storage::Cpu(cpu::matmul(a, b, (m, k, n), (false, false))?),
            (Storage::Cuda(a), Storage::Cuda(b)) => Storage::Cuda(cuda::ops::matmul(a, b, (m, k, n), (false, false))?),
            _ => unreachable!("devices checked by the caller"),
        };
        Ok(Array::from_storage(shape, storage))
    }
}

impl<T: Element> Array<T> {
    /// The elements converted to `U`, as NumPy's `astype`: to a float type rounded to nearest
    /// even; to an integer type truncated toward zero and saturated at the type's limits, NaN
    /// becoming 0 (Rust's `as`). On CUDA devices only float-to-float conversions run; integer
    /// arrays convert on the CPU.
    ///
    /// ```
    /// let x = ferrite::Array::from_vec(vec![2.7f32, -2.7, 1e10, f32::NAN], &[4])?;
    /// assert_eq!(x.cast::<i32>()?.to_vec()?, [2, -2, i32::MAX, 0]);
    /// # Ok::<(), ferrite::Error>(())
    /// ```
    pub fn cast<U: Element>(&self) -> Result<Array<U>> {
        let storage = match self.storage() {
            Storage::Cpu(v) => Storage::Cpu(cpu::cast(v)?),
            Storage::Cuda(b) => Storage::Cuda(cuda::ops::cast(b)?),
        };
        Ok(Array::from_storage(self.shape().to_vec(), storage))
    }
}

/// `cp.sqrt(x)`, `torch.sqrt(x)`, `tf.sqrt(x)`.
pub fn sqrt<T: Float>(x: &Array<T>) -> Result<Array<T>> {
    x.sqrt()
}

/// `cp.matmul(a, b)`, `a @ b`.
pub fn matmul<T: Float>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    a.matmul(b)
}

/// Softmax over the last axis.
pub fn softmax<T: Float>(x: &Array<T>) -> Result<Array<T>> {
    x.softmax()
}
