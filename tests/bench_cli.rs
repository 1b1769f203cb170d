//! The `bench` binary's GPU section, run as a smoke test on the emulated device: the code
//! that measures a real GPU (sizes, launches, the table and its JSON) must not rot unseen in
//! a CI without one. Its timings here mean nothing and are not checked.

use std::process::Command;

#[test]
fn quick_bench_on_the_emulated_device_measures_every_gpu_row_and_writes_json() {
    let json = std::env::temp_dir().join(format!("ferrite-bench-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--device", "emulated:sm_90", "--numpy", "no/such/script.py", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let table: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let rows: Vec<(String, String)> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["op"].as_str().unwrap().to_string(), r["dtype"].as_str().unwrap().to_string()))
        .collect();
    let count = |op: &str| rows.iter().filter(|(o, _)| o == op).count();
    assert_eq!(count("sqrt_into"), 1, "{rows:?}");
    assert_eq!(count("softmax"), 6, "row lengths 1k to 32k: {rows:?}");
    // The Hopper PTX adds the experimental wgmma kernel's rows.
    for dtype in ["f32", "tf32", "bf16", "f16", "bf16 wgmma", "f16 wgmma"] {
        assert!(rows.contains(&("matmul".into(), dtype.into())), "matmul {dtype}: {rows:?}");
    }
    assert_eq!(count("train step"), 1, "{rows:?}");
    assert!(stdout.lines().filter(|l| l.starts_with("| emulated:sm_90a |")).count() == rows.len(), "{stdout}");
    assert!(stderr.contains("the emulator has no cuBLAS"), "says why matmul has no baseline:\n{stderr}");
    // Without NumPy or its script, `--numpy` says so and the benchmark goes on.
    assert!(stderr.contains("no NumPy in the rounds: "), "{stderr}");
}
