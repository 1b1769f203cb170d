//! Huge and overflowing shapes through every constructor and operation: sizes that overflow
//! are `BadShape`, sizes that cannot be allocated `OutOfMemory` (never an abort), and empty
//! arrays of huge shapes work.

use super::Sweep;
use crate::expect;
use ferrite::{Array, Device, Error, Result, with_device};

/// 2^40 f32 elements: 4 TiB.
const HUGE: [usize; 1] = [1 << 40];
/// 2^64 elements: the count itself overflows.
const OVERFLOWING: [usize; 2] = [1 << 32, 1 << 32];

pub fn sweep(s: &mut Sweep, d: &Device) {
    let on = |what: &str| format!("{what} on {d}");
    let scoped = |f: &dyn Fn() -> Result<Array<f32>>| with_device(d, f);

    for (shape, name) in [(&HUGE[..], "2^40"), (&[1 << 62], "2^62"), (&[1 << 30, 8], "2^30 x 8")] {
        expect!(s, on(&format!("zeros {name}")), scoped(&|| Array::zeros(shape)), Error::OutOfMemory { .. });
        expect!(s, on(&format!("ones {name}")), scoped(&|| Array::ones(shape)), Error::OutOfMemory { .. });
        expect!(s, on(&format!("full {name}")), Array::full_on(shape, 1.0f32, d), Error::OutOfMemory { .. });
        let uniform = || Array::rand_uniform(shape, 0.0, 1.0, 0);
        expect!(s, on(&format!("rand_uniform {name}")), scoped(&uniform), Error::OutOfMemory { .. });
        let normal = || Array::rand_normal(shape, 0.0, 1.0, 0);
        expect!(s, on(&format!("rand_normal {name}")), scoped(&normal), Error::OutOfMemory { .. });
    }
    expect!(s, on("zeros 2^32 x 2^32"), scoped(&|| Array::zeros(&OVERFLOWING)), Error::BadShape { .. });
    expect!(s, on("full 2^32 x 2^32"), Array::full_on(&OVERFLOWING, 0.0f32, d), Error::BadShape { .. });
    let uniform = || Array::rand_uniform(&OVERFLOWING, 0.0, 1.0, 0);
    expect!(s, on("rand_uniform 2^32 x 2^32"), scoped(&uniform), Error::BadShape { .. });
    let three = || Array::from_vec_on(vec![1.0f32; 3], &OVERFLOWING, d);
    expect!(s, on("from_vec 2^32 x 2^32"), three(), Error::BadShape { .. });
    expect!(
        s,
        on("from_vec 3 values as 2^40"),
        Array::from_vec_on(vec![1.0f32; 3], &HUGE, d),
        Error::DataLength { .. }
    );

    let six = || Array::from_vec_on(vec![1.0f32; 6], &[2, 3], d);
    expect!(s, on("reshape to usize::MAX x 2"), six()?.reshape(&[usize::MAX, 2]), Error::BadShape { .. });
    expect!(s, on("reshape to 7"), six()?.reshape(&[7]), Error::ShapeMismatch { .. });

    // Empty arrays of huge shapes are valid: every operation works on them.
    let empty = || Array::<f32>::full_on(&[usize::MAX, 0], 0.0, d);
    s.check(&on("empty [usize::MAX, 0] through every operation"), || {
        let e = empty().map_err(|e| e.to_string())?;
        let shape = [usize::MAX, 0];
        let same = |a: Result<Array<f32>>, op: &str| match a {
            Ok(a) if a.shape() == shape && a.is_empty() => Ok(()),
            other => Err(format!("{op}: {:?}", other.map(|a| a.shape().to_vec()))),
        };
        same(e.sqrt(), "sqrt")?;
        same(e.softmax(), "softmax")?;
        same(e.cast::<f64>().and_then(|a| a.cast::<f32>()), "cast")?;
        same(e.to_device(&Device::Cpu), "to_device")?;
        same(e.try_clone(), "try_clone")?;
        let flipped = e.reshape(&[0, usize::MAX]).map_err(|e| e.to_string())?;
        if flipped.shape() != [0, usize::MAX] {
            return Err(format!("reshape: {:?}", flipped.shape()));
        }
        match (e.to_string(), format!("{e:?}")) {
            (text, debug) if text == "[]" && debug.contains("18446744073709551615, 0") => Ok(()),
            other => Err(format!("printing: {other:?}")),
        }
    });

    // Products of empty operands whose result is huge (or has more elements than usize holds).
    let zeros = |shape: &[usize]| Array::<f32>::full_on(shape, 0.0, d);
    let product = |a: &[usize], b: &[usize]| zeros(a)?.matmul(&zeros(b)?);
    expect!(s, on("[2^20, 0] @ [0, 2^20]"), product(&[1 << 20, 0], &[0, 1 << 20]), Error::OutOfMemory { .. });
    expect!(s, on("[2^32, 0] @ [0, 2^32]"), product(&[1 << 32, 0], &[0, 1 << 32]), Error::BadShape { .. });
    expect!(s, on("[usize::MAX, 0] @ [0, 2]"), product(&[usize::MAX, 0], &[0, 2]), Error::BadShape { .. });
    expect!(s, on("[usize::MAX, 0] @ [0]"), product(&[usize::MAX, 0], &[0]), Error::OutOfMemory { .. });
    expect!(s, on("[2, 3] @ [4, 2]"), product(&[2, 3], &[4, 2]), Error::ShapeMismatch { .. });
    let bf16 = |shape: &[usize]| Array::<ferrite::bf16>::full_on(shape, ferrite::bf16::ZERO, d);
    let tensor_core = bf16(&[1 << 20, 0]).and_then(|a| a.matmul(&bf16(&[0, 1 << 20])?));
    expect!(s, on("bf16 [2^20, 0] @ [0, 2^20]"), tensor_core, Error::OutOfMemory { .. });

    // A view of 9 dimensions no two of which merge: the CUDA kernels walk at most 8, so every
    // map over it is BadShape there (exp panicked building its launch: planted back, this fails).
    let nine = || Array::<f32>::full_on(&[2; 9], 0.0, d)?.permute(&[8, 7, 6, 5, 4, 3, 2, 1, 0]);
    if matches!(d, Device::Cuda(_)) {
        expect!(s, on("exp of a 9-D transposed view"), nine().and_then(|x| x.exp()), Error::BadShape { .. });
        expect!(s, on("9-D view + 1"), nine().and_then(|x| x.add_scalar(1.0)), Error::BadShape { .. });
        expect!(s, on("9-D view < 0"), nine().and_then(|x| x.lt_scalar(0.0)), Error::BadShape { .. });
    }
}
