//! Operands as written (registers already resolved through the brace scopes they were
//! declared in), before the decoder gives them meaning per opcode.

use crate::op::{Reg, Special};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Reg(Reg),
    Special(Special),
    /// Integer literal (sign-extended) or float literal (`0f`: f32 bits, `0d`: f64 bits).
    Imm(u64),
    /// A name that is not a register: a label or a variable.
    Sym(String),
    /// `{a, b, ..}`.
    Vec(Vec<Operand>),
    /// `(a, b, ..)`: the parameter lists of `call`.
    List(Vec<Operand>),
    /// `_`.
    Sink,
    /// `[base+offset]`.
    Addr(Box<Operand>, i64),
    /// `d|p`.
    Pair(Reg, Reg),
    /// `!p`.
    Not(Box<Operand>),
}

/// Register names visible at one point of a function: nested brace scopes, innermost last.
#[derive(Default)]
pub struct Scopes {
    stack: Vec<Scope>,
}

#[derive(Default)]
struct Scope {
    names: HashMap<String, Reg>,
    /// Variables declared in the scope (a call's `.param`s), by their unique internal names.
    vars: HashMap<String, String>,
    /// `%r<26>`: prefix, count, first register.
    ranges: Vec<(String, u32, Reg)>,
}

impl Scopes {
    pub fn push(&mut self) {
        self.stack.push(Scope::default());
    }

    pub fn pop(&mut self) {
        self.stack.pop();
    }

    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    pub fn declare(&mut self, name: &str, reg: Reg) {
        if let Some(s) = self.stack.last_mut() {
            s.names.insert(name.to_string(), reg);
        }
    }

    /// Declares variable `name` in the innermost scope under the unique name `unique`.
    pub fn declare_var(&mut self, name: &str, unique: String) {
        if let Some(s) = self.stack.last_mut() {
            s.vars.insert(name.to_string(), unique);
        }
    }

    /// The unique name of the innermost variable `name` in scope.
    pub fn lookup_var(&self, name: &str) -> Option<&str> {
        self.stack.iter().rev().find_map(|s| s.vars.get(name)).map(String::as_str)
    }

    pub fn declare_range(&mut self, prefix: &str, count: u32, first: Reg) {
        if let Some(s) = self.stack.last_mut() {
            s.ranges.push((prefix.to_string(), count, first));
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Reg> {
        let digits = name.len() - name.bytes().rev().take_while(u8::is_ascii_digit).count();
        let (prefix, index) = (&name[..digits], name[digits..].parse::<u32>().ok());
        for s in self.stack.iter().rev() {
            if let Some(&r) = s.names.get(name) {
                return Some(r);
            }
            if let Some(i) = index {
                for (p, count, first) in s.ranges.iter().rev() {
                    if p == prefix && i < *count {
                        return Some(first + i);
                    }
                }
            }
        }
        None
    }
}

/// Splits at top-level commas (not inside `{}`, `[]` or `()`).
pub fn split_operands(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

pub fn parse_operand(s: &str, scopes: &Scopes) -> Result<Operand, String> {
    let s = s.trim();
    if s == "_" {
        return Ok(Operand::Sink);
    }
    if let Some(inner) = s.strip_prefix('{') {
        let inner = inner.strip_suffix('}').ok_or_else(|| format!("unbalanced vector operand `{s}`"))?;
        let parts = split_operands(inner).into_iter().map(|p| parse_operand(p, scopes)).collect::<Result<_, _>>()?;
        return Ok(Operand::Vec(parts));
    }
    if let Some(inner) = s.strip_prefix('(') {
        let inner = inner.strip_suffix(')').ok_or_else(|| format!("unbalanced parameter list `{s}`"))?;
        let parts = split_operands(inner).into_iter().map(|p| parse_operand(p, scopes)).collect::<Result<_, _>>()?;
        return Ok(Operand::List(parts));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(|| format!("unbalanced address operand `{s}`"))?.trim();
        let split = inner.char_indices().skip(1).find(|&(_, c)| c == '+' || c == '-').map(|(i, _)| i);
        let (base, offset) = match split {
            Some(i) => {
                let off = inner[i..].trim_start_matches('+').trim();
                (inner[..i].trim(), parse_int(off).ok_or_else(|| format!("bad address offset in `{s}`"))?)
            }
            None => (inner, 0),
        };
        let base = parse_operand(base, scopes)?;
        return Ok(Operand::Addr(Box::new(base), offset));
    }
    if let Some((d, p)) = s.split_once('|') {
        let reg = |x: &str| scopes.lookup(x.trim()).ok_or_else(|| format!("undeclared register `{}`", x.trim()));
        return Ok(Operand::Pair(reg(d)?, reg(p)?));
    }
    if let Some(rest) = s.strip_prefix('!') {
        return Ok(Operand::Not(Box::new(parse_operand(rest, scopes)?)));
    }
    if let Some(r) = scopes.lookup(s) {
        return Ok(Operand::Reg(r));
    }
    if s.starts_with('%') {
        return special(s).map(Operand::Special).ok_or_else(|| format!("undeclared register `{s}`"));
    }
    if let Some(v) = parse_imm(s) {
        return Ok(Operand::Imm(v));
    }
    if s.chars().all(|c| c == '$' || c == '_' || c == '.' || c.is_ascii_alphanumeric()) {
        return Ok(Operand::Sym(scopes.lookup_var(s).unwrap_or(s).to_string()));
    }
    Err(format!("cannot read operand `{s}`"))
}

fn special(s: &str) -> Option<Special> {
    let axis = |a: &str| match a {
        "x" => Some(0u8),
        "y" => Some(1),
        "z" => Some(2),
        _ => None,
    };
    let (name, a) = s.split_once('.').unwrap_or((s, ""));
    Some(match name {
        "%tid" => Special::Tid(axis(a)?),
        "%ntid" => Special::Ntid(axis(a)?),
        "%ctaid" => Special::Ctaid(axis(a)?),
        "%nctaid" => Special::Nctaid(axis(a)?),
        "%laneid" => Special::LaneId,
        "%warpid" => Special::WarpId,
        "%dynamic_smem_size" => Special::DynamicSmemSize,
        "%total_smem_size" => Special::TotalSmemSize,
        _ => return None,
    })
}

/// Integer (decimal, hex, octal, binary, optional `U`) or float (`0f`, `0d`) literal bits.
pub fn parse_imm(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("0f") {
        return (h.len() == 8).then(|| u32::from_str_radix(h, 16).ok().map(|v| v as u64)).flatten();
    }
    if let Some(h) = lower.strip_prefix("0d") {
        return (h.len() == 16).then(|| u64::from_str_radix(h, 16).ok()).flatten();
    }
    parse_int(s).map(|v| v as u64)
}

pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches(['U', 'u']);
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if let Some(b) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        u64::from_str_radix(b, 2).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse::<u64>().ok()?
    };
    Some(if neg { (v as i64).wrapping_neg() } else { v as i64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_resolve_through_scopes() {
        let mut sc = Scopes::default();
        sc.push();
        sc.declare_range("%r", 10, 0);
        sc.declare_range("%rd", 5, 10);
        sc.push();
        sc.declare("p", 15);
        assert_eq!(parse_operand("%r9", &sc), Ok(Operand::Reg(9)));
        assert_eq!(parse_operand("%rd4", &sc), Ok(Operand::Reg(14)));
        assert!(parse_operand("%rd5", &sc).is_err());
        assert_eq!(parse_operand("p", &sc), Ok(Operand::Reg(15)));
        assert_eq!(parse_operand("[%rd1+-16]", &sc), Ok(Operand::Addr(Box::new(Operand::Reg(11)), -16)));
        assert_eq!(parse_operand("[k_param_2]", &sc), Ok(Operand::Addr(Box::new(Operand::Sym("k_param_2".into())), 0)));
        assert_eq!(parse_operand("0f3F800000", &sc), Ok(Operand::Imm(0x3F80_0000)));
        assert_eq!(parse_operand("-1", &sc), Ok(Operand::Imm(u64::MAX)));
        assert_eq!(parse_operand("%tid.y", &sc), Ok(Operand::Special(Special::Tid(1))));
        assert_eq!(parse_operand("{_, %r1}", &sc), Ok(Operand::Vec(vec![Operand::Sink, Operand::Reg(1)])));
        sc.pop();
        assert!(parse_operand("p", &sc).map(|o| o == Operand::Sym("p".into())).unwrap());
        assert_eq!(split_operands("{%r1, %r2}, [%rd1+4], 3"), ["{%r1, %r2}", "[%rd1+4]", "3"]);
        assert_eq!(split_operands("(retval0), f, (param0, param1)"), ["(retval0)", "f", "(param0, param1)"]);
        sc.declare_var("param0", "param0#3".into());
        assert_eq!(
            parse_operand("(param0, x)", &sc),
            Ok(Operand::List(vec![Operand::Sym("param0#3".into()), Operand::Sym("x".into())]))
        );
        assert_eq!(parse_operand("[param0+8]", &sc), Ok(Operand::Addr(Box::new(Operand::Sym("param0#3".into())), 8)));
    }
}
