//! Vendor implementations to measure ferrite against, in the same process and on the same
//! stream: cuBLAS GEMM (libcublas loaded at run time, like libcuda).

use crate::array::Array;
use crate::backend::Storage;
use crate::device::Device;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use cudarc::cublas::{result as blas, sys};
use cudarc::driver::sys as cu;
use std::ffi::c_void;

/// A cuBLAS handle bound to a CUDA device's context and stream.
pub struct Cublas {
    handle: sys::cublasHandle_t,
    device: Device,
}

fn blas_err(call: &'static str) -> impl Fn(blas::CublasError) -> Error {
    move |e| Error::Cuda { call, code: format!("{:?}", e.0), message: "cuBLAS call failed".into(), kernel: None }
}

impl Cublas {
    /// An error if the device is not a real GPU or libcublas cannot be loaded.
    pub fn new(device: &Device) -> Result<Self> {
        let unsupported = |why: &str| Error::NoCuda(format!("cuBLAS on {device}: {why}"));
        let Device::Cuda(cuda) = device else { return Err(unsupported("not a CUDA device")) };
        let (ctx, stream) = cuda.raw_stream().ok_or_else(|| unsupported("the emulator has no cuBLAS"))?;
        // SAFETY: only tries to dlopen the library.
        if !unsafe { sys::is_culib_present() } {
            return Err(unsupported("libcublas could not be loaded (add its directory to LD_LIBRARY_PATH)"));
        }
        unsafe { cudarc::driver::result::ctx::set_current(ctx as cu::CUcontext) }.map_err(|e| Error::Cuda {
            call: "cuCtxSetCurrent",
            code: format!("{:?}", e.0),
            message: String::new(),
            kernel: None,
        })?;
        let handle = blas::create_handle().map_err(blas_err("cublasCreate"))?;
        unsafe { blas::set_stream(handle, stream as sys::cudaStream_t) }.map_err(blas_err("cublasSetStream"))?;
        Ok(Cublas { handle, device: device.clone() })
    }

    /// `c = a · b` for row-major 2-D arrays on this handle's device: f32 (`tf32` allows TF32
    /// tensor cores, like `CUBLAS_COMPUTE_32F_FAST_TF32`), bf16 or f16 with f32 accumulation.
    pub fn matmul<T: Element>(&self, a: &Array<T>, b: &Array<T>, c: &mut Array<T>, tf32: bool) -> Result<()> {
        let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
        if a.ndim() != 2 || b.shape() != [k, n] || c.shape() != [m, n] {
            return Err(Error::shape_mismatch("cublas matmul", a.shape(), b.shape(), format!("into {:?}", c.shape())));
        }
        let ptr = |x: &Array<T>| match x.storage() {
            Storage::Cuda(buf) if x.device() == self.device => Ok(buf.ptr::<c_void>()),
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
        let no = sys::cublasOperation_t::CUBLAS_OP_N;
        // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: swap the operands, keep the data.
        unsafe {
            blas::gemm_ex(
                self.handle,
                no,
                no,
                n as i32,
                m as i32,
                k as i32,
                (&alpha as *const f32).cast(),
                pb,
                dtype,
                n as i32,
                pa,
                dtype,
                k as i32,
                (&beta as *const f32).cast(),
                pc,
                dtype,
                n as i32,
                compute,
                sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
            )
        }
        .map_err(blas_err("cublasGemmEx"))
    }
}

impl Drop for Cublas {
    fn drop(&mut self) {
        unsafe {
            let _ = blas::destroy_handle(self.handle);
        }
    }
}
