//! NumPy reads what ferrite writes, and ferrite reads what NumPy writes, for every dtype:
//! `.npy` (NumPy's C order, Fortran order and big-endian files), `.npz` (compressed), and
//! safetensors (parsed in Python by the format's spec, and by the `safetensors` package where
//! it is installed). bfloat16 travels as raw `V2` bits (`ml_dtypes`' convention). Skipped,
//! with a printed count, where python3 or NumPy is missing (the `safetensors` package's
//! checks likewise, on their own: CI does not install it).

use super::temp;
use ferrite::io::{AnyArray, load_npz, load_safetensors, save_npz, save_safetensors};
use ferrite::{Array, Element, bf16, f16};
use std::process::Command;

/// Per dtype: NumPy's name, and six values (row-major 2x3), as Python literals.
const CASES: [(&str, [&str; 6]); 9] = [
    ("float32", ["1.5", "-0.0", "inf", "-inf", "nan", "1024.0"]),
    ("float64", ["1.5", "-0.0", "inf", "-inf", "nan", "1e300"]),
    ("float16", ["1.5", "-0.0", "inf", "-inf", "nan", "65504.0"]),
    ("bfloat16", ["1.5", "-0.0", "inf", "-inf", "nan", "1.7014118346046923e38"]), // 2^127
    ("int32", ["0", "-1", "2147483647", "-2147483648", "7", "42"]),
    ("int64", ["0", "-1", "9007199254740992", "-9007199254740992", "7", "42"]),
    ("uint8", ["0", "1", "255", "128", "7", "42"]),
    ("uint32", ["0", "1", "4294967295", "2147483648", "7", "42"]),
    ("bool", ["False", "True", "True", "False", "True", "False"]),
];

const SCRIPT: &str = r#"
import json, sys, numpy as np
d, cases = sys.argv[1], dict(json.load(open(sys.argv[2])))
try:
    import safetensors.numpy as stnp
except ImportError:
    stnp = None
def expected(name, values):
    if name == "bool":
        return np.array([v == "True" for v in values]).reshape(2, 3)
    if name == "bfloat16":  # the float32 values, whose low 16 bits are zero
        return np.array([float(v) for v in values], np.float32).reshape(2, 3)
    return np.array([float(v) if "int" not in name else int(v) for v in values], name).reshape(2, 3)
def as_checked(name, a):
    if name == "bfloat16":
        assert a.dtype.kind == "V" and a.dtype.itemsize == 2, a.dtype
        return (a.view("<u2").astype("<u4") << 16).view("<f4")
    assert a.dtype == np.dtype(name), (name, a.dtype)
    return a
def check(what, name, a, values):
    e, a = expected(name, values), as_checked(name, a)
    assert a.shape == (2, 3), (what, a.shape)
    same = np.array_equal(a, e, equal_nan=True) if a.dtype.kind == "f" else np.array_equal(a, e)
    assert same and np.array_equal(np.signbit(a), np.signbit(e)) if a.dtype.kind == "f" else same, (what, a, e)
npz = np.load(f"{d}/ferrite.npz")
assert list(npz.files) == list(cases), npz.files
raw = open(f"{d}/ferrite.safetensors", "rb").read()
n = int.from_bytes(raw[:8], "little")
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
st_dtypes = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16", "int32": "I32",
             "int64": "I64", "uint8": "U8", "uint32": "U32", "bool": "BOOL"}
checked = 0
for name, values in cases.items():
    check("npy " + name, name, np.load(f"{d}/ferrite-{name}.npy"), values)
    check("npz " + name, name, npz[name], values)
    t = header[name]
    assert t["dtype"] == st_dtypes[name] and t["shape"] == [2, 3], t
    numpy_type = "<u2" if name == "bfloat16" else name
    a = np.frombuffer(data[t["data_offsets"][0]:t["data_offsets"][1]], numpy_type).reshape(2, 3)
    check("safetensors " + name, name, a.view("V2") if name == "bfloat16" else a, values)
    checked += 3
    e = expected(name, values)
    if name == "bfloat16":
        bits = e.view("<u4") >> 16
        e = bits.astype("<u2").view("V2")
    np.save(f"{d}/numpy-{name}.npy", e)
    np.save(f"{d}/numpy-{name}-F.npy", np.asfortranarray(e))
    if e.dtype.itemsize > 1 and e.dtype.kind != "V":
        np.save(f"{d}/numpy-{name}-BE.npy", e.astype(e.dtype.newbyteorder(">")))
    else:
        np.save(f"{d}/numpy-{name}-BE.npy", e)
np.savez_compressed(f"{d}/numpy.npz", **{name: np.load(f"{d}/numpy-{name}.npy") for name in cases})
if stnp is not None:  # NumPy has no bfloat16: its tensor is read only by the spec, above
    from safetensors import safe_open
    with safe_open(f"{d}/ferrite.safetensors", framework="np") as f:
        for name in cases:
            if name != "bfloat16":
                a, e = f.get_tensor(name), np.load(f"{d}/numpy-{name}.npy")
                assert a.dtype == e.dtype and np.array_equal(a, e, equal_nan=name.startswith("float")), name
                checked += 1
    stnp.save_file({name: np.load(f"{d}/numpy-{name}.npy") for name in cases if name != "bfloat16"}, f"{d}/numpy.safetensors")
print("checked", checked, "safetensors-package" if stnp is not None else "no-safetensors-package")
"#;

fn values<T: Element>(case: &[&str; 6]) -> Vec<T> {
    case.iter()
        .map(|v| match *v {
            "True" => T::from_f64(1.0),
            "False" => T::from_f64(0.0),
            v => T::from_f64(v.parse::<f64>().unwrap()),
        })
        .collect()
}

/// Equal bits (NaN equals NaN, -0 is not 0).
fn same<T: Element>(a: &[T], b: &[T]) -> bool {
    let bits = |v: &T| if v.to_f64().is_nan() { u64::MAX } else { v.to_f64().to_bits() };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bits(x) == bits(y))
}

/// The 2x3 array of `case` as a transposed view (so every file ferrite writes is of a
/// non-contiguous array).
fn view<T: Element>(case: &[&str; 6]) -> Array<T> {
    let v = values::<T>(case);
    Array::from_vec(vec![v[0], v[3], v[1], v[4], v[2], v[5]], &[3, 2]).unwrap().t()
}

fn check_loaded<T: Element>(dir: &std::path::Path, name: &str, case: &[&str; 6], npz: &ferrite::NamedArrays) -> usize {
    let want = values::<T>(case);
    for suffix in ["", "-F", "-BE"] {
        let a = Array::<T>::load_npy(dir.join(format!("numpy-{name}{suffix}.npy"))).unwrap();
        assert_eq!(a.shape(), [2, 3], "{name}{suffix}");
        assert!(same(&a.to_vec().unwrap(), &want), "{name}{suffix}: {a} from NumPy");
    }
    assert!(same(&npz.get::<T>(name).unwrap().to_vec().unwrap(), &want), "{name} from numpy.npz");
    4
}

#[test]
fn numpy_reads_ferrite_files_and_ferrite_reads_numpys() {
    let has_numpy = Command::new("python3").args(["-c", "import numpy"]).output().is_ok_and(|o| o.status.success());
    if !has_numpy {
        println!("numpy_interop: skipped {} checks: python3 with NumPy is not installed", CASES.len() * 7);
        return;
    }
    let dir = temp("numpy-interop");
    std::fs::create_dir_all(&dir).unwrap();
    let mut arrays: Vec<(&str, AnyArray)> = Vec::new();
    macro_rules! each {
        ($f:ident) => {
            [$f::<f32>, $f::<f64>, $f::<f16>, $f::<bf16>, $f::<i32>, $f::<i64>, $f::<u8>, $f::<u32>, $f::<bool>]
        };
    }
    fn write_one<T: Element>(dir: &std::path::Path, name: &str, case: &[&str; 6]) -> AnyArray {
        let a = view::<T>(case);
        a.save_npy(dir.join(format!("ferrite-{name}.npy"))).unwrap();
        a.into()
    }
    for ((name, case), write) in CASES.iter().zip(each!(write_one)) {
        arrays.push((*name, write(&dir, name, case)));
    }
    save_npz(dir.join("ferrite.npz"), &arrays).unwrap();
    save_safetensors(dir.join("ferrite.safetensors"), &arrays).unwrap();
    let spec = dir.join("cases.json");
    let json: Vec<serde_json::Value> = CASES.iter().map(|(n, v)| serde_json::json!([n, v])).collect();
    std::fs::write(&spec, serde_json::to_string(&json).unwrap()).unwrap();
    let out = Command::new("python3").arg("-c").arg(SCRIPT).arg(&dir).arg(&spec).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "NumPy's side failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    let npz = load_npz(dir.join("numpy.npz")).unwrap();
    let mut checked = 0;
    for ((name, case), check) in CASES.iter().zip(each!(check_loaded)) {
        checked += check(&dir, name, case, &npz);
    }
    if stdout.contains("no-safetensors-package") {
        println!(
            "numpy_interop: skipped {} checks: Python's safetensors package is not installed",
            2 * (CASES.len() - 1)
        );
    } else {
        let file = load_safetensors(dir.join("numpy.safetensors")).unwrap();
        assert_eq!(file.names().len(), CASES.len() - 1);
        assert!(same(&file.get::<f32>("float32").unwrap().to_vec().unwrap(), &values::<f32>(&CASES[0].1)));
        assert!(same(&file.get::<bool>("bool").unwrap().to_vec().unwrap(), &values::<bool>(&CASES[8].1)));
    }
    println!("numpy_interop: NumPy {}; ferrite read {checked} NumPy files", stdout.trim());
}
