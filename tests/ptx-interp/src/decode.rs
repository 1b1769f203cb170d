//! Opcode and operands to [`Op`]: every modifier is either understood or rejected, so an
//! instruction the interpreter would get wrong cannot run silently.

use crate::link::Sym;
use crate::memory::{CONST_WINDOW, FUNC_WINDOW, LOCAL_WINDOW, SHARED_WINDOW};
use crate::op::*;
use crate::operand::Operand;
use crate::parse::FuncInfo;
use std::collections::HashMap;

/// What decoding one function's instructions needs to know of the function and the kernel
/// it is linked into.
pub struct DecodeCtx<'a> {
    /// The function's labels (instruction numbers within it), `.branchtargets`/`.calltargets`
    /// lists and `.callprototype`s.
    pub labels: &'a HashMap<String, u32>,
    pub tables: &'a HashMap<String, Vec<String>>,
    pub protos: &'a HashMap<String, Proto>,
    /// The meaning of a name in the function.
    pub symbols: &'a dyn Fn(&str) -> Option<Sym>,
    /// The kernel's register widths.
    pub reg_bits: &'a [u8],
    /// The function's first instruction in the kernel's code.
    pub pc_base: u32,
    /// The functions linked into the kernel.
    pub funcs: &'a [FuncInfo],
    /// `None` in an entry (where `ret` exits); in a function, its result variable, if any.
    pub result: Option<Option<Slot>>,
}

pub(crate) type R<T> = Result<T, String>;

pub fn decode(opcode: &str, ops: Vec<Operand>, ctx: &DecodeCtx) -> R<Op> {
    let parts: Vec<&str> = opcode.split('.').collect();
    let (base, mods) = (parts[0], &parts[1..]);
    let d = Dec { ctx, ops: &ops };
    match base {
        "mov" => d.mov(mods),
        "add" | "sub" if mods.first() == Some(&"cc") => d.carry(base, mods),
        "addc" | "subc" => d.carry(base, mods),
        "add" | "sub" | "mul" | "div" | "rem" | "min" | "max" | "and" | "or" | "xor" | "shl" | "shr" => {
            d.binary(base, mods)
        }
        "not" | "neg" | "abs" | "clz" | "popc" | "brev" => d.unary(base, mods),
        "copysign" => {
            d.count(3)?;
            let ty = float_ty(one(mods)?).ok_or("copysign takes .f32 or .f64")?;
            Ok(Op::F { op: FOp::Copysign, ty, d: d.dst(0)?, a: d.src(1)?, b: d.src(2)? })
        }
        "testp" => {
            d.count(2)?;
            let [test, ty] = mods else { return Err(format!("unsupported testp form .{}", mods.join("."))) };
            let op = match *test {
                "finite" => TestpOp::Finite,
                "infinite" => TestpOp::Infinite,
                "number" => TestpOp::Number,
                "notanumber" => TestpOp::NotANumber,
                "normal" => TestpOp::Normal,
                "subnormal" => TestpOp::Subnormal,
                t => return Err(format!("unknown testp property .{t}")),
            };
            let ty = float_ty(ty).ok_or("testp takes .f32 or .f64")?;
            let dst = d.dst(0)?;
            if d.reg_bits(dst) != 1 {
                return Err("testp writes a predicate".into());
            }
            Ok(Op::Testp { op, ty, d: dst, a: d.src(1)? })
        }
        "call" => d.call(mods),
        "mad" | "fma" => d.mad(base, mods),
        "sqrt" | "rcp" | "rsqrt" | "ex2" | "lg2" | "sin" | "cos" | "tanh" => d.float_fn(base, mods),
        "bfe" => {
            d.count(4)?;
            Ok(Op::Bfe { ty: int_ty(one(mods)?)?, d: d.dst(0)?, a: d.src(1)?, pos: d.src(2)?, len: d.src(3)? })
        }
        "shf" => {
            d.count(4)?;
            let (left, clamp) = match mods {
                [dir @ ("l" | "r"), mode @ ("wrap" | "clamp"), "b32"] => (*dir == "l", *mode == "clamp"),
                _ => return unsupported(opcode),
            };
            Ok(Op::Shf { left, clamp, d: d.dst(0)?, a: d.src(1)?, b: d.src(2)?, c: d.src(3)? })
        }
        "selp" => {
            d.count(4)?;
            let bits = type_bits(one(mods)?)?;
            Ok(Op::Selp { bits, d: d.dst(0)?, a: d.src(1)?, b: d.src(2)?, p: d.src(3)? })
        }
        "setp" => d.setp(mods),
        "cvt" => d.cvt(mods),
        "cvta" => d.cvta(mods),
        "ld" | "st" => d.memory(base == "ld", mods),
        "bra" => {
            let uni = match mods {
                [] => false,
                ["uni"] => true,
                _ => return unsupported(opcode),
            };
            d.count(1)?;
            Ok(Op::Bra { target: d.label(0)?, uni })
        }
        "brx" => {
            if !(mods == ["idx"] || mods == ["idx", "uni"]) {
                return unsupported(opcode);
            }
            d.count(2)?;
            let Operand::Sym(t) = &ops[1] else { return Err("brx.idx needs a .branchtargets label".into()) };
            let names = ctx.tables.get(t).ok_or_else(|| format!("no .branchtargets named {t}"))?;
            let targets = names.iter().map(|n| d.resolve_label(n)).collect::<R<Vec<_>>>()?;
            Ok(Op::Brx { idx: d.src(0)?, targets })
        }
        // `ret` ends a kernel's thread, and returns from a function.
        "ret" if mods.is_empty() || mods == ["uni"] => match ctx.result {
            None => Ok(Op::Exit),
            Some(result) => Ok(Op::Ret { result }),
        },
        "exit" if mods.is_empty() => Ok(Op::Exit),
        "trap" if mods.is_empty() => Ok(Op::Trap),
        "bar" | "barrier" => {
            let ok = match base {
                "bar" => mods == ["sync"] || mods == ["cta", "sync"],
                _ => mods == ["sync"] || mods == ["sync", "aligned"] || mods == ["cta", "sync", "aligned"],
            };
            if !ok {
                return unsupported(opcode);
            }
            if ops.len() != 1 {
                return Err("barriers with a thread count are not supported".into());
            }
            Ok(Op::BarSync { id: d.src(0)? })
        }
        "shfl" => d.shfl(mods),
        "vote" => d.vote(mods),
        "fence" | "membar" => match mods {
            ["proxy", "async"] | ["proxy", "async", "shared::cta"] | ["proxy", "async", "global"] => {
                Ok(Op::FenceProxyAsync)
            }
            ["cta"] | ["gl"] | ["sys"] if base == "membar" => Ok(Op::Fence),
            ["sc" | "acq_rel", "cta" | "gpu" | "sys"] if base == "fence" => Ok(Op::Fence),
            _ => unsupported(opcode),
        },
        "mma" => d.mma(mods),
        "wgmma" => d.wgmma(mods),
        _ => unsupported(opcode),
    }
}

fn unsupported<T>(opcode: &str) -> R<T> {
    Err(format!("the interpreter does not implement `{opcode}`"))
}

fn one<'a>(mods: &[&'a str]) -> R<&'a str> {
    match mods {
        [t] => Ok(t),
        _ => Err(format!("expected one type modifier, got .{}", mods.join("."))),
    }
}

fn int_ty(t: &str) -> R<IntTy> {
    let (signed, bits) = match t.as_bytes().first() {
        Some(b's') => (true, &t[1..]),
        Some(b'u' | b'b') => (false, &t[1..]),
        _ => return Err(format!("`.{t}` is not an integer type")),
    };
    let bits: u8 = bits.parse().map_err(|_| format!("`.{t}` is not an integer type"))?;
    if ![8, 16, 32, 64].contains(&bits) {
        return Err(format!("`.{t}` is not an integer type"));
    }
    Ok(IntTy { bits, signed })
}

fn float_ty(t: &str) -> Option<FTy> {
    match t {
        "f32" => Some(FTy::F32),
        "f64" => Some(FTy::F64),
        _ => None,
    }
}

fn num_ty(t: &str) -> R<NumTy> {
    Ok(match t {
        "f16" => NumTy::F16,
        "bf16" => NumTy::Bf16,
        "tf32" => NumTy::Tf32,
        "f32" => NumTy::F32,
        "f64" => NumTy::F64,
        _ => NumTy::Int(int_ty(t)?),
    })
}

fn type_bits(t: &str) -> R<u32> {
    Ok(match t {
        "pred" => 1,
        _ => num_ty(t)?.bits(),
    })
}

pub(crate) struct Dec<'a> {
    pub(crate) ctx: &'a DecodeCtx<'a>,
    pub(crate) ops: &'a [Operand],
}

impl Dec<'_> {
    pub(crate) fn count(&self, n: usize) -> R<()> {
        if self.ops.len() == n { Ok(()) } else { Err(format!("expected {n} operands, found {}", self.ops.len())) }
    }

    pub(crate) fn dst(&self, i: usize) -> R<Reg> {
        match self.ops.get(i) {
            Some(Operand::Reg(r)) => Ok(*r),
            other => Err(format!("operand {} must be a register, found {other:?}", i + 1)),
        }
    }

    pub(crate) fn operand_src(&self, o: &Operand) -> R<Src> {
        match o {
            Operand::Reg(r) => Ok(Src::Reg(*r)),
            Operand::Imm(v) => Ok(Src::Imm(*v)),
            // `mov d, var`: the variable's address in its own state space; `mov d, func`: the
            // function's address.
            Operand::Sym(s) => match (self.ctx.symbols)(s) {
                Some(Sym::Shared(a)) | Some(Sym::Local(a)) => Ok(Src::Imm(a as u64)),
                Some(Sym::Global(a)) | Some(Sym::Const(a)) => Ok(Src::Imm(a)),
                Some(Sym::Func(i)) => Ok(Src::Imm(FUNC_WINDOW + 16 * i as u64)),
                Some(Sym::Param(_)) | Some(Sym::Frame(_)) => {
                    Err(format!("the address of parameter `{s}` is not supported (only ld.param/st.param of it)"))
                }
                None => Err(format!("`{s}` is not a register, a variable or a function")),
            },
            other => Err(format!("unexpected operand {other:?}")),
        }
    }

    pub(crate) fn src(&self, i: usize) -> R<Src> {
        self.operand_src(self.ops.get(i).ok_or_else(|| format!("missing operand {}", i + 1))?)
    }

    pub(crate) fn resolve_label(&self, name: &str) -> R<u32> {
        self.ctx.labels.get(name).map(|l| l + self.ctx.pc_base).ok_or_else(|| format!("no label {name}"))
    }

    fn label(&self, i: usize) -> R<u32> {
        match &self.ops[i] {
            Operand::Sym(s) => self.resolve_label(s),
            other => Err(format!("expected a label, found {other:?}")),
        }
    }

    pub(crate) fn reg_bits(&self, r: Reg) -> u32 {
        self.ctx.reg_bits[r as usize] as u32
    }

    fn mov(&self, mods: &[&str]) -> R<Op> {
        self.count(2)?;
        let bits = type_bits(one(mods)?)?;
        match (&self.ops[0], &self.ops[1]) {
            (Operand::Vec(parts), a) => {
                let d = parts
                    .iter()
                    .map(|p| match p {
                        Operand::Reg(r) => Ok(Some(*r)),
                        Operand::Sink => Ok(None),
                        o => Err(format!("cannot unpack into {o:?}")),
                    })
                    .collect::<R<Vec<_>>>()?;
                Ok(Op::Unpack { part_bits: bits / d.len() as u32, d, a: self.operand_src(a)? })
            }
            (_, Operand::Vec(parts)) => {
                let parts = parts.iter().map(|p| self.operand_src(p)).collect::<R<Vec<_>>>()?;
                Ok(Op::Pack { d: self.dst(0)?, part_bits: bits / parts.len() as u32, parts })
            }
            _ => Ok(Op::Mov { d: self.dst(0)?, a: self.src(1)? }),
        }
    }

    fn binary(&self, base: &str, mods: &[&str]) -> R<Op> {
        self.count(3)?;
        let (d, a, b) = (self.dst(0)?, self.src(1)?, self.src(2)?);
        let ty = *mods.last().ok_or("missing type")?;
        if let Some(fty) = float_ty(ty) {
            let rest = &mods[..mods.len() - 1];
            let nan = rest.contains(&"NaN");
            let op = match base {
                "add" => FOp::Add,
                "sub" => FOp::Sub,
                "mul" => FOp::Mul,
                "div" => FOp::Div,
                "min" if nan => FOp::MinNan,
                "max" if nan => FOp::MaxNan,
                "min" => FOp::Min,
                "max" => FOp::Max,
                _ => return Err(format!("{base} has no float form")),
            };
            let ok = match op {
                FOp::Min | FOp::Max => rest.is_empty(),
                FOp::MinNan | FOp::MaxNan => rest == ["NaN"],
                // An IEEE division is within the bounds of `.approx` (2 ulp) and `.full` (2 ulp).
                FOp::Div => matches!(rest, ["rn"] | ["approx"] | ["full"]),
                _ => matches!(rest, [] | ["rn"]),
            };
            if !ok {
                return Err(format!("unsupported modifiers .{} on {base}.{ty}", rest.join(".")));
            }
            return Ok(Op::F { op, ty: fty, d, a, b });
        }
        if ty == "pred" {
            let op = match base {
                "and" => PredOp::And,
                "or" => PredOp::Or,
                "xor" => PredOp::Xor,
                _ => return Err(format!("{base} has no .pred form")),
            };
            return Ok(Op::Pred { op, d, a, b });
        }
        let ity = int_ty(ty)?;
        let op = match (base, &mods[..mods.len() - 1]) {
            ("add", []) => IntOp::Add,
            ("sub", []) => IntOp::Sub,
            ("mul", ["lo"]) => IntOp::MulLo,
            ("mul", ["hi"]) => IntOp::MulHi,
            ("mul", ["wide"]) => return Ok(Op::MulWide { ty: ity, d, a, b }),
            ("div", []) => IntOp::Div,
            ("rem", []) => IntOp::Rem,
            ("min", []) => IntOp::Min,
            ("max", []) => IntOp::Max,
            ("and", []) => IntOp::And,
            ("or", []) => IntOp::Or,
            ("xor", []) => IntOp::Xor,
            ("shl", []) => IntOp::Shl,
            ("shr", []) => IntOp::Shr,
            _ => return Err(format!("unsupported form {base}.{}", mods.join("."))),
        };
        Ok(Op::Int { op, ty: ity, d, a, b })
    }

    /// `add.cc`, `addc{.cc}`, `sub.cc`, `subc{.cc}`: 32- and 64-bit integers only.
    fn carry(&self, base: &str, mods: &[&str]) -> R<Op> {
        self.count(3)?;
        let (carry_out, ty) = match mods {
            ["cc", ty] => (true, *ty),
            [ty] => (false, *ty),
            _ => return Err(format!("unsupported form {base}.{}", mods.join("."))),
        };
        let carry_in = base.ends_with('c');
        if !carry_in && !carry_out {
            return Err(format!("{base} without .cc is not an extended-precision form"));
        }
        let ity = int_ty(ty)?;
        if ity.bits < 32 {
            return Err(format!("{base}.{} takes 32- or 64-bit integers", mods.join(".")));
        }
        let (d, a, b) = (self.dst(0)?, self.src(1)?, self.src(2)?);
        Ok(Op::AddCarry { sub: base.starts_with("sub"), carry_in, carry_out, bits: ity.bits, d, a, b })
    }

    fn unary(&self, base: &str, mods: &[&str]) -> R<Op> {
        self.count(2)?;
        let (d, a) = (self.dst(0)?, self.src(1)?);
        let ty = one(mods)?;
        if let Some(fty) = float_ty(ty) {
            let op = match base {
                "neg" => FUnOp::Neg,
                "abs" => FUnOp::Abs,
                _ => return Err(format!("{base} has no float form")),
            };
            return Ok(Op::FUn { op, ty: fty, ftz: false, d, a });
        }
        if ty == "pred" && base == "not" {
            return Ok(Op::Pred { op: PredOp::Not, d, a, b: Src::Imm(0) });
        }
        let op = match base {
            "not" => IntUnOp::Not,
            "neg" => IntUnOp::Neg,
            "abs" => IntUnOp::Abs,
            "clz" => IntUnOp::Clz,
            "brev" => IntUnOp::Brev,
            _ => IntUnOp::Popc,
        };
        Ok(Op::IntUn { op, ty: int_ty(ty)?, d, a })
    }

    fn mad(&self, base: &str, mods: &[&str]) -> R<Op> {
        self.count(4)?;
        let (d, a, b, c) = (self.dst(0)?, self.src(1)?, self.src(2)?, self.src(3)?);
        let ty = *mods.last().ok_or("missing type")?;
        let rest = &mods[..mods.len() - 1];
        if let Some(fty) = float_ty(ty) {
            // `mad.rn.f32` is a fused multiply-add, like `fma.rn`.
            if rest != ["rn"] {
                return Err(format!("unsupported modifiers .{} on {base}.{ty}", rest.join(".")));
            }
            return Ok(Op::Fma { ty: fty, d, a, b, c });
        }
        if base != "mad" {
            return Err("fma is float only".into());
        }
        let ity = int_ty(ty)?;
        match rest {
            ["lo"] => Ok(Op::Mad { ty: ity, hi: false, d, a, b, c }),
            ["hi"] => Ok(Op::Mad { ty: ity, hi: true, d, a, b, c }),
            ["wide"] => Ok(Op::MadWide { ty: ity, d, a, b, c }),
            _ => Err(format!("unsupported form mad.{}", mods.join("."))),
        }
    }

    fn float_fn(&self, base: &str, mods: &[&str]) -> R<Op> {
        self.count(2)?;
        let ty = float_ty(mods.last().ok_or("missing type")?).ok_or("float types only")?;
        let rest: Vec<&str> = mods[..mods.len() - 1].iter().copied().filter(|m| *m != "ftz").collect();
        let op = match (base, rest.as_slice()) {
            ("sqrt", ["rn"]) => FUnOp::Sqrt,
            ("rcp", ["rn"]) => FUnOp::Rcp,
            ("sqrt", ["approx"]) => FUnOp::ApproxSqrt,
            ("rcp", ["approx"]) => FUnOp::ApproxRcp,
            ("rsqrt", ["approx"]) => FUnOp::ApproxRsqrt,
            ("ex2", ["approx"]) => FUnOp::ApproxEx2,
            ("lg2", ["approx"]) => FUnOp::ApproxLg2,
            ("sin", ["approx"]) => FUnOp::ApproxSin,
            ("cos", ["approx"]) => FUnOp::ApproxCos,
            ("tanh", ["approx"]) => FUnOp::ApproxTanh,
            _ => return Err(format!("unsupported form {base}.{}", mods.join("."))),
        };
        if mods.contains(&"ftz") && !matches!(op, FUnOp::ApproxEx2 | FUnOp::ApproxRcp | FUnOp::ApproxRsqrt) {
            return Err(format!("unsupported .ftz on {base}"));
        }
        Ok(Op::FUn { op, ty, ftz: mods.contains(&"ftz"), d: self.dst(0)?, a: self.src(1)? })
    }

    fn setp(&self, mods: &[&str]) -> R<Op> {
        let [cmp, ty] = mods else { return Err(format!("unsupported setp form .{}", mods.join("."))) };
        self.count(3)?;
        let cmp = match *cmp {
            "eq" => Cmp::Eq,
            "ne" => Cmp::Ne,
            "lt" | "lo" => Cmp::Lt,
            "le" | "ls" => Cmp::Le,
            "gt" | "hi" => Cmp::Gt,
            "ge" | "hs" => Cmp::Ge,
            "equ" => Cmp::Equ,
            "neu" => Cmp::Neu,
            "ltu" => Cmp::Ltu,
            "leu" => Cmp::Leu,
            "gtu" => Cmp::Gtu,
            "geu" => Cmp::Geu,
            "num" => Cmp::Num,
            "nan" => Cmp::Nan,
            c => return Err(format!("unknown comparison .{c}")),
        };
        let ty = num_ty(ty)?;
        let float = matches!(ty, NumTy::F32 | NumTy::F64);
        if !float && !matches!(cmp, Cmp::Eq | Cmp::Ne | Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge) {
            return Err("unordered comparisons are float only".into());
        }
        if matches!(ty, NumTy::F16 | NumTy::Bf16 | NumTy::Tf32) {
            return Err("setp on 16-bit floats is not supported".into());
        }
        let d = self.dst(0)?;
        if self.reg_bits(d) != 1 {
            return Err("setp writes a predicate".into());
        }
        Ok(Op::Setp { cmp, ty, d, a: self.src(1)?, b: self.src(2)? })
    }

    fn cvt(&self, mods: &[&str]) -> R<Op> {
        self.count(2)?;
        let [rest @ .., to, from] = mods else { return Err("cvt needs two types".into()) };
        let mut rnd = Rnd::None;
        let mut m = CvtMods::default();
        for r in rest {
            let r = match *r {
                "rn" => Rnd::Rn,
                "rna" => Rnd::Rna,
                "rz" => Rnd::Rz,
                "rm" => Rnd::Rm,
                "rp" => Rnd::Rp,
                "rni" => Rnd::Rni,
                "rzi" => Rnd::Rzi,
                "rmi" => Rnd::Rmi,
                "rpi" => Rnd::Rpi,
                "ftz" => {
                    m.ftz = true;
                    continue;
                }
                "sat" => {
                    m.sat = true;
                    continue;
                }
                "relu" => {
                    m.relu = true;
                    continue;
                }
                "satfinite" => {
                    m.satfinite = true;
                    continue;
                }
                x => return Err(format!("unsupported cvt modifier .{x}")),
            };
            if rnd != Rnd::None {
                return Err("cvt with two roundings".into());
            }
            rnd = r;
        }
        let (to, from) = (num_ty(to)?, num_ty(from)?);
        crate::value::check_cvt(to, from, rnd, m)?;
        Ok(Op::Cvt { to, from, rnd, mods: m, d: self.dst(0)?, a: self.src(1)? })
    }

    fn cvta(&self, mods: &[&str]) -> R<Op> {
        self.count(2)?;
        let (to, rest) = match mods {
            ["to", rest @ ..] => (true, rest),
            rest => (false, rest),
        };
        let space = match rest {
            ["global", "u64"] => Space::Global,
            ["shared", "u64"] | ["shared::cta", "u64"] => Space::Shared,
            ["local", "u64"] => Space::Local,
            ["const", "u64"] => Space::Const,
            _ => return Err(format!("unsupported cvta form .{}", mods.join("."))),
        };
        Ok(Op::Cvta { to, space, d: self.dst(0)?, a: self.src(1)? })
    }

    fn memory(&self, load: bool, mods: &[&str]) -> R<Op> {
        self.count(2)?;
        let mut space = Space::Generic;
        let mut param = false;
        let mut vec = 1usize;
        let [qual @ .., ty] = mods else { return Err("missing type".into()) };
        for q in qual {
            match *q {
                "global" => space = Space::Global,
                "shared" | "shared::cta" => space = Space::Shared,
                "local" => space = Space::Local,
                "const" => space = Space::Const,
                "param" | "param::entry" | "param::func" => param = true,
                "v2" => vec = 2,
                "v4" => vec = 4,
                // Ordering and cache hints: no effect on values.
                "weak" | "volatile" | "ca" | "cg" | "cs" | "lu" | "cv" | "wb" | "wt" | "nc" => {}
                q if q.starts_with("L1::") || q.starts_with("L2::") => {}
                q => return Err(format!("unsupported memory modifier .{q}")),
            }
        }
        if !load && space == Space::Const {
            return Err("st.const: the const space is read-only".into());
        }
        let nty = num_ty(ty)?;
        let bits = nty.bits();
        let signed = matches!(nty, NumTy::Int(IntTy { signed: true, .. }));
        let (data, addr) = if load { (&self.ops[0], &self.ops[1]) } else { (&self.ops[1], &self.ops[0]) };
        let Operand::Addr(base, offset) = addr else { return Err(format!("expected an address, found {addr:?}")) };
        let items: Vec<&Operand> = match data {
            Operand::Vec(v) if v.len() == vec && vec > 1 => v.iter().collect(),
            o if vec == 1 => vec![o],
            o => return Err(format!("expected {vec} values, found {o:?}")),
        };
        let dsts = || {
            items
                .iter()
                .map(|o| match o {
                    Operand::Reg(r) => Ok(Some(*r)),
                    Operand::Sink => Ok(None),
                    o => Err(format!("cannot load into {o:?}")),
                })
                .collect::<R<Vec<_>>>()
        };
        let srcs = || items.iter().map(|o| self.operand_src(o)).collect::<R<Vec<_>>>();
        if param {
            let Operand::Sym(name) = &**base else { return Err("ld.param/st.param need a parameter name".into()) };
            let total = bits / 8 * vec as u32;
            return match (self.ctx.symbols)(name) {
                Some(Sym::Param(at)) if load => {
                    Ok(Op::LdParam { bits, signed, d: dsts()?, offset: (at as i64 + offset) as u32 })
                }
                Some(Sym::Param(_)) => Err("kernel parameters are read-only".into()),
                Some(Sym::Frame(slot)) => {
                    if *offset < 0 || *offset as u32 + total > slot.bytes {
                        return Err(format!(
                            "{total} bytes at offset {offset} of the {}-byte parameter {name}",
                            slot.bytes
                        ));
                    }
                    let at = slot.offset + *offset as u32;
                    if load {
                        Ok(Op::LdFrame { bits, signed, d: dsts()?, offset: at })
                    } else {
                        Ok(Op::StFrame { bits, v: srcs()?, offset: at })
                    }
                }
                _ => Err(format!("no parameter {name}")),
            };
        }
        let base = match &**base {
            Operand::Sym(name) => match ((self.ctx.symbols)(name), space) {
                (Some(Sym::Shared(a)), Space::Shared) | (Some(Sym::Local(a)), Space::Local) => Src::Imm(a as u64),
                (Some(Sym::Shared(a)), Space::Generic) => Src::Imm(SHARED_WINDOW + a as u64),
                (Some(Sym::Local(a)), Space::Generic) => Src::Imm(LOCAL_WINDOW + a as u64),
                (Some(Sym::Global(a)), Space::Global | Space::Generic) => Src::Imm(a),
                (Some(Sym::Const(a)), Space::Const) => Src::Imm(a),
                (Some(Sym::Const(a)), Space::Generic) => Src::Imm(CONST_WINDOW + a),
                _ => return Err(format!("`{name}` cannot be addressed in the {} space", space.name())),
            },
            o => self.operand_src(o)?,
        };
        let addr = Addr { base, offset: *offset };
        if load {
            Ok(Op::Ld { space, bits, signed, d: dsts()?, addr })
        } else {
            Ok(Op::St { space, bits, v: srcs()?, addr })
        }
    }
}
