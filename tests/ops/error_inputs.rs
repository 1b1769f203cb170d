//! Error inputs (PyTorch OpInfo's `error_inputs`): each a description, a call on bad inputs
//! made on the device under test, and a matcher of the exact `ferrite::Error` it must give:
//! the variant, the op it names and the values it reports. A row's error inputs are its
//! family's generic set ([`generic`]: shapes that do not broadcast, an in-place result that
//! does not fit, axes out of range, operands on two devices where the device has a second
//! one) followed by the row's own (`Row::errors`); the runner checks each on every device and
//! dtype the row claims.

use super::dynarray::Dyn;
use super::registry::{Kind, Row};
use super::samples::{Input, View, represent};
use crate::common::devices::CaseResult;
use ferrite::{DType, Device, Error, Result};
use std::sync::Arc;

/// The call on bad inputs: `Ok(None)` where the device cannot make them (a second device,
/// from the CPU), else the op's result with its value dropped (`Err`: making the inputs
/// failed, which fails the row).
pub type Attempt = Arc<dyn Fn(DType, &Device) -> Result<Option<Result<()>>> + Send + Sync>;
/// Whether an error is the one expected.
pub type Matcher = Arc<dyn Fn(&Error) -> bool + Send + Sync>;

#[derive(Clone)]
pub struct ErrorInput {
    pub what: String,
    pub call: Attempt,
    /// The expected error, in words, for the failure message.
    pub expected: String,
    pub matches: Matcher,
}

impl ErrorInput {
    pub fn new(
        what: impl Into<String>,
        call: impl Fn(DType, &Device) -> Result<Option<Result<()>>> + Send + Sync + 'static,
        expected: impl Into<String>,
        matches: impl Fn(&Error) -> bool + Send + Sync + 'static,
    ) -> ErrorInput {
        ErrorInput { what: what.into(), call: Arc::new(call), expected: expected.into(), matches: Arc::new(matches) }
    }
}

/// Ones of `dtype` and `shape` on `d`.
pub fn ones(dtype: DType, shape: &[usize], d: &Device) -> Result<Dyn> {
    let n = shape.iter().product();
    Input::new(shape, vec![represent(dtype, 1.0); n], View::Contiguous).build(dtype, d)
}

/// The CPU when `d` is a CUDA device: where operands on two devices can be made.
fn other_device(d: &Device) -> Option<Device> {
    d.is_cuda().then_some(Device::Cpu)
}

/// `ShapeMismatch` naming `op` and the two shapes.
fn mismatch(op: &'static str, lhs: &'static [usize], rhs: &'static [usize]) -> (String, Matcher) {
    (
        format!("ShapeMismatch {{ op: {op:?}, lhs: {lhs:?}, rhs: {rhs:?} }}"),
        Arc::new(
            move |e| matches!(e, Error::ShapeMismatch { op: o, lhs: l, rhs: r, .. } if *o == op && l == lhs && r == rhs),
        ),
    )
}

fn device_mismatch(op: &'static str) -> (String, Matcher) {
    (
        format!("DeviceMismatch {{ op: {op:?} }}"),
        Arc::new(move |e| matches!(e, Error::DeviceMismatch { op: o, .. } if *o == op)),
    )
}

fn axis_out_of_range(op: &'static str, axis: isize, ndim: usize) -> (String, Matcher) {
    (
        format!("AxisOutOfRange {{ op: {op:?}, axis: {axis}, ndim: {ndim} }}"),
        Arc::new(
            move |e| matches!(e, Error::AxisOutOfRange { op: o, axis: a, ndim: n, .. } if *o == op && *a == axis && *n == ndim),
        ),
    )
}

fn input(what: String, call: Attempt, (expected, matches): (String, Matcher)) -> ErrorInput {
    ErrorInput { what, call, expected, matches }
}

/// Two operands that do not broadcast, and two on different devices, for a call of two arrays.
fn two_operands(op: &'static str, call: super::registry::BinaryCall) -> Vec<ErrorInput> {
    let mut v = Vec::new();
    for (a, b) in [(&[3usize][..], &[4usize][..]), (&[2, 3], &[3, 2])] {
        let (a, b): (&'static [usize], &'static [usize]) = (a, b);
        let run: Attempt = Arc::new(move |t, d| Ok(Some(call(&ones(t, a, d)?, &ones(t, b, d)?).map(drop))));
        v.push(input(format!("{a:?} and {b:?} do not broadcast"), run, mismatch(op, a, b)));
    }
    let run: Attempt = Arc::new(move |t, d| {
        let Some(host) = other_device(d) else { return Ok(None) };
        Ok(Some(call(&ones(t, &[3], d)?, &ones(t, &[3], &host)?).map(drop)))
    });
    v.push(input("operands on the device and the CPU".into(), run, device_mismatch(op)));
    v
}

/// Axes 2 and -3 of a 2-D array, for an op over axes.
fn axes(
    op: &'static str,
    call: impl Fn(&Dyn, isize) -> Result<Dyn> + Send + Sync + Clone + 'static,
) -> Vec<ErrorInput> {
    [2isize, -3]
        .into_iter()
        .map(|axis| {
            let call = call.clone();
            let run: Attempt = Arc::new(move |t, d| Ok(Some(call(&ones(t, &[2, 3], d)?, axis).map(drop))));
            input(format!("axis {axis} of a [2, 3] array"), run, axis_out_of_range(op, axis, 2))
        })
        .collect()
}

/// The op name a row's errors carry: the row's own, but for rows that are one op's variant.
fn error_op(row: &'static str) -> &'static str {
    match row {
        "var_ddof1" => "var",
        name => name,
    }
}

/// The generic error inputs of `row`'s family.
pub fn generic(row: &Row) -> Vec<ErrorInput> {
    let op = error_op(row.name);
    match &row.kind {
        Kind::Binary { call, assign, .. } => {
            let mut v = two_operands(op, *call);
            let assign = *assign;
            let run: Attempt = Arc::new(move |t, d| {
                let mut small = ones(t, &[1], d)?;
                Ok(Some(assign(&mut small, &ones(t, &[3], d)?)))
            });
            v.push(input("in place into [1] from [3]".into(), run, mismatch(op, &[1], &[3])));
            v
        }
        Kind::Predicate2 { call, .. } => two_operands(op, *call),
        Kind::Reduce { call, .. } => {
            let call = *call;
            axes(op, move |x, axis| call(x, Some(&[axis]), false))
        }
        Kind::Along { call, .. } => {
            let call = *call;
            axes(op, move |x, axis| call(x, Some(axis)))
        }
        Kind::Ternary { call, .. } => {
            let call = *call;
            let mut v = Vec::new();
            let run: Attempt = Arc::new(move |t, d| {
                let c = ones(DType::Bool, &[2], d)?;
                Ok(Some(call(&c, &ones(t, &[3], d)?, &ones(t, &[2], d)?).map(drop)))
            });
            v.push(input("a [2] condition with [3] and [2]".into(), run, mismatch(op, &[2], &[3])));
            let run: Attempt = Arc::new(move |t, d| {
                let Some(host) = other_device(d) else { return Ok(None) };
                let c = ones(DType::Bool, &[3], d)?;
                Ok(Some(call(&c, &ones(t, &[3], d)?, &ones(t, &[3], &host)?).map(drop)))
            });
            v.push(input("a choice on the CPU".into(), run, device_mismatch(op)));
            v
        }
        _ => Vec::new(),
    }
}

/// Every error input of `row` (its family's, then its own) on `dtype` and `d`.
pub fn check(row: &Row, dtype: DType, d: &Device) -> CaseResult {
    for e in generic(row).iter().chain(&row.errors) {
        let what = format!("{} {dtype:?}: {}", row.name, e.what);
        match (e.call)(dtype, d).map_err(|err| format!("{what}: making the inputs failed: {err}"))? {
            None => {}
            Some(Err(err)) if (e.matches)(&err) => {}
            Some(Err(err)) => return Err(format!("{what}: gave {err:?}, expected {}", e.expected).into()),
            Some(Ok(())) => return Err(format!("{what}: succeeded, expected {}", e.expected).into()),
        }
    }
    Ok(())
}
