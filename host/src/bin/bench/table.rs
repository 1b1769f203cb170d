//! The benchmark's results: one row per measurement, printed as a table and saved as JSON.

use ferrite::Device;
use serde_json::json;

pub struct Row {
    pub op: String,
    pub shape: String,
    pub dtype: String,
    pub device: String,
    /// Median seconds per call.
    pub seconds: f64,
    /// The baseline measured in the same run: (name, median seconds).
    pub baseline: Option<(String, f64)>,
    /// What ferrite achieved and the limit measured in the same run, in `unit` (GB/s, TFLOP/s).
    pub achieved: Option<(f64, f64, &'static str)>,
    /// NumPy's median seconds, timed in the same rounds (`--numpy`).
    pub numpy: Option<f64>,
    pub note: String,
    /// Why the row has no measurement (the error, with the CUDA code and kernel when there is one).
    pub error: Option<String>,
}

impl Row {
    pub fn new(op: &str, shape: &str, dtype: &str, device: &Device, seconds: f64) -> Self {
        Row {
            op: op.into(),
            shape: shape.into(),
            dtype: dtype.into(),
            device: device.to_string(),
            seconds,
            baseline: None,
            achieved: None,
            numpy: None,
            note: String::new(),
            error: None,
        }
    }

    /// `ferrite / baseline` as a speed ratio: above 1 means ferrite is faster.
    pub fn speedup(&self) -> Option<f64> {
        self.baseline.as_ref().map(|(_, b)| b / self.seconds)
    }
}

pub struct Table {
    /// The day the run started (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// (device label as in the rows, what it is), for every device measured.
    pub devices: Vec<(String, String)>,
    /// Facts about the run (e.g. where cuBLAS was loaded from, or what was tried), printed
    /// under the devices.
    pub notes: Vec<String>,
    pub rows: Vec<Row>,
    /// Measure only the operations whose name contains one of these (`--only`); all if empty.
    pub only: Vec<String>,
}

impl Default for Table {
    fn default() -> Self {
        Table { date: today(), devices: Vec::new(), notes: Vec::new(), rows: Vec::new(), only: Vec::new() }
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`, from the system clock.
fn today() -> String {
    date(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() / 86_400))
}

/// Day `days` after 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian, 400-year eras of 146097
/// days).
fn date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let (d, m) = (doy - (153 * mp + 2) / 5 + 1, if mp < 10 { mp + 3 } else { mp - 9 });
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!("{y:04}-{m:02}-{d:02}")
}

fn time(s: f64) -> String {
    if s >= 1e-3 { format!("{:.3} ms", s * 1e3) } else { format!("{:.1} us", s * 1e6) }
}

impl Table {
    pub fn push(&mut self, row: Row) {
        eprintln!("  measured {} {} {} on {}: {}", row.op, row.shape, row.dtype, row.device, time(row.seconds));
        self.rows.push(row);
    }

    /// Runs one measurement, which pushes its row; if it fails, a row carrying the error takes
    /// its place and the benchmark goes on, so one failing operation (a kernel the GPU refuses)
    /// costs one row, not the table.
    pub fn attempt(
        &mut self,
        (op, shape, dtype): (&str, &str, &str),
        device: &Device,
        measure: impl FnOnce(&mut Table) -> ferrite::Result<()>,
    ) {
        if !self.only.is_empty() && !self.only.iter().any(|o| op.contains(o.as_str())) {
            return;
        }
        if let Err(e) = measure(self) {
            eprintln!("  FAILED {op} {shape} {dtype} on {device}: {e}");
            let mut row = Row::new(op, shape, dtype, device, f64::NAN);
            row.error = Some(e.to_string());
            self.rows.push(row);
        }
    }

    /// Rows that failed.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.error.is_some()).count()
    }

    pub fn print(&self) {
        println!("ferrite bench, {} (UTC)\n", self.date);
        for (label, what) in &self.devices {
            println!("- `{label}`: {what}");
        }
        for note in &self.notes {
            println!("- {note}");
        }
        println!();
        println!(
            "| device | op | shape | dtype | ferrite | baseline | baseline time | speedup | achieved / limit | NumPy | vs NumPy | note |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for r in &self.rows {
            if let Some(e) = &r.error {
                let e = e.replace('|', "\\|").replace('\n', " ");
                println!(
                    "| {} | {} | {} | {} | FAILED | - | - | - | - | - | - | {e} |",
                    r.device, r.op, r.shape, r.dtype
                );
                continue;
            }
            let (bn, bt) = r.baseline.as_ref().map_or(("-".into(), "-".into()), |(n, t)| (n.clone(), time(*t)));
            let speedup = r.speedup().map_or("-".into(), |s| format!("{s:.2}x"));
            let achieved =
                r.achieved.map_or("-".into(), |(a, l, u)| format!("{a:.1} / {l:.1} {u} ({:.0}%)", 100.0 * a / l));
            let (numpy, vs) = r.numpy.map_or(("-".into(), "-".into()), |t| (time(t), format!("{:.2}x", t / r.seconds)));
            println!(
                "| {} | {} | {} | {} | {} | {bn} | {bt} | {speedup} | {achieved} | {numpy} | {vs} | {} |",
                r.device,
                r.op,
                r.shape,
                r.dtype,
                time(r.seconds),
                r.note
            );
        }
    }

    pub fn json(&self) -> serde_json::Value {
        let rows: Vec<_> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "device": r.device, "op": r.op, "shape": r.shape, "dtype": r.dtype,
                    "seconds": r.seconds,
                    "baseline": r.baseline.as_ref().map(|(n, _)| n),
                    "baseline_seconds": r.baseline.as_ref().map(|(_, t)| t),
                    "speedup": r.speedup(),
                    "achieved": r.achieved.map(|a| a.0), "limit": r.achieved.map(|a| a.1), "unit": r.achieved.map(|a| a.2),
                    "numpy_seconds": r.numpy,
                    "note": r.note,
                    "error": r.error,
                })
            })
            .collect();
        let devices: Vec<_> = self.devices.iter().map(|(l, w)| json!({ "device": l, "description": w })).collect();
        json!({ "date": self.date, "devices": devices, "notes": self.notes, "rows": rows })
    }
}

#[cfg(test)]
mod tests {
    use super::{Row, Table};
    use ferrite::Device;

    /// A failing measurement leaves a row with its error, and the rows after it still come.
    #[test]
    fn a_failing_row_keeps_its_error_and_the_rest_of_the_table() {
        let mut t = Table::default();
        let gpu_error = ferrite::Error::Cuda {
            call: "cuLaunchKernel",
            code: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES".into(),
            message: "too many registers".into(),
            kernel: Some("softmax_regs_f32_v8"),
        };
        t.attempt(("softmax", "2048x32768", "f32"), &Device::Cpu, |_| Err(gpu_error));
        t.attempt(("matmul", "4x4x4", "f32"), &Device::Cpu, |t| {
            t.push(Row::new("matmul", "4x4x4", "f32", &Device::Cpu, 1e-6));
            Ok(())
        });
        assert_eq!((t.rows.len(), t.failures()), (2, 1));
        let json = t.json();
        let error = json["rows"][0]["error"].as_str().unwrap();
        assert!(
            error.contains("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES") && error.contains("softmax_regs_f32_v8"),
            "{error}"
        );
        assert_eq!(json["rows"][1]["seconds"], 1e-6);
        assert!(json["rows"][1]["error"].is_null());
    }

    #[test]
    fn dates_match_the_calendar() {
        // Counted independently (Python's datetime), around leap days and century rules.
        for (days, want) in [
            (0, "1970-01-01"),
            (10_956, "1999-12-31"),
            (11_016, "2000-02-29"),
            (20_781, "2026-11-24"),
            (47_541, "2100-03-01"),
        ] {
            assert_eq!(super::date(days), want);
        }
    }
}
