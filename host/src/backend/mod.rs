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

/// A strided batch of matrix products `C[z] = op(A[z]) · op(B[z])` for `z < count`: `A[z]`
/// starts `z·sa` elements after the first, `B[z]` `z·sb` (a stride of 0 repeats one matrix for
/// every batch, NumPy's broadcast), `C[z]` `z·m·n` (C is contiguous).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Batch {
    pub count: usize,
    pub sa: usize,
    pub sb: usize,
}

impl Batch {
    /// One product.
    pub const ONE: Batch = Batch { count: 1, sa: 0, sb: 0 };

    /// Elements an operand of `len` elements per matrix spans over the batch.
    pub fn span(&self, stride: usize, len: usize) -> usize {
        if self.count == 0 || len == 0 { 0 } else { (self.count - 1) * stride + len }
    }
}
