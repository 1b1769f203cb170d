//! `Array::save_npy` / `load_npy`, `save_npz` / `load_npz`: every dtype round-trips bit for
//! bit (special values, 0-d, empty and prime shapes), views and emulated-CUDA arrays save
//! their elements, hand-made files (big-endian, Fortran order, v2 headers) read right, and
//! every bad file or request is a typed error. NumPy itself reads and writes these in
//! `numpy_interop.rs`.

use super::{temp, write};
use ferrite::io::{AnyArray, load_npz, save_npz, save_npz_compressed};
use ferrite::{Array, DType, Device, Element, Error, bf16, f16, with_device};

/// Values covering each dtype's edges (specials for floats), as f64 for `Element::from_f64`.
const SAMPLES: [f64; 11] =
    [0.0, -0.0, 1.0, -1.5, 255.0, 65504.0, 1e300, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 7.0];

fn samples<T: Element>(n: usize) -> Vec<T> {
    (0..n).map(|i| T::from_f64(SAMPLES[i % SAMPLES.len()])).collect()
}

/// Equal bits (NaN equals NaN, -0 is not 0).
fn same<T: Element>(a: &[T], b: &[T]) -> bool {
    let bits = |v: &T| {
        let f = v.to_f64();
        if f.is_nan() { u64::MAX } else { f.to_bits() }
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bits(x) == bits(y))
}

fn round_trip<T: Element>() {
    for shape in [&[][..], &[0], &[1], &[7], &[2, 3, 5], &[0, 3], &[3, 0, 2]] {
        let n = shape.iter().product();
        let a = Array::from_vec(samples::<T>(n), shape).unwrap();
        let path = temp(&format!("rt-{}-{n}-{}.npy", T::DTYPE, shape.len()));
        a.save_npy(&path).unwrap();
        let b = Array::<T>::load_npy(&path).unwrap();
        assert_eq!(b.shape(), shape, "{} {shape:?}", T::DTYPE);
        assert!(same(&b.to_vec().unwrap(), &a.to_vec().unwrap()), "{} {shape:?}: {b} != {a}", T::DTYPE);
        let any = AnyArray::load_npy(&path).unwrap();
        assert_eq!((any.dtype(), any.shape()), (T::DTYPE, shape));
        // The data starts on a 64-byte boundary, as np.save aligns it.
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!((bytes.len() - n * T::DTYPE.size()) % 64, 0, "{} {shape:?}: header length", T::DTYPE);
    }
}

#[test]
fn every_dtype_round_trips_bit_for_bit() {
    round_trip::<f32>();
    round_trip::<f64>();
    round_trip::<f16>();
    round_trip::<bf16>();
    round_trip::<i32>();
    round_trip::<i64>();
    round_trip::<u8>();
    round_trip::<u32>();
    round_trip::<bool>();
}

#[test]
fn views_and_device_arrays_save_their_elements() {
    let cpu = Device::Cpu;
    for device in [cpu, Device::new("emulated:sm_80").unwrap()] {
        with_device(&device, || -> ferrite::Result<()> {
            let a = Array::from_vec((0..30).map(|i| i as f64 * 0.5).collect(), &[5, 6])?;
            let views = [
                ("t", a.t()),
                ("step", a.slice_axis(1, Some(5), None, -2)?), // negative stride
                ("bcast", a.slice_axis(0, Some(1), Some(2), 1)?.broadcast_to(&[3, 5, 6])?),
            ];
            for (name, v) in views {
                let path = temp(&format!("view-{name}-{}.npy", device.to_string().replace(':', "_")));
                v.save_npy(&path)?;
                let back = Array::<f64>::load_npy(&path)?;
                assert_eq!(back.device(), device, "loads onto the default device");
                assert_eq!((back.shape(), back.to_vec()?), (v.shape(), v.to_vec()?), "{name} on {device}");
            }
            Ok(())
        })
        .unwrap();
    }
}

/// A `.npy` file written by hand: `descr`, `fortran`, `shape`, then `data`, in format `version`.
pub(super) fn handmade(descr: &str, fortran: bool, shape: &str, data: &[u8], version: u8) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut text = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}\n");
    let mut out = vec![0x93, b'N', b'U', b'M', b'P', b'Y', version, 0];
    match version {
        1 => out.extend((text.len() as u16).to_le_bytes()),
        _ => {
            text.insert_str(text.len() - 1, "   ");
            out.extend((text.len() as u32).to_le_bytes())
        }
    }
    out.extend(text.as_bytes());
    out.extend(data);
    out
}

#[test]
fn big_endian_fortran_and_v2_files_read_right() {
    // 2x3 matrix [[1, 2, 3], [4, 5, 6]] as big-endian int32, column-major.
    let column_major: Vec<u8> = [1i32, 4, 2, 5, 3, 6].iter().flat_map(|v| v.to_be_bytes()).collect();
    let path = write("be-f.npy", handmade(">i4", true, "(2, 3)", &column_major, 1));
    let a = Array::<i32>::load_npy(&path).unwrap();
    assert_eq!((a.shape(), a.to_vec().unwrap()), (&[2, 3][..], vec![1, 2, 3, 4, 5, 6]));
    let le: Vec<u8> = [1.5f64, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let path = write("v2.npy", handmade("<f8", false, "(2,)", &le, 2));
    assert_eq!(Array::<f64>::load_npy(&path).unwrap().to_vec().unwrap(), [1.5, -2.0]);
    let be16: Vec<u8> = [1.0f32, -2.5].iter().flat_map(|v| f16::from_f32(*v).to_be_bytes()).collect();
    let path = write("be-f2.npy", handmade(">f2", false, "(2,)", &be16, 1));
    assert_eq!(Array::<f16>::load_npy(&path).unwrap().to_vec().unwrap(), [f16::from_f32(1.0), f16::from_f32(-2.5)]);
    // bfloat16 as ml_dtypes saves it: raw little-endian bits, '<V2'.
    let bits: Vec<u8> = [0x3fc0u16, 0xc000].iter().flat_map(|v| v.to_le_bytes()).collect();
    let path = write("bf16.npy", handmade("<V2", false, "(2,)", &bits, 1));
    assert_eq!(Array::<bf16>::load_npy(&path).unwrap().to_vec().unwrap(), [bf16::from_f32(1.5), bf16::from_f32(-2.0)]);
    // A bool byte other than 0 or 1 is true (as NumPy reads it), never an invalid bool.
    let path = write("bool.npy", handmade("|b1", false, "(3,)", &[0, 1, 7], 1));
    assert_eq!(Array::<bool>::load_npy(&path).unwrap().to_vec().unwrap(), [false, true, true]);
}

#[test]
fn bad_files_and_requests_are_typed_errors() {
    let ints = Array::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
    let path = temp("ints.npy");
    ints.save_npy(&path).unwrap();
    match Array::<f32>::load_npy(&path) {
        Err(Error::FileDType { path: p, member: None, found, expected: Some(DType::F32) }) => {
            assert_eq!((p, found.as_str()), (path.clone(), "int32 ('<i4')"));
        }
        other => panic!("a dtype mismatch: {other:?}"),
    }
    let int16 = write("i2.npy", handmade("<i2", false, "(2,)", &[1, 0, 2, 0], 1));
    match AnyArray::load_npy(&int16) {
        Err(e @ Error::FileDType { expected: None, .. }) => assert!(e.to_string().contains("int16"), "{e}"),
        other => panic!("no ferrite dtype: {other:?}"),
    }
    let full = std::fs::read(&path).unwrap();
    let data_error = |bytes: &[u8], name: &str, want: &str| {
        let p = write(name, bytes);
        match Array::<i32>::load_npy(&p) {
            Err(e @ Error::Data { .. }) => assert!(e.to_string().contains(want), "{name}: {e}"),
            other => panic!("{name}: want a Data error with {want:?}, got {other:?}"),
        }
    };
    data_error(&full[..full.len() - 1], "short.npy", "truncated: shape [3] of <i4 needs 12 data bytes, found 11");
    data_error(&[&full[..], &[0]].concat(), "long.npy", "but there are more");
    data_error(&full[..40], "header.npy", "truncated: the header needs");
    data_error(b"PK\x03\x04 not npy", "magic.npy", "not a .npy array");
    data_error(&handmade("<i4", false, "(99999999999, 99999999999)", &[], 1), "huge.npy", "needs more than");
    let deep = Array::<u8>::zeros(&[1; 4000]).unwrap(); // a header past NumPy's 10000 bytes
    assert!(matches!(deep.save_npy(temp("deep.npy")), Err(Error::BadShape { op: "save_npy", .. })));
    match Array::<i32>::load_npy(temp("absent.npy")) {
        Err(Error::Io { path: p, .. }) => assert_eq!(p, temp("absent.npy")),
        other => panic!("a missing file: {other:?}"),
    }
}

#[test]
fn npz_holds_named_arrays_of_any_dtype() {
    let x = Array::from_vec((0..12).map(|i| i as f32).collect(), &[3, 4]).unwrap();
    let y = Array::from_vec(vec![true, false, true], &[3]).unwrap();
    let z = Array::from_vec(vec![bf16::from_f32(0.5)], &[]).unwrap();
    for compressed in [false, true] {
        let path = temp(&format!("mixed-{compressed}.npz"));
        let arrays = [("x", x.t().into()), ("labels", y.clone().into()), ("z", (&z).into())];
        if compressed { save_npz_compressed(&path, &arrays) } else { save_npz(&path, &arrays) }.unwrap();
        let file = load_npz(&path).unwrap();
        assert_eq!(file.names(), ["x", "labels", "z"], "the order saved");
        assert_eq!(file.get::<f32>("x").unwrap().to_vec().unwrap(), x.t().to_vec().unwrap());
        assert_eq!(file.get::<bool>("labels").unwrap().to_vec().unwrap(), [true, false, true]);
        assert_eq!(file.get::<bf16>("z").unwrap().shape(), [0usize; 0]);
        match file.get::<f32>("w") {
            Err(Error::MissingArray { name, present, .. }) => {
                assert_eq!((name.as_str(), present), ("w", vec!["x".to_string(), "labels".into(), "z".into()]))
            }
            other => panic!("a missing name: {other:?}"),
        }
        match file.get::<u8>("labels") {
            Err(Error::FileDType { member: Some(m), found, expected: Some(DType::U8), .. }) => {
                assert_eq!((m.as_str(), found.as_str()), ("labels", "bool"))
            }
            other => panic!("a dtype mismatch: {other:?}"),
        }
    }
    let twice = save_npz(temp("twice.npz"), &[("a", (&x).into()), ("a", (&x).into())]);
    assert!(matches!(&twice, Err(Error::Data { location, .. }) if location.contains("\"a\"")), "{twice:?}");
}

#[test]
fn npz_members_are_checked_and_others_skipped() {
    use std::io::Write;
    let member = handmade("<f4", false, "(4,)", &[0; 12], 1); // 12 of 16 data bytes
    let path = super::npz("short-member.npz", &[("x", member)], true);
    match load_npz(&path) {
        Err(e @ Error::Data { .. }) => {
            assert!(e.to_string().contains("array 'x'") && e.to_string().contains("truncated"), "{e}")
        }
        other => panic!("a truncated member: {other:?}"),
    }
    // A member that is not a .npy file holds no array: skipped, as NumPy lists only arrays.
    let path = temp("readme.npz");
    let mut zip = npyz::zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file("README.txt", npyz::zip::write::FileOptions::default()).unwrap();
    zip.write_all(b"hello").unwrap();
    zip.start_file("a.npy", npyz::zip::write::FileOptions::default()).unwrap();
    zip.write_all(&handmade("<i8", false, "(1,)", &7i64.to_le_bytes(), 1)).unwrap();
    zip.finish().unwrap();
    let file = load_npz(&path).unwrap();
    assert_eq!(file.names(), ["a"]);
    assert_eq!(file.get::<i64>("a").unwrap().to_vec().unwrap(), [7]);
}
