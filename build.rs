//! Compiles `kernels-gpu` to PTX with rustc's NVPTX backend, once per GPU generation, and
//! leaves `kernels-<arch>.ptx` in `OUT_DIR` for `host/src/ptx.rs` to embed.
//!
//! It runs a nested `cargo rustc --target nvptx64-nvidia-cuda -Zbuild-std=core` with its own
//! target directory under `OUT_DIR` (sharing the outer one would deadlock on cargo's lock),
//! `--offline` because a build script must never download, and a clean environment so the
//! outer build's flags and wrappers (clippy, sccache) do not leak into the GPU build.
//! It reruns only when the kernel sources, their manifest or the toolchain file change.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (PTX architecture, extra rustc flags). Keep in step with `host/src/ptx.rs`.
const VARIANTS: &[(&str, &[&str])] = &[
    // Baseline: loads on every GPU from Volta (sm_70) up.
    ("sm_70", &[]),
    // Ampere and newer: tensor-core `mma.sync`, `cp.async`.
    ("sm_80", &[]),
    // Hopper only (the `a` suffix): `wgmma`; needs PTX ISA 8.0.
    ("sm_90a", &["-Ctarget-feature=+ptx80"]),
];

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    for p in ["kernels-gpu/src", "kernels-gpu/Cargo.toml", "rust-toolchain.toml", "build.rs"] {
        println!("cargo::rerun-if-changed={}", root.join(p).display());
    }

    check_toolchain();
    // The variants at once: each is one single-threaded LTO build (codegen-units=1) in its own
    // target directory, and this script holds up the host library, which embeds their PTX
    // (one after another they took 54 s of a 6-minute build on two cores).
    // Every build is waited for (none is left running when this script exits), and every
    // failure is reported, in variant order.
    let errors: Vec<String> = std::thread::scope(|s| {
        let builds: Vec<_> =
            VARIANTS.iter().map(|(arch, flags)| s.spawn(|| build_variant(&root, &out, arch, flags))).collect();
        builds.into_iter().filter_map(|b| b.join().expect("a variant's build thread panicked").err()).collect()
    });
    if !errors.is_empty() {
        fail(&errors.join("\n\n"));
    }
}

fn build_variant(root: &Path, out: &Path, arch: &str, extra: &[&str]) -> Result<(), String> {
    let target_dir = out.join(format!("kernels-{arch}"));
    let ptx = out.join(format!("kernels-{arch}.ptx"));
    // Flags for every crate of the GPU build, `core` included: without immediate-abort, a
    // bounds check leaves an unresolved `.extern .func` panic handler that ptxas rejects.
    let mut rustflags =
        vec!["-Zunstable-options".to_string(), "-Cpanic=immediate-abort".into(), format!("-Ctarget-cpu={arch}")];
    rustflags.extend(extra.iter().map(|s| s.to_string()));
    // Kernels index register arrays (accumulator tiles) in loops; unless those loops are fully
    // unrolled the arrays live in local memory (slow, and visible as LDL/STL in SASS). Rust has
    // no unroll pragma, so the GPU build raises LLVM's full-unroll budget.
    rustflags.push("-Cllvm-args=-unroll-threshold=4000".into());

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["rustc", "--release", "--offline", "--locked", "--target", "nvptx64-nvidia-cuda", "-Zbuild-std=core"])
        .args(["--manifest-path", "kernels-gpu/Cargo.toml", "--target-dir"])
        .arg(&target_dir)
        // The PTX must be a whole program: the kernels call `libm` (sin, tanh, erf...), whose
        // functions read lookup tables (`static`s). A library crate's assembly would leave
        // those `.extern`, and ptxas would then zero-fill them with only a warning (exp2 and
        // pow silently wrong). A static library under fat LTO is compiled as one module with
        // every crate in it, and needs no linker for the nvptx target.
        .args(["--crate-type", "staticlib"])
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .args(["--", "-Ccodegen-units=1"])
        .arg(format!("--emit=asm={}", ptx.display()));
    for var in [
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_ENCODED_RUSTDOCFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"));

    let output = cmd.output().map_err(|e| format!("cannot run cargo for the {arch} kernel build: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("no matching package") || stderr.contains("offline") {
            format!(
                "\n\nThe standard library's own dependencies are not in cargo's cache, and a build script must not \
                 download. Fetch them once with:\n    cargo fetch --manifest-path \"{}\"\n(scripts/setup.sh does this.)",
                library_manifest().display()
            )
        } else {
            String::new()
        };
        return Err(format!("the {arch} kernel build failed:\n{stderr}{hint}"));
    }
    if !ptx.exists() {
        return Err(format!("the {arch} kernel build succeeded but wrote no PTX at {}", ptx.display()));
    }
    Ok(())
}

fn sysroot() -> PathBuf {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {rustc}: {e}")));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn library_manifest() -> PathBuf {
    sysroot().join("lib/rustlib/src/rust/library/Cargo.toml")
}

/// The GPU build needs a nightly rustc (unstable `abi_ptx`, `-Zbuild-std`) and `rust-src`.
fn check_toolchain() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !version.contains("nightly") && !version.contains("-dev") {
        fail(&format!(
            "the kernels need the nightly toolchain pinned in rust-toolchain.toml, but cargo is using:\n{version}\n\
             Install it from the repository root with:\n    rustup toolchain install"
        ));
    }
    if !library_manifest().exists() {
        fail(
            "the kernels build `core` for nvptx64 from source, which needs the `rust-src` component.\n\
             Install it from the repository root with:\n    rustup toolchain install\n\
             (or: rustup component add rust-src)",
        );
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: ferrite's GPU kernels could not be built.\n{msg}");
    std::process::exit(1);
}
