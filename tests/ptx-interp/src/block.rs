//! One block: its warps, the barrier, and the collectives that need several lanes or warps
//! together (`shfl.sync`, `vote.sync`, `mma.sync`, `wgmma.*`, `bar.sync`).
//!
//! Each warp runs until all its lanes wait (at a barrier or a collective) or have exited. A
//! collective whose participants are all there runs; the barrier opens when every thread that
//! has not exited waits at the same `bar.sync`. When nothing can run, the block is stuck, which
//! on a GPU is a hang or undefined behaviour, and here an error naming who waits where.

use crate::error::{InterpError, Location};
use crate::memory::{GlobalMem, LocalMem, SharedMem};
use crate::op::*;
use crate::parse::Kernel;
use crate::stats::LaunchStats;
use crate::warp::{Env, FULL, Flow, Lane, LaneFault, WARP, Warp, lanes, step};
use crate::wgmma::{Regs, Warpgroup};
use kernels_gpu::{Dim3, LaunchConfig};

pub struct Block<'a> {
    pub env: Env<'a>,
    warps: Vec<Warp>,
    groups: Vec<Warpgroup>,
    cfg: LaunchConfig,
    block: Dim3,
    threads: u32,
    steps: u64,
    max_steps: u64,
}

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
    pub fn new(
        kernel: &'a Kernel,
        params: &'a [u8],
        cfg: LaunchConfig,
        stats: bool,
        race_check: bool,
        max_steps: u64,
    ) -> Self {
        let mut shared = SharedMem::new();
        shared.race_check = race_check;
        Block {
            env: Env {
                kernel,
                params,
                shared,
                local: LocalMem::default(),
                global: GlobalMem::default(),
                fences: Vec::new(),
                epoch: 0,
                stats: stats.then(LaunchStats::default),
            },
            warps: Vec::new(),
            groups: Vec::new(),
            cfg,
            block: Dim3::x(0),
            threads: cfg.block.volume() as u32,
            steps: 0,
            max_steps,
        }
    }

    fn thread_dim(&self, t: u32) -> Dim3 {
        let b = self.cfg.block;
        Dim3::new(t % b.x, (t / b.x) % b.y, t / (b.x * b.y))
    }

    fn location(&self, tid: Option<u32>, pc: u32) -> Location {
        let k = self.env.kernel;
        let (line, instruction) = match k.code.get(pc as usize) {
            Some(i) => (i.line, k.source[pc as usize].clone()),
            None => (0, "(end of kernel)".into()),
        };
        Location {
            kernel: k.name.clone(),
            block: self.block,
            thread: tid.map(|t| self.thread_dim(t)),
            line,
            instruction,
        }
    }

    fn fault(&self, tid: u32, pc: u32, message: String) -> InterpError {
        InterpError::Fault { at: self.location(Some(tid), pc), message }
    }

    fn lane_fault(&self, w: usize, pc: u32, f: LaneFault) -> InterpError {
        self.fault(self.warps[w].base_tid + f.lane as u32, pc, f.message)
    }

    fn stuck(&self, pc: u32, message: String) -> InterpError {
        InterpError::Stuck { at: self.location(None, pc), message }
    }

    pub fn run(&mut self, block: Dim3) -> Result<(), InterpError> {
        self.block = block;
        let k = self.env.kernel;
        let nwarps = self.threads.div_ceil(WARP as u32) as usize;
        self.warps.resize_with(nwarps, Warp::new);
        let nregs = k.reg_bits.len();
        let (bd, gd, dynamic) = (self.cfg.block, self.cfg.grid, self.cfg.shared_bytes);
        for (wi, warp) in self.warps.iter_mut().enumerate() {
            warp.regs.resize(nregs * WARP, 0);
            warp.base_tid = (wi * WARP) as u32;
            warp.exists = 0;
            for l in 0..WARP {
                let t = warp.base_tid + l as u32;
                warp.pc[l] = 0;
                warp.state[l] = if t < self.threads { Lane::Active } else { Lane::Absent };
                if t < self.threads {
                    warp.exists |= 1 << l;
                }
                let tid = Dim3::new(t % bd.x, (t / bd.x) % bd.y, t / (bd.x * bd.y));
                for &(sp, r) in &k.specials {
                    let axis = |d: Dim3, a: u8| [d.x, d.y, d.z][a as usize];
                    let v = match sp {
                        Special::Tid(a) => axis(tid, a),
                        Special::Ntid(a) => axis(bd, a),
                        Special::Ctaid(a) => axis(block, a),
                        Special::Nctaid(a) => axis(gd, a),
                        Special::LaneId => l as u32,
                        Special::WarpId => wi as u32,
                        Special::DynamicSmemSize => dynamic,
                        Special::TotalSmemSize => k.dynamic_shared_offset + dynamic,
                    };
                    warp.set(r, l, v as u64);
                }
            }
        }
        let shared_bytes = if dynamic > 0 { k.dynamic_shared_offset + dynamic } else { k.static_shared_bytes };
        self.env.shared.reset(shared_bytes);
        self.env.local.reset(self.threads, k.local_bytes);
        self.env.fences.clear();
        self.env.fences.resize(self.threads as usize, 0);
        self.env.epoch = 0;
        self.groups.resize_with(nwarps.div_ceil(4), Warpgroup::default);
        self.groups.iter_mut().for_each(Warpgroup::reset);
        self.steps = 0;

        loop {
            for w in 0..nwarps {
                if self.warps[w].state.contains(&Lane::Active) {
                    self.run_warp(w)?;
                }
            }
            let done = self.warps.iter().all(|w| w.state.iter().all(|s| matches!(s, Lane::Exited | Lane::Absent)));
            if done {
                for (g, wg) in self.groups.iter().enumerate() {
                    wg.check_idle().map_err(|m| self.fault((g * 4 * WARP) as u32, k.code.len() as u32, m))?;
                }
                return Ok(());
            }
            let mut progressed = false;
            for w in 0..nwarps {
                progressed |= self.try_warp_collective(w)?;
            }
            for g in 0..self.groups.len() {
                progressed |= self.try_warpgroup(g)?;
            }
            if !progressed && !self.try_barrier()? {
                return Err(self.describe_stuck());
            }
        }
    }

    fn run_warp(&mut self, w: usize) -> Result<(), InterpError> {
        let k: &'a Kernel = self.env.kernel;
        let code = &k.code;
        let (mut pc, mut mask, mut other) = self.warps[w].select();
        macro_rules! reselect {
            () => {{
                let s = self.warps[w].select();
                pc = s.0;
                mask = s.1;
                other = s.2;
            }};
        }
        macro_rules! write_back {
            ($p:expr) => {{
                let p = $p;
                let warp = &mut self.warps[w];
                lanes(mask, |l| warp.pc[l] = p);
            }};
        }
        while mask != 0 {
            self.steps += 1;
            if self.steps > self.max_steps {
                return Err(
                    self.stuck(pc, format!("no end after {} warp instructions (an endless loop?)", self.max_steps))
                );
            }
            let ins = &code[pc as usize];
            let kind = ins.op.collective();
            if kind != Collective::None {
                self.arrive(w, pc, mask, kind)?;
                reselect!();
                continue;
            }
            let flow = step(&mut self.warps[w], &mut self.env, pc, mask).map_err(|f| self.lane_fault(w, pc, f))?;
            match flow {
                Flow::Next | Flow::Jump { taken: 0, .. } => {
                    pc += 1;
                    if pc == other {
                        write_back!(pc);
                        reselect!();
                    }
                }
                Flow::Jump { taken, target } if taken == mask => {
                    pc = target;
                    if pc >= other {
                        write_back!(pc);
                        reselect!();
                    }
                }
                Flow::Jump { taken, target } => {
                    let warp = &mut self.warps[w];
                    lanes(mask, |l| warp.pc[l] = if taken & 1 << l != 0 { target } else { pc + 1 });
                    reselect!();
                }
                Flow::Scatter => reselect!(),
                Flow::Exit(e) => {
                    let warp = &mut self.warps[w];
                    lanes(mask, |l| {
                        if e & 1 << l != 0 {
                            warp.state[l] = Lane::Exited;
                        } else {
                            warp.pc[l] = pc + 1;
                        }
                    });
                    reselect!();
                }
            }
        }
        Ok(())
    }

    /// A group reaches a collective: runs it now if it can, else its lanes wait there.
    fn arrive(&mut self, w: usize, pc: u32, mask: u32, kind: Collective) -> Result<(), InterpError> {
        let k: &'a Kernel = self.env.kernel;
        let ins = &k.code[pc as usize];
        let warp = &mut self.warps[w];
        let part = warp.guard(ins.guard, mask);
        let skip = mask & !part;
        lanes(mask, |l| warp.pc[l] = if skip & 1 << l != 0 { pc + 1 } else { pc });
        if part == 0 {
            return Ok(());
        }
        let base = warp.base_tid;
        if kind != Collective::Warp && skip != 0 {
            return Err(self.fault(
                base + skip.trailing_zeros(),
                pc,
                "the guard of an aligned instruction differs between the lanes of the warp".into(),
            ));
        }
        match kind {
            Collective::Warp => {
                let member = self.member_mask(w, pc, part)?;
                if part == member {
                    self.warp_collective(w, pc, part)?;
                    let warp = &mut self.warps[w];
                    lanes(part, |l| warp.pc[l] = pc + 1);
                    return Ok(());
                }
            }
            Collective::WarpAligned if part == FULL => {
                self.warp_collective(w, pc, part)?;
                let warp = &mut self.warps[w];
                lanes(part, |l| warp.pc[l] = pc + 1);
                return Ok(());
            }
            _ => {}
        }
        let park = if kind == Collective::Block { Lane::Barrier } else { Lane::Collective };
        let warp = &mut self.warps[w];
        lanes(part, |l| warp.state[l] = park);
        Ok(())
    }

    /// The member mask of a `shfl.sync`/`vote.sync`, the same on every participating lane,
    /// naming every participant and only lanes that exist.
    fn member_mask(&self, w: usize, pc: u32, part: u32) -> Result<u32, InterpError> {
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
    fn warp_collective(&mut self, w: usize, pc: u32, part: u32) -> Result<(), InterpError> {
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

    fn try_warp_collective(&mut self, w: usize) -> Result<bool, InterpError> {
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
    fn try_warpgroup(&mut self, g: usize) -> Result<bool, InterpError> {
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
    fn try_barrier(&mut self) -> Result<bool, InterpError> {
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

    fn describe_stuck(&self) -> InterpError {
        let code = &self.env.kernel.code;
        let mut parts = Vec::new();
        let mut first_pc = 0;
        let (mut exited, mut at_barrier) = (0, 0);
        for (wi, w) in self.warps.iter().enumerate() {
            exited += w.mask_of(Lane::Exited).count_ones();
            at_barrier += w.mask_of(Lane::Barrier).count_ones();
            let waiting = w.mask_of(Lane::Collective);
            if waiting != 0 {
                let pc = w.pc[waiting.trailing_zeros() as usize];
                first_pc = pc;
                parts.push(format!(
                    "warp {wi}: {} lanes wait at a collective (PTX line {}), {} at bar.sync, {} exited",
                    waiting.count_ones(),
                    code[pc as usize].line,
                    w.mask_of(Lane::Barrier).count_ones(),
                    w.mask_of(Lane::Exited).count_ones()
                ));
            } else if let Some(l) = (0..WARP).find(|&l| w.state[l] == Lane::Barrier) {
                first_pc = w.pc[l];
            }
        }
        let message = format!(
            "no thread can run: {at_barrier} of {} threads wait at bar.sync, {exited} have exited{}{}",
            self.threads,
            if parts.is_empty() { "" } else { "; " },
            parts.join("; ")
        );
        self.stuck(first_pc, message)
    }

    /// The statistics gathered so far, leaving none.
    pub fn take_stats(&mut self) -> Option<LaunchStats> {
        self.env.stats.take()
    }
}
