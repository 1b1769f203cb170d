//! Constructors made on the device, so that `full`, `zeros`, `ones` (and their `_like`),
//! `arange`, `linspace` and `eye` upload nothing:
//!
//! - `fill_b1` .. `fill_b8`: `y[i] = value` for every element, by element size (the value's
//!   bits, zero-extended into a `u64`: any dtype);
//! - `iota_f32`, `iota_i64`, ...: `y[i] = start + i·step`, each element computed on its own
//!   (never by accumulating `step`) as one fused multiply-add in f64 and rounded once to the
//!   dtype ([`iota_value`]; the CPU computes the same function), with `y[last] = stop` exactly
//!   (the endpoint of NumPy's `linspace(endpoint=True)`; `arange` passes `last = 0` and
//!   `stop = start`, NumPy's first element) and NumPy's `linspace` fallback `(i / den)·delta +
//!   start` when `delta / den` underflows to zero;
//! - `eye_b1` .. `eye_b8`: the `n × n` identity, by element size: `y[k]` is `one` where
//!   `k` is a multiple of `n + 1` (the diagonal of a row-major square), all-zero bits elsewhere
//!   (zero in every dtype).
//!
//! Thread mapping: a 1-D grid-stride loop over the contiguous output, launched as the map
//! engine's contiguous mapping (`map::config`, [`map::BLOCK`] threads per block). `fill` gives
//! thread `g` the 16-byte groups `g, g + S, ...` (`S` threads in the grid; one vector store
//! each, the output being a fresh, 16-byte-aligned allocation), then the elements past the last
//! whole group one per thread; `iota` and `eye` give thread `g` the elements `g, g + S, ...`,
//! so consecutive threads store consecutive elements.

use crate::prelude::*;

pub type FillArgs<E> = (*mut E, u64, u64);
pub type IotaArgs<E> = (*mut E, u64, f64, f64, f64, u64, f64);
pub type EyeArgs<E> = (*mut E, u64, u64);

/// `E` from the low bytes of `bits` (little-endian, as every CUDA target and the emulator).
#[inline(always)]
fn from_bits<E: Copy>(bits: u64) -> E {
    // SAFETY: the entries instantiate this with 1-, 2-, 4- and 8-byte plain types, whose every
    // bit pattern is a value; `transmute_copy` reads the first `size_of::<E>()` bytes.
    unsafe { core::mem::transmute_copy::<u64, E>(&bits) }
}

/// # Safety
/// `y` holds `n` elements.
#[inline(always)]
pub unsafe fn fill<E: Elem>(y: *mut E, n: u64, bits: u64) {
    let n = n as usize;
    let yg = unsafe { GlobalMut::new(y, n) };
    let value: E = from_bits(bits);
    let (first, stride) = (global_thread_x(), grid_threads_x());
    let mut done = 0;
    if yg.is_aligned16() {
        let mut group = E::Lanes::default();
        for k in 0..E::LANES {
            group.as_mut()[k] = value;
        }
        let mut p = first;
        while p < n / E::LANES {
            yg.store_lanes(p, group);
            p += stride;
        }
        done = n / E::LANES * E::LANES;
    }
    let mut i = done + first;
    while i < n {
        yg.store(i, value);
        i += stride;
    }
}

/// Element `i` of an iota: `stop` at `last`, else `x·step + start` as one fused multiply-add,
/// with `x = i` (`den == 1`) or `i / den` (NumPy's `linspace` when its step underflows: then
/// `step` is the whole `delta`).
#[inline(always)]
pub fn iota_value(i: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) -> f64 {
    if i == last {
        return stop;
    }
    let x = if den == 1.0 { i as f64 } else { i as f64 / den };
    Float::mul_add(x, step, start)
}

/// # Safety
/// `y` holds `n` elements.
#[inline(always)]
pub unsafe fn iota<E: Elem>(y: *mut E, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) {
    let yg = unsafe { GlobalMut::new(y, n as usize) };
    let (mut i, stride) = (global_thread_x() as u64, grid_threads_x() as u64);
    while i < n {
        yg.store(i as usize, E::from_double(iota_value(i, start, step, den, last, stop)));
        i += stride;
    }
}

/// # Safety
/// `y` holds `n·n` elements.
#[inline(always)]
pub unsafe fn eye<E: Elem>(y: *mut E, n: u64, one: u64) {
    let total = n * n;
    let yg = unsafe { GlobalMut::new(y, total as usize) };
    let (one, zero): (E, E) = (from_bits(one), from_bits(0));
    let (mut k, stride) = (global_thread_x() as u64, grid_threads_x() as u64);
    while k < total {
        yg.store(k as usize, if k % (n + 1) == 0 { one } else { zero });
        k += stride;
    }
}

kernels! {
    fill_b1(y: *mut u8, n: u64, bits: u64) => fill::<u8>;
    fill_b2(y: *mut F16, n: u64, bits: u64) => fill::<F16>;
    fill_b4(y: *mut u32, n: u64, bits: u64) => fill::<u32>;
    fill_b8(y: *mut i64, n: u64, bits: u64) => fill::<i64>;
    eye_b1(y: *mut u8, n: u64, one: u64) => eye::<u8>;
    eye_b2(y: *mut F16, n: u64, one: u64) => eye::<F16>;
    eye_b4(y: *mut u32, n: u64, one: u64) => eye::<u32>;
    eye_b8(y: *mut i64, n: u64, one: u64) => eye::<i64>;
    iota_f32(y: *mut f32, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) => iota::<f32>;
    iota_f64(y: *mut f64, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) => iota::<f64>;
    iota_f16(y: *mut F16, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) => iota::<F16>;
    iota_bf16(y: *mut BF16, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) => iota::<BF16>;
    iota_i32(y: *mut i32, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) => iota::<i32>;
    iota_i64(y: *mut i64, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) => iota::<i64>;
    iota_u8(y: *mut u8, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) => iota::<u8>;
    iota_u32(y: *mut u32, n: u64, start: f64, step: f64, den: f64, last: u64, stop: f64) => iota::<u32>;
}

/// The iota entry of `E`, or `None` for bool (host only).
#[cfg(not(target_arch = "nvptx64"))]
pub fn iota_kernel<E: Elem>() -> Option<crate::Kernel<IotaArgs<E>>> {
    let all: &[&dyn core::any::Any] =
        &[&iota_f32, &iota_f64, &iota_f16, &iota_bf16, &iota_i32, &iota_i64, &iota_u8, &iota_u32];
    all.iter().find_map(|k| k.downcast_ref()).copied()
}
