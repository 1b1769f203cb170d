//! The CUDA driver API through cudarc's thin `result` layer. libcuda is loaded at run time, so
//! ferrite builds and runs where no CUDA is installed; opening a device there is an error.
//!
//! Every call makes the device's primary context current on the calling thread first, and all
//! work goes to one non-blocking stream, so operations on a device run in the order issued.
//! Kernel faults surface at the next synchronisation and name the last kernel launched;
//! `FERRITE_CUDA_SYNC=1` synchronises after every launch to pin a fault on its kernel. A fault
//! that leaves the context unusable (an illegal address, a trap) is remembered: every later
//! call fails at once with [`Error::DeviceLost`] naming the first fault, instead of each
//! repeating the driver's error under another operation's name.
//!
//! Memory comes from the device's stream-ordered pool, which keeps freed memory for reuse
//! (release threshold: unlimited) rather than returning it to the OS at every synchronisation;
//! where the device has no memory pools (some virtualised GPUs) it falls back to plain
//! `cuMemAlloc`/`cuMemFree`, synchronising before a free.
//!
//! Before a launch the block size is checked against the kernel's
//! `CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK` (what its registers allow), so an over-large
//! block is a typed error naming the kernel, never a failed launch on the hardware.

use super::driver::{Captured, Driver, Launch, MemoryMode, check_block};
use crate::error::{Error, Result};
use crate::ptx::PtxVariant;
use cudarc::driver::result::{self, DriverError};
use cudarc::driver::sys;
use std::collections::HashMap;
use std::ffi::{CString, c_void};
use std::sync::{Mutex, OnceLock};

pub(crate) struct RealDriver {
    device: sys::CUdevice,
    ctx: sys::CUcontext,
    stream: sys::CUstream,
    /// Graph captures record on a stream of their own, per capturing thread, so other threads'
    /// work on this device is not swept into a graph.
    captures: Mutex<HashMap<std::thread::ThreadId, CaptureStream>>,
    name: String,
    cc: (u32, u32),
    sms: u32,
    max_shared: u32,
    memory: MemoryMode,
    module: OnceLock<sys::CUmodule>,
    functions: Mutex<HashMap<&'static str, Function>>,
    last_kernel: Mutex<Option<&'static str>>,
    /// The first fault that left the context unusable, as `Error::DeviceLost` reports it.
    lost: OnceLock<String>,
    /// `cuda:N`, for errors.
    label: String,
    sync_each_launch: bool,
}

/// A loaded entry point and what the driver said of it.
#[derive(Clone, Copy)]
struct Function {
    handle: sys::CUfunction,
    /// Dynamic shared memory it has been allowed so far (48 KiB without opting in).
    shared_allowed: u32,
    /// `CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK`: the largest block its registers allow.
    max_threads: u32,
}

/// Errors after which the context cannot run anything again (the CUDA documentation's
/// "sticky" errors): the process must restart to use the device.
const STICKY: &[&str] = &[
    "CUDA_ERROR_ILLEGAL_ADDRESS",
    "CUDA_ERROR_LAUNCH_TIMEOUT",
    "CUDA_ERROR_HARDWARE_STACK_ERROR",
    "CUDA_ERROR_ILLEGAL_INSTRUCTION",
    "CUDA_ERROR_MISALIGNED_ADDRESS",
    "CUDA_ERROR_INVALID_ADDRESS_SPACE",
    "CUDA_ERROR_INVALID_PC",
    "CUDA_ERROR_LAUNCH_FAILED",
    "CUDA_ERROR_ASSERT",
    "CUDA_ERROR_ECC_UNCORRECTABLE",
];

// SAFETY: driver handles may be used from any thread once the context is current there, which
// every method ensures; the mutable state is behind mutexes.
unsafe impl Send for RealDriver {}
unsafe impl Sync for RealDriver {}

fn cuda_err(call: &'static str, kernel: Option<&'static str>) -> impl Fn(DriverError) -> Error {
    move |e| Error::Cuda {
        call,
        code: e.error_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|_| format!("{:?}", e.0)),
        message: e.error_string().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        kernel,
    }
}

/// Whether libcuda can be loaded at all (cudarc panics on first use if it cannot).
pub(crate) fn driver_library_present() -> bool {
    // SAFETY: only tries to dlopen the library.
    unsafe { sys::is_culib_present() }
}

impl RealDriver {
    pub(crate) fn open(ordinal: usize) -> Result<Self> {
        if !driver_library_present() {
            return Err(Error::NoCuda(format!(
                "the NVIDIA driver library (libcuda.so) is not installed on this machine (tried {} through the \
                 system's search)",
                {
                    let mut names = cudarc::get_lib_name_candidates("cuda");
                    let mut seen = std::collections::HashSet::new();
                    names.retain(|n| seen.insert(n.clone()));
                    names.join(", ")
                }
            )));
        }
        let no_cuda = |what: &str| {
            let what = what.to_string();
            move |e: DriverError| {
                let name = e.error_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                Error::NoCuda(format!("{what} failed with {name}"))
            }
        };
        result::init().map_err(no_cuda("cuInit"))?;
        let count = result::device::get_count().map_err(no_cuda("cuDeviceGetCount"))? as usize;
        if ordinal >= count {
            return Err(Error::NoCuda(format!(
                "cuda:{ordinal} was requested but this machine has {count} CUDA device(s)"
            )));
        }
        let device = result::device::get(ordinal as i32).map_err(cuda_err("cuDeviceGet", None))?;
        let attr =
            |a| unsafe { result::device::get_attribute(device, a) }.map_err(cuda_err("cuDeviceGetAttribute", None));
        use sys::CUdevice_attribute::*;
        let cc = (
            attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)? as u32,
            attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)? as u32,
        );
        let sms = attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as u32;
        let max_shared = attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)? as u32;
        let pools = attr(CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED)? != 0;
        let name = result::device::get_name(device).map_err(cuda_err("cuDeviceGetName", None))?;
        let ctx = unsafe { result::primary_ctx::retain(device) }.map_err(cuda_err("cuDevicePrimaryCtxRetain", None))?;
        unsafe { result::ctx::set_current(ctx) }.map_err(cuda_err("cuCtxSetCurrent", None))?;
        let new_stream = || {
            result::stream::create(result::stream::StreamKind::NonBlocking).map_err(cuda_err("cuStreamCreate", None))
        };
        let stream = new_stream()?;
        let memory = if pools {
            // Keep what is freed for reuse: with the default threshold (0) every synchronize
            // hands the pool's memory back to the OS, and the next allocation maps it again.
            let pool = unsafe { result::device::get_default_mem_pool(device) }
                .map_err(cuda_err("cuDeviceGetDefaultMemPool", None))?;
            let mut keep_all = u64::MAX;
            unsafe {
                result::mem_pool::set_attribute(
                    pool,
                    sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                    (&mut keep_all as *mut u64).cast(),
                )
            }
            .map_err(cuda_err("cuMemPoolSetAttribute", None))?;
            MemoryMode::Pool
        } else {
            MemoryMode::Plain
        };
        Ok(RealDriver {
            device,
            ctx,
            stream,
            captures: Mutex::new(HashMap::new()),
            name,
            cc,
            sms,
            max_shared,
            memory,
            module: OnceLock::new(),
            functions: Mutex::new(HashMap::new()),
            last_kernel: Mutex::new(None),
            lost: OnceLock::new(),
            label: format!("cuda:{ordinal}"),
            sync_each_launch: std::env::var_os("FERRITE_CUDA_SYNC").is_some_and(|v| v != "0"),
        })
    }

    /// Makes the context current on this thread; fails at once if an earlier fault lost it.
    fn bind(&self) -> Result<()> {
        if let Some(cause) = self.lost.get() {
            return Err(Error::DeviceLost { device: self.label.clone(), cause: cause.clone() });
        }
        unsafe { result::ctx::set_current(self.ctx) }.map_err(cuda_err("cuCtxSetCurrent", None))
    }

    /// `cuda_err`, remembering a sticky error as the reason the device is lost.
    fn fault(&self, call: &'static str, kernel: Option<&'static str>) -> impl Fn(DriverError) -> Error + '_ {
        move |e| {
            let err = cuda_err(call, kernel)(e);
            if let Error::Cuda { code, .. } = &err
                && STICKY.contains(&code.as_str())
            {
                let _ = self.lost.set(err.to_string());
            }
            err
        }
    }

    /// The stream this thread's launches go to: its capture stream while it captures.
    fn launch_stream(&self) -> sys::CUstream {
        let captures = self.captures.lock().unwrap_or_else(|p| p.into_inner());
        captures.get(&std::thread::current().id()).map_or(self.stream, |c| c.0)
    }

    fn last_kernel(&self) -> Option<&'static str> {
        *self.last_kernel.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry point `name`, allowed `shared` bytes of dynamic shared memory.
    fn function(&self, name: &'static str, shared: u32) -> Result<Function> {
        let module = *self.module.get().expect("PTX module loaded when the device opened");
        let mut fns = self.functions.lock().unwrap_or_else(|p| p.into_inner());
        let mut f = match fns.get(name) {
            Some(&f) => f,
            None => {
                let cname = CString::new(name).expect("entry names have no NUL");
                let handle = unsafe { result::module::get_function(module, cname) }
                    .map_err(cuda_err("cuModuleGetFunction", Some(name)))?;
                let max_threads = unsafe {
                    result::function::get_function_attribute(
                        handle,
                        sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                    )
                }
                .map_err(cuda_err("cuFuncGetAttribute", Some(name)))?;
                Function { handle, shared_allowed: 48 * 1024, max_threads: max_threads.max(0) as u32 }
            }
        };
        // Above 48 KiB of dynamic shared memory a kernel must opt in.
        if shared > f.shared_allowed {
            unsafe {
                result::function::set_function_attribute(
                    f.handle,
                    sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    shared as i32,
                )
            }
            .map_err(cuda_err("cuFuncSetAttribute", Some(name)))?;
            f.shared_allowed = shared;
        }
        fns.insert(name, f);
        Ok(f)
    }
}

impl Driver for RealDriver {
    fn name(&self) -> &str {
        &self.name
    }

    fn compute_capability(&self) -> (u32, u32) {
        self.cc
    }

    fn multiprocessors(&self) -> u32 {
        self.sms
    }

    fn max_shared_bytes(&self) -> u32 {
        self.max_shared
    }

    fn max_threads(&self, kernel: &'static str) -> Result<u32> {
        self.bind()?;
        Ok(self.function(kernel, 0)?.max_threads)
    }

    fn memory_mode(&self) -> MemoryMode {
        self.memory
    }

    fn load(&self, variant: &'static PtxVariant) -> Result<()> {
        self.bind()?;
        let ptx = CString::new(variant.ptx).expect("PTX has no NUL");
        let mut log = vec![0u8; 1 << 16];
        let mut options =
            [sys::CUjit_option::CU_JIT_ERROR_LOG_BUFFER, sys::CUjit_option::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES];
        let mut values = [log.as_mut_ptr() as *mut c_void, log.len() as *mut c_void];
        let mut module = std::ptr::null_mut();
        let status = unsafe {
            sys::cuModuleLoadDataEx(
                &mut module,
                ptx.as_ptr() as *const c_void,
                options.len() as u32,
                options.as_mut_ptr(),
                values.as_mut_ptr(),
            )
        };
        if let Err(e) = status.result() {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            return Err(Error::PtxJit {
                arch: variant.arch,
                code: e.error_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                log: String::from_utf8_lossy(&log[..end]).into_owned(),
            });
        }
        let _ = self.module.set(module);
        Ok(())
    }

    fn alloc(&self, bytes: usize) -> Result<u64> {
        self.bind()?;
        match self.memory {
            MemoryMode::Pool => {
                unsafe { result::malloc_async(self.stream, bytes.max(1)) }.map_err(self.fault("cuMemAllocAsync", None))
            }
            MemoryMode::Plain => unsafe { result::malloc_sync(bytes.max(1)) }.map_err(self.fault("cuMemAlloc", None)),
        }
    }

    unsafe fn free(&self, ptr: u64, _bytes: usize) {
        // A failure here means the context is already broken; the error surfaces elsewhere.
        if self.bind().is_ok() {
            match self.memory {
                MemoryMode::Pool => {
                    let _ = unsafe { result::free_async(ptr, self.stream) };
                }
                // A plain free does not wait for the stream: work queued on the buffer must
                // finish first.
                MemoryMode::Plain => {
                    if self.synchronize().is_ok() {
                        let _ = unsafe { result::free_sync(ptr) };
                    }
                }
            }
        }
    }

    unsafe fn copy_to_device(&self, dst: u64, src: &[u8]) -> Result<()> {
        self.bind()?;
        // From pageable memory this returns once `src` has been staged, so it may be freed.
        unsafe { result::memcpy_htod_async(dst, src, self.stream) }.map_err(self.fault("cuMemcpyHtoDAsync", None))
    }

    unsafe fn copy_to_host(&self, dst: &mut [u8], src: u64) -> Result<()> {
        self.bind()?;
        unsafe { result::memcpy_dtoh_async(dst, src, self.stream) }
            .map_err(self.fault("cuMemcpyDtoHAsync", self.last_kernel()))?;
        self.synchronize()
    }

    unsafe fn copy_on_device(&self, dst: u64, src: u64, bytes: usize) -> Result<()> {
        self.bind()?;
        unsafe { result::memcpy_dtod_async(dst, src, bytes, self.stream) }
            .map_err(self.fault("cuMemcpyDtoDAsync", None))
    }

    unsafe fn memset(&self, dst: u64, byte: u8, bytes: usize) -> Result<()> {
        self.bind()?;
        unsafe { result::memset_d8_async(dst, byte, bytes, self.stream) }.map_err(self.fault("cuMemsetD8Async", None))
    }

    unsafe fn launch(&self, l: &Launch<'_>) -> Result<()> {
        self.bind()?;
        let f = self.function(l.kernel, l.cfg.shared_bytes)?;
        check_block(l.kernel, &l.cfg, f.max_threads, "CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK")?;
        let (g, b) = (l.cfg.grid, l.cfg.block);
        let mut params = l.params.to_vec();
        *self.last_kernel.lock().unwrap_or_else(|p| p.into_inner()) = Some(l.kernel);
        unsafe {
            result::launch_kernel(
                f.handle,
                (g.x, g.y, g.z),
                (b.x, b.y, b.z),
                l.cfg.shared_bytes,
                self.launch_stream(),
                &mut params,
            )
        }
        .map_err(self.fault("cuLaunchKernel", Some(l.kernel)))?;
        if self.sync_each_launch { self.synchronize() } else { Ok(()) }
    }

    fn synchronize(&self) -> Result<()> {
        self.bind()?;
        unsafe { result::stream::synchronize(self.stream) }
            .map_err(self.fault("cuStreamSynchronize", self.last_kernel()))
    }

    fn time(&self, enqueue: &mut dyn FnMut() -> Result<()>) -> Result<f64> {
        self.bind()?;
        let flags = sys::CUevent_flags::CU_EVENT_DEFAULT;
        let (start, end) = (
            result::event::create(flags).map_err(cuda_err("cuEventCreate", None))?,
            result::event::create(flags).map_err(cuda_err("cuEventCreate", None))?,
        );
        let timed = (|| {
            unsafe { result::event::record(start, self.stream) }.map_err(cuda_err("cuEventRecord", None))?;
            enqueue()?;
            self.bind()?;
            unsafe { result::event::record(end, self.stream) }.map_err(cuda_err("cuEventRecord", None))?;
            unsafe { result::event::synchronize(end) }.map_err(self.fault("cuEventSynchronize", self.last_kernel()))?;
            unsafe { result::event::elapsed(start, end) }.map_err(cuda_err("cuEventElapsedTime", None))
        })();
        unsafe {
            let _ = result::event::destroy(start);
            let _ = result::event::destroy(end);
        }
        Ok(timed? as f64 / 1e3)
    }

    fn raw_stream(&self) -> Option<(*mut c_void, *mut c_void)> {
        Some((self.ctx as *mut c_void, self.stream as *mut c_void))
    }

    fn begin_capture(&self) -> Result<()> {
        self.bind()?;
        let stream = CaptureStream(
            result::stream::create(result::stream::StreamKind::NonBlocking)
                .map_err(cuda_err("cuStreamCreate", None))?,
        );
        let mode = sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL;
        unsafe { result::stream::begin_capture(stream.0, mode) }.map_err(cuda_err("cuStreamBeginCapture", None))?;
        let previous =
            self.captures.lock().unwrap_or_else(|p| p.into_inner()).insert(std::thread::current().id(), stream);
        assert!(previous.is_none(), "this thread already has a capture open");
        Ok(())
    }

    fn end_capture(&self) -> Result<Box<dyn Captured>> {
        self.bind()?;
        let stream = self.captures.lock().unwrap_or_else(|p| p.into_inner()).remove(&std::thread::current().id());
        let stream = stream.expect("end_capture without begin_capture");
        let graph = unsafe { result::stream::end_capture(stream.0) }.map_err(cuda_err("cuStreamEndCapture", None))?;
        let exec = unsafe { result::graph::instantiate(graph, sys::CUgraphInstantiate_flags(0)) }
            .map_err(cuda_err("cuGraphInstantiate", None))?;
        Ok(Box::new(RealGraph { exec, graph, ctx: self.ctx, stream: self.stream }))
    }
}

/// A stream a capture records on; destroyed when the capture ends.
struct CaptureStream(sys::CUstream);

impl Drop for CaptureStream {
    fn drop(&mut self) {
        unsafe {
            let _ = result::stream::destroy(self.0);
        }
    }
}

/// An instantiated CUDA graph on the driver's stream.
struct RealGraph {
    exec: sys::CUgraphExec,
    graph: sys::CUgraph,
    ctx: sys::CUcontext,
    stream: sys::CUstream,
}

// SAFETY: graph handles may be launched from any thread with the context current.
unsafe impl Send for RealGraph {}
unsafe impl Sync for RealGraph {}

impl Captured for RealGraph {
    fn replay(&self) -> Result<()> {
        unsafe { result::ctx::set_current(self.ctx) }.map_err(cuda_err("cuCtxSetCurrent", None))?;
        unsafe { result::graph::launch(self.exec, self.stream) }.map_err(cuda_err("cuGraphLaunch", None))
    }
}

impl Drop for RealGraph {
    fn drop(&mut self) {
        unsafe {
            if result::ctx::set_current(self.ctx).is_ok() {
                let _ = result::stream::synchronize(self.stream);
                let _ = result::graph::exec_destroy(self.exec);
                let _ = result::graph::destroy(self.graph);
            }
        }
    }
}

impl Drop for RealDriver {
    fn drop(&mut self) {
        if self.bind().is_ok() {
            unsafe {
                let _ = result::stream::synchronize(self.stream);
                if let Some(&m) = self.module.get() {
                    let _ = result::module::unload(m);
                }
                let _ = result::stream::destroy(self.stream);
                let _ = result::primary_ctx::release(self.device);
            }
        }
    }
}
