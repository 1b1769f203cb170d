//! NumPy arrays: `.npz` archives holding `x` and `y`, or `x` and `y` as two `.npy` files.
//!
//! The `.npy` format is parsed here rather than by npyz's reader because npyz trusts the header
//! (it multiplies the shape's sizes unchecked, which panics on a corrupt shape); this parser
//! checks every size against the bytes present, and reads a stream (an `.npz` member as it is
//! inflated) no further than its header implies. The zip container is read with the `zip`
//! crate npyz re-exports.

use super::{Dataset, Labels, class_label, data_error, non_finite};
use crate::alloc::{read_at_most, try_with_capacity, volume};
use crate::error::{Error, Result};
use npyz::zip::{ZipArchive, result::ZipError};
use std::io::{Read, Seek};
use std::path::Path;

/// NumPy's own limit on a `.npy` header (`max_header_size`), so a corrupt length cannot make
/// the header itself a large read.
const MAX_HEADER: usize = 10_000;

/// A parsed `.npy` array: shape, element type, and its data bytes.
struct NpyArray {
    name: &'static str,
    shape: Vec<usize>,
    descr: String,
    kind: u8,
    size: usize,
    big_endian: bool,
    fortran: bool,
    data: Vec<u8>,
}

impl NpyArray {
    /// Reads a `.npy` stream: the header, then the data bytes it implies and at most one more
    /// (excess is refused; a decompression bomb behind a small header costs nothing). Read
    /// errors go through `io`.
    fn read(
        mut r: impl Read,
        path: &Path,
        name: &'static str,
        io: impl Fn(std::io::Error) -> Error,
    ) -> Result<NpyArray> {
        let err = |message: String| data_error(path, format!("array '{name}', header"), message);
        let mut start = read_at_most(&mut r, 10, &io)?;
        if start.len() < 10 || &start[..6] != b"\x93NUMPY" {
            return Err(err("not a .npy array (the file does not start with \\x93NUMPY)".into()));
        }
        let header_len = match start[6] {
            1 => u16::from_le_bytes([start[8], start[9]]) as usize,
            2 | 3 => {
                start.extend(read_at_most(&mut r, 2, &io)?);
                match start[8..] {
                    [a, b, c, d] => u32::from_le_bytes([a, b, c, d]) as usize,
                    _ => {
                        return Err(err(format!("truncated: the header needs 12 bytes, the file has {}", start.len())));
                    }
                }
            }
            version => return Err(err(format!("unsupported .npy format version {version}"))),
        };
        if header_len > MAX_HEADER {
            return Err(err(format!("a {header_len}-byte header is longer than NumPy's limit of {MAX_HEADER} bytes")));
        }
        let header = read_at_most(&mut r, header_len as u64, &io)?;
        if header.len() < header_len {
            let (needed, found) = (start.len() + header_len, start.len() + header.len());
            return Err(err(format!("truncated: the header needs {needed} bytes, the file has {found}")));
        }
        let text = String::from_utf8_lossy(&header);
        let (descr, fortran, shape) = parse_header(&text).map_err(err)?;
        let unsupported = || err(format!("dtype '{descr}' is not supported: use float32, float64 or an integer type"));
        let (big_endian, rest) = match descr.as_bytes().first() {
            Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
            Some(b'>') => (true, &descr[1..]),
            _ => (false, descr.as_str()),
        };
        let (kind, size) = match rest.split_at_checked(1) {
            Some((k, s)) => (k.as_bytes()[0], s.parse::<usize>().map_err(|_| unsupported())?),
            None => return Err(unsupported()),
        };
        if !matches!((kind, size), (b'f', 4 | 8) | (b'i' | b'u', 1 | 2 | 4 | 8)) {
            return Err(unsupported());
        }
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let data_error = |message: String| data_error(path, format!("array '{name}', data"), message);
        let Some(needed) = count.and_then(|n| n.checked_mul(size)) else {
            return Err(data_error(format!("shape {shape:?} of {descr} needs more than usize::MAX data bytes")));
        };
        // One byte past the data: excess is an error, and a zip member read to its end has its
        // checksum verified.
        let data = read_at_most(&mut r, needed as u64 + 1, &io)?;
        let found = data.len();
        if found != needed {
            let message = if found > needed {
                format!("shape {shape:?} of {descr} needs {needed} data bytes, but there are more")
            } else {
                format!("truncated: shape {shape:?} of {descr} needs {needed} data bytes, found {found}")
            };
            return Err(data_error(message));
        }
        Ok(NpyArray { name, shape, descr, kind, size, big_endian, fortran, data })
    }

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

/// Reads `descr`, `fortran_order` and `shape` from the header's Python dict literal. A key
/// given twice is refused (Python's dict, and so NumPy, would silently keep the last).
fn parse_header(text: &str) -> std::result::Result<(String, bool, Vec<usize>), String> {
    let value = |key: &str| -> std::result::Result<&str, String> {
        let mut found = ['\'', '"'].into_iter().flat_map(|q| {
            let quoted = format!("{q}{key}{q}");
            text.match_indices(&quoted)
                .filter_map(|(i, _)| text[i + quoted.len()..].trim_start().strip_prefix(':'))
                .collect::<Vec<_>>()
        });
        let first = found.next().ok_or_else(|| format!("the header has no '{key}' entry: {}", text.trim()))?;
        if found.next().is_some() {
            return Err(format!("the header gives '{key}' more than once: {}", text.trim()));
        }
        Ok(first.trim_start())
    };
    let descr = value("descr")?;
    let descr = match descr.chars().next() {
        Some(q @ ('\'' | '"')) => descr[1..].split(q).next().unwrap_or_default().to_string(),
        _ => {
            let shown: String = descr.chars().take_while(|&c| c != ']').take(60).collect();
            return Err(format!("dtype {shown}] is not supported (structured arrays cannot be loaded)"));
        }
    };
    let fortran = match value("fortran_order")? {
        v if v.starts_with("True") => true,
        v if v.starts_with("False") => false,
        v => return Err(format!("fortran_order is not True or False: {}", v.split(',').next().unwrap_or(v))),
    };
    let shape = value("shape")?;
    let tuple = shape.strip_prefix('(').and_then(|s| s.split_once(')')).map(|(inner, _)| inner);
    let bad_shape = || format!("shape is not a tuple of sizes: {}", shape.split(')').next().unwrap_or(shape));
    let shape = tuple.ok_or_else(bad_shape)?;
    let dims = shape.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.trim_end_matches('L').parse());
    let shape = dims.collect::<std::result::Result<Vec<usize>, _>>().map_err(|_| bad_shape())?;
    Ok((descr, fortran, shape))
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

fn zip_error(path: &Path, location: &str, error: ZipError) -> Error {
    match error {
        ZipError::Io(source) => Error::Io { path: path.into(), source },
        e => data_error(path, location, format!("not a readable .npz (zip) archive: {e}")),
    }
}

/// Checks shapes and values, converting x to f32 and y to labels; `both` names the pair.
fn build(x: &NpyArray, y: &NpyArray, x_path: &Path, y_path: &Path, both: &Path) -> Result<Dataset> {
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
