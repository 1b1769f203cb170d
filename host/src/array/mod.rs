//! `Array<T>`: a typed n-dimensional array on one device: shared storage plus a strided
//! [`Layout`](layout::Layout) (shape, strides, offset), so views (`reshape` of a contiguous
//! array, `t`, `transpose`, `permute`, `broadcast_to`, `squeeze`, `unsqueeze`, slicing) copy
//! nothing.
//!
//! Constructors allocate on the [default device](crate::default_device) unless told
//! otherwise (`*_on`); operations run on the operands' device and never copy between devices
//! implicitly (`to_device`, `cpu()` and `cuda()` do that, as in PyTorch). Writing into an array
//! never changes another that shares its storage: a shared storage is copied first
//! (copy-on-write; NumPy would write through a view, ferrite keeps values values).
//!
//! Map: `layout.rs` (strides, broadcasting, the walk a kernel takes), `storage.rs` (the
//! elements), `create.rs` (constructors), `views.rs`, `ops/` (the operations, by family),
//! `slice.rs` (NumPy's indexing, `narrow`, `select`, `flip`, writing into a slice),
//! `display.rs`, `precision.rs`.

mod create;
mod display;
pub(crate) mod layout;
mod ops;
mod precision;
pub(crate) mod slice;
pub(crate) mod storage;
mod views;

use crate::backend::{cpu, cuda};
use crate::device::Device;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use layout::{Layout, Walk};
use std::marker::PhantomData;
use std::sync::Arc;
use storage::{CpuData, Storage};

pub use ops::functions;
pub(crate) use ops::same_device;
pub use ops::{Axes, IndexType, Side, Summable};
pub use precision::{
    MatmulPrecision, experimental_wgmma, float32_matmul_precision, set_experimental_wgmma, set_float32_matmul_precision,
};
pub use slice::{Ellipsis, NewAxis, RangeLike, SliceArg};

pub struct Array<T: Element> {
    storage: Arc<Storage>,
    layout: Layout,
    _t: PhantomData<T>,
}

impl<T: Element> Clone for Array<T> {
    /// A new handle on the same elements (cheap: the storage is shared, and copied only when
    /// one of the two is written).
    fn clone(&self) -> Self {
        Array { storage: self.storage.clone(), layout: self.layout.clone(), _t: PhantomData }
    }
}

impl<T: Element> Array<T> {
    pub(crate) fn from_parts(storage: Arc<Storage>, layout: Layout) -> Self {
        debug_assert_eq!(storage.dtype(), T::DTYPE);
        Array { storage, layout, _t: PhantomData }
    }

    pub(crate) fn from_storage(storage: Storage, shape: &[usize]) -> Self {
        Self::from_parts(Arc::new(storage), Layout::contiguous(shape))
    }

    #[cfg_attr(not(feature = "ndarray"), allow(dead_code))] // ndarray conversions (io/ndarray.rs)
    pub(crate) fn into_parts(self) -> (Arc<Storage>, Layout) {
        (self.storage, self.layout)
    }

    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// An array of `shape` holding `data` (row-major) on the default device.
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        Self::from_vec_on(data, shape, &crate::device::default_device())
    }

    pub fn from_slice(data: &[T], shape: &[usize]) -> Result<Self> {
        Self::from_vec(crate::alloc::try_to_vec(data)?, shape)
    }

    /// An array of `shape` holding `data` on `device`; `data.len()` must equal the shape's size.
    pub fn from_vec_on(data: Vec<T>, shape: &[usize], device: &Device) -> Result<Self> {
        let expected = crate::alloc::volume("from_vec", shape)?;
        if data.len() != expected {
            return Err(Error::DataLength { len: data.len(), shape: shape.to_vec(), expected });
        }
        Ok(Self::from_storage(Storage::from_vec(data, device)?, shape))
    }

    /// A 0-dimensional array holding `value`.
    pub fn scalar(value: T) -> Result<Self> {
        Self::from_vec(vec![value], &[])
    }

    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }

    /// The step between neighbours along each dimension, in elements (NumPy's strides are in
    /// bytes; these are PyTorch's `stride()`).
    pub fn strides(&self) -> &[isize] {
        self.layout.strides()
    }

    pub fn ndim(&self) -> usize {
        self.layout.ndim()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the elements are row-major and contiguous in the storage.
    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    pub fn dtype(&self) -> DType {
        T::DTYPE
    }

    pub fn device(&self) -> Device {
        self.storage.device()
    }

    /// Whether two arrays share storage (views of one another).
    pub fn shares_storage<U: Element>(&self, other: &Array<U>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.storage), Arc::as_ptr(&other.storage))
    }

    /// The elements in row-major order, copied to the host (`cp.asnumpy`, `.cpu().numpy()`).
    pub fn to_vec(&self) -> Result<Vec<T>> {
        match &*self.storage {
            // A contiguous view is one run of its storage, from its offset (not `contiguous()`,
            // which returns such a view itself).
            Storage::Cpu(_) if self.is_empty() => Ok(Vec::new()),
            Storage::Cpu(d) if self.is_contiguous() => {
                let o = self.layout.offset();
                debug_assert!(o + self.len() <= self.storage.len(), "a view inside its storage");
                crate::alloc::try_to_vec(&d.as_slice::<T>().expect("dtype")[o..o + self.len()])
            }
            Storage::Cpu(_) => self.copy()?.to_vec(),
            Storage::Cuda(c) if self.is_contiguous() => {
                let mut out = crate::alloc::try_filled(self.len(), T::default())?;
                let bytes = storage::bytes_of(&out).len();
                // SAFETY: `out` holds `len` elements of `T`, the bytes copied.
                unsafe {
                    let dst = std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), bytes);
                    c.buf.device().read(dst, c.ptr_at::<u8>(self.layout.offset()) as u64)?;
                }
                Ok(out)
            }
            Storage::Cuda(_) => self.contiguous()?.to_vec(),
        }
    }

    /// A copy on `device` (a copy even if already there), contiguous.
    pub fn to_device(&self, device: &Device) -> Result<Self> {
        if &self.device() == device {
            return self.copy();
        }
        let host = self.to_vec()?;
        Ok(Self::from_storage(Storage::from_vec(host, device)?, self.shape()))
    }

    /// A copy on the CPU (PyTorch's `.cpu()`).
    pub fn cpu(&self) -> Result<Self> {
        self.to_device(&Device::Cpu)
    }

    /// A copy on CUDA device 0 (PyTorch's `.cuda()`): an error if there is none.
    pub fn cuda(&self) -> Result<Self> {
        self.to_device(&Device::cuda(0)?)
    }

    /// A contiguous copy of the elements, on the same device.
    pub fn copy(&self) -> Result<Self> {
        let mut out = Storage::alloc(T::DTYPE, self.len(), &self.device())?;
        copy_layout(&self.storage, &self.layout, &mut out, &Layout::contiguous(self.shape()))?;
        Ok(Self::from_storage(out, self.shape()))
    }

    /// A copy of the data (`try_clone` predates cheap clones; same as [`Array::copy`]).
    pub fn try_clone(&self) -> Result<Self> {
        self.copy()
    }

    /// This array if it is contiguous, else a contiguous copy (PyTorch's `.contiguous()`).
    pub fn contiguous(&self) -> Result<Self> {
        if self.is_contiguous() { Ok(self.clone()) } else { self.copy() }
    }

    /// Storage this array alone holds, for writing: shared storage is copied first (with this
    /// array's elements, contiguous), so no other array sees the write; so is a broadcast view
    /// (a stride 0 shows one element at many places: a write to one would change them all).
    pub(crate) fn storage_mut(&mut self) -> Result<&mut Storage> {
        if Arc::get_mut(&mut self.storage).is_none() || self.layout.repeats_elements() {
            let copy = self.copy()?;
            *self = copy;
        }
        Ok(Arc::get_mut(&mut self.storage).expect("unique after the copy"))
    }

    /// The storage and layout to write through: this array's own (copied first if shared).
    pub(crate) fn parts_mut(&mut self) -> Result<(&mut Storage, &Layout)> {
        self.storage_mut()?;
        Ok((Arc::get_mut(&mut self.storage).expect("unique"), &self.layout))
    }

    /// Copies `src`'s elements into this array (PyTorch's `copy_`), across devices if they
    /// differ, broadcasting `src` to this array's shape. On one CUDA device this is a
    /// device-to-device copy, the benchmark's bandwidth ceiling.
    pub fn copy_from(&mut self, src: &Array<T>) -> Result<()> {
        // Checked before any transfer; a source on another device comes over contiguous.
        let mut src_layout = src.layout.broadcast_to("copy_from", self.shape())?;
        let src_storage = if src.device() == self.device() {
            src.storage.clone()
        } else {
            src_layout = Layout::contiguous(src.shape()).broadcast_to("copy_from", self.shape())?;
            Arc::new(Storage::from_vec(src.to_vec()?, &self.device())?)
        };
        let (storage, layout) = self.parts_mut()?;
        let layout = layout.clone();
        copy_layout(&src_storage, &src_layout, storage, &layout)
    }

    /// The elements converted to `U` (NumPy's `astype`): floats round to nearest even,
    /// integers take floats truncated toward zero and saturated (NaN gives 0), bool takes
    /// "nonzero" and gives 0 or 1. One kernel on every device, every dtype pair.
    pub fn cast<U: Element>(&self) -> Result<Array<U>> {
        let mut out = Storage::alloc(U::DTYPE, self.len(), &self.device())?;
        let dl = Layout::contiguous(self.shape());
        if T::DTYPE == U::DTYPE {
            copy_layout(&self.storage, &self.layout, &mut out, &dl)?;
        } else {
            match (&*self.storage, &mut out) {
                // Any strides: one pass over the view.
                (Storage::Cpu(x), Storage::Cpu(y)) => {
                    if !self.is_empty() {
                        cpu::convert(x, y, &Walk::new(&[&dl, &self.layout]))
                    }
                }
                // The conversion kernel reads contiguous elements: a view is copied first.
                (Storage::Cuda(_), Storage::Cuda(y)) => {
                    let src = self.contiguous()?;
                    let Storage::Cuda(x) = &*src.storage else { unreachable!("one device") };
                    cuda::elementwise::convert(&x.view(), src.layout.offset(), y, self.len())?
                }
                _ => unreachable!("one device"),
            }
        }
        Ok(Array::from_storage(out, self.shape()))
    }
}

/// Copies the elements `src` (in `sl`) to `dst` (in `dl`, of the same shape), on one device.
pub(crate) fn copy_layout(src: &Storage, sl: &Layout, dst: &mut Storage, dl: &Layout) -> Result<()> {
    if sl.is_empty() {
        return Ok(());
    }
    let walk = Walk::new(&[dl, sl]);
    match (src, dst) {
        (Storage::Cpu(s), Storage::Cpu(d)) => {
            cpu::copy(s, d, &walk);
            Ok(())
        }
        (Storage::Cuda(s), Storage::Cuda(d)) => cuda::elementwise::copy(&s.view(), d, &walk),
        _ => Err(Error::DeviceMismatch { op: "copy", lhs: src_device(src), rhs: "the destination".into() }),
    }
}

fn src_device(s: &Storage) -> String {
    s.device().to_string()
}

/// A storage's dtype must be the array's: a typed view of untyped data.
impl CpuData {
    pub(crate) fn typed<T: Element>(&self) -> &[T] {
        self.as_slice::<T>().expect("an array's storage holds its dtype")
    }
}
