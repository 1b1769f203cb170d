//! A test harness (libtest-mimic) that runs each case on every device: the CPU, the emulated
//! CUDA device at each PTX generation, the sm_90a PTX on the PTX interpreter, and real GPUs. Without a GPU its cases are reported as
//! ignored, with the reason, never as passed; `--include-ignored` makes them fail, and so
//! does `FERRITE_REQUIRE_GPU=1` (the GPU check kit sets it where nvidia-smi sees a GPU).
//!
//! GPU trials run one at a time (the others go on in parallel): each records the kernels it
//! launched (`FERRITE_KERNEL_LOG=<file>` collects `suite, trial, pass/fail, kernel:count,...`
//! lines, which the GPU kit turns into its list of kernels proven on hardware), and once a
//! fault has lost the device the remaining GPU trials say so and are listed in
//! `FERRITE_LOST_TRIALS=<file>` for a rerun in a fresh process (`FERRITE_ONLY_TRIALS=<file>`).

use ferrite::Device;
use libtest_mimic::{Arguments, Failed, Trial};

pub type CaseResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
pub type Case = fn(&Device) -> CaseResult;
/// A case that carries data (an op registry row, say).
pub type DynCase = std::sync::Arc<dyn Fn(&Device) -> CaseResult + Send + Sync>;

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
fn targets() -> Targets {
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
    let (args, _, trials) = trials(cases, cuda_cases);
    libtest_mimic::run(&args, trials).exit()
}

/// Each device the harness runs on, by label, or why it is unavailable.
pub type Targets = Vec<(String, Result<Device, String>)>;

/// The harness's arguments, its devices, and one trial per case and device.
pub fn trials(cases: &[(&'static str, Case)], cuda_cases: &[(&'static str, Case)]) -> (Arguments, Targets, Vec<Trial>) {
    let wrap = |cs: &[(&'static str, Case)]| -> Vec<(String, DynCase)> {
        cs.iter().map(|&(n, c)| (n.to_string(), std::sync::Arc::new(c) as DynCase)).collect()
    };
    dyn_trials(wrap(cases), wrap(cuda_cases))
}

/// As [`run`], for cases that carry data.
pub fn run_dyn(cases: Vec<(String, DynCase)>) -> ! {
    let (args, _, trials) = dyn_trials(cases, Vec::new());
    libtest_mimic::run(&args, trials).exit()
}

/// [`trials`] for cases that carry data.
pub fn dyn_trials(
    cases: Vec<(String, DynCase)>,
    cuda_cases: Vec<(String, DynCase)>,
) -> (Arguments, Targets, Vec<Trial>) {
    let args = Arguments::from_args();
    let targets = targets();
    let require_gpu = std::env::var_os("FERRITE_REQUIRE_GPU").is_some_and(|v| v != "0");
    let only = only_trials();
    let mut trials = Vec::new();
    let mut skipped = 0;
    for (label, device) in &targets {
        let on_cpu = matches!(device, Ok(Device::Cpu));
        for (name, case) in cases.iter().chain(if on_cpu { &[][..] } else { &cuda_cases[..] }) {
            let full = format!("{label}::{name}");
            if only.as_ref().is_some_and(|o| !o.contains(&full)) {
                continue;
            }
            let device = device.clone();
            let unavailable = device.is_err() && !require_gpu;
            skipped += unavailable as usize;
            let gpu = label == "gpu";
            let trial_name = full.clone();
            let case = case.clone();
            trials.push(
                Trial::test(full, move || match &device {
                    Ok(d) if gpu => gpu::run_trial(&trial_name, d, &*case),
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
    (args, targets, trials)
}

/// `FERRITE_ONLY_TRIALS=<file>`: run only the trials named in it, one per line (the GPU kit
/// reruns, in a fresh process, the trials a lost device kept from running).
fn only_trials() -> Option<std::collections::HashSet<String>> {
    let path = std::env::var_os("FERRITE_ONLY_TRIALS")?;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("FERRITE_ONLY_TRIALS={path:?}: {e}"));
    Some(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
}

/// GPU trials, one at a time: each knows exactly which kernels it launched, a fault is pinned
/// on the trial (and, with `FERRITE_CUDA_SYNC=1`, the kernel) that caused it, and after a
/// fault that loses the device the rest are reported as not run rather than failing with the
/// same error.
mod gpu {
    use super::{CaseResult, Failed};
    use ferrite::{Device, Error};
    use std::io::Write;
    use std::sync::Mutex;

    /// Held for the whole of a GPU trial. Its value is the trial that lost the device, if one did.
    static GPU: Mutex<Option<String>> = Mutex::new(None);

    pub fn run_trial(
        name: &str,
        d: &Device,
        case: &(dyn Fn(&Device) -> CaseResult + Send + Sync),
    ) -> Result<(), Failed> {
        let mut lost = GPU.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(culprit) = lost.as_ref() {
            append("FERRITE_LOST_TRIALS", name);
            return Err(Failed::from(format!("not run: the GPU was lost to a fault in {culprit}")));
        }
        let Device::Cuda(cuda) = d else { return case(d).map_err(|e| Failed::from(e.to_string())) };
        let before = cuda.kernel_launches();
        let result = case(d).map_err(|e| e.to_string());
        // A fault the case did not see (it never synchronized) shows up here.
        let health = cuda.synchronize();
        let after = cuda.kernel_launches();
        let ran: Vec<String> = after
            .iter()
            .filter_map(|(k, n)| {
                let was = before.iter().find(|(b, _)| b == k).map_or(0, |b| b.1);
                (*n > was).then(|| format!("{k}:{}", n - was))
            })
            .collect();
        let is_lost = matches!(health, Err(Error::DeviceLost { .. }));
        let outcome = match (&result, &health) {
            (Ok(()), Ok(())) => "pass",
            _ => "fail",
        };
        append("FERRITE_KERNEL_LOG", &format!("{}\t{name}\t{outcome}\t{}", suite(), ran.join(",")));
        if is_lost {
            *lost = Some(name.to_string());
        }
        match (result, health) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(e), _) => Err(Failed::from(e)),
            (Ok(()), Err(e)) => Err(Failed::from(format!("the case passed, but the device then reported: {e}"))),
        }
    }

    /// The test binary's name (`arrays`, `training`, ...).
    fn suite() -> String {
        let exe = std::env::current_exe().unwrap_or_default();
        let stem = exe.file_stem().and_then(|s| s.to_str()).unwrap_or("unknown").to_string();
        // Cargo names test binaries `<suite>-<hash>`; the GPU kit copies them by suite name.
        stem.rsplit_once('-').filter(|(_, h)| h.len() == 16).map_or(stem.clone(), |(s, _)| s.to_string())
    }

    /// Appends a line to the file the environment variable `var` names, if it is set.
    fn append(var: &str, line: &str) {
        let Some(path) = std::env::var_os(var) else { return };
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
        if let Err(e) = file.and_then(|mut f| writeln!(f, "{line}")) {
            eprintln!("cannot append to {var}={path:?}: {e}");
        }
    }
}
