//! What the GPU will actually execute: each PTX variant assembled by ptxas for sm_80 and
//! sm_90a and disassembled by cuobjdump, checked for the instructions the performance work
//! relies on. Kept as a table in `docs/sass.md`; regenerate it with
//! `FERRITE_UPDATE_DOCS=1 cargo test --test sass`.
//!
//! - Tensor-core matmuls issue `HMMA` (the tensor-core instruction) and no FFMA in their loop;
//!   the sm_90a `wgmma` kernels issue Hopper's `HGMMA` instead.
//! - Elementwise and one-pass softmax kernels move data with 128-bit `LDG.E.128`/`STG.E.128`.
//! - The FP32 SGEMM reads shared memory with 128-bit `LDS.128`.
//! - The array ops' contiguous unary and binary entries (`unary_f32`, `binary_bf16`, ...) and
//!   same-width casts move 128-bit groups too.
//! - No kernel touches local memory (`LDL`/`STL`): every register array stays in registers.
//!   The exception is the `*_math_*` entries, which call libm's functions (`.func`, with a
//!   stack frame for their call and, for sin/cos, the argument reduction's array).

mod common;

use common::tools::{assemble, check_generated_doc, cuobjdump};
use ferrite::ptx::VARIANTS;
use std::collections::BTreeMap;
use std::process::Command;

/// SASS text per kernel for one PTX variant assembled for `target` (the cubin `tests/ptx.rs`
/// assembled from the same PTX, if it has run: `common::tools::assemble`).
fn sass(arch: &str, target: &str) -> BTreeMap<String, String> {
    let v = VARIANTS.iter().find(|v| v.arch == arch).unwrap();
    let (cubin, _) = assemble(v.ptx, target);
    let o = Command::new(cuobjdump()).arg("-sass").arg(&cubin).output().unwrap();
    assert!(o.status.success(), "cuobjdump: {}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.split("Function : ")
        .skip(1)
        .map(|f| {
            let (name, body) = f.split_once('\n').unwrap();
            (name.trim().to_string(), body.to_string())
        })
        .collect()
}

/// Instructions counted per kernel: (column, opcode prefix).
const COUNTED: [(&str, &str); 7] = [
    ("HMMA", "HMMA"),
    ("HGMMA", "HGMMA"),
    ("FFMA", "FFMA"),
    ("LDG.E.128", "LDG.E.128"),
    ("STG.E.128", "STG.E.128"),
    ("LDS.128", "LDS.128"),
    ("LDL/STL", "L"),
];

/// The opcodes of a SASS listing: the first word after the `/*address*/` and any predicate.
fn opcodes(body: &str) -> impl Iterator<Item = &str> {
    body.lines().filter_map(|l| {
        let code = l.split_once("*/")?.1;
        code.split_whitespace().find(|w| !w.starts_with('@') && !w.starts_with("/*"))
    })
}

fn count(body: &str, prefix: &str) -> usize {
    opcodes(body)
        .filter(|op| match prefix {
            "L" => op.starts_with("LDL") || op.starts_with("STL"),
            "FFMA" => *op == "FFMA" || op.starts_with("FFMA."),
            p => op.starts_with(p),
        })
        .count()
}

/// The array ops' contiguous elementwise entries, which must move 16-byte groups: unary and
/// binary ops of every dtype (`unary_f32`, `binary_u8`, the `_math_` ones too), and casts
/// between types of the same width.
fn contiguous_elementwise(name: &str) -> bool {
    const TYPES: [&str; 8] = ["f32", "f64", "f16", "bf16", "i32", "i64", "u8", "u32"];
    let width = |t: &str| match t {
        "f64" | "i64" => 8,
        "f16" | "bf16" => 2,
        "u8" | "bool" => 1,
        _ => 4,
    };
    let family = ["unary_", "unary_math_", "binary_", "binary_math_"]
        .iter()
        .any(|f| name.strip_prefix(f).is_some_and(|t| TYPES.contains(&t)));
    let cast = name.strip_prefix("cast_").and_then(|p| p.split_once('_')).is_some_and(|(a, b)| width(a) == width(b));
    family || cast
}

#[test]
fn kernels_compile_to_the_instructions_they_were_written_for() {
    let mut table = String::new();
    for (arch, target) in [("sm_80", "sm_80"), ("sm_90a", "sm_90a")] {
        let kernels = sass(arch, target);
        for (name, body) in &kernels {
            if !name.contains("_math_") {
                assert_eq!(count(body, "L"), 0, "{name} on {target} uses local memory (LDL/STL)");
            }
            let counts: Vec<usize> = COUNTED.iter().map(|(_, m)| count(body, m)).collect();
            let c = |m: &str| count(body, m);
            if name.starts_with("mma_matmul") {
                assert!(c("HMMA") >= 32, "{name} on {target}: {} HMMA", c("HMMA"));
                assert_eq!(c("FFMA"), 0, "{name} on {target} does its products in FFMA");
            }
            if name.starts_with("wgmma_matmul") {
                // 4 per stage (64 K) for each of the tile's K steps of 16, none of the older kind.
                assert!(
                    c("HGMMA") >= 4 && c("HMMA") == 0,
                    "{name} on {target}: {} HGMMA, {} HMMA",
                    c("HGMMA"),
                    c("HMMA")
                );
                assert_eq!(c("FFMA"), 0, "{name} on {target} does its products in FFMA");
            }
            if name.starts_with("softmax_regs") || contiguous_elementwise(name) {
                assert!(c("LDG.E.128") >= 1 && c("STG.E.128") >= 1, "{name} on {target}: no 128-bit global access");
            }
            if name == "sgemm_f32" {
                assert!(
                    c("LDS.128") >= 32 && c("FFMA") >= 512 && c("LDG.E.128") >= 2,
                    "{name} on {target}: {} LDS.128, {} FFMA, {} LDG.E.128",
                    c("LDS.128"),
                    c("FFMA"),
                    c("LDG.E.128")
                );
            }
            let interesting = name.starts_with("mma_")
                || name.starts_with("wgmma_")
                || name.starts_with("sgemm")
                || contiguous_elementwise(name)
                || name.starts_with("softmax")
                || name.starts_with("matmul_f32")
                || name.starts_with("dense_forward_f32");
            if interesting {
                let cells: Vec<String> = counts.iter().map(|n| n.to_string()).collect();
                table += &format!("| `{name}` | {target} | {} |\n", cells.join(" | "));
            }
        }
    }
    let header: Vec<&str> = COUNTED.iter().map(|(h, _)| *h).collect();
    let doc = format!(
        "# SASS evidence\n\nGenerated by `tests/sass.rs` (ptxas 12.9, cuobjdump 13.x); regenerate with \
         `FERRITE_UPDATE_DOCS=1 cargo test --test sass`. Instruction counts per kernel, static (an instruction in a \
         loop counts once). Every kernel of every variant is also checked for local memory: none has \
         any except the `*_math_*` entries (libm's calls and sin/cos's argument reduction).\n\n\
         | kernel | target | {} |\n|---|---|{}\n{table}",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    check_generated_doc("docs/sass.md", "sass", &doc);
}
