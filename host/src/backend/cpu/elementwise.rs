//! The op families on the CPU: the same formulas as the kernels (`kernels_gpu::ops`), in the
//! kernels' element types (an f16 array computes in f32 and rounds once, as on the GPU), one
//! monomorphized loop per op (through the families' visitors) over `walk.rs`.

use super::walk::{map1, map2, map3, update2};
use crate::array::layout::Walk;
use crate::array::storage::{CpuData, kernel_slice, kernel_slice_mut};
use crate::dtype::Element;
use kernels_gpu::ops::binary::{Binary, BinaryVisitor, FloatBinary, NumBinary};
use kernels_gpu::ops::compare::{Compare, Test, Truth};
use kernels_gpu::ops::unary::{FloatUnary, NumUnary, Unary, UnaryVisitor};
use kernels_gpu::prelude::{Bool, Elem, Float, Int, Num, cast};

/// Runs `$float::<T>` for a float dtype or `$int::<T>` for an integer one, with the typed
/// slices of two storages of one dtype.
macro_rules! by_class {
    ($x:expr, $y:expr, $float:ident, $int:ident, ($($arg:expr),*)) => {{
        use CpuData as D;
        match ($x, $y) {
            (D::F32(x), D::F32(y)) => $float::<f32>(x, y, $($arg),*),
            (D::F64(x), D::F64(y)) => $float::<f64>(x, y, $($arg),*),
            (D::F16(x), D::F16(y)) => $float::<half::f16>(x, y, $($arg),*),
            (D::BF16(x), D::BF16(y)) => $float::<half::bf16>(x, y, $($arg),*),
            (D::I32(x), D::I32(y)) => $int::<i32>(x, y, $($arg),*),
            (D::I64(x), D::I64(y)) => $int::<i64>(x, y, $($arg),*),
            (D::U8(x), D::U8(y)) => $int::<u8>(x, y, $($arg),*),
            (D::U32(x), D::U32(y)) => $int::<u32>(x, y, $($arg),*),
            _ => unreachable!("numeric operands of one dtype"),
        }
    }};
}

/// The compute type's value of the parameter bits.
fn params<K: Elem>(p: [u64; 3]) -> [K::Compute; 3] {
    p.map(<K::Compute as Num>::from_bits64)
}

/// `y = op(x)` over the walk (operands: `y`, `x`); `p`: the op's parameters as compute bits.
pub(crate) fn unary(op: Unary, p: [u64; 3], x: &CpuData, y: &mut CpuData, walk: &Walk) {
    by_class!(x, y, unary_float, unary_int, (op, p, walk))
}

fn unary_float<T: Element>(x: &[T], y: &mut [T], op: Unary, p: [u64; 3], walk: &Walk)
where
    <T::Kernel as Elem>::Compute: Float,
    T::Kernel: Send + Sync,
{
    struct Run<'a, K: Elem>(&'a [K], &'a mut [K], &'a Walk, [K::Compute; 3]);
    impl<K: Elem + Send + Sync> UnaryVisitor for Run<'_, K>
    where
        K::Compute: Float,
    {
        type Out = ();
        fn float<Op: FloatUnary>(self) {
            let p = self.3;
            map1(self.0, self.1, self.2, move |v: K| K::store(Op::float(v.load(), p)));
        }
    }
    op.visit(Run(kernel_slice(x), kernel_slice_mut(y), walk, params::<T::Kernel>(p)));
}

fn unary_int<T: Element>(x: &[T], y: &mut [T], op: Unary, p: [u64; 3], walk: &Walk)
where
    <T::Kernel as Elem>::Compute: Int,
    T::Kernel: Send + Sync,
{
    struct Run<'a, K: Elem>(&'a [K], &'a mut [K], &'a Walk, [K::Compute; 3]);
    impl<K: Elem + Send + Sync> UnaryVisitor for Run<'_, K>
    where
        K::Compute: Int,
    {
        type Out = ();
        fn float<Op: FloatUnary>(self) {
            unreachable!("{}: a float op on an integer array (the API takes it for floats only)", Op::OP.name())
        }
        fn num<Op: NumUnary>(self) {
            let p = self.3;
            map1(self.0, self.1, self.2, move |v: K| K::store(Op::num(v.load(), p)));
        }
    }
    op.visit(Run(kernel_slice(x), kernel_slice_mut(y), walk, params::<T::Kernel>(p)));
}

/// What a binary loop reads its second operand from.
#[derive(Clone, Copy)]
enum Second<'a, K> {
    Array(&'a [K]),
    /// A scalar (compute bits), after (`false`) or before (`true`) the array operand.
    Scalar(u64, bool),
}

/// `y = op(a, b)` over the walk (operands: `y`, `a`, `b`).
pub(crate) fn binary(op: Binary, a: &CpuData, b: &CpuData, y: &mut CpuData, walk: &Walk) {
    by_class!(a, y, binary_float, binary_int, (op, b, None, walk))
}

/// `y = op(a, s)`, or `op(s, a)` with `scalar_first`, over the walk (operands: `y`, `a`).
pub(crate) fn binary_scalar(op: Binary, a: &CpuData, s: u64, scalar_first: bool, y: &mut CpuData, walk: &Walk) {
    by_class!(a, y, binary_float, binary_int, (op, a, Some((s, scalar_first)), walk))
}

fn second<'a, T: Element>(b: &'a CpuData, scalar: Option<(u64, bool)>) -> Second<'a, T::Kernel> {
    match scalar {
        Some((s, first)) => Second::Scalar(s, first),
        None => Second::Array(kernel_slice(b.typed::<T>())),
    }
}

/// Runs `f` over `a` and the second operand: an array (walk operands `y`, `a`, `b`) or a
/// scalar on either side (walk operands `y`, `a`).
fn apply2<K: Elem + Send + Sync, O: Copy + Send>(
    a: &[K],
    b: Second<'_, K>,
    y: &mut [O],
    walk: &Walk,
    f: impl Fn(K::Compute, K::Compute) -> O + Sync + Send,
) {
    match b {
        Second::Array(b) => map2(a, b, y, walk, move |x: K, z: K| f(x.load(), z.load())),
        Second::Scalar(s, false) => {
            let s = <K::Compute as Num>::from_bits64(s);
            map1(a, y, walk, move |x: K| f(x.load(), s))
        }
        Second::Scalar(s, true) => {
            let s = <K::Compute as Num>::from_bits64(s);
            map1(a, y, walk, move |x: K| f(s, x.load()))
        }
    }
}

fn binary_float<T: Element>(a: &[T], y: &mut [T], op: Binary, b: &CpuData, s: Option<(u64, bool)>, walk: &Walk)
where
    <T::Kernel as Elem>::Compute: Float,
    T::Kernel: Send + Sync,
{
    struct Run<'a, K: Elem>(&'a [K], Second<'a, K>, &'a mut [K], &'a Walk);
    impl<K: Elem + Send + Sync> BinaryVisitor for Run<'_, K>
    where
        K::Compute: Float,
    {
        type Out = ();
        fn float<Op: FloatBinary>(self) {
            apply2(self.0, self.1, self.2, self.3, |x, z| K::store(Op::float(x, z)));
        }
    }
    op.visit(Run(kernel_slice(a), second::<T>(b, s), kernel_slice_mut(y), walk));
}

fn binary_int<T: Element>(a: &[T], y: &mut [T], op: Binary, b: &CpuData, s: Option<(u64, bool)>, walk: &Walk)
where
    <T::Kernel as Elem>::Compute: Int,
    T::Kernel: Send + Sync,
{
    struct Run<'a, K: Elem>(&'a [K], Second<'a, K>, &'a mut [K], &'a Walk);
    impl<K: Elem + Send + Sync> BinaryVisitor for Run<'_, K>
    where
        K::Compute: Int,
    {
        type Out = ();
        fn float<Op: FloatBinary>(self) {
            unreachable!("{}: a float op on an integer array", Op::OP.name())
        }
        fn num<Op: NumBinary>(self) {
            apply2(self.0, self.1, self.2, self.3, |x, z| K::store(Op::num(x, z)));
        }
    }
    op.visit(Run(kernel_slice(a), second::<T>(b, s), kernel_slice_mut(y), walk));
}

/// `y = op(y, b)` in place over the walk (operands: `y`, `y`, `b`): no copy of the left
/// operand.
pub(crate) fn binary_assign(op: Binary, y: &mut CpuData, b: &CpuData, walk: &Walk) {
    by_class!(y, b, assign_float, assign_int, (op, walk))
}

fn assign_float<T: Element>(y: &mut [T], b: &[T], op: Binary, walk: &Walk)
where
    <T::Kernel as Elem>::Compute: Float,
    T::Kernel: Send + Sync,
{
    struct Run<'a, K: Elem>(&'a mut [K], &'a [K], &'a Walk);
    impl<K: Elem + Send + Sync> BinaryVisitor for Run<'_, K>
    where
        K::Compute: Float,
    {
        type Out = ();
        fn float<Op: FloatBinary>(self) {
            update2(self.0, self.1, self.2, |x: K, z: K| K::store(Op::float(x.load(), z.load())));
        }
    }
    op.visit(Run(kernel_slice_mut(y), kernel_slice(b), walk));
}

fn assign_int<T: Element>(y: &mut [T], b: &[T], op: Binary, walk: &Walk)
where
    <T::Kernel as Elem>::Compute: Int,
    T::Kernel: Send + Sync,
{
    struct Run<'a, K: Elem>(&'a mut [K], &'a [K], &'a Walk);
    impl<K: Elem + Send + Sync> BinaryVisitor for Run<'_, K>
    where
        K::Compute: Int,
    {
        type Out = ();
        fn float<Op: FloatBinary>(self) {
            unreachable!("{}: a float op on an integer array", Op::OP.name())
        }
        fn num<Op: NumBinary>(self) {
            update2(self.0, self.1, self.2, |x: K, z: K| K::store(Op::num(x.load(), z.load())));
        }
    }
    op.visit(Run(kernel_slice_mut(y), kernel_slice(b), walk));
}

/// Runs `$f::<T>` with `T` the dtype of `$x` (any dtype).
macro_rules! by_dtype {
    ($x:expr, $f:ident, ($($arg:expr),*)) => {{
        use CpuData as D;
        match $x {
            D::F32(x) => $f::<f32>(x, $($arg),*),
            D::F64(x) => $f::<f64>(x, $($arg),*),
            D::F16(x) => $f::<half::f16>(x, $($arg),*),
            D::BF16(x) => $f::<half::bf16>(x, $($arg),*),
            D::I32(x) => $f::<i32>(x, $($arg),*),
            D::I64(x) => $f::<i64>(x, $($arg),*),
            D::U8(x) => $f::<u8>(x, $($arg),*),
            D::U32(x) => $f::<u32>(x, $($arg),*),
            D::Bool(x) => $f::<bool>(x, $($arg),*),
        }
    }};
}

fn bools(y: &mut CpuData) -> &mut [Bool] {
    match y {
        CpuData::Bool(v) => kernel_slice_mut(v),
        _ => unreachable!("comparisons write bool arrays"),
    }
}

/// `y = op(a, b)` to bool over the walk (operands: `y`, `a`, `b`).
pub(crate) fn compare(op: Compare, a: &CpuData, b: &CpuData, y: &mut CpuData, walk: &Walk) {
    by_dtype!(a, compare_typed, (op, b, None, bools(y), walk))
}

pub(crate) fn compare_scalar(op: Compare, a: &CpuData, s: u64, first: bool, y: &mut CpuData, walk: &Walk) {
    by_dtype!(a, compare_typed, (op, a, Some((s, first)), bools(y), walk))
}

fn compare_typed<T: Element>(a: &[T], op: Compare, b: &CpuData, s: Option<(u64, bool)>, y: &mut [Bool], walk: &Walk)
where
    <T::Kernel as Elem>::Compute: Truth,
    T::Kernel: Send + Sync,
{
    let code = op as u32;
    apply2(kernel_slice(a), second::<T>(b, s), y, walk, move |x, z| Bool::store(Compare::eval(code, x, z)));
}

/// `y = test(x)` to bool over `n` contiguous elements of `x` from `offset`.
pub(crate) fn test(op: Test, x: &CpuData, offset: usize, y: &mut CpuData, n: usize) {
    by_dtype!(x, test_typed, (op, offset, bools(y), n))
}

fn test_typed<T: Element>(x: &[T], op: Test, offset: usize, y: &mut [Bool], n: usize)
where
    <T::Kernel as Elem>::Compute: Truth,
    T::Kernel: Send + Sync,
{
    let code = op as u32;
    map1(&kernel_slice(x)[offset..offset + n], y, &Walk::contiguous2(n), move |v: T::Kernel| {
        Bool::store(Test::eval(code, v.load()))
    });
}

/// `y = c ? a : b` over the walk (operands: `y`, `c`, `a`, `b`).
pub(crate) fn select(c: &CpuData, a: &CpuData, b: &CpuData, y: &mut CpuData, walk: &Walk) {
    let c = match c {
        CpuData::Bool(v) => kernel_slice(v),
        _ => unreachable!("a bool condition"),
    };
    by_dtype!(a, select_typed, (c, b, y, walk))
}

fn select_typed<T: Element>(a: &[T], c: &[Bool], b: &CpuData, y: &mut CpuData, walk: &Walk) {
    let (b, y) = (b.typed::<T>(), y.as_mut_slice::<T>().expect("the output's dtype"));
    map3(c, a, b, y, walk, |k: Bool, x: T, z: T| if k.0 != 0 { x } else { z });
}

/// `y = x as D` over the walk (operands: `y`, `x`; any strides).
pub(crate) fn convert(x: &CpuData, y: &mut CpuData, walk: &Walk) {
    by_dtype!(x, convert_from, (y, walk))
}

fn convert_from<S: Element>(x: &[S], y: &mut CpuData, walk: &Walk) {
    by_dtype!(y, convert_into, (kernel_slice(x), walk))
}

fn convert_into<D: Element>(y: &mut [D], x: &[impl Elem + Sync], walk: &Walk) {
    fn go<S: Elem + Sync, D: Elem + Send>(x: &[S], y: &mut [D], walk: &Walk) {
        map1(x, y, walk, cast::<S, D>);
    }
    go(x, kernel_slice_mut(y), walk)
}

/// `dst[walk] = src[walk]` (operands: `dst`, `src`), both of one dtype.
pub(crate) fn copy(src: &CpuData, dst: &mut CpuData, walk: &Walk) {
    use CpuData as D;
    match (src, dst) {
        (D::F32(s), D::F32(d)) => map1(s, d, walk, |v| v),
        (D::F64(s), D::F64(d)) => map1(s, d, walk, |v| v),
        (D::F16(s), D::F16(d)) => map1(s, d, walk, |v| v),
        (D::BF16(s), D::BF16(d)) => map1(s, d, walk, |v| v),
        (D::I32(s), D::I32(d)) => map1(s, d, walk, |v| v),
        (D::I64(s), D::I64(d)) => map1(s, d, walk, |v| v),
        (D::U8(s), D::U8(d)) => map1(s, d, walk, |v| v),
        (D::U32(s), D::U32(d)) => map1(s, d, walk, |v| v),
        (D::Bool(s), D::Bool(d)) => map1(s, d, walk, |v| v),
        _ => unreachable!("copies within one dtype"),
    }
}
