//! The constructor rows' error inputs: the arguments that describe no array, each
//! `Error::BadArgument` naming the constructor and the argument values (NaN matching NaN),
//! and shapes whose number of elements overflows, `Error::BadShape` naming the constructor
//! called (`zeros`, not the `full` it shares code with).

use super::dynarray::Dyn;
use super::error_inputs::ErrorInput;
use super::rows_create::{arange_dyn, dyn_floating, dyn_numeric, dyn_of, dyn_typed, linspace_dyn};
use ferrite::{Array, DType, Device, Error, Result, bf16, f16, with_device};

/// `Error::BadArgument` of `op` whose arguments are `args` (NaN matching NaN).
fn bad_argument(op: &'static str, args: Vec<(&'static str, f64)>) -> (String, impl Fn(&Error) -> bool + Send + Sync) {
    let expected = format!("BadArgument {{ op: {op:?}, args: {args:?} }}");
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    let m = move |e: &Error| {
        matches!(e, Error::BadArgument { op: o, args: a, .. }
            if *o == op && a.len() == args.len() && a.iter().zip(&args).all(|(x, y)| x.0 == y.0 && same(x.1, y.1)))
    };
    (expected, m)
}

pub fn arange() -> Vec<ErrorInput> {
    [(0.0, 1.0, 0.0, "a zero step"), (f64::NAN, 1.0, 1.0, "a NaN start"), (0.0, f64::INFINITY, 1.0, "an infinite stop")]
        .into_iter()
        .chain([(0.0, 1e300, 1e-300, "1e600 elements"), (0.0, 1.0, f64::NEG_INFINITY, "an infinite step")])
        .map(|(start, stop, step, what)| {
            let (expected, m) = bad_argument("arange", vec![("start", start), ("stop", stop), ("step", step)]);
            ErrorInput::new(what, move |t, d| Ok(Some(arange_dyn(t, start, stop, step, d).map(drop))), expected, m)
        })
        .collect()
}

pub fn linspace() -> Vec<ErrorInput> {
    [
        (0.0, f64::NAN, 3, "a NaN stop"),
        (f64::NEG_INFINITY, 0.0, 3, "an infinite start"),
        (-1e308, 1e308, 3, "a range that overflows"),
    ]
    .into_iter()
    .map(|(start, stop, num, what)| {
        let (expected, m) = bad_argument("linspace", vec![("start", start), ("stop", stop), ("num", num as f64)]);
        ErrorInput::new(what, move |t, d| Ok(Some(linspace_dyn(t, start, stop, num, true, d).map(drop))), expected, m)
    })
    .collect()
}

/// A size that overflows: `Error::BadShape` naming `op`.
fn overflow(op: &'static str, make: fn(DType, &Device) -> Result<Dyn>) -> ErrorInput {
    ErrorInput::new(
        format!("{op} of 2^64 elements"),
        move |t, d| Ok(Some(make(t, d).map(drop))),
        format!("BadShape {{ op: {op:?} }}"),
        move |e| matches!(e, Error::BadShape { op: o, .. } if *o == op),
    )
}

const HUGE: [usize; 2] = [1 << 32, 1 << 32];

pub fn rand() -> Vec<ErrorInput> {
    let uniform = |low: f64, high: f64, what: &'static str| {
        let (expected, m) = bad_argument("rand_uniform", vec![("low", low), ("high", high)]);
        let call = move |t: DType, d: &Device| {
            Ok(Some(
                with_device(d, || -> Result<Dyn> {
                    Ok(dyn_floating!(t, |T| Array::<T>::rand_uniform(&[3], low, high, 7)?))
                })
                .map(drop),
            ))
        };
        ErrorInput::new(what, call, expected, m)
    };
    let normal = |mean: f64, std: f64, what: &'static str| {
        let (expected, m) = bad_argument("rand_normal", vec![("mean", mean), ("std", std)]);
        let call = move |t: DType, d: &Device| {
            Ok(Some(
                with_device(d, || -> Result<Dyn> {
                    Ok(dyn_floating!(t, |T| Array::<T>::rand_normal(&[3], mean, std, 7)?))
                })
                .map(drop),
            ))
        };
        ErrorInput::new(what, call, expected, m)
    };
    vec![
        uniform(1.0, 1.0, "an empty uniform range"),
        uniform(2.0, 1.0, "a reversed uniform range"),
        uniform(0.0, f64::INFINITY, "an infinite uniform bound"),
        normal(0.0, -1.0, "a negative std"),
        normal(f64::NAN, 1.0, "a NaN mean"),
    ]
}

pub fn eye() -> Vec<ErrorInput> {
    vec![overflow("eye", |t, d| Ok(dyn_numeric!(t, |T| Array::<T>::eye_on(1 << 32, d)?)))]
}

pub fn full() -> Vec<ErrorInput> {
    vec![
        overflow("full", |t, d| Ok(dyn_typed!(t, |T| Array::<T>::full_on(&HUGE, T::default(), d)?))),
        overflow("zeros", |t, d| {
            with_device(d, || -> Result<Dyn> { Ok(dyn_typed!(t, |T| Array::<T>::zeros(&HUGE)?)) })
        }),
        overflow("ones", |t, d| with_device(d, || -> Result<Dyn> { Ok(dyn_typed!(t, |T| Array::<T>::ones(&HUGE)?)) })),
    ]
}
