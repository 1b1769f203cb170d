//! Reductions on the CPU, with the kernels' own element, combine and finish formulas
//! (`kernels_gpu::ops::reduce`), compiled once per op (the op is a const generic, so the
//! formulas' branches on it fold away) and per dtype.
//!
//! Three ways through, by where the input is contiguous:
//! - the reduced elements of each output contiguous (rows, `sum(axis=-1)`): each output folds
//!   its slice in chunks of `CHUNK`, each chunk into 16 independent partial results (so the
//!   loop runs at the adds' throughput and vectorizes), chunks combined in order;
//! - the kept dimension innermost and contiguous (columns, `sum(axis=0)`): a vector of
//!   results per block of columns, updated row by row (contiguous, vectorized), in chunks of
//!   `CHUNK` rows combined in order;
//! - anything else: each output folds its elements in order, in chunks.
//!
//! Outputs are split across cores. The order differs from the GPU's but has the same kind of
//! error bound: about `(CHUNK + n/CHUNK)·u` for an n-term sum.

use super::simd;
use crate::array::layout::Layout;
use crate::array::storage::kernel_slice;
use crate::dtype::Element;
use kernels_gpu::ops::reduce::{Acc, CHUNK, Reduce, Reducible, State, combine, element, identity};
use kernels_gpu::prelude::Num;
use rayon::prelude::*;

/// A reduction's request: the op, the input's kept and reduced dimensions (each a layout over
/// the input's storage, `keep` with the input's offset, `red` from 0), the per-output center,
/// the scale and the finish.
pub(crate) struct Request<'a, A> {
    pub op: Reduce,
    pub keep: &'a Layout,
    pub red: &'a Layout,
    pub center: Option<&'a [A]>,
    pub scale: A,
    pub post: u32,
}

/// The results in the accumulator type, and the indices for arg ops.
pub(crate) type Results<A> = (Vec<A>, Option<Vec<i64>>);

/// Runs `$body` with `$t` the host type of `$x`'s dtype and `$x` bound to its elements.
macro_rules! by_dtype {
    ($x:expr, |$v:ident: $t:ident| $body:expr) => {{
        use CpuData as D;
        match $x {
            D::F32($v) => { type $t = f32; $body }
            D::F64($v) => { type $t = f64; $body }
            D::F16($v) => { type $t = half::f16; $body }
            D::BF16($v) => { type $t = half::bf16; $body }
            D::I32($v) => { type $t = i32; $body }
            D::I64($v) => { type $t = i64; $body }
            D::U8($v) => { type $t = u8; $body }
            D::U32($v) => { type $t = u32; $body }
            D::Bool($v) => { type $t = bool; $body }
        }
    }};
}
pub(crate) use by_dtype;

/// The reduction of `x` (of host element type `T`) as `req` asks.
pub(crate) fn reduce<T: Element>(x: &[T], req: &Request<'_, <T::Kernel as Reducible>::Acc>) -> Results<<T::Kernel as Reducible>::Acc>
where
    T::Kernel: Reducible + Sync,
{
    let x = kernel_slice(x);
    macro_rules! ops {
        ($($op:ident),*) => {
            match req.op {
                $(Reduce::$op => run::<T::Kernel, { Reduce::$op as u32 }>(x, req),)*
            }
        };
    }
    ops!(Sum, Prod, Max, Min, ArgMax, ArgMin, SumSq, SumSqDev, SumExpShift)
}

fn run<K: Reducible + Sync, const OP: u32>(x: &[K], req: &Request<'_, K::Acc>) -> Results<K::Acc> {
    let n_out = req.keep.len();
    let mut values = vec![K::Acc::ZERO; n_out];
    let mut indices = Reduce::is_arg_code(OP).then(|| vec![0i64; n_out]);
    if n_out == 0 {
        return (values, indices);
    }
    let keep_offsets = offsets(req.keep);
    let finish = |s: State<K::Acc>, o: usize| K::Acc::post(s.v.mul(req.scale), req.post, center_of(req.center, o));
    let red_contiguous = req.red.is_contiguous() || req.red.len() <= 1;
    let keep_inner_unit = req.keep.ndim() > 0 && *req.keep.strides().last().unwrap() == 1 && *req.keep.shape().last().unwrap() > 1;
    if red_contiguous {
        let n_red = req.red.len();
        let red_start = req.red.offset();
        let per = |o: usize| -> State<K::Acc> {
            // An empty reduction reads nothing (its offsets may lie past an empty input).
            let lane = if n_red == 0 { &x[..0] } else { &x[keep_offsets[o] as usize + red_start..][..n_red] };
            fold_slice::<K, OP>(lane, center_of(req.center, o))
        };
        let states: Vec<State<K::Acc>> = if n_out * n_red >= 1 << 15 {
            (0..n_out).into_par_iter().map(per).collect()
        } else {
            (0..n_out).map(per).collect()
        };
        write(states, &mut values, &mut indices, finish);
    } else if keep_inner_unit && req.center.is_none() {
        // Columns: blocks of contiguous outputs, updated one reduced element at a time.
        let inner = *req.keep.shape().last().unwrap();
        let red_offsets = offsets(req.red);
        let rows = n_out / inner;
        let states: Vec<Vec<State<K::Acc>>> = (0..rows)
            .into_par_iter()
            .map(|row| {
                let base = keep_offsets[row * inner] as usize;
                columns::<K, OP>(x, base, inner, &red_offsets)
            })
            .collect();
        write(states.into_iter().flatten().collect(), &mut values, &mut indices, finish);
    } else {
        let red_offsets = offsets(req.red);
        let per = |o: usize| -> State<K::Acc> {
            let (base, c) = (keep_offsets[o], center_of(req.center, o));
            let mut total = identity::<K::Acc>(OP);
            for (k, chunk) in red_offsets.chunks(CHUNK as usize).enumerate() {
                let mut s = identity::<K::Acc>(OP);
                for (j, &off) in chunk.iter().enumerate() {
                    let r = (k * CHUNK as usize + j) as u64;
                    s = combine(OP, s, element(OP, x[(base + off) as usize].acc(), r, c));
                }
                total = combine(OP, total, s);
            }
            total
        };
        let states: Vec<State<K::Acc>> = (0..n_out).into_par_iter().map(per).collect();
        write(states, &mut values, &mut indices, finish);
    }
    (values, indices)
}

fn write<A: Acc>(states: Vec<State<A>>, values: &mut [A], indices: &mut Option<Vec<i64>>, finish: impl Fn(State<A>, usize) -> A) {
    for (o, s) in states.into_iter().enumerate() {
        values[o] = finish(s, o);
        if let Some(ix) = indices.as_mut() {
            ix[o] = s.i;
        }
    }
}

fn center_of<A: Acc>(center: Option<&[A]>, o: usize) -> A {
    center.map_or(A::ZERO, |c| c[o])
}

/// Every element offset of `layout`, in row-major order.
fn offsets(layout: &Layout) -> Vec<isize> {
    let mut out = Vec::with_capacity(layout.len());
    let (shape, strides) = (layout.shape(), layout.strides());
    let mut index = vec![0usize; shape.len()];
    let mut at = layout.offset() as isize;
    for _ in 0..layout.len() {
        out.push(at);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            at += strides[d];
            if index[d] < shape[d] {
                break;
            }
            at -= strides[d] * shape[d] as isize;
            index[d] = 0;
        }
    }
    out
}

/// One output's contiguous elements: chunks of `CHUNK`, each into 16 partial results.
fn fold_slice<K: Reducible, const OP: u32>(x: &[K], c: K::Acc) -> State<K::Acc> {
    simd::dispatch(|| {
        let mut total = identity::<K::Acc>(OP);
        for (k, chunk) in x.chunks(CHUNK as usize).enumerate() {
            let first = (k * CHUNK as usize) as u64;
            let mut part = [identity::<K::Acc>(OP); 16];
            let (groups, rest) = chunk.as_chunks::<16>();
            for (g, group) in groups.iter().enumerate() {
                for j in 0..16 {
                    let r = first + (g * 16 + j) as u64;
                    part[j] = combine(OP, part[j], element(OP, group[j].acc(), r, c));
                }
            }
            let mut s = identity::<K::Acc>(OP);
            for p in part {
                s = combine(OP, s, p);
            }
            for (j, v) in rest.iter().enumerate() {
                let r = first + (groups.len() * 16 + j) as u64;
                s = combine(OP, s, element(OP, v.acc(), r, c));
            }
            total = combine(OP, total, s);
        }
        total
    })
}

/// `inner` contiguous outputs from `base`, each over the reduced offsets, row by row.
fn columns<K: Reducible, const OP: u32>(x: &[K], base: usize, inner: usize, red: &[isize]) -> Vec<State<K::Acc>> {
    simd::dispatch(|| {
        let mut total = vec![identity::<K::Acc>(OP); inner];
        let mut part = vec![identity::<K::Acc>(OP); inner];
        for (k, chunk) in red.chunks(CHUNK as usize).enumerate() {
            part.fill(identity(OP));
            for (j, &off) in chunk.iter().enumerate() {
                let r = (k * CHUNK as usize + j) as u64;
                let row = &x[(base as isize + off) as usize..][..inner];
                for (p, &v) in part.iter_mut().zip(row) {
                    *p = combine(OP, *p, element(OP, v.acc(), r, K::Acc::ZERO));
                }
            }
            for (t, &p) in total.iter_mut().zip(&part) {
                *t = combine(OP, *t, p);
            }
        }
        total
    })
}

trait ArgCode {
    fn is_arg_code(op: u32) -> bool;
}

impl ArgCode for Reduce {
    fn is_arg_code(op: u32) -> bool {
        op == Reduce::ArgMax as u32 || op == Reduce::ArgMin as u32
    }
}
