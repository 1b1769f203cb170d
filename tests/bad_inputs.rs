//! The bad-input sweep: huge and overflowing shapes through every public constructor and
//! operation, impossible models, bad data, options and files, on the CPU and on the emulated
//! CUDA device, and the `train` program's command lines (`bad_inputs/cli.rs`). Every case
//! names the exact error kind it must return; a panic, a success or another kind fails it,
//! and all failures are listed together.
//!
//! The process runs with `FERRITE_MEMORY_LIMIT=4G`, so what is out of memory is the same on
//! every machine (and nothing here allocates more than a few megabytes).

#[path = "bad_inputs/api.rs"]
mod api;
#[path = "bad_inputs/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "fuzz/seeds.rs"]
mod seeds;
#[path = "bad_inputs/shapes.rs"]
mod shapes;

use ferrite::{Device, Error, Result};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The limit the sweep runs under (and passes to the programs it starts).
pub const MEMORY_LIMIT: &str = "4G";

/// Runs cases and collects their failures.
#[derive(Default)]
pub struct Sweep {
    ran: usize,
    failures: Vec<String>,
}

/// `expect!(sweep, "case", expression, Error::Kind { .. })`: the expression must fail with
/// that kind.
#[macro_export]
macro_rules! expect {
    ($sweep:expr, $case:expr, $run:expr, $($kind:tt)+) => {
        $sweep.expect(&$case, stringify!($($kind)+), |e| matches!(e, $($kind)+), || $run)
    };
}

impl Sweep {
    pub fn expect<T>(&mut self, case: &str, kind: &str, is: impl Fn(&Error) -> bool, run: impl FnOnce() -> Result<T>) {
        self.check(case, || match run() {
            Err(e) if is(&e) => Ok(()),
            Err(e) => Err(format!("expected {kind}, got {e:?}")),
            Ok(_) => Err(format!("expected {kind}, got Ok")),
        });
    }

    /// A case that checks something else than one error: `Err(why)` fails it.
    pub fn check(&mut self, case: &str, run: impl FnOnce() -> std::result::Result<(), String>) {
        self.ran += 1;
        let failure = match catch_unwind(AssertUnwindSafe(run)) {
            Ok(Ok(())) => return,
            Ok(Err(why)) => why,
            Err(panic) => {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                format!("panicked: {}", text.unwrap_or_default())
            }
        };
        self.failures.push(format!("{case}: {failure}"));
    }
}

/// The devices every API case runs on.
pub fn devices() -> Vec<Device> {
    vec![Device::Cpu, Device::emulated_cuda(9, 0).expect("the emulated device opens")]
}

fn main() {
    // SAFETY: the first thing the process does, before any thread exists.
    unsafe { std::env::set_var("FERRITE_MEMORY_LIMIT", MEMORY_LIMIT) };
    let mut sweep = Sweep::default();
    for device in devices() {
        shapes::sweep(&mut sweep, &device);
        api::sweep(&mut sweep, &device);
    }
    api::sweep_host(&mut sweep);
    cli::sweep(&mut sweep);
    println!("bad-input sweep: {} cases, {} failed", sweep.ran, sweep.failures.len());
    if !sweep.failures.is_empty() {
        eprintln!("{}", sweep.failures.join("\n"));
        std::process::exit(1);
    }
}
