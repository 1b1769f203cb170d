//! A test harness (libtest-mimic) that runs each case on every device: the CPU, the emulated
//! CUDA device at each PTX generation, the sm_90a PTX on the PTX interpreter, and real GPUs. Without a GPU its cases are reported as
//! ignored, with the reason, never as passed; `--include-ignored` makes them fail, and so
//! does `FERRITE_REQUIRE_GPU=1` (the GPU check kit sets it where nvidia-smi sees a GPU).

use ferrite::Device;
use libtest_mimic::{Arguments, Failed, Trial};

pub type CaseResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
pub type Case = fn(&Device) -> CaseResult;

/// Fails the case with a formatted message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        {
            let holds: bool = $cond;
            if !holds {
                return Err(format!($($msg)+).into());
            }
        }
    };
}

/// (label, device or the reason it is unavailable)
fn targets() -> Vec<(String, Result<Device, String>)> {
    let mut t = vec![("cpu".to_string(), Ok(Device::Cpu))];
    for (major, minor) in [(7, 0), (8, 0), (9, 0)] {
        let d = Device::emulated_cuda(major, minor).map_err(|e| e.to_string());
        t.push((format!("emulated_sm{major}{minor}"), d));
    }
    // The embedded sm_90a PTX itself, run by the PTX interpreter (tests/ptx-interp).
    let interp = Device::emulated_cuda_with_launcher(9, 0, std::sync::Arc::new(super::interp::Interp));
    t.push(("interp_sm90".to_string(), interp.map_err(|e| e.to_string())));
    t.push(("gpu".to_string(), Device::cuda(0).map_err(|e| e.to_string())));
    t
}

/// Runs `cases × devices` and exits with the harness's status.
pub fn run(cases: &[(&'static str, Case)]) -> ! {
    run_with_cuda_only(cases, &[])
}

/// As [`run`], plus `cuda_cases`, which are about CUDA devices only (graphs, kernel choice):
/// they are not trials on the CPU at all, so the CPU never counts them as passed.
pub fn run_with_cuda_only(cases: &[(&'static str, Case)], cuda_cases: &[(&'static str, Case)]) -> ! {
    let args = Arguments::from_args();
    let targets = targets();
    let require_gpu = std::env::var_os("FERRITE_REQUIRE_GPU").is_some_and(|v| v != "0");
    let mut trials = Vec::new();
    let mut skipped = 0;
    for (label, device) in &targets {
        let on_cpu = matches!(device, Ok(Device::Cpu));
        for &(name, case) in cases.iter().chain(if on_cpu { &[][..] } else { cuda_cases }) {
            let device = device.clone();
            let unavailable = device.is_err() && !require_gpu;
            skipped += unavailable as usize;
            trials.push(
                Trial::test(format!("{label}::{name}"), move || match &device {
                    Ok(d) => case(d).map_err(|e| Failed::from(e.to_string())),
                    Err(why) => Err(Failed::from(format!("no device: {why}"))),
                })
                .with_kind(label.clone())
                .with_ignored_flag(unavailable),
            );
        }
    }
    if skipped > 0 {
        for (label, device) in &targets {
            if let Err(why) = device {
                eprintln!("SKIPPED {skipped} {label} tests: {why}");
            }
        }
    }
    libtest_mimic::run(&args, trials).exit()
}
