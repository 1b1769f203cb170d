//! Finding a CUDA library that ships outside the driver (cuBLAS): by file name through the
//! system's own search (`LD_LIBRARY_PATH`, the loader cache), then in the folders where a CUDA
//! toolkit or NVIDIA's pip wheels put it. CUDA 13's wheels install `libcublas.so.13` under
//! `site-packages/nvidia/cu13/lib/`, CUDA 12's `libcublas.so.12` under
//! `site-packages/nvidia/cublas/lib/`; neither is on the loader's path by default. When nothing
//! loads, the error lists every name and folder tried.

use std::path::{Path, PathBuf};

/// A loaded library and the path (or bare name) it was loaded from.
pub(crate) struct Found {
    pub library: libloading::Library,
    pub from: PathBuf,
}

/// Loads the first of `names` that opens: each by name (the system's search), then in each
/// of `folders` in order. The error says what was tried and the loader's last complaint.
pub(crate) fn load(names: &[&str], folders: &[PathBuf]) -> Result<Found, String> {
    let mut last = String::new();
    let candidates =
        names.iter().map(PathBuf::from).chain(folders.iter().flat_map(|d| names.iter().map(move |n| d.join(n))));
    for path in candidates {
        if path.components().count() > 1 && !path.exists() {
            continue;
        }
        // SAFETY: loading a library runs its initialisers; these are NVIDIA's own libraries.
        match unsafe { libloading::Library::new(&path) } {
            Ok(library) => return Ok(Found { library, from: path }),
            Err(e) => last = e.to_string(),
        }
    }
    let shown: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
    Err(format!(
        "tried {} through the system's search (LD_LIBRARY_PATH, ldconfig) and in {}{}",
        names.join(", "),
        if shown.is_empty() { "no other folder".to_string() } else { shown.join(", ") },
        if last.is_empty() { String::new() } else { format!(" (last error: {last})") }
    ))
}

/// Folders a CUDA toolkit or NVIDIA's wheels may hold libraries in, most specific first:
/// `$FERRITE_CUDA_LIBS` (colon-separated), `$CUDA_HOME`/`$CUDA_PATH`, `/usr/local/cuda*`,
/// and the `nvidia/cu13/lib`, `nvidia/cu12/lib`, `nvidia/cublas/lib` folders of every Python
/// package folder on `$PYTHONPATH`, in a virtualenv or conda prefix, or in the usual
/// system and user locations. Only folders that exist are returned.
pub(crate) fn cuda_library_folders() -> Vec<PathBuf> {
    let env = |v: &str| std::env::var_os(v).map(PathBuf::from);
    let mut folders: Vec<PathBuf> = Vec::new();
    if let Some(list) = std::env::var_os("FERRITE_CUDA_LIBS") {
        folders.extend(std::env::split_paths(&list));
    }
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(root) = env(var) {
            folders.push(root.join("lib64"));
            folders.push(root.join("lib"));
        }
    }
    folders.push(PathBuf::from("/usr/local/cuda/lib64"));
    folders.extend(children("/usr/local", |n| n.starts_with("cuda-")).into_iter().map(|d| d.join("lib64")));

    let mut packages: Vec<PathBuf> = Vec::new();
    if let Some(list) = std::env::var_os("PYTHONPATH") {
        packages.extend(std::env::split_paths(&list));
    }
    let mut prefixes: Vec<PathBuf> = ["VIRTUAL_ENV", "CONDA_PREFIX"].iter().filter_map(|v| env(v)).collect();
    prefixes.extend(["/usr/local", "/usr", "/opt/conda"].map(PathBuf::from));
    if let Some(home) = env("HOME") {
        prefixes.push(home.join(".local"));
        prefixes.extend(children(home.join(".pyenv/versions"), |_| true));
    }
    for prefix in prefixes {
        for python in children(prefix.join("lib"), |n| n.starts_with("python3")) {
            packages.push(python.join("site-packages"));
            packages.push(python.join("dist-packages"));
        }
    }
    packages.push(PathBuf::from("/usr/lib/python3/dist-packages"));
    for p in packages {
        for sub in ["nvidia/cu13/lib", "nvidia/cu12/lib", "nvidia/cublas/lib"] {
            folders.push(p.join(sub));
        }
    }
    let mut seen = std::collections::HashSet::new();
    folders.retain(|f| f.is_dir() && seen.insert(f.clone()));
    folders
}

/// Sub-folders of `dir` whose names pass `keep`, sorted newest-looking last.
fn children(dir: impl AsRef<Path>, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(&keep))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library found only in a folder (as a CUDA 13 wheel's cuBLAS is) loads from there; one
    /// found nowhere is an error that lists the names and folders tried.
    #[test]
    fn finds_a_library_in_a_folder_and_says_what_it_tried() {
        let dir = std::env::temp_dir().join(format!("ferrite-libs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let libm = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("libm on this machine");
        let fake = dir.join("libferrite-test.so.13");
        let _ = std::fs::remove_file(&fake);
        std::os::unix::fs::symlink(libm, &fake).unwrap();
        let found = load(&["libferrite-test.so.13"], std::slice::from_ref(&dir)).unwrap();
        assert_eq!(found.from, fake);

        let err = load(&["libferrite-absent.so.13", "libferrite-absent.so"], std::slice::from_ref(&dir))
            .err()
            .expect("no such library");
        assert!(err.contains("libferrite-absent.so.13, libferrite-absent.so"), "{err}");
        assert!(err.contains(&dir.display().to_string()), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
