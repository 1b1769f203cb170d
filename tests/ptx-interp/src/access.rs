//! Loads and stores of a lockstep group: each lane's address resolved to its state space (the
//! module's variables to their segments), checked for bounds and alignment (a fault names the
//! lane), the access performed, and the group's request recorded for the memory-access
//! statistics.

use crate::memory::{Accessor, GlobalMem, Place, classify};
use crate::op::{Addr, Reg, Space, Src};
use crate::value::{chop, extend};
use crate::warp::{Env, LaneFault, Warp};

/// Where an address of `space` points.
fn place(space: Space, addr: u64) -> Place {
    match space {
        Space::Global => match classify(addr) {
            p @ Place::Data(_) => p,
            _ => Place::Global(addr),
        },
        Space::Shared => Place::Shared(addr),
        Space::Local => Place::Local(addr),
        Space::Const => Place::Const(addr),
        Space::Generic => classify(addr),
    }
}

/// The place `bytes` at `addr` of `space` are, checked for alignment and bounds; the module's
/// `.global` segment resolved to its host memory.
fn resolve(env: &mut Env, space: Space, addr: u64, bytes: u64, store: bool) -> Result<Place, String> {
    let p = place(space, addr);
    let what = if store { "store" } else { "load" };
    let (Place::Global(a) | Place::Shared(a) | Place::Local(a) | Place::Data(a) | Place::Const(a)) = p;
    if a % bytes != 0 {
        return Err(format!("misaligned {bytes}-byte {what} at {} address {a:#x}", place_name(p, space)));
    }
    let data = env.kernel.data;
    let segment = |(base, len): (u64, u64), name: &str| {
        if a.checked_add(bytes).is_none_or(|end| end > len) {
            Err(format!(
                "{bytes}-byte {what} at offset {a:#x} of the module's {len}-byte {name} segment runs past its end"
            ))
        } else {
            Ok(base + a)
        }
    };
    match p {
        Place::Global(g) => env.global.check(g, bytes).map(|_| p),
        Place::Shared(s) => env.shared.check(s, bytes).map(|_| p),
        Place::Local(l) => env.local.check(l, bytes).map(|_| p),
        Place::Data(_) => segment(data.global, ".global").map(Place::Global),
        Place::Const(_) if store => Err(format!("{bytes}-byte store to the read-only .const space at {a:#x}")),
        Place::Const(_) => segment(data.constant, ".const").map(|_| p),
    }
}

fn place_name(p: Place, space: Space) -> String {
    let s = match p {
        Place::Global(_) => "global",
        Place::Shared(_) => "shared",
        Place::Local(_) => "local",
        Place::Data(_) => "global (module variable)",
        Place::Const(_) => "const",
    };
    if space == Space::Generic { format!("generic ({s})") } else { s.to_string() }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn load(
    w: &mut Warp,
    env: &mut Env,
    pc: u32,
    m: u32,
    space: Space,
    bits: u32,
    signed: bool,
    d: &[Option<Reg>],
    addr: Addr,
) -> Result<(), LaneFault> {
    let k = env.kernel;
    let elem = bits as u64 / 8;
    let total = elem * d.len() as u64;
    let line = k.code[pc as usize].line;
    let mut global_acc: Vec<(u64, u64, u64)> = Vec::new();
    let mut shared_acc: Vec<(u32, u64, u64)> = Vec::new();
    let recording = env.stats.is_some();
    let mut m2 = m;
    while m2 != 0 {
        let l = m2.trailing_zeros() as usize;
        m2 &= m2 - 1;
        let a = w.get(addr.base, l).wrapping_add(addr.offset as u64);
        let p = resolve(env, space, a, total, false).map_err(|message| LaneFault { lane: l, message })?;
        let tid = w.base_tid + l as u32;
        for (i, r) in d.iter().enumerate() {
            let off = i as u64 * elem;
            let v = match p {
                Place::Global(g) => unsafe { GlobalMem::load(g + off, bits) },
                Place::Shared(s) => {
                    let who = Accessor { tid, epoch: env.epoch, line, fences: env.fences[tid as usize] };
                    env.shared.load(s + off, bits, who).map_err(|message| LaneFault { lane: l, message })?
                }
                Place::Local(s) => env.local.load(tid, s + off, bits),
                Place::Const(c) => unsafe { GlobalMem::load(env.kernel.data.constant.0 + c + off, bits) },
                Place::Data(_) => unreachable!("resolved to global memory"),
            };
            if let Some(r) = r {
                w.set(*r, l, extend(v, bits, signed, k.reg_bits[*r as usize] as u32));
            }
        }
        if recording {
            match p {
                Place::Global(g) => global_acc.push((g, total, alloc_start(g))),
                Place::Shared(s) => shared_acc.push((l as u32, s, total)),
                Place::Local(_) | Place::Data(_) | Place::Const(_) => {}
            }
        }
    }
    if let Some(st) = env.stats.as_mut() {
        st.global_request(pc, false, &global_acc);
        st.shared_request(pc, &shared_acc);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn store(
    w: &mut Warp,
    env: &mut Env,
    pc: u32,
    m: u32,
    space: Space,
    bits: u32,
    v: &[Src],
    addr: Addr,
) -> Result<(), LaneFault> {
    let k = env.kernel;
    let elem = bits as u64 / 8;
    let total = elem * v.len() as u64;
    let line = k.code[pc as usize].line;
    let mut global_acc: Vec<(u64, u64, u64)> = Vec::new();
    let mut shared_acc: Vec<(u32, u64, u64)> = Vec::new();
    let recording = env.stats.is_some();
    let mut m2 = m;
    while m2 != 0 {
        let l = m2.trailing_zeros() as usize;
        m2 &= m2 - 1;
        let a = w.get(addr.base, l).wrapping_add(addr.offset as u64);
        let p = resolve(env, space, a, total, true).map_err(|message| LaneFault { lane: l, message })?;
        let tid = w.base_tid + l as u32;
        for (i, s) in v.iter().enumerate() {
            let off = i as u64 * elem;
            let x = chop(w.get(*s, l), bits);
            match p {
                Place::Global(g) => unsafe { GlobalMem::store(g + off, bits, x) },
                Place::Shared(a) => {
                    let who = Accessor { tid, epoch: env.epoch, line, fences: env.fences[tid as usize] };
                    env.shared.store(a + off, bits, x, who).map_err(|message| LaneFault { lane: l, message })?
                }
                Place::Local(a) => env.local.store(tid, a + off, bits, x),
                Place::Data(_) | Place::Const(_) => unreachable!("resolved, or refused"),
            }
        }
        if recording {
            match p {
                Place::Global(g) => global_acc.push((g, total, alloc_start(g))),
                Place::Shared(s) => shared_acc.push((l as u32, s, total)),
                Place::Local(_) | Place::Data(_) | Place::Const(_) => {}
            }
        }
    }
    if let Some(st) = env.stats.as_mut() {
        st.global_request(pc, true, &global_acc);
        st.shared_request(pc, &shared_acc);
    }
    Ok(())
}

fn alloc_start(addr: u64) -> u64 {
    kernels_gpu::emu::allocation_containing(addr as usize).map_or(addr, |(s, _)| s as u64)
}
