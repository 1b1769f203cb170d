//! A launch as a GPU makes it: the arguments against the `.entry` signature, the geometry
//! against CUDA's limits and the entry's `.maxntid`/`.reqntid`, shared memory against the
//! device's limit; then the blocks, spread over the host's cores.

use crate::block::Block;
use crate::error::InterpError;
use crate::parse::Kernel;
use crate::stats::LaunchStats;
use kernels_gpu::{Dim3, LaunchConfig};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One kernel argument, as `cuLaunchKernel` passes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// A struct passed by value (`.param .align N .b8 name[len]`): its bytes.
    Bytes(Vec<u8>),
    /// A device pointer (a `.u64 .ptr` parameter).
    Ptr(u64),
    /// A 32-bit scalar (`.u32`, `.s32`, `.f32`, `.b32`).
    B32(u32),
    /// A 64-bit scalar (`.u64`, `.s64`, `.f64`, `.b64` without `.ptr`).
    B64(u64),
}

#[derive(Clone, Debug)]
pub struct LaunchOptions {
    /// Shared memory a block may use (static and dynamic): the device's opt-in limit.
    pub max_shared_bytes: u32,
    /// Gather memory-access statistics (slower).
    pub stats: bool,
    /// Report shared-memory data races (accesses by different threads with no barrier between).
    pub race_check: bool,
    /// Host threads running blocks.
    pub workers: usize,
    /// Warp instructions one block may execute before it is declared stuck in a loop.
    pub max_steps_per_block: u64,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        let workers = std::env::var("FERRITE_EMU_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        LaunchOptions {
            max_shared_bytes: 48 * 1024,
            stats: false,
            race_check: true,
            workers,
            max_steps_per_block: 1 << 34,
        }
    }
}

fn invalid(kernel: &Kernel, message: String) -> InterpError {
    InterpError::InvalidLaunch { kernel: kernel.name.clone(), message }
}

/// Checks the launch as the driver would, then builds the parameter buffer.
pub fn prepare(
    kernel: &Kernel,
    cfg: &LaunchConfig,
    params: &[ParamValue],
    opts: &LaunchOptions,
) -> Result<Vec<u8>, InterpError> {
    if params.len() != kernel.params.len() {
        return Err(invalid(kernel, format!("{} arguments for {} parameters", params.len(), kernel.params.len())));
    }
    let mut buf = vec![0u8; kernel.param_bytes as usize];
    for (i, (v, p)) in params.iter().zip(&kernel.params).enumerate() {
        let (bytes, ok) = match v {
            ParamValue::Ptr(x) => (x.to_le_bytes().to_vec(), p.bytes == 8 && p.ptr),
            ParamValue::B64(x) => (x.to_le_bytes().to_vec(), p.bytes == 8 && !p.ptr),
            ParamValue::B32(x) => (x.to_le_bytes().to_vec(), p.bytes == 4),
            ParamValue::Bytes(b) => (b.clone(), b.len() == p.bytes as usize && !p.ptr),
        };
        if !ok {
            return Err(invalid(
                kernel,
                format!(
                    "argument {i} is {v:?} but parameter {} is a {}-byte {}",
                    p.name,
                    p.bytes,
                    if p.ptr { "pointer" } else { "scalar" }
                ),
            ));
        }
        buf[p.offset as usize..p.offset as usize + bytes.len()].copy_from_slice(&bytes);
    }
    let (b, g) = (cfg.block, cfg.grid);
    if [b.x, b.y, b.z, g.x, g.y, g.z].contains(&0) {
        return Err(invalid(kernel, format!("zero-sized grid {g:?} or block {b:?}")));
    }
    if b.x > 1024 || b.y > 1024 || b.z > 64 || b.volume() > 1024 {
        return Err(invalid(kernel, format!("block {b:?} exceeds (1024, 1024, 64) or 1024 threads")));
    }
    if g.x > i32::MAX as u32 || g.y > 65535 || g.z > 65535 {
        return Err(invalid(kernel, format!("grid {g:?} exceeds (2^31 - 1, 65535, 65535)")));
    }
    if let Some(r) = kernel.reqntid.filter(|r| *r != [b.x, b.y, b.z]) {
        return Err(invalid(kernel, format!("block {b:?} differs from the entry's .reqntid {r:?}")));
    }
    if let Some(m) = kernel.maxntid {
        let max = m[0] as u64 * m[1] as u64 * m[2] as u64;
        if b.volume() > max || b.x > m[0] || b.y > m[1] || b.z > m[2] {
            return Err(invalid(kernel, format!("block {b:?} exceeds the entry's .maxntid {m:?}")));
        }
    }
    let shared = kernel.dynamic_shared_offset as u64 + cfg.shared_bytes as u64;
    let shared = if cfg.shared_bytes == 0 { kernel.static_shared_bytes as u64 } else { shared };
    if shared > opts.max_shared_bytes as u64 {
        return Err(invalid(
            kernel,
            format!(
                "{} bytes of static and {} of dynamic shared memory exceed the {}-byte limit",
                kernel.static_shared_bytes, cfg.shared_bytes, opts.max_shared_bytes
            ),
        ));
    }
    Ok(buf)
}

fn unlinear(i: u64, d: Dim3) -> Dim3 {
    let (x, y) = (d.x as u64, d.y as u64);
    Dim3::new((i % x) as u32, ((i / x) % y) as u32, (i / (x * y)) as u32)
}

/// Runs every block of the grid. Returns the statistics if `opts.stats`; on failure, the
/// error of the lowest-numbered failing block, so a failure reads the same every run.
pub fn launch(
    kernel: &Kernel,
    cfg: &LaunchConfig,
    params: &[ParamValue],
    opts: &LaunchOptions,
) -> Result<Option<LaunchStats>, InterpError> {
    let buf = prepare(kernel, cfg, params, opts)?;
    let blocks = cfg.grid.volume();
    let workers = (opts.workers as u64).min(blocks).max(1) as usize;
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<(u64, InterpError)>> = Mutex::new(None);
    let stats: Mutex<Option<LaunchStats>> = Mutex::new(opts.stats.then(LaunchStats::default));
    let work = || {
        let mut block = Block::new(kernel, &buf, *cfg, opts.stats, opts.race_check, opts.max_steps_per_block);
        while !stop.load(Ordering::Relaxed) {
            let b = next.fetch_add(1, Ordering::Relaxed);
            if b >= blocks {
                break;
            }
            if let Err(e) = block.run(unlinear(b, cfg.grid)) {
                stop.store(true, Ordering::Relaxed);
                let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                if slot.as_ref().is_none_or(|(fb, _)| b < *fb) {
                    *slot = Some((b, e));
                }
            }
        }
        if let Some(s) = block.take_stats()
            && let Some(all) = stats.lock().unwrap_or_else(|p| p.into_inner()).as_mut()
        {
            all.merge(&s);
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
    if let Some((_, e)) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(stats.into_inner().unwrap_or_else(|p| p.into_inner()))
}
