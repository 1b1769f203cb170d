//! An array's elements: a vector on the CPU or a buffer on a CUDA device, of one dtype,
//! shared (reference-counted) by every view of it. A write goes to storage no other array
//! shares; a shared one is copied first (copy-on-write), so no array ever changes under
//! another's feet.

use crate::alloc::{Zeroable, try_fresh};
use crate::backend::cuda::{CudaDevice, DeviceBuffer};
use crate::device::Device;
use crate::dtype::{DType, Element};
use crate::error::Result;
use half::{bf16, f16};
use std::any::Any;

/// Elements on the CPU, by dtype.
#[derive(Clone)]
pub(crate) enum CpuData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U32(Vec<u32>),
    Bool(Vec<bool>),
}

/// Runs `$body` with `$v` bound to the typed vector inside `$data` (by reference or value, as
/// the pattern gives it) and `$t` to its element type.
macro_rules! with_cpu {
    ($data:expr, |$v:ident: $t:ident| $body:expr) => {
        $crate::dtype::with_dtype_variant!(crate::array::storage::CpuData, $data, |$v: $t| $body)
    };
}
pub(crate) use with_cpu;

impl CpuData {
    /// Wraps a vector of any element type.
    pub fn from_vec<T: Element>(v: Vec<T>) -> CpuData {
        let any: Box<dyn Any> = Box::new(v);
        macro_rules! arm {
            ($var:ident, $t:ty) => {
                CpuData::$var(*any.downcast::<Vec<$t>>().expect("DTYPE names the element type"))
            };
        }
        match T::DTYPE {
            DType::F32 => arm!(F32, f32),
            DType::F64 => arm!(F64, f64),
            DType::F16 => arm!(F16, f16),
            DType::BF16 => arm!(BF16, bf16),
            DType::I32 => arm!(I32, i32),
            DType::I64 => arm!(I64, i64),
            DType::U8 => arm!(U8, u8),
            DType::U32 => arm!(U32, u32),
            DType::Bool => arm!(Bool, bool),
        }
    }

    /// `len` new elements of `dtype` for an op to write: the one place a new CPU buffer's
    /// contents are chosen. Poison under `FERRITE_POISON=1` ([`Zeroable::POISON`]); else zeros, from the allocator (`calloc`): a large buffer is fresh pages
    /// from the kernel, so nothing here writes them before the op does. Every dtype's type is
    /// [`Zeroable`] (all-zero bytes are a valid value of it), which this match checks at
    /// compile time.
    pub fn fresh(dtype: DType, len: usize) -> Result<CpuData> {
        fn buf<T: Zeroable>(len: usize) -> Result<Vec<T>> {
            try_fresh(len)
        }
        Ok(match dtype {
            DType::F32 => CpuData::F32(buf(len)?),
            DType::F64 => CpuData::F64(buf(len)?),
            DType::F16 => CpuData::F16(buf(len)?),
            DType::BF16 => CpuData::BF16(buf(len)?),
            DType::I32 => CpuData::I32(buf(len)?),
            DType::I64 => CpuData::I64(buf(len)?),
            DType::U8 => CpuData::U8(buf(len)?),
            DType::U32 => CpuData::U32(buf(len)?),
            DType::Bool => CpuData::Bool(buf(len)?),
        })
    }

    pub fn dtype(&self) -> DType {
        with_cpu!(self, |v: T| {
            let _ = v;
            <T as Element>::DTYPE
        })
    }

    pub fn len(&self) -> usize {
        with_cpu!(self, |v: T| v.len())
    }

    /// The elements as `T` (`None` if `T` is not the dtype).
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        with_cpu!(self, |v: U| (v as &dyn Any).downcast_ref::<Vec<T>>().map(|v| v.as_slice()))
    }

    pub fn as_mut_slice<T: Element>(&mut self) -> Option<&mut [T]> {
        with_cpu!(self, |v: U| (v as &mut dyn Any).downcast_mut::<Vec<T>>().map(|v| v.as_mut_slice()))
    }

    #[cfg_attr(not(feature = "ndarray"), allow(dead_code))] // ndarray conversions (io/ndarray.rs)
    pub fn into_vec<T: Element>(self) -> Option<Vec<T>> {
        with_cpu!(self, |v: U| (Box::new(v) as Box<dyn Any>).downcast::<Vec<T>>().ok().map(|b| *b))
    }
}

/// Elements on a CUDA device: `len` elements of `dtype` in a byte buffer.
pub(crate) struct CudaData {
    pub buf: DeviceBuffer<u8>,
    pub dtype: DType,
    pub len: usize,
}

/// A CUDA operand by address: what a kernel reads (an output is written through the
/// `CudaData` that owns it; an operation in place reads through its own view).
#[derive(Clone)]
pub(crate) struct CudaRef {
    pub addr: u64,
    pub dtype: DType,
    pub len: usize,
    pub device: CudaDevice,
}

impl CudaRef {
    /// The address of element `offset`, typed for a kernel argument.
    pub fn ptr_at<U>(&self, offset: usize) -> *const U {
        debug_assert!(offset <= self.len);
        (self.addr + (offset * self.dtype.size()) as u64) as *const U
    }

    pub fn device(&self) -> &CudaDevice {
        &self.device
    }
}

impl CudaData {
    /// This buffer as a kernel operand.
    pub fn view(&self) -> CudaRef {
        CudaRef {
            addr: self.buf.ptr::<u8>() as u64,
            dtype: self.dtype,
            len: self.len,
            device: self.buf.device().clone(),
        }
    }

    /// The address of element `offset`, typed for a kernel argument.
    pub fn ptr_at<U>(&self, offset: usize) -> *const U {
        self.buf.ptr_at::<U>(offset * self.dtype.size())
    }

    pub fn ptr_at_mut<U>(&mut self, offset: usize) -> *mut U {
        self.buf.ptr_at_mut::<U>(offset * self.dtype.size())
    }

    pub fn device(&self) -> &CudaDevice {
        self.buf.device()
    }
}

/// Where an array's elements live.
pub(crate) enum Storage {
    Cpu(CpuData),
    Cuda(CudaData),
}

impl Storage {
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(d) => d.dtype(),
            Storage::Cuda(c) => c.dtype,
        }
    }

    /// Elements held.
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(d) => d.len(),
            Storage::Cuda(c) => c.len,
        }
    }

    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Cuda(c) => Device::Cuda(c.device().clone()),
        }
    }

    /// `data` on `device`.
    pub fn from_vec<T: Element>(data: Vec<T>, device: &Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(CpuData::from_vec(data))),
            Device::Cuda(c) => {
                let buf = c.upload(bytes_of(&data))?;
                Ok(Storage::Cuda(CudaData { buf, dtype: T::DTYPE, len: data.len() }))
            }
        }
    }

    /// `len` elements of `dtype` on `device`, uninitialised on a device (CPU storage is zeroed or
    /// poisoned: [`CpuData::fresh`]); an impossible size is
    /// [`Error::OutOfMemory`](crate::Error::OutOfMemory).
    pub fn alloc(dtype: DType, len: usize, device: &Device) -> Result<Storage> {
        let bytes = crate::alloc::admit_on(device, len as u128 * dtype.size() as u128)?;
        match device {
            Device::Cpu => Ok(Storage::Cpu(CpuData::fresh(dtype, len)?)),
            Device::Cuda(c) => Ok(Storage::Cuda(CudaData { buf: c.alloc::<u8>(bytes)?, dtype, len })),
        }
    }
}

/// Any initialised `T: Copy` viewed as bytes.
pub(crate) fn bytes_of<T: Copy>(data: &[T]) -> &[u8] {
    // SAFETY: plain element types, no padding.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), std::mem::size_of_val(data)) }
}

/// An element type's slice as its kernel twin's (same size, alignment and bits).
pub(crate) fn kernel_slice<T: Element>(v: &[T]) -> &[T::Kernel] {
    // SAFETY: `dtype.rs` asserts equal size and alignment, and every bit pattern of `T` is one
    // of `T::Kernel` (bool's 0 and 1 are `Bool`'s).
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), v.len()) }
}

/// As [`kernel_slice`], mutable. Writes must store valid `T` values: the kernels' `Bool` is only
/// ever written 0 or 1.
pub(crate) fn kernel_slice_mut<T: Element>(v: &mut [T]) -> &mut [T::Kernel] {
    // SAFETY: as above; the CPU backend writes `Bool` only through `Elem::store`, 0 or 1.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast(), v.len()) }
}
