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

/// `ptx` assembled by ptxas for `target` with `-v`: the cubin's path and ptxas's report (its
/// stderr). Panics, with the report, if ptxas fails.
///
/// Each result is kept under cargo's target directory (`target/tmp/ptxas`, until `cargo clean`),
/// named by a hash of the PTX, ptxas's arguments and its version, so the suites that read the
/// same cubin (`ptx.rs` its registers, `sass.rs` its instructions) assemble it once for as
/// long as the PTX is unchanged: one run takes about 15 s.
pub fn assemble(ptx: &str, target: &str) -> (PathBuf, String) {
    use std::hash::{Hash, Hasher};
    // Found and asked its version once per process, not once per run.
    static PTXAS: std::sync::OnceLock<(PathBuf, Vec<u8>)> = std::sync::OnceLock::new();
    let (ptxas, version) = PTXAS.get_or_init(|| {
        let ptxas = ptxas();
        let version = Command::new(&ptxas).arg("--version").output().map(|o| o.stdout).unwrap_or_default();
        (ptxas, version)
    });
    let mut h = std::hash::DefaultHasher::new();
    let args = [format!("-arch={target}"), "-v".to_string()];
    (ptx, &args, version).hash(&mut h);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ptxas");
    std::fs::create_dir_all(&dir).unwrap();
    let stem = format!("{:016x}-{target}", h.finish());
    let (cubin, log) = (dir.join(format!("{stem}.cubin")), dir.join(format!("{stem}.log")));
    if let (true, Ok(report)) = (cubin.exists(), std::fs::read_to_string(&log)) {
        return (cubin, report);
    }
    // Written under names of this process and thread, then renamed: suites and threads may
    // assemble the same PTX at once.
    let tmp = format!("{stem}-{}-{:?}", std::process::id(), std::thread::current().id());
    let [tmp_ptx, tmp_cubin, tmp_log] = ["ptx", "cubin", "log"].map(|e| dir.join(format!("{tmp}.{e}")));
    std::fs::write(&tmp_ptx, ptx).unwrap();
    let o = Command::new(ptxas).args(&args).arg("-o").arg(&tmp_cubin).arg(&tmp_ptx).output().unwrap();
    let _ = std::fs::remove_file(&tmp_ptx);
    let report = String::from_utf8_lossy(&o.stderr).into_owned();
    if !o.status.success() {
        let _ = std::fs::remove_file(&tmp_cubin);
        panic!("ptxas -arch={target} failed:\n{report}");
    }
    std::fs::write(&tmp_log, &report).unwrap();
    std::fs::rename(&tmp_log, &log).unwrap();
    std::fs::rename(&tmp_cubin, &cubin).unwrap();
    (cubin, report)
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
