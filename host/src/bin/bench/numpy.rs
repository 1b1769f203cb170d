//! NumPy timed between ferrite's own measurements (`bench --numpy`): a Python process running
//! `scripts/bench_baselines.py --serve` answers one timed call per request, so NumPy and
//! ferrite take turns on the machine and a noisy neighbour slows both alike.
//!
//! A fair NumPy: the process starts without [`UNFAIR_ENV`] (some machines set
//! `OPENBLAS_CORETYPE=Haswell` and `OPENBLAS_L2_SIZE`, which halve OpenBLAS's matmul on AVX-512
//! CPUs), and the table's notes name the OpenBLAS kernel (coretype) and thread count it ran
//! with, as the script reports them (or say they are unknown).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Environment variables NumPy's process starts without: each pins OpenBLAS to a kernel or
/// cache size other than the one it would pick for this CPU.
pub const UNFAIR_ENV: [&str; 2] = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

pub struct Numpy {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// NumPy's version, BLAS, kernel and threads, and what was removed from its environment:
    /// one sentence for the table's notes.
    pub description: String,
}

impl Numpy {
    /// Starts `python3 script --serve`; a message saying why if it cannot.
    pub fn start(script: &Path) -> Result<Numpy, String> {
        let fair = |c: &mut Command| {
            for k in UNFAIR_ENV {
                c.env_remove(k);
            }
        };
        let mut probe = Command::new("python3");
        fair(&mut probe);
        let probe = probe.args(["-c", "import numpy"]).output();
        if !probe.as_ref().is_ok_and(|o| o.status.success()) {
            return Err("python3 with NumPy not found (PYTHONPATH may point to one)".into());
        }
        if !script.is_file() {
            return Err(format!("{} not found", script.display()));
        }
        let mut command = Command::new("python3");
        fair(&mut command);
        let mut child = command
            .arg(script)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3 {}: {e}", script.display()))?;
        let (stdin, stdout) = (child.stdin.take().expect("piped"), child.stdout.take().expect("piped"));
        let mut numpy = Numpy { child, stdin, stdout: BufReader::new(stdout), description: String::new() };
        let removed: Vec<String> =
            UNFAIR_ENV.iter().filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}"))).collect();
        numpy.description = describe(numpy.info(), &removed);
        Ok(numpy)
    }

    /// The script's answer to `info` (a JSON object, its sentence in "line").
    fn info(&mut self) -> Result<serde_json::Value, String> {
        writeln!(self.stdin, "info").map_err(|e| format!("NumPy process: {e}"))?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(|e| format!("NumPy process: {e}"))?;
        serde_json::from_str(&line).map_err(|_| format!("answered {:?} to `info`", line.trim()))
    }

    /// Seconds per step of each of `calls` back-to-back NumPy calls of `op` on `shape` (the
    /// shapes of `bench_baselines.py`: `MxKxN`, `ROWSxCOLS`, `N`).
    pub fn time(&mut self, op: &str, shape: &str, calls: usize) -> Result<Vec<f64>, String> {
        writeln!(self.stdin, "{op}\t{shape}\t{calls}").map_err(|e| format!("NumPy process: {e}"))?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(|e| format!("NumPy process: {e}"))?;
        let bad = || format!("NumPy process answered {:?} for {op} {shape}", line.trim());
        let times: Vec<f64> = line.split_whitespace().map(str::parse).collect::<Result<_, _>>().map_err(|_| bad())?;
        if times.len() == calls { Ok(times) } else { Err(bad()) }
    }
}

/// The notes' sentence about NumPy: the script's own (version, BLAS, kernel, threads), or
/// that the kernel and threads are unknown; and the variables its environment went without.
fn describe(info: Result<serde_json::Value, String>, removed: &[String]) -> String {
    let what = match info {
        Ok(v) => match v["line"].as_str() {
            Some(line) => line.to_string(),
            None => format!("OpenBLAS kernel and threads unknown (the script answered {v})"),
        },
        Err(e) => format!("OpenBLAS kernel and threads unknown (the script {e})"),
    };
    let env = if removed.is_empty() {
        format!("neither of {} was set", UNFAIR_ENV.join(", "))
    } else {
        format!("started without {}", removed.join(", "))
    };
    format!("NumPy in the rounds: {what}; {env}")
}

impl Drop for Numpy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn the_note_names_the_kernel_or_says_it_is_unknown() {
        let info =
            serde_json::json!({ "line": "NumPy 2.4.6 with openblas 0.3.31: kernel (coretype) SkylakeX, 2 threads" });
        let note = describe(Ok(info), &["OPENBLAS_CORETYPE=Haswell".into()]);
        assert!(
            note.contains("SkylakeX, 2 threads") && note.contains("started without OPENBLAS_CORETYPE=Haswell"),
            "{note}"
        );
        let note = describe(Err("answered \"error\" to `info`".into()), &[]);
        assert!(note.contains("kernel and threads unknown") && note.contains("neither of OPENBLAS_CORETYPE"), "{note}");
    }
}
