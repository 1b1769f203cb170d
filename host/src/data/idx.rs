//! MNIST's IDX files: an images file (magic 0x00000803: count, rows, columns, then one byte per
//! pixel) and a labels file (magic 0x00000801: count, then one byte per label), raw or gzipped.

use super::{Dataset, classes_from, data_error};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Images flattened to rows of rows*columns f32 pixel values (0..255), with their labels; the
/// labels file is `labels`, or found from the images file's name.
pub(super) fn load_idx(images: &Path, labels: Option<&Path>) -> Result<Dataset> {
    let (dims, pixels) = read_idx(images, IMAGES_MAGIC)?;
    let labels_path = match labels {
        Some(path) => path.to_path_buf(),
        None => labels_path_for(images)?,
    };
    let (label_dims, label_bytes) = read_idx(&labels_path, LABELS_MAGIC)?;
    let (count, features) = (dims[0], dims[1].saturating_mul(dims[2]));
    if count != label_dims[0] {
        let message = format!("{count} images but {} labels in {}", label_dims[0], labels_path.display());
        return Err(data_error(images, "header", message));
    }
    if count == 0 || features == 0 {
        let message = if count == 0 { "no data rows (0 images)".to_string() } else { format!("images of {dims:?}") };
        return Err(data_error(images, "header", message));
    }
    let x = pixels.into_iter().map(f32::from).collect();
    let labels = classes_from(label_bytes.into_iter().map(u32::from).collect());
    Dataset::new(x, features, labels, images.display().to_string())
}

/// MNIST's naming: `train-images-idx3-ubyte` goes with `train-labels-idx1-ubyte`.
fn labels_path_for(images: &Path) -> Result<PathBuf> {
    let name = images.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let derived = name.replace("images", "labels").replace("idx3", "idx1");
    if derived == name {
        let message = format!("cannot tell the labels file from '{name}'; give both as IMAGES,LABELS");
        return Err(data_error(images, "file name", message));
    }
    let path = images.with_file_name(derived);
    if !path.exists() {
        let message = format!("the labels file {} does not exist; give both as IMAGES,LABELS", path.display());
        return Err(data_error(images, "file name", message));
    }
    Ok(path)
}

/// Reads one IDX file with the given magic number: its dimension sizes and its data bytes,
/// checked against each other.
fn read_idx(path: &Path, magic: u32) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.into(), source })?;
    let gz_name = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    if gz_name || bytes.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut plain)
            .map_err(|e| data_error(path, "gzip stream", format!("cannot decompress: {e}")))?;
        bytes = plain;
    }
    let what = if magic == IMAGES_MAGIC { "images" } else { "labels" };
    let Some(found) = bytes.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) else {
        let message = format!("truncated: expected at least 4 bytes of header, found {}", bytes.len());
        return Err(data_error(path, "header", message));
    };
    if found != magic {
        let hint = match found {
            IMAGES_MAGIC => " (this is an images file)",
            LABELS_MAGIC => " (this is a labels file)",
            _ => "",
        };
        let message = format!("magic number 0x{found:08x} is not 0x{magic:08x}, IDX {what}{hint}");
        return Err(data_error(path, "header, byte 0", message));
    }
    let header_len = 4 + 4 * (magic & 0xff) as usize;
    if bytes.len() < header_len {
        let message = format!("truncated: expected a {header_len}-byte header, found {} bytes", bytes.len());
        return Err(data_error(path, "header", message));
    }
    let dims: Vec<usize> =
        bytes[4..header_len].chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let expected = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).and_then(|n| n.checked_add(header_len));
    if expected != Some(bytes.len()) {
        let (found, shape) = (bytes.len(), format!("{what} of sizes {dims:?} with a {header_len}-byte header"));
        let message = match expected {
            Some(expected) if expected < found => format!("expected {expected} bytes for {shape}, found {found}"),
            Some(expected) => format!("truncated: expected {expected} bytes for {shape}, found {found}"),
            None => format!("truncated: {shape} need more than usize::MAX bytes, found {found}"),
        };
        return Err(data_error(path, format!("byte {header_len}"), message));
    }
    bytes.drain(..header_len);
    Ok((dims, bytes))
}
