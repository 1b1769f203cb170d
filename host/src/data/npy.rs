//! NumPy arrays: `.npz` archives holding `x` and `y`, or `x` and `y` as two `.npy` files.
//!
//! Each array is parsed by `io/npy_format.rs` (the one `.npy` parser, which checks every size
//! and reads no further than its header implies); here its values are checked and converted.
//! The zip container is read with the `zip` crate npyz re-exports.

use super::{Dataset, Labels, class_label, data_error, non_finite};
use crate::alloc::{try_with_capacity, volume};
use crate::error::{Error, Result};
use crate::io::npy_format::NpyArray;
use half::f16;
use npyz::zip::{ZipArchive, result::ZipError};
use std::io::{Read, Seek};
use std::path::Path;

/// Element access for the dataset's checks.
trait At {
    fn at(&self, r: usize, c: usize) -> f64;
    fn location(&self, r: usize, c: Option<usize>) -> String;
}

impl At for NpyArray {
    /// Element at row `r`, column `c` of a 2-D array (or element `r` of a 1-D one, with c = 0).
    fn at(&self, r: usize, c: usize) -> f64 {
        let index = match (self.shape.len(), self.fortran) {
            (2, true) => c * self.shape[0] + r,
            (2, false) => r * self.shape[1] + c,
            _ => r,
        };
        let start = index * self.size;
        let mut b = [0u8; 8];
        b[..self.size].copy_from_slice(&self.data[start..start + self.size]);
        if self.big_endian {
            b[..self.size].reverse();
        }
        match (self.kind, self.size) {
            (b'f', 2) => f16::from_le_bytes([b[0], b[1]]).to_f64(),
            (b'f', 4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            (b'f', _) => f64::from_le_bytes(b),
            (b'i', 1) => b[0] as i8 as f64,
            (b'i', 2) => i16::from_le_bytes([b[0], b[1]]) as f64,
            (b'i', 4) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            (b'i', _) => i64::from_le_bytes(b) as f64,
            _ => u64::from_le_bytes(b) as f64, // unsigned: the zero padding makes any size read right
        }
    }

    fn location(&self, r: usize, c: Option<usize>) -> String {
        match c {
            Some(c) => format!("array '{}', row {r}, column {c}", self.name),
            None => format!("array '{}', element {r}", self.name),
        }
    }
}

/// An `.npz` archive with arrays `x` (2-D) and `y` (1-D class labels or 2-D one-hot rows).
pub(super) fn load_npz(path: &Path) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.into(), source })?;
    load_npz_from(std::io::BufReader::new(file), path)
}

/// [`load_npz`] from any seekable reader; `path` names it in errors. Members are inflated as
/// they are parsed, no further than their headers imply.
pub(crate) fn load_npz_from(reader: impl Read + Seek, path: &Path) -> Result<Dataset> {
    let mut zip = ZipArchive::new(reader).map_err(|e| zip_error(path, "archive", e))?;
    let mut names: Vec<String> = zip.file_names().filter_map(|n| n.strip_suffix(".npy")).map(String::from).collect();
    names.sort();
    let mut read = |name: &'static str| -> Result<NpyArray> {
        let location = format!("array '{name}'");
        let entry = match zip.by_name(&format!("{name}.npy")) {
            Err(ZipError::FileNotFound) => {
                let present = if names.is_empty() { "none".to_string() } else { names.join(", ") };
                return Err(data_error(path, location, format!("no array '{name}'; the arrays present: {present}")));
            }
            other => other.map_err(|e| zip_error(path, &location, e))?,
        };
        NpyArray::read(entry, path, name, |e| data_error(path, &location, format!("cannot unpack it: {e}")))
    };
    let (x, y) = (read("x")?, read("y")?);
    build(&x, &y, path, path, path)
}

/// `x` and `y` in two `.npy` files; `spec` (both paths) names the dataset.
pub(super) fn load_npy_pair(x_path: &Path, y_path: &Path, spec: &str) -> Result<Dataset> {
    let read = |path: &Path, name| {
        let io = |source| Error::Io { path: path.into(), source };
        NpyArray::read(std::io::BufReader::new(std::fs::File::open(path).map_err(io)?), path, name, io)
    };
    build(&read(x_path, "x")?, &read(y_path, "y")?, x_path, y_path, Path::new(spec))
}

/// [`load_npy_pair`] from the two files' contents.
pub(crate) fn load_npy_pair_from(x: &[u8], x_path: &Path, y: &[u8], y_path: &Path) -> Result<Dataset> {
    let x = NpyArray::read(x, x_path, "x", |source| Error::Io { path: x_path.into(), source })?;
    let y = NpyArray::read(y, y_path, "y", |source| Error::Io { path: y_path.into(), source })?;
    build(&x, &y, x_path, y_path, x_path)
}

pub(crate) fn zip_error(path: &Path, location: &str, error: ZipError) -> Error {
    match error {
        ZipError::Io(source) => Error::Io { path: path.into(), source },
        e => data_error(path, location, format!("not a readable .npz (zip) archive: {e}")),
    }
}

/// Checks shapes and values, converting x to f32 and y to labels; `both` names the pair.
fn build(x: &NpyArray, y: &NpyArray, x_path: &Path, y_path: &Path, both: &Path) -> Result<Dataset> {
    for (a, path) in [(x, x_path), (y, y_path)] {
        if !matches!(a.kind, b'f' | b'i' | b'u') {
            let message = format!("dtype '{}' is not supported: a dataset needs float or integer arrays", a.descr);
            return Err(data_error(path, format!("array '{}', header", a.name), message));
        }
    }
    let [rows, features] = x.shape[..] else {
        let message = format!("x must be 2-D (rows, features), got shape {:?}", x.shape);
        return Err(data_error(x_path, "array 'x'", message));
    };
    if features == 0 || rows == 0 {
        let message = if rows == 0 { "no data rows" } else { "x has no feature columns" };
        return Err(data_error(x_path, format!("array 'x', shape {:?}", x.shape), message));
    }
    if !matches!(y.shape.len(), 1 | 2) || y.shape[0] != rows || y.shape.get(1) == Some(&0) {
        let message = match y.shape.len() {
            1 | 2 if y.shape[0] != rows => format!("x has {rows} rows but y has {}", y.shape[0]),
            1 | 2 => "y has no label columns".to_string(),
            _ => format!("y must be 1-D (class labels) or 2-D (one-hot rows), got shape {:?}", y.shape),
        };
        return Err(data_error(both, "array 'y'", message));
    }
    let mut values = try_with_capacity(volume("load", &[rows, features])?)?;
    for r in 0..rows {
        for c in 0..features {
            let wide = x.at(r, c);
            let value = wide as f32;
            if !value.is_finite() {
                let message =
                    if wide.is_finite() { format!("feature {wide} does not fit in f32") } else { non_finite(value) };
                return Err(data_error(x_path, x.location(r, Some(c)), message));
            }
            values.push(value);
        }
    }
    let labels = if let [_, classes] = y.shape[..] {
        let mut values = try_with_capacity(volume("load", &[rows, classes])?)?;
        for r in 0..rows {
            for c in 0..classes {
                let v = y.at(r, c) as f32;
                if !v.is_finite() || v < 0.0 {
                    let message = format!("label value {v} is not a finite non-negative number ({})", y.descr);
                    return Err(data_error(y_path, y.location(r, Some(c)), message));
                }
                values.push(v);
            }
        }
        Labels::OneHot { values, classes }
    } else {
        let labels = (0..rows).map(|r| class_label(y.at(r, 0)).map_err(|m| data_error(y_path, y.location(r, None), m)));
        super::classes_from(labels.collect::<Result<Vec<u32>>>()?)
    };
    Dataset::new(values, features, labels, both.display().to_string())
}
