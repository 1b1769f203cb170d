//! What the CUDA backend needs from a device: memory, copies, launches. Two implementations:
//! `real.rs` (the CUDA driver through cudarc) and `emulated.rs` (the CPU grid emulator), so
//! the backend's own launch code — grid, block, shared memory, argument order, PTX variant —
//! runs unchanged in CI and on a GPU.

use crate::error::{Error, Result};
use crate::ptx::PtxVariant;
use kernels_gpu::{LaunchConfig, PtxParam};
use std::ffi::c_void;
use std::sync::Arc;

/// One kernel launch, in the two forms the drivers need.
pub(crate) struct Launch<'a> {
    /// The PTX entry point.
    pub kernel: &'static str,
    pub cfg: LaunchConfig,
    /// `cuLaunchKernel`'s `kernelParams`: one pointer per argument.
    pub params: &'a [*mut c_void],
    /// How each argument appears in PTX (what a PTX interpreter needs to read `params`).
    pub param_kinds: &'static [PtxParam],
    /// The same kernel with the same arguments, for the emulator (owned, so that a capture can
    /// keep it for replays).
    pub emulate: Arc<dyn Fn() + Send + Sync>,
}

/// Where device memory comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemoryMode {
    /// The device's stream-ordered pool (`cuMemAllocAsync`), keeping freed memory for reuse.
    Pool,
    /// `cuMemAlloc`/`cuMemFree`, where the device has no memory pools: a free waits for the
    /// stream first.
    Plain,
}

/// Runs a launch's PTX itself instead of the Rust-source body: a PTX interpreter that the
/// test suites plug into the emulated device (`Device::emulated_cuda_with_launcher`). Not
/// part of ferrite's API.
#[doc(hidden)]
pub trait PtxLauncher: Send + Sync {
    /// Runs entry `kernel` of the PTX module `ptx` (the `arch` variant) over `cfg`, each argument
    /// as its PTX kind and its bytes (little-endian: 8 for pointers and 64-bit scalars, 4 for
    /// 32-bit ones, the struct's bytes for a by-value struct), on a device whose blocks may use
    /// up to `max_shared_bytes` of shared memory.
    fn launch(
        &self,
        ptx: &'static str,
        arch: &'static str,
        kernel: &str,
        cfg: &LaunchConfig,
        args: &[(PtxParam, Vec<u8>)],
        max_shared_bytes: u32,
    ) -> std::result::Result<(), PtxLaunchError>;
}

/// Why a [`PtxLauncher`] launch failed.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum PtxLaunchError {
    /// The driver would refuse the launch (`CUDA_ERROR_INVALID_VALUE`).
    Invalid(String),
    /// The kernel faulted or could not finish (`CUDA_ERROR_LAUNCH_FAILED`).
    Failed(String),
}

/// Work recorded by a stream capture, replayable as one launch (a CUDA graph).
pub(crate) trait Captured: Send + Sync {
    fn replay(&self) -> Result<()>;
}

/// Device addresses are `u64` (`CUdeviceptr`); the emulator's are host addresses.
pub(crate) trait Driver: Send + Sync {
    /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
    fn name(&self) -> &str;
    fn compute_capability(&self) -> (u32, u32);
    fn multiprocessors(&self) -> u32;
    /// Largest dynamic shared memory a block may opt in to.
    fn max_shared_bytes(&self) -> u32;
    /// The largest block `kernel` can launch with here: its registers per thread must fit the
    /// block's register file (`CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK`).
    fn max_threads(&self, kernel: &'static str) -> Result<u32>;
    fn memory_mode(&self) -> MemoryMode;
    /// Loads the PTX module the device will launch from.
    fn load(&self, variant: &'static PtxVariant) -> Result<()>;
    fn alloc(&self, bytes: usize) -> Result<u64>;
    /// # Safety
    /// `ptr` came from `alloc(bytes)` and is not used afterwards.
    unsafe fn free(&self, ptr: u64, bytes: usize);
    /// # Safety
    /// `dst` holds `src.len()` bytes of this device's memory.
    unsafe fn copy_to_device(&self, dst: u64, src: &[u8]) -> Result<()>;
    /// Waits for queued work, then copies.
    /// # Safety
    /// `src` holds `dst.len()` bytes of this device's memory.
    unsafe fn copy_to_host(&self, dst: &mut [u8], src: u64) -> Result<()>;
    /// # Safety
    /// Both ranges hold `bytes` of this device's memory.
    unsafe fn copy_on_device(&self, dst: u64, src: u64, bytes: usize) -> Result<()>;
    /// Sets `bytes` bytes from `dst` to `byte`, in stream order (`cuMemsetD8Async`).
    /// # Safety
    /// `dst` holds `bytes` of this device's memory.
    unsafe fn memset(&self, dst: u64, byte: u8, bytes: usize) -> Result<()>;
    /// # Safety
    /// The arguments match the kernel's parameters and point at live device memory.
    unsafe fn launch(&self, launch: &Launch<'_>) -> Result<()>;
    fn synchronize(&self) -> Result<()>;
    /// Seconds the device spends on the work `enqueue` issues (CUDA events around it on the
    /// stream; wall-clock time on the emulator).
    fn time(&self, enqueue: &mut dyn FnMut() -> Result<()>) -> Result<f64>;
    /// The CUDA context and stream, for vendor libraries (cuBLAS) that must share them;
    /// `None` on the emulator.
    fn raw_stream(&self) -> Option<(*mut c_void, *mut c_void)>;
    /// From here until [`Driver::end_capture`], launches are recorded instead of run.
    /// Nothing else (allocations, copies) may be issued meanwhile.
    fn begin_capture(&self) -> Result<()>;
    fn end_capture(&self) -> Result<Box<dyn Captured>>;
}

/// The driver's refusal of a block larger than the kernel's registers allow, before any
/// hardware sees the launch: `cuLaunchKernel` answers `CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES`.
pub(crate) fn check_block(kernel: &'static str, cfg: &LaunchConfig, max_threads: u32, why: &str) -> Result<()> {
    let threads = cfg.block.volume();
    if threads <= max_threads as u64 {
        return Ok(());
    }
    Err(Error::Cuda {
        call: "cuLaunchKernel",
        code: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES".into(),
        message: format!(
            "a block of {threads} threads exceeds the {max_threads} that {kernel} can launch with ({why})"
        ),
        kernel: Some(kernel),
    })
}

/// A launch argument's bytes, read from the pointer `cuLaunchKernel` would be given.
///
/// # Safety
/// `p` points at a value of the kind `kind` names.
pub(crate) unsafe fn arg_bytes(kind: PtxParam, p: *const std::ffi::c_void) -> Vec<u8> {
    let n = match kind {
        PtxParam::B32 => 4,
        PtxParam::Ptr | PtxParam::B64 => 8,
        PtxParam::Bytes(n) => n as usize,
    };
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n) }.to_vec()
}
