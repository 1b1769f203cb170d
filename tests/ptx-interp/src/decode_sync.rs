//! Decoding of the warp-level and tensor-core instructions: `shfl.sync`, `vote.sync`,
//! `mma.sync` and the `wgmma` family, each in the forms the interpreter implements.

use crate::decode::{Dec, R};
use crate::op::*;
use crate::operand::Operand;

impl Dec<'_> {
    pub(crate) fn shfl(&self, mods: &[&str]) -> R<Op> {
        let ["sync", mode, "b32"] = mods else { return Err(format!("unsupported shfl form .{}", mods.join("."))) };
        let mode = match *mode {
            "up" => ShflMode::Up,
            "down" => ShflMode::Down,
            "bfly" => ShflMode::Bfly,
            "idx" => ShflMode::Idx,
            m => return Err(format!("unknown shfl mode .{m}")),
        };
        self.count(5)?;
        let (d, p) = match &self.ops[0] {
            Operand::Reg(r) => (*r, None),
            Operand::Pair(r, p) => (*r, Some(*p)),
            o => return Err(format!("bad shfl destination {o:?}")),
        };
        Ok(Op::Shfl { mode, d, p, a: self.src(1)?, b: self.src(2)?, c: self.src(3)?, mask: self.src(4)? })
    }

    pub(crate) fn vote(&self, mods: &[&str]) -> R<Op> {
        let mode = match mods {
            ["sync", "all", "pred"] => VoteMode::All,
            ["sync", "any", "pred"] => VoteMode::Any,
            ["sync", "uni", "pred"] => VoteMode::Uni,
            ["sync", "ballot", "b32"] => VoteMode::Ballot,
            _ => return Err(format!("unsupported vote form .{}", mods.join("."))),
        };
        self.count(3)?;
        let (a, negate) = match &self.ops[1] {
            Operand::Not(inner) => (self.operand_src(inner)?, true),
            o => (self.operand_src(o)?, false),
        };
        Ok(Op::Vote { mode, d: self.dst(0)?, a, negate, mask: self.src(2)? })
    }

    fn vec_regs<const N: usize>(&self, i: usize) -> R<[Reg; N]> {
        let Some(Operand::Vec(v)) = self.ops.get(i) else { return Err(format!("operand {} must be a vector", i + 1)) };
        if v.len() != N {
            return Err(format!("operand {} must have {N} registers", i + 1));
        }
        let mut out = [0; N];
        for (o, x) in out.iter_mut().zip(v) {
            let Operand::Reg(r) = x else { return Err(format!("expected a register, found {x:?}")) };
            *o = *r;
        }
        Ok(out)
    }

    fn vec_srcs<const N: usize>(&self, i: usize) -> R<[Src; N]> {
        Ok(self.vec_regs::<N>(i)?.map(Src::Reg))
    }

    pub(crate) fn mma(&self, mods: &[&str]) -> R<Op> {
        let kind = match mods {
            ["sync", "aligned", "m16n8k8", "row", "col", "f32", "tf32", "tf32", "f32"] => MmaKind::M16N8K8Tf32,
            ["sync", "aligned", "m16n8k16", "row", "col", "f32", "bf16", "bf16", "f32"] => MmaKind::M16N8K16Bf16,
            ["sync", "aligned", "m16n8k16", "row", "col", "f32", "f16", "f16", "f32"] => MmaKind::M16N8K16F16,
            _ => return Err(format!("unsupported mma form .{}", mods.join("."))),
        };
        self.count(4)?;
        Ok(Op::Mma { kind, d: self.vec_regs(0)?, a: self.vec_srcs(1)?, b: self.vec_srcs(2)?, c: self.vec_srcs(3)? })
    }

    pub(crate) fn wgmma(&self, mods: &[&str]) -> R<Op> {
        match mods {
            ["fence", "sync", "aligned"] => return self.count(0).map(|_| Op::WgmmaFence),
            ["commit_group", "sync", "aligned"] => return self.count(0).map(|_| Op::WgmmaCommit),
            ["wait_group", "sync", "aligned"] => {
                self.count(1)?;
                let Operand::Imm(n) = self.ops[0] else { return Err("wait_group takes a constant".into()) };
                return Ok(Op::WgmmaWait { n: n as u32 });
            }
            _ => {}
        }
        let ["mma_async", "sync", "aligned", shape, "f32", at, bt] = mods else {
            return Err(format!("unsupported wgmma form .{}", mods.join(".")));
        };
        let input = match (*at, *bt) {
            ("bf16", "bf16") => WgmmaInput::Bf16,
            ("f16", "f16") => WgmmaInput::F16,
            _ => return Err(format!("unsupported wgmma input types .{at}.{bt}")),
        };
        let n: u32 = shape
            .strip_prefix("m64n")
            .and_then(|s| s.strip_suffix("k16"))
            .and_then(|s| s.parse().ok())
            .filter(|n| n % 8 == 0 && (8..=256).contains(n))
            .ok_or_else(|| format!("unsupported wgmma shape .{shape}"))?;
        self.count(8)?;
        let Operand::Vec(dv) = &self.ops[0] else { return Err("wgmma accumulators must be a vector".into()) };
        if dv.len() != n as usize / 2 {
            return Err(format!("m64n{n}k16 needs {} accumulators, found {}", n / 2, dv.len()));
        }
        let d = dv
            .iter()
            .map(|o| match o {
                Operand::Reg(r) => Ok(*r),
                o => Err(format!("expected a register, found {o:?}")),
            })
            .collect::<R<Vec<_>>>()?;
        let imm = |i: usize| match self.ops[i] {
            Operand::Imm(v) => Ok(v as i64),
            ref o => Err(format!("operand {} must be a constant, found {o:?}", i + 1)),
        };
        let scale = |i: usize| match imm(i)? {
            1 => Ok(false),
            -1 => Ok(true),
            v => Err(format!("imm-scale must be 1 or -1, found {v}")),
        };
        let trans = |i: usize| match imm(i)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(format!("imm-trans must be 0 or 1, found {v}")),
        };
        Ok(Op::Wgmma(Box::new(Wgmma {
            input,
            n,
            d,
            a_desc: self.src(1)?,
            b_desc: self.src(2)?,
            scale_d: self.src(3)?,
            neg_a: scale(4)?,
            neg_b: scale(5)?,
            trans_a: trans(6)?,
            trans_b: trans(7)?,
        })))
    }
}
