//! Arrays in files and in other libraries: NumPy's `.npy` and `.npz`, safetensors (PyTorch's,
//! Hugging Face's), and `ndarray` (behind the `ndarray` feature).
//!
//! ```
//! use ferrite::Array;
//! use ferrite::io::{AnyArray, load_npz, save_npz};
//!
//! let dir = std::env::temp_dir();
//! let x = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
//! x.save_npy(dir.join("doc-x.npy"))?; // np.load reads it
//! assert_eq!(Array::<f32>::load_npy(dir.join("doc-x.npy"))?.to_vec()?, x.to_vec()?);
//!
//! let labels = Array::from_vec(vec![0u8, 1], &[2])?;
//! save_npz(dir.join("doc.npz"), &[("x", x.t().into()), ("y", labels.into())])?; // a view saves its elements
//! let file = load_npz(dir.join("doc.npz"))?;
//! assert_eq!(file.names(), ["x", "y"]);
//! let xt: Array<f32> = file.get("x")?;
//! assert_eq!((xt.shape(), xt.to_vec()?), (&[3, 2][..], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]));
//! assert!(file.get::<f64>("x").is_err()); // a typed error: the file holds float32
//! # Ok::<(), ferrite::Error>(())
//! ```
//!
//! Loads put arrays on the [default device](crate::default_device); saves take arrays on any
//! device, contiguous or not (the elements are written in row-major order). Files are written
//! as a durable, clean replace (a temporary file beside the target, fsynced, renamed), as
//! checkpoints are. Every element type round-trips; bfloat16 in `.npy` is explained in
//! `npy_format.rs` (raw `<V2` bits, as `ml_dtypes` saves it). A file that is not what it
//! claims is [`Error::Data`] naming the file and where; a dtype other than the one asked
//! for is [`Error::FileDType`]; a name not in the file is [`Error::MissingArray`].
//!
//! Map: `npy_format.rs` (the `.npy` parser and header, shared with the dataset loader),
//! `npy.rs`, `safetensors.rs`, `ndarray.rs`.

#[cfg(feature = "ndarray")]
mod ndarray;
pub(crate) mod npy;
pub(crate) mod npy_format;
pub(crate) mod safetensors;

pub use npy::{load_npz, save_npz, save_npz_compressed};
pub use safetensors::{load_safetensors, save_safetensors};
pub(crate) use safetensors::load_safetensors_from;

use crate::array::Array;
use crate::array::storage::Storage;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use half::{bf16, f16};
use std::path::{Path, PathBuf};

// Elements are written as their in-memory bytes, which both formats want little-endian.
const _: () = assert!(cfg!(target_endian = "little"), "ferrite's file formats assume a little-endian host");

/// An array of any element type: what a file of several arrays holds.
#[derive(Clone, Debug)]
pub enum AnyArray {
    F32(Array<f32>),
    F64(Array<f64>),
    F16(Array<f16>),
    BF16(Array<bf16>),
    I32(Array<i32>),
    I64(Array<i64>),
    U8(Array<u8>),
    U32(Array<u32>),
    Bool(Array<bool>),
}

/// Runs `$body` with `$a` bound to the typed array inside `$any` and `$t` to its element type.
macro_rules! with_any {
    ($data:expr, |$v:ident: $t:ident| $body:expr) => {
        $crate::dtype::with_dtype_variant!(crate::io::AnyArray, $data, |$v: $t| $body)
    };
}
pub(crate) use with_any;

impl AnyArray {
    pub fn dtype(&self) -> DType {
        with_any!(self, |a: T| a.dtype())
    }

    pub fn shape(&self) -> &[usize] {
        with_any!(self, |a: T| a.shape())
    }

    /// The array as `Array<T>`, if `T` is its dtype (`None` otherwise; cast it with
    /// [`Array::cast`] once typed).
    pub fn downcast<T: Element>(self) -> Option<Array<T>> {
        with_any!(self, |a: U| (Box::new(a) as Box<dyn std::any::Any>).downcast::<Array<T>>().ok().map(|b| *b))
    }

    /// `array` in its dtype's variant.
    fn build<T: Element>(array: Array<T>) -> AnyArray {
        let any: Box<dyn std::any::Any> = Box::new(array);
        macro_rules! arm {
            ($var:ident, $t:ty) => {
                AnyArray::$var(*any.downcast::<Array<$t>>().expect("DTYPE names the element type"))
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
}

impl<T: Element> From<Array<T>> for AnyArray {
    fn from(array: Array<T>) -> AnyArray {
        AnyArray::build(array)
    }
}

impl<T: Element> From<&Array<T>> for AnyArray {
    /// A cheap handle on the same elements (see [`Array::clone`]).
    fn from(array: &Array<T>) -> AnyArray {
        AnyArray::build(array.clone())
    }
}

/// The named arrays of one file, in the file's order (`.npz`: as saved; safetensors: by
/// name), with the path for messages.
#[derive(Clone, Debug)]
pub struct NamedArrays {
    pub path: PathBuf,
    pub arrays: Vec<(String, AnyArray)>,
}

impl NamedArrays {
    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.arrays.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The array `name`, whatever its dtype.
    pub fn get_any(&self, name: &str) -> Result<&AnyArray> {
        self.arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a).ok_or_else(|| Error::MissingArray {
            path: self.path.clone(),
            name: name.into(),
            present: self.names().into_iter().map(String::from).collect(),
        })
    }

    /// The array `name` as `Array<T>`: [`Error::MissingArray`] if there is none,
    /// [`Error::FileDType`] if it holds another dtype.
    pub fn get<T: Element>(&self, name: &str) -> Result<Array<T>> {
        let any = self.get_any(name)?;
        any.clone().downcast().ok_or_else(|| Error::FileDType {
            path: self.path.clone(),
            member: Some(name.into()),
            found: any.dtype().name().into(),
            expected: Some(T::DTYPE),
        })
    }
}

/// A name given twice to a save: refused, as a file of named arrays cannot hold both.
fn check_unique(path: &Path, names: &[&str]) -> Result<()> {
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            let message = "the name is given twice; each array in a file needs its own".to_string();
            return Err(Error::Data { path: path.into(), location: format!("array {n:?}"), message });
        }
    }
    Ok(())
}

/// Runs `f` on the array's elements in row-major order, on the host: borrowed from a
/// contiguous CPU array, else copied once.
fn with_host_elements<T: Element, R>(array: &Array<T>, f: impl FnOnce(&[T]) -> Result<R>) -> Result<R> {
    match array.storage() {
        Storage::Cpu(d) if array.is_contiguous() && !array.is_empty() => {
            let o = array.layout().offset();
            f(&d.typed::<T>()[o..o + array.len()])
        }
        _ => f(&array.to_vec()?),
    }
}

/// Elements of `T` from their little-endian (or, if `big_endian`, big-endian) bytes; a bool is
/// any nonzero byte, as NumPy reads one (a byte other than 0 or 1 is never a Rust `bool`).
fn elements_from_bytes<T: Element>(bytes: &[u8], big_endian: bool) -> Result<Vec<T>> {
    let size = T::DTYPE.size();
    let n = bytes.len() / size;
    debug_assert_eq!(n * size, bytes.len(), "the parsers check the data's length");
    let mut out: Vec<T> = crate::alloc::try_filled(n, T::default())?;
    if T::DTYPE == DType::Bool {
        for (o, &b) in out.iter_mut().zip(bytes) {
            *o = T::from_f64((b != 0) as u8 as f64);
        }
        return Ok(out);
    }
    // SAFETY: `out` holds `n` initialised elements, `n * size` bytes; every bit pattern is a
    // valid value of every element type but bool, which took the branch above.
    let dst = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), n * size) };
    dst.copy_from_slice(bytes);
    if big_endian && size > 1 {
        dst.chunks_exact_mut(size).for_each(<[u8]>::reverse);
    }
    Ok(out)
}
