//! `save_safetensors` / `load_safetensors`: every dtype round-trips, a file built by hand from
//! the format's spec (8-byte little-endian header length, JSON header, data) reads right, and
//! what ferrite writes parses by the same spec; bad files and requests are typed errors.
//! Python's `safetensors` package reads them in `numpy_interop.rs`, where it is installed.

use super::{temp, write};
use ferrite::io::{AnyArray, load_safetensors, save_safetensors};
use ferrite::{Array, DType, Device, Error, bf16, f16, with_device};

/// A safetensors file from (name, dtype, shape, data bytes), in that order, by the spec.
pub(super) fn by_spec(tensors: &[(&str, &str, &[usize], Vec<u8>)]) -> Vec<u8> {
    let mut at = 0;
    let mut entries = vec![r#""__metadata__":{"format":"pt"}"#.to_string()];
    for (name, dtype, shape, data) in tensors {
        let shape: Vec<String> = shape.iter().map(usize::to_string).collect();
        let end = at + data.len();
        entries.push(format!(
            r#""{name}":{{"dtype":"{dtype}","shape":[{}],"data_offsets":[{at},{end}]}}"#,
            shape.join(",")
        ));
        at = end;
    }
    let mut header = format!("{{{}}}", entries.join(","));
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    tensors.iter().for_each(|t| out.extend(&t.3));
    out
}

#[test]
fn every_dtype_round_trips() {
    let arrays: Vec<(&str, AnyArray)> = vec![
        ("f32", Array::from_vec(vec![1.5f32, f32::NAN, -0.0, f32::INFINITY], &[2, 2]).unwrap().into()),
        ("f64", Array::from_vec(vec![1e300f64, -2.0], &[2]).unwrap().into()),
        ("f16", Array::from_vec(vec![f16::MAX, f16::MIN_POSITIVE_SUBNORMAL], &[2, 1]).unwrap().into()),
        ("bf16", Array::from_vec(vec![bf16::from_f32(3.0e38)], &[]).unwrap().into()),
        ("i32", Array::from_vec(vec![i32::MIN, i32::MAX, 0], &[3]).unwrap().into()),
        ("i64", Array::from_vec(vec![i64::MIN], &[1, 1, 1]).unwrap().into()),
        ("u8", Array::<u8>::from_vec(vec![], &[0, 5]).unwrap().into()),
        ("u32", Array::from_vec(vec![u32::MAX; 7], &[7]).unwrap().into()),
        ("bool", Array::from_vec(vec![true, false], &[2]).unwrap().into()),
    ];
    let path = temp("all.safetensors");
    save_safetensors(&path, &arrays).unwrap();
    let file = load_safetensors(&path).unwrap();
    let mut names: Vec<&str> = arrays.iter().map(|(n, _)| *n).collect();
    names.sort();
    assert_eq!(file.names(), names, "ordered by name");
    for (name, a) in &arrays {
        let b = file.get_any(name).unwrap();
        assert_eq!((b.dtype(), b.shape()), (a.dtype(), a.shape()), "{name}");
    }
    let f32s = file.get::<f32>("f32").unwrap().to_vec().unwrap();
    assert_eq!(
        f32s.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        [1.5f32, f32::NAN, -0.0, f32::INFINITY].map(f32::to_bits)
    );
    assert_eq!(file.get::<f16>("f16").unwrap().to_vec().unwrap(), [f16::MAX, f16::MIN_POSITIVE_SUBNORMAL]);
    assert_eq!(file.get::<bf16>("bf16").unwrap().to_vec().unwrap(), [bf16::from_f32(3.0e38)]);
    assert_eq!(file.get::<i64>("i64").unwrap().to_vec().unwrap(), [i64::MIN]);
    assert_eq!(file.get::<u32>("u32").unwrap().to_vec().unwrap(), [u32::MAX; 7]);
    assert_eq!(file.get::<bool>("bool").unwrap().to_vec().unwrap(), [true, false]);
}

#[test]
fn files_by_the_spec_read_and_ferrite_writes_by_it() {
    let f16s: Vec<u8> = [1.0f32, -0.5].iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect();
    let bf16s: Vec<u8> = [0x3f80u16, 0x4000].iter().flat_map(|v| v.to_le_bytes()).collect(); // 1.0, 2.0
    let path = write(
        "spec.safetensors",
        by_spec(&[("h", "F16", &[2], f16s), ("b", "BF16", &[1, 2], bf16s), ("t", "BOOL", &[3], vec![1, 0, 3])]),
    );
    let file = load_safetensors(&path).unwrap();
    assert_eq!(file.get::<f16>("h").unwrap().to_vec().unwrap(), [f16::from_f32(1.0), f16::from_f32(-0.5)]);
    let b = file.get::<bf16>("b").unwrap();
    assert_eq!((b.shape(), b.to_vec().unwrap()), (&[1, 2][..], vec![bf16::from_f32(1.0), bf16::from_f32(2.0)]));
    assert_eq!(file.get::<bool>("t").unwrap().to_vec().unwrap(), [true, false, true], "nonzero is true");

    // What ferrite writes, parsed by the spec: a transposed view on the emulated device.
    let device = Device::new("emulated:sm_80").unwrap();
    let m = with_device(&device, || Array::from_vec(vec![1i32, 2, 3, 4, 5, 6], &[2, 3])).unwrap();
    let path = temp("written.safetensors");
    save_safetensors(&path, &[("m", m.t().into())]).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header["m"]["dtype"], "I32");
    assert_eq!(header["m"]["shape"], serde_json::json!([3, 2]));
    let data: Vec<i32> = bytes[8 + n..].chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(data, [1, 4, 2, 5, 3, 6]);
}

#[test]
fn bad_files_and_requests_are_typed_errors() {
    let path = write("i16.safetensors", by_spec(&[("w", "I16", &[2], vec![0; 4])]));
    match load_safetensors(&path) {
        Err(Error::FileDType { member: Some(m), found, expected: None, .. }) => {
            assert_eq!((m.as_str(), found.as_str()), ("w", "I16"))
        }
        other => panic!("an unsupported dtype: {other:?}"),
    }
    let good = by_spec(&[("w", "F32", &[2], vec![0; 8])]);
    for (name, bytes) in [("short", &good[..good.len() - 1]), ("header", &good[..20]), ("empty", &[][..])] {
        let path = write(&format!("{name}.safetensors"), bytes);
        assert!(matches!(load_safetensors(&path), Err(Error::Data { .. })), "{name}");
    }
    let path = write("good.safetensors", &good);
    let file = load_safetensors(&path).unwrap();
    assert!(matches!(file.get::<f64>("w"), Err(Error::FileDType { expected: Some(DType::F64), .. })));
    assert!(matches!(file.get::<f32>("v"), Err(Error::MissingArray { .. })));
    let x = Array::from_vec(vec![1.0f32], &[1]).unwrap();
    let twice = save_safetensors(temp("twice.safetensors"), &[("a", (&x).into()), ("a", (&x).into())]);
    assert!(matches!(twice, Err(Error::Data { .. })), "{twice:?}");
}
