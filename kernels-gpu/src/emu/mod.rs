//! The CPU grid emulator: runs a kernel body over a CUDA grid with the semantics that
//! decide whether a kernel is correct.
//!
//! - The threads of a block run concurrently (as coroutines, in a shuffled order between
//!   synchronisation points); `sync_threads` really waits for every thread of the block.
//! - Each block has its own dynamic shared memory, poisoned (all bytes `0xFF`) at its start.
//! - Warp collectives (`shfl.sync`) exchange values between the 32 lanes of a warp as the PTX
//!   ISA defines them, and fail if lanes disagree or a lane is missing.
//! - Blocks are independent and run in parallel on the host's cores.
//! - Launch limits are CUDA's; global and shared memory views are bounds-checked.
//!
//! It exists to test kernels in CI, so it favours clear failures over speed.

mod block;
mod memory;
mod mma;
pub(crate) mod thread;
pub(crate) mod warp;
mod wgmma;

pub use crate::launch::{Dim3, LaunchConfig};
use crate::launch::{Kernel, KernelArgs};
pub use memory::{ALIGN, DeviceBuffer, alloc, allocation_containing, check_range, free, try_alloc};

use core::fmt;
use std::string::String;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// CUDA's launch limits for the compute capabilities ferrite targets (7.0 and up).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_threads_per_block: u32,
    pub max_block: Dim3,
    pub max_grid: Dim3,
    /// 48 KiB unless the kernel opted in to more (up to 227 KiB on sm_90).
    pub max_shared_bytes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_threads_per_block: 1024,
            max_block: Dim3::new(1024, 1024, 64),
            max_grid: Dim3::new(i32::MAX as u32, 65535, 65535),
            max_shared_bytes: 48 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EmuError {
    /// The launch itself is invalid (CUDA would refuse it with `CUDA_ERROR_INVALID_VALUE`).
    InvalidConfig(String),
    /// A thread panicked: an out-of-bounds view, an overflow, a failed assertion or `trap`.
    KernelPanic { block: Dim3, thread: Dim3, message: String },
    /// The block cannot make progress: a barrier or warp collective not reached by all.
    Divergence { block: Dim3, message: String },
}

impl fmt::Display for EmuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmuError::InvalidConfig(m) => write!(f, "invalid launch: {m}"),
            EmuError::KernelPanic { block, thread, message } => write!(
                f,
                "kernel failed in block ({}, {}, {}) thread ({}, {}, {}): {message}",
                block.x, block.y, block.z, thread.x, thread.y, thread.z
            ),
            EmuError::Divergence { block, message } => {
                write!(f, "block ({}, {}, {}) is stuck: {message}", block.x, block.y, block.z)
            }
        }
    }
}

impl std::error::Error for EmuError {}

/// Checks a configuration against `limits` as `cuLaunchKernel` would.
pub fn validate(cfg: &LaunchConfig, limits: &Limits) -> Result<(), EmuError> {
    let (b, g, mb, mg) = (cfg.block, cfg.grid, limits.max_block, limits.max_grid);
    let bad = |m: String| Err(EmuError::InvalidConfig(m));
    if [b.x, b.y, b.z, g.x, g.y, g.z].contains(&0) {
        return bad(std::format!("zero-sized grid {g:?} or block {b:?}"));
    }
    if b.x > mb.x || b.y > mb.y || b.z > mb.z || b.volume() > limits.max_threads_per_block as u64 {
        return bad(std::format!("block {b:?} exceeds {mb:?} or {} threads", limits.max_threads_per_block));
    }
    if g.x > mg.x || g.y > mg.y || g.z > mg.z {
        return bad(std::format!("grid {g:?} exceeds {mg:?}"));
    }
    if cfg.shared_bytes > limits.max_shared_bytes {
        return bad(std::format!(
            "{} bytes of dynamic shared memory exceed the {}-byte limit",
            cfg.shared_bytes,
            limits.max_shared_bytes
        ));
    }
    Ok(())
}

/// Runs `kernel` once per thread of the grid, with CUDA's default limits.
pub fn launch(cfg: &LaunchConfig, kernel: &(dyn Fn() + Sync)) -> Result<(), EmuError> {
    launch_with(cfg, &Limits::default(), kernel)
}

/// Runs a declared kernel with its arguments, as `cuLaunchKernel` would on a GPU.
///
/// # Safety
/// Pointer arguments must point at emulated device memory ([`alloc`], [`DeviceBuffer`])
/// large enough for what the kernel accesses, as on a real device.
pub unsafe fn launch_kernel<A: KernelArgs>(k: &Kernel<A>, cfg: &LaunchConfig, args: A) -> Result<(), EmuError> {
    unsafe { launch_kernel_with(k, cfg, &Limits::default(), args) }
}

/// [`launch_kernel`] under other limits (a kernel that opted in to more shared memory).
///
/// # Safety
/// As for [`launch_kernel`].
pub unsafe fn launch_kernel_with<A: KernelArgs>(
    k: &Kernel<A>,
    cfg: &LaunchConfig,
    limits: &Limits,
    args: A,
) -> Result<(), EmuError> {
    let args = AssertSync(args);
    let body = k.body;
    launch_with(cfg, limits, &move || {
        let a = &args;
        unsafe { body(a.0) }
    })
}

/// Kernel arguments are raw pointers; sharing them between emulated threads is what a GPU
/// launch does too.
struct AssertSync<A>(A);
unsafe impl<A> Sync for AssertSync<A> {}

pub fn launch_with(cfg: &LaunchConfig, limits: &Limits, kernel: &(dyn Fn() + Sync)) -> Result<(), EmuError> {
    validate(cfg, limits)?;
    let blocks = cfg.grid.volume();
    let workers = worker_count().min(blocks) as usize;
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<(u64, EmuError)>> = Mutex::new(None);
    let seed = seed();
    let work = || {
        let mut runner = block::BlockRunner::new();
        while !stop.load(Ordering::Relaxed) {
            let b = next.fetch_add(1, Ordering::Relaxed);
            if b >= blocks {
                break;
            }
            let block_seed = seed ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            if let Err(e) = runner.run(kernel, cfg, block::unlinear(b, cfg.grid), block_seed) {
                stop.store(true, Ordering::Relaxed);
                let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                // Report the lowest failing block, so a failure reads the same every run.
                if slot.as_ref().is_none_or(|(fb, _)| b < *fb) {
                    *slot = Some((b, e));
                }
            }
        }
    };
    if workers <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..workers {
                s.spawn(work);
            }
            work();
        });
    }
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// `FERRITE_EMU_THREADS`, else the host's parallelism.
fn worker_count() -> u64 {
    std::env::var("FERRITE_EMU_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64))
        .max(1)
}

/// `FERRITE_EMU_SEED` changes the order threads are interleaved in; the default is fixed so a
/// failure reproduces.
fn seed() -> u64 {
    std::env::var("FERRITE_EMU_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5EED_F00D_CAFE_D00D)
}
