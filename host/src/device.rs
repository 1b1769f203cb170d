//! Where arrays live and operations run: the CPU or a CUDA device.
//!
//! Devices parse from the strings CuPy, PyTorch and TensorFlow users write. A scoped default
//! device, like `with tf.device('/gpu:0'):`, makes constructors inside the scope allocate
//! there; operations run on their operands' device, so work inside the scope stays on it.

use crate::backend::cuda::{self, CudaDevice};
use crate::error::{Error, Result};
use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub enum Device {
    Cpu,
    Cuda(CudaDevice),
}

/// A device named but not yet opened, as parsed from a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    Cpu,
    /// A CUDA GPU by ordinal.
    Cuda(usize),
    /// The CPU grid emulator behind the CUDA backend, claiming this compute capability.
    Emulated(u32, u32),
}

impl FromStr for DeviceSpec {
    type Err = Error;

    /// Accepts `cpu`, `cuda`, `cuda:N`, `gpu`, `gpu:N`, `/gpu:N`, `/cpu:0`, `/device:GPU:N`,
    /// `/device:CPU:0` (any case, and TensorFlow's `/job:.../device:GPU:N` full names), and
    /// `emulated` or `emulated:sm_80` for the emulated CUDA device.
    fn from_str(text: &str) -> Result<Self> {
        let bad = || Error::DeviceSyntax { text: text.to_string() };
        let lower = text.trim().to_ascii_lowercase();
        let s = match lower.rfind("/device:") {
            Some(i) => &lower[i + "/device:".len()..],
            None => lower.trim_start_matches('/'),
        };
        let (kind, index) = match s.split_once(':') {
            Some((k, i)) => (k, Some(i)),
            None => (s, None),
        };
        let ordinal = |i: Option<&str>| -> Result<usize> { i.map_or(Ok(0), |i| i.parse().map_err(|_| bad())) };
        match kind {
            "cpu" if ordinal(index)? == 0 => Ok(DeviceSpec::Cpu),
            "cuda" | "gpu" => Ok(DeviceSpec::Cuda(ordinal(index)?)),
            "emulated" => match index {
                None => Ok(DeviceSpec::Emulated(9, 0)),
                // sm_XY or sm_XYZ (major X or XY, minor the last digit), as NVIDIA names them.
                Some(arch) => {
                    let digits = arch.strip_prefix("sm_").ok_or_else(bad)?;
                    let digits = digits.strip_suffix('a').unwrap_or(digits);
                    let well_formed = matches!(digits.len(), 2 | 3)
                        && digits.bytes().all(|b| b.is_ascii_digit())
                        && !digits.starts_with('0');
                    let n: u32 = digits.parse().ok().filter(|_| well_formed).ok_or_else(bad)?;
                    Ok(DeviceSpec::Emulated(n / 10, n % 10))
                }
            },
            _ => Err(bad()),
        }
    }
}

impl Device {
    /// Opens the device a string names (see [`DeviceSpec`]'s parsing).
    pub fn new(spec: &str) -> Result<Device> {
        Device::open(spec.parse()?)
    }

    pub fn open(spec: DeviceSpec) -> Result<Device> {
        match spec {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(n) => Device::cuda(n),
            DeviceSpec::Emulated(major, minor) => Device::emulated_cuda(major, minor),
        }
    }

    /// CUDA GPU number `ordinal`: an error if there is no driver, no GPU, or no such ordinal.
    pub fn cuda(ordinal: usize) -> Result<Device> {
        Ok(Device::Cuda(CudaDevice::open(ordinal)?))
    }

    /// The CUDA backend running on the CPU grid emulator: slow, but every launch goes through
    /// the same code as on a GPU of compute capability `major.minor`.
    pub fn emulated_cuda(major: u32, minor: u32) -> Result<Device> {
        Ok(Device::Cuda(CudaDevice::emulated((major, minor))?))
    }

    /// The emulated CUDA device with its launches running the embedded PTX through `launcher`
    /// (a PTX interpreter) instead of the Rust-source emulator. For ferrite's own tests.
    #[doc(hidden)]
    pub fn emulated_cuda_with_launcher(
        major: u32,
        minor: u32,
        launcher: std::sync::Arc<dyn cuda::PtxLauncher>,
    ) -> Result<Device> {
        Ok(Device::Cuda(CudaDevice::emulated_with_launcher((major, minor), launcher)?))
    }

    /// CUDA device 0 if there is one, else the CPU, with a sentence saying which and why.
    /// `FERRITE_DEVICE` (any device string) overrides the choice.
    pub fn best_available() -> (Device, String) {
        if let Ok(spec) = std::env::var("FERRITE_DEVICE") {
            return match Device::new(&spec) {
                Ok(d) => {
                    let note = format!("running on {} (FERRITE_DEVICE={spec})", d.describe());
                    (d, note)
                }
                Err(e) => (Device::Cpu, format!("running on the CPU: FERRITE_DEVICE={spec} could not be used: {e}")),
            };
        }
        match Device::cuda(0) {
            Ok(d) => {
                let note = format!("running on {}", d.describe());
                (d, note)
            }
            Err(e) => (Device::Cpu, format!("running on the CPU: {e}")),
        }
    }

    /// Whether a CUDA driver library is installed (a GPU may still be absent).
    pub fn cuda_driver_present() -> bool {
        cuda::driver_library_present()
    }

    pub fn is_cuda(&self) -> bool {
        matches!(self, Device::Cuda(_))
    }

    /// A sentence for logs: `CUDA device 0: NVIDIA H100 (compute capability 9.0, sm_90a PTX)`.
    pub fn describe(&self) -> String {
        match self {
            Device::Cpu => format!("the CPU ({} threads)", rayon::current_num_threads()),
            Device::Cuda(c) => {
                let (major, minor) = c.compute_capability();
                let which = match c.ordinal() {
                    Some(n) => format!("CUDA device {n}"),
                    None => "the CUDA emulator".to_string(),
                };
                let fallback = match c.ptx_rejected() {
                    [] => String::new(),
                    r => format!("; the driver is too old for the {} PTX", r.join(" and ")),
                };
                let memory = if c.memory_pool() { "" } else { "; plain allocations, the GPU has no memory pools" };
                format!(
                    "{which}: {} (compute capability {major}.{minor}, {} PTX{fallback}{memory})",
                    c.name(),
                    c.ptx_arch()
                )
            }
        }
    }
}

impl PartialEq for Device {
    fn eq(&self, other: &Device) -> bool {
        match (self, other) {
            (Device::Cpu, Device::Cpu) => true,
            (Device::Cuda(a), Device::Cuda(b)) => a.same_device(b),
            _ => false,
        }
    }
}

/// `cpu`, `cuda:N`, or `emulated:sm_XX`.
impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(c) => match c.ordinal() {
                Some(n) => write!(f, "cuda:{n}"),
                None => write!(f, "emulated:{}", c.ptx_arch()),
            },
        }
    }
}

thread_local! {
    static SCOPE: RefCell<Vec<Device>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `device` as this thread's default device (`with tf.device(...)`): array
/// constructors inside allocate there. Scopes nest; the previous default returns afterwards,
/// also if `f` panics.
pub fn with_device<R>(device: &Device, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            SCOPE.with(|s| s.borrow_mut().pop());
        }
    }
    SCOPE.with(|s| s.borrow_mut().push(device.clone()));
    let _pop = Pop;
    f()
}

/// The innermost [`with_device`] scope's device, else the CPU.
pub fn default_device() -> Device {
    SCOPE.with(|s| s.borrow().last().cloned()).unwrap_or(Device::Cpu)
}
