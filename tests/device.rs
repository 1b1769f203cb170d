//! Device strings, opening devices, and what happens without a GPU.

use ferrite::{Device, DeviceSpec, Error};
use rstest::rstest;

#[rstest]
#[case("cpu", DeviceSpec::Cpu)]
#[case("CPU", DeviceSpec::Cpu)]
#[case("/cpu:0", DeviceSpec::Cpu)]
#[case("/device:CPU:0", DeviceSpec::Cpu)]
#[case("cuda", DeviceSpec::Cuda(0))]
#[case("cuda:1", DeviceSpec::Cuda(1))]
#[case("gpu", DeviceSpec::Cuda(0))]
#[case("gpu:0", DeviceSpec::Cuda(0))]
#[case("/gpu:0", DeviceSpec::Cuda(0))]
#[case("/GPU:2", DeviceSpec::Cuda(2))]
#[case("/device:GPU:0", DeviceSpec::Cuda(0))]
#[case("/job:localhost/replica:0/task:0/device:GPU:3", DeviceSpec::Cuda(3))]
#[case(" cuda:0 ", DeviceSpec::Cuda(0))]
#[case("emulated", DeviceSpec::Emulated(9, 0))]
#[case("emulated:sm_80", DeviceSpec::Emulated(8, 0))]
#[case("emulated:sm_90a", DeviceSpec::Emulated(9, 0))]
fn device_strings_parse(#[case] text: &str, #[case] want: DeviceSpec) {
    assert_eq!(text.parse::<DeviceSpec>().unwrap(), want);
}

#[rstest]
#[case("")]
#[case("tpu")]
#[case("cuda:")]
#[case("cuda:x")]
#[case("cuda:-1")]
#[case("gpu:0:1")]
#[case("cpu:1")]
#[case("emulated:80")]
fn bad_device_strings_are_syntax_errors(#[case] text: &str) {
    match text.parse::<DeviceSpec>() {
        Err(Error::DeviceSyntax { text: t }) => assert_eq!(t, text),
        other => panic!("{text:?} gave {other:?}"),
    }
    assert!(matches!(Device::new(text), Err(Error::DeviceSyntax { .. })));
}

#[test]
fn opening_cuda_without_a_gpu_is_a_no_cuda_error_and_best_available_falls_back() {
    let (best, note) = Device::best_available();
    match Device::cuda(0) {
        Ok(d) => {
            // A GPU is present: best_available must have picked it.
            assert_eq!(best, d, "{note}");
            assert!(note.contains("CUDA device 0"), "{note}");
        }
        Err(e) => {
            assert!(matches!(e, Error::NoCuda(_)), "{e}");
            assert_eq!(best, Device::Cpu);
            assert!(note.contains("CPU") && note.contains(&e.to_string()), "says why: {note}");
            if !Device::cuda_driver_present() {
                assert!(e.to_string().contains("libcuda"), "names the missing library: {e}");
            }
        }
    }
    // No machine has 10000 GPUs: always an error naming the ordinal or the missing driver.
    match Device::cuda(9999) {
        Err(Error::NoCuda(m)) => assert!(m.contains("cuda:9999") || m.contains("libcuda"), "{m}"),
        other => panic!("cuda:9999 gave {other:?}"),
    }
}

#[test]
fn devices_compare_by_identity_and_print_their_names() {
    let a = Device::emulated_cuda(8, 0).unwrap();
    let b = Device::emulated_cuda(8, 0).unwrap();
    assert_eq!(a, a.clone());
    // The emulator's memory is the host's: two emulated devices of one compute capability
    // (and so one PTX variant) are one device, as `cuda:0` opened twice is.
    assert_eq!(a, b, "emulated:sm_80 opened twice");
    assert_ne!(a, Device::emulated_cuda(9, 0).unwrap());
    assert_eq!(Device::Cpu, Device::new("/cpu:0").unwrap());
    assert_eq!(a.to_string(), "emulated:sm_80");
    assert_eq!(Device::emulated_cuda(7, 5).unwrap().to_string(), "emulated:sm_70");
    assert_eq!(Device::emulated_cuda(9, 0).unwrap().to_string(), "emulated:sm_90a");
    assert_eq!(Device::Cpu.to_string(), "cpu");
    assert!(a.describe().contains("compute capability 8.0"));
}

#[test]
fn a_gpu_older_than_volta_is_refused() {
    match Device::emulated_cuda(6, 1) {
        Err(e @ Error::UnsupportedGpu { major: 6, minor: 1, .. }) => assert!(e.to_string().contains("7.0")),
        other => panic!("sm_61 gave {other:?}"),
    }
}
