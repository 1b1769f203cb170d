//! The `bench` binary as a smoke test: its GPU section on the emulated device (the code that
//! measures a real GPU, its sizes, launches, table and JSON, must not rot unseen in a CI
//! without one), and its CPU section. Timings here mean nothing and are not checked.

use std::process::Command;

/// Runs `bench --quick ARGS --json FILE`: the table as JSON, stdout and stderr. Fails unless it
/// exits 0.
fn quick_bench(tag: &str, args: &[&str]) -> (serde_json::Value, String, String) {
    let json = std::env::temp_dir().join(format!("ferrite-bench-{tag}-{}.json", std::process::id()));
    let out =
        Command::new(env!("CARGO_BIN_EXE_bench")).arg("--quick").args(args).arg("--json").arg(&json).output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let table = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    (table, stdout, stderr)
}

#[test]
fn quick_bench_on_the_emulated_device_measures_every_gpu_row_and_writes_json() {
    let (table, stdout, stderr) =
        quick_bench("emulated", &["--device", "emulated:sm_90", "--numpy", "no/such/script.py"]);
    let rows: Vec<(String, String)> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["op"].as_str().unwrap().to_string(), r["dtype"].as_str().unwrap().to_string()))
        .collect();
    let count = |op: &str| rows.iter().filter(|(o, _)| o == op).count();
    assert_eq!(count("sqrt_into"), 1, "{rows:?}");
    for op in ["concatenate", "index_select(axis=0)", "sort"] {
        assert_eq!(count(op), 1, "{op}: {rows:?}");
    }
    assert_eq!(count("softmax"), 7, "row lengths 1k to 32k and 28,672: {rows:?}");
    let failed: Vec<_> = table["rows"].as_array().unwrap().iter().filter(|r| !r["error"].is_null()).collect();
    assert!(failed.is_empty(), "rows that failed: {failed:?}");
    // The Hopper PTX adds the experimental wgmma kernel's rows.
    for dtype in ["f32", "tf32", "bf16", "f16", "bf16 wgmma", "f16 wgmma"] {
        assert!(rows.contains(&("matmul".into(), dtype.into())), "matmul {dtype}: {rows:?}");
    }
    assert_eq!((count("train step"), count("autograd train step")), (1, 1), "{rows:?}");
    assert!(stdout.lines().filter(|l| l.starts_with("| emulated:sm_90a |")).count() == rows.len(), "{stdout}");
    assert!(stderr.contains("the emulator has no cuBLAS"), "says why matmul has no baseline:\n{stderr}");
    let notes = table["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("no cuBLAS baseline")), "{notes:?}");
    // Without NumPy or its script, `--numpy` says so and the benchmark goes on.
    assert!(stderr.contains("no NumPy in the rounds: "), "{stderr}");
}

/// The CPU section, quick: every CPU row with its in-process baseline, the date and the
/// machine in the table and the JSON. Timings are not checked.
#[test]
fn quick_bench_on_the_cpu_measures_every_cpu_row_and_names_the_machine() {
    let (table, stdout, _) = quick_bench("cpu", &["--device", "cpu"]);
    let rows = table["rows"].as_array().unwrap();
    let find = |op: &str, shape: &str| rows.iter().find(|r| r["op"] == op && r["shape"] == shape);
    for shape in ["512x512x512", "1024x1024x1024", "2048x2048x2048"] {
        let r = find("matmul", shape).unwrap_or_else(|| panic!("matmul {shape}: {rows:?}"));
        assert!(r["baseline_seconds"].as_f64().is_some_and(|t| t > 0.0) && r["unit"] == "GFLOP/s", "{r}");
    }
    for (op, shape, copy) in [("softmax", "4096x1000", "copy"), ("sqrt_into", "10000000", "streaming copy")] {
        let r = find(op, shape).unwrap_or_else(|| panic!("{op}: {rows:?}"));
        assert!(r["baseline"].as_str().unwrap().starts_with(&format!("{copy} of the same bytes")), "{r}");
        assert!(r["limit"].as_f64().is_some_and(|l| l > 0.0) && r["unit"] == "GB/s", "{r}");
    }
    // The array-op rows, each against a streaming copy of the same bytes.
    for (op, shape) in [
        ("copy", "10000000"),
        ("concatenate", "10000000"),
        ("a + b", "10000000"),
        ("exp", "10000000"),
        ("x - row", "4096x2500"),
        ("sum(axis=0)", "4096x2500"),
        ("sum(axis=1)", "4096x2500"),
        ("argmax(axis=1)", "4096x2500"),
        ("t().contiguous()", "4096x2500"),
        ("index_select(axis=0)", "4096x2500"),
        ("argsort", "10000000"),
    ] {
        let r = find(op, shape).unwrap_or_else(|| panic!("{op} {shape}: {rows:?}"));
        assert!(r["baseline"].as_str().unwrap().starts_with("streaming copy of the same bytes"), "{r}");
        assert!(r["seconds"].as_f64().is_some_and(|t| t > 0.0) && r["unit"] == "GB/s", "{r}");
    }
    assert!(find("train step", "100-64-10, batch 32").is_some(), "{rows:?}");
    // The same step through layers and autograd, with the fused step as its baseline.
    let r = find("autograd train step", "100-64-10, batch 32").unwrap_or_else(|| panic!("{rows:?}"));
    assert!(r["baseline"] == "fused step" && r["baseline_seconds"].as_f64().is_some_and(|t| t > 0.0), "{r}");
    assert_eq!(rows.len(), 18, "{rows:?}");
    let date = table["date"].as_str().unwrap();
    assert!(date.len() == 10 && stdout.contains(&format!("ferrite bench, {date} (UTC)")), "{stdout}");
    assert_eq!(table["devices"][0]["device"], "cpu");
    assert!(stdout.contains("- `cpu`: "), "{stdout}");
}
