//! The op families' launches on CUDA: from a [`Walk`] of the operands to the contiguous entry
//! (pointers at the operands' offsets, a length) or the strided one (the walk's shape and each
//! operand's strides as kernel parameters). Geometry comes from `ops/map.rs`'s `config`; the
//! dtype picks the entry through the family's typed lookup, so argument lists stay checked by
//! the compiler.

use super::CudaDevice;
use crate::array::layout::Walk;
use crate::array::storage::{CudaData, CudaRef};
use crate::backend::with_kernel_type;
use crate::error::{Error, Result};
use kernels_gpu::ops::binary::{self, Binary};
use kernels_gpu::ops::compare::{self, Compare, Test};
use kernels_gpu::ops::layout::{MAX_RANK, Shape, Strides};
use kernels_gpu::ops::unary::{self, Unary};
use kernels_gpu::ops::{cast, copy, map};
use kernels_gpu::prelude::{Bool, Elem};

/// The walk's shape and the strides of its operands, as kernel parameters; an error past
/// [`MAX_RANK`] dimensions (after coalescing).
pub(crate) fn kernel_layout(op: &'static str, walk: &Walk) -> Result<(Shape, Vec<Strides>)> {
    if walk.dims.len() > MAX_RANK {
        return Err(Error::bad_shape(
            op,
            &walk.dims,
            format!("the kernels walk at most {MAX_RANK} non-contiguous dimensions; make the array contiguous first"),
        ));
    }
    let shape = Shape::new(&walk.dims.iter().map(|&d| d as u64).collect::<Vec<_>>());
    let strides = walk
        .operands
        .iter()
        .map(|(offset, s)| Strides::new(*offset as u64, &s.iter().map(|&v| v as i64).collect::<Vec<_>>()))
        .collect();
    Ok((shape, strides))
}

fn unsupported(op: &'static str, data: &CudaRef) -> Error {
    Error::Unsupported { op, dtype: data.dtype, device: crate::Device::Cuda(data.device().clone()).to_string() }
}

impl CudaDevice {
    /// The launch of a map over `walk`. Past [`MAX_RANK`] dimensions (which `kernel_layout`
    /// then refuses with an error) it is the flat walk's, so that building it cannot panic.
    fn map_config(&self, walk: &Walk, lanes: usize) -> kernels_gpu::LaunchConfig {
        let dims: Vec<u64> = if walk.dims.len() > MAX_RANK {
            vec![walk.len() as u64]
        } else {
            walk.dims.iter().map(|&d| d as u64).collect()
        };
        let shape = Shape::new(&dims);
        map::config(&shape, walk.is_contiguous(), lanes, self.grid_stride_blocks())
    }
}

/// `y = op(x)` over the walk (operands: `y`, `x`), with the op's parameters as compute bits.
pub(crate) fn unary(op: Unary, p: [u64; 3], x: &CudaRef, y: &mut CudaData, walk: &Walk) -> Result<()> {
    if walk.len() == 0 {
        return Ok(());
    }
    with_kernel_type!(x.dtype, |K| launch_unary::<K>(op, p, x, y, walk))
}

fn launch_unary<K: Elem>(op: Unary, [p0, p1, p2]: [u64; 3], x: &CudaRef, y: &mut CudaData, walk: &Walk) -> Result<()> {
    let dev = x.device().clone();
    let ks = unary::kernels::<K>().ok_or_else(|| unsupported(op.name(), x))?;
    let (contiguous, strided) =
        if op.is_math() { ks.math.ok_or_else(|| unsupported(op.name(), x))? } else { (ks.contiguous, ks.strided) };
    let cfg = dev.map_config(walk, K::LANES);
    let code = op as u32;
    if walk.is_contiguous() {
        let n = walk.len() as u64;
        let (xp, yp) = (x.ptr_at::<K>(walk.operands[1].0), y.ptr_at_mut::<K>(walk.operands[0].0));
        // SAFETY: the walk's `n` elements lie inside both buffers from these offsets.
        unsafe { dev.launch(&contiguous, cfg, (code, xp, yp, n, p0, p1, p2)) }
    } else {
        let (shape, s) = kernel_layout(op.name(), walk)?;
        let (xl, yl) = (x.len as u64, y.len as u64);
        let (xp, yp) = (x.ptr_at::<K>(0), y.ptr_at_mut::<K>(0));
        // SAFETY: the strides reach only elements of each buffer (the layouts were checked).
        unsafe { dev.launch(&strided, cfg, (code, xp, xl, s[1], yp, yl, s[0], shape, p0, p1, p2)) }
    }
}

/// `y = op(a, b)` over the walk (operands: `y`, `a`, `b`).
pub(crate) fn binary(op: Binary, a: &CudaRef, b: &CudaRef, y: &mut CudaData, walk: &Walk) -> Result<()> {
    if walk.len() == 0 {
        return Ok(());
    }
    with_kernel_type!(a.dtype, |K| launch_binary::<K>(op, a, Some(b), 0, 0, y, walk))
}

/// `y = op(a, s)` (`scalar_first`: `op(s, a)`) over the walk (operands: `y`, `a`), `s` as
/// compute bits.
pub(crate) fn binary_scalar(
    op: Binary,
    a: &CudaRef,
    s: u64,
    scalar_first: bool,
    y: &mut CudaData,
    walk: &Walk,
) -> Result<()> {
    if walk.len() == 0 {
        return Ok(());
    }
    let mode = if scalar_first { 2 } else { 1 };
    with_kernel_type!(a.dtype, |K| launch_binary::<K>(op, a, None, s, mode, y, walk))
}

fn launch_binary<K: Elem>(
    op: Binary,
    a: &CudaRef,
    b: Option<&CudaRef>,
    s: u64,
    mode: u32,
    y: &mut CudaData,
    walk: &Walk,
) -> Result<()> {
    let dev = a.device().clone();
    let ks = binary::kernels::<K>().ok_or_else(|| unsupported(op.name(), a))?;
    let (contiguous, strided) =
        if op.is_math() { ks.math.ok_or_else(|| unsupported(op.name(), a))? } else { (ks.contiguous, ks.strided) };
    let cfg = dev.map_config(walk, K::LANES);
    let code = op as u32;
    let n = walk.len() as u64;
    match b {
        Some(b) if !walk.is_contiguous() => {
            let (shape, st) = kernel_layout(op.name(), walk)?;
            let args = (
                code,
                a.ptr_at::<K>(0),
                a.len as u64,
                st[1],
                b.ptr_at::<K>(0),
                b.len as u64,
                st[2],
                y.ptr_at_mut::<K>(0),
                y.len as u64,
                st[0],
                shape,
            );
            // SAFETY: the strides reach only elements of each buffer.
            unsafe { dev.launch(&strided, cfg, args) }
        }
        Some(b) => {
            let (ap, bp) = (a.ptr_at::<K>(walk.operands[1].0), b.ptr_at::<K>(walk.operands[2].0));
            let yp = y.ptr_at_mut::<K>(walk.operands[0].0);
            // SAFETY: `n` contiguous elements of each from these offsets.
            unsafe { dev.launch(&contiguous, cfg, (code, ap, bp, yp, n, 0, 0)) }
        }
        None if walk.is_contiguous() => {
            let (ap, yp) = (a.ptr_at::<K>(walk.operands[1].0), y.ptr_at_mut::<K>(walk.operands[0].0));
            // SAFETY: `n` contiguous elements of `a` and `y` (`b` is not read in modes 1 and 2).
            unsafe { dev.launch(&contiguous, cfg, (code, ap, ap, yp, n, s, mode)) }
        }
        None => Err(Error::bad_shape(op.name(), &walk.dims, "a scalar operand needs contiguous arrays")),
    }
}

/// `y = op(a, b)` to bool over the walk (operands: `y`, `a`, `b`).
pub(crate) fn compare(op: Compare, a: &CudaRef, b: &CudaRef, y: &mut CudaData, walk: &Walk) -> Result<()> {
    if walk.len() == 0 {
        return Ok(());
    }
    with_kernel_type!(a.dtype, |K| launch_compare::<K>(op, a, Some(b), 0, 0, y, walk))
}

pub(crate) fn compare_scalar(
    op: Compare,
    a: &CudaRef,
    s: u64,
    scalar_first: bool,
    y: &mut CudaData,
    walk: &Walk,
) -> Result<()> {
    if walk.len() == 0 {
        return Ok(());
    }
    let mode = if scalar_first { 2 } else { 1 };
    with_kernel_type!(a.dtype, |K| launch_compare::<K>(op, a, None, s, mode, y, walk))
}

fn launch_compare<K: Elem>(
    op: Compare,
    a: &CudaRef,
    b: Option<&CudaRef>,
    s: u64,
    mode: u32,
    y: &mut CudaData,
    walk: &Walk,
) -> Result<()> {
    let dev = a.device().clone();
    let ks = compare::kernels::<K>().ok_or_else(|| unsupported(op.name(), a))?;
    let cfg = dev.map_config(walk, K::LANES);
    let code = op as u32;
    let n = walk.len() as u64;
    match b {
        Some(b) if !walk.is_contiguous() => {
            let (shape, st) = kernel_layout(op.name(), walk)?;
            let args = (
                code,
                a.ptr_at::<K>(0),
                a.len as u64,
                st[1],
                b.ptr_at::<K>(0),
                b.len as u64,
                st[2],
                y.ptr_at_mut::<Bool>(0),
                y.len as u64,
                st[0],
                shape,
            );
            // SAFETY: the strides reach only elements of each buffer.
            unsafe { dev.launch(&ks.strided, cfg, args) }
        }
        Some(b) => {
            let (ap, bp) = (a.ptr_at::<K>(walk.operands[1].0), b.ptr_at::<K>(walk.operands[2].0));
            let yp = y.ptr_at_mut::<Bool>(walk.operands[0].0);
            // SAFETY: `n` contiguous elements of each.
            unsafe { dev.launch(&ks.contiguous, cfg, (code, ap, bp, yp, n, 0, 0)) }
        }
        None if walk.is_contiguous() => {
            let (ap, yp) = (a.ptr_at::<K>(walk.operands[1].0), y.ptr_at_mut::<Bool>(walk.operands[0].0));
            // SAFETY: `n` contiguous elements of `a` and `y`.
            unsafe { dev.launch(&ks.contiguous, cfg, (code, ap, ap, yp, n, s, mode)) }
        }
        None => Err(Error::bad_shape(op.name(), &walk.dims, "a scalar operand needs contiguous arrays")),
    }
}

/// `y = test(x)` to bool over `n` contiguous elements from the given offsets.
pub(crate) fn test(op: Test, x: &CudaRef, x_off: usize, y: &mut CudaData, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    with_kernel_type!(x.dtype, |K| {
        let dev = x.device().clone();
        let ks = compare::kernels::<K>().ok_or_else(|| unsupported(op.name(), x))?;
        let cfg = dev.map_config(&Walk::flat(n), K::LANES);
        let (xp, yp) = (x.ptr_at::<K>(x_off), y.ptr_at_mut::<Bool>(0));
        // SAFETY: `n` contiguous elements of each.
        unsafe { dev.launch(&ks.test, cfg, (op as u32, xp, yp, n as u64)) }
    })
}

/// `y = c ? a : b` over the walk (operands: `y`, `c`, `a`, `b`).
pub(crate) fn select(c: &CudaRef, a: &CudaRef, b: &CudaRef, y: &mut CudaData, walk: &Walk) -> Result<()> {
    if walk.len() == 0 {
        return Ok(());
    }
    with_kernel_type!(a.dtype, |K| {
        let dev = a.device().clone();
        let ks = compare::kernels::<K>().ok_or_else(|| unsupported("where", a))?;
        let (shape, st) = kernel_layout("where", walk)?;
        let cfg = kernels_gpu::ops::map::config(&shape, false, K::LANES, dev.grid_stride_blocks());
        let args = (
            c.ptr_at::<Bool>(0),
            c.len as u64,
            st[1],
            a.ptr_at::<K>(0),
            a.len as u64,
            st[2],
            b.ptr_at::<K>(0),
            b.len as u64,
            st[3],
            y.ptr_at_mut::<K>(0),
            y.len as u64,
            st[0],
            shape,
        );
        // SAFETY: the strides reach only elements of each buffer.
        unsafe { dev.launch(&ks.select, cfg, args) }
    })
}

/// `y = x as D` over `n` contiguous elements (`x` from `x_off`, `y` whole).
pub(crate) fn convert(x: &CudaRef, x_off: usize, y: &mut CudaData, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let dev = x.device().clone();
    with_kernel_type!(x.dtype, |S| {
        with_kernel_type!(y.dtype, |D| {
            let k = cast::kernel::<S, D>().ok_or_else(|| unsupported("cast", x))?;
            let cfg = dev.map_config(&Walk::flat(n), S::LANES);
            // SAFETY: `n` elements of each.
            unsafe { dev.launch(&k, cfg, (x.ptr_at::<S>(x_off), y.ptr_at_mut::<D>(0), n as u64)) }
        })
    })
}

/// `dst[walk] = src[walk]`, bit for bit (operands: `dst`, `src`): a device-to-device copy when
/// both are contiguous, a tiled transpose for a 2-D walk that reads across the output's rows,
/// else the strided copy.
pub(crate) fn copy(src: &CudaRef, dst: &mut CudaData, walk: &Walk) -> Result<()> {
    let n = walk.len();
    if n == 0 {
        return Ok(());
    }
    let dev = src.device().clone();
    let size = src.dtype.size();
    if walk.is_contiguous() {
        let (d, s) = (dst.ptr_at_mut::<u8>(walk.operands[0].0) as u64, src.ptr_at::<u8>(walk.operands[1].0) as u64);
        return dev.copy_raw(d, s, n * size);
    }
    let (dst_s, src_s) = (&walk.operands[0].1, &walk.operands[1].1);
    let transposed = walk.dims.len() == 2 && dst_s == &[walk.dims[1] as isize, 1] && src_s[1] != 1;
    macro_rules! by_size {
        ($($bytes:literal => $e:ty, $strided:ident, $tr:ident;)*) => {
            match size {
                $($bytes => {
                    if transposed {
                        let (rows, cols) = (walk.dims[0] as u64, walk.dims[1] as u64);
                        let cfg = copy::transpose_config::<$e>(rows, cols, dev.grid_stride_blocks());
                        let args = (
                            src.ptr_at::<$e>(0),
                            src.len as u64,
                            walk.operands[1].0 as u64,
                            src_s[0] as i64,
                            src_s[1] as i64,
                            dst.ptr_at_mut::<$e>(walk.operands[0].0),
                            rows,
                            cols,
                        );
                        // SAFETY: the source strides stay inside `src`; `dst` holds the output.
                        unsafe { dev.launch(&copy::$tr, cfg, args) }
                    } else {
                        let (shape, st) = kernel_layout("copy", walk)?;
                        let cfg = kernels_gpu::ops::map::config(&shape, false, 16 / $bytes, dev.grid_stride_blocks());
                        let args = (src.ptr_at::<$e>(0), src.len as u64, st[1], dst.ptr_at_mut::<$e>(0), dst.len as u64, st[0], shape);
                        // SAFETY: the strides reach only elements of each buffer.
                        unsafe { dev.launch(&copy::$strided, cfg, args) }
                    }
                })*
                _ => unreachable!("element sizes are 1, 2, 4 or 8"),
            }
        };
    }
    by_size! {
        1 => u8, copy_strided_b1, transpose_b1;
        2 => kernels_gpu::prelude::F16, copy_strided_b2, transpose_b2;
        4 => u32, copy_strided_b4, transpose_b4;
        8 => i64, copy_strided_b8, transpose_b8;
    }
}
