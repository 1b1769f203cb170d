//! MNIST's IDX files: an images file (magic 0x00000803: count, rows, columns, then one byte per
//! pixel) and a labels file (magic 0x00000801: count, then one byte per label), raw or gzipped.
//! Files are read as streams, no further than their headers say.

use super::{Dataset, classes_from, data_error};
use crate::alloc::{read_at_most, try_collect};
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Images flattened to rows of rows*columns f32 pixel values (0..255), with their labels; the
/// labels file is `labels`, or found from the images file's name.
pub(super) fn load_idx(images: &Path, labels: Option<&Path>) -> Result<Dataset> {
    let pixels = read_idx_file(images, IMAGES_MAGIC)?;
    let labels_path = match labels {
        Some(path) => path.to_path_buf(),
        None => labels_path_for(images)?,
    };
    let labels = read_idx_file(&labels_path, LABELS_MAGIC)?;
    build(images, pixels, &labels_path, labels)
}

/// [`load_idx`] from the two files' contents (raw or gzipped); the paths name them in errors.
pub(crate) fn load_idx_from(images: &[u8], images_path: &Path, labels: &[u8], labels_path: &Path) -> Result<Dataset> {
    let pixels = read_idx(images, images_path, IMAGES_MAGIC, false)?;
    build(images_path, pixels, labels_path, read_idx(labels, labels_path, LABELS_MAGIC, false)?)
}

/// An IDX file's dimension sizes and data bytes.
type Idx = (Vec<usize>, Vec<u8>);

fn build(images: &Path, (dims, pixels): Idx, labels_path: &Path, (label_dims, label_bytes): Idx) -> Result<Dataset> {
    let (count, features) = (dims[0], dims[1].saturating_mul(dims[2]));
    if count != label_dims[0] {
        let message = format!("{count} images but {} labels in {}", label_dims[0], labels_path.display());
        return Err(data_error(images, "header", message));
    }
    if count == 0 || features == 0 {
        let message = if count == 0 { "no data rows (0 images)".to_string() } else { format!("images of {dims:?}") };
        return Err(data_error(images, "header", message));
    }
    let x = try_collect(pixels.len(), pixels.into_iter().map(f32::from))?;
    let labels = classes_from(try_collect(label_bytes.len(), label_bytes.into_iter().map(u32::from))?);
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

fn read_idx_file(path: &Path, magic: u32) -> Result<Idx> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.into(), source })?;
    let gz_name = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    read_idx(BufReader::new(file), path, magic, gz_name)
}

/// Reads one IDX file with the given magic number, gzipped if named so or if it starts like
/// gzip: its dimension sizes and data bytes, checked against each other. The data is read
/// as it is inflated, and no further than the header's size plus one byte (a decompression
/// bomb costs no more memory than an honest file of its header's size).
fn read_idx(mut reader: impl BufRead, path: &Path, magic: u32, gz_name: bool) -> Result<Idx> {
    let io = |source| Error::Io { path: path.into(), source };
    if gz_name || reader.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]) {
        let gzip = |e: std::io::Error| data_error(path, "gzip stream", format!("cannot decompress: {e}"));
        parse(MultiGzDecoder::new(reader), path, magic, gzip)
    } else {
        parse(reader, path, magic, io)
    }
}

fn parse(mut r: impl Read, path: &Path, magic: u32, io: impl Fn(std::io::Error) -> Error) -> Result<Idx> {
    let what = if magic == IMAGES_MAGIC { "images" } else { "labels" };
    let start = read_at_most(&mut r, 4, &io)?;
    let Some(found) = start.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) else {
        let message = format!("truncated: expected at least 4 bytes of header, found {}", start.len());
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
    let sizes = read_at_most(&mut r, (header_len - 4) as u64, &io)?;
    if 4 + sizes.len() < header_len {
        let message = format!("truncated: expected a {header_len}-byte header, found {} bytes", 4 + sizes.len());
        return Err(data_error(path, "header", message));
    }
    let dims: Vec<usize> =
        sizes.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let shape = format!("{what} of sizes {dims:?} with a {header_len}-byte header");
    let Some(expected) = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) else {
        let message = format!("{shape} need more than usize::MAX bytes");
        return Err(data_error(path, format!("byte {header_len}"), message));
    };
    let data = read_at_most(&mut r, (expected as u64).saturating_add(1), &io)?;
    if data.len() != expected {
        let (total, found) = (header_len as u128 + expected as u128, header_len + data.len());
        let message = if data.len() > expected {
            format!("expected {total} bytes for {shape}, found more")
        } else {
            format!("truncated: expected {total} bytes for {shape}, found {found}")
        };
        return Err(data_error(path, format!("byte {header_len}"), message));
    }
    Ok((dims, data))
}
