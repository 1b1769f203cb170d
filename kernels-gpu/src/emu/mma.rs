//! `mma.sync` on the emulator: rebuilds A, B and C from the 32 lanes' fragments exactly as the
//! PTX ISA lays them out (§9.7.14.5.7 `m16n8k8`, §9.7.14.5.8 `m16n8k16`), multiplies, and hands
//! each lane its fragment of D.
//!
//! In 32-bit registers both layouts read alike: with `g = lane / 4`, `t = lane % 4`,
//! A's register `r` holds row `g + 8·(r & 1)`, K-word `t + 4·(r >> 1)`; B's register `r` holds
//! column `g`, K-word `t + 4·r`; C/D's element `r` is row `g + 8·(r >> 1)`, column `2t + (r & 1)`.
//! A K-word is one tf32 element, or two 16-bit elements (the lower K index in the low half).
//!
//! Products of tf32, bf16 or f16 values are exact in f32; they are accumulated here in K order
//! with f32 FMAs. The hardware's accumulation order and rounding inside the tensor core are not
//! specified by PTX, so tests compare against f64 references with tolerances, never bit patterns.

use crate::prelude::{BF16, F16, MmaKind};

pub(crate) type Frag = ([u32; 4], [u32; 2], [u32; 4]);

/// The values a K-word holds: one tf32 element, or two 16-bit elements (low half first).
fn word_values(kind: MmaKind, w: u32) -> [f32; 2] {
    match kind {
        // The tensor core ignores the 13 low mantissa bits of a tf32 operand.
        MmaKind::Tf32M16N8K8 => [f32::from_bits(w & 0xffff_e000), 0.0],
        MmaKind::Bf16M16N8K16 => [BF16(w as u16).to_f32(), BF16((w >> 16) as u16).to_f32()],
        MmaKind::F16M16N8K16 => [F16(w as u16).to_f32(), F16((w >> 16) as u16).to_f32()],
    }
}

pub(crate) fn evaluate(kind: MmaKind, frags: &[Frag; 32]) -> [[u32; 4]; 32] {
    let per_word = if kind == MmaKind::Tf32M16N8K8 { 1 } else { 2 };
    let k = 8 * per_word;
    let (mut a, mut b, mut c) = ([[0f32; 16]; 16], [[0f32; 8]; 16], [[0f32; 8]; 16]);
    for (lane, (fa, fb, fc)) in frags.iter().enumerate() {
        let (g, t) = (lane / 4, lane % 4);
        for r in 0..4 {
            let (row, word) = (g + 8 * (r & 1), t + 4 * (r >> 1));
            for (h, v) in word_values(kind, fa[r]).into_iter().take(per_word).enumerate() {
                a[row][word * per_word + h] = v;
            }
            c[g + 8 * (r >> 1)][2 * t + (r & 1)] = f32::from_bits(fc[r]);
        }
        for (r, &w) in fb.iter().enumerate() {
            for (h, v) in word_values(kind, w).into_iter().take(per_word).enumerate() {
                b[(t + 4 * r) * per_word + h][g] = v;
            }
        }
    }
    let mut d = c;
    for (i, row) in d.iter_mut().enumerate() {
        for (j, acc) in row.iter_mut().enumerate() {
            for p in 0..k {
                *acc = a[i][p].mul_add(b[p][j], *acc);
            }
        }
    }
    core::array::from_fn(|lane| {
        let (g, t) = (lane / 4, lane % 4);
        core::array::from_fn(|r| d[g + 8 * (r >> 1)][2 * t + (r & 1)].to_bits())
    })
}
