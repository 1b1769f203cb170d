//! One warp: 32 lanes with their own registers and program counters, executed in lockstep
//! groups. The group is the set of lanes at the lowest program counter (they run together
//! until their paths split; lanes that diverged rejoin when they reach the same instruction),
//! and this file executes every instruction that is not a collective for such a group.

use crate::access;
use crate::call;
use crate::memory::{CONST_WINDOW, GlobalMem, LOCAL_WINDOW, LocalMem, SHARED_WINDOW, SharedMem};
use crate::op::*;
use crate::parse::Kernel;
use crate::stats::LaunchStats;
use crate::value::{self, chop, extend};

pub const WARP: usize = 32;
pub const FULL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    Active,
    Exited,
    /// Waiting at `bar.sync`.
    Barrier,
    /// Waiting at a warp or warpgroup collective for the other lanes.
    Collective,
    /// Past the end of a block that is not a whole number of warps.
    Absent,
}

pub struct Warp {
    /// `regs[r * 32 + lane]`.
    pub regs: Vec<u64>,
    pub pc: [u32; WARP],
    pub state: [Lane; WARP],
    /// Lanes that exist in the block.
    pub exists: u32,
    /// Linear thread index of lane 0.
    pub base_tid: u32,
    /// Each lane's param space (`frame_bytes` per lane, lane after lane).
    pub frame: Vec<u8>,
    /// Each lane's calls in progress: the `call` instruction and the callee (index in the
    /// kernel's functions).
    pub calls: Vec<Vec<(u32, u32)>>,
    /// Each lane's condition-code carry flag `CC.CF` (bit per lane), set by the `.cc` forms
    /// of `add`/`sub` and read by `addc`/`subc`.
    pub carry: u32,
}

impl Default for Warp {
    fn default() -> Self {
        Self::new()
    }
}

impl Warp {
    pub fn new() -> Self {
        Warp {
            regs: Vec::new(),
            pc: [0; WARP],
            state: [Lane::Absent; WARP],
            exists: 0,
            base_tid: 0,
            frame: Vec::new(),
            calls: vec![Vec::new(); WARP],
            carry: 0,
        }
    }

    pub fn mask_of(&self, s: Lane) -> u32 {
        (0..WARP).filter(|&l| self.state[l] == s).fold(0, |m, l| m | 1 << l)
    }

    /// The lanes at the lowest program counter among active lanes, that counter, and the
    /// lowest counter of the other active lanes (`u32::MAX` if none).
    pub fn select(&self) -> (u32, u32, u32) {
        let (mut best, mut mask, mut second) = (u32::MAX, 0u32, u32::MAX);
        for l in 0..WARP {
            if self.state[l] != Lane::Active {
                continue;
            }
            let p = self.pc[l];
            if p < best {
                second = best;
                best = p;
                mask = 1 << l;
            } else if p == best {
                mask |= 1 << l;
            } else if p < second {
                second = p;
            }
        }
        (best, mask, second)
    }

    #[inline(always)]
    pub fn get(&self, s: Src, lane: usize) -> u64 {
        match s {
            Src::Reg(r) => self.regs[(r as usize) << 5 | lane],
            Src::Imm(v) => v,
        }
    }

    #[inline(always)]
    pub fn set(&mut self, r: Reg, lane: usize, v: u64) {
        self.regs[(r as usize) << 5 | lane] = v;
    }

    /// Lanes of `mask` whose guard predicate holds.
    #[inline(always)]
    pub fn guard(&self, g: Option<(Reg, bool)>, mask: u32) -> u32 {
        match g {
            None => mask,
            Some((p, neg)) => {
                let base = (p as usize) << 5;
                let mut out = 0;
                lanes(mask, |l| {
                    if (self.regs[base + l] != 0) != neg {
                        out |= 1 << l;
                    }
                });
                out
            }
        }
    }
}

#[inline(always)]
pub fn lanes(mask: u32, mut f: impl FnMut(usize)) {
    if mask == FULL {
        for l in 0..WARP {
            f(l);
        }
    } else {
        let mut m = mask;
        while m != 0 {
            f(m.trailing_zeros() as usize);
            m &= m - 1;
        }
    }
}

/// `d = f(a, b)` on every lane of `mask`.
#[inline(always)]
fn map2(w: &mut Warp, mask: u32, d: Reg, a: Src, b: Src, f: impl Fn(u64, u64) -> u64) {
    let d0 = (d as usize) << 5;
    let regs = &mut w.regs;
    match (a, b) {
        (Src::Reg(ra), Src::Reg(rb)) => {
            let (a0, b0) = ((ra as usize) << 5, (rb as usize) << 5);
            lanes(mask, |l| regs[d0 + l] = f(regs[a0 + l], regs[b0 + l]));
        }
        (Src::Reg(ra), Src::Imm(y)) => {
            let a0 = (ra as usize) << 5;
            lanes(mask, |l| regs[d0 + l] = f(regs[a0 + l], y));
        }
        (Src::Imm(x), Src::Reg(rb)) => {
            let b0 = (rb as usize) << 5;
            lanes(mask, |l| regs[d0 + l] = f(x, regs[b0 + l]));
        }
        (Src::Imm(x), Src::Imm(y)) => {
            let v = f(x, y);
            lanes(mask, |l| regs[d0 + l] = v);
        }
    }
}

/// A source operand read without branching: `(regs[base + lane] & mask) | imm`.
#[derive(Clone, Copy)]
struct Get {
    base: usize,
    mask: u64,
    imm: u64,
}

impl Get {
    #[inline(always)]
    fn of(s: Src) -> Get {
        match s {
            Src::Reg(r) => Get { base: (r as usize) << 5, mask: !0, imm: 0 },
            Src::Imm(v) => Get { base: 0, mask: 0, imm: v },
        }
    }

    #[inline(always)]
    fn at(self, regs: &[u64], l: usize) -> u64 {
        (regs[self.base + l] & self.mask) | self.imm
    }
}

#[inline(always)]
fn map3(w: &mut Warp, mask: u32, d: Reg, a: Src, b: Src, c: Src, f: impl Fn(u64, u64, u64) -> u64) {
    let (ga, gb, gc, d0) = (Get::of(a), Get::of(b), Get::of(c), (d as usize) << 5);
    let regs = &mut w.regs;
    lanes(mask, |l| regs[d0 + l] = f(ga.at(regs, l), gb.at(regs, l), gc.at(regs, l)));
}

/// `fma.rn` on every lane: with the host's FMA instructions when it has them (one rounding
/// either way; without them `mul_add` calls the C library's `fma`).
fn fma_lanes(w: &mut Warp, mask: u32, ty: FTy, d: Reg, a: Src, b: Src, c: Src) {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS_FMA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *HAS_FMA.get_or_init(|| std::arch::is_x86_feature_detected!("fma")) {
            // SAFETY: the CPU has FMA.
            return unsafe { fma_lanes_hw(w, mask, ty, d, a, b, c) };
        }
    }
    fma_lanes_sw(w, mask, ty, d, a, b, c)
}

#[inline(always)]
fn fma_lanes_sw(w: &mut Warp, mask: u32, ty: FTy, d: Reg, a: Src, b: Src, c: Src) {
    match ty {
        FTy::F32 => map3(w, mask, d, a, b, c, |x, y, z| f32b(x).mul_add(f32b(y), f32b(z)).to_bits() as u64),
        FTy::F64 => map3(w, mask, d, a, b, c, |x, y, z| f64b(x).mul_add(f64b(y), f64b(z)).to_bits()),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn fma_lanes_hw(w: &mut Warp, mask: u32, ty: FTy, d: Reg, a: Src, b: Src, c: Src) {
    // A plain loop, not `map3`'s closure: a closure would be compiled without the feature.
    let (ga, gb, gc, d0) = (Get::of(a), Get::of(b), Get::of(c), (d as usize) << 5);
    let regs = &mut w.regs;
    let mut m = mask;
    while m != 0 {
        let l = m.trailing_zeros() as usize;
        m &= m - 1;
        let (x, y, z) = (ga.at(regs, l), gb.at(regs, l), gc.at(regs, l));
        regs[d0 + l] = match ty {
            FTy::F32 => f32b(x).mul_add(f32b(y), f32b(z)).to_bits() as u64,
            FTy::F64 => f64b(x).mul_add(f64b(y), f64b(z)).to_bits(),
        };
    }
}

#[inline(always)]
fn f32b(v: u64) -> f32 {
    f32::from_bits(v as u32)
}

#[inline(always)]
fn f64b(v: u64) -> f64 {
    f64::from_bits(v)
}

/// What an instruction did to the group's control flow.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Every lane goes on to the next instruction.
    Next,
    /// Lanes in `taken` jump to `target`; the others go on.
    Jump { taken: u32, target: u32 },
    /// Each lane's program counter was set individually.
    Scatter,
    /// These lanes exited; the others go on.
    Exit(u32),
}

/// Block-wide state an instruction may touch besides its warp's registers.
pub struct Env<'a> {
    pub kernel: &'a Kernel,
    pub params: &'a [u8],
    pub shared: SharedMem,
    pub local: LocalMem,
    pub global: GlobalMem,
    /// Each thread's count of `fence.proxy.async`.
    pub fences: Vec<u32>,
    /// Barrier intervals completed by the block.
    pub epoch: u32,
    pub stats: Option<LaunchStats>,
}

/// A fault on one lane.
pub struct LaneFault {
    pub lane: usize,
    pub message: String,
}

fn fault<T>(lane: usize, message: String) -> Result<T, LaneFault> {
    Err(LaneFault { lane, message })
}

/// Executes one non-collective instruction for the lanes of `mask` (the guard is applied here).
pub fn step(w: &mut Warp, env: &mut Env, pc: u32, mask: u32) -> Result<Flow, LaneFault> {
    let k = env.kernel;
    let ins = &k.code[pc as usize];
    let m = w.guard(ins.guard, mask);
    match &ins.op {
        &Op::Mov { d, a } => {
            let bits = k.reg_bits[d as usize] as u32;
            map2(w, m, d, a, Src::Imm(0), |x, _| chop(x, bits));
        }
        Op::Unpack { d, a, part_bits } => {
            let (a, pb) = (*a, *part_bits);
            lanes(m, |l| {
                let v = w.get(a, l);
                for (i, r) in d.iter().enumerate() {
                    if let Some(r) = r {
                        w.set(*r, l, chop(v >> (i as u32 * pb), pb));
                    }
                }
            });
        }
        Op::Pack { d, parts, part_bits } => {
            let (d, pb) = (*d, *part_bits);
            lanes(m, |l| {
                let v =
                    parts.iter().enumerate().fold(0u64, |acc, (i, p)| acc | chop(w.get(*p, l), pb) << (i as u32 * pb));
                w.set(d, l, v);
            });
        }
        &Op::Int { op, ty, d, a, b } => int(w, m, op, ty, d, a, b)?,
        &Op::IntUn { op, ty, d, a } => map2(w, m, d, a, Src::Imm(0), |x, _| value::int_un(op, ty, x)),
        &Op::AddCarry { sub, carry_in, carry_out, bits, d, a, b } => {
            lanes(m, |l| {
                let cin = carry_in && w.carry & 1 << l != 0;
                let (v, cout) = value::add_carry(sub, bits as u32, w.get(a, l), w.get(b, l), cin);
                w.set(d, l, v);
                if carry_out {
                    w.carry = w.carry & !(1 << l) | (cout as u32) << l;
                }
            });
        }
        &Op::MulWide { ty, d, a, b } => map2(w, m, d, a, b, |x, y| value::mul_wide(ty, x, y)),
        &Op::Mad { ty, hi, d, a, b, c } => map3(w, m, d, a, b, c, |x, y, z| value::mad(ty, hi, x, y, z)),
        &Op::MadWide { ty, d, a, b, c } => map3(w, m, d, a, b, c, |x, y, z| value::mad_wide(ty, x, y, z)),
        &Op::Shf { left, clamp, d, a, b, c } => map3(w, m, d, a, b, c, |x, y, n| value::shf(left, clamp, x, y, n)),
        &Op::Bfe { ty, d, a, pos, len } => map3(w, m, d, a, pos, len, |x, p, n| value::bfe(ty, x, p, n)),
        &Op::Selp { bits, d, a, b, p } => map3(w, m, d, a, b, p, |x, y, q| chop(if q != 0 { x } else { y }, bits)),
        &Op::Setp { cmp, ty, d, a, b } => setp(w, m, cmp, ty, d, a, b),
        &Op::Pred { op, d, a, b } => map2(w, m, d, a, b, |x, y| {
            let (x, y) = (x != 0, y != 0);
            (match op {
                PredOp::And => x && y,
                PredOp::Or => x || y,
                PredOp::Xor => x != y,
                PredOp::Not => !x,
            }) as u64
        }),
        &Op::F { op, ty, d, a, b } => float(w, m, op, ty, d, a, b),
        &Op::FUn { op, ty, ftz, d, a } => map2(w, m, d, a, Src::Imm(0), |x, _| value::float_un(op, ty, ftz, x)),
        &Op::Fma { ty, d, a, b, c } => fma_lanes(w, m, ty, d, a, b, c),
        &Op::Cvt { to, from, rnd, mods, d, a } => {
            let rbits = k.reg_bits[d as usize] as u32;
            let signed = matches!(to, NumTy::Int(IntTy { signed: true, .. }));
            let tbits = to.bits();
            map2(w, m, d, a, Src::Imm(0), |x, _| extend(value::cvt(to, from, rnd, mods, x), tbits, signed, rbits));
        }
        &Op::Testp { op, ty, d, a } => map2(w, m, d, a, Src::Imm(0), |x, _| value::testp(op, ty, x) as u64),
        &Op::Cvta { to, space, d, a } => {
            let window = match space {
                Space::Shared => SHARED_WINDOW,
                Space::Local => LOCAL_WINDOW,
                Space::Const => CONST_WINDOW,
                _ => 0,
            };
            let bits = k.reg_bits[d as usize] as u32;
            map2(w, m, d, a, Src::Imm(0), |x, _| {
                chop(if to { x.wrapping_sub(window) } else { x.wrapping_add(window) }, bits)
            });
        }
        Op::Ld { space, bits, signed, d, addr } => access::load(w, env, pc, m, *space, *bits, *signed, d, *addr)?,
        Op::St { space, bits, v, addr } => access::store(w, env, pc, m, *space, *bits, v, *addr)?,
        Op::LdParam { bits, signed, d, offset } => {
            let n = *bits as usize / 8;
            for (i, r) in d.iter().enumerate() {
                let Some(r) = *r else { continue };
                let at = *offset as usize + i * n;
                let mut buf = [0u8; 8];
                buf[..n].copy_from_slice(&env.params[at..at + n]);
                let v = extend(u64::from_le_bytes(buf), *bits, *signed, k.reg_bits[r as usize] as u32);
                lanes(m, |l| w.set(r, l, v));
            }
        }
        Op::LdFrame { bits, signed, d, offset } => call::load(w, env, m, *bits, *signed, d, *offset),
        Op::StFrame { bits, v, offset } => call::store(w, env, m, *bits, v, *offset),
        Op::Call(c) => return call::call(w, env, pc, mask, m, c),
        &Op::Ret { result } => return call::ret(w, env, pc, mask, m, result),
        &Op::Bra { target, uni } => {
            if uni && m != 0 && m != mask {
                return fault(
                    (mask & !m).trailing_zeros() as usize,
                    "bra.uni with a predicate that differs between the lanes of the warp".into(),
                );
            }
            return Ok(Flow::Jump { taken: m, target });
        }
        Op::Brx { idx, targets } => {
            let mut bad = None;
            lanes(mask, |l| {
                w.pc[l] = if m & 1 << l == 0 {
                    pc + 1
                } else {
                    let i = w.get(*idx, l) as u32 as usize;
                    match targets.get(i) {
                        Some(&t) => t,
                        None => {
                            bad.get_or_insert((l, i));
                            pc
                        }
                    }
                };
            });
            if let Some((l, i)) = bad {
                return fault(l, format!("brx.idx index {i} is past its {} targets", targets.len()));
            }
            return Ok(Flow::Scatter);
        }
        Op::Exit => return Ok(Flow::Exit(m)),
        Op::Trap => {
            if m != 0 {
                return fault(m.trailing_zeros() as usize, "trap".into());
            }
        }
        Op::FenceProxyAsync => lanes(m, |l| env.fences[(w.base_tid as usize) + l] += 1),
        Op::Fence => {}
        op => unreachable!("collective {op:?} reached the per-lane executor"),
    }
    Ok(Flow::Next)
}

fn int(w: &mut Warp, m: u32, op: IntOp, ty: IntTy, d: Reg, a: Src, b: Src) -> Result<(), LaneFault> {
    // The common forms without a per-lane dispatch; the rest through `value::int_bin`.
    match (op, ty.bits) {
        (IntOp::Add, 64) => map2(w, m, d, a, b, |x, y| x.wrapping_add(y)),
        (IntOp::Add, 32) => map2(w, m, d, a, b, |x, y| (x as u32).wrapping_add(y as u32) as u64),
        (IntOp::Sub, 64) => map2(w, m, d, a, b, |x, y| x.wrapping_sub(y)),
        (IntOp::Sub, 32) => map2(w, m, d, a, b, |x, y| (x as u32).wrapping_sub(y as u32) as u64),
        (IntOp::MulLo, 64) => map2(w, m, d, a, b, |x, y| x.wrapping_mul(y)),
        (IntOp::Shl, 64) => map2(w, m, d, a, b, |x, y| if y as u32 >= 64 { 0 } else { x << (y as u32) }),
        (IntOp::Or, 64) => map2(w, m, d, a, b, |x, y| x | y),
        (IntOp::And, 64) => map2(w, m, d, a, b, |x, y| x & y),
        _ => {
            let mut err = None;
            lanes(m, |l| match value::int_bin(op, ty, w.get(a, l), w.get(b, l)) {
                Ok(v) => w.set(d, l, v),
                Err(e) => {
                    err.get_or_insert((l, e));
                }
            });
            if let Some((l, e)) = err {
                return fault(l, e.to_string());
            }
        }
    }
    Ok(())
}

fn float(w: &mut Warp, m: u32, op: FOp, ty: FTy, d: Reg, a: Src, b: Src) {
    match (op, ty) {
        (FOp::Add, FTy::F32) => map2(w, m, d, a, b, |x, y| (f32b(x) + f32b(y)).to_bits() as u64),
        (FOp::Sub, FTy::F32) => map2(w, m, d, a, b, |x, y| (f32b(x) - f32b(y)).to_bits() as u64),
        (FOp::Mul, FTy::F32) => map2(w, m, d, a, b, |x, y| (f32b(x) * f32b(y)).to_bits() as u64),
        (FOp::Add, FTy::F64) => map2(w, m, d, a, b, |x, y| (f64b(x) + f64b(y)).to_bits()),
        (FOp::Sub, FTy::F64) => map2(w, m, d, a, b, |x, y| (f64b(x) - f64b(y)).to_bits()),
        (FOp::Mul, FTy::F64) => map2(w, m, d, a, b, |x, y| (f64b(x) * f64b(y)).to_bits()),
        _ => map2(w, m, d, a, b, |x, y| value::float_bin(op, ty, x, y)),
    }
}

fn setp(w: &mut Warp, m: u32, cmp: Cmp, ty: NumTy, d: Reg, a: Src, b: Src) {
    match (cmp, ty) {
        (Cmp::Lt, NumTy::Int(IntTy { bits: 64, signed: false })) => map2(w, m, d, a, b, |x, y| (x < y) as u64),
        (Cmp::Ge, NumTy::Int(IntTy { bits: 64, signed: false })) => map2(w, m, d, a, b, |x, y| (x >= y) as u64),
        (Cmp::Eq, NumTy::Int(IntTy { bits: 32, .. })) => map2(w, m, d, a, b, |x, y| (x as u32 == y as u32) as u64),
        _ => map2(w, m, d, a, b, |x, y| value::setp(cmp, ty, x, y) as u64),
    }
}
