//! The CUDA driver API through cudarc's thin `result` layer. libcuda is loaded at run time, so
//! ferrite builds and runs where no CUDA is installed; opening a device there is an error.
//!
//! Every call makes the device's primary context current on the calling thread first, and all
//! work goes to one non-blocking stream, so operations on a device run in the order issued.
//! Kernel faults surface at the next synchronisation and name the last kernel launched;
//! `FERRITE_CUDA_SYNC=1` synchronises after every launch to pin a fault on its kernel.

use super::driver::{Captured, Driver, Launch};
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
    module: OnceLock<sys::CUmodule>,
    /// Entry name -> (function, dynamic shared bytes it has been allowed so far).
    functions: Mutex<HashMap<&'static str, (sys::CUfunction, u32)>>,
    last_kernel: Mutex<Option<&'static str>>,
    sync_each_launch: bool,
}

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
            return Err(Error::NoCuda(
                "the NVIDIA driver library (libcuda.so) is not installed on this machine".into(),
            ));
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
        let name = result::device::get_name(device).map_err(cuda_err("cuDeviceGetName", None))?;
        let ctx = unsafe { result::primary_ctx::retain(device) }.map_err(cuda_err("cuDevicePrimaryCtxRetain", None))?;
        unsafe { result::ctx::set_current(ctx) }.map_err(cuda_err("cuCtxSetCurrent", None))?;
        let new_stream = || {
            result::stream::create(result::stream::StreamKind::NonBlocking).map_err(cuda_err("cuStreamCreate", None))
        };
        let stream = new_stream()?;
        Ok(RealDriver {
            device,
            ctx,
            stream,
            captures: Mutex::new(HashMap::new()),
            name,
            cc,
            sms,
            max_shared,
            module: OnceLock::new(),
            functions: Mutex::new(HashMap::new()),
            last_kernel: Mutex::new(None),
            sync_each_launch: std::env::var_os("FERRITE_CUDA_SYNC").is_some_and(|v| v != "0"),
        })
    }

    fn bind(&self) -> Result<()> {
        unsafe { result::ctx::set_current(self.ctx) }.map_err(cuda_err("cuCtxSetCurrent", None))
    }

    /// The stream this thread's launches go to: its capture stream while it captures.
    fn launch_stream(&self) -> sys::CUstream {
        let captures = self.captures.lock().unwrap_or_else(|p| p.into_inner());
        captures.get(&std::thread::current().id()).map_or(self.stream, |c| c.0)
    }

    fn last_kernel(&self) -> Option<&'static str> {
        *self.last_kernel.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn function(&self, name: &'static str, shared: u32) -> Result<sys::CUfunction> {
        let module = *self.module.get().expect("PTX module loaded when the device opened");
        let mut fns = self.functions.lock().unwrap_or_else(|p| p.into_inner());
        let entry = match fns.get(name) {
            Some(&e) => e,
            None => {
                let cname = CString::new(name).expect("entry names have no NUL");
                let f = unsafe { result::module::get_function(module, cname) }
                    .map_err(cuda_err("cuModuleGetFunction", Some(name)))?;
                (f, 48 * 1024)
            }
        };
        let (f, allowed) = entry;
        // Above 48 KiB of dynamic shared memory a kernel must opt in.
        let allowed = if shared > allowed {
            unsafe {
                result::function::set_function_attribute(
                    f,
                    sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    shared as i32,
                )
            }
            .map_err(cuda_err("cuFuncSetAttribute", Some(name)))?;
            shared
        } else {
            allowed
        };
        fns.insert(name, (f, allowed));
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
        unsafe { result::malloc_async(self.stream, bytes.max(1)) }.map_err(cuda_err("cuMemAllocAsync", None))
    }

    unsafe fn free(&self, ptr: u64, _bytes: usize) {
        // A failure here means the context is already broken; the error surfaces elsewhere.
        if self.bind().is_ok() {
            let _ = unsafe { result::free_async(ptr, self.stream) };
        }
    }

    unsafe fn copy_to_device(&self, dst: u64, src: &[u8]) -> Result<()> {
        self.bind()?;
        // From pageable memory this returns once `src` has been staged, so it may be freed.
        unsafe { result::memcpy_htod_async(dst, src, self.stream) }.map_err(cuda_err("cuMemcpyHtoDAsync", None))
    }

    unsafe fn copy_to_host(&self, dst: &mut [u8], src: u64) -> Result<()> {
        self.bind()?;
        unsafe { result::memcpy_dtoh_async(dst, src, self.stream) }.map_err(cuda_err("cuMemcpyDtoHAsync", None))?;
        self.synchronize()
    }

    unsafe fn copy_on_device(&self, dst: u64, src: u64, bytes: usize) -> Result<()> {
        self.bind()?;
        unsafe { result::memcpy_dtod_async(dst, src, bytes, self.stream) }.map_err(cuda_err("cuMemcpyDtoDAsync", None))
    }

    unsafe fn launch(&self, l: &Launch<'_>) -> Result<()> {
        self.bind()?;
        let f = self.function(l.kernel, l.cfg.shared_bytes)?;
        let (g, b) = (l.cfg.grid, l.cfg.block);
        let mut params = l.params.to_vec();
        *self.last_kernel.lock().unwrap_or_else(|p| p.into_inner()) = Some(l.kernel);
        unsafe {
            result::launch_kernel(
                f,
                (g.x, g.y, g.z),
                (b.x, b.y, b.z),
                l.cfg.shared_bytes,
                self.launch_stream(),
                &mut params,
            )
        }
        .map_err(cuda_err("cuLaunchKernel", Some(l.kernel)))?;
        if self.sync_each_launch { self.synchronize() } else { Ok(()) }
    }

    fn synchronize(&self) -> Result<()> {
        self.bind()?;
        unsafe { result::stream::synchronize(self.stream) }.map_err(cuda_err("cuStreamSynchronize", self.last_kernel()))
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
            unsafe { result::event::synchronize(end) }.map_err(cuda_err("cuEventSynchronize", self.last_kernel()))?;
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
