//! `wgmma.mma_async` on the emulator, one warp at a time: each warp of a warpgroup owns 16 rows
//! of D, so its 32 lanes' accumulators are computed from A's rows `16·w ..+16` and all of B,
//! read from shared memory through the descriptors (PTX ISA, "Matrix Descriptor Format" and
//! the K-major canonical layouts; see `prelude/wgmma.rs` for the fragment layout).
//!
//! The emulator runs the instruction when the warp issues it, not asynchronously. What it
//! checks of the protocol: every lane agrees on the operands; a thread fenced before its first
//! `wgmma` since it last waited; it waits with nothing uncommitted; it exits with nothing in
//! flight (`emu/thread.rs`); and no thread writes shared memory that a `wgmma` still in flight
//! reads (`PendingReads`): a group's reads end when its warp waits past it
//! (`wgmma.wait_group N` retires all but the N newest groups), so a write needs the writer's
//! own wait and, for other warps' reads, a barrier after theirs. Threads resume in a
//! random order, so a missing barrier shows up as some thread writing early. Reading the
//! accumulators before the wait is ptxas's to handle: it injects a wait, which
//! `tests/ptx.rs` rejects.
//!
//! Only the unswizzled layout is emulated; a descriptor asking for a swizzle, a base offset or
//! with reserved bits set is an error rather than a guess.

use crate::prelude::{BF16, F16, WGMMA_N, WgmmaKind};
use std::format;
use std::string::String;
use std::vec::Vec;

/// Accumulators of one lane, as f32 bits.
pub(crate) type AccBits = [u32; WGMMA_N / 2];

/// A decoded K-major, unswizzled descriptor: byte addresses in the shared window.
#[derive(Debug)]
struct Desc {
    start: usize,
    lbo: usize,
    sbo: usize,
}

fn decode(d: u64, which: &str) -> Result<Desc, String> {
    let swizzle = d >> 62;
    let base_offset = (d >> 49) & 7;
    // Bits 14-15, 30-31, 46-48 and 52-61 are reserved.
    let reserved = d & 0x3ff1_c000_c000_c000;
    if swizzle != 0 || base_offset != 0 || reserved != 0 {
        return Err(format!(
            "{which} descriptor {d:#018x}: swizzle mode {swizzle}, base offset {base_offset}, reserved bits \
             {reserved:#x}; the emulator implements only the unswizzled layout (all three 0)"
        ));
    }
    let field = |shift: u32| (((d >> shift) & 0x3fff) << 4) as usize;
    Ok(Desc { start: field(0), lbo: field(16), sbo: field(32) })
}

/// Where the 16-byte row of core matrix (`row / 8`, `chunk`) holding (`row`, `8·chunk ..+8`)
/// of a K-major operand starts: that core matrix's row `row % 8`.
fn row_at(d: &Desc, row: usize, chunk: usize) -> usize {
    d.start + (row / 8) * d.sbo + chunk * d.lbo + (row % 8) * 16
}

/// Element (`row`, `k`) of a K-major operand: element `k % 8` of its 16-byte row.
fn element(shared: &[u8], kind: WgmmaKind, d: &Desc, which: &str, row: usize, k: usize) -> Result<f32, String> {
    let at = row_at(d, row, k / 8) + (k % 8) * 2;
    let Some(bytes) = shared.get(at..at + 2) else {
        return Err(format!(
            "{which}[{row}][{k}] is at shared byte {at}, outside the launch's {} bytes ({d:?})",
            shared.len()
        ));
    };
    let bits = u16::from_le_bytes([bytes[0], bytes[1]]);
    Ok(match kind {
        WgmmaKind::Bf16 => BF16(bits).to_f32(),
        WgmmaKind::F16 => F16(bits).to_f32(),
    })
}

/// The shared-memory offsets of the 16-byte rows that warp `group_warp` (0..4) of a warpgroup
/// reads for one `m64n128k16` (its 16 rows of A, all of B); `evaluate` has checked them.
pub(crate) fn operand_rows((a_desc, b_desc): (u64, u64), group_warp: usize) -> impl Iterator<Item = usize> {
    let (da, db) = (decode(a_desc, "A").expect("checked"), decode(b_desc, "B").expect("checked"));
    let a = (16 * group_warp..16 * group_warp + 16).flat_map(move |r| [row_at(&da, r, 0), row_at(&da, r, 1)]);
    a.chain((0..WGMMA_N).flat_map(move |n| [row_at(&db, n, 0), row_at(&db, n, 1)]))
}

/// `D += A·B` for the 16 rows warp `group_warp` (0..4) of its warpgroup owns; `accs` are
/// the lanes' accumulators. Products accumulate in K order with f32 FMAs (PTX leaves the
/// tensor core's order unspecified, so tests use tolerances).
pub(crate) fn evaluate(
    kind: WgmmaKind,
    (a_desc, b_desc): (u64, u64),
    group_warp: usize,
    accs: &[AccBits; 32],
    shared: &[u8],
) -> Result<[AccBits; 32], String> {
    const K: usize = 16;
    let (da, db) = (decode(a_desc, "A")?, decode(b_desc, "B")?);
    let mut a = [[0f32; K]; 16];
    for (r, row) in a.iter_mut().enumerate() {
        for (k, v) in row.iter_mut().enumerate() {
            *v = element(shared, kind, &da, "A", 16 * group_warp + r, k)?;
        }
    }
    let mut b = [[0f32; K]; WGMMA_N];
    for (n, col) in b.iter_mut().enumerate() {
        for (k, v) in col.iter_mut().enumerate() {
            *v = element(shared, kind, &db, "B", n, k)?;
        }
    }
    let mut out = *accs;
    for (lane, acc) in out.iter_mut().enumerate() {
        for (i, bits) in acc.iter_mut().enumerate() {
            let row = lane / 4 + 8 * ((i % 4) / 2);
            let col = 8 * (i / 4) + 2 * (lane % 4) + i % 2;
            let mut d = f32::from_bits(*bits);
            for k in 0..K {
                d = a[row][k].mul_add(b[col][k], d);
            }
            *bits = d.to_bits();
        }
    }
    Ok(out)
}

/// The shared-memory reads of a block's `wgmma`s whose groups have not been waited for.
#[derive(Default)]
pub(crate) struct PendingReads {
    /// Per 16-byte granule of shared memory, how many pending reads cover it (empty until the
    /// block's first `wgmma`): the fast check on every shared store.
    count: Vec<u16>,
    /// Each pending read: the warp, its group (how many groups the warp had committed before
    /// it), and the granule.
    reads: Vec<(u32, u32, u32)>,
    /// Per warp and lane, the number of groups the lane has waited past (groups below it are
    /// done as far as that lane knows).
    waited: Vec<[u32; 32]>,
}

impl PendingReads {
    /// Records warp `warp`'s reads for its group `group` of the 16-byte rows at `rows`.
    pub(crate) fn add(&mut self, shared_bytes: usize, warp: u32, group: u32, rows: impl Iterator<Item = usize>) {
        if self.count.is_empty() {
            self.count.resize(shared_bytes.div_ceil(16), 0);
        }
        for at in rows {
            self.count[at / 16] += 1;
            self.reads.push((warp, group, (at / 16) as u32));
        }
    }

    /// Lane `lane` of warp `warp` has waited past every group below `below`. On a GPU the lanes
    /// of a warp wait together (`.aligned`); here they run one at a time, so a group's reads end
    /// when every lane of its warp has waited past it. Counting lanes, not waits: a lane that
    /// waits twice (`wait_group 1` then `0`) must not stand in for another.
    pub(crate) fn waited(&mut self, warp: u32, lane: u32, below: u32) {
        let warp_ix = warp as usize;
        if self.waited.len() <= warp_ix {
            self.waited.resize(warp_ix + 1, [0; 32]);
        }
        let lanes = &mut self.waited[warp_ix];
        let before = lanes.iter().copied().min().unwrap_or(0);
        lanes[lane as usize] = lanes[lane as usize].max(below);
        let after = lanes.iter().copied().min().unwrap_or(0);
        if after > before {
            self.retire(warp, after);
        }
    }

    /// Ends warp `warp`'s reads for its groups numbered below `before`.
    fn retire(&mut self, warp: u32, before: u32) {
        let count = &mut self.count;
        self.reads.retain(|&(w, group, g)| {
            let done = w == warp && group < before;
            if done {
                count[g as usize] -= 1;
            }
            !done
        });
    }

    /// The warps (ascending) with reads pending on any of bytes `[off, off + bytes)`, as lane
    /// `lane` of warp `warp`, about to write them, sees it: groups of its own warp that it has
    /// waited past are done (its warp's other lanes waited with it on a GPU).
    pub(crate) fn readers(&self, off: usize, bytes: usize, warp: u32, lane: u32) -> Vec<u32> {
        let granules = off / 16..(off + bytes).div_ceil(16);
        if self.count.get(granules.clone()).is_none_or(|c| c.iter().all(|&c| c == 0)) {
            return Vec::new();
        }
        let own = self.waited.get(warp as usize).map_or(0, |w| w[lane as usize]);
        let pending = |r: &&(u32, u32, u32)| granules.contains(&(r.2 as usize)) && !(r.0 == warp && r.1 < own);
        let mut warps: Vec<u32> = self.reads.iter().filter(pending).map(|r| r.0).collect();
        warps.sort_unstable();
        warps.dedup();
        warps
    }
}
