//! The custom-loop example (`examples/custom_loop.rs`) runs in CI: a custom model with a
//! custom loss, trained in a hand-written loop with autograd, classifies the digits' test
//! split (on the CPU; the gradient checks cover the devices op by op).

#[path = "../examples/custom_loop.rs"]
mod custom_loop;

#[test]
fn custom_loop_trains_the_digits() {
    let accuracy = custom_loop::train(&ferrite::Device::Cpu, 30).unwrap();
    // A 64-32-10 tanh network reaches about 0.97 on this split; 0.93 leaves room for the
    // initialisation and no shuffling, and fails on any broken gradient.
    assert!(accuracy >= 0.93, "test accuracy {accuracy}");
}
