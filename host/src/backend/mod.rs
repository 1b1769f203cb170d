//! How operations run on array data: `cpu` (plain Rust, gemm, rayon) and `cuda` (ferrite's
//! kernels on a GPU or on the CPU grid emulator). Both take untyped storage and a dtype, and
//! reach the typed code once, through [`with_kernel_type!`].

pub(crate) mod cpu;
pub(crate) mod cuda;

/// Runs `$body` with `$k` as the kernels' element type of `$dtype` (`f32`, `F16`, `Bool`...).
macro_rules! with_kernel_type {
    ($dtype:expr, |$k:ident| $body:expr) => {{
        use $crate::dtype::DType as D;
        #[allow(unused)]
        match $dtype {
            D::F32 => {
                type $k = f32;
                $body
            }
            D::F64 => {
                type $k = f64;
                $body
            }
            D::F16 => {
                type $k = kernels_gpu::prelude::F16;
                $body
            }
            D::BF16 => {
                type $k = kernels_gpu::prelude::BF16;
                $body
            }
            D::I32 => {
                type $k = i32;
                $body
            }
            D::I64 => {
                type $k = i64;
                $body
            }
            D::U8 => {
                type $k = u8;
                $body
            }
            D::U32 => {
                type $k = u32;
                $body
            }
            D::Bool => {
                type $k = kernels_gpu::prelude::Bool;
                $body
            }
        }
    }};
}
pub(crate) use with_kernel_type;

/// As [`with_kernel_type!`] for the floats only; `$other` for any other dtype.
macro_rules! with_float_kernel_type {
    ($dtype:expr, |$k:ident| $body:expr, $other:expr) => {{
        use $crate::dtype::DType as D;
        #[allow(unused)]
        match $dtype {
            D::F32 => {
                type $k = f32;
                $body
            }
            D::F64 => {
                type $k = f64;
                $body
            }
            D::F16 => {
                type $k = kernels_gpu::prelude::F16;
                $body
            }
            D::BF16 => {
                type $k = kernels_gpu::prelude::BF16;
                $body
            }
            _ => $other,
        }
    }};
}
pub(crate) use with_float_kernel_type;

/// As [`with_kernel_type!`] for the integers only; `$other` for any other dtype.
macro_rules! with_int_kernel_type {
    ($dtype:expr, |$k:ident| $body:expr, $other:expr) => {{
        use $crate::dtype::DType as D;
        #[allow(unused)]
        match $dtype {
            D::I32 => {
                type $k = i32;
                $body
            }
            D::I64 => {
                type $k = i64;
                $body
            }
            D::U8 => {
                type $k = u8;
                $body
            }
            D::U32 => {
                type $k = u32;
                $body
            }
            _ => $other,
        }
    }};
}
pub(crate) use with_int_kernel_type;
