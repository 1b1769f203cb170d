//! Where array data lives and how operations run on it: `cpu` (plain Rust, gemm, rayon) and
//! `cuda` (ferrite's kernels on a GPU or on the CPU grid emulator).

pub(crate) mod cpu;
pub(crate) mod cuda;

use crate::dtype::Element;
use cuda::DeviceBuffer;

/// An array's elements, row-major and contiguous, on one device.
pub(crate) enum Storage<T: Element> {
    Cpu(Vec<T>),
    Cuda(DeviceBuffer<T>),
}
