//! Dataset loaders: each format read back from files the tests write, the embedded digits split,
//! and the Dataset/Labels helpers. Errors for malformed files are in `data/errors.rs`.
//! Arrays in files (`ferrite::io`): `data/arrays_*.rs`, and NumPy reading and writing them in
//! `data/numpy_interop.rs`.

#[cfg(feature = "ndarray")]
#[path = "data/arrays_ndarray.rs"]
mod arrays_ndarray;
#[path = "data/arrays_npy.rs"]
mod arrays_npy;
#[path = "data/arrays_safetensors.rs"]
mod arrays_safetensors;
#[path = "data/bombs.rs"]
mod bombs;
#[path = "data/errors.rs"]
mod errors;
#[path = "data/numpy_interop.rs"]
mod numpy_interop;

use ferrite::{Dataset, Error, Labels};
use npyz::WriterBuilder;
use std::io::Write;
use std::path::PathBuf;

/// A fresh path under the temp directory, unique to this process and `name`.
fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ferrite-data-{}-{name}", std::process::id()))
}

fn write(name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = temp(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// A whole `.npy` file holding `data` with `shape`.
fn npy<T: npyz::AutoSerialize + Copy>(data: &[T], shape: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = npyz::WriteOptions::new().default_dtype().shape(shape).writer(&mut out).begin_nd().unwrap();
    writer.extend(data.iter().copied()).unwrap();
    writer.finish().unwrap();
    out
}

/// An `.npz` archive of the given (name, whole .npy file) entries, stored or deflated.
fn npz(name: &str, arrays: &[(&str, Vec<u8>)], deflate: bool) -> PathBuf {
    use npyz::zip::{CompressionMethod, write::FileOptions};
    let path = temp(name);
    let mut zip = npyz::zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let method = if deflate { CompressionMethod::Deflated } else { CompressionMethod::Stored };
    for (array, bytes) in arrays {
        zip.start_file(format!("{array}.npy"), FileOptions::default().compression_method(method)).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// An IDX file: the magic number, big-endian dimension sizes, then the bytes.
fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
    out.extend(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn classes(ds: &Dataset) -> Vec<u32> {
    ds.labels.to_classes()
}

#[test]
fn csv_with_the_label_in_the_last_column() {
    let path = write("last.csv", "a,b,label\n1,2,0\n3.5,-4,2\n\n5,6e1,1.0\n");
    let ds = Dataset::load(path.to_str().unwrap()).unwrap();
    assert_eq!((ds.rows(), ds.features, ds.classes()), (3, 2, 3));
    assert_eq!(ds.x, [1.0, 2.0, 3.5, -4.0, 5.0, 60.0]);
    assert_eq!(classes(&ds), [0, 2, 1]);
    assert_eq!(ds.source, path.display().to_string());
}

#[test]
fn csv_with_a_named_label_column() {
    let path = write("named.csv", "y, a ,b\r\n1,0.5,0.25\r\n0,1,2\r\n");
    let ds = Dataset::load_csv(&path, Some("y")).unwrap();
    assert_eq!((ds.rows(), ds.features, ds.classes()), (2, 2, 2));
    assert_eq!(ds.x, [0.5, 0.25, 1.0, 2.0]);
    assert_eq!(classes(&ds), [1, 0]);
}

#[test]
fn npz_with_integer_labels() {
    let x = npy(&[1u8, 2, 3, 4, 5, 6], &[3, 2]);
    let y = npy(&[2i64, 0, 1], &[3]);
    let path = npz("int.npz", &[("x", x), ("y", y)], false);
    let ds = Dataset::load(path.to_str().unwrap()).unwrap();
    assert_eq!((ds.rows(), ds.features, ds.classes()), (3, 2, 3));
    assert_eq!(ds.x, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(ds.labels, Labels::Classes { labels: vec![2, 0, 1], classes: 3 });
}

#[test]
fn npz_with_one_hot_float_labels() {
    let x = npy(&[0.5f64, -1.0, 2.0, 3.0], &[2, 2]);
    let y = npy(&[0.0f32, 1.0, 0.0, 0.7, 0.2, 0.1], &[2, 3]);
    let path = npz("onehot.npz", &[("x", x), ("y", y)], true);
    let ds = Dataset::load(path.to_str().unwrap()).unwrap();
    assert_eq!((ds.rows(), ds.features, ds.classes()), (2, 2, 3));
    assert_eq!(ds.x, [0.5, -1.0, 2.0, 3.0]);
    assert_eq!(ds.labels, Labels::OneHot { values: vec![0.0, 1.0, 0.0, 0.7, 0.2, 0.1], classes: 3 });
    assert_eq!(classes(&ds), [1, 0]);
}

#[test]
fn a_pair_of_npy_files() {
    let x = write("pair-x.npy", npy(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let y = write("pair-y.npy", npy(&[4u32, 1], &[2]));
    let spec = format!("{},{}", x.display(), y.display());
    let ds = Dataset::load(&spec).unwrap();
    assert_eq!((ds.rows(), ds.features, ds.classes()), (2, 3, 5));
    assert_eq!(ds.row(1).unwrap(), [4.0, 5.0, 6.0]);
    assert_eq!(classes(&ds), [4, 1]);
}

/// Three 2x2 images with labels 7, 0, 3.
fn mnist_files(prefix: &str, gz: bool) -> (PathBuf, PathBuf) {
    let images = idx(0x803, &[3, 2, 2], &[0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let labels = idx(0x801, &[3], &[7, 0, 3]);
    let (images, labels, ext) = if gz { (gzip(&images), gzip(&labels), ".gz") } else { (images, labels, "") };
    let images = write(&format!("{prefix}-images-idx3-ubyte{ext}"), images);
    (images, write(&format!("{prefix}-labels-idx1-ubyte{ext}"), labels))
}

fn check_mnist(ds: &Dataset) {
    assert_eq!((ds.rows(), ds.features, ds.classes()), (3, 4, 8));
    assert_eq!(ds.row(0).unwrap(), [0.0, 255.0, 1.0, 2.0]);
    assert_eq!(classes(ds), [7, 0, 3]);
}

#[test]
fn idx_raw_and_gzipped() {
    let (images, _) = mnist_files("raw", false);
    check_mnist(&Dataset::load(images.to_str().unwrap()).unwrap());
    let (images, _) = mnist_files("gz", true);
    check_mnist(&Dataset::load(images.to_str().unwrap()).unwrap());
}

#[test]
fn idx_given_as_a_pair_and_gzip_found_by_its_magic_bytes() {
    let (images, labels) = mnist_files("pairgz", true);
    let renamed = temp("pairgz-img-idx3-ubyte"); // gzipped, but not named .gz
    std::fs::copy(&images, &renamed).unwrap();
    check_mnist(&Dataset::load(&format!("{},{}", renamed.display(), labels.display())).unwrap());
}

#[test]
fn digits_is_the_stratified_sklearn_split() {
    let (train, test) = Dataset::digits();
    assert_eq!((train.rows(), test.rows()), (1347, 450));
    assert_eq!((train.features, test.features, train.classes(), test.classes()), (64, 64, 10, 10));
    let csv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/host/data/digits.csv")).unwrap();
    let row: Vec<f32> = csv.lines().nth(1 + 1364).unwrap().split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(test.row(0).unwrap(), &row[..64]);
    assert_eq!(classes(&test)[0] as f32, row[64]);
    for split in [&train, &test] {
        assert!(split.x.iter().all(|&v| (0.0..=16.0).contains(&v)));
    }
    let mut counts = [[0; 10]; 2];
    for (split, labels) in [classes(&train), classes(&test)].iter().enumerate() {
        labels.iter().for_each(|&l| counts[split][l as usize] += 1);
    }
    // Stratified: each class gives 25% of its rows, rounded as scikit-learn's _approximate_mode does
    // (class 8 has 174 rows: 43.5 -> 43). The class totals are 178, 182, 177, 183, 181, 182, 181, 179, 174, 180.
    assert_eq!(counts[1], [45, 46, 44, 46, 45, 46, 45, 45, 43, 45]);
    assert_eq!(counts[0], [133, 136, 133, 137, 136, 136, 136, 134, 131, 135]);
}

fn ten_rows() -> Dataset {
    let x = (0..20).map(|v| v as f32).collect();
    Dataset::new(x, 2, Labels::Classes { labels: (0..10).map(|i| i % 3).collect(), classes: 3 }, "ten").unwrap()
}

#[test]
fn split_last_takes_the_last_rows_as_keras_does() {
    let ds = ten_rows();
    let (train, validation) = ds.split_last(0.2).unwrap();
    assert_eq!((train.rows(), validation.rows()), (8, 2));
    assert_eq!(validation.x, [16.0, 17.0, 18.0, 19.0]);
    assert_eq!(classes(&validation), [2, 0]);
    assert_eq!(train.row(7).unwrap(), ds.row(7).unwrap());
    // Keras keeps floor(rows * (1 - fraction)) rows for training: 10 * 0.75 = 7.5 -> 7, so 3 validate.
    let (train, validation) = ds.split_last(0.25).unwrap();
    assert_eq!((train.rows(), validation.rows()), (7, 3));
    let (train, validation) = ds.split_last(0.0).unwrap();
    assert_eq!((train.rows(), validation.rows()), (10, 0));
    assert_eq!(train, ds);
}

#[test]
fn split_last_refuses_fractions_outside_0_to_1() {
    for fraction in [1.0, -0.1, 1.5, f64::NAN] {
        let e = ten_rows().split_last(fraction).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        assert!(e.to_string().contains(&fraction.to_string()), "{e}");
    }
    let e = ten_rows().split_last(0.95).unwrap_err(); // floor(10 * 0.05) = 0 training rows
    assert!(matches!(e, Error::Config(_)), "{e:?}");
}

#[test]
fn select_keeps_features_and_labels_together() {
    let picked = ten_rows().select(&[9, 0, 9]).unwrap();
    assert_eq!(picked.x, [18.0, 19.0, 0.0, 1.0, 18.0, 19.0]);
    assert_eq!(picked.labels, Labels::Classes { labels: vec![0, 0, 0], classes: 3 });
    let one_hot = Labels::OneHot { values: vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5], classes: 2 };
    assert_eq!(one_hot.select(&[2, 1]).unwrap(), Labels::OneHot { values: vec![0.5, 0.5, 0.0, 1.0], classes: 2 });
}

#[test]
fn labels_convert_both_ways() {
    let labels = Labels::Classes { labels: vec![2, 0], classes: 3 };
    assert_eq!(labels.to_one_hot().unwrap(), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    assert_eq!((labels.len(), labels.classes()), (2, 3));
    let soft = Labels::OneHot { values: vec![0.2, 0.5, 0.3, 0.4, 0.1, 0.4], classes: 3 };
    assert_eq!(soft.to_classes(), [1, 0]); // the first maximum wins a tie
    assert_eq!(soft.to_one_hot().unwrap(), [0.2, 0.5, 0.3, 0.4, 0.1, 0.4]);
    assert_eq!(soft.len(), 2);
}

#[test]
fn scale_multiplies_every_feature() {
    let (mut train, _) = Dataset::digits();
    let before = train.x.clone();
    train.scale(1.0 / 16.0).unwrap();
    assert!(train.x.iter().zip(&before).all(|(a, b)| *a == b / 16.0));
    assert!(train.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
}

/// A `.npy` file written by hand, for layouts npyz does not write by default.
fn raw_npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    header.push_str(&" ".repeat(63 - (header.len() + 10) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

#[test]
fn npy_in_fortran_order_and_big_endian() {
    // x = [[1, 2, 3], [4, 5, 6]] as big-endian int16, stored column by column.
    let data: Vec<u8> = [1i16, 4, 2, 5, 3, 6].iter().flat_map(|v| v.to_be_bytes()).collect();
    let x = write("fortran-x.npy", raw_npy(">i2", true, "(2, 3)", &data));
    let y = write("fortran-y.npy", raw_npy("<u2", false, "(2,)", &[1, 0, 0, 0]));
    let ds = Dataset::load(&format!("{},{}", x.display(), y.display())).unwrap();
    assert_eq!(ds.x, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(ds.labels, Labels::Classes { labels: vec![1, 0], classes: 2 });
}
