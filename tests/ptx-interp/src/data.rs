//! Module-level variables: `.global` and `.const` declarations, with their initializers (byte
//! lists, numbers, float literals, and addresses of other variables or functions), laid out in
//! declaration order in one segment per state space, as a loaded module keeps them for all its
//! launches.
//!
//! Addresses: a `.global` variable's address (its global-space address, which is also its
//! generic address) is [`DATA_WINDOW`] plus its offset in the segment, so that the decoded code
//! is the same whatever host memory holds the segment, and identical modules hash alike; the
//! access path maps the window onto that memory (an emulated-device allocation, so the global
//! bounds checks apply). A `.const` variable's const-space address is its offset in the const
//! segment and its generic address [`crate::memory::CONST_WINDOW`] plus that offset.

use crate::memory::{CONST_WINDOW, FUNC_WINDOW};
use crate::operand::parse_int;
use crate::parse::scalar_bytes;
use kernels_gpu::emu::DeviceBuffer;

/// Global-space (and generic) address of the first byte of the `.global` segment.
pub const DATA_WINDOW: u64 = 0xfd00_0000_0000_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataSpace {
    Global,
    Const,
}

/// One module-level variable.
#[derive(Clone, Debug)]
pub struct Var {
    pub name: String,
    pub space: DataSpace,
    /// Offset in its space's segment.
    pub offset: u64,
    pub bytes: u64,
}

impl Var {
    /// The address `mov.u64 d, var` gives: in the variable's own state space.
    pub fn address(&self) -> u64 {
        match self.space {
            DataSpace::Global => DATA_WINDOW + self.offset,
            DataSpace::Const => self.offset,
        }
    }

    /// The generic address (`generic(var)` in an initializer, `cvta` of [`Var::address`]).
    pub fn generic(&self) -> u64 {
        match self.space {
            DataSpace::Global => DATA_WINDOW + self.offset,
            DataSpace::Const => CONST_WINDOW + self.offset,
        }
    }
}

/// Where a kernel finds the module's segments: host address and length of each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataView {
    pub global: (u64, u64),
    pub constant: (u64, u64),
}

/// The segments of one module.
#[derive(Default)]
pub struct ModuleData {
    pub vars: Vec<Var>,
    index: std::collections::HashMap<String, usize>,
    global: Option<DeviceBuffer<u8>>,
    constant: Option<DeviceBuffer<u8>>,
}

impl std::fmt::Debug for ModuleData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleData").field("vars", &self.vars.len()).finish()
    }
}

/// A declaration as written, before layout: its initializer is read once every variable and
/// function has an address.
pub struct Decl {
    pub name: String,
    pub space: DataSpace,
    pub elem: u64,
    pub count: u64,
    pub align: u64,
    pub init: Option<String>,
}

/// `[.visible|.weak|.common] (.global|.const) [.align N] [.vN] .type name[[N]] [= init]`.
pub fn declaration(s: &str) -> Result<Decl, String> {
    let (decl, init) = match s.split_once('=') {
        Some((d, i)) => (d.trim(), Some(i.trim().to_string())),
        None => (s.trim(), None),
    };
    let words: Vec<&str> = decl.split_whitespace().collect();
    let space = if words.contains(&".global") {
        DataSpace::Global
    } else if words.contains(&".const") {
        DataSpace::Const
    } else {
        return Err(format!("not a .global or .const variable: `{s}`"));
    };
    if words.contains(&".extern") {
        return Err(format!("unresolved external variable `{s}` (the module must define it)"));
    }
    let elem =
        words.iter().find_map(|w| scalar_bytes(w)).ok_or_else(|| format!("variable without a type: `{s}`"))? as u64;
    let vec = words.iter().find_map(|w| w.strip_prefix(".v").and_then(|n| n.parse::<u64>().ok())).unwrap_or(1);
    let align = words.iter().position(|w| *w == ".align").and_then(|i| words.get(i + 1)).and_then(|a| a.parse().ok());
    let last = *words.last().ok_or_else(|| format!("empty declaration `{s}`"))?;
    let (name, count) = match last.split_once('[') {
        Some((n, c)) => {
            let c = c.trim_end_matches(']');
            let count = if c.is_empty() {
                // `x[] = {...}`: as many elements as the initializer has.
                init.as_deref().map_or(0, |i| list(i).len() as u64)
            } else {
                c.parse::<u64>().map_err(|_| format!("bad array size in `{s}`"))?
            };
            (n, count)
        }
        None => (last, 1),
    };
    Ok(Decl { name: name.to_string(), space, elem: elem * vec, count, align: align.unwrap_or(elem * vec).max(1), init })
}

/// The items of `{a, b, ...}` (nested braces flattened) or a single value.
fn list(init: &str) -> Vec<&str> {
    init.split([',', '{', '}']).map(str::trim).filter(|x| !x.is_empty()).collect()
}

impl ModuleData {
    /// Lays out `decls` and writes their initializers; `func_index` gives a function's index in
    /// the module (initializers may hold function addresses).
    pub fn build(decls: &[Decl], func_index: impl Fn(&str) -> Option<usize>) -> Result<ModuleData, String> {
        let mut vars = Vec::new();
        let mut ends = [0u64; 2];
        for d in decls {
            let end = &mut ends[(d.space == DataSpace::Const) as usize];
            let offset = end.next_multiple_of(d.align);
            *end = offset + d.elem * d.count;
            vars.push(Var { name: d.name.clone(), space: d.space, offset, bytes: d.elem * d.count });
        }
        let mut segs = [vec![0u8; ends[0] as usize], vec![0u8; ends[1] as usize]];
        for (d, v) in decls.iter().zip(&vars) {
            let Some(init) = &d.init else { continue };
            let items = list(init);
            if items.len() as u64 > d.count * (d.elem / elem_of(d)) {
                return Err(format!("{} initializers for the {}-byte variable {}", items.len(), v.bytes, d.name));
            }
            let seg = &mut segs[(d.space == DataSpace::Const) as usize];
            let size = elem_of(d);
            for (i, item) in items.iter().enumerate() {
                let value = value(item, size, &vars, &func_index)
                    .ok_or_else(|| format!("cannot read the initializer `{item}` of {}", d.name))?;
                let at = (v.offset + i as u64 * size) as usize;
                seg[at..at + size as usize].copy_from_slice(&value.to_le_bytes()[..size as usize]);
            }
        }
        let buffer = |s: &[u8]| (!s.is_empty()).then(|| DeviceBuffer::from_slice(s));
        let index = vars.iter().enumerate().map(|(i, v)| (v.name.clone(), i)).collect();
        Ok(ModuleData { global: buffer(&segs[0]), constant: buffer(&segs[1]), vars, index })
    }

    pub fn var(&self, name: &str) -> Option<&Var> {
        self.index.get(name).map(|&i| &self.vars[i])
    }

    pub fn view(&self) -> DataView {
        let of = |b: &Option<DeviceBuffer<u8>>| b.as_ref().map_or((0, 0), |b| (b.as_ptr() as u64, b.len() as u64));
        DataView { global: of(&self.global), constant: of(&self.constant) }
    }

    /// The bytes of every variable, for hashing code that reads them.
    pub fn bytes(&self) -> Vec<u8> {
        let of = |b: &Option<DeviceBuffer<u8>>| b.as_ref().map_or(Vec::new(), |b| b.to_vec());
        [of(&self.global), of(&self.constant)].concat()
    }
}

/// The size of one initializer item: the element type's (a `.v4 .f32` variable is initialized
/// one f32 at a time).
fn elem_of(d: &Decl) -> u64 {
    d.elem.min(8)
}

/// One initializer item as the bits of a `size`-byte element: an integer, a float literal
/// (`0f`, `0d`, or decimal, in the element's width), or an address: `var`, `var+N`,
/// `generic(var)`, a function's name.
fn value(item: &str, size: u64, vars: &[Var], func_index: &impl Fn(&str) -> Option<usize>) -> Option<u64> {
    let item = item.trim();
    if let Some(v) = crate::operand::parse_imm(item) {
        // A `0f` literal in an f64 element is widened (and the reverse narrowed), as ptxas does.
        let lower = item.to_ascii_lowercase();
        if lower.starts_with("0f") && size == 8 {
            return Some((f32::from_bits(v as u32) as f64).to_bits());
        }
        if lower.starts_with("0d") && size == 4 {
            return Some((f64::from_bits(v) as f32).to_bits() as u64);
        }
        return Some(v);
    }
    if let Ok(f) = item.parse::<f64>() {
        return Some(if size == 4 { (f as f32).to_bits() as u64 } else { f.to_bits() });
    }
    let (base, offset) = match item.rfind(['+', '-']).filter(|&i| i > 0) {
        Some(i) => (item[..i].trim(), parse_int(item[i..].trim_start_matches('+'))?),
        None => (item, 0),
    };
    let (generic, name) = match base.strip_prefix("generic(").and_then(|b| b.strip_suffix(')')) {
        Some(n) => (true, n.trim()),
        None => (false, base),
    };
    let at = match vars.iter().find(|v| v.name == name) {
        Some(v) if generic => v.generic(),
        Some(v) => v.address(),
        None => FUNC_WINDOW + 16 * func_index(name)? as u64,
    };
    Some(at.wrapping_add(offset as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_and_initializers() {
        let decls = [
            declaration(".global .align 4 .b8 t[8] = {0, 0, 128, 63, 0, 0, 192, 63}").unwrap(),
            declaration(".visible .global .align 8 .u64 p[2] = {t, generic(t)+4}").unwrap(),
            declaration(".const .align 4 .f32 c[2] = {0f3F800000, 2.5}").unwrap(),
            declaration(".global .u32 z").unwrap(),
        ];
        let d = ModuleData::build(&decls, |_| None).unwrap();
        assert_eq!(d.var("t").unwrap().offset, 0);
        assert_eq!(d.var("p").unwrap().offset, 8);
        assert_eq!(d.var("z").unwrap().offset, 24);
        assert_eq!(d.var("c").unwrap().address(), 0, "const variables have const-space addresses");
        let v = d.view();
        let g = unsafe { std::slice::from_raw_parts(v.global.0 as *const u8, v.global.1 as usize) };
        assert_eq!(&g[..8], &[0, 0, 128, 63, 0, 0, 192, 63]);
        assert_eq!(u64::from_le_bytes(g[8..16].try_into().unwrap()), DATA_WINDOW);
        assert_eq!(u64::from_le_bytes(g[16..24].try_into().unwrap()), DATA_WINDOW + 4);
        assert_eq!(&g[24..28], &[0; 4], "no initializer: zeros");
        let c = unsafe { std::slice::from_raw_parts(v.constant.0 as *const u8, 8) };
        assert_eq!(f32::from_le_bytes(c[..4].try_into().unwrap()), 1.0);
        assert_eq!(f32::from_le_bytes(c[4..].try_into().unwrap()), 2.5);
        assert!(declaration(".extern .global .b8 x[4]").is_err());
    }
}
