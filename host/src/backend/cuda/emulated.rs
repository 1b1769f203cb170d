//! A CUDA device made of the CPU grid emulator: the backend's launch code runs unchanged,
//! and launches are checked the way the driver checks them (entry present in the loaded PTX
//! variant, CUDA's launch limits, shared memory within what the device allows).

use super::driver::{Captured, Driver, Launch};
use crate::error::{Error, Result};
use crate::ptx::PtxVariant;
use kernels_gpu::LaunchConfig;
use kernels_gpu::emu::{self, EmuError, Limits};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;

pub(crate) struct EmulatedDriver {
    name: String,
    cc: (u32, u32),
    variant: OnceLock<&'static PtxVariant>,
    /// The newest PTX ISA the emulated driver accepts (`None`: any), to test how a device
    /// behind an old driver falls back to an older variant.
    ptx_limit: Option<(u32, u32)>,
    /// Launches recorded by open captures, per capturing thread (other threads' work on the
    /// device runs as usual, as on a real GPU where each capture has its own stream).
    capture: Mutex<HashMap<ThreadId, Vec<Recorded>>>,
}

/// A captured launch: checked when recorded, run at each replay.
struct Recorded {
    kernel: &'static str,
    cfg: LaunchConfig,
    limits: Limits,
    emulate: Arc<dyn Fn() + Send + Sync>,
}

impl Recorded {
    fn run(&self) -> Result<()> {
        emu::launch_with(&self.cfg, &self.limits, &*self.emulate).map_err(|e| match e {
            EmuError::InvalidConfig(m) => launch_error(self.kernel, "CUDA_ERROR_INVALID_VALUE", m),
            other => launch_error(self.kernel, "CUDA_ERROR_LAUNCH_FAILED", other.to_string()),
        })
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
            capture: Mutex::new(HashMap::new()),
        }
    }

    /// Like a driver that JIT-compiles PTX up to ISA version `limit` only.
    #[cfg(test)]
    pub(crate) fn with_ptx_limit(mut self, limit: (u32, u32)) -> Self {
        self.ptx_limit = Some(limit);
        self
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
        let p = (bytes as u64 <= crate::alloc::host_limit()).then(|| emu::try_alloc(bytes)).flatten();
        p.map(|p| p as u64).ok_or_else(|| Error::Cuda {
            call: "cuMemAllocAsync",
            code: "CUDA_ERROR_OUT_OF_MEMORY".into(),
            message: "out of memory".into(),
            kernel: None,
        })
    }

    unsafe fn free(&self, ptr: u64, bytes: usize) {
        unsafe { emu::free(ptr as *mut u8, bytes) }
    }

    unsafe fn copy_to_device(&self, dst: u64, src: &[u8]) -> Result<()> {
        emu::check_range(dst as usize, src.len()).map_err(|m| copy_error("cuMemcpyHtoD", m))?;
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst as *mut u8, src.len()) };
        Ok(())
    }

    unsafe fn copy_to_host(&self, dst: &mut [u8], src: u64) -> Result<()> {
        emu::check_range(src as usize, dst.len()).map_err(|m| copy_error("cuMemcpyDtoH", m))?;
        unsafe { std::ptr::copy_nonoverlapping(src as *const u8, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    unsafe fn copy_on_device(&self, dst: u64, src: u64, bytes: usize) -> Result<()> {
        emu::check_range(src as usize, bytes).map_err(|m| copy_error("cuMemcpyDtoD", m))?;
        emu::check_range(dst as usize, bytes).map_err(|m| copy_error("cuMemcpyDtoD", m))?;
        unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, bytes) };
        Ok(())
    }

    unsafe fn launch(&self, l: &Launch<'_>) -> Result<()> {
        let variant = self.variant.get().expect("PTX variant chosen when the device opened");
        if !variant.has_entry(l.kernel) {
            return Err(launch_error(
                l.kernel,
                "CUDA_ERROR_NOT_FOUND",
                format!("the {} PTX has no entry {}", variant.arch, l.kernel),
            ));
        }
        let limits = Limits { max_shared_bytes: self.max_shared_bytes(), ..Limits::default() };
        let launch = Recorded { kernel: l.kernel, cfg: l.cfg, limits, emulate: l.emulate.clone() };
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
        Ok(())
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
