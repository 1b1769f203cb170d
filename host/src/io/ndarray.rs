//! Conversions between [`Array`] and `ndarray`'s arrays (the `ndarray` feature, on by
//! default). Every element type converts, f16 and bf16 included (ndarray takes any `Clone`
//! element).
//!
//! When each one copies:
//! - `Array::from(nd)` / [`Array::from_ndarray`]: never. The ndarray's vector becomes the
//!   array's CPU storage and its strides and offset the array's layout, whatever they are
//!   (row-major, column-major, reversed axes, a slice of a bigger owned array).
//! - [`Array::view_ndarray`]: never; it borrows the elements of any CPU array (transposed,
//!   broadcast, reversed views included). A CUDA array is [`Error::Unsupported`]: copy it
//!   with `cpu()` first.
//! - [`Array::into_ndarray`]: not when the array is on the CPU, holds its storage alone (no
//!   other array or view shares it) and its elements are the whole storage in row-major order
//!   (a fresh result, a loaded file); then the storage's vector moves into the ndarray.
//!   Otherwise it copies once, as [`Array::to_ndarray`] always does (from any device).

use crate::array::Array;
use crate::array::layout::Layout;
use crate::array::storage::{CpuData, Storage};
use crate::dtype::Element;
use crate::error::{Error, Result};
use ndarray::{ArrayD, ArrayViewD, Dimension, IxDyn, ShapeBuilder};
use std::sync::Arc;

impl<T: Element, D: Dimension> From<ndarray::Array<T, D>> for Array<T> {
    /// A CPU array holding the ndarray's elements, without copying them.
    fn from(nd: ndarray::Array<T, D>) -> Array<T> {
        let shape = nd.shape().to_vec();
        let strides = nd.strides().to_vec();
        let (data, offset) = nd.into_raw_vec_and_offset();
        let layout = Layout::new(shape, strides, offset.unwrap_or(0));
        debug_assert!(layout.is_empty() || layout.span().1 < data.len(), "an ndarray's elements lie in its vector");
        Array::from_parts(Arc::new(Storage::Cpu(CpuData::from_vec(data))), layout)
    }
}

impl<T: Element> Array<T> {
    /// A CPU array holding `nd`'s elements, without copying them (any shape and strides).
    pub fn from_ndarray<D: Dimension>(nd: ndarray::Array<T, D>) -> Array<T> {
        Array::from(nd)
    }

    /// A copy of the elements as a row-major `ndarray::ArrayD`, from any device.
    pub fn to_ndarray(&self) -> Result<ArrayD<T>> {
        Ok(ArrayD::from_shape_vec(IxDyn(self.shape()), self.to_vec()?).expect("to_vec gives shape's elements"))
    }

    /// The elements as an `ndarray::ArrayD`, moving the storage in when the array is on the
    /// CPU, holds its storage alone and is that storage whole, in row-major order; a copy
    /// otherwise ([`Array::to_ndarray`]).
    pub fn into_ndarray(self) -> Result<ArrayD<T>> {
        let whole = self.is_contiguous() && self.layout().offset() == 0 && self.len() == self.storage().len();
        if !whole || !matches!(self.storage(), Storage::Cpu(_)) {
            return self.to_ndarray();
        }
        let shape = self.shape().to_vec();
        let (storage, _) = self.into_parts();
        match Arc::try_unwrap(storage) {
            Ok(Storage::Cpu(data)) => {
                let v = data.into_vec::<T>().expect("an array's storage holds its dtype");
                Ok(ArrayD::from_shape_vec(IxDyn(&shape), v).expect("the storage holds the shape's elements"))
            }
            Ok(_) => unreachable!("checked: CPU storage"),
            Err(shared) => Array::<T>::from_parts(shared, Layout::contiguous(&shape)).to_ndarray(),
        }
    }

    /// A view of a CPU array's elements as an `ndarray::ArrayViewD`, with the same strides (no
    /// copy, any layout); a CUDA array is [`Error::Unsupported`].
    pub fn view_ndarray(&self) -> Result<ArrayViewD<'_, T>> {
        let Storage::Cpu(data) = self.storage() else {
            return Err(Error::Unsupported { op: "view_ndarray", dtype: T::DTYPE, device: self.device().to_string() });
        };
        let all = data.typed::<T>();
        if self.is_empty() {
            return Ok(ArrayViewD::from_shape(IxDyn(self.shape()), &all[..0]).expect("an empty view"));
        }
        // ndarray takes the slice from the lowest address the view reaches, and negative
        // strides as their two's complement.
        let (lo, hi) = self.layout().span();
        let strides: Vec<usize> = self.strides().iter().map(|&s| s as usize).collect();
        let shape = IxDyn(self.shape()).strides(IxDyn(&strides));
        Ok(ArrayViewD::from_shape(shape, &all[lo..=hi]).expect("a layout inside its storage"))
    }
}
