//! The constructors' launches (`kernels_gpu::ops::fill`): every element of a fresh buffer
//! written on the device (`fill`, `iota`, `eye`), nothing uploaded. Geometry is the map
//! engine's contiguous mapping; `fill` and `eye` pick their entry by element size, with the
//! value's bits zero-extended into a `u64`.

use crate::array::storage::CudaData;
use crate::backend::with_kernel_type;
use crate::error::{Error, Result};
use kernels_gpu::ops::fill;
use kernels_gpu::ops::layout::Shape;
use kernels_gpu::ops::map;

/// The map engine's launch for `n` contiguous elements, `lanes` per thread at a time.
fn config(y: &CudaData, n: usize, lanes: usize) -> kernels_gpu::LaunchConfig {
    map::config(&Shape::new(&[n as u64]), true, lanes, y.device().grid_stride_blocks())
}

/// Every element of `y` set to the value whose bits (little-endian, zero-extended) are `bits`.
pub(crate) fn fill(y: &mut CudaData, bits: u64) -> Result<()> {
    let n = y.len;
    if n == 0 {
        return Ok(());
    }
    let dev = y.device().clone();
    let size = y.dtype.size();
    let cfg = config(y, n, 16 / size);
    let n64 = n as u64;
    // SAFETY (each arm): `y` holds `n` elements of this size.
    match size {
        1 => unsafe { dev.launch(&fill::fill_b1, cfg, (y.ptr_at_mut(0), n64, bits)) },
        2 => unsafe { dev.launch(&fill::fill_b2, cfg, (y.ptr_at_mut(0), n64, bits)) },
        4 => unsafe { dev.launch(&fill::fill_b4, cfg, (y.ptr_at_mut(0), n64, bits)) },
        8 => unsafe { dev.launch(&fill::fill_b8, cfg, (y.ptr_at_mut(0), n64, bits)) },
        _ => Err(Error::Unsupported { op: "fill", dtype: y.dtype, device: crate::Device::Cuda(dev).to_string() }),
    }
}

/// The `n × n` identity into `y` (`n·n` elements), `one_bits` on the diagonal, zero bits
/// elsewhere.
pub(crate) fn eye(y: &mut CudaData, n: usize, one_bits: u64) -> Result<()> {
    if y.len == 0 {
        return Ok(());
    }
    let dev = y.device().clone();
    let cfg = config(y, y.len, 1);
    let n64 = n as u64;
    // SAFETY (each arm): `y` holds `n·n` elements of this size.
    match y.dtype.size() {
        1 => unsafe { dev.launch(&fill::eye_b1, cfg, (y.ptr_at_mut(0), n64, one_bits)) },
        2 => unsafe { dev.launch(&fill::eye_b2, cfg, (y.ptr_at_mut(0), n64, one_bits)) },
        4 => unsafe { dev.launch(&fill::eye_b4, cfg, (y.ptr_at_mut(0), n64, one_bits)) },
        8 => unsafe { dev.launch(&fill::eye_b8, cfg, (y.ptr_at_mut(0), n64, one_bits)) },
        _ => Err(Error::Unsupported { op: "eye", dtype: y.dtype, device: crate::Device::Cuda(dev).to_string() }),
    }
}

/// The parameters of an iota ([`fill::iota_value`]): start, step, den, last, stop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Iota {
    pub start: f64,
    pub step: f64,
    pub den: f64,
    pub last: u64,
    pub stop: f64,
}

/// `y[i] = iota_value(i, ...)` rounded once to `y`'s dtype.
pub(crate) fn iota(op: &'static str, y: &mut CudaData, p: Iota) -> Result<()> {
    let n = y.len;
    if n == 0 {
        return Ok(());
    }
    let dev = y.device().clone();
    let cfg = config(y, n, 1);
    with_kernel_type!(y.dtype, |K| {
        let k = fill::iota_kernel::<K>().ok_or_else(|| Error::Unsupported {
            op,
            dtype: y.dtype,
            device: crate::Device::Cuda(dev.clone()).to_string(),
        })?;
        let args = (y.ptr_at_mut::<K>(0), n as u64, p.start, p.step, p.den, p.last, p.stop);
        // SAFETY: `y` holds `n` elements of `K`.
        unsafe { dev.launch(&k, cfg, args) }
    })
}
