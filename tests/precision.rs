//! The f32 matmul precision setting (process-wide, like PyTorch's, hence its own test binary):
//! `High` moves f32 products onto tf32 tensor cores where the device has them (sm_80 PTX and
//! newer), and only there.

use ferrite::{Array, Device, MatmulPrecision, set_float32_matmul_precision};

fn product(d: &Device) -> Vec<f32> {
    let a = Array::<f32>::rand_uniform(&[70, 90], -1.0, 1.0, 1).unwrap().to_device(d).unwrap();
    let b = Array::<f32>::rand_uniform(&[90, 50], -1.0, 1.0, 2).unwrap().to_device(d).unwrap();
    a.matmul(&b).unwrap().to_vec().unwrap()
}

#[test]
fn high_precision_uses_tf32_tensor_cores_only_where_they_exist() {
    let devices = [
        Device::Cpu,
        Device::emulated_cuda(7, 0).unwrap(),
        Device::emulated_cuda(8, 0).unwrap(),
        Device::emulated_cuda(9, 0).unwrap(),
    ];
    let exact: Vec<Vec<f32>> = devices.iter().map(product).collect();
    set_float32_matmul_precision(MatmulPrecision::High);
    let fast: Vec<Vec<f32>> = devices.iter().map(product).collect();
    set_float32_matmul_precision(MatmulPrecision::Highest);
    // The CPU and sm_70 have no tensor cores: unchanged, bit for bit.
    assert_eq!(exact[0], fast[0]);
    assert_eq!(exact[1], fast[1]);
    for (d, (e, f)) in devices.iter().zip(exact.iter().zip(&fast)).skip(2) {
        assert_ne!(e, f, "{d}: tf32 products should differ from FP32 in some bits");
        // tf32 inputs carry 11 significant bits: |Δ| ≤ 2^-10 · Σ|a||b| ≤ 2^-10 · 90.
        let worst = e.iter().zip(f).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        assert!(worst <= 90.0 * 2f32.powi(-10), "{d}: worst difference {worst}");
    }
    assert_eq!(ferrite::float32_matmul_precision(), MatmulPrecision::Highest);
}
