//! The fuzzers' seeds: small valid files for each target, built byte by byte so that they are
//! the same on every run (the files in `seeds/<target>/` are these).

use ferrite::fuzzing::join;
use std::io::Write;

/// The seeds of `target` (a name in `tests/fuzz/Cargo.toml`).
pub fn generate(target: &str) -> Vec<Vec<u8>> {
    match target {
        "csv" => vec![
            b"a,b,label\n0.5,1,0\n0.25,2,1\n-1e3,3,2\n".to_vec(),
            b"x, \"y\" ,class\n1.5e-2,  4 ,1.0\n7,8,0\n".to_vec(),
        ],
        "npy" => vec![
            join(&npy("<f4", false, "(2, 2)", &f32s(&[1.0, 2.0, 3.0, 4.0])), &npy("|u1", false, "(2,)", &[1, 0])),
            join(
                &npy(">f8", true, "(2, 1)", &[&1.5f64.to_be_bytes()[..], &(-2.0f64).to_be_bytes()].concat()),
                &npy("<i8", false, "(2,)", &[&1i64.to_le_bytes()[..], &0i64.to_le_bytes()].concat()),
            ),
            join(&npy("<i2", false, "(1, 3)", &[1, 0, 2, 0, 3, 0]), &npy("<f4", false, "(1, 2)", &f32s(&[0.25, 0.75]))),
        ],
        "npz" => vec![
            npz(
                &[
                    ("x", npy("<f4", false, "(2, 2)", &f32s(&[1.0, 2.0, 3.0, 4.0]))),
                    ("y", npy("|u1", false, "(2,)", &[1, 0])),
                ],
                false,
            ),
            npz(
                &[
                    ("x", npy("<f8", false, "(1, 2)", &[&1f64.to_le_bytes()[..], &2f64.to_le_bytes()].concat())),
                    ("y", npy("<f4", false, "(1, 2)", &f32s(&[0.0, 1.0]))),
                ],
                true,
            ),
        ],
        "idx" => {
            vec![join(&idx(0x803, &[3, 2, 2], &[0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), &idx(0x801, &[3], &[7, 0, 3]))]
        }
        "idx_gz" => vec![join(&gzip(&idx(0x803, &[2, 1, 2], &[9, 8, 7, 6])), &gzip(&idx(0x801, &[2], &[1, 0])))],
        "weights" => {
            vec![safetensors("F32", &[(1.0f64, 4), (0.5, 0)], 4), safetensors("F64", &[(-0.25, 0), (2.0, 3)], 8)]
        }
        other => panic!("no seeds for {other}"),
    }
}

fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A whole `.npy` file, version 1.0, its header padded to 64 bytes as NumPy writes it
/// (`shape` is the header's text, so a test can write any header).
pub fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    npy_with_header(&format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}"), data)
}

/// A whole `.npy` file with this header dict.
pub fn npy_with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut header = header.to_string();
    header.push_str(&" ".repeat(63 - (header.len() + 10) % 64));
    header.push('\n');
    [&b"\x93NUMPY\x01\x00"[..], &(header.len() as u16).to_le_bytes(), header.as_bytes(), data].concat()
}

/// An `.npz` archive of `(name, .npy file)` entries, stored or deflated, with fixed dates.
fn npz(arrays: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
    use npyz::zip::{CompressionMethod, DateTime, write::FileOptions};
    let mut zip = npyz::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate { CompressionMethod::Deflated } else { CompressionMethod::Stored };
    let options = FileOptions::default().compression_method(method).last_modified_time(DateTime::default());
    for (name, bytes) in arrays {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// An IDX file: the magic number, big-endian dimension sizes, then the bytes.
fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let sizes = dims.iter().flat_map(|d| d.to_be_bytes());
    magic.to_be_bytes().into_iter().chain(sizes).chain(data.iter().copied()).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Weights for `ferrite::fuzzing::weights_model()` (4 → 3 → 2) in `dtype` (`width` bytes),
/// every tensor filled from `(start, step)` pairs cycled over the layers: keys in a fixed order.
fn safetensors(dtype: &str, fill: &[(f64, u8)], width: usize) -> Vec<u8> {
    let tensors = [
        ("dense.bias", vec![3]),
        ("dense.weight", vec![3, 4]),
        ("dense_1.bias", vec![2]),
        ("dense_1.weight", vec![2, 3]),
    ];
    let (mut header, mut data) = (String::from("{\"__metadata__\":{\"format\":\"pt\"}"), Vec::new());
    for (i, (name, shape)) in tensors.iter().enumerate() {
        let n: usize = shape.iter().product();
        let (start, step) = fill[i % fill.len()];
        let begin = data.len();
        for k in 0..n {
            let v = start + (k as f64) * (step as f64) * 0.125;
            data.extend(if width == 4 { (v as f32).to_le_bytes().to_vec() } else { v.to_le_bytes().to_vec() });
        }
        header += &format!(
            ",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{begin},{}]}}",
            data.len()
        );
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    [&(header.len() as u64).to_le_bytes()[..], header.as_bytes(), &data].concat()
}
