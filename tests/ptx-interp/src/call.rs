//! Device-function calls (PTX ISA, "call", "ret", and the param state space of functions):
//!
//! - Each thread has its own param space: a function's parameters and result, and the
//!   variables a caller declares in a call's `{ }` block (`.param .b32 param0;`), which it
//!   fills with `st.param` before the call and reads the result from with `ld.param` after it.
//! - `call (result), func, (args)` copies each argument variable into the callee's parameter
//!   (they are passed by value; sizes are checked against the callee, or against the
//!   `.callprototype` of an indirect call through a function address in a register) and jumps
//!   to the callee; `ret` copies the callee's result into the caller's result variable and
//!   returns after the call. Each thread keeps its own stack of calls, so lanes of a warp may
//!   be in different functions, or in one function called from different places, and still
//!   run in lockstep where their program counters meet.
//! - `.uni` asserts that the lanes executing the call agree on its guard and its target, as
//!   for `bra.uni`; a disagreement is a fault.
//!
//! Functions' registers, frames and param spaces are static per thread (see `link.rs`), so a
//! thread that calls a function already on its stack (recursion through a function address)
//! faults.

use crate::decode::{Dec, R};
use crate::link::Sym;
use crate::memory::FUNC_WINDOW;
use crate::op::*;
use crate::operand::Operand;
use crate::value::{chop, extend};
use crate::warp::{Env, Flow, LaneFault, Warp, lanes};

impl Dec<'_> {
    /// `call{.uni} [(result),] target[, (args)][, prototype or call targets]`.
    pub(crate) fn call(&self, mods: &[&str]) -> R<Op> {
        let uni = match mods {
            [] => false,
            ["uni"] => true,
            _ => return Err(format!("unsupported call form .{}", mods.join("."))),
        };
        let mut i = 0;
        let mut result = None;
        if let Some(Operand::List(r)) = self.ops.first() {
            if r.len() > 1 {
                return Err("a call returns at most one result".into());
            }
            result = r.first().map(|o| self.slot(o)).transpose()?;
            i = 1;
        }
        let target = self.ops.get(i).ok_or("call without a target")?;
        i += 1;
        let args = match self.ops.get(i) {
            Some(Operand::List(a)) => {
                i += 1;
                a.iter().map(|o| self.slot(o)).collect::<R<Vec<_>>>()?
            }
            _ => Vec::new(),
        };
        let label = match self.ops.get(i) {
            Some(Operand::Sym(l)) => Some(l.as_str()),
            None => None,
            Some(o) => return Err(format!("unexpected call operand {o:?}")),
        };
        if self.ops.len() > i + label.is_some() as usize {
            return Err("too many call operands".into());
        }
        let (target, proto) = match target {
            Operand::Sym(name) => {
                if label.is_some() {
                    return Err("a direct call takes no prototype".into());
                }
                let Some(Sym::Func(m)) = (self.ctx.symbols)(name) else { return Err(format!("no function {name}")) };
                let f =
                    self.ctx.funcs.iter().position(|f| f.index == m).ok_or_else(|| format!("{name} is not linked"))?;
                let info = &self.ctx.funcs[f];
                let proto = Proto {
                    params: info.params.iter().map(|s| s.bytes).collect(),
                    result: info.result.map(|s| s.bytes),
                };
                (CallTarget::Direct(f as u32), proto)
            }
            o => {
                let addr = self.operand_src(o)?;
                let label = label.ok_or("an indirect call needs a prototype or call targets")?;
                if let Some(p) = self.ctx.protos.get(label) {
                    (CallTarget::Indirect { addr, proto: p.clone(), targets: None }, p.clone())
                } else if let Some(names) = self.ctx.tables.get(label) {
                    let mut targets = Vec::new();
                    let mut proto: Option<Proto> = None;
                    for n in names {
                        let Some(Sym::Func(m)) = (self.ctx.symbols)(n) else { return Err(format!("no function {n}")) };
                        let f =
                            self.ctx.funcs.iter().find(|f| f.index == m).ok_or_else(|| format!("{n} is not linked"))?;
                        let p = Proto {
                            params: f.params.iter().map(|s| s.bytes).collect(),
                            result: f.result.map(|s| s.bytes),
                        };
                        if proto.as_ref().is_some_and(|q| *q != p) {
                            return Err(format!("the call targets of {label} have different signatures"));
                        }
                        proto = Some(p);
                        targets.push(m);
                    }
                    let proto = proto.ok_or("empty .calltargets")?;
                    (CallTarget::Indirect { addr, proto: proto.clone(), targets: Some(targets) }, proto)
                } else {
                    return Err(format!("no .callprototype or .calltargets named {label}"));
                }
            }
        };
        check_signature(&proto, &args, result)?;
        Ok(Op::Call(Box::new(Call { target, args, result, uni })))
    }

    /// A call operand: one of the caller's param-space variables.
    fn slot(&self, o: &Operand) -> R<Slot> {
        match o {
            Operand::Sym(s) => match (self.ctx.symbols)(s) {
                Some(Sym::Frame(slot)) => Ok(slot),
                _ => Err(format!("call operand `{s}` is not a .param variable of the call")),
            },
            o => Err(format!("call operands must be .param variables, found {o:?}")),
        }
    }
}

/// The caller's variables against the callee's (or prototype's) parameters: as many, each of
/// the same size; a result only if the callee has one.
fn check_signature(p: &Proto, args: &[Slot], result: Option<Slot>) -> R<()> {
    if args.len() != p.params.len() {
        return Err(format!("{} arguments for {} parameters", args.len(), p.params.len()));
    }
    for (i, (a, &b)) in args.iter().zip(&p.params).enumerate() {
        if a.bytes != b {
            return Err(format!("argument {i} has {} bytes, the parameter {b}", a.bytes));
        }
    }
    match (result, p.result) {
        (Some(r), Some(b)) if r.bytes != b => Err(format!("the result variable has {} bytes, the result {b}", r.bytes)),
        (Some(_), None) => Err("a result from a function without one".into()),
        _ => Ok(()),
    }
}

/// Copies `bytes` within lane `l`'s param space.
#[inline]
fn copy(w: &mut Warp, fb: usize, l: usize, from: u32, to: u32, bytes: u32) {
    let base = l * fb;
    let (from, to) = (base + from as usize, base + to as usize);
    w.frame.copy_within(from..from + bytes as usize, to);
}

/// `call` for the lanes of `mask` at `pc` (the guard already applied: `m`).
pub(crate) fn call(w: &mut Warp, env: &Env, pc: u32, mask: u32, m: u32, c: &Call) -> Result<Flow, LaneFault> {
    let k = env.kernel;
    let fb = k.frame_bytes as usize;
    if c.uni && m != 0 && m != mask {
        let lane = (mask & !m).trailing_zeros() as usize;
        return Err(LaneFault { lane, message: "call.uni with a guard that differs between the lanes".into() });
    }
    let mut targets = [0u32; 32];
    let mut fault = None;
    lanes(m, |l| {
        let f = match &c.target {
            CallTarget::Direct(f) => Ok(*f),
            CallTarget::Indirect { addr, proto, targets } => indirect(k, w.get(*addr, l), proto, targets.as_deref()),
        };
        match f {
            Ok(f) => targets[l] = f,
            Err(e) => {
                fault.get_or_insert(LaneFault { lane: l, message: e });
            }
        }
    });
    if let Some(f) = fault {
        return Err(f);
    }
    if c.uni && m != 0 {
        let first = targets[m.trailing_zeros() as usize];
        let mut bad = None;
        lanes(m, |l| {
            if targets[l] != first {
                bad.get_or_insert(l);
            }
        });
        if let Some(lane) = bad {
            return Err(LaneFault { lane, message: "call.uni with a target that differs between the lanes".into() });
        }
    }
    let mut fault = None;
    lanes(m, |l| {
        let f = targets[l];
        let info = &k.funcs[f as usize];
        if w.calls[l].iter().any(|&(_, g)| g == f) {
            fault.get_or_insert(LaneFault {
                lane: l,
                message: format!(
                    "recursive call of {}: the interpreter gives each function one frame per thread",
                    info.name
                ),
            });
            return;
        }
        for (a, p) in c.args.iter().zip(&info.params) {
            copy(w, fb, l, a.offset, p.offset, a.bytes);
        }
        w.calls[l].push((pc, f));
    });
    if let Some(f) = fault {
        return Err(f);
    }
    match c.target {
        CallTarget::Direct(f) => Ok(Flow::Jump { taken: m, target: k.funcs[f as usize].start }),
        CallTarget::Indirect { .. } => {
            lanes(mask, |l| w.pc[l] = if m & 1 << l != 0 { k.funcs[targets[l] as usize].start } else { pc + 1 });
            Ok(Flow::Scatter)
        }
    }
}

/// The linked function at address `addr`, checked against the call's prototype.
fn indirect(k: &crate::parse::Kernel, addr: u64, proto: &Proto, targets: Option<&[u32]>) -> Result<u32, String> {
    let off = addr.wrapping_sub(FUNC_WINDOW);
    let index = (off.is_multiple_of(16) && off < 16 << 32).then_some(off / 16);
    let f = index
        .and_then(|i| k.funcs.iter().position(|f| f.index as u64 == i))
        .ok_or_else(|| format!("indirect call of address {addr:#x}, which is not a function's"))?;
    let info = &k.funcs[f];
    if targets.is_some_and(|t| !t.contains(&info.index)) {
        return Err(format!("indirect call of {}, which is not among the call's .calltargets", info.name));
    }
    let params: Vec<u32> = info.params.iter().map(|s| s.bytes).collect();
    if params != proto.params || (proto.result.is_some() && info.result.map(|s| s.bytes) != proto.result) {
        return Err(format!("indirect call of {} through a prototype that does not match it", info.name));
    }
    Ok(f as u32)
}

/// `ret` from a function, for the lanes of `mask` (`m` after the guard).
pub(crate) fn ret(
    w: &mut Warp,
    env: &Env,
    pc: u32,
    mask: u32,
    m: u32,
    result: Option<Slot>,
) -> Result<Flow, LaneFault> {
    let k = env.kernel;
    let fb = k.frame_bytes as usize;
    let mut fault = None;
    lanes(mask, |l| {
        if m & 1 << l == 0 {
            w.pc[l] = pc + 1;
            return;
        }
        let Some((at, _)) = w.calls[l].pop() else {
            fault.get_or_insert(LaneFault { lane: l, message: "ret from a function with no call to return to".into() });
            return;
        };
        let Op::Call(c) = &k.code[at as usize].op else { unreachable!("calls are pushed by call") };
        if let (Some(to), Some(from)) = (c.result, result) {
            copy(w, fb, l, from.offset, to.offset, to.bytes);
        }
        w.pc[l] = at + 1;
    });
    match fault {
        Some(f) => Err(f),
        None => Ok(Flow::Scatter),
    }
}

/// `ld.param` of the lanes' own param space.
pub(crate) fn load(w: &mut Warp, env: &Env, m: u32, bits: u32, signed: bool, d: &[Option<Reg>], offset: u32) {
    let k = env.kernel;
    let (fb, n) = (k.frame_bytes as usize, bits as usize / 8);
    lanes(m, |l| {
        for (i, r) in d.iter().enumerate() {
            let Some(r) = *r else { continue };
            let at = l * fb + offset as usize + i * n;
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(&w.frame[at..at + n]);
            let v = extend(u64::from_le_bytes(buf), bits, signed, k.reg_bits[r as usize] as u32);
            w.set(r, l, v);
        }
    });
}

/// `st.param` to the lanes' own param space.
pub(crate) fn store(w: &mut Warp, env: &Env, m: u32, bits: u32, v: &[Src], offset: u32) {
    let (fb, n) = (env.kernel.frame_bytes as usize, bits as usize / 8);
    lanes(m, |l| {
        for (i, s) in v.iter().enumerate() {
            let x = chop(w.get(*s, l), bits);
            let at = l * fb + offset as usize + i * n;
            w.frame[at..at + n].copy_from_slice(&x.to_le_bytes()[..n]);
        }
    });
}
