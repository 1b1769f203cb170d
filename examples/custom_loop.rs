//! A custom model with a custom loss, trained in a hand-written loop with autograd, as one
//! writes it in PyTorch:
//!
//! ```python
//! w1 = (torch.randn(64, 32) * 0.2).requires_grad_();  b1 = torch.zeros(32, requires_grad=True)
//! w2 = (torch.randn(32, 10) * 0.2).requires_grad_();  b2 = torch.zeros(10, requires_grad=True)
//! for epoch in range(epochs):
//!     for xb, yb in batches:                       # yb: one-hot rows
//!         logits = torch.tanh(xb @ w1 + b1) @ w2 + b2
//!         target = yb * (1 - 0.1) + 0.1 / 10       # label smoothing, by hand
//!         loss = -(target * logits.log_softmax(-1)).sum(-1).mean()
//!         loss.backward()
//!         with torch.no_grad():
//!             for p in (w1, b1, w2, b2):
//!                 p -= lr * p.grad;  p.grad = None
//! ```
//!
//! Runs on the default device (the GPU when there is one); `tests/autograd.rs` runs it on
//! every device in CI. `cargo run --release --example custom_loop`.

use ferrite::autograd::{Var, no_grad};
use ferrite::{Array, Axes, Dataset, Device};

/// The digits as `[rows, 64]` features in `[0, 1]` and `[rows, 10]` one-hot labels on `device`.
fn arrays(data: &Dataset, device: &Device) -> ferrite::Result<(Array<f32>, Array<f32>)> {
    let x = Array::from_vec_on(data.x.iter().map(|v| v / 16.0).collect(), &[data.rows(), data.features], device)?;
    let y = Array::from_vec_on(data.labels.to_one_hot()?, &[data.rows(), data.classes()], device)?;
    Ok((x, y))
}

/// Trains for `epochs` on the digits' training split and returns the test accuracy.
pub fn train(device: &Device, epochs: usize) -> ferrite::Result<f64> {
    let (train, test) = Dataset::digits();
    let (x, y) = arrays(&train, device)?;
    let init = |shape: &[usize], seed| -> ferrite::Result<Var<f32>> {
        Ok(Var::parameter(Array::<f32>::rand_normal(shape, 0.0, 0.2, seed)?.to_device(device)?))
    };
    let zeros = |n: usize| -> ferrite::Result<Var<f32>> { Ok(Var::parameter(Array::full_on(&[n], 0.0f32, device)?)) };
    let mut params = [init(&[64, 32], 1)?, zeros(32)?, init(&[32, 10], 2)?, zeros(10)?];
    let model = |p: &[Var<f32>], xb: &Var<f32>| -> ferrite::Result<Var<f32>> {
        xb.matmul(&p[0])?.add(&p[1])?.tanh()?.matmul(&p[2])?.add(&p[3])
    };
    let (lr, batch, smoothing) = (0.5f32, 64usize, 0.1f32);
    for _ in 0..epochs {
        for start in (0..train.rows()).step_by(batch) {
            let n = batch.min(train.rows() - start);
            let xb = Var::constant(x.narrow(0, start as isize, n)?);
            let yb = y.narrow(0, start as isize, n)?;
            // The custom loss: cross-entropy against smoothed targets.
            let target = Var::constant(yb.mul_scalar(1.0 - smoothing)?.add_scalar(smoothing / 10.0)?);
            let log_p = model(&params, &xb)?.log_softmax(-1)?;
            let loss = target.mul(&log_p)?.sum(-1, false)?.mean(Axes::All, false)?.neg()?;
            loss.backward()?;
            no_grad(|| -> ferrite::Result<()> {
                for p in params.iter_mut() {
                    let g = p.grad().expect("every parameter is in the loss");
                    let stepped = p.value().sub(&g.mul_scalar(lr)?)?;
                    p.assign(stepped)?;
                    p.zero_grad();
                }
                Ok(())
            })?;
        }
    }
    let (xt, _) = arrays(&test, device)?;
    let predicted = no_grad(|| model(&params, &Var::constant(xt)))?.value().argmax(Some(-1), false)?.to_vec()?;
    let hits = predicted.iter().zip(test.labels.to_classes()).filter(|&(&p, l)| p == l as i64).count();
    Ok(hits as f64 / test.rows() as f64)
}

#[allow(dead_code)] // the test calls `train`
fn main() -> ferrite::Result<()> {
    let device = ferrite::default_device();
    let accuracy = train(&device, 30)?;
    println!("test accuracy {accuracy:.4} after 30 epochs on {}", device.describe());
    Ok(())
}
