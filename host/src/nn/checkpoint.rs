//! Files written as a durable, clean replace (checkpoints):
//!
//! - the bytes go to a temporary file in the target's directory (so the rename stays on one
//!   file system and is atomic), named `.<name>.<pid>.<random>.tmp`, created as any new file
//!   is (mode 0666 less the umask);
//! - the file is fsynced, renamed over the target, and the directory fsynced, so after a crash
//!   or a power cut the path holds the old file or the new one, whole;
//! - the temporary file is removed on every error path; one left by a process killed
//!   mid-write (which cannot clean up) is removed by the next save of the same file once that
//!   process is gone (on Linux, where `/proc` tells);
//! - a write-protected target is refused, not replaced (a rename would ignore its permissions).

use crate::error::{Error, Result};
use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` as described above.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |w| w.write_all(bytes).map_err(|source| Error::Io { path: path.into(), source }))
}

/// Replaces `path` with what `write` writes, as described above (a large file need not be
/// assembled in memory first). The writer is buffered and seekable (a zip writer needs that);
/// `write`'s error is returned as it is.
pub(crate) fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<&mut std::fs::File>) -> Result<()>,
) -> Result<()> {
    let fail = |source: io::Error| Error::Io { path: path.into(), source };
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
        let why = "the file is write-protected; ferrite does not replace it";
        return Err(fail(io::Error::new(io::ErrorKind::PermissionDenied, why)));
    }
    let name = path.file_name().ok_or_else(|| fail(io::Error::new(io::ErrorKind::InvalidInput, "not a file name")))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    remove_stale(dir, name);
    let prefix = format!("{}{}.", temp_prefix(name), std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    // Dropped on every early return below, which removes the file.
    let mut temp = builder.tempfile_in(dir).map_err(fail)?;
    let mut buffered = io::BufWriter::new(temp.as_file_mut());
    write(&mut buffered)?;
    buffered.flush().map_err(fail)?;
    drop(buffered);
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(fail)?;
    Ok(())
}

/// `.<name>.`: what every temporary file for `name` starts with.
fn temp_prefix(name: &OsStr) -> String {
    format!(".{}.", name.to_string_lossy())
}

/// Removes temporary files for `name` in `dir` whose writing process no longer runs.
fn remove_stale(dir: &Path, name: &OsStr) {
    if !Path::new("/proc/self").exists() {
        return; // no way to tell a live writer from a dead one
    }
    let prefix = temp_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let pid = file.strip_prefix(&prefix).filter(|rest| rest.ends_with(".tmp")).and_then(|r| r.split_once('.'));
        if let Some(pid) = pid.and_then(|(pid, _)| pid.parse::<u32>().ok())
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
