//! The network kernels on the CPU grid emulator against f64 references: dense layers
//! (forward with gathered rows and every activation, both backward products), the loss heads,
//! the optimizer updates and the metric sum.
//!
//! Tolerances: products use the K·u·Σ|a||b| bound of tests/kernels_matmul.rs; an activation
//! adds a few ulps of its output (exp/ln/expm1 are within 2 ulp, then one division); the loss
//! heads get the softmax bound of tests/kernels_softmax.rs.

mod common;

use common::interp::{launch_kernel, on_each_target};
use common::*;
use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::nn::activation::{LINEAR, RELU, SIGMOID, SOFTMAX, TANH};
use kernels_gpu::nn::{dense, loss, optim};
use kernels_gpu::{LaunchConfig, elementwise};
use rand::RngExt;
use rstest::rstest;

const U: f64 = f32::EPSILON as f64 / 2.0;

fn act_ref(act: u32, z: f64) -> f64 {
    match act {
        RELU => z.max(0.0),
        SIGMOID => 1.0 / (1.0 + (-z).exp()),
        TANH => z.tanh(),
        _ => z,
    }
}

fn act_grad_ref(act: u32, y: f64) -> f64 {
    match act {
        RELU => (y > 0.0) as u8 as f64,
        SIGMOID => y * (1.0 - y),
        TANH => 1.0 - y * y,
        _ => 1.0,
    }
}

fn f32s(r: &mut rand_chacha::ChaCha8Rng, n: usize, lo: f64, hi: f64) -> Vec<f32> {
    cast(&uniform(r, n, lo, hi))
}

/// Random gather indices into `total` rows (with repeats), or none.
fn gather(r: &mut rand_chacha::ChaCha8Rng, batch: usize, total: usize, on: bool) -> Option<Vec<u32>> {
    on.then(|| (0..batch).map(|_| r.random_range(0..total as u32)).collect())
}

fn ptr_or_null(b: &Option<DeviceBuffer<u32>>) -> *const u32 {
    b.as_ref().map_or(std::ptr::null(), |b| b.as_ptr())
}

#[rstest]
fn dense_forward_matches_reference(
    #[values((1, 1, 1), (32, 100, 64), (33, 64, 10), (7, 3, 65), (70, 5, 2))] shape: (usize, usize, usize),
    #[values(LINEAR, RELU, SIGMOID, TANH)] act: u32,
    #[values(true, false)] gathered: bool,
) {
    on_each_target(|| dense_forward_matches_reference_body(shape, act, gathered));
}

fn dense_forward_matches_reference_body(shape: (usize, usize, usize), act: u32, gathered: bool) {
    let (batch, inputs, units) = shape;
    let case = format!("dense forward {shape:?} act {act} gather {gathered}");
    let mut r = rng(&case);
    let total = batch + 5;
    let x = f32s(&mut r, total * inputs, -2.0, 2.0);
    let w = f32s(&mut r, (inputs + 1) * units, -1.0, 1.0);
    let rows = gather(&mut r, batch, total, gathered);
    let (dx, dw) = (DeviceBuffer::from_slice(&x), DeviceBuffer::from_slice(&w));
    let drows = rows.as_deref().map(DeviceBuffer::from_slice);
    let mut dy = DeviceBuffer::<f32>::poisoned(batch * units);
    let args = (
        dx.as_ptr(),
        ptr_or_null(&drows),
        total as u32,
        dw.as_ptr(),
        dy.as_mut_ptr(),
        batch as u32,
        inputs as u32,
        units as u32,
        act,
    );
    unsafe { launch_kernel(&dense::dense_forward_f32, &dense::forward_config::<f32>(batch, units), args) }.unwrap();
    let (mut want, mut tol) = (vec![0.0; batch * units], vec![0.0; batch * units]);
    for b in 0..batch {
        let src = rows.as_ref().map_or(b, |r| r[b] as usize);
        for u in 0..units {
            let (mut z, mut mag) = (w[inputs * units + u] as f64, (w[inputs * units + u] as f64).abs());
            for i in 0..inputs {
                let t = x[src * inputs + i] as f64 * w[i * units + u] as f64;
                z += t;
                mag += t.abs();
            }
            let y = act_ref(act, z);
            // Error in z, propagated through the activation (slope at most 1), plus its own rounding.
            want[b * units + u] = y;
            tol[b * units + u] = 2.0 * (inputs + 1) as f64 * U * mag + 8.0 * U * y.abs() + 1e-30;
        }
    }
    assert_close(&dy.to_vec(), &want, |i| tol[i], &case);
}

#[rstest]
fn dense_backward_input_matches_reference(
    #[values((1, 1, 1), (32, 64, 10), (33, 100, 64), (5, 70, 3))] shape: (usize, usize, usize),
    #[values(LINEAR, RELU, SIGMOID, TANH)] act_prev: u32,
) {
    on_each_target(|| dense_backward_input_matches_reference_body(shape, act_prev));
}

fn dense_backward_input_matches_reference_body(shape: (usize, usize, usize), act_prev: u32) {
    let (batch, inputs, units) = shape;
    let case = format!("dense backward input {shape:?} act {act_prev}");
    let mut r = rng(&case);
    let dz = f32s(&mut r, batch * units, -1.0, 1.0);
    let w = f32s(&mut r, (inputs + 1) * units, -1.0, 1.0);
    // Outputs of the previous layer in its activation's range (relu: some exact zeros).
    let y_prev: Vec<f32> = f32s(&mut r, batch * inputs, -1.0, 1.0)
        .into_iter()
        .map(|v| match act_prev {
            RELU => v.max(0.0),
            SIGMOID => (v + 1.0) / 2.0,
            _ => v,
        })
        .collect();
    let (ddz, dw, dy) =
        (DeviceBuffer::from_slice(&dz), DeviceBuffer::from_slice(&w), DeviceBuffer::from_slice(&y_prev));
    let mut dx = DeviceBuffer::<f32>::poisoned(batch * inputs);
    let args =
        (ddz.as_ptr(), dw.as_ptr(), dy.as_ptr(), dx.as_mut_ptr(), batch as u32, inputs as u32, units as u32, act_prev);
    let cfg = dense::backward_input_config::<f32>(batch, inputs);
    unsafe { launch_kernel(&dense::dense_backward_input_f32, &cfg, args) }.unwrap();
    let (mut want, mut tol) = (vec![0.0; batch * inputs], vec![0.0; batch * inputs]);
    for b in 0..batch {
        for i in 0..inputs {
            let (mut s, mut mag) = (0.0, 0.0);
            for u in 0..units {
                let t = dz[b * units + u] as f64 * w[i * units + u] as f64;
                s += t;
                mag += t.abs();
            }
            let d = act_grad_ref(act_prev, y_prev[b * inputs + i] as f64);
            want[b * inputs + i] = s * d;
            tol[b * inputs + i] = (2.0 * units as f64 * U * mag + 4.0 * U * s.abs()) * d.abs() + 1e-30;
        }
    }
    assert_close(&dx.to_vec(), &want, |i| tol[i], &case);
}

#[rstest]
fn dense_backward_params_matches_reference(
    #[values((1, 1, 1), (32, 100, 64), (33, 64, 10), (200, 3, 5))] shape: (usize, usize, usize),
    #[values(true, false)] gathered: bool,
) {
    on_each_target(|| dense_backward_params_matches_reference_body(shape, gathered));
}

fn dense_backward_params_matches_reference_body(shape: (usize, usize, usize), gathered: bool) {
    let (batch, inputs, units) = shape;
    let case = format!("dense backward params {shape:?} gather {gathered}");
    let mut r = rng(&case);
    let total = batch + 3;
    let x = f32s(&mut r, total * inputs, -2.0, 2.0);
    let dz = f32s(&mut r, batch * units, -1.0, 1.0);
    let rows = gather(&mut r, batch, total, gathered);
    let (dx, ddz) = (DeviceBuffer::from_slice(&x), DeviceBuffer::from_slice(&dz));
    let drows = rows.as_deref().map(DeviceBuffer::from_slice);
    let mut dg = DeviceBuffer::<f32>::poisoned((inputs + 1) * units);
    let args = (
        dx.as_ptr(),
        ptr_or_null(&drows),
        total as u32,
        ddz.as_ptr(),
        dg.as_mut_ptr(),
        batch as u32,
        inputs as u32,
        units as u32,
    );
    let cfg = dense::backward_params_config::<f32>(inputs, units);
    unsafe { launch_kernel(&dense::dense_backward_params_f32, &cfg, args) }.unwrap();
    let (mut want, mut tol) = (vec![0.0; (inputs + 1) * units], vec![0.0; (inputs + 1) * units]);
    for i in 0..=inputs {
        for u in 0..units {
            let (mut s, mut mag) = (0.0, 0.0);
            for b in 0..batch {
                let src = rows.as_ref().map_or(b, |r| r[b] as usize);
                let xv = if i == inputs { 1.0 } else { x[src * inputs + i] as f64 };
                s += xv * dz[b * units + u] as f64;
                mag += (xv * dz[b * units + u] as f64).abs();
            }
            want[i * units + u] = s;
            tol[i * units + u] = 2.0 * batch as f64 * U * mag + 1e-30;
        }
    }
    assert_close(&dg.to_vec(), &want, |i| tol[i], &case);
}

/// Reference loss head: per-row loss, correctness and dz for logits `z` against target rows.
fn head_ref(z: &[f64], t: &[f64], cols: usize, act: u32, xent: bool, scale: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let argmax = |v: &[f64]| v.iter().enumerate().fold(0, |b, (i, &x)| if x > v[b] { i } else { b });
    let (mut loss, mut right, mut dz) = (vec![], vec![], vec![]);
    for (zr, tr) in z.chunks(cols).zip(t.chunks(cols)) {
        let m = zr.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = zr.iter().map(|v| (v - m).exp()).sum();
        let p: Vec<f64> = zr.iter().map(|v| (v - m).exp() / s).collect();
        if xent {
            let sy: f64 = tr.iter().sum();
            loss.push(tr.iter().zip(zr).map(|(y, z)| if *y == 0.0 { 0.0 } else { y * (m + s.ln() - z) }).sum());
            right.push((argmax(zr) == argmax(tr)) as u8 as f64);
            dz.extend(p.iter().zip(tr).map(|(p, y)| (p * sy - y) * scale));
        } else {
            let y: Vec<f64> = if act == SOFTMAX { p } else { zr.iter().map(|&v| act_ref(act, v)).collect() };
            let g: Vec<f64> = y.iter().zip(tr).map(|(y, t)| 2.0 * (y - t) / cols as f64 * scale).collect();
            loss.push(y.iter().zip(tr).map(|(y, t)| (y - t).powi(2)).sum::<f64>() / cols as f64);
            let ok = if cols == 1 { (y[0] > 0.5) == (tr[0] > 0.5) } else { argmax(&y) == argmax(tr) };
            right.push(ok as u8 as f64);
            let gy: f64 = g.iter().zip(&y).map(|(g, y)| g * y).sum();
            dz.extend(
                (0..cols).map(|i| if act == SOFTMAX { y[i] * (g[i] - gy) } else { g[i] * act_grad_ref(act, y[i]) }),
            );
        }
    }
    (loss, right, dz)
}

enum Head {
    Sparse,
    OneHot,
    Mse(u32),
}

fn check_head(head: Head, batch: usize, cols: usize, train: bool) {
    let case = format!(
        "head {} batch {batch} cols {cols} train {train}",
        match head {
            Head::Sparse => "sparse".into(),
            Head::OneHot => "onehot".into(),
            Head::Mse(a) => format!("mse act {a}"),
        }
    );
    let mut r = rng(&case);
    let total = batch + 4;
    let z = f32s(&mut r, batch * cols, -6.0, 6.0);
    let labels: Vec<u32> = (0..total).map(|_| r.random_range(0..cols as u32)).collect();
    let targets: Vec<f32> = match head {
        Head::Mse(_) => f32s(&mut r, total * cols, 0.0, 1.0),
        _ => labels.iter().flat_map(|&l| (0..cols).map(move |c| (c == l as usize) as u8 as f32)).collect(),
    };
    let rows: Vec<u32> = (0..batch).map(|_| r.random_range(0..total as u32)).collect();
    let scale = 1.0 / batch as f32;
    let (dzv, dl, dt, drows) = (
        DeviceBuffer::from_slice(&z),
        DeviceBuffer::from_slice(&labels),
        DeviceBuffer::from_slice(&targets),
        DeviceBuffer::from_slice(&rows),
    );
    let mut dgrad = DeviceBuffer::<f32>::poisoned(batch * cols);
    let (mut dloss, mut dright) = (DeviceBuffer::<f32>::poisoned(batch), DeviceBuffer::<f32>::poisoned(batch));
    let grad_ptr = if train { dgrad.as_mut_ptr() } else { std::ptr::null_mut() };
    let cfg = loss::config(batch);
    let (b, c, t) = (batch as u32, cols as u32, total as u32);
    unsafe {
        match head {
            Head::Sparse => launch_kernel(
                &loss::xent_sparse_f32,
                &cfg,
                (
                    dzv.as_ptr(),
                    dl.as_ptr(),
                    drows.as_ptr(),
                    t,
                    grad_ptr,
                    dloss.as_mut_ptr(),
                    dright.as_mut_ptr(),
                    b,
                    c,
                    scale,
                ),
            ),
            Head::OneHot => launch_kernel(
                &loss::xent_onehot_f32,
                &cfg,
                (
                    dzv.as_ptr(),
                    dt.as_ptr(),
                    drows.as_ptr(),
                    t,
                    grad_ptr,
                    dloss.as_mut_ptr(),
                    dright.as_mut_ptr(),
                    b,
                    c,
                    scale,
                ),
            ),
            Head::Mse(act) => launch_kernel(
                &loss::mse_f32,
                &cfg,
                (
                    dzv.as_ptr(),
                    dt.as_ptr(),
                    drows.as_ptr(),
                    t,
                    grad_ptr,
                    dloss.as_mut_ptr(),
                    dright.as_mut_ptr(),
                    b,
                    c,
                    act,
                    scale,
                ),
            ),
        }
    }
    .unwrap();
    let gathered: Vec<f64> = rows
        .iter()
        .flat_map(|&s| targets[s as usize * cols..(s as usize + 1) * cols].iter().map(|&v| v as f64))
        .collect();
    let (act, xent) = match head {
        Head::Mse(a) => (a, false),
        _ => (SOFTMAX, true),
    };
    let (want_loss, want_right, want_dz) = head_ref(&widen(&z), &gathered, cols, act, xent, scale as f64);
    let tol = |w: f64| U * (16.0 + 2.0 * cols as f64) * (w.abs() + 12.0 * scale as f64) + 1e-30;
    assert_close(&dloss.to_vec(), &want_loss, |i| tol(want_loss[i]) * 12.0, &format!("{case}: loss"));
    assert_close(&dright.to_vec(), &want_right, |_| 0.0, &format!("{case}: correct"));
    if train {
        assert_close(&dgrad.to_vec(), &want_dz, |i| tol(want_dz[i]), &format!("{case}: dz"));
    } else {
        assert!(dgrad.to_vec().iter().all(|v| v.is_nan()), "{case}: evaluation wrote gradients");
    }
}

#[rstest]
fn loss_heads_match_reference(
    #[values((1, 1), (32, 10), (33, 3), (9, 70))] shape: (usize, usize),
    #[values(true, false)] train: bool,
) {
    on_each_target(|| loss_heads_match_reference_body(shape, train));
}

fn loss_heads_match_reference_body(shape: (usize, usize), train: bool) {
    let (batch, cols) = shape;
    check_head(Head::Sparse, batch, cols, train);
    check_head(Head::OneHot, batch, cols, train);
    for act in [LINEAR, RELU, SIGMOID, TANH, SOFTMAX] {
        check_head(Head::Mse(act), batch, cols, train);
    }
}

fn run_update(n: usize, launch: impl FnOnce(LaunchConfig)) {
    launch(elementwise::config::<f32>(n, 3));
}

#[rstest]
fn optimizer_updates_match_keras_formulas(#[values(1, 257, 4099)] n: usize) {
    on_each_target(|| optimizer_updates_match_keras_formulas_body(n));
}

fn optimizer_updates_match_keras_formulas_body(n: usize) {
    let mut r = rng(&format!("optim {n}"));
    let p = f32s(&mut r, n, -1.0, 1.0);
    let g = f32s(&mut r, n, -1.0, 1.0);
    let s1 = f32s(&mut r, n, -0.1, 0.1);
    let s2 = f32s(&mut r, n, 0.0, 0.01);
    let close = |got: Vec<f32>, want: Vec<f64>, what: &str| {
        assert_close(&got, &want, |i| 8.0 * U * (want[i].abs() + 1.0), what)
    };
    // SGD
    let mut dp = DeviceBuffer::from_slice(&p);
    let dg = DeviceBuffer::from_slice(&g);
    run_update(n, |cfg| {
        unsafe { launch_kernel(&optim::sgd_f32, &cfg, (dp.as_mut_ptr(), dg.as_ptr(), n as u64, 0.01)) }.unwrap()
    });
    close(dp.to_vec(), (0..n).map(|i| p[i] as f64 - 0.01 * g[i] as f64).collect(), "sgd");
    // Momentum and Nesterov
    for nesterov in [0u32, 1] {
        let (mut dp, mut dv) = (DeviceBuffer::from_slice(&p), DeviceBuffer::from_slice(&s1));
        run_update(n, |cfg| {
            unsafe {
                launch_kernel(
                    &optim::momentum_f32,
                    &cfg,
                    (dp.as_mut_ptr(), dg.as_ptr(), dv.as_mut_ptr(), n as u64, 0.01, 0.9, nesterov),
                )
            }
            .unwrap()
        });
        let v: Vec<f64> = (0..n).map(|i| 0.9 * s1[i] as f64 - 0.01 * g[i] as f64).collect();
        let want: Vec<f64> =
            (0..n).map(|i| p[i] as f64 + if nesterov == 1 { 0.9 * v[i] - 0.01 * g[i] as f64 } else { v[i] }).collect();
        close(dp.to_vec(), want, "momentum p");
        close(dv.to_vec(), v, "momentum v");
    }
    // Adam, step 3
    let (lr, b1, b2, eps) = (0.001f64, 0.9f64, 0.999f64, 1e-7f64);
    let alpha = lr * (1.0 - b2.powi(3)).sqrt() / (1.0 - b1.powi(3));
    let (mut dp, mut dm, mut dv) =
        (DeviceBuffer::from_slice(&p), DeviceBuffer::from_slice(&s1), DeviceBuffer::from_slice(&s2));
    run_update(n, |cfg| {
        unsafe {
            launch_kernel(
                &optim::adam_f32,
                &cfg,
                (
                    dp.as_mut_ptr(),
                    dg.as_ptr(),
                    dm.as_mut_ptr(),
                    dv.as_mut_ptr(),
                    n as u64,
                    alpha as f32,
                    b1 as f32,
                    b2 as f32,
                    eps as f32,
                ),
            )
        }
        .unwrap()
    });
    let m: Vec<f64> = (0..n).map(|i| s1[i] as f64 + (g[i] as f64 - s1[i] as f64) * (1.0 - b1)).collect();
    let v: Vec<f64> = (0..n).map(|i| s2[i] as f64 + ((g[i] as f64).powi(2) - s2[i] as f64) * (1.0 - b2)).collect();
    let want: Vec<f64> = (0..n).map(|i| p[i] as f64 - alpha * m[i] / (v[i].sqrt() + eps)).collect();
    close(dm.to_vec(), m, "adam m");
    close(dv.to_vec(), v, "adam v");
    close(dp.to_vec(), want, "adam p");
}

#[rstest]
fn sum2_adds_in_a_fixed_order(#[values(1, 1023, 1025, 60001)] n: usize) {
    on_each_target(|| sum2_adds_in_a_fixed_order_body(n));
}

fn sum2_adds_in_a_fixed_order_body(n: usize) {
    let mut r = rng(&format!("sum2 {n}"));
    let (a, b) = (f32s(&mut r, n, 0.0, 3.0), f32s(&mut r, n, 0.0, 1.0));
    let (da, db) = (DeviceBuffer::from_slice(&a), DeviceBuffer::from_slice(&b));
    let mut out = DeviceBuffer::<f32>::poisoned(2);
    let run = |out: &mut DeviceBuffer<f32>| {
        unsafe {
            let cfg = loss::sum2_config(max_threads(loss::sum2_f32.name()));
            launch_kernel(&loss::sum2_f32, &cfg, (da.as_ptr(), db.as_ptr(), n as u32, out.as_mut_ptr()))
        }
        .unwrap()
    };
    run(&mut out);
    let first = out.to_vec();
    let want = [a.iter().map(|&v| v as f64).sum::<f64>(), b.iter().map(|&v| v as f64).sum::<f64>()];
    // Each thread adds n/1024 terms, then a tree of depth 10.
    let bound = |w: f64| (n as f64 / 1024.0 + 11.0) * U * w;
    assert_close(&first, &want, |i| bound(want[i]), "sum2");
    run(&mut out);
    assert_eq!(first, out.to_vec(), "the same inputs give the same bits");
}
