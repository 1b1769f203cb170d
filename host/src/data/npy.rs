//! NumPy arrays: `.npz` archives holding `x` and `y`, or `x` and `y` as two `.npy` files.
//!
//! The `.npy` format is parsed here rather than by npyz's reader because npyz trusts the header
//! (it multiplies the shape's sizes unchecked, which panics on a corrupt shape); this parser
//! checks every size against the bytes present. The zip container is read with the `zip` crate npyz re-exports.

use super::{Dataset, Labels, class_label, data_error, non_finite};
use crate::error::{Error, Result};
use npyz::zip::{ZipArchive, result::ZipError};
use std::io::Read;
use std::path::Path;

/// A parsed `.npy` array: shape, element type, and the file's bytes.
struct NpyArray {
    name: &'static str,
    shape: Vec<usize>,
    descr: String,
    kind: u8,
    size: usize,
    big_endian: bool,
    fortran: bool,
    bytes: Vec<u8>,
    data_start: usize,
}

impl NpyArray {
    /// Parses the header of `bytes` (a whole `.npy` file) and checks the data is all there.
    fn parse(bytes: Vec<u8>, path: &Path, name: &'static str) -> Result<NpyArray> {
        let err = |message: String| data_error(path, format!("array '{name}', header"), message);
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return Err(err("not a .npy array (the file does not start with \\x93NUMPY)".into()));
        }
        let (header_start, header_len) = match bytes[6] {
            1 => (10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
            2 | 3 if bytes.len() >= 12 => (12, u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize),
            version => return Err(err(format!("unsupported .npy format version {version}"))),
        };
        let data_start = header_start + header_len;
        if data_start > bytes.len() {
            return Err(err(format!("truncated: the header needs {data_start} bytes, the file has {}", bytes.len())));
        }
        let text = String::from_utf8_lossy(&bytes[header_start..data_start]).into_owned();
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
        let needed = count.and_then(|n| n.checked_mul(size));
        let present = bytes.len() - data_start;
        match needed {
            Some(needed) if needed <= present => {}
            _ => {
                let needed = needed.map_or("more than usize::MAX".into(), |n| n.to_string());
                let message =
                    format!("truncated: shape {shape:?} of {descr} needs {needed} data bytes, found {present}");
                return Err(data_error(path, format!("array '{name}', data"), message));
            }
        }
        Ok(NpyArray { name, shape, descr, kind, size, big_endian, fortran, bytes, data_start })
    }

    /// Element at row `r`, column `c` of a 2-D array (or element `r` of a 1-D one, with c = 0).
    fn at(&self, r: usize, c: usize) -> f64 {
        let index = match (self.shape.len(), self.fortran) {
            (2, true) => c * self.shape[0] + r,
            (2, false) => r * self.shape[1] + c,
            _ => r,
        };
        let start = self.data_start + index * self.size;
        let mut b = [0u8; 8];
        b[..self.size].copy_from_slice(&self.bytes[start..start + self.size]);
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

/// Reads `descr`, `fortran_order` and `shape` from the header's Python dict literal.
fn parse_header(text: &str) -> std::result::Result<(String, bool, Vec<usize>), String> {
    let value = |key: &str| -> std::result::Result<&str, String> {
        let at = text.find(&format!("'{key}'")).or_else(|| text.find(&format!("\"{key}\"")));
        let rest = at.map(|i| text[i + key.len() + 2..].trim_start()).and_then(|r| r.strip_prefix(':'));
        rest.map(str::trim_start).ok_or_else(|| format!("the header has no '{key}' entry: {}", text.trim()))
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
    let archive = ZipArchive::new(std::io::BufReader::new(file));
    let mut zip = archive.map_err(|e| zip_error(path, "archive", e))?;
    let mut names: Vec<String> = zip.file_names().filter_map(|n| n.strip_suffix(".npy")).map(String::from).collect();
    names.sort();
    let mut read = |name: &'static str| -> Result<NpyArray> {
        let location = format!("array '{name}'");
        let mut entry = match zip.by_name(&format!("{name}.npy")) {
            Err(ZipError::FileNotFound) => {
                let present = if names.is_empty() { "none".to_string() } else { names.join(", ") };
                return Err(data_error(path, location, format!("no array '{name}'; the arrays present: {present}")));
            }
            other => other.map_err(|e| zip_error(path, &location, e))?,
        };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| data_error(path, &location, format!("cannot unpack it: {e}")))?;
        NpyArray::parse(bytes, path, name)
    };
    let (x, y) = (read("x")?, read("y")?);
    build(&x, &y, path, path, path)
}

/// `x` and `y` in two `.npy` files; `spec` (both paths) names the dataset.
pub(super) fn load_npy_pair(x_path: &Path, y_path: &Path, spec: &str) -> Result<Dataset> {
    let read = |path: &Path| std::fs::read(path).map_err(|source| Error::Io { path: path.into(), source });
    let x = NpyArray::parse(read(x_path)?, x_path, "x")?;
    let y = NpyArray::parse(read(y_path)?, y_path, "y")?;
    build(&x, &y, x_path, y_path, Path::new(spec))
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
    let mut values = Vec::with_capacity(rows * features);
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
        let mut values = Vec::with_capacity(rows * classes);
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
