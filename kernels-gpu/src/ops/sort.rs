//! Sorting and search on ordered integer keys: `sort`, `argsort`, `topk`, `unique` and
//! `searchsorted` all go through these entries.
//!
//! - `sort_key_f32` and friends (per dtype): `keys[i] = key(x[i])`, an `i64` whose order is
//!   NumPy's sort order of the values: NaN after `+inf` (every NaN the same key), `-0.0` equal
//!   to `0.0`; with [`DESCENDING`] the key's bitwise complement (order reversed, NaN first,
//!   as PyTorch's `topk` ranks NaN largest);
//! - `sort_block`: the stable argsort of each row of keys that fits shared memory
//!   (`n ≤` [`SHARED_MAX`]): a bitonic network on (key, index) pairs, the index breaking ties
//!   (so equal keys keep their order: stable), padded to a power of two `p` with `(i64::MAX,
//!   i ≥ n)` sentinels that sort after every element;
//! - `sort_pad`, `sort_merge`, `sort_step`, `sort_unpad`: the same network for longer rows
//!   (`p > SHARED_MAX`), on `rows · p` pairs in global memory: `sort_merge` takes each tile of
//!   [`SHARED_MAX`] pairs into shared memory and runs there every step `(k, j)` with `j <`
//!   [`SHARED_MAX`] of stages `k = lo, 2·lo, ..., hi` (each compare-exchange's direction from its
//!   position in the row, `i & k == 0` ascending, as `sort_step` decides), so one launch does
//!   all stages `k ≤ SHARED_MAX` and one launch ends each later stage; `sort_step` runs the
//!   remaining steps (`j ≥ SHARED_MAX`) one launch each;
//! - `searchsorted`: for each value key, the first position of a sorted row of keys whose key
//!   is `≥` it (`side='left'`) or `>` it ([`RIGHT`]), by binary search.
//!
//! Thread mapping: `sort_key` and `searchsorted` a flat grid-stride loop, one thread per
//! element; `sort_block` one block of [`BLOCK`] threads per row (grid-stride over rows), the
//! row's `p` pairs in shared memory (`p` keys, then `p` `u32` indices), thread `t` taking
//! compare-exchanges `t, t + BLOCK, ...` of each step, with a barrier between steps;
//! `sort_merge` one block of [`BLOCK`] threads per tile of [`SHARED_MAX`] pairs (grid-stride
//! over the `rows · p / SHARED_MAX` tiles; a tile never spans two rows), the tile in shared
//! memory (its keys, then its `i64` indices: 32 KiB), thread `t` taking compare-exchanges
//! `t, t + BLOCK, ...` of the tile's `SHARED_MAX / 2` in each step, with a barrier between
//! steps; `sort_pad`/`sort_unpad` one thread per padded element and `sort_step` one per
//! compare-exchange (`rows · p / 2`), grid-stride. Every step's pairs are disjoint, so no two
//! threads touch one element between barriers (or launches).

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

/// A dtype's sort key: an `i64` in NumPy's order of the values.
pub trait SortKey: Copy {
    fn key(self) -> i64;
}

/// An f64's key: the bits made monotone (negatives complemented), `-0.0` as `0.0`, every NaN
/// just below [`PAD`].
#[inline(always)]
pub fn float_key(v: f64) -> i64 {
    if v.is_nan() {
        return PAD - 1;
    }
    let v = if v == 0.0 { 0.0 } else { v };
    let b = v.to_bits();
    let u = if b >> 63 != 0 { !b } else { b | (1 << 63) };
    (u ^ (1 << 63)) as i64
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

/// The `rows × p` (key, index) pairs of `rows × n` keys, padded (see the module doc).
///
/// # Safety
/// `keys` holds `rows · n` elements, `kbuf` and `ibuf` `rows · p`.
#[inline(always)]
pub unsafe fn sort_pad(keys: *const i64, rows: u64, n: u64, p: u64, kbuf: *mut i64, ibuf: *mut i64) {
    let kg = unsafe { Global::new(keys, (rows * n) as usize) };
    let (kb, ib) = unsafe { (GlobalMut::new(kbuf, (rows * p) as usize), GlobalMut::new(ibuf, (rows * p) as usize)) };
    let (mut e, step) = (global_thread_x(), grid_threads_x());
    while e < (rows * p) as usize {
        let (r, i) = (e as u64 / p, e as u64 % p);
        kb.store(e, if i < n { kg.load((r * n + i) as usize) } else { PAD });
        ib.store(e, i as i64);
        e += step;
    }
}

/// Stages `k = lo, 2·lo, ..., hi` of the bitonic network over every row of `rows × p` pairs,
/// each stage's steps `j < SHARED_MAX` only (from `min(k, SHARED_MAX) / 2` down to 1), each
/// tile of [`SHARED_MAX`] pairs in shared memory (see the module doc). The steps `j ≥
/// SHARED_MAX` of a stage must have run before (`sort_step`); a compare-exchange's direction
/// is that of its position in the row (`i & k == 0`: ascending).
///
/// # Safety
/// `kbuf` and `ibuf` hold `rows · p` elements; `p` is a power of two `≥` [`SHARED_MAX`]; `lo`
/// and `hi` are powers of two with `2 ≤ lo ≤ hi ≤ p`; the launch gives [`MERGE_SHARED`] bytes
/// of shared memory.
#[inline(always)]
pub unsafe fn sort_merge(kbuf: *mut i64, ibuf: *mut i64, rows: u64, p: u64, lo: u64, hi: u64) {
    let total = (rows * p) as usize;
    let (kb, ib) = unsafe { (GlobalMut::new(kbuf, total), GlobalMut::new(ibuf, total)) };
    const T: u64 = SHARED_MAX;
    let sk = Shared::<i64>::new(0, T as usize);
    let si = Shared::<i64>::new(T as usize * 8, T as usize);
    let t = thread_rank() as u64;
    let mut tile = block_idx().x as u64;
    while tile < rows * p / T {
        let base = tile * T;
        // The tile's first position in its row (`T` divides `p`).
        let first = base % p;
        let mut i = t;
        while i < T {
            sk.store(i as usize, kb.load((base + i) as usize));
            si.store(i as usize, ib.load((base + i) as usize));
            i += BLOCK as u64;
        }
        sync_threads();
        let mut k = lo;
        while k <= hi {
            let mut j = if k < T { k / 2 } else { T / 2 };
            while j > 0 {
                let mut q = t;
                while q < T / 2 {
                    let (a, b, _) = pair(q, k, j);
                    let up = (first + a as u64) & k == 0;
                    let (ka, kb2, ia, ib2) = (sk.load(a), sk.load(b), si.load(a), si.load(b));
                    if after(ka, ia as u64, kb2, ib2 as u64) == up {
                        sk.store(a, kb2);
                        sk.store(b, ka);
                        si.store(a, ib2);
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
        while i < T {
            kb.store((base + i) as usize, sk.load(i as usize));
            ib.store((base + i) as usize, si.load(i as usize));
            i += BLOCK as u64;
        }
        // Every thread has read the tile before the next one overwrites it.
        sync_threads();
        tile += grid_dim().x as u64;
    }
}

/// Step `(k, j)` of the bitonic network over every row of `rows × p` pairs.
///
/// # Safety
/// `kbuf` and `ibuf` hold `rows · p` elements; `p` is a power of two, `j < k ≤ p`.
#[inline(always)]
pub unsafe fn sort_step(kbuf: *mut i64, ibuf: *mut i64, rows: u64, p: u64, k: u64, j: u64) {
    let (kb, ib) = unsafe { (GlobalMut::new(kbuf, (rows * p) as usize), GlobalMut::new(ibuf, (rows * p) as usize)) };
    let half = p / 2;
    let (mut e, step) = (global_thread_x(), grid_threads_x());
    while e < (rows * half) as usize {
        let (r, q) = (e as u64 / half, e as u64 % half);
        let (a, b, up) = pair(q, k, j);
        let (a, b) = (r as usize * p as usize + a, r as usize * p as usize + b);
        let (ka, kb2, ia, ib2) = (kb.load(a), kb.load(b), ib.load(a), ib.load(b));
        if after(ka, ia as u64, kb2, ib2 as u64) == up {
            kb.store(a, kb2);
            kb.store(b, ka);
            ib.store(a, ib2);
            ib.store(b, ia);
        }
        e += step;
    }
}

/// `out[r, i] = ibuf[r, i]` for `i < n`: the sorted rows' first `n` indices (the padding
/// sorted last).
///
/// # Safety
/// `ibuf` holds `rows · p` elements and `out` `rows · n`.
#[inline(always)]
pub unsafe fn sort_unpad(ibuf: *const i64, rows: u64, n: u64, p: u64, out: *mut i64) {
    let (ib, og) = unsafe { (Global::new(ibuf, (rows * p) as usize), GlobalMut::new(out, (rows * n) as usize)) };
    let (mut e, step) = (global_thread_x(), grid_threads_x());
    while e < (rows * n) as usize {
        let (r, i) = (e as u64 / n, e as u64 % n);
        og.store(e, ib.load((r * p + i) as usize));
        e += step;
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

/// `sort_merge`'s shared memory: a tile's [`SHARED_MAX`] keys and `i64` indices (32 KiB).
pub const MERGE_SHARED: u32 = SHARED_MAX as u32 * 16;

/// `sort_merge`'s launch: a block per tile of [`SHARED_MAX`] pairs (`rows · p / SHARED_MAX`
/// tiles, at most `max_blocks` blocks), [`MERGE_SHARED`] bytes of shared memory.
pub fn merge_config(rows: u64, p: u64, max_blocks: u32) -> LaunchConfig {
    let blocks = (rows * p / SHARED_MAX).clamp(1, max_blocks.max(1) as u64) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: MERGE_SHARED }
}

pub type KeyArgs<E> = (*const E, u64, u32, *mut i64);

kernels! {
    @entries
    sort_block_i64(keys: *const i64, rows: u64, n: u64, out: *mut i64) => sort_block;
    sort_pad_i64(keys: *const i64, rows: u64, n: u64, p: u64, kbuf: *mut i64, ibuf: *mut i64) => sort_pad;
    sort_merge_i64(kbuf: *mut i64, ibuf: *mut i64, rows: u64, p: u64, lo: u64, hi: u64) => sort_merge;
    sort_step_i64(kbuf: *mut i64, ibuf: *mut i64, rows: u64, p: u64, k: u64, j: u64) => sort_step;
    sort_unpad_i64(ibuf: *const i64, rows: u64, n: u64, p: u64, out: *mut i64) => sort_unpad;
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
            sort_block_i64.info, sort_pad_i64.info, sort_merge_i64.info, sort_step_i64.info, sort_unpad_i64.info,
            searchsorted_i64.info,
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
