//! Vendor implementations to measure ferrite against, in the same process and on the same
//! stream: cuBLAS GEMM and strided-batched GEMM (libcublas loaded at run time, like libcuda).

use crate::array::Array;
use crate::array::storage::Storage;
use crate::backend::cuda::library;
use crate::device::Device;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use cudarc::cublas::sys;
use cudarc::driver::sys as cu;
use std::ffi::{c_int, c_void};
use std::path::PathBuf;

/// The cuBLAS names ferrite tries, newest first: CUDA 13 and 12 wheels and toolkits install
/// the versioned names (cudarc 0.19 never tries `.so.13`), a toolkit's dev package the plain one.
const CUBLAS_NAMES: [&str; 4] = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"];

type Create = unsafe extern "C" fn(*mut sys::cublasHandle_t) -> sys::cublasStatus_t;
type SetStream = unsafe extern "C" fn(sys::cublasHandle_t, sys::cudaStream_t) -> sys::cublasStatus_t;
type Destroy = unsafe extern "C" fn(sys::cublasHandle_t) -> sys::cublasStatus_t;
#[allow(clippy::type_complexity)]
type GemmEx = unsafe extern "C" fn(
    sys::cublasHandle_t,
    sys::cublasOperation_t,
    sys::cublasOperation_t,
    c_int,
    c_int,
    c_int,
    *const c_void,
    *const c_void,
    sys::cudaDataType,
    c_int,
    *const c_void,
    sys::cudaDataType,
    c_int,
    *const c_void,
    *mut c_void,
    sys::cudaDataType,
    c_int,
    sys::cublasComputeType_t,
    sys::cublasGemmAlgo_t,
) -> sys::cublasStatus_t;

#[allow(clippy::type_complexity)]
type GemmStridedBatchedEx = unsafe extern "C" fn(
    sys::cublasHandle_t,
    sys::cublasOperation_t,
    sys::cublasOperation_t,
    c_int,
    c_int,
    c_int,
    *const c_void,
    *const c_void,
    sys::cudaDataType,
    c_int,
    i64,
    *const c_void,
    sys::cudaDataType,
    c_int,
    i64,
    *const c_void,
    *mut c_void,
    sys::cudaDataType,
    c_int,
    i64,
    c_int,
    sys::cublasComputeType_t,
    sys::cublasGemmAlgo_t,
) -> sys::cublasStatus_t;

/// The five cuBLAS entry points the benchmark uses (unchanged from CUDA 11 to 13).
struct Api {
    _library: libloading::Library,
    create: Create,
    set_stream: SetStream,
    gemm_ex: GemmEx,
    gemm_strided_batched_ex: GemmStridedBatchedEx,
    destroy: Destroy,
}

/// A cuBLAS handle bound to a CUDA device's context and stream.
pub struct Cublas {
    api: Api,
    handle: sys::cublasHandle_t,
    device: Device,
    /// Where libcublas was loaded from.
    pub library: PathBuf,
}

fn check(call: &'static str, status: sys::cublasStatus_t) -> Result<()> {
    if status == sys::cublasStatus_t::CUBLAS_STATUS_SUCCESS {
        return Ok(());
    }
    Err(Error::Cuda { call, code: format!("{status:?}"), message: "cuBLAS call failed".into(), kernel: None })
}

impl Cublas {
    /// An error if the device is not a real GPU or libcublas cannot be loaded; the latter names
    /// every file name and folder tried.
    pub fn new(device: &Device) -> Result<Self> {
        let unsupported = |why: &str| Error::NoCuda(format!("cuBLAS on {device}: {why}"));
        let Device::Cuda(cuda) = device else { return Err(unsupported("not a CUDA device")) };
        let (ctx, stream) = cuda.raw_stream().ok_or_else(|| unsupported("the emulator has no cuBLAS"))?;
        let found = library::load(&CUBLAS_NAMES, &library::cuda_library_folders())
            .map_err(|tried| unsupported(&format!("libcublas could not be loaded: {tried}")))?;
        let symbol = |name: &str| unsupported(&format!("{} has no {name}", found.from.display()));
        // SAFETY: the types are cuBLAS's published signatures for these symbols.
        let api = unsafe {
            Api {
                create: *found.library.get::<Create>(b"cublasCreate_v2").map_err(|_| symbol("cublasCreate_v2"))?,
                set_stream: *found
                    .library
                    .get::<SetStream>(b"cublasSetStream_v2")
                    .map_err(|_| symbol("cublasSetStream_v2"))?,
                gemm_ex: *found.library.get::<GemmEx>(b"cublasGemmEx").map_err(|_| symbol("cublasGemmEx"))?,
                gemm_strided_batched_ex: *found
                    .library
                    .get::<GemmStridedBatchedEx>(b"cublasGemmStridedBatchedEx")
                    .map_err(|_| symbol("cublasGemmStridedBatchedEx"))?,
                destroy: *found.library.get::<Destroy>(b"cublasDestroy_v2").map_err(|_| symbol("cublasDestroy_v2"))?,
                _library: found.library,
            }
        };
        unsafe { cudarc::driver::result::ctx::set_current(ctx as cu::CUcontext) }.map_err(|e| Error::Cuda {
            call: "cuCtxSetCurrent",
            code: format!("{:?}", e.0),
            message: String::new(),
            kernel: None,
        })?;
        let mut handle = std::ptr::null_mut();
        check("cublasCreate", unsafe { (api.create)(&mut handle) })?;
        let blas = Cublas { api, handle, device: device.clone(), library: found.from };
        check("cublasSetStream", unsafe { (blas.api.set_stream)(handle, stream as sys::cudaStream_t) })?;
        Ok(blas)
    }

    /// `c = a · b` for row-major contiguous arrays on this handle's device, 2-D (GemmEx) or
    /// batches of the same length `[b, m, k] · [b, k, n]` (GemmStridedBatchedEx): f32 (`tf32`
    /// allows TF32 tensor cores, like `CUBLAS_COMPUTE_32F_FAST_TF32`), bf16 or f16 with f32
    /// accumulation.
    pub fn matmul<T: Element>(&self, a: &Array<T>, b: &Array<T>, c: &mut Array<T>, tf32: bool) -> Result<()> {
        let mismatch = |why: String| Err(Error::shape_mismatch("cublas matmul", a.shape(), b.shape(), why));
        let (batch, m, k, kb, n) = match (a.shape(), b.shape()) {
            ([m, k], [kb, n]) => (None, *m, *k, *kb, *n),
            ([z, m, k], [zb, kb, n]) if z == zb => (Some(*z), *m, *k, *kb, *n),
            _ => return mismatch("both must be 2-D, or 3-D with one batch length".into()),
        };
        let want: Vec<usize> = batch.into_iter().chain([m, n]).collect();
        if kb != k || c.shape() != want.as_slice() {
            return mismatch(format!("into {:?}", c.shape()));
        }
        let ptr = |x: &Array<T>| match x.storage() {
            Storage::Cuda(buf) if x.device() == self.device && x.is_contiguous() => {
                Ok(buf.ptr_at::<c_void>(x.layout().offset()))
            }
            _ => Err(Error::DeviceMismatch {
                op: "cublas matmul",
                lhs: self.device.to_string(),
                rhs: x.device().to_string(),
            }),
        };
        let (pa, pb, pc) = (ptr(a)?, ptr(b)?, ptr(c)?.cast_mut());
        let (dtype, compute) = match (T::DTYPE, tf32) {
            (DType::F32, false) => (sys::cudaDataType::CUDA_R_32F, sys::cublasComputeType_t::CUBLAS_COMPUTE_32F),
            (DType::F32, true) => {
                (sys::cudaDataType::CUDA_R_32F, sys::cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32)
            }
            (DType::BF16, _) => (sys::cudaDataType::CUDA_R_16BF, sys::cublasComputeType_t::CUBLAS_COMPUTE_32F),
            (DType::F16, _) => (sys::cudaDataType::CUDA_R_16F, sys::cublasComputeType_t::CUBLAS_COMPUTE_32F),
            (d, _) => {
                return Err(Error::Unsupported { op: "cublas matmul", dtype: d, device: self.device.to_string() });
            }
        };
        let (alpha, beta) = (1.0f32, 0.0f32);
        let (alpha, beta) = ((&alpha as *const f32).cast(), (&beta as *const f32).cast());
        let no = sys::cublasOperation_t::CUBLAS_OP_N;
        let dim = |v: usize| c_int::try_from(v).map_err(|_| Error::Config(format!("cublas matmul: {v} exceeds i32")));
        let (mi, ki, ni) = (dim(m)?, dim(k)?, dim(n)?);
        let algo = sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT;
        // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: swap the operands, keep the data.
        let status = match batch {
            // SAFETY: the pointers hold the shapes checked above, on this handle's device.
            None => unsafe {
                (self.api.gemm_ex)(
                    self.handle,
                    no,
                    no,
                    ni,
                    mi,
                    ki,
                    alpha,
                    pb,
                    dtype,
                    ni,
                    pa,
                    dtype,
                    ki,
                    beta,
                    pc,
                    dtype,
                    ni,
                    compute,
                    algo,
                )
            },
            // SAFETY: as above, for every batch.
            Some(z) => unsafe {
                let (sa, sb, sc) = ((m * k) as i64, (k * n) as i64, (m * n) as i64);
                (self.api.gemm_strided_batched_ex)(
                    self.handle,
                    no,
                    no,
                    ni,
                    mi,
                    ki,
                    alpha,
                    pb,
                    dtype,
                    ni,
                    sb,
                    pa,
                    dtype,
                    ki,
                    sa,
                    beta,
                    pc,
                    dtype,
                    ni,
                    sc,
                    dim(z)?,
                    compute,
                    algo,
                )
            },
        };
        check(if batch.is_some() { "cublasGemmStridedBatchedEx" } else { "cublasGemmEx" }, status)
    }
}

impl Drop for Cublas {
    fn drop(&mut self) {
        unsafe {
            let _ = (self.api.destroy)(self.handle);
        }
    }
}
