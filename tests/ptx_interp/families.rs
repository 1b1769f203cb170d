//! The op families' representative launches (`kernels_gpu::ops`), generated: each family's
//! entries come from its dtype lookup (`unary::kernels::<E>()`, `cast::kernel::<S, D>()`, ...)
//! over the nine dtypes, and the ops each entry takes from the family's op enum (`Unary::ALL`,
//! ...); an entry gets one case, with one launch per op it takes (and per mode, for the
//! contiguous binary and comparison entries), configured as the host configures it.
//!
//! Inputs: a few thousand elements (an odd count, so the vector paths leave tails) with NaN,
//! ±inf, ±0, subnormals of every float dtype, the integer extremes and values that round
//! twice when narrowed through f32 mixed in; contiguous entries also get one misaligned launch
//! (the scalar path); strided entries a reversed and sliced operand, a broadcast one, and both
//! the rows and the flat mapping.
//!
//! Every launch is judged twice: the interpreter's results against the emulator's, bit for bit
//! (the PTX against the Rust source), and the emulator's against the host reference of
//! `reference.rs` (the Rust source against the ops' definitions).
//!
//! A new family is a `*_case` function here (its launches, each `.verified` against a
//! reference function added to `reference.rs`) and a line in [`dtype_cases`] or [`cases`].

use super::cases::{BLOCKS, Case, Setup, bytes_of, multi, out, p, pm, setup, vals};
use super::reference::{self as r, Dt, ReduceIn, V, Want, check_all, get};
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::ops::binary::{self, Binary, BinaryArgs, BinaryStridedArgs};
use kernels_gpu::ops::cast::{self, CastArgs};
use kernels_gpu::ops::compare::{self, Compare, CompareArgs, CompareStridedArgs, Test, TestArgs, WhereArgs};
use kernels_gpu::ops::copy::{self, CopyArgs, TransposeArgs};
use kernels_gpu::ops::layout::{Shape, Strides};
use kernels_gpu::ops::map;
use kernels_gpu::ops::reduce::{self, POST_LOG_CENTER, POST_SQRT, PartialsArgs, Reduce, ReduceArgs, Reducible};
use kernels_gpu::ops::scan::{self, CumsumArgs};
use kernels_gpu::ops::unary::{self, Unary, UnaryArgs, UnaryStridedArgs};
use kernels_gpu::prelude::{BF16, Bool, Elem, F16, Num};
use kernels_gpu::{Kernel, LaunchConfig};
use std::any::TypeId;
use std::rc::Rc;

const SHARED: u32 = 48 * 1024;
/// Elements of a contiguous launch.
const N: usize = 3001;

/// Values mixed into the inputs, in an order that puts useful pairs side by side (inputs of
/// seeds `s` and `s + 1` meet them in pairs): `-0` and `0`, `MIN` and `-1`, `-1` and `0`.
/// Then: an f64 subnormal, an f16 subnormal, values just above the f16 and bf16 rounding
/// midpoints next to 1 (which round wrongly through f32), and a u32 beyond i32.
const SPECIALS: [f64; 19] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -0.0,
    0.0,
    -1e30,
    -1.0,
    1e-40,
    3.0,
    -2.5,
    0.5,
    1e30,
    2.5,
    65504.5,
    1e-310,
    3e-5,
    1.0 + 1.0 / 2048.0 + 1.0 / 1099511627776.0,
    1.0 + 1.0 / 256.0 + 1.0 / 1099511627776.0,
    3e9,
];

/// `n` values in `[lo, hi)`, every `period`-th a special one.
fn values(n: usize, seed: u64, lo: f64, hi: f64, period: usize) -> impl Iterator<Item = f64> {
    let special = move |i: usize| SPECIALS[(i / period + seed as usize) % SPECIALS.len()];
    vals(n, seed, lo, hi).into_iter().enumerate().map(move |(i, v)| if i % period == 3 { special(i) } else { v })
}

/// [`values`] as `E` (rounded, or truncated and saturated).
fn generate<E: Elem>(n: usize, seed: u64, lo: f64, hi: f64, period: usize) -> Vec<E> {
    values(n, seed, lo, hi, period).map(E::from_double).collect()
}

fn input<E: Elem>(n: usize, seed: u64) -> DeviceBuffer<u8> {
    DeviceBuffer::from_slice(&bytes_of(&generate::<E>(n, seed, -8.0, 8.0, 7)))
}

/// A value as the bits of `E`'s compute type (the kernels' scalar parameters).
fn bits<E: Elem>(x: f64) -> u64 {
    E::from_double(x).load().to_bits64()
}

/// The same value as the reference reads it.
fn value<E: Elem>(x: f64) -> V {
    get(Dt::of::<E>(), &bytes_of(&[E::from_double(x)]), 0)
}

/// The shapes of the strided launches (outermost first): rows mapping (last dimension at least
/// 32) and flat mapping.
const GEOS: [[u64; 3]; 2] = [[3, 5, 40], [4, 3, 9]];

/// An operand's layout over a shape `[a, b, c]`: its length, offset and strides.
#[derive(Clone, Copy)]
struct Lay {
    len: u64,
    off: u64,
    st: [i64; 3],
}

impl Lay {
    fn strides(&self) -> Strides {
        Strides::new(self.off, &self.st)
    }

    /// The offset of element `k` (row-major) of `shape`, computed here rather than by
    /// `Strides`.
    fn at(&self, [_, b, c]: [u64; 3], k: usize) -> usize {
        let k = k as u64;
        let i = [k / (b * c), k / c % b, k % c];
        (self.off as i64 + (0..3).map(|d| i[d] as i64 * self.st[d]).sum::<i64>()) as usize
    }
}

/// The layouts of a strided launch's operands over a shape `[a, b, c]`.
#[derive(Clone, Copy)]
struct Geo([u64; 3]);

impl Geo {
    fn shape(&self) -> Shape {
        Shape::new(&self.0)
    }

    fn len(&self) -> u64 {
        self.0.iter().product()
    }

    fn contiguous(&self) -> Lay {
        let [_, b, c] = self.0;
        Lay { len: self.len(), off: 0, st: [(b * c) as i64, c as i64, 1] }
    }

    /// `x[:, ::-1, ::2]` of an `[a, b, 2c]` array.
    fn sliced(&self) -> Lay {
        let [a, b, c] = self.0;
        Lay { len: a * b * 2 * c, off: (b - 1) * 2 * c, st: [(b * 2 * c) as i64, -2 * c as i64, 2] }
    }

    /// An `[a, 1, c]` array broadcast along the middle dimension.
    fn broadcast_mid(&self) -> Lay {
        let [a, _, c] = self.0;
        Lay { len: a * c, off: 0, st: [c as i64, 0, 1] }
    }

    /// A `[1, b, c]` array broadcast along the first dimension.
    fn broadcast_first(&self) -> Lay {
        let [_, b, c] = self.0;
        Lay { len: b * c, off: 0, st: [0, c as i64, 1] }
    }

    fn cfg(&self) -> LaunchConfig {
        map::config(&self.shape(), false, 1, BLOCKS)
    }
}

fn geo_names() -> String {
    GEOS.iter().map(|g| format!("{}×{}×{}", g[0], g[1], g[2])).collect::<Vec<_>>().join(" and ")
}

/// Contiguous launches of `n` elements (`misaligned`: from the second element).
fn flat_cfg<E: Elem>(n: usize) -> LaunchConfig {
    map::config(&Shape::flat(n as u64), true, E::LANES, BLOCKS)
}

/// `(input pointer, output pointer, element offset)` of the aligned launch (0) or the
/// misaligned one (1).
fn at<T>(b: &DeviceBuffer<u8>, skip: usize) -> *const T {
    p::<T>(b).wrapping_add(skip)
}

fn at_mut<T>(b: &DeviceBuffer<u8>, skip: usize) -> *mut T {
    pm::<T>(b).wrapping_add(skip)
}

/// Checks `y[k]` (dtype `out`, at `y_at(k)` of buffer `y`) for `k` in `0..n` against `want(k)`.
fn elementwise(
    bufs: &[Vec<u8>],
    out: Dt,
    y: usize,
    n: usize,
    y_at: impl Fn(usize) -> usize,
    want: impl Fn(usize) -> (Want, String),
) -> Result<(), String> {
    check_all(out, n, |k| get(out, &bufs[y], y_at(k)), want)
}

/// Checks `y[k] == x(k)` bit for bit (`size`-byte elements) for `k` in `0..n`.
fn same_bits(n: usize, size: usize, y: &[u8], x: impl Fn(usize) -> Vec<u8>) -> Result<(), String> {
    let bad: Vec<usize> = (0..n).filter(|&k| y[k * size..(k + 1) * size] != x(k)[..]).collect();
    match bad.first() {
        None => Ok(()),
        Some(&k) => Err(format!(
            "{} of {n} outputs differ from the host reference, first output {k}: {:02x?}, the reference {:02x?}",
            bad.len(),
            &y[k * size..(k + 1) * size],
            x(k)
        )),
    }
}

fn unary_case<E: Elem>(k: Kernel<UnaryArgs<E>>, ops: Vec<Unary>) -> Case {
    let ps = [bits::<E>(-1.5), bits::<E>(2.5), bits::<E>(-1000.0)];
    let pv = [value::<E>(-1.5), value::<E>(2.5), value::<E>(-1000.0)];
    let dt = Dt::of::<E>();
    let shape = format!("n = {N}, {} ops, one misaligned", ops.len());
    multi(k.info, shape, SHARED, move || {
        let launch = |op: Unary, skip: usize| {
            let (x, y) = (input::<E>(N + skip, 1), out::<E>(N + skip));
            let args = (op as u32, at(&x, skip), at_mut(&y, skip), N as u64, ps[0], ps[1], ps[2]);
            setup(k, flat_cfg::<E>(N), SHARED, vec![x, y], args)
                .labelled(format!("{}{}", op.name(), if skip > 0 { ", misaligned" } else { "" }))
                .verified(move |b| {
                    elementwise(
                        b,
                        dt,
                        1,
                        N,
                        |i| skip + i,
                        |i| {
                            let x = get(dt, &b[0], skip + i);
                            (r::unary(op, dt, x, pv), format!("{}({x})", op.name()))
                        },
                    )
                })
        };
        let mut v: Vec<Setup> = ops.iter().map(|&op| launch(op, 0)).collect();
        v.push(launch(ops[0], 1));
        v
    })
}

fn unary_strided_case<E: Elem>(k: Kernel<UnaryStridedArgs<E>>, ops: Vec<Unary>) -> Case {
    let ps = [bits::<E>(-1.5), bits::<E>(2.5), bits::<E>(-1000.0)];
    let pv = [value::<E>(-1.5), value::<E>(2.5), value::<E>(-1000.0)];
    let dt = Dt::of::<E>();
    let shape = format!("{}, reversed and sliced input, {} ops", geo_names(), ops.len());
    multi(k.info, shape, SHARED, move || {
        let mut v = Vec::new();
        for &op in &ops {
            for g in GEOS.map(Geo) {
                let (xl, yl) = (g.sliced(), g.contiguous());
                let (x, y) = (input::<E>(xl.len as usize, 2), out::<E>(yl.len as usize));
                let args = (
                    op as u32,
                    p(&x),
                    xl.len,
                    xl.strides(),
                    pm(&y),
                    yl.len,
                    yl.strides(),
                    g.shape(),
                    ps[0],
                    ps[1],
                    ps[2],
                );
                v.push(
                    setup(k, g.cfg(), SHARED, vec![x, y], args)
                        .labelled(format!("{} on {:?}", op.name(), g.0))
                        .verified(move |b| {
                            elementwise(
                                b,
                                dt,
                                1,
                                g.len() as usize,
                                |i| i,
                                |i| {
                                    let x = get(dt, &b[0], xl.at(g.0, i));
                                    (r::unary(op, dt, x, pv), format!("{}({x})", op.name()))
                                },
                            )
                        }),
                );
            }
        }
        v
    })
}

/// An op of a two-operand family: its code, name and reference.
#[derive(Clone)]
struct Op2 {
    code: u32,
    name: &'static str,
    reference: Rc<dyn Fn(V, V) -> Want>,
}

/// `(a, b, y, n, scalar, mode)` launches of a two-operand contiguous entry (binary or
/// comparison) over every op and mode, and one misaligned.
fn two_operand_case<E: Elem, O: Elem>(
    k: Kernel<(u32, *const E, *const E, *mut O, u64, u64, u32)>,
    ops: Vec<Op2>,
) -> Case {
    let (s, sv) = (bits::<E>(-3.0), value::<E>(-3.0));
    let (dt, out_dt) = (Dt::of::<E>(), Dt::of::<O>());
    let shape = format!("n = {N}, {} ops × 3 modes (array, scalar after, scalar before), one misaligned", ops.len());
    multi(k.info, shape, SHARED, move || {
        let launch = |op: &Op2, mode: u32, skip: usize| {
            let (a, b, y) = (input::<E>(N + skip, 3), input::<E>(N + skip, 4), out::<O>(N + skip));
            let args = (op.code, at(&a, skip), at(&b, skip), at_mut(&y, skip), N as u64, s, mode);
            let label = format!("{}, mode {mode}{}", op.name, if skip > 0 { ", misaligned" } else { "" });
            let (f, name) = (op.reference.clone(), op.name);
            setup(k, flat_cfg::<E>(N), SHARED, vec![a, b, y], args).labelled(label).verified(move |bufs| {
                elementwise(
                    bufs,
                    out_dt,
                    2,
                    N,
                    |i| skip + i,
                    |i| {
                        let x = get(dt, &bufs[0], skip + i);
                        let (l, r) = match mode {
                            0 => (x, get(dt, &bufs[1], skip + i)),
                            1 => (x, sv),
                            _ => (sv, x),
                        };
                        (f(l, r), format!("{name}({l}, {r})"))
                    },
                )
            })
        };
        let mut v: Vec<Setup> =
            ops.iter().flat_map(|op| (0..3).map(move |m| (op, m))).map(|(op, m)| launch(op, m, 0)).collect();
        v.push(launch(&ops[0], 0, 1));
        v
    })
}

/// A strided two-operand entry's arguments (binary or comparison): op, `a`, `b`, `y` (pointer,
/// length, strides each), shape.
type TwoStridedArgs<E, O> = (u32, *const E, u64, Strides, *const E, u64, Strides, *mut O, u64, Strides, Shape);

/// Strided launches of a two-operand entry: `a` reversed and sliced, `b` broadcast.
fn two_operand_strided_case<E: Elem, O: Elem>(k: Kernel<TwoStridedArgs<E, O>>, ops: Vec<Op2>) -> Case {
    let (dt, out_dt) = (Dt::of::<E>(), Dt::of::<O>());
    let shape = format!("{}, reversed and sliced `a`, broadcast `b`, {} ops", geo_names(), ops.len());
    multi(k.info, shape, SHARED, move || {
        let mut v = Vec::new();
        for op in &ops {
            for g in GEOS.map(Geo) {
                let (al, bl, yl) = (g.sliced(), g.broadcast_mid(), g.contiguous());
                let (a, b, y) =
                    (input::<E>(al.len as usize, 5), input::<E>(bl.len as usize, 6), out::<O>(yl.len as usize));
                let args = (
                    op.code,
                    p(&a),
                    al.len,
                    al.strides(),
                    p(&b),
                    bl.len,
                    bl.strides(),
                    pm(&y),
                    yl.len,
                    yl.strides(),
                    g.shape(),
                );
                let (f, name) = (op.reference.clone(), op.name);
                v.push(
                    setup(k, g.cfg(), SHARED, vec![a, b, y], args).labelled(format!("{name} on {:?}", g.0)).verified(
                        move |bufs| {
                            elementwise(
                                bufs,
                                out_dt,
                                2,
                                g.len() as usize,
                                |i| i,
                                |i| {
                                    let (l, r) = (get(dt, &bufs[0], al.at(g.0, i)), get(dt, &bufs[1], bl.at(g.0, i)));
                                    (f(l, r), format!("{name}({l}, {r})"))
                                },
                            )
                        },
                    ),
                );
            }
        }
        v
    })
}

fn test_case<E: Elem>(k: Kernel<TestArgs<E>>) -> Case {
    let dt = Dt::of::<E>();
    let shape = format!("n = {N}, {} ops, one misaligned", Test::ALL.len());
    multi(k.info, shape, SHARED, move || {
        let launch = |op: Test, skip: usize| {
            let (x, y) = (input::<E>(N + skip, 7), out::<Bool>(N + skip));
            let args = (op as u32, at(&x, skip), at_mut(&y, skip), N as u64);
            setup(k, flat_cfg::<E>(N), SHARED, vec![x, y], args).labelled(op.name().into()).verified(move |b| {
                elementwise(
                    b,
                    Dt::Bool,
                    1,
                    N,
                    |i| skip + i,
                    |i| {
                        let x = get(dt, &b[0], skip + i);
                        (r::test(op, x), format!("{}({x})", op.name()))
                    },
                )
            })
        };
        let mut v: Vec<Setup> = Test::ALL.iter().map(|&op| launch(op, 0)).collect();
        v.push(launch(Test::ALL[0], 1));
        v
    })
}

fn where_case<E: Elem>(k: Kernel<WhereArgs<E>>) -> Case {
    let size = Dt::of::<E>().size();
    let shape = format!("{}, condition broadcast along the first dimension, `a` sliced, `b` broadcast", geo_names());
    multi(k.info, shape, SHARED, move || {
        GEOS.map(Geo)
            .into_iter()
            .map(|g| {
                let (cl, al, bl, yl) = (g.broadcast_first(), g.sliced(), g.broadcast_mid(), g.contiguous());
                let c = input::<Bool>(cl.len as usize, 8);
                let (a, b, y) =
                    (input::<E>(al.len as usize, 9), input::<E>(bl.len as usize, 10), out::<E>(yl.len as usize));
                let args = (
                    p(&c),
                    cl.len,
                    cl.strides(),
                    p(&a),
                    al.len,
                    al.strides(),
                    p(&b),
                    bl.len,
                    bl.strides(),
                    pm(&y),
                    yl.len,
                    yl.strides(),
                    g.shape(),
                );
                setup(k, g.cfg(), SHARED, vec![c, a, b, y], args).labelled(format!("{:?}", g.0)).verified(move |bufs| {
                    same_bits(g.len() as usize, size, &bufs[3], |i| {
                        let (from, at) =
                            if bufs[0][cl.at(g.0, i)] != 0 { (1, al.at(g.0, i)) } else { (2, bl.at(g.0, i)) };
                        bufs[from][at * size..(at + 1) * size].to_vec()
                    })
                })
            })
            .collect()
    })
}

fn cast_case<S: Elem, D: Elem>(k: Kernel<CastArgs<S, D>>) -> Case {
    let (from, to) = (Dt::of::<S>(), Dt::of::<D>());
    multi(k.info, format!("n = {N}, one misaligned"), SHARED, move || {
        (0..2)
            .map(|skip| {
                let x = DeviceBuffer::from_slice(&bytes_of(&generate::<S>(N + skip, 11, -300.0, 300.0, 7)));
                let y = out::<D>(N + skip);
                let args = (at(&x, skip), at_mut(&y, skip), N as u64);
                setup(k, flat_cfg::<S>(N), SHARED, vec![x, y], args)
                    .labelled(if skip > 0 { "misaligned".into() } else { String::new() })
                    .verified(move |b| {
                        elementwise(
                            b,
                            to,
                            1,
                            N,
                            |i| skip + i,
                            |i| {
                                let x = get(from, &b[0], skip + i);
                                (r::cast(to, x), format!("{x}"))
                            },
                        )
                    })
            })
            .collect()
    })
}

/// Every reduction op. A new op must be added here (the match below does not compile
/// without it), and so gets its launches.
const REDUCE_OPS: [Reduce; 9] = [
    Reduce::Sum,
    Reduce::Prod,
    Reduce::Max,
    Reduce::Min,
    Reduce::ArgMax,
    Reduce::ArgMin,
    Reduce::SumSq,
    Reduce::SumSqDev,
    Reduce::SumExpShift,
];

/// The ops an entry storing `O` from accumulator `A` is launched with: every one, or for an
/// integer or bool narrower than its i64 accumulator only those whose results are elements
/// (max, min and the arg ops): the host keeps integer sums and products in i64, and a narrower
/// store of them would wrap.
fn ops_storing<A: 'static, O: 'static>() -> Vec<Reduce> {
    let narrow = TypeId::of::<A>() == TypeId::of::<i64>() && TypeId::of::<O>() != TypeId::of::<i64>();
    let element = |op: &Reduce| matches!(op, Reduce::Max | Reduce::Min | Reduce::ArgMax | Reduce::ArgMin);
    REDUCE_OPS.into_iter().filter(|op| !narrow || element(op)).collect()
}

const _: fn(Reduce) = |r| match r {
    Reduce::Sum
    | Reduce::Prod
    | Reduce::Max
    | Reduce::Min
    | Reduce::ArgMax
    | Reduce::ArgMin
    | Reduce::SumSq
    | Reduce::SumSqDev
    | Reduce::SumExpShift => {}
};

/// The scale, finish and buffers of an op: `(scale bits, post, center, idx)` with `n` outputs.
fn reduce_extras<A: Num>(op: Reduce, n: usize) -> (u64, u32, Option<DeviceBuffer<u8>>, Option<DeviceBuffer<u8>>) {
    let float = A::of_f64(0.5) != A::ZERO;
    let scale = if float && op == Reduce::Sum { A::of_f64(0.5) } else { A::ONE };
    let post = match op {
        Reduce::SumSq => POST_SQRT,
        Reduce::SumExpShift => POST_LOG_CENTER,
        _ => 0,
    };
    let center = op.centered().then(|| {
        let c: Vec<A> = vals(n, 12, -2.0, 2.0).into_iter().map(A::of_f64).collect();
        DeviceBuffer::from_slice(&bytes_of(&c))
    });
    let idx = op.is_arg().then(|| out::<i64>(n));
    (scale.to_bits64(), post, center, idx)
}

fn ptr_or_null<T>(b: &Option<DeviceBuffer<u8>>) -> *const T {
    b.as_ref().map_or(std::ptr::null(), p)
}

fn mut_or_null<T>(b: &Option<DeviceBuffer<u8>>) -> *mut T {
    b.as_ref().map_or(std::ptr::null_mut(), pm)
}

/// A reduction's input: specials every `period` elements only, so that some outputs stay
/// finite.
fn reduce_input<E: Elem>(n: usize, seed: u64, period: usize) -> DeviceBuffer<u8> {
    DeviceBuffer::from_slice(&bytes_of(&generate::<E>(n, seed, -3.0, 3.0, period)))
}

/// Where a reduction launch's buffers are: `[x, center?, out, idx?]` (or `[part, part_idx?,
/// center?, out, idx?]`).
#[derive(Clone, Copy)]
struct ReduceBufs {
    input: usize,
    input_idx: Option<usize>,
    center: Option<usize>,
    out: usize,
    idx: Option<usize>,
}

impl ReduceBufs {
    fn new(input_idx: bool, center: bool, idx: bool) -> ReduceBufs {
        let mut next = 1;
        let mut take = |present: bool| {
            present.then(|| {
                next += 1;
                next - 1
            })
        };
        let input_idx = take(input_idx);
        let center = take(center);
        let out = take(true).unwrap();
        ReduceBufs { input: 0, input_idx, center, out, idx: take(idx) }
    }
}

/// Checks outputs `0..n_out` of a reduction: output `o` (at `at(o)` of the output buffers, of
/// dtype `out_dt`: the accumulator, or a 16-bit float the result is rounded to) against the
/// reference over `inputs(o)` (`(value, index)`), with center `o`.
#[allow(clippy::too_many_arguments)]
fn check_reduce(
    bufs: &[Vec<u8>],
    rb: ReduceBufs,
    op: Reduce,
    (acc, out_dt): (Dt, Dt),
    (scale, post, finish, elements): (V, u32, bool, bool),
    n_out: usize,
    at: impl Fn(usize) -> usize,
    inputs: impl Fn(usize) -> Vec<(V, i64)>,
) -> Result<(), String> {
    let mut bad = Vec::new();
    let mut count = 0;
    for o in 0..n_out {
        let xs = inputs(o);
        let center = rb.center.map_or(V::F(0.0), |c| get(acc, &bufs[c], o));
        let want = r::reduce(&ReduceIn { op, acc, xs: &xs, elements, center, scale, post, finish });
        let got = get(out_dt, &bufs[rb.out], at(o));
        let got_i = rb.idx.map(|i| i64::from_le_bytes(bufs[i][8 * at(o)..8 * at(o) + 8].try_into().unwrap()));
        let value_ok = want.v.is_none_or(|w| check_all(out_dt, 1, |_| got, |_| (w, String::new())).is_ok());
        if !value_ok || got_i != want.i {
            count += 1;
            if bad.len() < 3 {
                let shown: Vec<String> = xs.iter().take(6).map(|(v, _)| v.to_string()).collect();
                bad.push(format!(
                    "output {o} (of {} inputs: {}, ...): {got} index {got_i:?}, the reference {:?} index {:?}",
                    xs.len(),
                    shown.join(", "),
                    want.v.map(|w| (w.v.to_string(), w.ulps, w.abs)),
                    want.i
                ));
            }
        }
    }
    if count == 0 {
        Ok(())
    } else {
        Err(format!("{count} of {n_out} outputs differ from the host reference; {}", bad.join("; ")))
    }
}

/// The inner reductions: `x[4][9][35]` over axes 0 and 2 (140 elements per output: a warp
/// each) and `x[3][6][301]` likewise (903: a block each).
fn reduce_inner_case<E: Reducible, O: 'static>(k: Kernel<ReduceArgs<E, E::Acc, O>>) -> Case {
    let geos: [([u64; 3], usize); 2] = [([4, 9, 35], 211), ([3, 6, 301], 1009)];
    let (dt, acc, od) = (Dt::of::<E>(), Dt::of::<E::Acc>(), Dt::of::<O>());
    let ops = ops_storing::<E::Acc, O>();
    let shape = format!("x[4][9][35] and x[3][6][301] over axes 0 and 2, {} ops", ops.len());
    multi(k.info, shape, SHARED, move || {
        let mut v = Vec::new();
        for &op in &ops {
            for ([a, b, c], period) in geos {
                let (keep, ks) = (Shape::new(&[b]), Strides::new(0, &[c as i64]));
                let (red, rs) = (Shape::new(&[a, c]), Strides::new(0, &[(b * c) as i64, 1]));
                let (n_out, n_red, xl) = (b as usize, a * c, a * b * c);
                let (cfg, per_out) = reduce::inner_config(n_out as u64, n_red, 132 * 2048, BLOCKS);
                assert_eq!(cfg.grid.y, 1, "these rows are too short to split");
                let x = reduce_input::<E>(xl as usize, 13, period);
                let (scale, post, center, idx) = reduce_extras::<E::Acc>(op, n_out);
                let rb = ReduceBufs::new(false, center.is_some(), idx.is_some());
                let sv = get(acc, &bytes_of(&[scale]), 0);
                let o = out::<O>(n_out);
                let args = (
                    op as u32,
                    p(&x),
                    xl,
                    keep,
                    ks,
                    red,
                    rs,
                    ptr_or_null(&center),
                    pm(&o),
                    mut_or_null(&idx),
                    scale,
                    post,
                    per_out,
                );
                let bufs = [Some(x), center, Some(o), idx].into_iter().flatten().collect();
                // Output `j` reduces x[i][j][l] over (i, l), index `i·c + l`.
                let (b, c) = (b as usize, c as usize);
                v.push(
                    setup(k, cfg, SHARED, bufs, args).labelled(format!("{} on [{a}, {b}, {c}]", op.name())).verified(
                        move |bufs| {
                            let inputs = |j: usize| {
                                (0..a as usize * c)
                                    .map(|r| (get(dt, &bufs[rb.input], (r / c) * b * c + j * c + r % c), r as i64))
                                    .collect()
                            };
                            check_reduce(bufs, rb, op, (acc, od), (sv, post, true, true), n_out, |o| o, inputs)
                        },
                    ),
                );
            }
        }
        v
    })
}

/// The outer reductions (a kept dimension innermost): `x[50][300]` and `x[600][40]` over axis
/// 0, chunked as the host chunks them (the partial results are the outputs).
/// With several chunks the outputs are partial results, accumulators whatever the entry's
/// output type `O` is.
fn reduce_outer_case<E: Reducible, O: 'static>(k: Kernel<ReduceArgs<E, E::Acc, O>>) -> Case {
    let geos: [([u64; 2], usize); 2] = [([50, 300], 1009), ([600, 40], 1009)];
    let (dt, acc) = (Dt::of::<E>(), Dt::of::<E::Acc>());
    let ops = ops_storing::<E::Acc, O>();
    let shape = format!("x[50][300] and x[600][40] over axis 0, in chunks, {} ops", ops.len());
    multi(k.info, shape, SHARED, move || {
        let mut v = Vec::new();
        for &op in &ops {
            for ([rows, cols], period) in geos {
                let (keep, ks) = (Shape::new(&[cols]), Strides::new(0, &[1]));
                let (red, rs) = (Shape::new(&[rows]), Strides::new(0, &[cols as i64]));
                let (cfg, chunk) = reduce::outer_config(cols, rows, 132 * 2048, BLOCKS);
                let chunks = cfg.grid.y as usize;
                let parts = chunks * cols as usize;
                let od = if chunks == 1 { Dt::of::<O>() } else { acc };
                let x = reduce_input::<E>((rows * cols) as usize, 14, period);
                let (scale, post, center, _) = reduce_extras::<E::Acc>(op, cols as usize);
                let idx = op.is_arg().then(|| out::<i64>(parts));
                let rb = ReduceBufs::new(false, center.is_some(), idx.is_some());
                let sv = get(acc, &bytes_of(&[scale]), 0);
                let o = if chunks == 1 { out::<O>(parts) } else { out::<E::Acc>(parts) };
                let args = (
                    op as u32,
                    p(&x),
                    rows * cols,
                    keep,
                    ks,
                    red,
                    rs,
                    ptr_or_null(&center),
                    pm(&o),
                    mut_or_null(&idx),
                    scale,
                    post,
                    chunk,
                );
                let bufs = [Some(x), center, Some(o), idx].into_iter().flatten().collect();
                let label = format!("{} on [{rows}, {cols}], {chunks} chunks", op.name());
                // Output `q·cols + j`: column `j` over rows `[q·chunk, (q + 1)·chunk)`.
                let (rows, cols, chunk) = (rows as usize, cols as usize, chunk as usize);
                v.push(setup(k, cfg, SHARED, bufs, args).labelled(label).verified(move |bufs| {
                    for q in 0..chunks {
                        let inputs = |j: usize| {
                            (q * chunk..((q + 1) * chunk).min(rows))
                                .map(|r| (get(dt, &bufs[rb.input], r * cols + j), r as i64))
                                .collect()
                        };
                        let flags = (sv, post, chunks == 1, true);
                        check_reduce(bufs, rb, op, (acc, od), flags, cols, |j| q * cols + j, inputs)
                            .map_err(|e| format!("chunk {q}: {e}"))?;
                    }
                    Ok(())
                }));
            }
        }
        v
    })
}

/// Partial results of 7 chunks for 300 outputs, combined.
fn reduce_partials_case<A: Num, O: 'static>(k: Kernel<PartialsArgs<A, O>>) -> Case {
    let (chunks, n_out) = (7usize, 300usize);
    let (acc, od) = (Dt::of::<A>(), Dt::of::<O>());
    let ops = ops_storing::<A, O>();
    multi(k.info, format!("{chunks} chunks × {n_out} outputs, {} ops", ops.len()), SHARED, move || {
        ops.iter()
            .map(|&op| {
                // Partials of a narrow integer's max or min are its elements: in its range.
                let fit = |v: f64| match od {
                    Dt::Bool => v.rem_euclid(2.0),
                    Dt::U8 => v.clamp(0.0, u8::MAX as f64),
                    Dt::U32 => v.clamp(0.0, u32::MAX as f64),
                    Dt::I32 => v.clamp(i32::MIN as f64, i32::MAX as f64),
                    _ => v,
                };
                let part: Vec<A> = values(chunks * n_out, 15, -3.0, 3.0, 97).map(|v| A::of_f64(fit(v))).collect();
                let part = DeviceBuffer::from_slice(&bytes_of(&part));
                let part_idx = op.is_arg().then(|| {
                    let i: Vec<i64> = vals(chunks * n_out, 16, 0.0, 1e4).into_iter().map(|x| x as i64).collect();
                    DeviceBuffer::from_slice(&bytes_of(&i))
                });
                let (scale, post, center, idx) = reduce_extras::<A>(op, n_out);
                let rb = ReduceBufs::new(part_idx.is_some(), center.is_some(), idx.is_some());
                let sv = get(acc, &bytes_of(&[scale]), 0);
                let o = out::<O>(n_out);
                let args = (
                    op as u32,
                    p(&part),
                    ptr_or_null(&part_idx),
                    chunks as u32,
                    n_out as u64,
                    ptr_or_null(&center),
                    pm(&o),
                    mut_or_null(&idx),
                    scale,
                    post,
                );
                let bufs = [Some(part), part_idx, center, Some(o), idx].into_iter().flatten().collect();
                setup(k, reduce::partials_config(n_out as u64, BLOCKS), SHARED, bufs, args)
                    .labelled(op.name().into())
                    .verified(move |bufs| {
                        let inputs = |o: usize| {
                            (0..chunks)
                                .map(|q| {
                                    let at = q * n_out + o;
                                    let i = rb.input_idx.map_or(0, |b| {
                                        i64::from_le_bytes(bufs[b][8 * at..8 * at + 8].try_into().unwrap())
                                    });
                                    (get(acc, &bufs[rb.input], at), i)
                                })
                                .collect()
                        };
                        check_reduce(bufs, rb, op, (acc, od), (sv, post, true, false), n_out, |o| o, inputs)
                    })
            })
            .collect()
    })
}

fn copy_case<E: Elem>(k: Kernel<CopyArgs<E>>) -> Case {
    let size = size_of::<E>();
    multi(
        k.info,
        format!("{}, from a reversed and sliced view and from a broadcast one", geo_names()),
        SHARED,
        move || {
            let mut v = Vec::new();
            for g in GEOS.map(Geo) {
                for (name, xl) in [("sliced", g.sliced()), ("broadcast", g.broadcast_mid())] {
                    let yl = g.contiguous();
                    let (x, y) = (input::<E>(xl.len as usize, 17), out::<E>(yl.len as usize));
                    let args = (p(&x), xl.len, xl.strides(), pm(&y), yl.len, yl.strides(), g.shape());
                    v.push(
                        setup(k, g.cfg(), SHARED, vec![x, y], args).labelled(format!("{name} on {:?}", g.0)).verified(
                            move |b| {
                                same_bits(g.len() as usize, size, &b[1], |i| {
                                    let at = xl.at(g.0, i);
                                    b[0][at * size..(at + 1) * size].to_vec()
                                })
                            },
                        ),
                    );
                }
            }
            v
        },
    )
}

/// The 45 × 70 transpose of a contiguous 70 × 45 matrix (partial tiles both ways).
fn transpose_case<E: Elem>(k: Kernel<TransposeArgs<E>>) -> Case {
    let (rows, cols) = (45u64, 70u64);
    let size = size_of::<E>();
    multi(k.info, format!("{rows}×{cols} from its transpose"), SHARED, move || {
        let (x, y) = (input::<E>((rows * cols) as usize, 18), out::<E>((rows * cols) as usize));
        let args = (p(&x), rows * cols, 0, 1, rows as i64, pm(&y), rows, cols);
        let (rows, cols) = (rows as usize, cols as usize);
        vec![
            setup(k, copy::transpose_config::<E>(rows as u64, cols as u64, BLOCKS), SHARED, vec![x, y], args).verified(
                move |b| {
                    // y[r][c] = x[c][r] of the cols × rows input.
                    same_bits(rows * cols, size, &b[1], |i| {
                        let at = (i % cols) * rows + i / cols;
                        b[0][at * size..(at + 1) * size].to_vec()
                    })
                },
            ),
        ]
    })
}

fn binary_ops(dt: Dt, keep: impl Fn(Binary) -> bool) -> Vec<Op2> {
    let op = |o: Binary| Op2 { code: o as u32, name: o.name(), reference: Rc::new(move |a, b| r::binary(o, dt, a, b)) };
    Binary::ALL.iter().copied().filter(|&o| keep(o)).map(op).collect()
}

fn compare_ops() -> Vec<Op2> {
    let op = |o: Compare| Op2 { code: o as u32, name: o.name(), reference: Rc::new(move |a, b| r::compare(o, a, b)) };
    Compare::ALL.iter().copied().map(op).collect()
}

/// The cases of every family entry for dtype `E`.
fn dtype_cases<E: Reducible>(v: &mut Vec<Case>) {
    let dt = Dt::of::<E>();
    let integer = !dt.is_float();
    if let Some(k) = unary::kernels::<E>() {
        let cheap: Vec<Unary> =
            Unary::ALL.iter().copied().filter(|o| !o.is_math() && (!integer || o.takes_integers())).collect();
        v.push(unary_case(k.contiguous, cheap.clone()).in_family("unary"));
        v.push(unary_strided_case(k.strided, cheap).in_family("unary"));
        if let Some((c, s)) = k.math {
            let math: Vec<Unary> = Unary::ALL.iter().copied().filter(|o| o.is_math()).collect();
            v.push(unary_case(c, math.clone()).in_family("unary"));
            v.push(unary_strided_case(s, math).in_family("unary"));
        }
    }
    if let Some(k) = binary::kernels::<E>() {
        let cheap = binary_ops(dt, |o| !o.is_math() && (!integer || o.takes_integers()));
        let kc: Kernel<BinaryArgs<E>> = k.contiguous;
        let ks: Kernel<BinaryStridedArgs<E>> = k.strided;
        v.push(two_operand_case(kc, cheap.clone()).in_family("binary"));
        v.push(two_operand_strided_case(ks, cheap).in_family("binary"));
        if let Some((c, s)) = k.math {
            let math = binary_ops(dt, |o| o.is_math());
            v.push(two_operand_case(c, math.clone()).in_family("binary"));
            v.push(two_operand_strided_case(s, math).in_family("binary"));
        }
    }
    if let Some(k) = compare::kernels::<E>() {
        let all = compare_ops();
        let kc: Kernel<CompareArgs<E>> = k.contiguous;
        let ks: Kernel<CompareStridedArgs<E>> = k.strided;
        v.push(two_operand_case(kc, all.clone()).in_family("compare"));
        v.push(two_operand_strided_case(ks, all).in_family("compare"));
        v.push(test_case(k.test).in_family("compare"));
        v.push(where_case(k.select).in_family("compare"));
    }
    let r = reduce::kernels::<E>();
    v.push(reduce_inner_case(r.inner).in_family("reduce"));
    v.push(reduce_outer_case(r.outer).in_family("reduce"));
    v.push(cumsum_case(scan::kernel::<E>()).in_family("scan"));
    // Each accumulator type's partials entry once: from the dtype that is its own accumulator.
    if TypeId::of::<E>() == TypeId::of::<E::Acc>() {
        v.push(reduce_partials_case(r.partials).in_family("reduce"));
    }
    // The entries storing f16 and bf16 themselves (for f32 and f64 the ones above).
    if let Some(own) = r.own.filter(|_| TypeId::of::<E>() != TypeId::of::<E::Acc>()) {
        v.push(reduce_inner_case(own.inner).in_family("reduce"));
        v.push(reduce_outer_case(own.outer).in_family("reduce"));
        v.push(reduce_partials_case(own.partials).in_family("reduce"));
    }
}

/// The running sums of `x[3][601]` from offset 5 (three chunks of 256 per row, the last
/// partial), on two blocks (a block takes a second row), and of `x[1][1]`. Integers must be
/// exact; floats within `(i/256 + 256)·u·Σ|x|` at element `i` of a row (chunks scanned as
/// trees, added to the running total).
fn cumsum_case<E: Reducible>(k: Kernel<CumsumArgs<E, E::Sum>>) -> Case {
    let (dt, acc, sum) = (Dt::of::<E>(), Dt::of::<E::Acc>(), Dt::of::<E::Sum>());
    multi(k.info, "x[3][601] from offset 5 on 2 blocks, and x[1][1]".to_string(), SHARED, move || {
        [(3u64, 601u64, 2u32), (1, 1, 1)]
            .into_iter()
            .map(|(rows, n, blocks)| {
                let len = (5 + rows * n) as usize;
                let (x, o) = (reduce_input::<E>(len, 29, 211), out::<E::Sum>((rows * n) as usize));
                let args = (p(&x), 5u64, rows, n, pm(&o));
                let unit = if acc == Dt::F64 { f64::EPSILON / 2.0 } else { f32::EPSILON as f64 / 2.0 };
                // The one rounding of a 16-bit result at the store, relative to the sum.
                let store_unit = match sum {
                    Dt::F16 => 2f64.powi(-11),
                    Dt::BF16 => 2f64.powi(-8),
                    _ => 0.0,
                };
                // Where a 16-bit result rounds to infinity (halfway past its largest finite).
                let overflow = match sum {
                    Dt::F16 => 65520.0,
                    Dt::BF16 => 3.3961775292304433e38,
                    _ => f64::INFINITY,
                };
                setup(k, scan::config::<E::Acc>(rows, blocks), SHARED, vec![x, o], args)
                    .labelled(format!("x[{rows}][{n}]"))
                    .verified(move |b| {
                        for row in 0..(rows * n) as usize / n.max(1) as usize {
                            let (mut exact, mut abs) = (0.0f64, 0.0f64);
                            let mut int = 0i128;
                            for i in 0..n as usize {
                                let at = row * n as usize + i;
                                let (got, x) = (get(sum, &b[1], at), get(dt, &b[0], 5 + at));
                                let ok = match (x, got) {
                                    (V::I(x), V::I(g)) => {
                                        int += x;
                                        g == int as i64 as i128 // the i64 accumulator wraps, as NumPy's
                                    }
                                    (x, V::F(g)) => {
                                        let x = match x { V::F(f) => f, V::I(i) => i as f64 };
                                        exact += x;
                                        abs += x.abs();
                                        // The kernel's documented bound: a tree of depth 8 in the chunk, one add of the carry,
                                        // and the carries' own chain (kernels_gpu::ops::scan).
                                        let bound = ((i / 256) as f64 + 9.0) * unit * abs;
                                        let bound = bound + store_unit * (exact.abs() + bound);
                                        let overflowed = g.is_infinite()
                                            && g.signum() == exact.signum()
                                            && exact.abs() + bound >= overflow;
                                        (g.is_nan() && exact.is_nan())
                                            || g == exact
                                            || (g - exact).abs() <= bound
                                            || overflowed
                                    }
                                    _ => false,
                                };
                                if !ok {
                                    return Err(format!("cumsum row {row} element {i}: got {got}, the exact running sum {exact:e} / {int}"));
                                }
                            }
                        }
                        Ok(())
                    })
            })
            .collect()
    })
}

/// `cast_S_D` for every `D`, from `S`.
fn casts_from<S: Elem>(v: &mut Vec<Case>) {
    macro_rules! to {
        ($($d:ty),*) => {$(
            if let Some(k) = cast::kernel::<S, $d>() {
                v.push(cast_case(k).in_family("cast"));
            }
        )*};
    }
    to!(f32, f64, F16, BF16, i32, i64, u8, u32, Bool);
}

/// Every op-family entry's case.
pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    macro_rules! dtypes {
        ($($t:ty),*) => {$(
            dtype_cases::<$t>(&mut v);
            casts_from::<$t>(&mut v);
        )*};
    }
    dtypes!(f32, f64, F16, BF16, i32, i64, u8, u32, Bool);
    v.push(copy_case(copy::copy_strided_b1).in_family("copy"));
    v.push(copy_case(copy::copy_strided_b2).in_family("copy"));
    v.push(copy_case(copy::copy_strided_b4).in_family("copy"));
    v.push(copy_case(copy::copy_strided_b8).in_family("copy"));
    v.push(transpose_case(copy::transpose_b1).in_family("copy"));
    v.push(transpose_case(copy::transpose_b2).in_family("copy"));
    v.push(transpose_case(copy::transpose_b4).in_family("copy"));
    v.push(transpose_case(copy::transpose_b8).in_family("copy"));
    v
}
