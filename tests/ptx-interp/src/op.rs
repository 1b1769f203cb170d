//! The decoded instruction set: what each PTX instruction becomes once parsed, with register
//! names resolved to indices, types to widths and labels to instruction numbers, so that
//! execution never looks at text.

/// A register index in the kernel's register file (one slot per lane).
pub type Reg = u32;

/// A source operand: a register (special registers have hidden slots of their own) or an
/// immediate, held as the bits of the instruction type (integers sign-extended to 64 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    Reg(Reg),
    Imm(u64),
}

/// Special registers, filled in each warp's hidden slots when the warp starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Special {
    Tid(u8),
    Ntid(u8),
    Ctaid(u8),
    Nctaid(u8),
    LaneId,
    WarpId,
    DynamicSmemSize,
    TotalSmemSize,
}

/// PTX state spaces of memory instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    Global,
    Shared,
    Local,
    Const,
    Generic,
}

impl Space {
    pub fn name(self) -> &'static str {
        match self {
            Space::Global => "global",
            Space::Shared => "shared",
            Space::Local => "local",
            Space::Const => "const",
            Space::Generic => "generic",
        }
    }
}

/// A memory operand `[base+offset]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    pub base: Src,
    pub offset: i64,
}

/// Integer and bit types: width in bits and signedness (`.b` types are unsigned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntTy {
    pub bits: u8,
    pub signed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOp {
    Add,
    Sub,
    MulLo,
    MulHi,
    Div,
    Rem,
    Min,
    Max,
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntUnOp {
    Not,
    Neg,
    Abs,
    /// Leading zeros; the result is a u32.
    Clz,
    /// Set bits; the result is a u32.
    Popc,
    /// Bits in reverse order.
    Brev,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FTy {
    F32,
    F64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `min`/`max` without `.NaN`: the non-NaN input wins, and `-0 < +0`.
    Min,
    Max,
    /// `min.NaN`/`max.NaN`: a NaN input gives the canonical NaN.
    MinNan,
    MaxNan,
    /// `copysign d, a, b`: `b` with the sign of `a`.
    Copysign,
}

/// `testp` properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestpOp {
    Finite,
    Infinite,
    Number,
    NotANumber,
    Normal,
    Subnormal,
}

/// One-input float operations. The `Approx*` ones compute the exact function rounded once,
/// which is within every bound the PTX ISA states for the `.approx` instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FUnOp {
    Neg,
    Abs,
    Sqrt,
    Rcp,
    ApproxSqrt,
    ApproxRcp,
    ApproxRsqrt,
    ApproxEx2,
    ApproxLg2,
    ApproxSin,
    ApproxCos,
    ApproxTanh,
}

/// `setp` comparison operators, integer and float (ordered, unordered, num/nan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Equ,
    Neu,
    Ltu,
    Leu,
    Gtu,
    Geu,
    Num,
    Nan,
}

/// A numeric type as `setp` and `cvt` see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumTy {
    Int(IntTy),
    F16,
    Bf16,
    Tf32,
    F32,
    F64,
}

impl NumTy {
    pub fn bits(self) -> u32 {
        match self {
            NumTy::Int(t) => t.bits as u32,
            NumTy::F16 | NumTy::Bf16 => 16,
            NumTy::Tf32 | NumTy::F32 => 32,
            NumTy::F64 => 64,
        }
    }
}

/// The modifiers of a `cvt` besides its rounding: `.ftz` (f32 subnormals to zero), `.sat`
/// (integers: clamp to the destination's range; floats: to `[0, 1]`), `.relu` (negative
/// results to 0) and `.satfinite` (infinities to the largest finite value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CvtMods {
    pub ftz: bool,
    pub sat: bool,
    pub relu: bool,
    pub satfinite: bool,
}

/// Rounding modifiers of `cvt` (float and integer rounding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rnd {
    None,
    Rn,
    Rna,
    Rz,
    Rm,
    Rp,
    Rni,
    Rzi,
    Rmi,
    Rpi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PredOp {
    And,
    Or,
    Xor,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShflMode {
    Up,
    Down,
    Bfly,
    Idx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteMode {
    All,
    Any,
    Uni,
    Ballot,
}

/// The `mma.sync` shapes and input types implemented (f32 accumulators, A row, B col).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmaKind {
    M16N8K8Tf32,
    M16N8K16Bf16,
    M16N8K16F16,
}

/// `wgmma` input types (f32 accumulators).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WgmmaInput {
    Bf16,
    F16,
}

/// One `wgmma.mma_async` with both operands in shared memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wgmma {
    pub input: WgmmaInput,
    /// Columns of D (`m64nNk16`).
    pub n: u32,
    /// The `N / 2` f32 accumulators, in order.
    pub d: Vec<Reg>,
    pub a_desc: Src,
    pub b_desc: Src,
    /// `scale-d` (a predicate register or an immediate): false computes `D = A·B`.
    pub scale_d: Src,
    pub neg_a: bool,
    pub neg_b: bool,
    pub trans_a: bool,
    pub trans_b: bool,
}

/// A variable of the thread's own param space (a function's parameters and result, and the
/// arguments and results of the calls it makes): its offset and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    pub offset: u32,
    pub bytes: u32,
}

/// The parameter sizes of a call's prototype (`.callprototype`), or of a function.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Proto {
    pub params: Vec<u32>,
    pub result: Option<u32>,
}

/// Whom a `call` calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallTarget {
    /// A function by name: its index in [`crate::parse::Kernel::funcs`].
    Direct(u32),
    /// A function address in a register, called through a prototype; with `.calltargets`, the
    /// functions (indices in the module) it may be.
    Indirect { addr: Src, proto: Proto, targets: Option<Vec<u32>> },
}

/// `call`: the callee, and the caller's variables holding the arguments and taking the result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub target: CallTarget,
    pub args: Vec<Slot>,
    pub result: Option<Slot>,
    pub uni: bool,
}

/// One decoded instruction.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `mov`: `d = a`, chopped to the destination's width.
    Mov {
        d: Reg,
        a: Src,
    },
    /// `mov.bN {d0, d1, ..}, a`: splits `a` into parts of `part_bits`, lowest first.
    Unpack {
        d: Vec<Option<Reg>>,
        a: Src,
        part_bits: u32,
    },
    /// `mov.bN d, {a0, a1, ..}`: the reverse.
    Pack {
        d: Reg,
        parts: Vec<Src>,
        part_bits: u32,
    },
    Int {
        op: IntOp,
        ty: IntTy,
        d: Reg,
        a: Src,
        b: Src,
    },
    IntUn {
        op: IntUnOp,
        ty: IntTy,
        d: Reg,
        a: Src,
    },
    /// Extended-precision `add.cc`, `addc`, `addc.cc`, `sub.cc`, `subc`, `subc.cc` on `bits`
    /// (32 or 64): `d = a ± b ± CC.CF` with `carry_in`, and the carry (for `sub`, the
    /// borrow) out to the thread's `CC.CF` with `carry_out`.
    AddCarry {
        sub: bool,
        carry_in: bool,
        carry_out: bool,
        bits: u8,
        d: Reg,
        a: Src,
        b: Src,
    },
    /// `mul.wide`: `ty` is the input type; the result has twice its width.
    MulWide {
        ty: IntTy,
        d: Reg,
        a: Src,
        b: Src,
    },
    /// `mad.lo` (`hi = false`) or `mad.hi`.
    Mad {
        ty: IntTy,
        hi: bool,
        d: Reg,
        a: Src,
        b: Src,
        c: Src,
    },
    /// `mad.wide`.
    MadWide {
        ty: IntTy,
        d: Reg,
        a: Src,
        b: Src,
        c: Src,
    },
    /// `shf.l`/`shf.r` (`left`), `.wrap` or `.clamp`, on `.b32`: the funnel shift of the
    /// 64-bit `b:a` by `c` (mod 32, or at most 32 with `clamp`), its upper (`shf.l`) or lower
    /// (`shf.r`) 32 bits.
    Shf {
        left: bool,
        clamp: bool,
        d: Reg,
        a: Src,
        b: Src,
        c: Src,
    },
    Bfe {
        ty: IntTy,
        d: Reg,
        a: Src,
        pos: Src,
        len: Src,
    },
    Selp {
        bits: u32,
        d: Reg,
        a: Src,
        b: Src,
        p: Src,
    },
    Setp {
        cmp: Cmp,
        ty: NumTy,
        d: Reg,
        a: Src,
        b: Src,
    },
    Pred {
        op: PredOp,
        d: Reg,
        a: Src,
        b: Src,
    },
    F {
        op: FOp,
        ty: FTy,
        d: Reg,
        a: Src,
        b: Src,
    },
    /// `ftz`: subnormal inputs and results flush to sign-preserving zero.
    FUn {
        op: FUnOp,
        ty: FTy,
        ftz: bool,
        d: Reg,
        a: Src,
    },
    /// `fma.rn`: one rounding.
    Fma {
        ty: FTy,
        d: Reg,
        a: Src,
        b: Src,
        c: Src,
    },
    Cvt {
        to: NumTy,
        from: NumTy,
        rnd: Rnd,
        mods: CvtMods,
        d: Reg,
        a: Src,
    },
    Testp {
        op: TestpOp,
        ty: FTy,
        d: Reg,
        a: Src,
    },
    /// `cvta.space` (`to = false`: space address to generic) or `cvta.to.space`.
    Cvta {
        to: bool,
        space: Space,
        d: Reg,
        a: Src,
    },
    /// `ld`: `bits` per element, `vec` elements; `signed` loads sign-extend into wider registers.
    Ld {
        space: Space,
        bits: u32,
        signed: bool,
        d: Vec<Option<Reg>>,
        addr: Addr,
    },
    St {
        space: Space,
        bits: u32,
        v: Vec<Src>,
        addr: Addr,
    },
    /// `ld.param` of a kernel parameter, at a byte offset of the parameter buffer.
    LdParam {
        bits: u32,
        signed: bool,
        d: Vec<Option<Reg>>,
        offset: u32,
    },
    /// `ld.param` of the thread's own param space (see [`Slot`]).
    LdFrame {
        bits: u32,
        signed: bool,
        d: Vec<Option<Reg>>,
        offset: u32,
    },
    /// `st.param` to the thread's own param space.
    StFrame {
        bits: u32,
        v: Vec<Src>,
        offset: u32,
    },
    Call(Box<Call>),
    /// `ret` from a function (`ret` in a kernel is [`Op::Exit`]): `result` is the function's
    /// result variable, copied to the caller's.
    Ret {
        result: Option<Slot>,
    },
    Bra {
        target: u32,
        uni: bool,
    },
    /// `brx.idx`: jump to `targets[idx]`.
    Brx {
        idx: Src,
        targets: Vec<u32>,
    },
    Exit,
    Trap,
    /// `bar.sync` / `barrier.sync` on a named barrier, all threads of the block.
    BarSync {
        id: Src,
    },
    Shfl {
        mode: ShflMode,
        d: Reg,
        p: Option<Reg>,
        a: Src,
        b: Src,
        c: Src,
        mask: Src,
    },
    Vote {
        mode: VoteMode,
        d: Reg,
        a: Src,
        negate: bool,
        mask: Src,
    },
    /// `fence.proxy.async` (any state space): orders this thread's generic-proxy writes before
    /// later async-proxy reads.
    FenceProxyAsync,
    /// Memory fences that order accesses only (`membar`, `fence.sc/acq_rel`): nothing to do in
    /// an interpreter whose memory is sequentially consistent.
    Fence,
    Mma {
        kind: MmaKind,
        d: [Reg; 4],
        a: [Src; 4],
        b: [Src; 2],
        c: [Src; 4],
    },
    WgmmaFence,
    WgmmaCommit,
    WgmmaWait {
        n: u32,
    },
    Wgmma(Box<Wgmma>),
}

impl Op {
    /// Instructions that need all threads of a warp (or warpgroup) together.
    pub fn collective(&self) -> Collective {
        match self {
            Op::Shfl { .. } | Op::Vote { .. } => Collective::Warp,
            Op::Mma { .. } => Collective::WarpAligned,
            Op::WgmmaFence | Op::WgmmaCommit | Op::WgmmaWait { .. } | Op::Wgmma(_) => Collective::Warpgroup,
            Op::BarSync { .. } => Collective::Block,
            _ => Collective::None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collective {
    None,
    /// Lanes named by a member mask.
    Warp,
    /// Every lane of the warp, at the same instruction.
    WarpAligned,
    /// Every thread of the four warps of a warpgroup, at the same instruction.
    Warpgroup,
    /// Every thread of the block that has not exited.
    Block,
}

/// A decoded instruction with its guard and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Instr {
    /// `@p` / `@!p`: the predicate register and whether it is negated.
    pub guard: Option<(Reg, bool)>,
    pub op: Op,
    /// 1-based line of the PTX text.
    pub line: u32,
}
