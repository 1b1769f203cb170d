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
use crate::wgmma::Warpgroup;
use kernels_gpu::{Dim3, LaunchConfig};

pub struct Block<'a> {
    pub env: Env<'a>,
    pub(crate) warps: Vec<Warp>,
    pub(crate) groups: Vec<Warpgroup>,
    cfg: LaunchConfig,
    block: Dim3,
    threads: u32,
    steps: u64,
    max_steps: u64,
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
            Some(i) => match k.func_at(pc) {
                Some(f) => (i.line, format!("{}` in function `{}", k.source[pc as usize], f.name)),
                None => (i.line, k.source[pc as usize].clone()),
            },
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

    pub(crate) fn fault(&self, tid: u32, pc: u32, message: String) -> InterpError {
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
            warp.frame.resize(k.frame_bytes as usize * WARP, 0);
            warp.calls.iter_mut().for_each(Vec::clear);
            warp.carry = 0;
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
