//! The stable argsort of rows longer than shared memory (`n >` `sort::SHARED_MAX`): a
//! least-significant-digit radix sort of the `i64` sort keys (`sort.rs`), 8 bits a pass, on
//! (key, index) pairs. Each pass is a stable counting sort, so the whole sort is stable (equal
//! keys keep their index order) and needs no tie-break.
//!
//! - `radix_bits`: the AND and the OR of every key, one pair per block (`partials[2b]`,
//!   `partials[2b + 1]`); the host combines them, and a digit whose bits are the same in
//!   every key (AND equals OR there) is skipped: an f32 key converted through f64 has its low
//!   29 bits constant (5 passes, not 8), small integers need 1 or 2;
//! - `radix_hist`: for each tile of [`TILE`] elements of a row (a tile never spans two rows),
//!   the count of each of the 256 values of the pass's digit, into `hist[row][digit][tile]`;
//! - `cumsum_i64` (`scan.rs`, reused): each `(row, digit)`'s counts scanned over the tiles
//!   (`rows · 256` scan rows of `tiles` counts each, so even one long row spreads over 256
//!   blocks): `scan[row][d][t]` = the elements of digit `d` in tiles `0..=t`;
//! - `radix_scatter`: each tile's pairs written to their places in the row ordered by this
//!   digit: the digit's start in the row (the exclusive scan over digits of the row's totals
//!   `scan[row][d][tiles - 1]`, done by the block) plus its count in the earlier tiles
//!   (`scan[row][d][t - 1]`), plus the element's rank among its tile's elements of that digit.
//!   The first pass takes the indices implicitly (`i`), the last writes only the indices (the
//!   `i64` result).
//!
//! Thread mapping (`radix_hist`, `radix_scatter`): a block of [`BLOCK`] threads per tile
//! (grid-stride over the `rows · tiles` tiles); the tile is taken in rounds of `BLOCK`
//! consecutive elements, thread `t` holding element `round + t`. A warp finds each lane's
//! peers (the lanes whose element has the same digit) with 9 ballots (the lanes in range,
//! then one per digit bit); the lowest peer writes the peers' count to its warp's row of a
//! `WARPS × 256` table in shared memory (one writer per entry: no atomics). After a barrier,
//! thread `t` owns digit `t`: it sums (`radix_hist`) or scans (`radix_scatter`) column `t`
//! over the warps and zeroes it for the next round. An element's rank is then its digit's
//! running position in the tile (carried across rounds by thread `d`), plus the count of the
//! digit in earlier warps of the round, plus its peers in lower lanes: element order is round,
//! then warp, then lane — the tile's order, so the pass is stable. `radix_bits` is a flat
//! grid-stride loop with a block reduction. Two barriers a round; the tables are only written
//! between the barriers that separate them from their readers.
//!
//! Why this shape: no global atomics (CUB's onesweep uses decoupled look-back, which needs
//! ordered cross-block progress the emulator and the interpreter do not model), one kernel
//! reused for the scan, and the byte count of a pass stays close to the pairs' own traffic
//! (the counts are `256 · 8` bytes per tile of 4096 keys: 1/16 of the keys).

use crate::launch::{Dim3, LaunchConfig};
use crate::prelude::*;

/// Threads per block.
pub const BLOCK: u32 = 256;
const WARPS: usize = (BLOCK / WARP_SIZE) as usize;
/// Elements per tile: 16 rounds of [`BLOCK`].
pub const TILE: u64 = 4096;
/// Bits per digit, and the digit values.
pub const DIGIT_BITS: u32 = 8;
pub const DIGITS: usize = 1 << DIGIT_BITS;
// Thread `d` of a block owns digit `d` in the histogram and scatter tables.
const _: () = assert!(BLOCK as usize == DIGITS);
/// `radix_scatter`: the indices are `0..n` (not read).
pub const FIRST: u32 = 1;
/// `radix_scatter`: write only the indices (the keys are not needed again).
pub const LAST: u32 = 2;
/// `radix_hist`'s shared memory: the `WARPS × 256` count table (`u32`).
pub const HIST_SHARED: u32 = (WARPS * DIGITS * 4) as u32;
/// `radix_scatter`'s: the count table, the warps' prefix table, the digits' running positions
/// (`u64`) and the warps' totals of the digit scan (`u64`).
pub const SCATTER_SHARED: u32 = (2 * WARPS * DIGITS * 4 + DIGITS * 8 + WARPS * 8) as u32;

/// Digit `shift / 8` of key `k`, the sign bit flipped so that unsigned digit order is the
/// keys' signed order.
#[inline(always)]
fn digit(k: i64, shift: u32) -> u32 {
    (((k as u64 ^ (1 << 63)) >> shift) & (DIGITS as u64 - 1)) as u32
}

/// The lanes of this warp holding a live element of digit `d` (meaningful on live lanes).
#[inline(always)]
fn peers(d: u32, live: bool) -> u32 {
    let mut m = ballot(live);
    let mut b = 0;
    while b < DIGIT_BITS {
        let set = (d >> b) & 1 != 0;
        let v = ballot(set);
        m &= if set { v } else { !v };
        b += 1;
    }
    m
}

/// The lanes below this one.
#[inline(always)]
fn lanes_below() -> u32 {
    (1u32 << lane_id()) - 1
}

/// The tile's geometry: its row, its index in the row, its first and end positions in the row.
#[inline(always)]
fn tile_of(g: u64, n: u64) -> (u64, u64, u64, u64) {
    let tiles = n.div_ceil(TILE);
    let (row, tile) = (g / tiles, g % tiles);
    let start = tile * TILE;
    (row, tile, start, (start + TILE).min(n))
}

/// `partials[2b]` and `partials[2b + 1]`: the AND and the OR of the keys block `b` visits.
///
/// # Safety
/// `keys` holds `len` keys, `partials` `2 · grid_dim().x`.
#[inline(always)]
pub unsafe fn radix_bits(keys: *const i64, len: u64, partials: *mut i64) {
    let kg = unsafe { Global::new(keys, len as usize) };
    let pg = unsafe { GlobalMut::new(partials, 2 * grid_dim().x as usize) };
    let scratch = Shared::<i64>::new(0, WARPS);
    let (mut and, mut or) = (-1i64, 0i64);
    let (mut i, step) = (global_thread_x(), grid_threads_x());
    while i < len as usize {
        let k = kg.load(i);
        (and, or) = (and & k, or | k);
        i += step;
    }
    let and = block_reduce(and, &scratch, -1, |a, b| a & b);
    let or = block_reduce(or, &scratch, 0, |a, b| a | b);
    if thread_rank() == 0 {
        let b = block_idx().x as usize;
        pg.store(2 * b, and);
        pg.store(2 * b + 1, or);
    }
}

/// `hist[(row · 256 + d) · tiles + t]` = the elements of tile `t` of row `row` whose digit
/// `shift / 8` is `d` (`tiles = ⌈n / TILE⌉`; see the module doc).
///
/// # Safety
/// `keys` holds `rows · n` keys and `hist` `rows · 256 · tiles`; the launch is
/// [`tile_config`] with [`HIST_SHARED`].
#[inline(always)]
pub unsafe fn radix_hist(keys: *const i64, rows: u64, n: u64, shift: u32, hist: *mut i64) {
    let tiles = n.div_ceil(TILE);
    let kg = unsafe { Global::new(keys, (rows * n) as usize) };
    let hg = unsafe { GlobalMut::new(hist, (rows * tiles) as usize * DIGITS) };
    let cnt = Shared::<u32>::new(0, WARPS * DIGITS);
    let t = thread_rank() as usize;
    let warp = t / WARP_SIZE as usize;
    for w in 0..WARPS {
        cnt.store(w * DIGITS + t, 0);
    }
    sync_threads();
    let mut g = block_idx().x as u64;
    while g < rows * tiles {
        let (row, tile, start, end) = tile_of(g, n);
        let mut total = 0u64;
        let mut round = start;
        while round < end {
            let i = round + t as u64;
            let live = i < end;
            let d = if live { digit(kg.load((row * n + i) as usize), shift) } else { 0 };
            let m = peers(d, live);
            if live && m & lanes_below() == 0 {
                cnt.store(warp * DIGITS + d as usize, m.count_ones());
            }
            sync_threads();
            for w in 0..WARPS {
                total += cnt.load(w * DIGITS + t) as u64;
                cnt.store(w * DIGITS + t, 0);
            }
            // Every column is zero again before the next round's counts.
            sync_threads();
            round += BLOCK as u64;
        }
        hg.store(((row * DIGITS as u64 + t as u64) * tiles + tile) as usize, total as i64);
        g += grid_dim().x as u64;
    }
}

/// The inclusive scan of 32 lanes' values.
#[inline(always)]
fn warp_scan(mut v: u64) -> u64 {
    let lane = lane_id();
    let mut d = 1;
    while d < WARP_SIZE {
        let t = v.shfl(Shfl::Up, d);
        if lane >= d {
            v += t;
        }
        d *= 2;
    }
    v
}

/// One stable counting-sort pass on digit `shift / 8`: the pairs `(keys[e], idx[e])` (`idx`
/// not read with [`FIRST`]: `e`'s position in its row) written to `(kout, iout)` at their
/// place in the row ordered by the digit, from `scan` (see the module doc); with [`LAST`] the
/// keys are not written.
///
/// # Safety
/// `keys`, `idx`, `kout` and `iout` hold `rows · n` elements (`idx` unread with `FIRST`,
/// `kout` unwritten with `LAST`), `scan` `rows · 256 · tiles` (this pass's scanned counts);
/// the launch is [`tile_config`] with [`SCATTER_SHARED`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn radix_scatter(
    keys: *const i64,
    idx: *const i64,
    rows: u64,
    n: u64,
    shift: u32,
    scan: *const i64,
    kout: *mut i64,
    iout: *mut i64,
    flags: u32,
) {
    let (first, last) = (flags & FIRST != 0, flags & LAST != 0);
    let total = (rows * n) as usize;
    let tiles = n.div_ceil(TILE);
    let kg = unsafe { Global::new(keys, total) };
    let ig = unsafe { Global::new(idx, if first { 0 } else { total }) };
    let sg = unsafe { Global::new(scan, (rows * tiles) as usize * DIGITS) };
    let ko = unsafe { GlobalMut::new(kout, if last { 0 } else { total }) };
    let io = unsafe { GlobalMut::new(iout, total) };
    let cnt = Shared::<u32>::new(0, WARPS * DIGITS);
    let pre = Shared::<u32>::new(WARPS * DIGITS * 4, WARPS * DIGITS);
    let at = Shared::<u64>::new(2 * WARPS * DIGITS * 4, DIGITS);
    let wsum = Shared::<u64>::new(2 * WARPS * DIGITS * 4 + DIGITS * 8, WARPS);
    let t = thread_rank() as usize;
    let (warp, lane) = (t / WARP_SIZE as usize, lane_id());
    for w in 0..WARPS {
        cnt.store(w * DIGITS + t, 0);
    }
    let mut g = block_idx().x as u64;
    while g < rows * tiles {
        let (row, tile, start, end) = tile_of(g, n);
        // Thread `t`: digit `t`'s first position in this tile, as a position of the buffer.
        let col = ((row * DIGITS as u64 + t as u64) * tiles) as usize;
        let count = sg.load(col + tiles as usize - 1) as u64;
        let before = if tile > 0 { sg.load(col + tile as usize - 1) as u64 } else { 0 };
        let inc = warp_scan(count);
        if lane == WARP_SIZE - 1 {
            wsum.store(warp, inc);
        }
        sync_threads();
        let mut mine = row * n + inc - count + before;
        for w in 0..warp {
            mine += wsum.load(w);
        }
        let mut round = start;
        while round < end {
            let i = round + t as u64;
            let live = i < end;
            let e = (row * n + i) as usize;
            let k = if live { kg.load(e) } else { 0 };
            let d = digit(k, shift) as usize;
            let m = peers(d as u32, live);
            if live && m & lanes_below() == 0 {
                cnt.store(warp * DIGITS + d, m.count_ones());
            }
            sync_threads();
            let mut run = 0u32;
            for w in 0..WARPS {
                let c = cnt.load(w * DIGITS + t);
                cnt.store(w * DIGITS + t, 0);
                pre.store(w * DIGITS + t, run);
                run += c;
            }
            at.store(t, mine);
            mine += run as u64;
            sync_threads();
            if live {
                let pos = at.load(d) + pre.load(warp * DIGITS + d) as u64 + (m & lanes_below()).count_ones() as u64;
                let ix = if first { i as i64 } else { ig.load(e) };
                if !last {
                    ko.store(pos as usize, k);
                }
                io.store(pos as usize, ix);
            }
            round += BLOCK as u64;
        }
        g += grid_dim().x as u64;
    }
}

/// `radix_bits`' launch: a flat grid-stride loop over `len` keys, at most `max_blocks` blocks
/// (the host reads back `2 · grid.x` partials), [`WARPS`] `i64` of shared memory.
pub fn bits_config(len: u64, max_blocks: u32) -> LaunchConfig {
    let blocks = len.div_ceil(BLOCK as u64).clamp(1, max_blocks.max(1) as u64) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: (WARPS * 8) as u32 }
}

/// The launch of `radix_hist` (`shared` = [`HIST_SHARED`]) or `radix_scatter`
/// ([`SCATTER_SHARED`]): a block per tile of `rows` rows of `n` keys, at most `max_blocks`.
pub fn tile_config(rows: u64, n: u64, max_blocks: u32, shared: u32) -> LaunchConfig {
    let blocks = (rows * n.div_ceil(TILE)).clamp(1, max_blocks.max(1) as u64) as u32;
    LaunchConfig { grid: Dim3::x(blocks), block: Dim3::x(BLOCK), shared_bytes: shared }
}

/// The digit shifts a sort of keys whose AND is `and` and OR is `or` needs, lowest first:
/// those whose 8 bits differ between some keys. Empty when every key is the same.
pub fn passes(and: i64, or: i64) -> impl Iterator<Item = u32> {
    let vary = (and ^ or) as u64;
    (0..64 / DIGIT_BITS).map(|d| d * DIGIT_BITS).filter(move |&s| (vary >> s) & (DIGITS as u64 - 1) != 0)
}

kernels! {
    radix_bits_i64(keys: *const i64, len: u64, partials: *mut i64) => radix_bits;
    radix_hist_i64(keys: *const i64, rows: u64, n: u64, shift: u32, hist: *mut i64) => radix_hist;
    radix_scatter_i64(keys: *const i64, idx: *const i64, rows: u64, n: u64, shift: u32, scan: *const i64,
        kout: *mut i64, iout: *mut i64, flags: u32) => radix_scatter;
}
