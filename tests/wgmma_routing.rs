//! The experimental `wgmma` switch (process-wide, hence its own test binary): off by default;
//! when on, bf16 and f16 matmuls on Hopper (sm_90a PTX) launch the `wgmma` kernel, everywhere
//! else the same kernels as before, and the results match an f64 reference on every device.
//! On an H100 this is the test that shows whether the emulator's reading of `wgmma` was right.

mod common;

use common::arrays::matmul_check;
use common::devices::{Case, CaseResult, run_with_cuda_only};
use ferrite::{DType, Device, bf16, f16};

fn main() {
    // Before the switch: Hopper uses mma.sync like Ampere.
    assert!(!ferrite::experimental_wgmma(), "the wgmma switch must be off by default");
    let Device::Cuda(hopper) = Device::emulated_cuda(9, 0).unwrap() else { unreachable!() };
    assert_eq!(hopper.tensor_core_matmul_kernel(DType::BF16), Some("mma_matmul_bf16"));
    ferrite::set_experimental_wgmma(true);
    let cases: &[(&'static str, Case)] =
        &[("matmul_16_bit_matches_f64_reference", matmul_16_bit_matches_f64_reference)];
    let cuda_cases: &[(&'static str, Case)] =
        &[("wgmma_is_chosen_only_for_16_bit_types_on_hopper", wgmma_is_chosen_only_for_16_bit_types_on_hopper)];
    run_with_cuda_only(cases, cuda_cases)
}

fn wgmma_is_chosen_only_for_16_bit_types_on_hopper(d: &Device) -> CaseResult {
    let Device::Cuda(c) = d else { return Err(format!("a CUDA-only case ran on {d}").into()) };
    for (dtype, kind) in [(DType::BF16, "bf16"), (DType::F16, "f16")] {
        let want = match c.ptx_arch() {
            "sm_90a" => Some(format!("wgmma_matmul_{kind}")),
            "sm_80" => Some(format!("mma_matmul_{kind}")),
            _ => None,
        };
        let got = c.tensor_core_matmul_kernel(dtype);
        ensure!(got.map(str::to_string) == want, "{d} {dtype}: kernel {got:?}, want {want:?}");
    }
    for dtype in [DType::F32, DType::F64] {
        let got = c.tensor_core_matmul_kernel(dtype);
        ensure!(got.is_none(), "{d} {dtype}: {got:?} with exact FP32 precision");
    }
    Ok(())
}

/// Shapes around the `wgmma` kernel's 128×128 tile and 64-deep K stage, with and without the
/// vector loads (K a multiple of 8, N of 4).
fn matmul_16_bit_matches_f64_reference(d: &Device) -> CaseResult {
    for (m, k, n) in [(1, 1, 1), (17, 5, 9), (129, 72, 132), (131, 67, 257)] {
        matmul_check::<bf16>(d, &[m, k], &[k, n], &[m, n])?;
        matmul_check::<f16>(d, &[m, k], &[k, n], &[m, n])?;
    }
    Ok(())
}
