//! The op registry's row type (PyTorch's OpInfo): an op's name, the dtypes it claims, how to
//! call it, its f64 reference (written here, independently of the kernels), the error bound
//! with its reason, the sample domain, whether zeros' signs are checked, and its error inputs
//! beyond its family's generic set (`error_inputs.rs`). The rows are in `rows_*.rs`;
//! `runner.rs` takes every row over every device.

use super::check::Tol;
use super::dynarray::Dyn;
use super::error_inputs::ErrorInput;
use super::samples::{Domain, domain};
use ferrite::{DType, Result};

pub type UnaryCall = fn(&Dyn) -> Result<Dyn>;
pub type BinaryCall = fn(&Dyn, &Dyn) -> Result<Dyn>;
/// `x ⊕ s`, or `s ⊕ x` when the flag is set.
pub type ScalarCall = fn(&Dyn, f64, bool) -> Result<Dyn>;
pub type AssignCall = fn(&mut Dyn, &Dyn) -> Result<()>;
/// `(x, axes (None: all), keepdims)`.
pub type ReduceCall = fn(&Dyn, Option<&[isize]>, bool) -> Result<Dyn>;

/// The op's family, its call and its reference.
pub enum Kind {
    /// Elementwise, same dtype out; `int` is the integer reference (exact, wrapped to the
    /// dtype by the check) for ops that take integers.
    Unary { call: UnaryCall, float: fn(f64) -> f64, int: Option<fn(i128) -> i128> },
    /// Broadcasting binary, same dtype out, with the scalar and in-place forms.
    Binary {
        call: BinaryCall,
        scalar: ScalarCall,
        assign: AssignCall,
        float: fn(f64, f64) -> f64,
        int: Option<fn(i128, i128) -> i128>,
    },
    /// Broadcasting, to bool (comparisons and logic), with the scalar form.
    Predicate2 { call: BinaryCall, scalar: ScalarCall, reference: fn(f64, f64) -> bool },
    /// Elementwise to bool (`isnan`, `logical_not`).
    Predicate1 { call: UnaryCall, reference: fn(f64) -> bool },
    /// A reduction over axes: the reference of one output's elements (`None`: the op refuses
    /// an empty reduction), the output dtype, and the scale of its error bound.
    Reduce { call: ReduceCall, reference: fn(&[f64]) -> Option<f64>, out: fn(DType) -> DType, scale: fn(&[f64]) -> f64 },
    /// Along one axis, the output the input's shape: `reference` maps a lane (the elements
    /// along the axis) to its outputs, each with the scale of its error bound. `call` gets
    /// `None` (the flattened array, NumPy's `axis=None`) only where `flattens` says the op
    /// takes it.
    Along {
        call: fn(&Dyn, Option<isize>) -> Result<Dyn>,
        reference: fn(&[f64]) -> Vec<(f64, f64)>,
        out: fn(DType) -> DType,
        flattens: bool,
    },
    /// `cond ? a : b` with all three broadcast together (`where`): the bool condition, then
    /// the two choices; the reference picks one value.
    Ternary { call: fn(&Dyn, &Dyn, &Dyn) -> Result<Dyn>, reference: fn(bool, f64, f64) -> f64 },
    /// A whole array to one bool (`any`, `all`).
    Truth { call: fn(&Dyn) -> Result<bool>, reference: fn(&[f64]) -> bool },
    /// To another dtype (`cast`): every target in `to`; the reference is one value's exact
    /// result in the target.
    Convert { call: fn(&Dyn, DType) -> Result<Dyn>, to: &'static [DType], reference: fn(f64, DType) -> f64 },
    /// Data movement (slicing, joining, splitting): exact, by index arithmetic (`movement.rs`).
    Movement(super::movement::Movement),
    /// An op whose samples and reference are its own (indexing, masks): run per dtype.
    Custom(fn(DType, &ferrite::Device) -> crate::common::devices::CaseResult),
}

pub struct Row {
    pub name: &'static str,
    pub dtypes: &'static [DType],
    pub kind: Kind,
    /// Sample ranges: the (first) operand's, and a binary op's second operand's.
    pub domain: Domain,
    pub domain2: Domain,
    /// The error bound per output dtype, and why it is what it is.
    pub tol: fn(DType) -> Tol,
    pub why: &'static str,
    /// Check that a zero result has the reference's sign (NumPy's: `-0.0` survives `neg`,
    /// `trunc`, `round`, ...).
    pub signed_zero: bool,
    /// Error inputs of this row beyond its family's generic set.
    pub errors: Vec<ErrorInput>,
}

impl Row {
    pub fn new(name: &'static str, dtypes: &'static [DType], kind: Kind) -> Row {
        Row {
            name,
            dtypes,
            kind,
            domain: domain(-100.0, 100.0),
            domain2: domain(-100.0, 100.0),
            tol: exact_or_rounded,
            why: "correctly rounded: the exact result rounded once",
            signed_zero: false,
            errors: Vec::new(),
        }
    }

    pub fn domain(mut self, lo: f64, hi: f64) -> Row {
        self.domain = domain(lo, hi);
        self
    }

    pub fn domain2(mut self, lo: f64, hi: f64) -> Row {
        self.domain2 = domain(lo, hi);
        self
    }

    pub fn tol(mut self, tol: fn(DType) -> Tol, why: &'static str) -> Row {
        self.tol = tol;
        self.why = why;
        self
    }

    pub fn signed_zero(mut self) -> Row {
        self.signed_zero = true;
        self
    }

    pub fn errors(mut self, errors: Vec<ErrorInput>) -> Row {
        self.errors.extend(errors);
        self
    }
}

/// 16-bit floats are computed in f32 and rounded once more: one unit of their own.
pub fn sixteen(dtype: DType) -> Option<Tol> {
    matches!(dtype, DType::F16 | DType::BF16).then_some(Tol { ulps: 1.0, atol: 0.0, rel_sum: 0.0 })
}

/// Exact, or (16-bit) within the second rounding.
pub fn exact_or_rounded(dtype: DType) -> Tol {
    sixteen(dtype).unwrap_or(super::check::EXACT)
}

/// `ulps` units in the last place for f32 and f64 (16-bit: one of their own).
pub const fn ulps(u: f64) -> Tol {
    Tol { ulps: u, atol: 0.0, rel_sum: 0.0 }
}
