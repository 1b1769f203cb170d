//! The op registry (as PyTorch's OpInfo): every array op is a row in `tests/ops/rows_*.rs`
//! (its dtypes, its f64 reference, its error bound and why, its sample domain), and one
//! runner (`tests/ops/runner.rs`) takes every row over every device of the harness (the CPU,
//! the emulated CUDA device with each PTX generation, the sm_90a PTX on the PTX interpreter,
//! and a GPU when present) and every dtype the row claims, on fresh random samples of awkward
//! sizes and views and the special values, then its error inputs. Outputs start poisoned
//! (`FERRITE_POISON=1`: every array `Storage::alloc` makes is filled with 0xFF bytes, NaN for floats,
//! before an op writes it). `where`, `any`, `all` and `cast` are rows of kinds of their own
//! (`rows_logic.rs`), the constructors custom rows with exact references (`rows_create.rs`);
//! every row's error inputs (its family's generic set and its own, `error_inputs.rs`) run on
//! every device and dtype.
//!
//! When the whole suite passed, every op-family entry of the PTX must have been launched on
//! each emulated device (`common::coverage`). Run one row: `cargo test --test ops -- exp`
//! (trials are named `device::row`).

mod common;

#[path = "ops/check.rs"]
mod check;
#[path = "ops/dynarray.rs"]
mod dynarray;
#[path = "ops/error_inputs.rs"]
mod error_inputs;
#[path = "ops/exact.rs"]
mod exact;
#[path = "ops/movement.rs"]
mod movement;
#[path = "ops/reference.rs"]
mod reference;
#[path = "ops/registry.rs"]
mod registry;
#[path = "ops/rows_create.rs"]
mod rows_create;
#[path = "ops/rows_create_errors.rs"]
mod rows_create_errors;
#[path = "ops/rows_elementwise.rs"]
mod rows_elementwise;
#[path = "ops/rows_index.rs"]
mod rows_index;
#[path = "ops/rows_join.rs"]
mod rows_join;
#[path = "ops/rows_logic.rs"]
mod rows_logic;
#[path = "ops/rows_mask.rs"]
mod rows_mask;
#[path = "ops/rows_matmul.rs"]
mod rows_matmul;
#[path = "ops/rows_movement.rs"]
mod rows_movement;
#[path = "ops/rows_movement_errors.rs"]
mod rows_movement_errors;
#[path = "ops/rows_reduce.rs"]
mod rows_reduce;
#[path = "ops/rows_sort.rs"]
mod rows_sort;
#[path = "ops/runner.rs"]
mod runner;
#[path = "ops/runner_kinds.rs"]
mod runner_kinds;
#[path = "ops/samples.rs"]
mod samples;

use common::devices::{DynCase, dyn_trials};
use ferrite::Device;
use std::sync::Arc;

fn main() {
    // SAFETY: set before any thread starts; the library reads it once, at its first allocation.
    unsafe { std::env::set_var("FERRITE_POISON", "1") };
    reference::self_check();
    exact::self_check();
    let mut cases: Vec<(String, DynCase)> = Vec::new();
    for row in rows_elementwise::rows()
        .into_iter()
        .chain(rows_reduce::rows())
        .chain(rows_movement::rows())
        .chain(rows_index::rows())
        .chain(rows_mask::rows())
        .chain(rows_sort::rows())
        .chain(rows_logic::rows())
        .chain(rows_create::rows())
    {
        let row = Arc::new(row);
        cases.push((row.name.to_string(), Arc::new(move |d: &Device| runner::run_row(&row, d)) as DynCase));
    }
    for &(name, case) in rows_matmul::CASES {
        cases.push((name.to_string(), Arc::new(case) as DynCase));
    }
    let (args, targets, trials) = dyn_trials(cases, Vec::new());
    let whole_suite = args.filter.is_none() && args.skip.is_empty() && !args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if whole_suite && !conclusion.has_failed() {
        // Every op-family entry of the PTX, launched through the public API on each device.
        common::coverage::require_every_entry(&targets, common::coverage::is_op_family, &[]);
    }
    conclusion.exit()
}
