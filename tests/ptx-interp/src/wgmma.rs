//! Hopper's warpgroup MMA, written from the PTX ISA ("Asynchronous Warpgroup Level Matrix
//! Multiply-Accumulate Instructions"), with the protocol it demands checked:
//!
//! - Matrix descriptors ("Matrix Descriptor Format"): start address, leading and stride byte
//!   offsets in bits 0–13, 16–29, 32–45 as `(x & 0x3FFFF) >> 4`, swizzle mode in bits 62–63;
//!   they must agree across the warpgroup. Only the unswizzled K-major layout is implemented:
//!   `((8,m),(T,2k)):((1T,SBO),(1,LBO))` with `T` = 8 16-bit elements, so element `(row, k)` of
//!   A (`M×K`) or B (`N×K`) is at `start + 16·(row % 8) + SBO·(row / 8) + 2·(k % 8) + LBO·(k / 8)`.
//! - Accumulators ("Register Fragments", m64nNk16 D): thread `t` of the warpgroup holds
//!   `d_i` at row `16·(t / 32) + (t % 32) / 4 + 8·((i % 4) / 2)`, column
//!   `8·(i / 4) + 2·(t % 4) + (i % 2)`.
//! - `wgmma.fence` before the first `mma_async` and after the accumulators were last accessed
//!   (here: after every `wait_group`, which is stricter than the ISA's "if accessed");
//!   `mma_async` results reach the registers only when a `wait_group` retires their group (the
//!   registers hold a signalling NaN meanwhile, and a write to them in flight is reported);
//!   shared operands go through the async proxy, so the writes that produced them need a
//!   `fence.proxy.async` by their writer and a barrier before the `mma_async`, and must not be
//!   overwritten until the group is retired; no group may be left in flight at exit.
//!
//! Products of bf16 or f16 values are exact in f64; each element of D is the f64 sum of its 16
//! products and the accumulator, rounded once to f32.

use crate::memory::SharedMem;
use crate::op::{Reg, Wgmma, WgmmaInput};
use half::{bf16, f16};
use std::collections::{HashMap, VecDeque};

/// What an accumulator register holds while its `wgmma` is in flight.
pub const IN_FLIGHT: u32 = 0x7fb0_0bad;

/// One warpgroup's `wgmma` state.
#[derive(Default)]
pub struct Warpgroup {
    fenced: bool,
    /// Shared ranges read by `mma_async`s not yet committed.
    open: Vec<(u64, u64)>,
    /// Committed groups in flight: id and shared ranges, oldest first.
    groups: VecDeque<(u32, Vec<(u64, u64)>)>,
    /// Id of the group being formed.
    next_id: u32,
    /// Accumulator results not yet in the registers: per register, the 128 threads' values
    /// and the group that last wrote them.
    pending: HashMap<Reg, (Vec<u32>, u32)>,
}

/// The registers of the warpgroup's 128 threads, as the block holds them.
pub trait Regs {
    fn get(&self, t: usize, r: Reg) -> u64;
    fn set(&mut self, t: usize, r: Reg, v: u64);
}

/// Descriptor fields: start, leading and stride byte offsets.
fn desc(d: u64) -> Result<(u64, u64, u64), String> {
    let field = |shift: u32| ((d >> shift) & 0x3fff) << 4;
    let swizzle = d >> 62;
    if swizzle != 0 {
        return Err(format!(
            "matrix descriptor {d:#018x} asks for swizzle mode {swizzle}; the interpreter implements the unswizzled layout only"
        ));
    }
    Ok((field(0), field(16), field(32)))
}

impl Warpgroup {
    pub fn reset(&mut self) {
        *self = Warpgroup::default();
    }

    pub fn fence(&mut self) {
        self.fenced = true;
    }

    pub fn commit(&mut self) {
        let ranges = std::mem::take(&mut self.open);
        self.groups.push_back((self.next_id, ranges));
        self.next_id += 1;
    }

    /// Retires all but the `n` newest groups; their results reach the registers.
    pub fn wait(&mut self, n: u32, shared: &mut SharedMem, regs: &mut dyn Regs) -> Result<(), String> {
        while self.groups.len() > n as usize {
            let (id, ranges) = self.groups.pop_front().expect("a group to retire");
            for (a, b) in ranges {
                shared.mark_inflight(a, b, -1);
            }
            let done: Vec<Reg> = self.pending.iter().filter(|(_, (_, g))| *g == id).map(|(r, _)| *r).collect();
            for r in done {
                let (vals, _) = self.pending.remove(&r).expect("pending register");
                for (t, v) in vals.into_iter().enumerate() {
                    if regs.get(t, r) as u32 != IN_FLIGHT {
                        return Err(format!(
                            "thread {t} of the warpgroup wrote accumulator register #{r} while a wgmma.mma_async \
                             that writes it was in flight"
                        ));
                    }
                    regs.set(t, r, v as u64);
                }
            }
        }
        self.fenced = false;
        Ok(())
    }

    /// At exit: nothing may still be in flight.
    pub fn check_idle(&self) -> Result<(), String> {
        if !self.open.is_empty() || !self.groups.is_empty() || !self.pending.is_empty() {
            return Err(format!(
                "the warpgroup exited with wgmma work in flight ({} uncommitted operations' operands, {} groups not \
                 waited for): a wgmma.commit_group and wgmma.wait_group 0 are missing",
                self.open.len(),
                self.groups.len()
            ));
        }
        Ok(())
    }

    /// One `mma_async` for the 128 threads (`descs[t] = (a, b, scale_d)`).
    pub fn mma_async(
        &mut self,
        op: &Wgmma,
        descs: &[(u64, u64, bool)],
        shared: &mut SharedMem,
        epoch: u32,
        fences: &[u32],
        regs: &mut dyn Regs,
    ) -> Result<(), String> {
        if !self.fenced {
            return Err(
                "wgmma.mma_async without a wgmma.fence since the warpgroup last touched its accumulators (or before \
                 the first one)"
                    .into(),
            );
        }
        let first = descs[0];
        if let Some(t) = descs.iter().position(|d| *d != first) {
            return Err(format!(
                "the threads of the warpgroup disagree on the descriptors or scale-d: thread 0 has {:#x}, {:#x}, {}, \
                 thread {t} has {:#x}, {:#x}, {}",
                first.0, first.1, first.2, descs[t].0, descs[t].1, descs[t].2
            ));
        }
        if op.trans_a || op.trans_b {
            return Err("transposed (MN-major) wgmma operands are not implemented".into());
        }
        let (a_desc, b_desc, accumulate) = first;
        let n = op.n as usize;
        let elem = |bits: u16| match op.input {
            WgmmaInput::Bf16 => bf16::from_bits(bits).to_f64(),
            WgmmaInput::F16 => f16::from_bits(bits).to_f64(),
        };
        // Rows of 8 K-consecutive elements (16 bytes) of a K-major operand.
        let read = |d: u64, rows: usize, neg: bool, ranges: &mut Vec<(u64, u64)>| -> Result<Vec<[f64; 16]>, String> {
            let (start, lbo, sbo) = desc(d)?;
            let mut out = vec![[0f64; 16]; rows];
            for (row, o) in out.iter_mut().enumerate() {
                for kc in 0..2u64 {
                    let at = start + 16 * (row as u64 % 8) + sbo * (row as u64 / 8) + lbo * kc;
                    let bytes = shared.async_read(at, 16, epoch, fences)?;
                    for e in 0..8 {
                        let v = elem(u16::from_le_bytes([bytes[2 * e], bytes[2 * e + 1]]));
                        o[8 * kc as usize + e] = if neg { -v } else { v };
                    }
                    ranges.push((at, 16));
                }
            }
            Ok(out)
        };
        let mut ranges = Vec::new();
        let a = read(a_desc, 64, op.neg_a, &mut ranges)?;
        let b = read(b_desc, n, op.neg_b, &mut ranges)?;
        for &(at, len) in &ranges {
            shared.mark_inflight(at, len, 1);
        }
        self.open.extend(ranges);
        let id = self.next_id;
        for (i, &r) in op.d.iter().enumerate() {
            let entry = self.pending.remove(&r);
            let mut vals = vec![0u32; 128];
            for (t, v) in vals.iter_mut().enumerate() {
                let acc = if !accumulate {
                    0.0
                } else {
                    let bits = match &entry {
                        Some((p, _)) => p[t],
                        None => regs.get(t, r) as u32,
                    };
                    f32::from_bits(bits) as f64
                };
                let row = 16 * (t / 32) + (t % 32) / 4 + 8 * ((i % 4) / 2);
                let col = 8 * (i / 4) + 2 * (t % 4) + i % 2;
                let sum = (0..16).fold(acc, |s, k| s + a[row][k] * b[col][k]);
                *v = (sum as f32).to_bits();
                regs.set(t, r, IN_FLIGHT as u64);
            }
            self.pending.insert(r, (vals, id));
        }
        Ok(())
    }
}
