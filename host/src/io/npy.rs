//! `.npy` files of one array and `.npz` archives of named arrays, as NumPy writes and reads
//! them (`np.save`, `np.load`, `np.savez`, `np.savez_compressed`).
//!
//! Reading: any byte order (big-endian elements are swapped), C or Fortran order (a Fortran
//! array loads as the transposed view of its data, as NumPy keeps it column-major: no copy),
//! and every ferrite dtype; NumPy types ferrite has no dtype for (int16, uint64, complex, ...)
//! are [`Error::FileDType`]. Writing: little-endian, C order, format 1.0, the header padded
//! to 64 bytes, as `np.save` does. `.npz` members that are not `.npy` files are skipped, as
//! they hold no array.

use super::npy_format::{NpyArray, header};
use super::{AnyArray, NamedArrays, check_unique, elements_from_bytes, with_any, with_host_elements};
use crate::array::Array;
use crate::array::storage::bytes_of;
use crate::data::npy::zip_error;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::nn::checkpoint::write_atomically_with;
use half::{bf16, f16};
use npyz::zip::{CompressionMethod, ZipArchive, ZipWriter, write::FileOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

impl<T: Element> Array<T> {
    /// Writes the array to a `.npy` file, as `np.save` does (`np.load` reads it back). Any
    /// device, any layout: the elements go in row-major order. bfloat16 is written as raw
    /// `<V2` bits, as `ml_dtypes` saves it (NumPy has no bfloat16).
    pub fn save_npy(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        write_atomically_with(path, |w| write_npy(self, w, path))
    }

    /// Reads a `.npy` file onto the default device. The file's dtype must be `T`
    /// ([`Error::FileDType`] names both otherwise; [`AnyArray::load_npy`] takes any).
    pub fn load_npy(path: impl AsRef<Path>) -> Result<Array<T>> {
        let path = path.as_ref();
        let npy = read_npy_file(path)?;
        typed(npy, path, None)
    }
}

impl AnyArray {
    /// Reads a `.npy` file of any ferrite dtype onto the default device.
    pub fn load_npy(path: impl AsRef<Path>) -> Result<AnyArray> {
        let path = path.as_ref();
        any(read_npy_file(path)?, path, None)
    }

    /// Writes the array to a `.npy` file ([`Array::save_npy`]).
    pub fn save_npy(&self, path: impl AsRef<Path>) -> Result<()> {
        with_any!(self, |a: T| a.save_npy(path))
    }
}

/// Writes `arrays` to an `.npz` archive (uncompressed, as `np.savez`; `np.load(path)[name]`
/// reads each). Names must differ.
pub fn save_npz(path: impl AsRef<Path>, arrays: &[(&str, AnyArray)]) -> Result<()> {
    write_npz(path.as_ref(), arrays, CompressionMethod::Stored)
}

/// [`save_npz`], deflated (as `np.savez_compressed`).
pub fn save_npz_compressed(path: impl AsRef<Path>, arrays: &[(&str, AnyArray)]) -> Result<()> {
    write_npz(path.as_ref(), arrays, CompressionMethod::Deflated)
}

/// Reads every array of an `.npz` archive (stored or deflated) onto the default device, in
/// the archive's order.
pub fn load_npz(path: impl AsRef<Path>) -> Result<NamedArrays> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.into(), source })?;
    load_npz_from(std::io::BufReader::new(file), path)
}

/// [`load_npz`] from any seekable reader; `path` names it in errors. Each member is inflated
/// as it is parsed, no further than its header implies (a decompression bomb costs nothing).
pub(crate) fn load_npz_from(reader: impl Read + Seek, path: &Path) -> Result<NamedArrays> {
    let mut zip = ZipArchive::new(reader).map_err(|e| zip_error(path, "archive", e))?;
    let mut arrays = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| zip_error(path, &format!("member {i}"), e))?;
        let Some(name) = entry.name().strip_suffix(".npy").map(String::from) else { continue };
        let location = format!("array '{name}'");
        let unpack = |e| crate::data::data_error(path, &location, format!("cannot unpack it: {e}"));
        let npy = NpyArray::read(entry, path, &name, unpack)?;
        arrays.push((name.clone(), any(npy, path, Some(&name))?));
    }
    Ok(NamedArrays { path: path.into(), arrays })
}

/// [`AnyArray::load_npy`] from the file's bytes; `path` names it in errors.
pub(crate) fn load_npy_from(bytes: &[u8], path: &Path) -> Result<AnyArray> {
    let npy = NpyArray::read(bytes, path, "array", |source| Error::Io { path: path.into(), source })?;
    any(npy, path, None)
}

fn read_npy_file(path: &Path) -> Result<NpyArray> {
    let io = |source| Error::Io { path: path.into(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let name = path.file_stem().map_or("array".into(), |s| s.to_string_lossy().into_owned());
    NpyArray::read(std::io::BufReader::new(file), path, &name, io)
}

/// The parsed array as `Array<T>`, if `T` is its dtype.
fn typed<T: Element>(npy: NpyArray, path: &Path, member: Option<&str>) -> Result<Array<T>> {
    if npy.dtype() != Some(T::DTYPE) {
        let found = npy.numpy_name();
        return Err(Error::FileDType {
            path: path.into(),
            member: member.map(String::from),
            found,
            expected: Some(T::DTYPE),
        });
    }
    let values = elements_from_bytes::<T>(&npy.data, npy.big_endian)?;
    if npy.fortran {
        // Column-major data is the row-major data of the reversed shape, transposed.
        let reversed: Vec<usize> = npy.shape.iter().rev().copied().collect();
        Ok(Array::from_vec(values, &reversed)?.transpose())
    } else {
        Array::from_vec(values, &npy.shape)
    }
}

/// The parsed array in its own dtype.
fn any(npy: NpyArray, path: &Path, member: Option<&str>) -> Result<AnyArray> {
    let Some(dtype) = npy.dtype() else {
        let found = npy.numpy_name();
        return Err(Error::FileDType { path: path.into(), member: member.map(String::from), found, expected: None });
    };
    Ok(match dtype {
        DType::F32 => typed::<f32>(npy, path, member)?.into(),
        DType::F64 => typed::<f64>(npy, path, member)?.into(),
        DType::F16 => typed::<f16>(npy, path, member)?.into(),
        DType::BF16 => typed::<bf16>(npy, path, member)?.into(),
        DType::I32 => typed::<i32>(npy, path, member)?.into(),
        DType::I64 => typed::<i64>(npy, path, member)?.into(),
        DType::U8 => typed::<u8>(npy, path, member)?.into(),
        DType::U32 => typed::<u32>(npy, path, member)?.into(),
        DType::Bool => typed::<bool>(npy, path, member)?.into(),
    })
}

/// The whole `.npy` file of `array` to `w`; `path` names it in errors.
fn write_npy<T: Element>(array: &Array<T>, w: &mut impl Write, path: &Path) -> Result<()> {
    let io = |source| Error::Io { path: path.into(), source };
    w.write_all(&header(T::DTYPE, array.shape())?).map_err(io)?;
    with_host_elements(array, |elements| w.write_all(bytes_of(elements)).map_err(io))
}

fn write_npz(path: &Path, arrays: &[(&str, AnyArray)], method: CompressionMethod) -> Result<()> {
    check_unique(path, &arrays.iter().map(|(n, _)| *n).collect::<Vec<_>>())?;
    write_atomically_with(path, |w| {
        let mut zip = ZipWriter::new(w);
        for (name, array) in arrays {
            let bytes = array.shape().iter().product::<usize>() as u64 * array.dtype().size() as u64;
            // Zip64 for a member past 4 GiB (its header and the data), as NumPy forces it.
            let options = FileOptions::default().compression_method(method).large_file(bytes >= u32::MAX as u64 - 4096);
            zip.start_file(format!("{name}.npy"), options)
                .map_err(|e| zip_error(path, &format!("array '{name}'"), e))?;
            with_any!(array, |a: T| write_npy(a, &mut zip, path))?;
        }
        zip.finish().map_err(|e| zip_error(path, "archive", e))?;
        Ok(())
    })
}
