//! ferrite's GPU kernels, written in Rust.
//!
//! The same source builds twice:
//! - for `nvptx64-nvidia-cuda`, by the top-level `build.rs`, into PTX that the host library
//!   embeds (one variant per GPU generation: `sm_70`, `sm_80`, `sm_90a`);
//! - for the host, where [`emu`] runs each kernel over a CPU-emulated grid so that tests
//!   prove it correct without a GPU, and where [`Kernel`] descriptors give the host library
//!   typed launch handles.
//!
//! A kernel is a generic `unsafe fn` written against [`prelude`] (indices, barrier, shared
//! memory, warp shuffles, float math), instantiated per element type by [`kernels!`]. Each
//! kernel module documents its thread mapping and provides the launch configuration that
//! goes with it, so the host never guesses a kernel's geometry.
#![no_std]
#![cfg_attr(
    target_arch = "nvptx64",
    feature(
        abi_ptx,
        stdarch_nvptx,
        asm_experimental_arch,
        core_intrinsics,
        gpu_intrinsics,
        gpu_launch_sized_workgroup_mem
    ),
    allow(internal_features)
)]
#![feature(core_float_math, macro_metavar_expr_concat)]

#[cfg(not(target_arch = "nvptx64"))]
extern crate std;

#[macro_use]
pub mod launch;
pub mod prelude;

#[cfg(not(target_arch = "nvptx64"))]
pub mod emu;

pub mod elementwise;
pub mod matmul;
pub mod nn;
pub mod ops;
pub mod sgemm;
pub mod softmax;
pub mod tensor_core;
pub mod wgmma_matmul;

pub use launch::{Dim3, KernelInfo, LaunchConfig, PtxParam};
#[cfg(not(target_arch = "nvptx64"))]
pub use launch::{Kernel, KernelArgs};

/// Every entry point of every module, for the PTX cross-check. A module left out here makes
/// that check fail, since its entries then appear in the PTX without a descriptor.
#[cfg(not(target_arch = "nvptx64"))]
pub fn all_kernels() -> std::vec::Vec<KernelInfo> {
    let modules: &[&[KernelInfo]] = &[
        matmul::KERNELS,
        nn::dense::KERNELS,
        nn::loss::KERNELS,
        nn::optim::KERNELS,
        sgemm::KERNELS,
        softmax::KERNELS,
        tensor_core::KERNELS,
        wgmma_matmul::KERNELS,
    ];
    let families: &[&[KernelInfo]] = &[
        ops::unary::KERNELS,
        ops::binary::KERNELS,
        ops::compare::KERNELS,
        ops::cast::KERNELS,
        ops::reduce::KERNELS,
        ops::scan::KERNELS,
        ops::copy::KERNELS,
        ops::fill::KERNELS,
        ops::gather::KERNELS,
        ops::sort::KERNELS,
        ops::radix::KERNELS,
    ];
    modules.iter().chain(families).flat_map(|m| m.iter().copied()).collect()
}
