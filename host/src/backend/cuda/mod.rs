//! The CUDA backend: a device handle, device memory, and typed kernel launches.
//!
//! Layers, bottom up: `driver.rs` (what a device must do), `real.rs` / `emulated.rs` (the
//! CUDA driver, or the CPU grid emulator), this file (RAII buffers, launches typed by the
//! kernel's own descriptor), `ops.rs` (array operations as kernel launches).

mod driver;
pub(crate) mod elementwise;
mod emulated;
pub(crate) mod fill;
pub(crate) mod gather;
pub(crate) mod library;
pub(crate) mod ops;
mod real;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod sort;
pub(crate) mod tensor_core;

use crate::error::{Error, Result};
use crate::ptx::{self, PtxVariant};
use driver::{Driver, Launch, MemoryMode};
use kernels_gpu::{Kernel, KernelArgs, LaunchConfig};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

pub use driver::{PtxLaunchError, PtxLauncher};
pub(crate) use real::driver_library_present;

/// A CUDA device with its loaded kernels. Cloning is cheap; clones are the same device.
#[derive(Clone)]
pub struct CudaDevice(Arc<Inner>);

struct Inner {
    driver: Box<dyn Driver>,
    variant: &'static PtxVariant,
    /// Newer variants the driver rejected as too new a PTX ISA before `variant` loaded.
    rejected: Vec<&'static str>,
    /// `Some(n)` for `cuda:n`, `None` for an emulated device.
    ordinal: Option<usize>,
    /// Kernel launches so far (the benchmark counts them per training step).
    launches: AtomicU64,
    graph_launches: AtomicU64,
    /// Launches per entry point, for the record of which kernels a test ran on a GPU.
    per_kernel: Mutex<HashMap<&'static str, u64>>,
}

/// Open real devices, so `cuda:0` opened twice is one device (one context, one stream).
static OPEN: Mutex<Vec<(usize, Weak<Inner>)>> = Mutex::new(Vec::new());

impl CudaDevice {
    pub(crate) fn open(ordinal: usize) -> Result<Self> {
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|(_, w)| w.strong_count() > 0);
        if let Some(inner) = open.iter().find(|(o, _)| *o == ordinal).and_then(|(_, w)| w.upgrade()) {
            return Ok(CudaDevice(inner));
        }
        let dev = Self::with_driver(Box::new(real::RealDriver::open(ordinal)?), Some(ordinal))?;
        open.push((ordinal, Arc::downgrade(&dev.0)));
        Ok(dev)
    }

    /// A device backed by the CPU grid emulator, claiming compute capability `cc`, which
    /// selects the PTX variant (and so the kernels) exactly as on a real GPU.
    pub(crate) fn emulated(cc: (u32, u32)) -> Result<Self> {
        Self::with_driver(Box::new(emulated::EmulatedDriver::new(cc)), None)
    }

    /// An emulated device whose launches run the PTX through `launcher` (a PTX interpreter)
    /// instead of the kernels' Rust source.
    pub(crate) fn emulated_with_launcher(cc: (u32, u32), launcher: Arc<dyn PtxLauncher>) -> Result<Self> {
        Self::with_driver(Box::new(emulated::EmulatedDriver::new(cc).with_launcher(launcher)), None)
    }

    fn with_driver(driver: Box<dyn Driver>, ordinal: Option<usize>) -> Result<Self> {
        let cc = driver.compute_capability();
        let unsupported = || Error::UnsupportedGpu { device: driver.name().to_string(), major: cc.0, minor: cc.1 };
        let mut candidates = ptx::loadable_on(cc);
        let mut variant = candidates.next().ok_or_else(unsupported)?;
        let mut rejected = Vec::new();
        // A driver older than a variant's PTX ISA (sm_90a's is 8.0, CUDA 12.0) rejects it, but
        // JIT-compiles an older variant for the same GPU: an H100 behind a CUDA 11.8 driver
        // runs the sm_80 kernels.
        loop {
            match driver.load(variant) {
                Ok(()) => break,
                Err(Error::PtxJit { code, log, .. }) if code == "CUDA_ERROR_UNSUPPORTED_PTX_VERSION" => {
                    rejected.push(variant.arch);
                    let Some(older) = candidates.next() else {
                        return Err(Error::PtxJit { arch: variant.arch, code, log });
                    };
                    variant = older;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(CudaDevice(Arc::new(Inner {
            driver,
            variant,
            rejected,
            ordinal,
            launches: AtomicU64::new(0),
            graph_launches: AtomicU64::new(0),
            per_kernel: Mutex::new(HashMap::new()),
        })))
    }

    pub fn name(&self) -> &str {
        self.0.driver.name()
    }

    pub fn compute_capability(&self) -> (u32, u32) {
        self.0.driver.compute_capability()
    }

    /// The PTX variant the device runs, e.g. `sm_80`.
    pub fn ptx_arch(&self) -> &'static str {
        self.0.variant.arch
    }

    /// Newer PTX variants the driver rejected as too new before `ptx_arch()` loaded (an old
    /// driver); empty normally.
    pub fn ptx_rejected(&self) -> &[&'static str] {
        &self.0.rejected
    }

    /// `None` for an emulated device.
    pub fn ordinal(&self) -> Option<usize> {
        self.0.ordinal
    }

    pub fn is_emulated(&self) -> bool {
        self.0.ordinal.is_none()
    }

    /// Whether buffers of the two may be used together. Real devices are one handle per
    /// ordinal; emulated devices share the host's memory, so two claiming the same compute
    /// capability and running the same PTX variant are the same device.
    pub fn same_device(&self, other: &CudaDevice) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.is_emulated()
                && other.is_emulated()
                && self.compute_capability() == other.compute_capability()
                && self.ptx_arch() == other.ptx_arch())
    }

    /// Kernel launches issued on this device so far.
    pub fn launches(&self) -> u64 {
        self.0.launches.load(Ordering::Relaxed)
    }

    /// Launches per PTX entry point so far (graph replays not counted), sorted by name: which
    /// kernels have run on this device.
    pub fn kernel_launches(&self) -> Vec<(&'static str, u64)> {
        let mut v: Vec<_> =
            self.0.per_kernel.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, n)| (*k, *n)).collect();
        v.sort_unstable();
        v
    }

    /// Whether device memory comes from the stream-ordered pool (`false`: plain allocations,
    /// on a device without memory pools).
    pub fn memory_pool(&self) -> bool {
        self.0.driver.memory_mode() == MemoryMode::Pool
    }

    /// The largest block `kernel` can launch with on this device (its registers per thread
    /// against the block's register file): what launch configurations must respect.
    pub(crate) fn max_threads(&self, kernel: &kernels_gpu::KernelInfo) -> Result<u32> {
        self.0.driver.max_threads(kernel.name)
    }

    /// Waits for all work queued on the device.
    pub fn synchronize(&self) -> Result<()> {
        self.0.driver.synchronize()
    }

    /// The tensor-core kernel (PTX entry name) a matmul of `dtype` launches on this device under
    /// the current settings, if any: `None` means the CUDA-core kernels.
    pub fn tensor_core_matmul_kernel(&self, dtype: crate::DType) -> Option<&'static str> {
        tensor_core::kernel_name(self, dtype)
    }

    /// Whether the loaded PTX variant has this entry point (tensor-core kernels need sm_80).
    pub(crate) fn has_kernel(&self, name: &str) -> bool {
        self.0.variant.has_entry(name)
    }

    /// Grid size for grid-stride kernels: enough blocks to fill every multiprocessor.
    pub(crate) fn grid_stride_blocks(&self) -> u32 {
        self.0.driver.multiprocessors() * 32
    }

    pub(crate) fn max_shared_bytes(&self) -> u32 {
        self.0.driver.max_shared_bytes()
    }

    /// `len` elements of device memory: [`Error::OutOfMemory`] for a size no address space
    /// holds, or when the driver (or the emulator's host) has not the memory.
    pub(crate) fn alloc<T: Copy>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        let bytes = crate::alloc::bytes_of::<T>(len);
        let device = || crate::Device::Cuda(self.clone()).to_string();
        let size = crate::alloc::admit(bytes, u64::MAX, device)?;
        let ptr = self.0.driver.alloc(size).map_err(|e| match e {
            Error::Cuda { code, .. } if code == "CUDA_ERROR_OUT_OF_MEMORY" => {
                Error::OutOfMemory { bytes, device: device() }
            }
            e => e,
        })?;
        if crate::alloc::poison() && size > 0 {
            // Under `FERRITE_POISON=1` a fresh buffer holds 0xFF bytes on a real GPU too (the
            // emulator's memory starts so): an element an op forgets to write shows.
            // SAFETY: `ptr` holds `size` bytes just allocated, freed here only on failure.
            if let Err(e) = unsafe { self.0.driver.memset(ptr, 0xFF, size) } {
                unsafe { self.0.driver.free(ptr, size) };
                return Err(e);
            }
        }
        Ok(DeviceBuffer { ptr, len, device: self.clone(), _t: PhantomData })
    }

    pub(crate) fn upload<T: Copy>(&self, data: &[T]) -> Result<DeviceBuffer<T>> {
        let buf = self.alloc::<T>(data.len())?;
        // SAFETY: `buf` holds exactly these bytes; `T: Copy` has no padding we could leak that
        // the caller did not already own.
        unsafe { self.0.driver.copy_to_device(buf.ptr, bytes_of(data))? };
        Ok(buf)
    }

    /// Launches `kernel` with `args`, as the descriptor's argument tuple types them.
    ///
    /// # Safety
    /// Pointer arguments address live buffers of this device that are large enough for what
    /// the kernel reads and writes with the other arguments (the kernel module documents it).
    pub(crate) unsafe fn launch<A: KernelArgs + 'static>(
        &self,
        kernel: &Kernel<A>,
        cfg: LaunchConfig,
        args: A,
    ) -> Result<()> {
        self.0.launches.fetch_add(1, Ordering::Relaxed);
        *self.0.per_kernel.lock().unwrap_or_else(|p| p.into_inner()).entry(kernel.name()).or_default() += 1;
        let params = args.param_ptrs();
        let shared = SyncArgs(args);
        let body = kernel.body;
        let emulate = Arc::new(move || {
            let a = &shared;
            unsafe { body(a.0) }
        });
        let launch = Launch { kernel: kernel.name(), cfg, params: &params, param_kinds: kernel.info.params, emulate };
        unsafe { self.0.driver.launch(&launch) }
    }

    /// Records the launches issued by `work` as a CUDA graph instead of running them; replay
    /// it with [`CudaGraph::replay`]. `work` must only launch kernels (no allocation, copy or
    /// synchronisation), and the graph is valid while the buffers it uses are.
    pub(crate) fn capture(&self, work: impl FnOnce() -> Result<()>) -> Result<CudaGraph> {
        self.0.driver.begin_capture()?;
        let recorded = work();
        let graph = self.0.driver.end_capture();
        recorded?;
        Ok(CudaGraph { captured: graph?, device: self.clone() })
    }

    /// Seconds the device spends on the work `enqueue` issues, measured with CUDA events (like
    /// `torch.cuda.Event(enable_timing=True)`); wall-clock time on the emulator.
    pub fn time(&self, mut enqueue: impl FnMut() -> Result<()>) -> Result<f64> {
        self.0.driver.time(&mut enqueue)
    }

    /// The CUDA context and stream ferrite issues work on (`None` on the emulator), for vendor
    /// libraries that must share them.
    pub(crate) fn raw_stream(&self) -> Option<(*mut std::ffi::c_void, *mut std::ffi::c_void)> {
        self.0.driver.raw_stream()
    }

    /// Graph replays so far (each runs all the launches it captured).
    pub fn graph_launches(&self) -> u64 {
        self.0.graph_launches.load(Ordering::Relaxed)
    }
}

impl CudaDevice {
    /// Copies `dst.len()` bytes from device address `src` to the host (after queued work).
    pub(crate) fn read(&self, dst: &mut [u8], src: u64) -> Result<()> {
        // SAFETY: callers pass an address range inside one of this device's buffers.
        unsafe { self.0.driver.copy_to_host(dst, src) }
    }

    /// Copies `bytes` between two of this device's addresses (stream-ordered).
    /// Copies `src` into `dst` (of the same length) on the device.
    pub(crate) fn copy<T: Copy>(&self, src: &DeviceBuffer<T>, dst: &mut DeviceBuffer<T>) -> Result<()> {
        assert_eq!(src.len(), dst.len(), "device copy between buffers of different lengths");
        self.copy_raw(dst.ptr, src.ptr, src.len() * size_of::<T>())
    }

    pub(crate) fn copy_raw(&self, dst: u64, src: u64, bytes: usize) -> Result<()> {
        // SAFETY: callers pass ranges inside this device's buffers.
        unsafe { self.0.driver.copy_on_device(dst, src, bytes) }
    }
}

/// Launches captured once and replayed many times, with one launch each.
pub(crate) struct CudaGraph {
    captured: Box<dyn driver::Captured>,
    device: CudaDevice,
}

impl CudaGraph {
    pub(crate) fn replay(&self) -> Result<()> {
        self.device.0.graph_launches.fetch_add(1, Ordering::Relaxed);
        self.captured.replay()
    }
}

/// Kernel arguments are device addresses and sizes; every emulated thread reads the same ones,
/// as every GPU thread does, and a captured launch keeps them for its replays.
struct SyncArgs<A>(A);
unsafe impl<A> Sync for SyncArgs<A> {}
unsafe impl<A> Send for SyncArgs<A> {}

impl fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} PTX)", self.name(), self.ptx_arch())
    }
}

fn bytes_of<T: Copy>(data: &[T]) -> &[u8] {
    // SAFETY: any initialised `T: Copy` may be viewed as bytes.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), std::mem::size_of_val(data)) }
}

/// `len` elements of `T` in one device's memory, freed on drop.
pub(crate) struct DeviceBuffer<T> {
    ptr: u64,
    len: usize,
    device: CudaDevice,
    _t: PhantomData<T>,
}

impl<T: Copy> DeviceBuffer<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn device(&self) -> &CudaDevice {
        &self.device
    }

    /// The device address, typed for a kernel argument.
    pub(crate) fn ptr<U>(&self) -> *const U {
        self.ptr as *const U
    }

    pub(crate) fn ptr_mut<U>(&mut self) -> *mut U {
        self.ptr as *mut U
    }

    /// The address of element `offset` (at most `len`), typed for a kernel argument.
    pub(crate) fn ptr_at<U>(&self, offset: usize) -> *const U {
        assert!(offset <= self.len, "offset {offset} past a buffer of {}", self.len);
        (self.ptr + (offset * size_of::<T>()) as u64) as *const U
    }

    pub(crate) fn ptr_at_mut<U>(&mut self, offset: usize) -> *mut U {
        self.ptr_at::<U>(offset).cast_mut()
    }

    pub(crate) fn to_vec(&self) -> Result<Vec<T>> {
        let mut out = crate::alloc::try_with_capacity::<T>(self.len)?;
        let bytes = self.len * size_of::<T>();
        // SAFETY: the copy initialises all `len` elements before `set_len`.
        unsafe {
            let dst = std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), bytes);
            self.device.0.driver.copy_to_host(dst, self.ptr)?;
            out.set_len(self.len);
        }
        Ok(out)
    }

    /// Overwrites the first `data.len()` elements.
    pub(crate) fn write(&mut self, data: &[T]) -> Result<()> {
        assert!(data.len() <= self.len, "writing {} elements into a buffer of {}", data.len(), self.len);
        unsafe { self.device.0.driver.copy_to_device(self.ptr, bytes_of(data)) }
    }
}

impl<T> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        unsafe { self.device.0.driver.free(self.ptr, self.len * size_of::<T>()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block larger than the kernel's registers allow: the emulated device refuses it as the
    /// driver does, naming the kernel, before anything runs; the size the host picks works.
    #[test]
    fn the_emulated_device_refuses_a_block_the_registers_do_not_fit() {
        let dev = CudaDevice::emulated((9, 0)).unwrap();
        let k = kernels_gpu::softmax::softmax_regs_f32_v8;
        let max = dev.max_threads(&k.info).unwrap();
        assert!(max < 1024, "softmax_regs_f32_v8 fits {max} threads");
        let (rows, cols) = (1usize, 1024 * 32);
        let x = dev.upload(&vec![1.0f32; rows * cols]).unwrap();
        let mut y = dev.alloc::<f32>(rows * cols).unwrap();
        let cfg = LaunchConfig { grid: kernels_gpu::Dim3::x(1), block: kernels_gpu::Dim3::x(1024), shared_bytes: 128 };
        let args = (x.ptr(), y.ptr_mut(), rows as u32, cols as u32);
        match unsafe { dev.launch(&k, cfg, args) } {
            Err(Error::Cuda { code, kernel: Some("softmax_regs_f32_v8"), message, .. }) => {
                assert_eq!(code, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES");
                assert!(message.contains("1024 threads") && message.contains("registers"), "{message}");
            }
            other => panic!("a 1024-thread block of softmax_regs_f32_v8 gave {other:?}"),
        }
        let cfg = LaunchConfig { block: kernels_gpu::Dim3::x(max), ..cfg };
        unsafe { dev.launch(&k, cfg, (x.ptr(), y.ptr_mut(), rows as u32, 8 * 4 * max)) }.unwrap();
    }

    /// A kernel fault loses the device, as on a GPU: the faulting launch names its kernel, and
    /// every later call says the device is lost and why, instead of repeating the error.
    #[test]
    fn a_kernel_fault_loses_the_device() {
        let dev = CudaDevice::emulated((8, 0)).unwrap();
        let x = dev.upload(&[1.0f32; 4]).unwrap();
        let mut y = dev.alloc::<f32>(4).unwrap();
        let cfg = kernels_gpu::ops::map::config(&kernels_gpu::ops::layout::Shape::flat(8), true, 4, 1);
        // Eight elements of four-element buffers: out of bounds, as an illegal address.
        let args = (kernels_gpu::ops::unary::Unary::Sqrt as u32, x.ptr(), y.ptr_mut(), 8, 0, 0, 0);
        match unsafe { dev.launch(&kernels_gpu::ops::unary::unary_f32, cfg, args) } {
            Err(Error::Cuda { code, kernel: Some("unary_f32"), .. }) => assert_eq!(code, "CUDA_ERROR_LAUNCH_FAILED"),
            other => panic!("an out-of-bounds launch gave {other:?}"),
        }
        for e in [dev.synchronize().unwrap_err(), dev.alloc::<f32>(1).err().unwrap(), x.to_vec().unwrap_err()] {
            match e {
                Error::DeviceLost { device, cause } => {
                    assert_eq!(device, "emulated:sm_80");
                    assert!(cause.contains("unary_f32") && cause.contains("CUDA_ERROR_LAUNCH_FAILED"), "{cause}");
                }
                other => panic!("after the fault: {other:?}"),
            }
        }
        let other = CudaDevice::emulated((8, 0)).unwrap();
        assert!(other.upload(&[1.0f32]).is_ok(), "another device is unaffected");
    }

    /// Without memory pools the device allocates plainly, and a free waits for the stream.
    #[test]
    fn a_device_without_memory_pools_allocates_plainly() {
        let pooled = CudaDevice::emulated((8, 0)).unwrap();
        assert!(pooled.memory_pool());
        let driver = emulated::EmulatedDriver::new((8, 0)).without_memory_pools();
        let frees = driver.synchronized_frees();
        let dev = CudaDevice::with_driver(Box::new(driver), None).unwrap();
        assert!(!dev.memory_pool());
        let described = crate::Device::Cuda(dev.clone()).describe();
        assert!(described.contains("no memory pools"), "{described}");
        let x = crate::Array::from_vec_on(vec![4.0f32, 9.0, 16.0], &[3], &crate::Device::Cuda(dev.clone())).unwrap();
        assert_eq!(x.sqrt().unwrap().to_vec().unwrap(), [2.0, 3.0, 4.0]);
        drop(x);
        assert!(frees.load(Ordering::Relaxed) >= 2, "every plain free synchronizes first");
    }

    fn hopper_behind(limit: (u32, u32)) -> Result<CudaDevice> {
        CudaDevice::with_driver(Box::new(emulated::EmulatedDriver::new((9, 0)).with_ptx_limit(limit)), None)
    }

    /// A driver too old for a variant's PTX ISA: the device loads the newest older variant
    /// that the driver takes, says so, and its kernels work; with none left, the driver's error.
    #[test]
    fn an_old_driver_gets_an_older_ptx_variant() {
        let isa = |arch: &str| ptx::VARIANTS.iter().find(|v| v.arch == arch).unwrap().isa_version();
        let (sm_90a, sm_80) = (isa("sm_90a"), isa("sm_80"));
        assert!(sm_80 < sm_90a, "the test needs sm_90a's PTX ISA ({sm_90a:?}) newer than sm_80's ({sm_80:?})");

        let d = hopper_behind(sm_80).unwrap();
        assert_eq!((d.ptx_arch(), d.ptx_rejected()), ("sm_80", &["sm_90a"][..]));
        let described = crate::Device::Cuda(d.clone()).describe();
        assert!(described.contains("sm_80 PTX; the driver is too old for the sm_90a PTX"), "{described}");
        let x = crate::Array::from_vec_on(vec![4.0f32, 9.0], &[2], &crate::Device::Cuda(d)).unwrap();
        assert_eq!(x.sqrt().unwrap().to_vec().unwrap(), [2.0, 3.0]);

        let d = hopper_behind(sm_90a).unwrap();
        assert!(d.ptx_arch() == "sm_90a" && d.ptx_rejected().is_empty());

        match hopper_behind((1, 0)) {
            Err(e @ Error::PtxJit { arch: "sm_70", .. }) => {
                assert!(e.to_string().contains("Unsupported .version"), "{e}")
            }
            other => panic!("a driver that takes no variant gave {:?}", other.map(|d| d.ptx_arch())),
        }
    }
}
