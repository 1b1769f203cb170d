//! `--model cnn`: a small convolutional network on square one-channel images (the digits are
//! 8 × 8), built from `ferrite::layers` and trained with autograd and Adam, as one writes it
//! in PyTorch:
//!
//! ```python
//! model = nn.Sequential(
//!     nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
//!     nn.Conv2d(32, 64, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
//!     nn.Flatten(), nn.Linear(64 * (side // 4) ** 2, classes))
//! opt = torch.optim.Adam(model.parameters(), lr=5e-3)
//! sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
//! for epoch in range(epochs):
//!     for xb, yb in shuffled_batches:
//!         loss = F.cross_entropy(model(xb), yb)
//!         opt.zero_grad(); loss.backward(); opt.step()
//!     sched.step()
//! ```

use ferrite::autograd::optim::{Adam, Optimizer, Schedule};
use ferrite::autograd::{Var, loss, no_grad};
use ferrite::layers::{Activation, Conv2d, Conv2dSpec, Flatten, Linear, MaxPool2d, Module, Padding, Sequential};
use ferrite::{Array, Dataset, Device, Error, Result};

/// The network for `side × side` images and `classes` classes, initialized from `seed`.
pub fn model(side: usize, classes: usize, seed: u64) -> Result<Sequential<f32>> {
    let same = Conv2dSpec { padding: Padding::Same, ..Default::default() };
    let pooled = side / 4;
    Ok(Sequential::new()
        .add(Conv2d::with(1, 32, [3, 3], same, seed)?)
        .add(Activation::Relu)
        .add(MaxPool2d::new([2, 2]))
        .add(Conv2d::with(32, 64, [3, 3], same, seed.wrapping_add(1))?)
        .add(Activation::Relu)
        .add(MaxPool2d::new([2, 2]))
        .add(Flatten)
        .add(Linear::new(64 * pooled * pooled, classes, seed.wrapping_add(2))?))
}

/// The images as `[rows, 1, side, side]` on `device` and the labels as `i64`.
pub fn images(data: &Dataset, device: &Device) -> Result<(Array<f32>, Array<i64>, usize)> {
    let side = (data.features as f64).sqrt().round() as usize;
    if side * side != data.features || side < 4 {
        return Err(Error::Config(format!(
            "--model cnn needs square one-channel images of at least 4 x 4: {} has {} features per row",
            data.source, data.features
        )));
    }
    let x = Array::from_vec_on(data.x.clone(), &[data.rows(), 1, side, side], device)?;
    let labels: Vec<i64> = data.labels.to_classes().into_iter().map(i64::from).collect();
    Ok((x, Array::from_vec_on(labels, &[data.rows()], device)?, side))
}

/// How [`fit`] trains: `epochs` over shuffled batches of `batch` (a new order each epoch,
/// from `seed`), the rate annealed from `lr` by a cosine.
pub struct Plan {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
}

/// Trains `model` as `plan` says; returns each epoch's mean loss.
pub fn fit(
    model: &mut Sequential<f32>,
    x: &Array<f32>,
    y: &Array<i64>,
    plan: &Plan,
    mut each_epoch: impl FnMut(usize, f64),
) -> Result<Vec<f64>> {
    let Plan { epochs, batch, lr, seed } = *plan;
    let rows = x.shape()[0];
    let batch = batch.max(1);
    let mut opt = Adam::new(lr)?;
    let mut losses = Vec::new();
    model.train();
    let schedule = Schedule::Cosine { t_max: epochs, eta_min: 0.0 };
    for epoch in 0..epochs {
        opt.set_lr(schedule.lr(lr, epoch))?;
        let order = Array::<f32>::rand_uniform(&[rows], 0.0, 1.0, seed.wrapping_add(1000 + epoch as u64))?
            .argsort(None)?
            .to_device(&x.device())?;
        let mut total = 0.0;
        for start in (0..rows).step_by(batch) {
            let picked = order.narrow(0, start as isize, batch.min(rows - start))?;
            let xb = Var::constant(x.index_select(0, &picked)?);
            let yb = y.index_select(0, &picked)?;
            let loss = loss::sparse_cross_entropy(&model.forward(&xb)?, &yb, 0.0)?;
            model.zero_grad();
            loss.backward()?;
            opt.update(&mut model.parameters())?;
            total += f64::from(loss.to_vec()?[0]) * picked.len() as f64;
        }
        let mean = total / rows.max(1) as f64;
        each_epoch(epoch, mean);
        losses.push(mean);
    }
    Ok(losses)
}

/// The fraction of rows whose largest logit is their label (evaluation mode, no graph).
pub fn accuracy(model: &mut Sequential<f32>, x: &Array<f32>, y: &Array<i64>) -> Result<f64> {
    model.eval();
    let rows = x.shape()[0];
    let mut hits = 0usize;
    for start in (0..rows).step_by(512) {
        let n = 512.min(rows - start);
        let xb = Var::constant(x.narrow(0, start as isize, n)?);
        let predicted = no_grad(|| model.forward(&xb))?.value().argmax(Some(-1), false)?;
        hits += predicted.eq(&y.narrow(0, start as isize, n)?)?.to_vec()?.iter().filter(|&&h| h).count();
    }
    model.train();
    Ok(hits as f64 / rows.max(1) as f64)
}
