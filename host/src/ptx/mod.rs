//! The embedded PTX, one module per GPU generation, the choice between them, and what ptxas
//! reported of each kernel (`registers.rs`, generated), which bounds the blocks the host
//! may launch.

mod registers;

use std::collections::HashSet;
use std::sync::OnceLock;

/// One PTX build of `kernels-gpu`.
#[derive(Debug)]
pub struct PtxVariant {
    /// PTX target, e.g. `sm_80`.
    pub arch: &'static str,
    /// Oldest compute capability that can load it.
    pub min_cc: (u32, u32),
    /// Loads only on exactly `min_cc`'s major version (the `sm_90a` features are Hopper-only).
    pub exact_major: bool,
    pub ptx: &'static str,
    /// The entry names, collected on first use: `has_entry` runs on every tensor-core matmul
    /// and every emulated launch, and scanning the PTX text (over 1 MB) each time would cost
    /// about a millisecond.
    entry_set: OnceLock<HashSet<&'static str>>,
}

macro_rules! variant {
    ($arch:literal, $cc:expr, $exact:expr) => {
        PtxVariant {
            arch: $arch,
            min_cc: $cc,
            exact_major: $exact,
            ptx: include_str!(concat!(env!("OUT_DIR"), "/kernels-", $arch, ".ptx")),
            entry_set: OnceLock::new(),
        }
    };
}

/// Newest first. Keep in step with `VARIANTS` in the top-level `build.rs`.
pub static VARIANTS: [PtxVariant; 3] =
    [variant!("sm_90a", (9, 0), true), variant!("sm_80", (8, 0), false), variant!("sm_70", (7, 0), false)];

impl PtxVariant {
    pub fn loads_on(&self, cc: (u32, u32)) -> bool {
        if self.exact_major { cc.0 == self.min_cc.0 && cc >= self.min_cc } else { cc >= self.min_cc }
    }

    /// The PTX ISA version the module declares (`.version 8.0` is `(8, 0)`): a driver older
    /// than it rejects the module.
    pub fn isa_version(&self) -> (u32, u32) {
        let v = self.ptx.lines().find_map(|l| l.trim().strip_prefix(".version ")).expect("PTX declares its version");
        let (major, minor) = v.trim().split_once('.').expect("version is MAJOR.MINOR");
        (major.parse().expect("numeric PTX version"), minor.parse().expect("numeric PTX version"))
    }

    /// Names of the `.entry` points in this module.
    pub fn entries(&self) -> impl Iterator<Item = &'static str> {
        self.ptx
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix(".visible .entry "))
            .map(|rest| rest.split('(').next().unwrap_or(rest).trim())
    }

    pub fn has_entry(&self, name: &str) -> bool {
        self.entry_set.get_or_init(|| self.entries().collect()).contains(name)
    }

    /// Registers per thread ptxas gives entry `name` of this variant: the most on any GPU the
    /// variant claims to load on (`docs/ptxas.md`). `None` for an entry the generated table
    /// does not know (a new kernel: regenerate it with `FERRITE_UPDATE_DOCS=1 cargo test --test ptx`).
    pub fn registers(&self, name: &str) -> Option<u32> {
        registers::REGISTERS.iter().find(|(arch, entry, _)| *arch == self.arch && *entry == name).map(|r| r.2)
    }

    /// The largest block entry `name` can launch with on every GPU this variant claims, from its
    /// register count (see [`kernels_gpu::launch::max_threads_for_registers`]).
    pub fn max_threads(&self, name: &str) -> Option<u32> {
        self.registers(name).map(kernels_gpu::launch::max_threads_for_registers)
    }
}

/// The newest variant a device of compute capability `cc` can load, if any.
pub fn best_for(cc: (u32, u32)) -> Option<&'static PtxVariant> {
    loadable_on(cc).next()
}

/// Every variant a device of compute capability `cc` can load, newest first.
pub fn loadable_on(cc: (u32, u32)) -> impl Iterator<Item = &'static PtxVariant> {
    VARIANTS.iter().filter(move |v| v.loads_on(cc))
}
