//! Tensor-core matrix multiply-accumulate (`mma.sync`, sm_80 and newer) for one warp.
//!
//! Each function takes this lane's fragments of A (16×K, row-major), B (K×8, column-major) and
//! C (16×8, f32) and returns its fragment of `D = A·B + C`. Every lane of the warp must call it
//! together. The fragment layouts are the PTX ISA's; `emu/mma.rs` states them once for all
//! three shapes. Inputs: tf32 values (f32 bits with 13 low zero bits, see [`tf32`]), or two
//! bf16/f16 values per register (the lower K index in the low half, see [`pack2`]).

#[cfg(not(target_arch = "nvptx64"))]
use crate::emu::thread as target;

/// The shapes and types ferrite's tensor-core kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmaKind {
    /// `m16n8k8`, tf32 inputs.
    Tf32M16N8K8,
    /// `m16n8k16`, bf16 inputs.
    Bf16M16N8K16,
    /// `m16n8k16`, f16 inputs.
    F16M16N8K16,
}

/// `f32` rounded to tf32 (`cvt.rna.tf32.f32`: nearest, ties away from zero), as mma's A and B
/// registers take it.
#[inline(always)]
pub fn tf32(x: f32) -> u32 {
    #[cfg(target_arch = "nvptx64")]
    {
        let r: u32;
        unsafe {
            core::arch::asm!("cvt.rna.tf32.f32 {r}, {x};", r = out(reg32) r, x = in(reg32) x, options(pure, nomem, nostack))
        };
        r
    }
    #[cfg(not(target_arch = "nvptx64"))]
    target::tf32_rna(x)
}

/// `f32` rounded to bf16, nearest even (`cvt.rn.bf16.f32`, sm_80+: one instruction where the
/// portable [`crate::prelude::BF16::from_f32`] is a dozen, which matters in unrolled epilogues).
#[inline(always)]
pub fn bf16_rn(x: f32) -> u16 {
    #[cfg(target_arch = "nvptx64")]
    {
        let r: u16;
        unsafe {
            core::arch::asm!("cvt.rn.bf16.f32 {r}, {x};", r = out(reg16) r, x = in(reg32) x, options(pure, nomem, nostack))
        };
        r
    }
    #[cfg(not(target_arch = "nvptx64"))]
    crate::prelude::BF16::from_f32(x).0
}

/// `f32` rounded to f16, nearest even (`cvt.rn.f16.f32`).
#[inline(always)]
pub fn f16_rn(x: f32) -> u16 {
    #[cfg(target_arch = "nvptx64")]
    {
        let r: u16;
        unsafe {
            core::arch::asm!("cvt.rn.f16.f32 {r}, {x};", r = out(reg16) r, x = in(reg32) x, options(pure, nomem, nostack))
        };
        r
    }
    #[cfg(not(target_arch = "nvptx64"))]
    crate::prelude::F16::from_f32(x).0
}

/// Two 16-bit values in one register: `lo` in bits 0..16, `hi` in bits 16..32.
#[inline(always)]
pub fn pack2(lo: u16, hi: u16) -> u32 {
    lo as u32 | (hi as u32) << 16
}

macro_rules! mma_fn {
    ($(#[$doc:meta])* $name:ident, $kind:ident, $instr:literal) => {
        $(#[$doc])*
        #[inline(always)]
        pub fn $name(a: [u32; 4], b: [u32; 2], c: [f32; 4]) -> [f32; 4] {
            #[cfg(target_arch = "nvptx64")]
            {
                let d: [f32; 4];
                let (d0, d1, d2, d3): (f32, f32, f32, f32);
                unsafe {
                    core::arch::asm!(
                        concat!($instr, " {{{d0}, {d1}, {d2}, {d3}}}, {{{a0}, {a1}, {a2}, {a3}}}, {{{b0}, {b1}}}, {{{c0}, {c1}, {c2}, {c3}}};"),
                        d0 = out(reg32) d0, d1 = out(reg32) d1, d2 = out(reg32) d2, d3 = out(reg32) d3,
                        a0 = in(reg32) a[0], a1 = in(reg32) a[1], a2 = in(reg32) a[2], a3 = in(reg32) a[3],
                        b0 = in(reg32) b[0], b1 = in(reg32) b[1],
                        c0 = in(reg32) c[0], c1 = in(reg32) c[1], c2 = in(reg32) c[2], c3 = in(reg32) c[3],
                        options(pure, nomem, nostack),
                    );
                }
                d = [d0, d1, d2, d3];
                d
            }
            #[cfg(not(target_arch = "nvptx64"))]
            target::mma(MmaKind::$kind, a, b, c)
        }
    };
}

mma_fn!(
    /// `D = A·B + C` for 16×8×8 tf32 inputs.
    mma_m16n8k8_tf32, Tf32M16N8K8, "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"
);
mma_fn!(
    /// `D = A·B + C` for 16×8×16 bf16 inputs.
    mma_m16n8k16_bf16, Bf16M16N8K16, "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"
);
mma_fn!(
    /// `D = A·B + C` for 16×8×16 f16 inputs.
    mma_m16n8k16_f16, F16M16N8K16, "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"
);
