//! safetensors files of named arrays, through the `safetensors` crate (Hugging Face's, which
//! checks the header and every offset): what `safetensors.torch.load_file` and
//! `safetensors.numpy.load_file` read, and what `save_file` writes. Every ferrite dtype has a
//! safetensors one (`F32 F64 F16 BF16 I32 I64 U8 U32 BOOL`); a file's other dtypes (`I8`,
//! `U16`, `F8_E4M3`, ...) are [`Error::FileDType`]. The file's `__metadata__` is not read.
//!
//! The file is assembled in memory (the crate serialises to a buffer), then written as a
//! durable, clean replace; loading reads the whole file, as `load_weights` does.

use super::{AnyArray, NamedArrays, check_unique, elements_from_bytes, with_any};
use crate::array::Array;
use crate::array::storage::{Storage, bytes_of};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::nn::checkpoint::write_atomically;
use half::{bf16, f16};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

fn to_safetensors(dtype: DType) -> Dtype {
    match dtype {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
        DType::I32 => Dtype::I32,
        DType::I64 => Dtype::I64,
        DType::U8 => Dtype::U8,
        DType::U32 => Dtype::U32,
        DType::Bool => Dtype::BOOL,
    }
}

fn from_safetensors(dtype: Dtype) -> Option<DType> {
    Some(match dtype {
        Dtype::F32 => DType::F32,
        Dtype::F64 => DType::F64,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I32 => DType::I32,
        Dtype::I64 => DType::I64,
        Dtype::U8 => DType::U8,
        Dtype::U32 => DType::U32,
        Dtype::BOOL => DType::Bool,
        _ => return None,
    })
}

/// The array's elements as bytes in row-major order: borrowed from a contiguous CPU array,
/// else copied to the host.
fn element_bytes<T: Element>(array: &Array<T>) -> Result<Cow<'_, [u8]>> {
    Ok(match array.storage() {
        Storage::Cpu(d) if array.is_contiguous() => {
            let o = array.layout().offset();
            Cow::Borrowed(bytes_of(&d.typed::<T>()[o..o + array.len()]))
        }
        _ => Cow::Owned(bytes_of(&array.to_vec()?).to_vec()),
    })
}

/// Writes `arrays` to a safetensors file (names must differ; the file lists them by name).
/// Any device and layout: each array's elements go in row-major order.
pub fn save_safetensors(path: impl AsRef<Path>, arrays: &[(&str, AnyArray)]) -> Result<()> {
    let path = path.as_ref();
    check_unique(path, &arrays.iter().map(|(n, _)| *n).collect::<Vec<_>>())?;
    let data: Vec<Cow<[u8]>> =
        arrays.iter().map(|(_, a)| with_any!(a, |a: T| element_bytes(a))).collect::<Result<_>>()?;
    let error = |name: &str, e: safetensors::SafeTensorError| Error::Data {
        path: path.into(),
        location: if name.is_empty() { "tensors".into() } else { format!("tensor {name:?}") },
        message: e.to_string(),
    };
    let mut views = Vec::with_capacity(arrays.len());
    for ((name, array), bytes) in arrays.iter().zip(&data) {
        let view = TensorView::new(to_safetensors(array.dtype()), array.shape().to_vec(), bytes);
        views.push((name.to_string(), view.map_err(|e| error(name, e))?));
    }
    let file = safetensors::serialize(views, None).map_err(|e| error("", e))?;
    write_atomically(path, &file)
}

/// Reads every tensor of a safetensors file onto the default device, ordered by name.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<NamedArrays> {
    let path = path.as_ref();
    let io = |source| Error::Io { path: path.into(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut raw = crate::alloc::try_with_capacity(crate::alloc::admit_host(len as u128)?)?;
    file.read_to_end(&mut raw).map_err(io)?;
    load_safetensors_from(&raw, path)
}

/// [`load_safetensors`] from the file's bytes; `path` names it in errors.
pub(crate) fn load_safetensors_from(raw: &[u8], path: &Path) -> Result<NamedArrays> {
    let header = |e: safetensors::SafeTensorError| Error::Data {
        path: path.into(),
        location: "header".into(),
        message: e.to_string(),
    };
    let file = SafeTensors::deserialize(raw).map_err(header)?;
    let mut tensors = file.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let mut arrays = Vec::with_capacity(tensors.len());
    for (name, view) in tensors {
        let Some(dtype) = from_safetensors(view.dtype()) else {
            let found = format!("{:?}", view.dtype());
            return Err(Error::FileDType { path: path.into(), member: Some(name), found, expected: None });
        };
        fn typed<T: Element>(view: &TensorView) -> Result<AnyArray> {
            Ok(Array::<T>::from_vec(elements_from_bytes(view.data(), false)?, view.shape())?.into())
        }
        let array = match dtype {
            DType::F32 => typed::<f32>(&view),
            DType::F64 => typed::<f64>(&view),
            DType::F16 => typed::<f16>(&view),
            DType::BF16 => typed::<bf16>(&view),
            DType::I32 => typed::<i32>(&view),
            DType::I64 => typed::<i64>(&view),
            DType::U8 => typed::<u8>(&view),
            DType::U32 => typed::<u32>(&view),
            DType::Bool => typed::<bool>(&view),
        }?;
        arrays.push((name, array));
    }
    Ok(NamedArrays { path: path.into(), arrays })
}
