//! NumPy timed between ferrite's own measurements (`bench --numpy`): a Python process running
//! `scripts/bench_baselines.py --serve` answers one timed call per request, so NumPy and
//! ferrite take turns on the machine and a noisy neighbour slows both alike.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct Numpy {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Numpy {
    /// Starts `python3 script --serve`; a message saying why if it cannot.
    pub fn start(script: &Path) -> Result<Numpy, String> {
        let probe = Command::new("python3").args(["-c", "import numpy"]).output();
        if !probe.as_ref().is_ok_and(|o| o.status.success()) {
            return Err("python3 with NumPy not found (PYTHONPATH may point to one)".into());
        }
        if !script.is_file() {
            return Err(format!("{} not found", script.display()));
        }
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3 {}: {e}", script.display()))?;
        let (stdin, stdout) = (child.stdin.take().expect("piped"), child.stdout.take().expect("piped"));
        Ok(Numpy { child, stdin, stdout: BufReader::new(stdout) })
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

impl Drop for Numpy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
