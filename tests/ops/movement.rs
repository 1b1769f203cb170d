//! The registry's data-movement family (`rows_movement.rs`): slicing, joining and splitting.
//! A row's reference says, by index arithmetic written here, where each output element comes
//! from (an input and its multi-index, or a constant); the runner reads that from the
//! samples' logical values, never from the code under test, and compares bit for bit (NaN for
//! NaN, zeros with their signs). It also checks that views are views (they share the input's
//! storage), that new arrays are not, and that no input changed.

use super::check::{EXACT, compare};
use super::dynarray::Dyn;
use super::samples::{Input, View, indices, specials, values};
use crate::common::devices::CaseResult;
use crate::ensure;
use ferrite::{Array, DType, Device, Element, Result, SliceArg, bf16, f16};

/// One sample of a movement row: its inputs and the op's arguments (each row reads the ones
/// it takes).
#[derive(Clone, Debug)]
pub struct Sample {
    pub inputs: Vec<Input>,
    pub axis: Option<isize>,
    pub ints: Vec<isize>,
    pub spec: Vec<SliceArg>,
}

/// Where an output element comes from.
pub enum Src {
    /// Input `k` at this multi-index.
    At(usize, Vec<usize>),
    /// A constant (`pad`'s value).
    Value(f64),
}

/// One output of the reference: its shape and each element's source.
pub struct Out {
    pub shape: Vec<usize>,
    pub src: Box<dyn Fn(&[usize]) -> Src>,
}

pub type Call = fn(&[Dyn], &Sample) -> Result<Vec<Dyn>>;

#[derive(Clone, Copy)]
/// A movement row's call, reference and error inputs; `view`: its outputs are views of its
/// (first) input, else new arrays.
pub struct Movement {
    pub call: Call,
    pub reference: fn(&[&[usize]], &Sample, DType) -> Vec<Out>,
    pub samples: fn() -> Vec<Sample>,
    pub errors: fn(DType, &Device) -> CaseResult,
    pub view: bool,
}

/// The element types as `Dyn` variants, for calls written once over `T`.
pub trait Pick: Element + super::dynarray::FromF64 {
    fn pick(d: &Dyn) -> &Array<Self>;
    fn wrap(a: Array<Self>) -> Dyn;
}
macro_rules! pick {
    ($($v:ident $t:ty),*) => {$(
        impl Pick for $t {
            fn pick(d: &Dyn) -> &Array<$t> {
                match d { Dyn::$v(a) => a, other => panic!("expected {}, got {:?}", stringify!($v), other.dtype()) }
            }
            fn wrap(a: Array<$t>) -> Dyn { Dyn::$v(a) }
        }
    )*};
}
pick!(F32 f32, F64 f64, F16 f16, BF16 bf16, I32 i32, I64 i64, U8 u8, U32 u32, Bool bool);

/// A [`Call`] from a function generic over the element type.
macro_rules! typed {
    ($($f:ident)::+) => {
        |xs: &[Dyn], s: &Sample| -> Result<Vec<Dyn>> {
            match xs[0].dtype() {
                DType::F32 => $($f)::+::<f32>(xs, s),
                DType::F64 => $($f)::+::<f64>(xs, s),
                DType::F16 => $($f)::+::<ferrite::f16>(xs, s),
                DType::BF16 => $($f)::+::<ferrite::bf16>(xs, s),
                DType::I32 => $($f)::+::<i32>(xs, s),
                DType::I64 => $($f)::+::<i64>(xs, s),
                DType::U8 => $($f)::+::<u8>(xs, s),
                DType::U32 => $($f)::+::<u32>(xs, s),
                DType::Bool => $($f)::+::<bool>(xs, s),
            }
        }
    };
}
pub(crate) use typed;

/// Whether two arrays of one dtype share storage.
pub fn shares(a: &Dyn, b: &Dyn) -> bool {
    super::dynarray::pair_to!(a, b, std::convert::identity, p, q => p.shares_storage(q))
}

/// A sample input of `shape` seen through `view`, its values random with the dtype's special
/// values at every third place (a broadcast input repeats its first row).
pub fn input(dtype: DType, shape: &[usize], view: View, case: &str) -> Input {
    let n: usize = shape.iter().product();
    let sp = specials(dtype);
    let mut v = values(dtype, n, super::samples::domain(-100.0, 100.0), case);
    for i in (0..n).step_by(3) {
        v[i] = sp[(i / 3) % sp.len()];
    }
    if view == View::Broadcast && n > 0 {
        let row: usize = shape[1..].iter().product();
        for i in row..n {
            v[i] = v[i % row];
        }
    }
    Input::new(shape, v, view)
}

/// Shorthand for a sample's input list: `(shape, view)` pairs.
pub fn inputs(list: &[(&[usize], View)]) -> Vec<Input> {
    list.iter().map(|(s, v)| Input::new(s, vec![0.0; s.iter().product()], v.clone())).collect()
}

/// The element at `idx` of a row-major array of `shape`.
pub fn flat(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// The indices `start:stop:step` takes along an axis of length `n` (Python's rules, written
/// out as loops: clamp, then walk; `inclusive` takes `stop` itself).
pub fn range_indices(n: usize, arg: &SliceArg) -> Vec<usize> {
    let SliceArg::Range { start, stop, inclusive, step } = *arg else { panic!("not a range: {arg:?}") };
    let n = n as isize;
    let norm = |i: isize| if i < 0 { i + n } else { i };
    let mut out = Vec::new();
    if step > 0 {
        let lo = start.map_or(0, |s| norm(s).clamp(0, n));
        let hi = stop.map_or(n, |e| (norm(e) + inclusive as isize).clamp(0, n));
        let mut i = lo;
        while i < hi {
            out.push(i as usize);
            i += step;
        }
    } else {
        let hi = start.map_or(n - 1, |s| norm(s).clamp(-1, n - 1));
        let lo = stop.map_or(-1, |e| (norm(e) - inclusive as isize).clamp(-1, n - 1));
        let mut i = hi;
        while i > lo {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

/// NumPy's basic indexing by hand: the view's shape and, for each of its multi-indices, the
/// input's; `None` when an index is out of range (an error case).
pub fn index_map(shape: &[usize], spec: &[SliceArg]) -> Option<(Vec<usize>, Vec<Vec<usize>>)> {
    // Per input axis: the indices it takes and whether it stays an axis; NewAxis adds one.
    enum Ax {
        In(usize, Vec<usize>, bool),
        New,
    }
    let named = spec.iter().filter(|a| matches!(a, SliceArg::Range { .. } | SliceArg::Index(_))).count();
    let mut axes = Vec::new();
    let mut k = 0;
    for arg in spec {
        match arg {
            SliceArg::Ellipsis => {
                for _ in 0..shape.len() - named {
                    axes.push(Ax::In(k, (0..shape[k]).collect(), true));
                    k += 1;
                }
            }
            SliceArg::NewAxis => axes.push(Ax::New),
            SliceArg::Index(i) => {
                let j = if *i < 0 { *i + shape[k] as isize } else { *i };
                if j < 0 || j >= shape[k] as isize {
                    return None;
                }
                axes.push(Ax::In(k, vec![j as usize], false));
                k += 1;
            }
            r => {
                axes.push(Ax::In(k, range_indices(shape[k], r), true));
                k += 1;
            }
        }
    }
    for j in k..shape.len() {
        axes.push(Ax::In(j, (0..shape[j]).collect(), true));
    }
    let out_shape: Vec<usize> = axes
        .iter()
        .filter_map(|a| match a {
            Ax::In(_, v, true) => Some(v.len()),
            Ax::In(_, _, false) => None,
            Ax::New => Some(1),
        })
        .collect();
    let map = indices(&out_shape)
        .into_iter()
        .map(|o| {
            let mut src = vec![0; shape.len()];
            let mut oi = 0;
            for a in &axes {
                match a {
                    Ax::In(d, v, true) => {
                        src[*d] = v[o[oi]];
                        oi += 1;
                    }
                    Ax::In(d, v, false) => src[*d] = v[0],
                    Ax::New => oi += 1,
                }
            }
            src
        })
        .collect();
    Some((out_shape, map))
}

/// The values a reference output holds, from the inputs' logical values.
pub fn expected(out: &Out, ins: &[Input]) -> Vec<f64> {
    indices(&out.shape)
        .iter()
        .map(|o| match (out.src)(o) {
            Src::At(k, idx) => ins[k].values[flat(&ins[k].shape, &idx)],
            Src::Value(v) => v,
        })
        .collect()
}

/// Runs one movement row of `dtype` on `d`: every sample, then the error inputs.
pub fn run(name: &str, m: &Movement, dtype: DType, d: &Device) -> CaseResult {
    for (i, sample) in (m.samples)().into_iter().enumerate() {
        let case = format!("{name} {dtype:?} sample {i}");
        let ins: Vec<Input> = sample
            .inputs
            .iter()
            .enumerate()
            .map(|(j, x)| input(dtype, &x.shape, x.view.clone(), &format!("{case} input {j}")))
            .collect();
        let xs: Vec<Dyn> = ins.iter().map(|x| x.build(dtype, d)).collect::<Result<_>>()?;
        let what = format!("{case}: {} of {:?}", name, ins.iter().map(Input::describe).collect::<Vec<_>>());
        let what = format!("{what} {:?} {:?} {:?}", sample.axis, sample.ints, sample.spec);
        let got = (m.call)(&xs, &sample).map_err(|e| format!("{what}: {e}"))?;
        let shapes: Vec<&[usize]> = ins.iter().map(|x| x.shape.as_slice()).collect();
        let want = (m.reference)(&shapes, &sample, dtype);
        ensure!(got.len() == want.len(), "{what}: {} outputs, expected {}", got.len(), want.len());
        for (j, (g, w)) in got.iter().zip(&want).enumerate() {
            ensure!(g.shape() == w.shape, "{what}: output {j} has shape {:?}, expected {:?}", g.shape(), w.shape);
            ensure!(g.dtype() == dtype && g.device() == *d, "{what}: output {j} is {:?} on {}", g.dtype(), g.device());
            let exact = if dtype.is_float() { dtype } else { DType::F64 };
            compare(exact, &g.to_f64()?, &expected(w, &ins), EXACT, &|_| 0.0, true)
                .map_err(|e| format!("{what}: output {j}: {e}"))?;
            ensure!(shares(g, &xs[0]) == m.view, "{what}: output {j} shares storage: {}", !m.view);
        }
        for (x, inp) in xs.iter().zip(&ins) {
            let now = x.to_f64()?;
            let same = now.iter().zip(&inp.values).all(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan());
            ensure!(same, "{what}: an input changed");
        }
    }
    (m.errors)(dtype, d)
}

/// A `Dyn` of `shape` holding 1s (for error inputs).
pub fn ones(dtype: DType, shape: &[usize], d: &Device) -> Result<Dyn> {
    Dyn::new(dtype, &vec![1.0; shape.iter().product()], shape, d)
}
