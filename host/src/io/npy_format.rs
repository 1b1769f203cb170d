//! The `.npy` format, read and written: the one parser behind the dataset loader
//! (`data/npy.rs`) and the array files (`io/npy.rs`).
//!
//! The format is parsed here rather than by npyz's reader because npyz trusts the header (it
//! multiplies the shape's sizes unchecked, which panics on a corrupt shape); this parser checks
//! every size against the bytes present, and reads a stream (an `.npz` member as it is
//! inflated) no further than its header implies.
//!
//! Element types: NumPy's `f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1`, either byte order, and `V2`:
//! NumPy has no bfloat16, and `np.save` of an `ml_dtypes.bfloat16` array (JAX's and
//! TensorFlow's) writes its raw bits as `<V2`, so ferrite reads `V2` as bfloat16 and writes
//! bfloat16 that way (`np.load(f).view(ml_dtypes.bfloat16)` gets it back).

use crate::alloc::read_at_most;
use crate::data::data_error;
use crate::dtype::DType;
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// NumPy's own limit on a `.npy` header (`max_header_size`), so a corrupt length cannot make
/// the header itself a large read.
const MAX_HEADER: usize = 10_000;

/// A parsed `.npy` array: shape, element type, and its data bytes (as the file holds them:
/// in the file's byte order, column-major if `fortran`).
pub(crate) struct NpyArray {
    /// The array's name in messages (`x`, an `.npz` member).
    pub name: String,
    pub shape: Vec<usize>,
    /// The header's dtype string, e.g. `<f4`.
    pub descr: String,
    /// NumPy's kind character: `f`, `i`, `u`, `b` (bool) or `V` (raw bytes: bfloat16).
    pub kind: u8,
    /// Bytes per element.
    pub size: usize,
    pub big_endian: bool,
    pub fortran: bool,
    pub data: Vec<u8>,
}

impl NpyArray {
    /// Reads a `.npy` stream: the header, then the data bytes it implies and at most one more
    /// (excess is refused; a decompression bomb behind a small header costs nothing). Read
    /// errors go through `io`.
    pub(crate) fn read(
        mut r: impl Read,
        path: &Path,
        name: &str,
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
        let unsupported = || {
            let message = format!("dtype '{descr}' is not supported: use a float, integer or bool type");
            err(message)
        };
        let (big_endian, rest) = match descr.as_bytes().first() {
            Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
            Some(b'>') => (true, &descr[1..]),
            _ => (false, descr.as_str()),
        };
        let (kind, size) = match rest.split_at_checked(1) {
            Some((k, s)) => (k.as_bytes()[0], s.parse::<usize>().map_err(|_| unsupported())?),
            None => return Err(unsupported()),
        };
        if !matches!((kind, size), (b'f', 2 | 4 | 8) | (b'i' | b'u', 1 | 2 | 4 | 8) | (b'b', 1) | (b'V', 2)) {
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
        Ok(NpyArray { name: name.to_string(), shape, descr, kind, size, big_endian, fortran, data })
    }
}

/// Reads `descr`, `fortran_order` and `shape` from the header's Python dict literal. A key
/// given twice is refused (Python's dict, and so NumPy, would silently keep the last).
pub(crate) fn parse_header(text: &str) -> std::result::Result<(String, bool, Vec<usize>), String> {
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

impl NpyArray {
    /// The ferrite dtype of the file's elements, if there is one.
    pub(crate) fn dtype(&self) -> Option<DType> {
        Some(match (self.kind, self.size) {
            (b'f', 4) => DType::F32,
            (b'f', 8) => DType::F64,
            (b'f', 2) => DType::F16,
            (b'V', 2) => DType::BF16,
            (b'i', 4) => DType::I32,
            (b'i', 8) => DType::I64,
            (b'u', 1) => DType::U8,
            (b'u', 4) => DType::U32,
            (b'b', 1) => DType::Bool,
            _ => return None,
        })
    }

    /// The file's element type as NumPy names it (`int16`, `>f4`), for messages.
    pub(crate) fn numpy_name(&self) -> String {
        let name = match self.kind {
            b'f' => format!("float{}", self.size * 8),
            b'i' => format!("int{}", self.size * 8),
            b'u' => format!("uint{}", self.size * 8),
            b'b' => "bool".into(),
            _ => format!("raw {}-byte void (read as bfloat16)", self.size),
        };
        format!("{name} ('{}')", self.descr)
    }
}

/// The header's dtype string ferrite writes for `dtype` (little-endian, `|` for one byte).
pub(crate) fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::F16 => "<f2",
        DType::BF16 => "<V2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U32 => "<u4",
        DType::Bool => "|b1",
    }
}

/// The magic, version and header of a C-order `.npy` file of `dtype` and `shape`, as
/// `np.save` writes them: format 1.0, the header padded with spaces and ended by a newline so
/// the data starts on a 64-byte boundary. (Format 2.0 is for headers past 65535 bytes; a shape
/// would need thousands of dimensions for that, and this parser refuses headers past NumPy's
/// 10000-byte limit, which a longer header is refused for, as NumPy's `np.load` would.)
pub(crate) fn header(dtype: DType, shape: &[usize]) -> Result<Vec<u8>> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut text = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {tuple}, }}", descr(dtype));
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(' ');
    }
    text.push('\n');
    if text.len() > MAX_HEADER {
        let reason = format!("its .npy header needs {} bytes, past NumPy's limit of {MAX_HEADER}", text.len());
        return Err(Error::bad_shape("save_npy", shape, reason));
    }
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text.as_bytes());
    Ok(out)
}
