//! `cargo run --release --bin bench`: ferrite's benchmark. For every device present it times
//! each operation (warm-up, then the median of many runs; CUDA events on a GPU) next to a
//! baseline measured in the same run, and prints one table (also written as JSON with
//! `--json`). `--numpy` times NumPy in the same rounds as the CPU measurements;
//! `scripts/bench_baselines.py` adds PyTorch and CuPy (and NumPy, if not already there).

mod cpu;
mod gpu;
mod measure;
mod numpy;
mod table;
mod train;

use clap::Parser;
use ferrite::Device;
use table::Table;

#[derive(Parser)]
#[command(about = "Benchmark ferrite against baselines measured in the same run.")]
struct Args {
    /// Devices to measure (default: the CPU and every CUDA device present).
    #[arg(long)]
    device: Vec<String>,
    /// Write the table as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Fewer repetitions and smaller sizes (a smoke test, not a measurement).
    #[arg(long)]
    quick: bool,
    /// Time NumPy in the same rounds as ferrite on the CPU, through this script's `--serve`
    /// mode (python3 with NumPy needed).
    #[arg(long, value_name = "SCRIPT", num_args = 0..=1, default_missing_value = "scripts/bench_baselines.py")]
    numpy: Option<std::path::PathBuf>,
    /// Measure only the operations whose name contains this (repeatable), e.g. `--only matmul`.
    #[arg(long, value_name = "OP")]
    only: Vec<String>,
}

fn main() -> ferrite::Result<()> {
    let args = Args::parse();
    let mut skipped = None;
    let devices: Vec<Device> = if args.device.is_empty() {
        // The CPU and every CUDA device, counted until one fails to open.
        let mut d = vec![Device::Cpu];
        for ordinal in 0.. {
            match Device::cuda(ordinal) {
                Ok(gpu) => d.push(gpu),
                Err(e) => {
                    if ordinal == 0 {
                        eprintln!("no GPU measured: {e}");
                        skipped = Some(format!("GPU rows skipped, no GPU: {e}"));
                    }
                    break;
                }
            }
        }
        d
    } else {
        args.device.iter().map(|s| Device::new(s)).collect::<ferrite::Result<_>>()?
    };
    let mut numpy = args
        .numpy
        .as_deref()
        .and_then(|script| numpy::Numpy::start(script).inspect_err(|e| eprintln!("no NumPy in the rounds: {e}")).ok());
    let mut table = Table { only: args.only.clone(), ..Table::default() };
    table.notes.extend(skipped);
    if let Some(n) = &numpy {
        eprintln!("{}", n.description);
        table.notes.push(n.description.clone());
    }
    for d in &devices {
        eprintln!("measuring on {}", d.describe());
        let what = match d {
            Device::Cpu => format!("{}, {}", cpu::model(), d.describe()),
            Device::Cuda(_) => d.describe(),
        };
        table.devices.push((d.to_string(), what));
        let steps = if args.quick || matches!(d, Device::Cuda(c) if c.is_emulated()) { 20 } else { 500 };
        match d {
            Device::Cpu => cpu::run(args.quick, &mut numpy, &mut table),
            // Timing the emulator would measure the emulator: on it, only `--quick` runs the
            // GPU section, as a smoke test of its code.
            Device::Cuda(c) if !c.is_emulated() || args.quick => gpu::run(d, args.quick, &mut table),
            Device::Cuda(_) => {}
        }
        let numpy_turn =
            (d == &Device::Cpu && numpy.is_some()).then(|| cpu::numpy_turn(&mut numpy, "train step", train::SHAPE));
        table.attempt(("train step", train::SHAPE, "f32"), d, |t| train::run(d, steps, numpy_turn, t));
    }
    table.print();
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&table.json()).expect("JSON of plain values");
        std::fs::write(path, text).map_err(|source| ferrite::Error::Io { path: path.clone(), source })?;
    }
    // Every row is in the table and the JSON; a failed one still makes the run fail.
    match table.failures() {
        0 => Ok(()),
        n => Err(ferrite::Error::Config(format!("{n} benchmark row(s) failed; their errors are in the table"))),
    }
}
