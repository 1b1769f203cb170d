//! `mma.sync.aligned` for one warp, from the PTX ISA's fragment tables ("Matrix Fragments for
//! mma.m16n8k8" and "for mma.m16n8k16 with floating point type"), with
//! `groupID = laneid / 4` and `threadID_in_group = laneid % 4`:
//!
//! - m16n8k8 `.tf32`: A `a0..a3` at rows `g, g+8, g, g+8`, columns `t, t, t+4, t+4`; B `b0, b1`
//!   at rows (K) `t, t+4`, column `g`.
//! - m16n8k16 `.bf16`/`.f16`: A `a0..a7` (two per register, the lower index in the low half)
//!   at row `g` for `a0, a1, a4, a5` and `g+8` otherwise, column `2t + (i & 1)`, plus 8 for
//!   `i >= 4`; B `b0..b3` at row (K) `2t + (i & 1)`, plus 8 for `i >= 2`, column `g`.
//! - C and D (f32) `c0..c3` at row `g` for `c0, c1` and `g+8` otherwise, column `2t + (i & 1)`.
//!
//! Products of tf32, bf16 or f16 values are exact in f64; each element of D is the f64 sum of
//! its K products and C, rounded once to f32. A tf32 operand's low 13 bits are ignored.

use crate::op::{MmaKind, Reg, Src};
use crate::warp::Warp;
use half::{bf16, f16};

pub fn mma(kind: MmaKind, w: &mut Warp, d: [Reg; 4], a: [Src; 4], b: [Src; 2], c: [Src; 4]) {
    let k = if kind == MmaKind::M16N8K8Tf32 { 8 } else { 16 };
    let mut am = [[0f64; 16]; 16];
    let mut bm = [[0f64; 8]; 16];
    let mut cm = [[0f64; 8]; 16];
    let half = |bits: u32| -> f64 {
        match kind {
            MmaKind::M16N8K16Bf16 => bf16::from_bits(bits as u16).to_f64(),
            _ => f16::from_bits(bits as u16).to_f64(),
        }
    };
    for lane in 0..32 {
        let (g, t) = (lane / 4, lane % 4);
        let ar: [u32; 4] = std::array::from_fn(|i| w.get(a[i], lane) as u32);
        let br: [u32; 2] = std::array::from_fn(|i| w.get(b[i], lane) as u32);
        match kind {
            MmaKind::M16N8K8Tf32 => {
                let tf = |x: u32| f32::from_bits(x & 0xffff_e000) as f64;
                am[g][t] = tf(ar[0]);
                am[g + 8][t] = tf(ar[1]);
                am[g][t + 4] = tf(ar[2]);
                am[g + 8][t + 4] = tf(ar[3]);
                bm[t][g] = tf(br[0]);
                bm[t + 4][g] = tf(br[1]);
            }
            _ => {
                for i in 0..8 {
                    let v = half(ar[i / 2] >> (16 * (i % 2)));
                    let row = if i < 2 || (4..6).contains(&i) { g } else { g + 8 };
                    let col = 2 * t + (i & 1) + if i >= 4 { 8 } else { 0 };
                    am[row][col] = v;
                }
                for i in 0..4 {
                    let v = half(br[i / 2] >> (16 * (i % 2)));
                    bm[2 * t + (i & 1) + if i >= 2 { 8 } else { 0 }][g] = v;
                }
            }
        }
        for (i, &ci) in c.iter().enumerate() {
            cm[if i < 2 { g } else { g + 8 }][2 * t + (i & 1)] = f32::from_bits(w.get(ci, lane) as u32) as f64;
        }
    }
    for lane in 0..32 {
        let (g, t) = (lane / 4, lane % 4);
        for (i, &di) in d.iter().enumerate() {
            let (row, col) = (if i < 2 { g } else { g + 8 }, 2 * t + (i & 1));
            let sum = (0..k).fold(cm[row][col], |s, kk| s + am[row][kk] * bm[kk][col]);
            w.set(di, lane, (sum as f32).to_bits() as u64);
        }
    }
}
