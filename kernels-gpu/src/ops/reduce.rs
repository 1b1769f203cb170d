//! Reductions over any set of axes: `out[o] = post(scale · ⊕_r x[o, r])` for every kept index
//! `o`, over the reduced indices `r` (both strided: the host splits the input's layout into
//! the kept and the reduced dimensions, each coalesced).
//!
//! The ops ([`Reduce`]): `sum`, `prod`, `max`, `min` (NaN propagates, as NumPy's), `argmax`,
//! `argmin` (the first occurrence; a NaN counts as the extreme, as NumPy's), `sum_sq` (Σx²),
//! `sum_sq_dev` (Σ(x - c_o)², with `c` a per-output center: variance after a mean) and
//! `sum_exp_shift` (Σ e^(x - c_o), `c` the maximum: log-sum-exp). `scale` multiplies the result
//! (1/n for a mean) and `post` finishes it: [`POST_SQRT`] (std, L2 norm), [`POST_LOG_CENTER`]
//! (`ln(s) + c`, log-sum-exp).
//!
//! Accumulation: in f32 for f32, f16 and bf16, f64 for f64, i64 for every integer (integer
//! sums wrap). Every kernel has an output type `O` ([`Store`]): the accumulator itself, or for
//! f16 and bf16 the array's own dtype, rounded once at the store (one launch, no f32
//! temporary), and for i32, u8, u32 and bool their own dtype (max, min, any, all: no i64
//! temporary and cast launch). Partial results of chunks are always accumulators (the output pointer then
//! addresses accumulators, whatever `O` is), and only the final write ([`reduce_partials`],
//! or an unchunked launch) converts. Arg ops also write the index (i64, row-major over the
//! reduced dimensions, as NumPy's flat index).
//!
//! Summation order, which decides the rounding error: each thread adds its elements in order
//! (a strided subset of its chunk, or a chunk of at most [`CHUNK`]), then threads combine in a
//! butterfly tree (warp shuffles, then one value per warp through shared memory), and the
//! chunks combine in order ([`reduce_partials`]). An n-term sum over `C` chunks of `T`
//! threads is then within about `(n/(C·T) + log2 T + C)·u` relative error (or
//! `(CHUNK + n/CHUNK)·u` for the one-thread chunks of [`reduce_outer`]), not `n·u`.
//!
//! Thread mapping, chosen by the host from where the input is contiguous:
//! - [`reduce_inner`], the reduced dimensions innermost (rows): 32 threads (a warp) or 256 (a
//!   block) per output, `per_out` says which; the threads stride over the reduced elements, so
//!   consecutive threads read consecutive elements. When there are few outputs and long rows
//!   (a full `sum`), `grid.y` splits each row into `grid.y` equal chunks, block `(x, y)`
//!   reducing chunk `y` into a partial result ([`inner_config`] picks at least
//!   [`MIN_SPLIT`] elements a chunk, about enough chunks to fill the GPU), and
//!   [`reduce_partials`] combines them.
//! - [`reduce_outer`], a kept dimension innermost (columns, e.g. `sum(axis=0)`): one thread per
//!   output, consecutive threads on consecutive outputs (coalesced), each walking the reduced
//!   elements of its chunk; `grid.y` splits the reduction into chunks when there are too few
//!   outputs to fill the GPU, and [`reduce_partials`] then combines each output's chunks.

use super::layout::{Shape, Strides};
use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// The most elements one thread adds before its partial result is combined.
pub const CHUNK: u64 = 1024;
/// Threads per block of every reduction kernel.
pub const BLOCK: u32 = 256;
/// The fewest elements of a row one chunk of [`reduce_inner`]'s split takes (16 per thread of
/// a block): shorter rows are not split.
pub const MIN_SPLIT: u64 = 16 * BLOCK as u64;

/// Finish the result with a square root.
pub const POST_SQRT: u32 = 1;
/// Finish the result as `ln(s) + c` (log-sum-exp).
pub const POST_LOG_CENTER: u32 = 2;

/// The reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Reduce {
    Sum,
    Prod,
    Max,
    Min,
    ArgMax,
    ArgMin,
    SumSq,
    SumSqDev,
    SumExpShift,
}

impl Reduce {
    pub const fn name(self) -> &'static str {
        match self {
            Reduce::Sum => "sum",
            Reduce::Prod => "prod",
            Reduce::Max => "max",
            Reduce::Min => "min",
            Reduce::ArgMax => "argmax",
            Reduce::ArgMin => "argmin",
            Reduce::SumSq => "sum_sq",
            Reduce::SumSqDev => "sum_sq_dev",
            Reduce::SumExpShift => "sum_exp_shift",
        }
    }

    /// Whether the op gives an index.
    pub const fn is_arg(self) -> bool {
        matches!(self, Reduce::ArgMax | Reduce::ArgMin)
    }

    /// Whether the op reads a per-output center.
    pub const fn centered(self) -> bool {
        matches!(self, Reduce::SumSqDev | Reduce::SumExpShift)
    }
}

/// An accumulator type: f32, f64 or i64.
pub trait Acc: Num + Shuffle {
    /// `x - c`, `x · x` and `e^x` for the float-only ops (integers never take them: 0).
    fn dev(x: Self, c: Self) -> Self;
    fn exp_shift(x: Self, c: Self) -> Self;
    fn post(x: Self, post: u32, c: Self) -> Self;
}

impl<F: Float> Acc for F {
    #[inline(always)]
    fn dev(x: F, c: F) -> F {
        let d = x - c;
        d * d
    }
    /// `e^(x - c)`, with an infinite center taken as 0 so that a row of `-inf` gives 0 (its
    /// log-sum-exp `-inf`) and one holding `+inf` gives `+inf`.
    #[inline(always)]
    fn exp_shift(x: F, c: F) -> F {
        let c = if c.is_infinite() { F::ZERO } else { c };
        (x - c).exp()
    }
    #[inline(always)]
    fn post(x: F, post: u32, c: F) -> F {
        match post {
            POST_SQRT => x.sqrt(),
            POST_LOG_CENTER => x.ln() + if c.is_infinite() { F::ZERO } else { c },
            _ => x,
        }
    }
}

impl Acc for i64 {
    #[inline(always)]
    fn dev(_: i64, _: i64) -> i64 {
        0
    }
    #[inline(always)]
    fn exp_shift(_: i64, _: i64) -> i64 {
        0
    }
    #[inline(always)]
    fn post(x: i64, _: u32, _: i64) -> i64 {
        x
    }
}

/// A type a kernel writes results of accumulator `A` in: the accumulator itself, or a 16-bit
/// float from f32 (rounded to nearest even, once).
pub trait Store<A>: Elem {
    fn of_acc(a: A) -> Self;
}

macro_rules! store_same {
    ($($t:ty),*) => {$(
        impl Store<$t> for $t {
            #[inline(always)]
            fn of_acc(a: $t) -> $t {
                a
            }
        }
    )*};
}
store_same!(f32, f64, i64);

impl Store<f32> for F16 {
    #[inline(always)]
    fn of_acc(a: f32) -> F16 {
        F16::from_f32(a)
    }
}

impl Store<f32> for BF16 {
    #[inline(always)]
    fn of_acc(a: f32) -> BF16 {
        BF16::from_f32(a)
    }
}

/// The integers and bool from their i64 accumulator: exact for the results stored so (the
/// maximum and minimum, which are elements; `any`/`all` as max/min of bools).
macro_rules! store_from_i64 {
    ($($t:ty),*) => {$(
        impl Store<i64> for $t {
            #[inline(always)]
            fn of_acc(a: i64) -> $t {
                a as $t
            }
        }
    )*};
}
store_from_i64!(i32, u8, u32);

impl Store<i64> for Bool {
    #[inline(always)]
    fn of_acc(a: i64) -> Bool {
        Bool((a != 0) as u8)
    }
}

/// A storage type's accumulator, and the value of an element in it; `Sum` is the dtype of its
/// sums and running sums (its own for floats, i64 for integers and bools).
pub trait Reducible: Elem {
    type Acc: Acc;
    type Sum: Store<Self::Acc>;
    fn acc(self) -> Self::Acc;
}

macro_rules! reducible {
    ($acc:ty: $($t:ty => $sum:ty),*) => {$(
        impl Reducible for $t {
            type Acc = $acc;
            type Sum = $sum;
            #[inline(always)]
            fn acc(self) -> $acc {
                self.load() as $acc
            }
        }
    )*};
}
reducible!(f32: f32 => f32, F16 => F16, BF16 => BF16);
reducible!(f64: f64 => f64);
reducible!(i64: i32 => i64, i64 => i64, u8 => i64, u32 => i64);

impl Reducible for Bool {
    type Acc = i64;
    type Sum = i64;
    #[inline(always)]
    fn acc(self) -> i64 {
        self.0 as i64
    }
}

/// A running result: the value and, for arg ops, its index.
#[derive(Clone, Copy)]
pub struct State<A> {
    pub v: A,
    pub i: i64,
}

impl<A: Shuffle> Shuffle for State<A> {
    #[inline(always)]
    fn shfl(self, mode: Shfl, b: u32) -> Self {
        State { v: self.v.shfl(mode, b), i: self.i.shfl(mode, b) }
    }
}

/// The identity of `op`.
#[inline(always)]
pub fn identity<A: Acc>(op: u32) -> State<A> {
    let v = if op == Reduce::Prod as u32 {
        A::ONE
    } else if op == Reduce::Max as u32 || op == Reduce::ArgMax as u32 {
        A::LOWEST
    } else if op == Reduce::Min as u32 || op == Reduce::ArgMin as u32 {
        A::HIGHEST
    } else {
        A::ZERO
    };
    State { v, i: i64::MAX }
}

/// Whether `(v, i)` should replace `(w, j)` for argmax (`max`) or argmin: the more extreme
/// value, NaN above all, and on a tie the smaller index (NumPy's first occurrence).
#[inline(always)]
fn wins<A: Acc>(max: bool, v: A, i: i64, w: A, j: i64) -> bool {
    if v.nan() || w.nan() {
        return if v.nan() && w.nan() { i < j } else { v.nan() };
    }
    if v == w {
        return i < j;
    }
    if max { v > w } else { v < w }
}

/// Folds `b` into `a` (both running results; `b` need not be a single element).
#[inline(always)]
pub fn combine<A: Acc>(op: u32, a: State<A>, b: State<A>) -> State<A> {
    if op == Reduce::Prod as u32 {
        State { v: a.v.mul(b.v), i: 0 }
    } else if op == Reduce::Max as u32 {
        State { v: a.v.maximum(b.v), i: 0 }
    } else if op == Reduce::Min as u32 {
        State { v: a.v.minimum(b.v), i: 0 }
    } else if op == Reduce::ArgMax as u32 || op == Reduce::ArgMin as u32 {
        if wins(op == Reduce::ArgMax as u32, b.v, b.i, a.v, a.i) { b } else { a }
    } else {
        State { v: a.v.add(b.v), i: 0 }
    }
}

/// Element `x` (at reduced index `r`, center `c`) as a running result.
#[inline(always)]
pub fn element<A: Acc>(op: u32, x: A, r: u64, c: A) -> State<A> {
    let v = if op == Reduce::SumSq as u32 {
        x.mul(x)
    } else if op == Reduce::SumSqDev as u32 {
        A::dev(x, c)
    } else if op == Reduce::SumExpShift as u32 {
        A::exp_shift(x, c)
    } else {
        x
    };
    State { v, i: r as i64 }
}

/// Writes output `o`: the value scaled and finished, and the index for arg ops.
///
/// # Safety
/// `out` holds `n_out` values and `idx` (unless null) `n_out` indices.
#[inline(always)]
unsafe fn write<A: Acc, O: Store<A>>(
    o: usize,
    s: State<A>,
    out: &GlobalMut<O>,
    idx: *mut i64,
    n_out: usize,
    scale: A,
    post: u32,
    c: A,
) {
    out.store(o, O::of_acc(A::post(s.v.mul(scale), post, c)));
    if !idx.is_null() {
        let idx = unsafe { GlobalMut::new(idx, n_out) };
        idx.store(o, s.i);
    }
}

/// Per-output center `c[o]`, or 0 when there is none.
#[inline(always)]
fn center<A: Acc>(c: &Option<Global<A>>, o: usize) -> A {
    match c {
        Some(c) => c.load(o),
        None => A::ZERO,
    }
}

/// Warps or a block per output, reduced dimensions innermost. With `grid.y > 1` each row is
/// split into `grid.y` chunks of `ceil(n_red / grid.y)` elements and chunk `y` writes its
/// partial result, an accumulator, to element `y · n_out + o` of `out` taken as accumulators
/// (and its index to `idx`), as [`reduce_outer`]'s.
///
/// # Safety
/// `x` holds `xl` elements and the strides stay inside; `center` is null or holds `n_out`
/// values; `out` and `idx` (unless null) hold `n_out` results, or with `grid.y > 1`
/// `grid.y · n_out` accumulators and indices; `per_out` is 32 or the block size; `grid.y <=
/// n_red`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn reduce_inner<E: Reducible, O: Store<E::Acc>>(
    op: u32,
    x: *const E,
    xl: u64,
    keep: Shape,
    ks: Strides,
    red: Shape,
    rs: Strides,
    center_ptr: *const E::Acc,
    out: *mut O,
    idx: *mut i64,
    scale: u64,
    post: u32,
    per_out: u32,
) {
    let n_out = keep.len() as usize;
    let n_red = red.len();
    let chunks = grid_dim().y as usize;
    let chunk = n_red.div_ceil(chunks as u64);
    let r0 = block_idx().y as u64 * chunk;
    let r1 = (r0 + chunk).min(n_red);
    let xg = unsafe { Global::new(x, xl as usize) };
    let og = unsafe { GlobalMut::new(out, n_out) };
    let cg = if center_ptr.is_null() { None } else { Some(unsafe { Global::new(center_ptr, n_out) }) };
    let scale = E::Acc::from_bits64(scale);
    let scratch = Shared::<State<E::Acc>>::new(0, 32);
    let per_out = per_out as usize;
    let t = thread_rank() as usize;
    let (lane, group) = (t % per_out, t / per_out);
    let groups = block_dim().volume() as usize / per_out;
    let mut o = block_idx().x as usize * groups + group;
    // Every thread of a group (a warp, or the whole block) runs the same iterations.
    let step = grid_dim().x as usize * groups;
    let blocks_out = n_out.div_ceil(groups) * groups;
    while o < blocks_out {
        let live = o < n_out;
        let c = if live { center(&cg, o) } else { E::Acc::ZERO };
        let base = if live { ks.offset_of(&keep, o as u64) } else { 0 };
        let mut s = identity::<E::Acc>(op);
        let mut r = r0 + lane as u64;
        while live && r < r1 {
            let v = xg.load((base + rs.offset_of(&red, r)) as usize).acc();
            s = combine(op, s, element(op, v, r, c));
            r += per_out as u64;
        }
        let s = if per_out == WARP_SIZE as usize {
            warp_reduce(s, |a, b| combine(op, a, b))
        } else {
            block_reduce(s, &scratch, identity(op), |a, b| combine(op, a, b))
        };
        if live && lane == 0 {
            if chunks == 1 {
                unsafe { write(o, s, &og, idx, n_out, scale, post, c) };
            } else {
                let at = block_idx().y as usize * n_out + o;
                unsafe { GlobalMut::new(out.cast::<E::Acc>(), n_out * chunks) }.store(at, s.v);
                if !idx.is_null() {
                    unsafe { GlobalMut::new(idx, n_out * chunks) }.store(at, s.i);
                }
            }
        }
        o += step;
    }
}

/// A thread per output, kept dimension innermost; `grid.y` chunks of the reduction write
/// partial results (`part[chunk · n_out + o]`) when there are several, the results otherwise.
///
/// # Safety
/// As for [`reduce_inner`]: with several chunks `out` and `idx` hold `grid.y · n_out`
/// accumulators (whatever `O` is) and indices.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn reduce_outer<E: Reducible, O: Store<E::Acc>>(
    op: u32,
    x: *const E,
    xl: u64,
    keep: Shape,
    ks: Strides,
    red: Shape,
    rs: Strides,
    center_ptr: *const E::Acc,
    out: *mut O,
    idx: *mut i64,
    scale: u64,
    post: u32,
    chunk: u32,
) {
    let n_out = keep.len() as usize;
    let n_red = red.len();
    let chunks = grid_dim().y as usize;
    let xg = unsafe { Global::new(x, xl as usize) };
    let og = unsafe { GlobalMut::new(out, n_out) };
    let part = unsafe { GlobalMut::new(out.cast::<E::Acc>(), n_out * chunks) };
    let cg = if center_ptr.is_null() { None } else { Some(unsafe { Global::new(center_ptr, n_out) }) };
    let scale = E::Acc::from_bits64(scale);
    let r0 = block_idx().y as u64 * chunk as u64;
    let r1 = (r0 + chunk as u64).min(n_red);
    let (mut o, step) = (global_thread_x(), grid_threads_x());
    while o < n_out {
        let c = center(&cg, o);
        let base = ks.offset_of(&keep, o as u64);
        let mut s = identity::<E::Acc>(op);
        let mut r = r0;
        while r < r1 {
            let v = xg.load((base + rs.offset_of(&red, r)) as usize).acc();
            s = combine(op, s, element(op, v, r, c));
            r += 1;
        }
        if chunks == 1 {
            unsafe { write(o, s, &og, idx, n_out, scale, post, c) };
        } else {
            let at = block_idx().y as usize * n_out + o;
            part.store(at, s.v);
            if !idx.is_null() {
                unsafe { GlobalMut::new(idx, n_out * chunks) }.store(at, s.i);
            }
        }
        o += step;
    }
}

/// Combines each output's `chunks` partial results (in chunk order), then scales, finishes
/// and stores them as `O` (the one rounding of a 16-bit result).
///
/// # Safety
/// `part` (and `part_idx`, unless null) hold `chunks · n_out`; `center` is null or holds
/// `n_out`; `out` (and `idx`, unless null) hold `n_out`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn reduce_partials<A: Acc, O: Store<A>>(
    op: u32,
    part: *const A,
    part_idx: *const i64,
    chunks: u32,
    n_out: u64,
    center_ptr: *const A,
    out: *mut O,
    idx: *mut i64,
    scale: u64,
    post: u32,
) {
    let (n_out, chunks) = (n_out as usize, chunks as usize);
    let pg = unsafe { Global::new(part, n_out * chunks) };
    let pi = if part_idx.is_null() { None } else { Some(unsafe { Global::new(part_idx, n_out * chunks) }) };
    let og = unsafe { GlobalMut::new(out, n_out) };
    let cg = if center_ptr.is_null() { None } else { Some(unsafe { Global::new(center_ptr, n_out) }) };
    let scale = A::from_bits64(scale);
    let (mut o, step) = (global_thread_x(), grid_threads_x());
    while o < n_out {
        let mut s = identity::<A>(op);
        for k in 0..chunks {
            let i = pi.as_ref().map_or(0, |p| p.load(k * n_out + o));
            s = combine(op, s, State { v: pg.load(k * n_out + o), i });
        }
        unsafe { write(o, s, &og, idx, n_out, scale, post, center(&cg, o)) };
        o += step;
    }
}

/// [`reduce_inner`]'s launch: `per_out` threads per output (32 when the reduction is short,
/// else the block), at most `max_blocks` blocks. When those blocks give fewer than
/// `target_threads` threads and the rows are long, `grid.y` splits each row into chunks of at
/// least [`MIN_SPLIT`] elements (at most 65,535 chunks), about enough to reach
/// `target_threads`; more than one chunk means [`reduce_partials`] must follow.
pub fn inner_config(n_out: u64, n_red: u64, target_threads: u64, max_blocks: u32) -> (LaunchConfig, u32) {
    let per_out = if n_red <= 256 { WARP_SIZE } else { BLOCK };
    let groups = (BLOCK / per_out) as u64;
    let blocks = n_out.div_ceil(groups).clamp(1, max_blocks.max(1) as u64);
    let want = target_threads.div_ceil(blocks * BLOCK as u64);
    let chunks = if per_out == BLOCK { want.min(n_red / MIN_SPLIT).clamp(1, 65_535) } else { 1 };
    let shared = (32 * size_of::<State<f64>>()) as u32;
    let grid = Dim3::xy(blocks as u32, chunks as u32);
    (LaunchConfig { grid, block: Dim3::x(BLOCK), shared_bytes: shared }, per_out)
}

/// [`reduce_outer`]'s launch: a thread per output, and as many chunks (at most 65,535, each at
/// most [`CHUNK`] long) as it takes to give about `target_threads` threads in all. Returns
/// `(config, chunk length)`; more than one chunk means [`reduce_partials`] must follow.
pub fn outer_config(n_out: u64, n_red: u64, target_threads: u64, max_blocks: u32) -> (LaunchConfig, u32) {
    let blocks_x = n_out.div_ceil(BLOCK as u64).clamp(1, max_blocks.max(1) as u64);
    let want = target_threads.div_ceil(blocks_x * BLOCK as u64).max(n_red.div_ceil(CHUNK));
    let chunks = want.clamp(1, n_red.max(1)).min(65_535);
    let chunk = n_red.div_ceil(chunks).max(1);
    let chunks = n_red.div_ceil(chunk).max(1);
    let cfg = LaunchConfig { grid: Dim3::xy(blocks_x as u32, chunks as u32), block: Dim3::x(BLOCK), shared_bytes: 0 };
    (cfg, chunk as u32)
}

/// [`reduce_partials`]' launch: a thread per output.
pub fn partials_config(n_out: u64, max_blocks: u32) -> LaunchConfig {
    let blocks = n_out.div_ceil(BLOCK as u64).clamp(1, max_blocks.max(1) as u64) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: 0 }
}

/// The arguments of [`reduce_inner`] and [`reduce_outer`]: element `E`, accumulator `A`,
/// output `O`.
pub type ReduceArgs<E, A, O = A> =
    (u32, *const E, u64, Shape, Strides, Shape, Strides, *const A, *mut O, *mut i64, u64, u32, u32);
/// The arguments of [`reduce_partials`]: accumulator `A`, output `O`.
pub type PartialsArgs<A, O = A> = (u32, *const A, *const i64, u32, u64, *const A, *mut O, *mut i64, u64, u32);

/// The reduction entries of one dtype: those writing the accumulator (the results the host
/// computes with, such as a variance's mean, and every chunk's partial results), and, where
/// the dtype differs from its accumulator only by width (f16, bf16, and i32, u8, u32, bool,
/// whose max and min are elements; for f32, f64 and i64 the same entries), those writing the
/// dtype itself.
#[cfg(not(target_arch = "nvptx64"))]
#[derive(Clone, Copy)]
pub struct ReduceKernels<E: Reducible> {
    pub inner: crate::Kernel<ReduceArgs<E, E::Acc>>,
    pub outer: crate::Kernel<ReduceArgs<E, E::Acc>>,
    pub partials: crate::Kernel<PartialsArgs<E::Acc>>,
    pub own: Option<OwnKernels<E>>,
}

/// The entries that store results in the input's own dtype.
#[cfg(not(target_arch = "nvptx64"))]
#[derive(Clone, Copy)]
pub struct OwnKernels<E: Reducible> {
    pub inner: crate::Kernel<ReduceArgs<E, E::Acc, E>>,
    pub outer: crate::Kernel<ReduceArgs<E, E::Acc, E>>,
    pub partials: crate::Kernel<PartialsArgs<E::Acc, E>>,
}

macro_rules! reduce_entries {
    (
        dtypes { $($t:ty: $acc:ty, $inner:ident, $outer:ident;)* }
        own { $($ot:ty: $oacc:ty, $oinner:ident, $oouter:ident;)* }
        partials { $($a:ty => $po:ty: $p:ident;)* }
    ) => {
        kernels! {
            @entries
            $(
                $inner(op: u32, x: *const $t, xl: u64, keep: Shape, ks: Strides, red: Shape, rs: Strides, center: *const $acc, out: *mut $acc, idx: *mut i64, scale: u64, post: u32, per_out: u32) => reduce_inner::<$t, $acc>;
                $outer(op: u32, x: *const $t, xl: u64, keep: Shape, ks: Strides, red: Shape, rs: Strides, center: *const $acc, out: *mut $acc, idx: *mut i64, scale: u64, post: u32, chunk: u32) => reduce_outer::<$t, $acc>;
            )*
            $(
                $oinner(op: u32, x: *const $ot, xl: u64, keep: Shape, ks: Strides, red: Shape, rs: Strides, center: *const $oacc, out: *mut $ot, idx: *mut i64, scale: u64, post: u32, per_out: u32) => reduce_inner::<$ot, $ot>;
                $oouter(op: u32, x: *const $ot, xl: u64, keep: Shape, ks: Strides, red: Shape, rs: Strides, center: *const $oacc, out: *mut $ot, idx: *mut i64, scale: u64, post: u32, chunk: u32) => reduce_outer::<$ot, $ot>;
            )*
            $(
                $p(op: u32, part: *const $a, part_idx: *const i64, chunks: u32, n_out: u64, center: *const $a, out: *mut $po, idx: *mut i64, scale: u64, post: u32) => reduce_partials::<$a, $po>;
            )*
        }

        /// The reduction entries, for the PTX cross-check.
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[crate::KernelInfo] =
            &[$($inner.info, $outer.info,)* $($oinner.info, $oouter.info,)* $($p.info,)*];

        /// The entries for element type `E` (host only).
        #[cfg(not(target_arch = "nvptx64"))]
        pub fn kernels<E: Reducible>() -> ReduceKernels<E> {
            use core::any::Any;
            let partials: &[&dyn Any] = &[$(&$p),*];
            let inner: &[&dyn Any] = &[$(&$inner,)* $(&$oinner),*];
            let outer: &[&dyn Any] = &[$(&$outer,)* $(&$oouter),*];
            let expect = "every reducible type has reduction entries";
            let find_own = || {
                Some(OwnKernels {
                    inner: inner.iter().find_map(|k| k.downcast_ref()).copied()?,
                    outer: outer.iter().find_map(|k| k.downcast_ref()).copied()?,
                    partials: partials.iter().find_map(|k| k.downcast_ref()).copied()?,
                })
            };
            ReduceKernels {
                inner: inner.iter().find_map(|k| k.downcast_ref()).copied().expect(expect),
                outer: outer.iter().find_map(|k| k.downcast_ref()).copied().expect(expect),
                partials: partials.iter().find_map(|k| k.downcast_ref()).copied().expect(expect),
                own: find_own(),
            }
        }
    };
}

reduce_entries! {
    dtypes {
        f32: f32, reduce_inner_f32, reduce_outer_f32;
        f64: f64, reduce_inner_f64, reduce_outer_f64;
        F16: f32, reduce_inner_f16, reduce_outer_f16;
        BF16: f32, reduce_inner_bf16, reduce_outer_bf16;
        i32: i64, reduce_inner_i32, reduce_outer_i32;
        i64: i64, reduce_inner_i64, reduce_outer_i64;
        u8: i64, reduce_inner_u8, reduce_outer_u8;
        u32: i64, reduce_inner_u32, reduce_outer_u32;
        Bool: i64, reduce_inner_bool, reduce_outer_bool;
    }
    own {
        F16: f32, reduce_inner_f16_own, reduce_outer_f16_own;
        BF16: f32, reduce_inner_bf16_own, reduce_outer_bf16_own;
        i32: i64, reduce_inner_i32_own, reduce_outer_i32_own;
        u8: i64, reduce_inner_u8_own, reduce_outer_u8_own;
        u32: i64, reduce_inner_u32_own, reduce_outer_u32_own;
        Bool: i64, reduce_inner_bool_own, reduce_outer_bool_own;
    }
    partials {
        f32 => f32: reduce_partials_f32;
        f64 => f64: reduce_partials_f64;
        i64 => i64: reduce_partials_i64;
        f32 => F16: reduce_partials_f32_f16;
        f32 => BF16: reduce_partials_f32_bf16;
        i64 => i32: reduce_partials_i64_i32;
        i64 => u8: reduce_partials_i64_u8;
        i64 => u32: reduce_partials_i64_u32;
        i64 => Bool: reduce_partials_i64_bool;
    }
}
