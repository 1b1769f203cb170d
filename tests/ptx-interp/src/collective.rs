//! The collectives of a block: `shfl.sync` and `vote.sync` once every lane of their member
//! mask waits at them, `mma.sync` once the whole warp does, the `wgmma` instructions once all
//! 128 threads of the warpgroup do, and the barrier once every thread that has not exited waits
//! at the same `bar.sync`.

use crate::block::Block;
use crate::error::InterpError;
use crate::op::*;
use crate::parse::Kernel;
use crate::warp::{FULL, Lane, WARP, Warp, lanes};
use crate::wgmma::Regs;

struct GroupRegs<'w>(&'w mut [Warp]);

impl Regs for GroupRegs<'_> {
    fn get(&self, t: usize, r: Reg) -> u64 {
        self.0[t / WARP].regs[(r as usize) << 5 | (t % WARP)]
    }
    fn set(&mut self, t: usize, r: Reg, v: u64) {
        self.0[t / WARP].regs[(r as usize) << 5 | (t % WARP)] = v;
    }
}

impl<'a> Block<'a> {
    /// The member mask of a `shfl.sync`/`vote.sync`, the same on every participating lane,
    /// naming every participant and only lanes that exist.
    pub(crate) fn member_mask(&self, w: usize, pc: u32, part: u32) -> Result<u32, InterpError> {
        let warp = &self.warps[w];
        let src = match &self.env.kernel.code[pc as usize].op {
            Op::Shfl { mask, .. } | Op::Vote { mask, .. } => *mask,
            _ => unreachable!(),
        };
        let first = part.trailing_zeros() as usize;
        let member = warp.get(src, first) as u32;
        let mut bad = None;
        lanes(part, |l| {
            if warp.get(src, l) as u32 != member {
                bad.get_or_insert(l);
            }
        });
        let fault = |l: u32, m: String| Err(self.fault(warp.base_tid + l, pc, m));
        if let Some(l) = bad {
            return fault(l as u32, format!("lanes disagree on the member mask ({member:#x} on lane {first})"));
        }
        if part & !member != 0 {
            return fault((part & !member).trailing_zeros(), format!("the lane is not in the member mask {member:#x}"));
        }
        if member & !warp.exists != 0 {
            return fault(
                part.trailing_zeros(),
                format!("member mask {member:#x} names lanes past the end of the block (a partial warp)"),
            );
        }
        Ok(member)
    }

    /// Runs a warp collective for the lanes of `part` (all waiting at `pc`).
    pub(crate) fn warp_collective(&mut self, w: usize, pc: u32, part: u32) -> Result<(), InterpError> {
        let k: &'a Kernel = self.env.kernel;
        let op = &k.code[pc as usize].op;
        let warp = &mut self.warps[w];
        match *op {
            Op::Shfl { mode, d, p, a, b, c, .. } => {
                let vals: [u64; WARP] = std::array::from_fn(|l| warp.get(a, l));
                let mut bad = None;
                lanes(part, |l| {
                    let (bval, cval) = (warp.get(b, l) as u32 & 31, warp.get(c, l) as u32);
                    let (clamp, seg) = (cval & 31, (cval >> 8) & 31);
                    let lane = l as u32;
                    let max_lane = (lane & seg) | (clamp & !seg);
                    let min_lane = lane & seg;
                    let (j, ok) = match mode {
                        ShflMode::Up => (lane.wrapping_sub(bval), lane >= bval && lane - bval >= max_lane),
                        ShflMode::Down => (lane + bval, lane + bval <= max_lane),
                        ShflMode::Bfly => (lane ^ bval, (lane ^ bval) <= max_lane),
                        ShflMode::Idx => {
                            let j = min_lane | (bval & !seg);
                            (j, j <= max_lane)
                        }
                    };
                    let j = if ok { j } else { lane };
                    if part & 1 << j == 0 {
                        bad.get_or_insert((l, j));
                    }
                    warp.set(d, l, vals[j as usize] & 0xffff_ffff);
                    if let Some(p) = p {
                        warp.set(p, l, ok as u64);
                    }
                });
                if let Some((l, j)) = bad {
                    let base = warp.base_tid;
                    return Err(self.fault(
                        base + l as u32,
                        pc,
                        format!("shfl.sync reads lane {j}, which does not take part"),
                    ));
                }
            }
            Op::Vote { mode, d, a, negate, .. } => {
                let mut ballot = 0u32;
                lanes(part, |l| {
                    if (warp.get(a, l) != 0) != negate {
                        ballot |= 1 << l;
                    }
                });
                let v = match mode {
                    VoteMode::Ballot => ballot as u64,
                    VoteMode::All => (ballot == part) as u64,
                    VoteMode::Any => (ballot != 0) as u64,
                    VoteMode::Uni => (ballot == part || ballot == 0) as u64,
                };
                lanes(part, |l| warp.set(d, l, v));
            }
            Op::Mma { kind, d, a, b, c } => crate::mma::mma(kind, warp, d, a, b, c),
            _ => unreachable!(),
        }
        Ok(())
    }

    pub(crate) fn try_warp_collective(&mut self, w: usize) -> Result<bool, InterpError> {
        let waiting = self.warps[w].mask_of(Lane::Collective);
        let mut pcs: Vec<u32> = Vec::new();
        lanes(waiting, |l| pcs.push(self.warps[w].pc[l]));
        pcs.sort_unstable();
        pcs.dedup();
        let mut progressed = false;
        for pc in pcs {
            progressed |= self.try_warp_collective_at(w, pc)?;
        }
        Ok(progressed)
    }

    fn try_warp_collective_at(&mut self, w: usize, pc: u32) -> Result<bool, InterpError> {
        let here = {
            let warp = &self.warps[w];
            let mut m = 0u32;
            lanes(warp.mask_of(Lane::Collective), |l| {
                if warp.pc[l] == pc {
                    m |= 1 << l;
                }
            });
            m
        };
        let exited = self.warps[w].mask_of(Lane::Exited);
        let tid = self.warps[w].base_tid + here.trailing_zeros();
        let ready = match self.env.kernel.code[pc as usize].op.collective() {
            Collective::Warp => {
                let member = self.member_mask(w, pc, here)?;
                if member & exited != 0 {
                    let l = (member & exited).trailing_zeros();
                    return Err(self.fault(
                        tid,
                        pc,
                        format!("lane {l} of the member mask has exited and can never reach this collective"),
                    ));
                }
                here == member
            }
            Collective::WarpAligned => {
                if self.warps[w].exists != FULL || exited != 0 {
                    return Err(self.fault(
                        tid,
                        pc,
                        format!(
                            "mma.sync needs all 32 lanes of the warp; {} exist and {} have exited",
                            self.warps[w].exists.count_ones(),
                            exited.count_ones()
                        ),
                    ));
                }
                here == FULL
            }
            _ => false,
        };
        if ready {
            self.warp_collective(w, pc, here)?;
            let warp = &mut self.warps[w];
            lanes(here, |l| {
                warp.pc[l] = pc + 1;
                warp.state[l] = Lane::Active;
            });
        }
        Ok(ready)
    }

    /// Runs a warpgroup instruction once all 128 threads of warpgroup `g` wait at it.
    pub(crate) fn try_warpgroup(&mut self, g: usize) -> Result<bool, InterpError> {
        let ws = 4 * g..(4 * g + 4).min(self.warps.len());
        let first = &self.warps[ws.start];
        let waiting = first.mask_of(Lane::Collective);
        if waiting == 0 {
            return Ok(false);
        }
        let pc = first.pc[waiting.trailing_zeros() as usize];
        if self.env.kernel.code[pc as usize].op.collective() != Collective::Warpgroup {
            return Ok(false);
        }
        let tid0 = first.base_tid;
        if ws.len() < 4 || self.warps[ws.clone()].iter().any(|w| w.exists != FULL) {
            return Err(self.fault(tid0, pc, "a warpgroup instruction needs four whole warps (128 threads)".into()));
        }
        if self.warps[ws.clone()].iter().any(|w| w.state.contains(&Lane::Exited)) {
            return Err(self.fault(tid0, pc, "a thread of the warpgroup has exited and can never reach it".into()));
        }
        let all_here =
            self.warps[ws.clone()].iter().all(|w| (0..WARP).all(|l| w.state[l] == Lane::Collective && w.pc[l] == pc));
        if !all_here {
            return Ok(false);
        }
        let k: &'a Kernel = self.env.kernel;
        let op = &k.code[pc as usize].op;
        let (shared, fences, epoch) = (&mut self.env.shared, &self.env.fences, self.env.epoch);
        let group = &mut self.groups[g];
        let warps = &mut self.warps[ws.clone()];
        let result = match op {
            Op::WgmmaFence => {
                group.fence();
                Ok(())
            }
            Op::WgmmaCommit => {
                group.commit();
                Ok(())
            }
            Op::WgmmaWait { n } => group.wait(*n, shared, &mut GroupRegs(warps)),
            Op::Wgmma(wg) => {
                let descs: Vec<(u64, u64, bool)> = (0..128)
                    .map(|t| {
                        let w = &warps[t / WARP];
                        let l = t % WARP;
                        (w.get(wg.a_desc, l), w.get(wg.b_desc, l), w.get(wg.scale_d, l) != 0)
                    })
                    .collect();
                group.mma_async(wg, &descs, shared, epoch, fences, &mut GroupRegs(warps))
            }
            _ => unreachable!(),
        };
        result.map_err(|m| self.fault(tid0, pc, m))?;
        for w in &mut self.warps[ws] {
            w.pc = [pc + 1; WARP];
            w.state = [Lane::Active; WARP];
        }
        Ok(true)
    }

    /// Opens the barrier if every thread that has not exited waits at the same `bar.sync`.
    pub(crate) fn try_barrier(&mut self) -> Result<bool, InterpError> {
        let mut at: Option<(u32, u64, u32)> = None;
        for w in &self.warps {
            for l in 0..WARP {
                match w.state[l] {
                    Lane::Exited | Lane::Absent => {}
                    Lane::Barrier => {
                        let pc = w.pc[l];
                        let Op::BarSync { id } = self.env.kernel.code[pc as usize].op else { unreachable!() };
                        let id = w.get(id, l);
                        match at {
                            None => at = Some((pc, id, w.base_tid + l as u32)),
                            Some((p, i, t)) if p != pc || i != id => {
                                let (l1, l2) =
                                    (self.env.kernel.code[p as usize].line, self.env.kernel.code[pc as usize].line);
                                return Err(self.fault(w.base_tid + l as u32, pc, format!(
                                    "threads wait at different barriers: thread {t} at bar.sync {i} (PTX line {l1}), this \
                                     one at bar.sync {id} (PTX line {l2})"
                                )));
                            }
                            _ => {}
                        }
                    }
                    _ => return Ok(false),
                }
            }
        }
        let Some((pc, _, _)) = at else { return Ok(false) };
        self.env.epoch += 1;
        for w in &mut self.warps {
            for l in 0..WARP {
                if w.state[l] == Lane::Barrier {
                    w.state[l] = Lane::Active;
                    w.pc[l] = pc + 1;
                }
            }
        }
        Ok(true)
    }
}
