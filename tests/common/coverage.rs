//! The check that closes `kernel_paths` and `ops`: on each CUDA device of the run (emulated at
//! every PTX generation, and a GPU when present), every entry of the loaded PTX that the suite
//! owns was launched by some case, so a new kernel, or a path the host stops taking, cannot go
//! untested on hardware. The op families (`kernels_gpu::ops`) belong to `tests/ops.rs`, every
//! other entry to `tests/kernel_paths.rs`.

use super::devices::Targets;
use ferrite::Device;

/// Name prefixes of the op-family entries (`kernels_gpu::ops`).
const OP_FAMILIES: &[&str] = &[
    "unary_",
    "binary_",
    "compare_",
    "test_",
    "where_",
    "cast_",
    "copy_strided_",
    "transpose_",
    "fill_",
    "iota_",
    "eye_",
    "reduce_",
    "cumsum_",
    "gather_",
    "scatter_",
    "compact_",
    "nonzero_",
    "sort_",
    "searchsorted_",
    "radix_",
];

/// Whether `entry` is one of the op families' (the registry's to reach).
pub fn is_op_family(entry: &str) -> bool {
    OP_FAMILIES.iter().any(|p| entry.starts_with(p))
}

/// Exits with 101, naming them, when an entry `owned` selects was not launched on some CUDA
/// target; `waiting` lists entries with no public path yet.
pub fn require_every_entry(targets: &Targets, owned: fn(&str) -> bool, waiting: &[&str]) {
    let mut missing = Vec::new();
    for (label, device) in targets {
        let Ok(Device::Cuda(cuda)) = device else { continue };
        let launched: Vec<&str> = cuda.kernel_launches().into_iter().map(|(k, _)| k).collect();
        let variant = ferrite::ptx::VARIANTS.iter().find(|v| v.arch == cuda.ptx_arch()).expect("its variant");
        let entries: Vec<&str> = variant.entries().filter(|e| owned(e)).collect();
        let unreached: Vec<&str> =
            entries.iter().copied().filter(|e| !launched.contains(e) && !waiting.contains(e)).collect();
        let reached = entries.iter().filter(|e| launched.contains(e)).count();
        let waits = entries.iter().filter(|e| waiting.contains(e)).count();
        eprintln!(
            "{label}: {reached} of {} {} entries launched ({waits} with no public path yet)",
            entries.len(),
            variant.arch
        );
        missing.extend(unreached.into_iter().map(|e| format!("{label}: {e}")));
    }
    if !missing.is_empty() {
        eprintln!("kernel entries no case reached (add a case that launches each):\n  {}", missing.join("\n  "));
        std::process::exit(101);
    }
}
