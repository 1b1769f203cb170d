//! A CUDA device made of the CPU grid emulator: the backend's launch code runs unchanged,
//! and launches are checked the way the driver checks them (entry present in the loaded PTX
//! variant, CUDA's launch limits, shared memory within what the device allows, and a block no
//! larger than the kernel's registers allow, from ptxas's count in `ptx/registers.rs`): a
//! launch a GPU would refuse fails here too, with the driver's error code. With a
//! [`PtxLauncher`], launches run the loaded variant's PTX instead of the Rust source.

use super::driver::{Captured, Driver, Launch, MemoryMode, PtxLaunchError, PtxLauncher, check_block};
use crate::error::{Error, Result};
use crate::ptx::PtxVariant;
use kernels_gpu::emu::{self, EmuError, Limits};
use kernels_gpu::{LaunchConfig, PtxParam};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;

pub(crate) struct EmulatedDriver {
    name: String,
    cc: (u32, u32),
    variant: OnceLock<&'static PtxVariant>,
    /// The newest PTX ISA the emulated driver accepts (`None`: any), to test how a device
    /// behind an old driver falls back to an older variant.
    ptx_limit: Option<(u32, u32)>,
    /// Pools, as every real GPU ferrite targets has, unless a test asks for the fallback.
    memory: MemoryMode,
    /// Frees that waited for the stream first (the plain mode's rule), for tests.
    synchronized_frees: Arc<AtomicU64>,
    /// A kernel fault loses the device, as on a GPU, where a trap or an illegal address leaves
    /// the context unusable: the first fault, as every later call reports it.
    lost: Arc<OnceLock<String>>,
    /// Launches recorded by open captures, per capturing thread (other threads' work on the
    /// device runs as usual, as on a real GPU where each capture has its own stream).
    capture: Mutex<HashMap<ThreadId, Vec<Recorded>>>,
    /// Runs the PTX instead of the Rust source, when set.
    launcher: Option<Arc<dyn PtxLauncher>>,
}

/// A captured launch: checked when recorded, run at each replay.
struct Recorded {
    kernel: &'static str,
    cfg: LaunchConfig,
    limits: Limits,
    body: Body,
    /// The device's record of the fault that lost it.
    lost: Arc<OnceLock<String>>,
}

enum Body {
    /// The kernel's Rust source on the grid emulator.
    Source(Arc<dyn Fn() + Send + Sync>),
    /// The variant's PTX through a launcher, with the argument values read at launch.
    Ptx { launcher: Arc<dyn PtxLauncher>, variant: &'static PtxVariant, args: Vec<(PtxParam, Vec<u8>)> },
}

impl Recorded {
    fn run(&self) -> Result<()> {
        let result = match &self.body {
            Body::Source(emulate) => emu::launch_with(&self.cfg, &self.limits, &**emulate).map_err(|e| match e {
                EmuError::InvalidConfig(m) => launch_error(self.kernel, "CUDA_ERROR_INVALID_VALUE", m),
                other => launch_error(self.kernel, "CUDA_ERROR_LAUNCH_FAILED", other.to_string()),
            }),
            Body::Ptx { launcher, variant, args } => {
                emu::validate(&self.cfg, &self.limits)
                    .map_err(|e| launch_error(self.kernel, "CUDA_ERROR_INVALID_VALUE", e.to_string()))?;
                let max_shared = self.limits.max_shared_bytes;
                launcher.launch(variant.ptx, variant.arch, self.kernel, &self.cfg, args, max_shared).map_err(
                    |e| match e {
                        PtxLaunchError::Invalid(m) => launch_error(self.kernel, "CUDA_ERROR_INVALID_VALUE", m),
                        PtxLaunchError::Failed(m) => launch_error(self.kernel, "CUDA_ERROR_LAUNCH_FAILED", m),
                    },
                )
            }
        };
        // A kernel that faults (out of bounds, a trap, a stuck barrier) ends the context.
        if let Err(e @ Error::Cuda { code, .. }) = &result
            && code == "CUDA_ERROR_LAUNCH_FAILED"
        {
            let _ = self.lost.set(e.to_string());
        }
        result
    }
}

struct EmulatedGraph(Vec<Recorded>);

impl Captured for EmulatedGraph {
    fn replay(&self) -> Result<()> {
        self.0.iter().try_for_each(Recorded::run)
    }
}

impl EmulatedDriver {
    pub(crate) fn new(cc: (u32, u32)) -> Self {
        EmulatedDriver {
            name: "ferrite CPU grid emulator".into(),
            cc,
            variant: OnceLock::new(),
            ptx_limit: None,
            memory: MemoryMode::Pool,
            synchronized_frees: Arc::new(AtomicU64::new(0)),
            lost: Arc::new(OnceLock::new()),
            capture: Mutex::new(HashMap::new()),
            launcher: None,
        }
    }

    /// Like a device without memory pools (`CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED` 0).
    #[cfg(test)]
    pub(crate) fn without_memory_pools(mut self) -> Self {
        self.memory = MemoryMode::Plain;
        self
    }

    /// Counts the frees that synchronized first, as plain frees must.
    #[cfg(test)]
    pub(crate) fn synchronized_frees(&self) -> Arc<AtomicU64> {
        self.synchronized_frees.clone()
    }

    /// Launches run the PTX through `launcher` instead of the Rust source.
    pub(crate) fn with_launcher(mut self, launcher: Arc<dyn PtxLauncher>) -> Self {
        self.name = "ferrite PTX interpreter".into();
        self.launcher = Some(launcher);
        self
    }

    /// Like a driver that JIT-compiles PTX up to ISA version `limit` only.
    #[cfg(test)]
    pub(crate) fn with_ptx_limit(mut self, limit: (u32, u32)) -> Self {
        self.ptx_limit = Some(limit);
        self
    }
}

impl EmulatedDriver {
    /// Fails at once once a fault has lost the device, as the real driver does.
    fn check_lost(&self) -> Result<()> {
        match self.lost.get() {
            Some(cause) => Err(Error::DeviceLost { device: format!("emulated:{}", self.arch()), cause: cause.clone() }),
            None => Ok(()),
        }
    }

    fn arch(&self) -> &'static str {
        self.variant.get().map_or("?", |v| v.arch)
    }
}

fn launch_error(kernel: &'static str, code: &str, message: String) -> Error {
    Error::Cuda { call: "cuLaunchKernel", code: code.into(), message, kernel: Some(kernel) }
}

impl Driver for EmulatedDriver {
    fn name(&self) -> &str {
        &self.name
    }

    fn compute_capability(&self) -> (u32, u32) {
        self.cc
    }

    /// Few multiprocessors keep grid-stride grids small, which the emulator runs faster.
    fn multiprocessors(&self) -> u32 {
        4
    }

    /// The opt-in limits of the real generations: Volta 96 KiB, Ampere 163 KiB, Hopper 227 KiB.
    fn max_shared_bytes(&self) -> u32 {
        match self.cc {
            (7, _) => 96 * 1024,
            (8, 0) => 163 * 1024,
            (8, _) => 99 * 1024,
            _ => 227 * 1024,
        }
    }

    /// From the registers ptxas gives the kernel (the generated table in `ptx/registers.rs`).
    fn max_threads(&self, kernel: &'static str) -> Result<u32> {
        let variant = self.variant.get().expect("PTX variant chosen when the device opened");
        variant.max_threads(kernel).ok_or_else(|| {
            launch_error(
                kernel,
                "CUDA_ERROR_NOT_FOUND",
                format!(
                    "no ptxas register count for {kernel} in the {} PTX: regenerate host/src/ptx/registers.rs with \
                     FERRITE_UPDATE_DOCS=1 cargo test --test ptx",
                    variant.arch
                ),
            )
        })
    }

    fn load(&self, variant: &'static PtxVariant) -> Result<()> {
        let v = variant.isa_version();
        if let Some(l) = self.ptx_limit.filter(|&l| v > l) {
            return Err(Error::PtxJit {
                arch: variant.arch,
                code: "CUDA_ERROR_UNSUPPORTED_PTX_VERSION".into(),
                log: format!("Unsupported .version {}.{}; current version is '{}.{}'", v.0, v.1, l.0, l.1),
            });
        }
        let _ = self.variant.set(variant);
        Ok(())
    }

    /// Host memory, so the host's limit applies; a refusal is the driver's out-of-memory error.
    fn alloc(&self, bytes: usize) -> Result<u64> {
        self.check_lost()?;
        let p = (bytes as u64 <= crate::alloc::host_limit()).then(|| emu::try_alloc(bytes)).flatten();
        p.map(|p| p as u64).ok_or_else(|| Error::Cuda {
            call: "cuMemAllocAsync",
            code: "CUDA_ERROR_OUT_OF_MEMORY".into(),
            message: "out of memory".into(),
            kernel: None,
        })
    }

    unsafe fn free(&self, ptr: u64, bytes: usize) {
        if self.memory == MemoryMode::Plain && self.synchronize().is_ok() {
            self.synchronized_frees.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { emu::free(ptr as *mut u8, bytes) }
    }

    fn memory_mode(&self) -> MemoryMode {
        self.memory
    }

    unsafe fn copy_to_device(&self, dst: u64, src: &[u8]) -> Result<()> {
        self.check_lost()?;
        emu::check_range(dst as usize, src.len()).map_err(|m| copy_error("cuMemcpyHtoD", m))?;
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst as *mut u8, src.len()) };
        Ok(())
    }

    unsafe fn copy_to_host(&self, dst: &mut [u8], src: u64) -> Result<()> {
        self.check_lost()?;
        emu::check_range(src as usize, dst.len()).map_err(|m| copy_error("cuMemcpyDtoH", m))?;
        unsafe { std::ptr::copy_nonoverlapping(src as *const u8, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    unsafe fn copy_on_device(&self, dst: u64, src: u64, bytes: usize) -> Result<()> {
        self.check_lost()?;
        emu::check_range(src as usize, bytes).map_err(|m| copy_error("cuMemcpyDtoD", m))?;
        emu::check_range(dst as usize, bytes).map_err(|m| copy_error("cuMemcpyDtoD", m))?;
        unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, bytes) };
        Ok(())
    }

    unsafe fn memset(&self, dst: u64, byte: u8, bytes: usize) -> Result<()> {
        self.check_lost()?;
        emu::check_range(dst as usize, bytes).map_err(|m| copy_error("cuMemsetD8", m))?;
        unsafe { std::ptr::write_bytes(dst as *mut u8, byte, bytes) };
        Ok(())
    }

    unsafe fn launch(&self, l: &Launch<'_>) -> Result<()> {
        self.check_lost()?;
        let variant = self.variant.get().expect("PTX variant chosen when the device opened");
        if !variant.has_entry(l.kernel) {
            return Err(launch_error(
                l.kernel,
                "CUDA_ERROR_NOT_FOUND",
                format!("the {} PTX has no entry {}", variant.arch, l.kernel),
            ));
        }
        let regs = variant.registers(l.kernel).unwrap_or(0);
        check_block(l.kernel, &l.cfg, self.max_threads(l.kernel)?, &format!("{regs} registers per thread"))?;
        let limits = Limits { max_shared_bytes: self.max_shared_bytes(), ..Limits::default() };
        let body = match &self.launcher {
            None => Body::Source(l.emulate.clone()),
            Some(launcher) => {
                // SAFETY: `params[i]` points at an argument of the kind `param_kinds[i]` says.
                let args = l
                    .param_kinds
                    .iter()
                    .zip(l.params)
                    .map(|(&kind, &p)| (kind, unsafe { super::driver::arg_bytes(kind, p) }))
                    .collect();
                Body::Ptx { launcher: launcher.clone(), variant, args }
            }
        };
        let launch = Recorded { kernel: l.kernel, cfg: l.cfg, limits, body, lost: self.lost.clone() };
        if let Some(recording) =
            self.capture.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&std::thread::current().id())
        {
            // Refused configurations fail at capture time, as with cudaStreamBeginCapture.
            emu::validate(&l.cfg, &limits)
                .map_err(|e| launch_error(l.kernel, "CUDA_ERROR_INVALID_VALUE", e.to_string()))?;
            recording.push(launch);
            return Ok(());
        }
        launch.run()
    }

    fn synchronize(&self) -> Result<()> {
        self.check_lost()
    }

    fn time(&self, enqueue: &mut dyn FnMut() -> Result<()>) -> Result<f64> {
        let start = std::time::Instant::now();
        enqueue()?;
        Ok(start.elapsed().as_secs_f64())
    }

    fn raw_stream(&self) -> Option<(*mut std::ffi::c_void, *mut std::ffi::c_void)> {
        None
    }

    fn begin_capture(&self) -> Result<()> {
        let mut c = self.capture.lock().unwrap_or_else(|p| p.into_inner());
        let previous = c.insert(std::thread::current().id(), Vec::new());
        assert!(previous.is_none(), "this thread already has a capture open");
        Ok(())
    }

    fn end_capture(&self) -> Result<Box<dyn Captured>> {
        let recorded = self.capture.lock().unwrap_or_else(|p| p.into_inner()).remove(&std::thread::current().id());
        Ok(Box::new(EmulatedGraph(recorded.expect("end_capture without begin_capture"))))
    }
}

fn copy_error(call: &'static str, message: String) -> Error {
    Error::Cuda { call, code: "CUDA_ERROR_INVALID_VALUE".into(), message, kernel: None }
}
