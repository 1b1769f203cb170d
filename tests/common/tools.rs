//! The CUDA tools the static checks run: ptxas and cuobjdump, from PyPI (scripts/setup.sh
//! installs them into `.tools/`), an environment variable, or PATH.

use std::path::PathBuf;
use std::process::Command;

fn find(name: &str, env: &str, installed: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [std::env::var_os(env).map(PathBuf::from), Some(root.join(installed)), Some(PathBuf::from(name))];
    for c in candidates.into_iter().flatten() {
        if Command::new(&c).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return c;
        }
    }
    panic!("{name} not found: run `bash scripts/setup.sh` (installs it from PyPI into .tools/) or set {env}");
}

/// ptxas 12.9 (the last release that still targets sm_70).
pub fn ptxas() -> PathBuf {
    find("ptxas", "FERRITE_PTXAS", ".tools/cuda/nvidia/cuda_nvcc/bin/ptxas")
}

/// cuobjdump 13.x (reads sm_80 and sm_90a cubins).
pub fn cuobjdump() -> PathBuf {
    find("cuobjdump", "FERRITE_CUOBJDUMP", ".tools/cuda13/nvidia/cu13/bin/cuobjdump")
}

/// Checks that the committed `doc` (a path under the repository root) equals `generated`, or
/// rewrites it when `FERRITE_UPDATE_DOCS` is set; `suite` names the test that regenerates it.
pub fn check_generated_doc(doc: &str, suite: &str, generated: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(doc);
    if std::env::var_os("FERRITE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap();
    } else {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{doc} is stale; regenerate it with FERRITE_UPDATE_DOCS=1 cargo test --test {suite}\n\n{generated}"
        );
    }
}
