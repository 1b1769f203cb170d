//! Linking: an `.entry` and every device function it may call (directly, or through an address
//! it takes) become one [`Kernel`]: one code array (the entry's code first, then each
//! function's), one register file, one local frame and one param space per thread, in which
//! each function has a region of its own.
//!
//! A function's registers, local frame and param-space variables are therefore static per
//! thread, not allocated per call: exactly right for call graphs without cycles, which is
//! what is accepted here (a recursive direct call is a parse error, and a recursive indirect
//! call a run-time fault). Calls and returns themselves are in `call.rs`.

use crate::data::{DataSpace, ModuleData};
use crate::decode::{DecodeCtx, decode};
use crate::error::ParseError;
use crate::op::{Instr, Reg, Slot};
use crate::operand::Operand;
use crate::parse::{FuncInfo, Kernel, RawFunc, SharedVar};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

/// A symbol's meaning in a function's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sym {
    /// A shared variable: its shared-space address.
    Shared(u32),
    /// A local variable: its local-space address.
    Local(u32),
    /// A kernel parameter: its offset in the parameter buffer.
    Param(u32),
    /// A variable of the thread's param space (a function's parameter or result, a call's).
    Frame(Slot),
    /// A module `.global` variable: its global (and generic) address.
    Global(u64),
    /// A module `.const` variable: its const-space address.
    Const(u64),
    /// A function: its index among the module's functions.
    Func(u32),
}

/// The module's functions and variables, for linking entries.
pub(crate) struct ModuleFuncs<'a> {
    pub names: &'a [String],
    pub funcs: &'a [Option<RawFunc>],
    pub shared: &'a [SharedVar],
    pub data: &'a ModuleData,
}

/// Static shared memory, laid out variable by variable; the dynamic arrays start after it.
#[derive(Default)]
struct SharedLayout {
    end: u32,
    dynamic: Vec<String>,
}

impl SharedLayout {
    /// Places `v`; `None` for a dynamic array (its address is known once all are placed).
    fn add(&mut self, v: &SharedVar) -> Option<u32> {
        match v.bytes {
            Some(n) => {
                let at = self.end.next_multiple_of(v.align.max(1));
                self.end = at + n;
                Some(at)
            }
            None => {
                self.dynamic.push(v.name.clone());
                None
            }
        }
    }

    /// Static variables take the start of shared memory; dynamic (launch-sized) arrays all
    /// begin after them, 16-byte aligned at least.
    fn dynamic_offset(&self) -> u32 {
        self.end.next_multiple_of(16)
    }
}

/// Where one function sits in a kernel.
struct Placed<'f> {
    f: &'f RawFunc,
    /// Its index among the module's functions (`None`: the entry).
    index: Option<u32>,
    pc: u32,
    reg: u32,
    local: u32,
    frame: u32,
    shared: HashMap<String, Option<u32>>,
}

fn err(line: u32, message: String) -> ParseError {
    ParseError { line, message }
}

impl ModuleFuncs<'_> {
    fn index(&self, name: &str) -> Option<u32> {
        self.names.iter().position(|n| n == name).map(|i| i as u32)
    }

    /// The module functions `f` names: those it calls, takes the address of, or lists as
    /// call targets.
    fn named(&self, f: &RawFunc) -> BTreeSet<u32> {
        fn walk(o: &Operand, out: &mut Vec<String>) {
            match o {
                Operand::Sym(s) => out.push(s.clone()),
                Operand::Vec(v) | Operand::List(v) => v.iter().for_each(|x| walk(x, out)),
                Operand::Addr(b, _) | Operand::Not(b) => walk(b, out),
                _ => {}
            }
        }
        let mut names = Vec::new();
        for r in &f.raw {
            r.operands.iter().for_each(|o| walk(o, &mut names));
        }
        names.extend(f.tables.values().flatten().cloned());
        names.iter().filter_map(|n| self.index(n)).collect()
    }

    /// Whether `f` calls through a function address (which may come from anywhere, module
    /// variables included).
    fn calls_indirectly(f: &RawFunc) -> bool {
        f.raw.iter().any(|r| {
            (r.opcode == "call" || r.opcode.starts_with("call."))
                && r.operands
                    .iter()
                    .find(|o| !matches!(o, Operand::List(_)))
                    .is_some_and(|o| !matches!(o, Operand::Sym(_)))
        })
    }

    /// The functions `f` calls directly.
    fn calls(&self, f: &RawFunc) -> BTreeSet<u32> {
        f.raw
            .iter()
            .filter(|r| r.opcode == "call" || r.opcode.starts_with("call."))
            .flat_map(|r| r.operands.iter())
            .filter_map(|o| match o {
                Operand::Sym(s) => self.index(s),
                _ => None,
            })
            .collect()
    }

    fn defined(&self, i: u32, line: u32, by: &str) -> Result<&RawFunc, ParseError> {
        self.funcs[i as usize].as_ref().ok_or_else(|| {
            err(
                line,
                format!("{by} uses function {}, which the module declares but does not define", self.names[i as usize]),
            )
        })
    }

    /// A recursive direct call reachable from `root`, as a path of function names.
    fn cycle(&self, root: &RawFunc) -> Option<Vec<String>> {
        fn visit(m: &ModuleFuncs, i: u32, path: &mut Vec<u32>, done: &mut BTreeSet<u32>) -> Option<Vec<u32>> {
            if let Some(at) = path.iter().position(|&p| p == i) {
                let mut cyc = path[at..].to_vec();
                cyc.push(i);
                return Some(cyc);
            }
            if !done.insert(i) {
                return None;
            }
            path.push(i);
            let f = m.funcs[i as usize].as_ref()?;
            for c in m.calls(f) {
                if let Some(cyc) = visit(m, c, path, done) {
                    return Some(cyc);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        for c in self.calls(root) {
            if let Some(cyc) = visit(self, c, &mut Vec::new(), &mut done) {
                return Some(cyc.iter().map(|&i| self.names[i as usize].clone()).collect());
            }
        }
        None
    }

    /// `entry` and everything it may call, as one kernel; with the entry's opcodes as written.
    pub fn link(&self, entry: &RawFunc) -> Result<(Kernel, Vec<String>), ParseError> {
        let line0 = entry.raw.first().map_or(1, |r| r.line);
        if let Some(cyc) = self.cycle(entry) {
            return Err(err(
                line0,
                format!(
                    "{}: recursive calls ({}) are not supported: each function has one register file and frame per thread",
                    entry.name,
                    cyc.join(" → ")
                ),
            ));
        }
        // The entry, then the functions it reaches, breadth first; with an indirect call, every
        // function the module defines.
        let mut order: Vec<(Option<u32>, &RawFunc)> = vec![(None, entry)];
        let mut k = 0;
        while k < order.len() {
            let (_, f) = order[k];
            let mut reach: Vec<u32> = self.named(f).into_iter().collect();
            if Self::calls_indirectly(f) {
                reach.extend((0..self.names.len() as u32).filter(|&i| self.funcs[i as usize].is_some()));
            }
            for i in reach {
                if !order.iter().any(|(x, _)| *x == Some(i)) {
                    let line = f.raw.first().map_or(1, |r| r.line);
                    order.push((Some(i), self.defined(i, line, &f.name)?));
                }
            }
            k += 1;
        }
        self.build(&order, line0)
    }

    /// Decodes a function no entry reaches (so an unimplemented instruction in it is still an
    /// error), linked on its own; returns its opcodes.
    pub fn check_unlinked(&self, f: &RawFunc) -> Result<Vec<String>, ParseError> {
        let i = self.index(&f.name).expect("a module function");
        let mut order: Vec<(Option<u32>, &RawFunc)> = vec![(Some(i), f)];
        let mut k = 0;
        while k < order.len() {
            let (_, g) = order[k];
            for j in self.named(g) {
                if !order.iter().any(|(x, _)| *x == Some(j)) {
                    order.push((Some(j), self.defined(j, 1, &g.name)?));
                }
            }
            k += 1;
        }
        let line0 = f.raw.first().map_or(1, |r| r.line);
        if let Some(cyc) = self.cycle(f) {
            return Err(err(line0, format!("recursive calls ({}) are not supported", cyc.join(" → "))));
        }
        self.build(&order, line0).map(|(_, ops)| ops)
    }

    fn build(&self, order: &[(Option<u32>, &RawFunc)], line0: u32) -> Result<(Kernel, Vec<String>), ParseError> {
        let root = order[0].1;
        let mut layout = SharedLayout::default();
        let mut module_shared = HashMap::new();
        for v in self.shared {
            module_shared.insert(v.name.clone(), layout.add(v));
        }
        let (mut pc, mut reg, mut local, mut frame) = (0u32, 0u32, 0u32, 0u32);
        let mut placed = Vec::new();
        for &(index, f) in order {
            // Each function's frame and param space start 16-byte aligned (their variables are
            // aligned within them).
            if f.local_bytes > 0 {
                local = local.next_multiple_of(16);
            }
            if f.frame_bytes > 0 {
                frame = frame.next_multiple_of(16);
            }
            let shared = f.shared.iter().map(|v| (v.name.clone(), layout.add(v))).collect();
            placed.push(Placed { f, index, pc, reg, local, frame, shared });
            pc += f.raw.len() as u32;
            reg += f.reg_bits.len() as u32;
            local += f.local_bytes;
            frame += f.frame_bytes;
        }
        let dynamic = layout.dynamic_offset();
        let reg_bits: Vec<u8> = order.iter().flat_map(|(_, f)| f.reg_bits.iter().copied()).collect();
        let funcs: Vec<FuncInfo> = placed
            .iter()
            .filter_map(|p| {
                let index = p.index?;
                let slot = |o: u32, b: u32| Slot { offset: p.frame + o, bytes: b };
                Some(FuncInfo {
                    name: p.f.name.clone(),
                    index,
                    start: p.pc,
                    end: p.pc + p.f.raw.len() as u32,
                    params: p.f.params.iter().map(|x| slot(x.offset, x.bytes)).collect(),
                    result: p.f.result.as_ref().map(|x| slot(x.offset, x.bytes)),
                })
            })
            .collect();

        let read_vars: RefCell<BTreeSet<String>> = RefCell::new(BTreeSet::new());
        let mut code = Vec::with_capacity(pc as usize);
        let mut source = Vec::with_capacity(pc as usize);
        let mut specials = Vec::new();
        let mut opcodes = Vec::new();
        for p in &placed {
            let f = p.f;
            let resolve = |name: &str| -> Option<Sym> {
                if let Some(s) = f.vars.get(name) {
                    return Some(Sym::Frame(Slot { offset: p.frame + s.offset, bytes: s.bytes }));
                }
                if f.entry
                    && let Some(x) = f.params.iter().find(|x| x.name == name)
                {
                    return Some(Sym::Param(x.offset));
                }
                if let Some(&at) = f.locals.get(name) {
                    return Some(Sym::Local(p.local + at));
                }
                if let Some(&at) = p.shared.get(name).or_else(|| module_shared.get(name)) {
                    return Some(Sym::Shared(at.unwrap_or(dynamic)));
                }
                if let Some(v) = self.data.var(name) {
                    read_vars.borrow_mut().insert(name.to_string());
                    return Some(match v.space {
                        DataSpace::Global => Sym::Global(v.address()),
                        DataSpace::Const => Sym::Const(v.address()),
                    });
                }
                self.index(name).map(Sym::Func)
            };
            let result =
                p.index.map(|_| f.result.as_ref().map(|r| Slot { offset: p.frame + r.offset, bytes: r.bytes }));
            let ctx = DecodeCtx {
                labels: &f.labels,
                tables: &f.tables,
                protos: &f.protos,
                symbols: &resolve,
                reg_bits: &reg_bits,
                pc_base: p.pc,
                funcs: &funcs,
                result,
            };
            for (sp, r) in &f.specials {
                specials.push((*sp, r + p.reg));
            }
            for r in &f.raw {
                if p.index.is_none() {
                    opcodes.push(r.opcode.clone());
                }
                let operands = r.operands.iter().map(|o| relocate(o, p.reg)).collect();
                let op = decode(&r.opcode, operands, &ctx).map_err(|m| err(r.line, format!("`{}`: {m}", r.text)))?;
                code.push(Instr { guard: r.guard.map(|(g, n)| (g + p.reg, n)), op, line: r.line });
                source.push(r.text.clone());
            }
        }
        // Identical decoded code behaves identically, whatever the labels were called; the
        // module variables it reads are part of it.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for i in &code {
            format!("{:?}{:?}", i.guard, i.op).hash(&mut hasher);
        }
        for name in read_vars.borrow().iter() {
            let v = self.data.var(name).expect("resolved above");
            let view = self.data.view();
            let base = match v.space {
                DataSpace::Global => view.global.0,
                DataSpace::Const => view.constant.0,
            };
            // SAFETY: the variable lies inside its segment, a live allocation.
            let bytes = unsafe { std::slice::from_raw_parts((base + v.offset) as *const u8, v.bytes as usize) };
            (v.offset, bytes).hash(&mut hasher);
        }
        (&root.params, &reg_bits, &specials, local, frame, layout.end, &funcs).hash(&mut hasher);
        let _ = line0;
        let kernel = Kernel {
            name: root.name.clone(),
            params: root.params.clone(),
            param_bytes: root.param_bytes,
            maxntid: root.maxntid,
            reqntid: root.reqntid,
            code,
            source,
            reg_bits,
            specials,
            local_bytes: local,
            frame_bytes: frame.next_multiple_of(16),
            static_shared_bytes: layout.end,
            dynamic_shared_offset: dynamic,
            funcs,
            data: self.data.view(),
            body_hash: hasher.finish(),
        };
        Ok((kernel, opcodes))
    }
}

/// `o` with its registers moved by `base` (a function's registers in the kernel's file).
fn relocate(o: &Operand, base: Reg) -> Operand {
    match o {
        Operand::Reg(r) => Operand::Reg(r + base),
        Operand::Pair(a, b) => Operand::Pair(a + base, b + base),
        Operand::Vec(v) => Operand::Vec(v.iter().map(|x| relocate(x, base)).collect()),
        Operand::List(v) => Operand::List(v.iter().map(|x| relocate(x, base)).collect()),
        Operand::Addr(b, off) => Operand::Addr(Box::new(relocate(b, base)), *off),
        Operand::Not(b) => Operand::Not(Box::new(relocate(b, base))),
        other => other.clone(),
    }
}
