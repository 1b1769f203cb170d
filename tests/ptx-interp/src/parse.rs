//! A PTX module: its header, module-level variables (shared, global, const), device functions
//! (`.func`) and `.entry` functions. Each function is read into [`RawFunc`] (registers,
//! local frame, param-space variables, instructions with operands read but not decoded); each
//! entry is then linked with every function it may call into one [`Kernel`] (`link.rs`).

use crate::data::{ModuleData, declaration};
use crate::error::ParseError;
use crate::op::{Instr, Proto, Reg, Slot, Special};
use crate::operand::{Operand, Scopes, parse_operand, split_operands};
use crate::text::{Item, scan};
use std::collections::{BTreeMap, HashMap};

/// One kernel parameter as the `.entry` declares it (or a function's parameter).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    pub name: String,
    pub bytes: u32,
    /// Declared with `.ptr` (a pointer, as opposed to a 64-bit scalar).
    pub ptr: bool,
    /// Byte offset in the parameter buffer (a function's: in its param space).
    pub offset: u32,
}

/// A device function linked into a kernel: where its code is, and its parameters and result
/// in the thread's param space.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncInfo {
    pub name: String,
    /// Its index among the module's functions (its address is derived from it).
    pub index: u32,
    /// Its first instruction, and one past its last.
    pub start: u32,
    pub end: u32,
    pub params: Vec<Slot>,
    pub result: Option<Slot>,
}

/// One `.entry` with every function it may call, ready to run.
#[derive(Debug)]
pub struct Kernel {
    pub name: String,
    pub params: Vec<Param>,
    pub param_bytes: u32,
    pub maxntid: Option<[u32; 3]>,
    pub reqntid: Option<[u32; 3]>,
    /// The entry's code, then each linked function's.
    pub code: Vec<Instr>,
    /// The PTX text of each instruction, for error messages.
    pub source: Vec<String>,
    /// Width in bits of each register (1 for predicates); each function has registers of its own.
    pub reg_bits: Vec<u8>,
    /// Hidden registers holding the special registers the code reads.
    pub specials: Vec<(Special, Reg)>,
    /// Bytes of `.local` memory per thread (the entry's frame and each function's).
    pub local_bytes: u32,
    /// Bytes of each thread's param space: functions' parameters and results, and the variables
    /// of the calls the code makes.
    pub frame_bytes: u32,
    /// Bytes of static `.shared` memory; the dynamic region starts at `dynamic_shared_offset`.
    pub static_shared_bytes: u32,
    pub dynamic_shared_offset: u32,
    /// The device functions linked in, in code order.
    pub funcs: Vec<FuncInfo>,
    /// Where the module's `.global` and `.const` variables are.
    pub data: crate::data::DataView,
    /// A hash of the code (the functions and the module variables it reads included), so
    /// identical code in several modules runs once.
    pub body_hash: u64,
}

impl Kernel {
    /// The linked function an instruction belongs to (`None`: the entry's own code).
    pub fn func_at(&self, pc: u32) -> Option<&FuncInfo> {
        self.funcs.iter().find(|f| (f.start..f.end).contains(&pc))
    }
}

/// A parsed and fully decoded PTX module.
#[derive(Debug)]
pub struct Module {
    pub version: (u32, u32),
    pub target: String,
    pub kernels: Vec<Kernel>,
    /// Every opcode (with its modifiers, as written) and how often it occurs.
    pub opcodes: BTreeMap<String, usize>,
    /// The module's `.global` and `.const` variables (kernels hold their addresses).
    pub data: ModuleData,
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
pub(crate) struct SharedVar {
    pub name: String,
    pub bytes: Option<u32>,
    pub align: u32,
}

/// An instruction with its operands read but not yet decoded (labels may come later);
/// registers are the function's own.
#[derive(Clone)]
pub(crate) struct RawInstr {
    pub guard: Option<(Reg, bool)>,
    pub opcode: String,
    pub operands: Vec<Operand>,
    pub line: u32,
    pub text: String,
}

/// One function (`.entry` or `.func`) as read, before linking.
pub(crate) struct RawFunc {
    pub name: String,
    pub entry: bool,
    /// Entries: the kernel parameters (offsets in the parameter buffer); functions: the
    /// parameters (offsets in the function's param space).
    pub params: Vec<Param>,
    pub result: Option<Param>,
    pub param_bytes: u32,
    pub maxntid: Option<[u32; 3]>,
    pub reqntid: Option<[u32; 3]>,
    pub raw: Vec<RawInstr>,
    pub labels: HashMap<String, u32>,
    pub tables: HashMap<String, Vec<String>>,
    pub protos: HashMap<String, Proto>,
    pub reg_bits: Vec<u8>,
    pub specials: BTreeMap<Special, Reg>,
    /// `.local` variables (offsets in the function's frame).
    pub locals: HashMap<String, u32>,
    pub local_bytes: u32,
    /// Param-space variables: parameters, result and calls' variables (offsets in the
    /// function's param space).
    pub vars: HashMap<String, Slot>,
    pub frame_bytes: u32,
    /// `.shared` variables declared in the function.
    pub shared: Vec<SharedVar>,
}

#[derive(Default)]
struct Parser {
    shared: Vec<SharedVar>,
    opcodes: BTreeMap<String, usize>,
}

/// A function's text: its header and the items of its body (`None`: a declaration).
struct Def<'a> {
    header: &'a str,
    line: u32,
    body: Option<&'a [(u32, Item)]>,
}

impl Parser {
    fn module(mut self, text: &str) -> Result<Module, ParseError> {
        let items = scan(text)?;
        let mut version = None;
        let mut target = String::new();
        let mut defs: Vec<Def> = Vec::new();
        let mut decls = Vec::new();
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
                Item::Stmt(s) if is_function_header(s) => {
                    let body = if items.get(i + 1).map(|x| &x.1) == Some(&Item::Open) {
                        let end = matching_close(&items, i + 1).ok_or_else(|| err("function without an end".into()))?;
                        let body = &items[i + 2..end];
                        i = end;
                        Some(body)
                    } else {
                        None
                    };
                    if body.is_none() && is_entry_header(s) {
                        return Err(err("entry without a body".into()));
                    }
                    defs.push(Def { header: s, line: *line, body });
                }
                Item::Stmt(s) if s.split_whitespace().any(|w| w == ".shared") => {
                    let v = shared_var(s).map_err(err)?;
                    self.shared.push(v);
                }
                Item::Stmt(s) if s.split_whitespace().any(|w| w == ".global" || w == ".const") => {
                    decls.push(declaration(s).map_err(err)?);
                }
                Item::Stmt(s) => return Err(err(format!("unsupported module-level statement `{s}`"))),
                other => return Err(err(format!("unexpected {other:?} at module level"))),
            }
            i += 1;
        }
        let version = version.ok_or(ParseError { line: 1, message: "no .version directive".into() })?;

        // Functions by name: a declaration and its definition are one function.
        let mut names: Vec<String> = Vec::new();
        for d in &defs {
            let name = function_name(d.header).map_err(|m| ParseError { line: d.line, message: m })?;
            if !is_entry_header(d.header) && !names.contains(&name) {
                names.push(name);
            }
        }
        let func_index = |n: &str| names.iter().position(|x| x == n);
        let data = ModuleData::build(&decls, func_index).map_err(|m| ParseError { line: 1, message: m })?;

        let mut funcs: Vec<Option<RawFunc>> = names.iter().map(|_| None).collect();
        let mut entries = Vec::new();
        for d in &defs {
            let Some(body) = d.body else { continue };
            let f = self.function(d.header, d.line, body)?;
            if f.entry {
                entries.push(f);
            } else {
                let at = func_index(&f.name).expect("named above");
                if funcs[at].is_some() {
                    return Err(ParseError { line: d.line, message: format!("function {} is defined twice", f.name) });
                }
                funcs[at] = Some(f);
            }
        }
        let module = crate::link::ModuleFuncs { names: &names, funcs: &funcs, shared: &self.shared, data: &data };
        let mut kernels = Vec::with_capacity(entries.len());
        for e in &entries {
            let (k, opcodes) = module.link(e)?;
            for op in opcodes {
                *self.opcodes.entry(op).or_default() += 1;
            }
            kernels.push(k);
        }
        // Functions no entry reaches are decoded too: what the module holds must be implemented.
        for f in funcs.iter().flatten() {
            if !kernels.iter().any(|k| k.funcs.iter().any(|x| x.name == f.name)) {
                for op in module.check_unlinked(f)? {
                    *self.opcodes.entry(op).or_default() += 1;
                }
            }
        }
        Ok(Module { version, target, kernels, opcodes: self.opcodes, data })
    }

    fn function(&mut self, header: &str, header_line: u32, body: &[(u32, Item)]) -> Result<RawFunc, ParseError> {
        let err = |line: u32, m: String| ParseError { line, message: m };
        let entry = is_entry_header(header);
        let name = function_name(header).map_err(|m| err(header_line, m))?;
        let (result_list, param_list, directives) = signature(header).map_err(|m| err(header_line, m))?;
        let mut f = RawFunc {
            name,
            entry,
            params: Vec::new(),
            result: None,
            param_bytes: 0,
            maxntid: dims(directives, ".maxntid"),
            reqntid: dims(directives, ".reqntid"),
            raw: Vec::new(),
            labels: HashMap::new(),
            tables: HashMap::new(),
            protos: HashMap::new(),
            reg_bits: Vec::new(),
            specials: BTreeMap::new(),
            locals: HashMap::new(),
            local_bytes: 0,
            vars: HashMap::new(),
            frame_bytes: 0,
            shared: Vec::new(),
        };
        let mut offset = 0u32;
        for p in split_operands(param_list) {
            let (pname, bytes, align, ptr) = param_decl(p).map_err(|m| err(header_line, m))?;
            let at = if entry { &mut offset } else { &mut f.frame_bytes };
            *at = at.next_multiple_of(align);
            f.params.push(Param { name: pname.clone(), bytes, ptr, offset: *at });
            if !entry {
                f.vars.insert(pname, Slot { offset: *at, bytes });
            }
            *at += bytes;
        }
        f.param_bytes = offset;
        if let Some(list) = result_list {
            if entry {
                return Err(err(header_line, "an entry has no result".into()));
            }
            let parts = split_operands(list);
            if parts.len() != 1 {
                return Err(err(header_line, format!("a function result must be one parameter, not `{list}`")));
            }
            let (rname, bytes, align, ptr) = param_decl(parts[0]).map_err(|m| err(header_line, m))?;
            f.frame_bytes = f.frame_bytes.next_multiple_of(align);
            f.vars.insert(rname.clone(), Slot { offset: f.frame_bytes, bytes });
            f.result = Some(Param { name: rname, bytes, ptr, offset: f.frame_bytes });
            f.frame_bytes += bytes;
        }

        let mut scopes = Scopes::default();
        scopes.push();
        let mut pending_label: Option<String> = None;
        let mut unique = 0usize;
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
                    f.labels.insert(l.clone(), f.raw.len() as u32);
                    pending_label = Some(l.clone());
                    continue;
                }
                Item::Stmt(s) => {
                    if let Some(rest) = s.strip_prefix(".branchtargets").or_else(|| s.strip_prefix(".calltargets")) {
                        let label = pending_label.take().ok_or_else(|| err(line, format!("`{s}` without a label")))?;
                        f.tables.insert(label, rest.split(',').map(|t| t.trim().to_string()).collect());
                        continue;
                    }
                    if let Some(rest) = s.strip_prefix(".callprototype") {
                        let label =
                            pending_label.take().ok_or_else(|| err(line, ".callprototype without a label".into()))?;
                        f.protos.insert(label, prototype(rest).map_err(|m| err(line, m))?);
                        continue;
                    }
                    if s.starts_with(".reg") {
                        f.declare_regs(s, &mut scopes).map_err(|m| err(line, m))?;
                    } else if s.starts_with(".local") {
                        f.declare_local(s).map_err(|m| err(line, m))?;
                    } else if s.starts_with(".param") {
                        // A call's argument or result, visible in its `{ }` block.
                        let (pname, bytes, align, _) = param_decl(s).map_err(|m| err(line, m))?;
                        unique += 1;
                        let internal = format!("{pname}#{unique}");
                        f.frame_bytes = f.frame_bytes.next_multiple_of(align);
                        f.vars.insert(internal.clone(), Slot { offset: f.frame_bytes, bytes });
                        f.frame_bytes += bytes;
                        scopes.declare_var(&pname, internal);
                    } else if s.starts_with(".shared") {
                        f.shared.push(shared_var(s).map_err(|m| err(line, m))?);
                    } else if s.starts_with(".pragma") || s.starts_with(".loc") {
                    } else if s.starts_with('.') {
                        return Err(err(line, format!("unsupported directive `{s}`")));
                    } else {
                        let r = f.raw_instr(s, line, &scopes).map_err(|m| err(line, m))?;
                        f.raw.push(r);
                    }
                }
            }
            pending_label = None;
        }
        Ok(f)
    }
}

impl RawFunc {
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
        self.locals.insert(name, at);
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
                let r = match self.specials.get(sp) {
                    Some(&r) => r,
                    None => {
                        let r = self.new_reg(32);
                        self.specials.insert(*sp, r);
                        r
                    }
                };
                *op = Operand::Reg(r);
            }
            Operand::Vec(v) | Operand::List(v) => v.iter_mut().for_each(|o| self.hide_specials(o)),
            Operand::Addr(b, _) | Operand::Not(b) => self.hide_specials(b),
            _ => {}
        }
    }
}

fn is_entry_header(s: &str) -> bool {
    s.split_whitespace().take(3).any(|w| w == ".entry")
}

fn is_function_header(s: &str) -> bool {
    s.split_whitespace().take(3).any(|w| w == ".entry" || w == ".func")
}

/// The function's name: the word before its parameter list (after the result list, if any).
fn function_name(header: &str) -> Result<String, String> {
    let (_, _, _) = signature(header)?;
    let kw = header.find(".entry").or_else(|| header.find(".func")).ok_or("not a function")?;
    let mut rest = header[kw..].split_once(char::is_whitespace).map_or("", |x| x.1).trim_start();
    if rest.starts_with('(') {
        let close = matching_paren(rest).ok_or("unclosed result list")?;
        rest = rest[close + 1..].trim_start();
    }
    let end = rest.find(|c: char| c == '(' || c.is_whitespace()).unwrap_or(rest.len());
    let name = &rest[..end];
    if name.is_empty() {
        return Err(format!("function without a name: `{header}`"));
    }
    Ok(name.to_string())
}

/// `(result list, parameter list, trailing directives)` of a function header.
fn signature(header: &str) -> Result<(Option<&str>, &str, &str), String> {
    let kw = header.find(".entry").or_else(|| header.find(".func")).ok_or("not a function")?;
    let mut rest = header[kw..].split_once(char::is_whitespace).map_or("", |x| x.1).trim_start();
    let mut result = None;
    if rest.starts_with('(') {
        let close = matching_paren(rest).ok_or("unclosed result list")?;
        result = Some(&rest[1..close]);
        rest = rest[close + 1..].trim_start();
    }
    match rest.find('(') {
        Some(open) => {
            let tail = &rest[open..];
            let close = matching_paren(tail).ok_or("unclosed parameter list")?;
            Ok((result, &tail[1..close], &tail[close + 1..]))
        }
        None => Ok((result, "", rest)),
    }
}

fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `.param [.align A] .type [.ptr [.space] [.align A]] name[[N]]`: `(name, bytes, align, ptr)`.
fn param_decl(p: &str) -> Result<(String, u32, u32, bool), String> {
    let words: Vec<&str> = p.split_whitespace().collect();
    if words.first() != Some(&".param") {
        return Err(format!("unsupported parameter `{p}` (only .param)"));
    }
    let elem = words.iter().find_map(|w| scalar_bytes(w)).ok_or_else(|| format!("unsupported parameter `{p}`"))?;
    let last = *words.last().unwrap_or(&"");
    // A struct passed by value: `.param .align 8 .b8 name[72]`.
    let (name, count) = match last.split_once('[') {
        Some((n, rest)) => {
            let count = rest
                .trim_end_matches(']')
                .parse::<u32>()
                .map_err(|_| format!("array parameter `{p}` without a constant length"))?;
            (n.to_string(), count)
        }
        None => (last.to_string(), 1),
    };
    // The first `.align` is the parameter's; one after `.ptr` is the pointee's.
    let ptr = words.contains(&".ptr");
    let ptr_at = words.iter().position(|w| *w == ".ptr").unwrap_or(words.len());
    let align = match words.iter().position(|w| *w == ".align").filter(|&i| i < ptr_at) {
        Some(i) => words.get(i + 1).and_then(|a| a.parse::<u32>().ok()).unwrap_or(elem),
        None => elem,
    };
    Ok((name, elem * count, align.max(1), ptr))
}

/// `[(.param .b32 _)] _ (.param .b32 _, ...)` of a `.callprototype`.
fn prototype(s: &str) -> Result<Proto, String> {
    let s = s.trim();
    let bad = || format!("bad .callprototype `{s}`");
    let (result, rest) = match s.strip_prefix('(') {
        Some(r) => {
            let close = r.find(')').ok_or_else(bad)?;
            let (_, bytes, _, _) = param_decl(r[..close].trim())?;
            (Some(bytes), r[close + 1..].trim())
        }
        None => (None, s),
    };
    let rest = rest.strip_prefix('_').ok_or_else(bad)?.trim();
    let params = match rest.strip_prefix('(') {
        Some(r) => {
            let inner = r.strip_suffix(')').ok_or_else(bad)?;
            split_operands(inner).into_iter().map(|p| param_decl(p).map(|x| x.1)).collect::<Result<_, _>>()?
        }
        None if rest.is_empty() => Vec::new(),
        None => return Err(bad()),
    };
    Ok(Proto { params, result })
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
        ".b32" | ".u32" | ".s32" | ".f32" | ".f16x2" | ".bf16x2" => 4,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_headers() {
        let h = ".func  (.param .b64 func_retval0) f(\n .param .b64 f_param_0,\n .param .align 8 .b8 f_param_1[16]\n)";
        assert_eq!(function_name(h).unwrap(), "f");
        let (r, p, _) = signature(h).unwrap();
        assert_eq!(r, Some(".param .b64 func_retval0"));
        assert_eq!(split_operands(p).len(), 2);
        assert_eq!(param_decl(".param .align 8 .b8 f_param_1[16]").unwrap(), ("f_param_1".into(), 16, 8, false));
        assert_eq!(param_decl(".param .u64 .ptr .align 1 k_param_1").unwrap(), ("k_param_1".into(), 8, 8, true));
        assert_eq!(function_name(".func g\n(\n .param .b64 g_param_0\n)").unwrap(), "g");
        assert_eq!(function_name(".visible .func h()").unwrap(), "h");
        assert_eq!(function_name(".visible .entry k(\n.param .u32 k_param_0\n)\n.maxntid 256, 1, 1").unwrap(), "k");
        let p = prototype(" (.param .b32 _) _ (.param .b32 _, .param .b64 _)").unwrap();
        assert_eq!(p, Proto { params: vec![4, 8], result: Some(4) });
        assert_eq!(prototype(" _ ()").unwrap(), Proto { params: vec![], result: None });
    }
}
