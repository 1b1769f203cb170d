//! A PTX module: its header, shared variables and `.entry` functions, each with its parameter
//! layout, launch-bound directives, register file, local frame and decoded code.

use crate::decode::{DecodeCtx, decode};
use crate::error::ParseError;
use crate::op::{Instr, Reg, Special};
use crate::operand::{Operand, Scopes, parse_operand, split_operands};
use crate::text::{Item, scan};
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

/// One kernel parameter as the `.entry` declares it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    pub name: String,
    pub bytes: u32,
    /// Declared with `.ptr` (a pointer, as opposed to a 64-bit scalar).
    pub ptr: bool,
    /// Byte offset in the parameter buffer.
    pub offset: u32,
}

/// One `.entry`, ready to run.
#[derive(Debug)]
pub struct Kernel {
    pub name: String,
    pub params: Vec<Param>,
    pub param_bytes: u32,
    pub maxntid: Option<[u32; 3]>,
    pub reqntid: Option<[u32; 3]>,
    pub code: Vec<Instr>,
    /// The PTX text of each instruction, for error messages.
    pub source: Vec<String>,
    /// Width in bits of each register (1 for predicates).
    pub reg_bits: Vec<u8>,
    /// Hidden registers holding the special registers the code reads.
    pub specials: Vec<(Special, Reg)>,
    /// Bytes of `.local` memory per thread.
    pub local_bytes: u32,
    /// Bytes of static `.shared` memory; the dynamic region starts at `dynamic_shared_offset`.
    pub static_shared_bytes: u32,
    pub dynamic_shared_offset: u32,
    /// A hash of the body, so identical code in several modules runs once.
    pub body_hash: u64,
}

/// A parsed and fully decoded PTX module.
#[derive(Debug)]
pub struct Module {
    pub version: (u32, u32),
    pub target: String,
    pub kernels: Vec<Kernel>,
    /// Every opcode (with its modifiers, as written) and how often it occurs.
    pub opcodes: BTreeMap<String, usize>,
}

impl Module {
    /// Parses and decodes the whole module: any instruction the interpreter does not
    /// implement is an error here, before anything runs.
    pub fn parse(text: &str) -> Result<Module, ParseError> {
        Parser::default().module(text)
    }

    pub fn kernel(&self, name: &str) -> Option<&Kernel> {
        self.kernels.iter().find(|k| k.name == name)
    }
}

/// A shared variable: its name, size (`None`: the dynamic, launch-sized array) and alignment.
#[derive(Clone, Debug)]
struct SharedVar {
    name: String,
    bytes: Option<u32>,
    align: u32,
}

#[derive(Default)]
struct Parser {
    shared: Vec<SharedVar>,
    opcodes: BTreeMap<String, usize>,
}

impl Parser {
    fn module(mut self, text: &str) -> Result<Module, ParseError> {
        let items = scan(text)?;
        let mut version = None;
        let mut target = String::new();
        let mut kernels = Vec::new();
        let mut i = 0;
        while i < items.len() {
            let (line, item) = &items[i];
            let err = |m: String| ParseError { line: *line, message: m };
            match item {
                Item::Stmt(s) if s.starts_with(".version") => {
                    let v = s[".version".len()..].trim();
                    let (a, b) = v.split_once('.').ok_or_else(|| err(format!("bad version `{v}`")))?;
                    version = Some((
                        a.parse().map_err(|_| err(format!("bad version `{v}`")))?,
                        b.parse().map_err(|_| err(format!("bad version `{v}`")))?,
                    ));
                }
                Item::Stmt(s) if s.starts_with(".target") => target = s[".target".len()..].trim().to_string(),
                Item::Stmt(s) if s.starts_with(".address_size") => {
                    if s[".address_size".len()..].trim() != "64" {
                        return Err(err(format!("only 64-bit addresses are supported, not `{s}`")));
                    }
                }
                Item::Stmt(s) if is_entry_header(s) => {
                    let end = matching_close(&items, i + 1).ok_or_else(|| err("entry without a body".into()))?;
                    kernels.push(self.kernel(s, *line, &items[i + 2..end])?);
                    i = end;
                }
                Item::Stmt(s) if s.split_whitespace().any(|w| w == ".func") => {
                    return Err(err(
                        "device functions (`.func`) are not supported: ferrite's kernels inline everything".into(),
                    ));
                }
                Item::Stmt(s) if s.split_whitespace().any(|w| w == ".shared") => {
                    let v = shared_var(s).map_err(err)?;
                    self.shared.push(v);
                }
                Item::Stmt(s) => return Err(err(format!("unsupported module-level statement `{s}`"))),
                other => return Err(err(format!("unexpected {other:?} at module level"))),
            }
            i += 1;
        }
        let version = version.ok_or(ParseError { line: 1, message: "no .version directive".into() })?;
        Ok(Module { version, target, kernels, opcodes: self.opcodes })
    }

    fn kernel(&mut self, header: &str, header_line: u32, body: &[(u32, Item)]) -> Result<Kernel, ParseError> {
        let err = |line: u32, m: String| ParseError { line, message: m };
        let open = header.find('(').ok_or_else(|| err(header_line, "entry without a parameter list".into()))?;
        let close = header.rfind(')').ok_or_else(|| err(header_line, "unclosed parameter list".into()))?;
        let name = header[..open].split_whitespace().last().unwrap_or("").to_string();
        let mut params = Vec::new();
        let mut offset = 0u32;
        for p in split_operands(&header[open + 1..close]) {
            let words: Vec<&str> = p.split_whitespace().collect();
            let ty = words.iter().find(|w| scalar_bytes(w).is_some()).copied();
            let elem =
                ty.and_then(scalar_bytes).ok_or_else(|| err(header_line, format!("unsupported parameter `{p}`")))?;
            let last = *words.last().unwrap_or(&"");
            // A struct passed by value: `.param .align 8 .b8 name[72]`.
            let (pname, count) = match last.split_once('[') {
                Some((n, rest)) => {
                    let count = rest.trim_end_matches(']').parse::<u32>().map_err(|_| {
                        err(header_line, format!("array parameter `{p}` without a constant length"))
                    })?;
                    (n.to_string(), count)
                }
                None => (last.to_string(), 1),
            };
            let align = match words.iter().position(|w| *w == ".align") {
                Some(i) => words.get(i + 1).and_then(|a| a.parse::<u32>().ok()).unwrap_or(elem),
                None => elem,
            };
            let bytes = elem * count;
            offset = offset.next_multiple_of(align.max(1));
            params.push(Param { name: pname, bytes, ptr: words.contains(&".ptr"), offset });
            offset += bytes;
        }
        let directives = &header[close + 1..];
        let (maxntid, reqntid) = (dims(directives, ".maxntid"), dims(directives, ".reqntid"));

        let mut k = KernelBuilder::new(name.clone(), &self.shared);
        for p in &params {
            k.symbols.insert(p.name.clone(), Sym::Param(p.offset));
        }
        let mut scopes = Scopes::default();
        scopes.push();
        let mut raw: Vec<RawInstr> = Vec::new();
        let mut labels: HashMap<String, u32> = HashMap::new();
        let mut tables: HashMap<String, Vec<String>> = HashMap::new();
        let mut pending_label: Option<String> = None;
        for (line, item) in body {
            let line = *line;
            match item {
                Item::Open => scopes.push(),
                Item::Close => {
                    scopes.pop();
                    if scopes.depth() == 0 {
                        return Err(err(line, "unbalanced `}`".into()));
                    }
                }
                Item::Label(l) => {
                    labels.insert(l.clone(), raw.len() as u32);
                    pending_label = Some(l.clone());
                    continue;
                }
                Item::Stmt(s) => {
                    if let Some(rest) = s.strip_prefix(".branchtargets") {
                        let label =
                            pending_label.take().ok_or_else(|| err(line, ".branchtargets without a label".into()))?;
                        tables.insert(label, rest.split(',').map(|t| t.trim().to_string()).collect());
                        continue;
                    }
                    if s.starts_with(".reg") {
                        k.declare_regs(s, &mut scopes).map_err(|m| err(line, m))?;
                    } else if s.starts_with(".local") {
                        k.declare_local(s).map_err(|m| err(line, m))?;
                    } else if s.starts_with(".shared") {
                        let v = shared_var(s).map_err(|m| err(line, m))?;
                        k.add_shared(&v);
                    } else if s.starts_with(".pragma") {
                    } else if s.starts_with('.') {
                        return Err(err(line, format!("unsupported directive `{s}`")));
                    } else {
                        raw.push(k.raw_instr(s, line, &scopes).map_err(|m| err(line, m))?);
                    }
                }
            }
            pending_label = None;
        }
        let ctx = DecodeCtx { labels: &labels, tables: &tables, symbols: &k.symbols, reg_bits: &k.reg_bits };
        let mut code = Vec::with_capacity(raw.len());
        let mut source = Vec::with_capacity(raw.len());
        for r in raw {
            *self.opcodes.entry(r.opcode.clone()).or_default() += 1;
            let op = decode(&r.opcode, r.operands, &ctx).map_err(|m| err(r.line, format!("`{}`: {m}", r.text)))?;
            code.push(Instr { guard: r.guard, op, line: r.line });
            source.push(r.text);
        }
        // Identical decoded code behaves identically, whatever the labels were called.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for i in &code {
            format!("{:?}{:?}", i.guard, i.op).hash(&mut hasher);
        }
        (&params, &k.reg_bits, &k.specials, k.local_bytes, k.static_shared).hash(&mut hasher);
        Ok(Kernel {
            name,
            param_bytes: offset,
            params,
            maxntid,
            reqntid,
            code,
            source,
            specials: k.specials.into_iter().collect(),
            reg_bits: k.reg_bits,
            local_bytes: k.local_bytes,
            static_shared_bytes: k.static_shared,
            dynamic_shared_offset: k.dynamic_offset,
            body_hash: hasher.finish(),
        })
    }
}

/// A symbol's address in its state space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sym {
    Shared(u32),
    Local(u32),
    Param(u32),
}

/// An instruction with its operands read but not yet decoded (labels may come later).
struct RawInstr {
    guard: Option<(Reg, bool)>,
    opcode: String,
    operands: Vec<Operand>,
    line: u32,
    text: String,
}

struct KernelBuilder {
    reg_bits: Vec<u8>,
    specials: BTreeMap<Special, Reg>,
    symbols: HashMap<String, Sym>,
    local_bytes: u32,
    static_shared: u32,
    dynamic_offset: u32,
    dynamic_names: Vec<String>,
}

impl KernelBuilder {
    fn new(name: String, shared: &[SharedVar]) -> Self {
        let _ = name;
        let mut k = KernelBuilder {
            reg_bits: Vec::new(),
            specials: BTreeMap::new(),
            symbols: HashMap::new(),
            local_bytes: 0,
            static_shared: 0,
            dynamic_offset: 0,
            dynamic_names: Vec::new(),
        };
        for v in shared {
            k.add_shared(v);
        }
        k
    }

    /// Static variables take the start of shared memory; dynamic (launch-sized) arrays all
    /// begin after them, 16-byte aligned at least.
    fn add_shared(&mut self, v: &SharedVar) {
        match v.bytes {
            Some(n) => {
                let at = self.static_shared.next_multiple_of(v.align.max(1));
                self.symbols.insert(v.name.clone(), Sym::Shared(at));
                self.static_shared = at + n;
            }
            None => self.dynamic_names.push(v.name.clone()),
        }
        self.dynamic_offset = self.static_shared.next_multiple_of(16);
        for n in &self.dynamic_names {
            self.symbols.insert(n.clone(), Sym::Shared(self.dynamic_offset));
        }
    }

    fn new_reg(&mut self, bits: u8) -> Reg {
        self.reg_bits.push(bits);
        (self.reg_bits.len() - 1) as Reg
    }

    /// `.reg .b32 %r<26>;` or `.reg .pred p, q;`
    fn declare_regs(&mut self, s: &str, scopes: &mut Scopes) -> Result<(), String> {
        let rest = s[".reg".len()..].trim();
        let (ty, names) =
            rest.split_once(char::is_whitespace).ok_or_else(|| format!("bad register declaration `{s}`"))?;
        let bits = match ty {
            ".pred" => 1,
            t => (scalar_bytes(t).ok_or_else(|| format!("unsupported register type `{t}`"))? * 8) as u8,
        };
        for n in names.split(',') {
            let n = n.trim();
            if let Some((prefix, count)) = n.strip_suffix('>').and_then(|x| x.split_once('<')) {
                let count: u32 = count.parse().map_err(|_| format!("bad register count in `{n}`"))?;
                let first = self.reg_bits.len() as Reg;
                self.reg_bits.extend(std::iter::repeat_n(bits, count as usize));
                scopes.declare_range(prefix, count, first);
            } else {
                let r = self.new_reg(bits);
                scopes.declare(n, r);
            }
        }
        Ok(())
    }

    /// `.local .align 8 .b8 __local_depot47[32];`
    fn declare_local(&mut self, s: &str) -> Result<(), String> {
        let (name, bytes, align) = array_var(s)?;
        let bytes = bytes.ok_or_else(|| format!("local array without a size: `{s}`"))?;
        let at = self.local_bytes.next_multiple_of(align.max(1));
        self.symbols.insert(name, Sym::Local(at));
        self.local_bytes = at + bytes;
        Ok(())
    }

    fn raw_instr(&mut self, s: &str, line: u32, scopes: &Scopes) -> Result<RawInstr, String> {
        let text = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut rest = text.as_str();
        let mut guard = None;
        if let Some(g) = rest.strip_prefix('@') {
            let (p, r) =
                g.split_once(char::is_whitespace).ok_or_else(|| format!("guard without an instruction: `{s}`"))?;
            let (neg, p) = match p.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, p),
            };
            let reg = scopes.lookup(p).ok_or_else(|| format!("undeclared guard predicate `{p}`"))?;
            guard = Some((reg, neg));
            rest = r.trim();
        }
        let (opcode, ops) = match rest.split_once(char::is_whitespace) {
            Some((o, r)) => (o, r.trim()),
            None => (rest, ""),
        };
        let mut operands = Vec::new();
        for o in split_operands(ops) {
            let mut op = parse_operand(o, scopes)?;
            self.hide_specials(&mut op);
            operands.push(op);
        }
        Ok(RawInstr { guard, opcode: opcode.to_string(), operands, line, text: rest.to_string() })
    }

    /// Special registers become hidden registers that each warp fills when it starts.
    fn hide_specials(&mut self, op: &mut Operand) {
        match op {
            Operand::Special(sp) => {
                let bits = 32;
                let r = match self.specials.get(sp) {
                    Some(&r) => r,
                    None => {
                        let r = self.new_reg(bits);
                        self.specials.insert(*sp, r);
                        r
                    }
                };
                *op = Operand::Reg(r);
            }
            Operand::Vec(v) => v.iter_mut().for_each(|o| self.hide_specials(o)),
            Operand::Addr(b, _) | Operand::Not(b) => self.hide_specials(b),
            _ => {}
        }
    }
}

fn is_entry_header(s: &str) -> bool {
    s.split_whitespace().take(3).any(|w| w == ".entry")
}

fn matching_close(items: &[(u32, Item)], open: usize) -> Option<usize> {
    if items.get(open).map(|i| &i.1) != Some(&Item::Open) {
        return None;
    }
    let mut depth = 0;
    for (j, (_, it)) in items.iter().enumerate().skip(open) {
        match it {
            Item::Open => depth += 1,
            Item::Close => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// Bytes of a scalar type name (`.u64`, `.f32`, ...).
pub fn scalar_bytes(t: &str) -> Option<u32> {
    Some(match t {
        ".b8" | ".u8" | ".s8" => 1,
        ".b16" | ".u16" | ".s16" | ".f16" | ".bf16" => 2,
        ".b32" | ".u32" | ".s32" | ".f32" => 4,
        ".b64" | ".u64" | ".s64" | ".f64" => 8,
        _ => return None,
    })
}

/// `.maxntid 256, 1, 1` in an entry's directives.
fn dims(directives: &str, name: &str) -> Option<[u32; 3]> {
    let at = directives.find(name)? + name.len();
    let mut out = [1u32; 3];
    let rest = &directives[at..];
    let end = rest.find('.').unwrap_or(rest.len());
    for (i, v) in rest[..end].split(',').take(3).enumerate() {
        out[i] = v.trim().parse().ok()?;
    }
    Some(out)
}

/// `(name, bytes or None for [], align)` of `... .align A .b8 name[N]`.
fn array_var(s: &str) -> Result<(String, Option<u32>, u32), String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let align = words.iter().position(|w| *w == ".align").and_then(|i| words.get(i + 1)).and_then(|a| a.parse().ok());
    let elem = words.iter().find_map(|w| scalar_bytes(w)).ok_or_else(|| format!("variable without a type: `{s}`"))?;
    let decl = words.last().ok_or_else(|| format!("empty declaration `{s}`"))?;
    let (name, count) = match decl.split_once('[') {
        Some((n, c)) => {
            let c = c.trim_end_matches(']');
            (
                n,
                if c.is_empty() {
                    None
                } else {
                    Some(c.parse::<u32>().map_err(|_| format!("bad array size in `{s}`"))?)
                },
            )
        }
        None => (*decl, Some(1)),
    };
    Ok((name.to_string(), count.map(|c| c * elem), align.unwrap_or(elem)))
}

fn shared_var(s: &str) -> Result<SharedVar, String> {
    if s.contains('=') {
        return Err(format!("initialised shared variables are not supported: `{s}`"));
    }
    let (name, bytes, align) = array_var(s)?;
    let dynamic = s.split_whitespace().any(|w| w == ".extern");
    Ok(SharedVar { name, bytes: if dynamic { None } else { Some(bytes.unwrap_or(0)) }, align })
}
