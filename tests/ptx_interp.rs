//! The embedded PTX on the interpreter (`tests/ptx-interp`), as a whole:
//! - every variant parses and decodes: an opcode the interpreter lacks fails here, naming it;
//! - every `.entry` of every variant runs on a representative launch, and matches the
//!   Rust-source emulator (bit for bit; tensor-core kernels within their error bound of an
//!   f64 reference); an entry without such a launch fails the test, naming it;
//! - the op families' entries (`kernels_gpu::ops`, generated in `ptx_interp/families.rs`)
//!   run once per op, with NaN, ±inf, ±0, subnormals and integer extremes in their inputs,
//!   and the emulator's results must also match a host reference written independently of
//!   the kernels (`ptx_interp/reference.rs`): the PTX against the Rust, the Rust against the
//!   ops' definitions;
//! - the memory-access report of those runs is `docs/memory-access.md`, kept current here
//!   (regenerate with `FERRITE_UPDATE_DOCS=1 cargo test --test ptx_interp`);
//! - planted bugs in the PTX text (an `mma.sync` operand swap, a wrong `wgmma` descriptor
//!   field, a dropped `bar.sync`, a missing `cvta.to.shared`, a gather's bounds check off by
//!   one) fail the interpreter run.
//!
//! The kernel suites (tests/kernels_*.rs) run their own cases on the interpreter too, on the
//! inputs they use (awkward sizes, poisoned outputs), through `common::interp`.

// The host reference's `gelu` needs erfc (the toolchain is a pinned nightly anyway).
#![feature(float_erf)]

mod common;

#[path = "ptx_interp/cases.rs"]
mod cases;
#[path = "ptx_interp/families.rs"]
mod families;
#[path = "ptx_interp/fill.rs"]
mod fill;
#[path = "ptx_interp/gather.rs"]
mod gather;
#[path = "ptx_interp/reference.rs"]
mod reference;
#[path = "ptx_interp/report.rs"]
mod report;
#[path = "ptx_interp/sort.rs"]
mod sort;

use cases::{Outcome, all_cases};
use common::interp::modules;
use common::tools::check_generated_doc;
use ptx_interp::Module;
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn every_opcode_of_every_variant_is_implemented() {
    // `modules()` decodes every instruction of every entry; anything unimplemented panics there.
    let mods = modules();
    let mut all: BTreeSet<&str> = BTreeSet::new();
    for (arch, m) in mods {
        assert!(!m.kernels.is_empty(), "{arch}: no entries");
        all.extend(m.opcodes.keys().map(String::as_str));
    }
    for needed in [
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32",
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16",
        "shfl.sync.bfly.b32",
        "bar.sync",
        "fma.rn.f32",
    ] {
        assert!(all.contains(needed), "{needed} is not in the embedded PTX any more: update this test");
    }
}

#[test]
fn every_entry_runs_and_matches_the_emulator_and_the_report_is_current() {
    let mods = modules();
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for case in all_cases() {
        // Every case runs, so that one failure does not hide the next.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case.run(mods)));
        let outcome: Outcome = match run {
            Ok(o) => o,
            Err(p) => {
                let m = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                failed.push(m.unwrap_or_else(|| format!("{} panicked", case.name())));
                continue;
            }
        };
        for (arch, name) in &outcome.covered {
            covered.insert((arch.to_string(), name.to_string()));
        }
        rows.extend(outcome.rows);
    }
    assert!(failed.is_empty(), "{} entries fail:\n{}", failed.len(), failed.join("\n"));
    let all: BTreeSet<(String, String)> =
        mods.iter().flat_map(|(a, m)| m.kernels.iter().map(move |k| (a.to_string(), k.name.clone()))).collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "entries without a representative launch in tests/ptx_interp/cases.rs: {missing:?}");
    let opcodes: BTreeMap<&str, Vec<(&str, usize)>> = {
        let mut o: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
        for (arch, m) in mods {
            for (op, n) in &m.opcodes {
                o.entry(op.as_str()).or_default().push((arch, *n));
            }
        }
        o
    };
    check_generated_doc("docs/memory-access.md", "ptx_interp", &report::render(&rows, &opcodes));
}

/// `entry`'s text in `module` with `f` applied to it (the rest of the module unchanged).
fn mutate(ptx: &str, entry: &str, f: impl Fn(&str) -> String) -> String {
    let start = ptx.find(&format!(".visible .entry {entry}(")).unwrap_or_else(|| panic!("no entry {entry}"));
    let end = start + ptx[start..].find("\n}\n").expect("the entry's end") + 3;
    let body = &ptx[start..end];
    let changed = f(body);
    assert_ne!(changed, body, "the mutation of {entry} changed nothing");
    format!("{}{}{}", &ptx[..start], changed, &ptx[end..])
}

fn sm90a() -> &'static str {
    ferrite::ptx::VARIANTS.iter().find(|v| v.arch == "sm_90a").unwrap().ptx
}

/// Runs `case`'s kernel on the mutated PTX: it must fail (an error, or results that differ
/// from the emulator's); the same case on the unmutated PTX passes.
fn planted(case: &str, mutated: String, expect_error: Option<&str>) {
    let case = all_cases().into_iter().find(|c| c.name() == case).unwrap_or_else(|| panic!("no case {case}"));
    let good = Module::parse(sm90a()).unwrap();
    case.check_module("sm_90a", &good).unwrap_or_else(|e| panic!("the unmutated PTX fails: {e}"));
    let bad = Module::parse(&mutated).unwrap_or_else(|e| panic!("the mutated PTX does not parse: {e}"));
    match (case.check_module("sm_90a", &bad), expect_error) {
        (Ok(()), _) => panic!("the planted bug in {} went unnoticed", case.name()),
        (Err(e), Some(want)) => assert!(e.contains(want), "expected `{want}`, got: {e}"),
        (Err(_), None) => {}
    }
}

#[test]
fn a_swapped_mma_operand_is_caught() {
    let ptx = mutate(sm90a(), "mma_matmul_bf16", |body| {
        let at = body.find("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32").expect("an mma.sync");
        let line_end = at + body[at..].find('\n').unwrap();
        let line = &body[at..line_end];
        // Swap the first two registers of the A fragment (the second `{...}`).
        let a_start = line.match_indices('{').nth(1).unwrap().0;
        let a_end = a_start + line[a_start..].find('}').unwrap();
        let regs: Vec<&str> = line[a_start + 1..a_end].split(", ").collect();
        let swapped = format!("{}, {}, {}", regs[1], regs[0], regs[2..].join(", "));
        let new_line = format!("{}{}{}", &line[..a_start + 1], swapped, &line[a_end..]);
        format!("{}{}{}", &body[..at], new_line, &body[line_end..])
    });
    planted("mma_matmul_bf16", ptx, Some("error bound"));
}

#[test]
fn a_wrong_wgmma_descriptor_field_is_caught() {
    // LBO 128 and SBO 1024 encode as 274878431232; LBO 256 as 274878955520.
    let ptx = mutate(sm90a(), "wgmma_matmul_bf16", |body| body.replace("274878431232", "274878955520"));
    planted("wgmma_matmul_bf16", ptx, None);
}

#[test]
fn a_dropped_barrier_is_caught() {
    let ptx =
        mutate(sm90a(), "matmul_f32", |body| body.replacen("bar.sync \t0;", "", 1).replacen("bar.sync 0;", "", 1));
    planted("matmul_f32", ptx, Some("data race"));
}

#[test]
fn a_missing_shared_address_conversion_is_caught() {
    let ptx = mutate(sm90a(), "sgemm_f32", |body| body.replacen("cvta.to.shared.u64 s,", "mov.b64 s,", 1));
    planted("sgemm_f32", ptx, Some("outside the block's"));
}

#[test]
fn an_index_one_past_the_end_is_caught() {
    // `k >= n` weakened to `k > n`: index `n` would read the next row (or past the array).
    let ptx = mutate(sm90a(), "gather_b4", |body| body.replace("setp.ge.s64", "setp.gt.s64"));
    planted("gather_b4", ptx, None);
}
