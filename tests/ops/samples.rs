//! Sample inputs: values drawn fresh for every run (the seed is printed on failure), made
//! representable in the dtype, with the special values of each dtype mixed in, at the sizes
//! that catch mapping bugs (0-d, empty, 1, just over a block, primes, 2-D and 4-D), contiguous
//! or as views (transposed, sliced with a step, broadcast by stride 0). Each sample knows its
//! logical values, computed here on the host, never read back through the code under test.

use super::dynarray::Dyn;
use crate::common::{rng, uniform};
use ferrite::{DType, Device, Result, bf16};

/// How a sample's array is made from a base array.
#[derive(Clone, Debug, PartialEq)]
pub enum View {
    Contiguous,
    /// The last two axes of a base of the swapped shape, swapped back (`t()`).
    Transposed,
    /// Every other element of the last axis of a base twice as long plus one, from 1.
    Sliced,
    /// A base with the first axis 1, broadcast to the shape (stride 0).
    Broadcast,
}

/// One input: its logical shape and values, and how its array is built.
#[derive(Clone, Debug)]
pub struct Input {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
    pub view: View,
}

/// The value range a row draws from, per kind of dtype.
#[derive(Clone, Copy, Debug)]
pub struct Domain {
    pub lo: f64,
    pub hi: f64,
}

pub const fn domain(lo: f64, hi: f64) -> Domain {
    Domain { lo, hi }
}

/// `v` rounded to the nearest value of `dtype` (integers: rounded, then wrapped as the dtype
/// does).
pub fn represent(dtype: DType, v: f64) -> f64 {
    match dtype {
        DType::F32 => v as f32 as f64,
        DType::F64 => v,
        DType::F16 => round_to(v, 10, -14, 15),
        DType::BF16 => round_to(v, 7, -126, 127),
        DType::Bool => (v != 0.0) as u8 as f64,
        int => wrap(int, v.round()),
    }
}

/// `v` rounded once, to nearest even, to a binary float with `p` fraction bits, smallest
/// normal exponent `e_min` and largest exponent `e_max` (overflow to ±inf, as IEEE rounds).
/// Written out rather than `half`'s `from_f64`, which on x86 with F16C converts through f32
/// and so rounds twice (a random f64 just below a half-way point became the f16 above it).
pub fn round_to(v: f64, p: i32, e_min: i32, e_max: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let e = (((v.to_bits() >> 52) & 0x7ff) as i32 - 1023).max(e_min);
    let step = 2f64.powi(e - p);
    let r = (v / step).round_ties_even() * step;
    if r.abs() >= 2f64.powi(e_max + 1) { f64::INFINITY.copysign(v) } else { r }
}

/// An exact integer `v` wrapped into `dtype`'s range (two's complement).
pub fn wrap(dtype: DType, v: f64) -> f64 {
    wrap_int(dtype, v as i128)
}

/// An integer reference's result wrapped into `dtype`'s range before it becomes an f64 (the
/// product of two i32s can need more than f64's 53 bits; wrapped, it fits).
pub fn wrap_int(dtype: DType, i: i128) -> f64 {
    match dtype {
        DType::I32 => i as i32 as f64,
        DType::I64 => i as i64 as f64,
        DType::U8 => i as u8 as f64,
        DType::U32 => i as u32 as f64,
        DType::Bool => (i != 0) as u8 as f64,
        _ => i as f64,
    }
}

/// The special values of `dtype`: IEEE specials, signed zeros, subnormals, the extremes, and
/// halfway points for rounding; for integers the extremes and their neighbours.
pub fn specials(dtype: DType) -> Vec<f64> {
    let (max, tiny) = match dtype {
        DType::F32 => (f32::MAX as f64, 1e-40),
        DType::F64 => (f64::MAX, 1e-310),
        DType::F16 => (65504.0, 6e-8),
        DType::BF16 => (bf16::MAX.to_f64(), 1e-39),
        DType::I32 => {
            return vec![0.0, 1.0, -1.0, 2.0, -2.0, i32::MAX as f64, i32::MIN as f64, (i32::MIN + 1) as f64, 7.0];
        }
        DType::I64 => return vec![0.0, 1.0, -1.0, 2.0, -2.0, (1i64 << 53) as f64, -(1i64 << 53) as f64, 7.0],
        DType::U8 => return vec![0.0, 1.0, 2.0, 127.0, 128.0, 254.0, 255.0, 7.0],
        DType::U32 => return vec![0.0, 1.0, 2.0, u32::MAX as f64, (u32::MAX - 1) as f64, 2147483648.0, 7.0],
        DType::Bool => return vec![0.0, 1.0],
    };
    let v = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        tiny,
        -tiny,
        1.0,
        -1.0,
        0.5,
        -0.5,
        1.5,
        -2.5,
        max,
        -max,
        3.0,
    ];
    v.iter().map(|&x| represent(dtype, x)).collect()
}

/// `n` random values of `dtype` in `d` (integers: `d` clamped to the dtype's range).
pub fn values(dtype: DType, n: usize, d: Domain, case: &str) -> Vec<f64> {
    let mut r = rng(case);
    let (lo, hi) = match dtype {
        DType::U8 => (d.lo.max(0.0), d.hi.min(255.0)),
        DType::U32 => (d.lo.max(0.0), d.hi),
        DType::Bool => (0.0, 1.99),
        _ => (d.lo, d.hi),
    };
    let raw = uniform(&mut r, n, lo, hi);
    raw.into_iter().map(|v| if dtype.is_float() { represent(dtype, v) } else { represent(dtype, v.floor()) }).collect()
}

/// The element of a row-major array of `shape` at multi-index `idx`.
fn flat(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// Every multi-index of `shape` in row-major order.
pub fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0; shape.len()];
    for _ in 0..n {
        out.push(idx.clone());
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

impl Input {
    pub fn new(shape: &[usize], values: Vec<f64>, view: View) -> Input {
        assert_eq!(values.len(), shape.iter().product::<usize>());
        Input { shape: shape.to_vec(), values, view }
    }

    pub fn describe(&self) -> String {
        let v = match self.view {
            View::Contiguous => "",
            View::Transposed => " transposed",
            View::Sliced => " sliced",
            View::Broadcast => " broadcast",
        };
        format!("{:?}{v}", self.shape)
    }

    /// The array, built from a base array through the view (the base's other elements are
    /// junk that must never be read: 77).
    pub fn build(&self, dtype: DType, device: &Device) -> Result<Dyn> {
        use super::dynarray::each;
        let nd = self.shape.len();
        match self.view {
            View::Contiguous => Dyn::new(dtype, &self.values, &self.shape, device),
            View::Transposed => {
                let mut base_shape = self.shape.clone();
                base_shape.swap(nd - 2, nd - 1);
                let mut base = vec![0.0; self.values.len()];
                for (i, idx) in indices(&self.shape).iter().enumerate() {
                    let mut b = idx.clone();
                    b.swap(nd - 2, nd - 1);
                    base[flat(&base_shape, &b)] = self.values[i];
                }
                let b = Dyn::new(dtype, &base, &base_shape, device)?;
                Ok(each!(&b, a => a.t()))
            }
            View::Sliced => {
                let mut base_shape = self.shape.clone();
                base_shape[nd - 1] = 2 * self.shape[nd - 1] + 1;
                let mut base = vec![represent(dtype, 77.0); base_shape.iter().product()];
                for (i, idx) in indices(&self.shape).iter().enumerate() {
                    let mut b = idx.clone();
                    b[nd - 1] = 2 * b[nd - 1] + 1;
                    base[flat(&base_shape, &b)] = self.values[i];
                }
                let b = Dyn::new(dtype, &base, &base_shape, device)?;
                let last = nd as isize - 1;
                Ok(each!(&b, a => a.slice_axis(last, Some(1), None, 2)?))
            }
            View::Broadcast => {
                let row: usize = self.shape[1..].iter().product();
                let mut base_shape = self.shape.clone();
                base_shape[0] = 1;
                let b = Dyn::new(dtype, &self.values[..row.min(self.values.len())], &base_shape, device)?;
                Ok(each!(&b, a => a.broadcast_to(&self.shape)?))
            }
        }
    }
}

/// Values for `shape` seen through `view`: broadcast inputs repeat their first row.
fn input(dtype: DType, shape: &[usize], view: View, d: Domain, case: &str) -> Input {
    let n: usize = shape.iter().product();
    let mut v = values(dtype, n, d, case);
    if view == View::Broadcast && n > 0 {
        let row: usize = shape[1..].iter().product();
        for i in row..n {
            v[i] = v[i % row];
        }
    }
    Input::new(shape, v, view)
}

/// The elementwise samples of one dtype: every size and view, and the specials.
pub fn elementwise(dtype: DType, d: Domain, case: &str) -> Vec<Input> {
    use View::*;
    let shapes: &[(&[usize], View)] = &[
        (&[], Contiguous),
        (&[0], Contiguous),
        (&[1], Contiguous),
        (&[7], Contiguous),
        (&[257], Contiguous),
        (&[1031], Contiguous),
        (&[3, 0], Contiguous),
        (&[37, 41], Contiguous),
        (&[37, 41], Transposed),
        (&[37, 41], Sliced),
        (&[37, 41], Broadcast),
        (&[2, 3, 5, 7], Transposed),
    ];
    let mut out: Vec<Input> = shapes
        .iter()
        .enumerate()
        .map(|(i, (s, v))| input(dtype, s, v.clone(), d, &format!("{case} sample {i}")))
        .collect();
    let sp = specials(dtype);
    out.push(Input::new(&[sp.len()], sp, Contiguous));
    out
}

/// Operand pairs for a binary op: broadcasting shapes, views, and every pair of specials.
pub fn pairs(dtype: DType, d: (Domain, Domain), case: &str) -> Vec<(Input, Input)> {
    use View::*;
    let shapes: &[(&[usize], View, &[usize], View)] = &[
        (&[], Contiguous, &[], Contiguous),
        (&[0], Contiguous, &[0], Contiguous),
        (&[1], Contiguous, &[1], Contiguous),
        (&[1031], Contiguous, &[1031], Contiguous),
        (&[257], Contiguous, &[1], Contiguous),
        (&[], Contiguous, &[7], Contiguous),
        (&[37, 41], Contiguous, &[41], Contiguous),
        (&[37, 1], Contiguous, &[1, 41], Contiguous),
        (&[37, 41], Transposed, &[37, 41], Contiguous),
        (&[37, 41], Sliced, &[37, 41], Broadcast),
        (&[3, 0], Contiguous, &[0], Contiguous),
        (&[2, 3, 5, 7], Transposed, &[5, 1], Contiguous),
    ];
    let mut out: Vec<(Input, Input)> = shapes
        .iter()
        .enumerate()
        .map(|(i, (sa, va, sb, vb))| {
            (
                input(dtype, sa, va.clone(), d.0, &format!("{case} lhs {i}")),
                input(dtype, sb, vb.clone(), d.1, &format!("{case} rhs {i}")),
            )
        })
        .collect();
    let sp = specials(dtype);
    let (a, b): (Vec<f64>, Vec<f64>) = sp.iter().flat_map(|&x| sp.iter().map(move |&y| (x, y))).unzip();
    out.push((Input::new(&[a.len()], a, Contiguous), Input::new(&[b.len()], b, Contiguous)));
    out
}

/// Reduction samples: shapes with the axes to reduce over (`None`: all).
pub fn reductions(dtype: DType, d: Domain, case: &str) -> Vec<(Input, Option<Vec<isize>>)> {
    use View::*;
    let shapes: &[(&[usize], View, Option<&[isize]>)] = &[
        (&[], Contiguous, None),
        (&[0], Contiguous, None),
        (&[1], Contiguous, Some(&[0])),
        (&[1031], Contiguous, None),
        (&[1031], Contiguous, Some(&[-1])),
        (&[37, 41], Contiguous, Some(&[0])),
        (&[37, 41], Contiguous, Some(&[1])),
        (&[37, 41], Transposed, Some(&[1])),
        (&[37, 41], Sliced, Some(&[0])),
        (&[37, 41], Broadcast, Some(&[0, 1])),
        (&[3, 0], Contiguous, Some(&[1])),
        (&[2, 3, 5, 7], Transposed, Some(&[1, 3])),
        (&[2, 3, 5, 7], Contiguous, Some(&[-1])),
        (&[5, 3000], Contiguous, Some(&[1])),
        (&[3000, 5], Contiguous, Some(&[0])),
    ];
    let mut out: Vec<(Input, Option<Vec<isize>>)> = shapes
        .iter()
        .enumerate()
        .map(|(i, (s, v, a))| (input(dtype, s, v.clone(), d, &format!("{case} sample {i}")), a.map(|a| a.to_vec())))
        .collect();
    // The special values in both orders: a running op (cumsum) meets inf and overflow before
    // NaN only in the reversed one.
    let sp = specials(dtype);
    let rev: Vec<f64> = sp.iter().rev().copied().collect();
    out.push((Input::new(&[sp.len()], sp.clone(), Contiguous), None));
    out.push((Input::new(&[rev.len()], rev, Contiguous), None));
    out.push((one_special_a_column(&sp), Some(vec![0])));
    out
}

/// The special values one to a column, along axis 0 of a `[k, k + 1]` array: column `j` holds
/// `sp[j]` on the diagonal and 0s and 1s elsewhere, and the last column holds `sp[0]` in every
/// row (for floats `-inf`, whose lane has no finite maximum). Each special meets only ordinary
/// values (in the 1-D samples a NaN hides what an infinity does), and the lanes run down a
/// middle axis. The dtype's largest finite values stay out: their squares overflow an f32
/// accumulator (to inf, as NumPy's float32 `std` and `norm` do), which the registry's f64
/// references, written without the dtype, do not model.
fn one_special_a_column(sp: &[f64]) -> Input {
    let float = sp.iter().any(|x| x.is_nan());
    let big = sp.iter().filter(|x| x.is_finite()).fold(0.0f64, |m, x| m.max(x.abs()));
    let sp: &Vec<f64> = &sp.iter().copied().filter(|x| !(float && x.abs() == big)).collect();
    let k = sp.len();
    let same = if float { f64::NEG_INFINITY } else { sp[0] };
    let v = (0..k)
        .flat_map(|i| {
            (0..=k).map(move |j| {
                if j == k {
                    same
                } else if i == j {
                    sp[j]
                } else {
                    (i % 2) as f64
                }
            })
        })
        .collect();
    Input::new(&[k, k + 1], v, View::Contiguous)
}
