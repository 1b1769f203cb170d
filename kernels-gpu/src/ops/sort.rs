//! Sorting and search on ordered integer keys: `sort`, `argsort`, `topk`, `unique` and
//! `searchsorted` all go through these entries.
//!
//! - `sort_key_f32` and friends (per dtype): `keys[i] = key(x[i])`, an `i64` whose order is
//!   NumPy's sort order of the values: NaN after `+inf` (every NaN the same key), `-0.0` equal
//!   to `0.0` (see [`float_key`]); with [`DESCENDING`] the key's bitwise complement (order
//!   reversed, NaN first, as PyTorch's `topk` ranks NaN largest);
//! - `sort_block`: the stable argsort of each row of keys that fits shared memory
//!   (`n ≤` [`SHARED_MAX`]): a bitonic network on (key, index) pairs, the index breaking ties
//!   (so equal keys keep their order: stable), padded to a power of two `p` with `(i64::MAX,
//!   i ≥ n)` sentinels that sort after every element;
//! - longer rows: the LSD radix sort of `radix.rs` (same keys, same stable order);
//! - `searchsorted`: for each value key, the first position of a sorted row of keys whose key
//!   is `≥` it (`side='left'`) or `>` it ([`RIGHT`]), by binary search.
//!
//! Thread mapping: `sort_key` and `searchsorted` a flat grid-stride loop, one thread per
//! element; `sort_block` one block of [`BLOCK`] threads per row (grid-stride over rows), the
//! row's `p` pairs in shared memory (`p` keys, then `p` `u32` indices), thread `t` taking
//! compare-exchanges `t, t + BLOCK, ...` of each step, with a barrier between steps. Every
//! step's pairs are disjoint, so no two threads touch one element between barriers.

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Threads per block of `sort_block`.
pub const BLOCK: u32 = 256;
/// The longest row `sort_block` takes: `p = 2048` pairs are 24 KiB of shared memory.
pub const SHARED_MAX: u64 = 2048;
/// `sort_key`: the complement of the key (descending order, NaN first).
pub const DESCENDING: u32 = 1;
/// `searchsorted`: the first position whose key is greater (NumPy's `side='right'`).
pub const RIGHT: u32 = 1;
/// The sentinel key that pads a row (every element's key is smaller, or equal with a smaller
/// index).
const PAD: i64 = i64::MAX;
/// Every NaN's key: the quiet NaN's magnitude bits, above every other value's key and below
/// [`PAD`], with the low bits zero like an f32's key.
pub const NAN_KEY: i64 = 0x7FF8 << 48;

/// A dtype's sort key: an `i64` in NumPy's order of the values.
pub trait SortKey: Copy {
    fn key(self) -> i64;
}

/// An f64's key: its sign-magnitude bits read as a two's-complement integer (`-m` for a
/// negative value whose bits without the sign are `m`), so `-0.0` and `0.0` both key 0 and a
/// value's zero low mantissa bits stay zero in its key (an f32's 29, an f16's 42: digits the
/// radix sort skips); every NaN keys [`NAN_KEY`], above `+inf`'s `0x7FF0 << 48`.
#[inline(always)]
pub fn float_key(v: f64) -> i64 {
    if v.is_nan() {
        return NAN_KEY;
    }
    let m = (v.to_bits() & !(1 << 63)) as i64;
    if v.is_sign_negative() { -m } else { m }
}

macro_rules! float_keys {
    ($($t:ty),*) => { $(impl SortKey for $t {
        #[inline(always)]
        fn key(self) -> i64 { float_key(self.to_f32() as f64) }
    })* };
}
float_keys!(f32, F16, BF16);

impl SortKey for f64 {
    #[inline(always)]
    fn key(self) -> i64 {
        float_key(self)
    }
}

macro_rules! int_keys {
    ($($t:ty),*) => { $(impl SortKey for $t {
        #[inline(always)]
        fn key(self) -> i64 { self as i64 }
    })* };
}
int_keys!(i32, i64, u8, u32);

impl SortKey for Bool {
    #[inline(always)]
    fn key(self) -> i64 {
        (self.0 != 0) as i64
    }
}

/// The key of `x` in the order `flags` asks for.
#[inline(always)]
pub fn key_of<E: SortKey>(x: E, flags: u32) -> i64 {
    let k = x.key();
    if flags & DESCENDING != 0 { !k } else { k }
}

/// Whether pair `(ka, ia)` sorts after `(kb, ib)`.
#[inline(always)]
fn after(ka: i64, ia: u64, kb: i64, ib: u64) -> bool {
    ka > kb || (ka == kb && ia > ib)
}

/// Compare-exchange `p` of step `(k, j)` of a bitonic network: the two positions it orders
/// (`i < l`), and whether ascending.
#[inline(always)]
fn pair(p: u64, k: u64, j: u64) -> (usize, usize, bool) {
    let i = 2 * j * (p / j) + p % j;
    (i as usize, (i + j) as usize, i & k == 0)
}

/// The smallest power of two `≥ n` (at least 1).
pub const fn padded(n: u64) -> u64 {
    n.next_power_of_two()
}

/// `keys[i] = key(x[i])` for `i < n`.
///
/// # Safety
/// `x` and `keys` hold `n` elements.
#[inline(always)]
pub unsafe fn sort_key<E: SortKey>(x: *const E, n: u64, flags: u32, keys: *mut i64) {
    let (xg, kg) = unsafe { (Global::new(x, n as usize), GlobalMut::new(keys, n as usize)) };
    let (mut i, step) = (global_thread_x(), grid_threads_x());
    while i < n as usize {
        kg.store(i, key_of(xg.load(i), flags));
        i += step;
    }
}

/// `out[r, :]` = the stable argsort of `keys[r, :]` for each of `rows` rows of `n ≤`
/// [`SHARED_MAX`] keys, in shared memory (see the module doc).
///
/// # Safety
/// `keys` and `out` hold `rows · n` elements; the launch gives `p · 12` bytes of shared memory.
#[inline(always)]
pub unsafe fn sort_block(keys: *const i64, rows: u64, n: u64, out: *mut i64) {
    let total = (rows * n) as usize;
    let (kg, og) = unsafe { (Global::new(keys, total), GlobalMut::new(out, total)) };
    let p = padded(n);
    let sk = Shared::<i64>::new(0, p as usize);
    let si = Shared::<u32>::new(p as usize * 8, p as usize);
    let t = thread_rank() as u64;
    let mut row = block_idx().x as u64;
    while row < rows {
        let base = (row * n) as usize;
        let mut i = t;
        while i < p {
            sk.store(i as usize, if i < n { kg.load(base + i as usize) } else { PAD });
            si.store(i as usize, i as u32);
            i += BLOCK as u64;
        }
        sync_threads();
        let mut k = 2;
        while k <= p {
            let mut j = k / 2;
            while j > 0 {
                let mut q = t;
                while q < p / 2 {
                    let (a, b, up) = pair(q, k, j);
                    let (ka, kb, ia, ib) = (sk.load(a), sk.load(b), si.load(a), si.load(b));
                    if after(ka, ia as u64, kb, ib as u64) == up {
                        sk.store(a, kb);
                        sk.store(b, ka);
                        si.store(a, ib);
                        si.store(b, ia);
                    }
                    q += BLOCK as u64;
                }
                sync_threads();
                j /= 2;
            }
            k *= 2;
        }
        let mut i = t;
        while i < n {
            og.store(base + i as usize, si.load(i as usize) as i64);
            i += BLOCK as u64;
        }
        // Every thread has read the row before the next one overwrites it.
        sync_threads();
        row += grid_dim().x as u64;
    }
}

/// `out[i]` = the number of the `n` sorted keys `sorted` that are `< values[i]` (or `≤` with
/// [`RIGHT`]), for `i < m`.
///
/// # Safety
/// `sorted` holds `n` keys, `values` and `out` `m` elements.
#[inline(always)]
pub unsafe fn searchsorted(sorted: *const i64, n: u64, values: *const i64, m: u64, flags: u32, out: *mut i64) {
    let (sg, vg, og) =
        unsafe { (Global::new(sorted, n as usize), Global::new(values, m as usize), GlobalMut::new(out, m as usize)) };
    let right = flags & RIGHT != 0;
    let (mut i, step) = (global_thread_x(), grid_threads_x());
    while i < m as usize {
        let v = vg.load(i);
        let (mut lo, mut hi) = (0u64, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let s = sg.load(mid as usize);
            if s < v || (right && s == v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        og.store(i, lo as i64);
        i += step;
    }
}

/// A flat grid-stride launch over `len` elements, at most `max_blocks` blocks.
pub fn flat_config(len: u64, max_blocks: u32) -> LaunchConfig {
    let blocks = len.div_ceil(BLOCK as u64).clamp(1, max_blocks.max(1) as u64) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: 0 }
}

/// `sort_block`'s launch: a block per row (at most `max_blocks`), `p · 12` bytes of shared
/// memory.
pub fn block_config(rows: u64, n: u64, max_blocks: u32) -> LaunchConfig {
    let blocks = rows.clamp(1, max_blocks.max(1) as u64) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: (padded(n) * 12) as u32 }
}

pub type KeyArgs<E> = (*const E, u64, u32, *mut i64);

kernels! {
    @entries
    sort_block_i64(keys: *const i64, rows: u64, n: u64, out: *mut i64) => sort_block;
    searchsorted_i64(sorted: *const i64, n: u64, values: *const i64, m: u64, flags: u32, out: *mut i64) => searchsorted;
}

macro_rules! key_entries {
    ($($t:ty: $name:ident;)*) => {
        kernels! {
            @entries
            $( $name(x: *const $t, n: u64, flags: u32, keys: *mut i64) => sort_key::<$t>; )*
        }

        /// The entries of this family, for the PTX cross-check.
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[crate::KernelInfo] = &[
            sort_block_i64.info, searchsorted_i64.info,
            $($name.info,)*
        ];

        /// The key entry for element type `E` (host only).
        #[cfg(not(target_arch = "nvptx64"))]
        pub fn key_kernel<E: SortKey + 'static>() -> crate::Kernel<KeyArgs<E>> {
            let all: &[&dyn core::any::Any] = &[$(&$name),*];
            all.iter().find_map(|k| k.downcast_ref()).copied().expect("every dtype has a key entry")
        }
    };
}

key_entries! {
    f32: sort_key_f32;
    f64: sort_key_f64;
    F16: sort_key_f16;
    BF16: sort_key_bf16;
    i32: sort_key_i32;
    i64: sort_key_i64;
    u8: sort_key_u8;
    u32: sort_key_u32;
    Bool: sort_key_bool;
}
