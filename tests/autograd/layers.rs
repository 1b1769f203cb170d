//! The layers (`ferrite::layers`) on every device: forwards against f64 references written
//! here as direct loops (no im2col, no windows: each output is its defining sum), gradient
//! rows for `unfold`, the convolutions and pools and each layer with parameters (run by the
//! gradcheck in `tests/autograd.rs`), modes (dropout, batch statistics), and the state dict:
//! PyTorch's names, a save/load round trip, and refusals that change nothing.

use crate::common::devices::{Case, CaseResult};
use crate::common::uniform;
use crate::{Domain, GradRow, ensure, row};
use Domain::Range;
use ferrite::autograd::Var;
use ferrite::autograd::conv::{Conv2dSpec, Padding, avg_pool2d, conv1d, conv2d, max_pool2d};
use ferrite::layers::{
    Activation, BatchNorm, Conv2d, Dropout, Embedding, Flatten, LayerNorm, Linear, MaxPool2d, Module, Sequential,
};
use ferrite::{Array, Device, Error};

pub const CASES: &[(&str, Case)] = &[
    ("layers_conv2d_forward", conv2d_forward),
    ("layers_conv1d_and_channels_last", conv1d_and_channels_last),
    ("layers_pool_forward", pool_forward),
    ("layers_batchnorm_modes", batchnorm_modes),
    ("layers_layernorm_linear_embedding", layernorm_linear_embedding),
    ("layers_dropout", dropout),
    ("layers_state_dict", state_dict),
    ("layers_bad_inputs", bad_inputs),
    ("layers_unfold_write_copies", unfold_write_copies),
];

/// Overlapping windows show an element at several places: a write through them copies first
/// (as a broadcast does), so each window gets its own `+1`, not the element three times.
fn unfold_write_copies(d: &Device) -> CaseResult {
    let x = Array::from_vec_on(vec![0.0f64, 1.0, 2.0, 3.0, 4.0], &[5], d)?;
    let mut w = x.unfold(0, 3, 1)?;
    drop(x);
    w.add_assign(&Array::full_on(&[], 1.0, d)?)?;
    let want = [1.0, 2.0, 3.0, 2.0, 3.0, 4.0, 3.0, 4.0, 5.0];
    ensure!(w.to_vec()? == want, "unfold += 1 on {d}: {:?}", w.to_vec()?);
    Ok(())
}

/// The padding (before, after) of one axis, as TensorFlow defines `"same"` (worked here
/// independently of the library's code).
fn pad_of(p: Padding, len: usize, k: usize, stride: usize, dil: usize) -> (usize, usize) {
    match p {
        Padding::Valid => (0, 0),
        Padding::Explicit(v) => (v, v),
        Padding::Same => {
            let out = len.div_ceil(stride);
            let need = ((out - 1) * stride + (k - 1) * dil + 1) as isize - len as isize;
            let need = need.max(0) as usize;
            (need / 2, need - need / 2)
        }
    }
}

/// Direct 2-D cross-correlation in f64: `y[n, o, i, j] = b[o] + Σ x[n, c, i·s + a·d - p, ...]
/// · w[o, c - g·C/G, a, b]` over the group's channels and the window.
#[allow(clippy::too_many_arguments)]
fn conv_ref(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    ws: [usize; 4],
    b: Option<&[f64]>,
    spec: &Conv2dSpec,
) -> (Vec<f64>, [usize; 4]) {
    let [n, c, h, wd] = xs;
    let [oc, cg, kh, kw] = ws;
    let g = spec.groups;
    let (ph, _) = pad_of(spec.padding, h, kh, spec.stride[0], spec.dilation[0]);
    let (pw, _) = pad_of(spec.padding, wd, kw, spec.stride[1], spec.dilation[1]);
    let (ph_all, pw_all) = (
        pad_of(spec.padding, h, kh, spec.stride[0], spec.dilation[0]),
        pad_of(spec.padding, wd, kw, spec.stride[1], spec.dilation[1]),
    );
    let oh = (h + ph_all.0 + ph_all.1 - (kh - 1) * spec.dilation[0] - 1) / spec.stride[0] + 1;
    let ow = (wd + pw_all.0 + pw_all.1 - (kw - 1) * spec.dilation[1] - 1) / spec.stride[1] + 1;
    let mut y = vec![0.0; n * oc * oh * ow];
    for ni in 0..n {
        for o in 0..oc {
            let group = o / (oc / g);
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b.map_or(0.0, |b| b[o]);
                    for ci in 0..cg {
                        let cin = group * cg + ci;
                        for a in 0..kh {
                            for bb in 0..kw {
                                let yy = (i * spec.stride[0] + a * spec.dilation[0]) as isize - ph as isize;
                                let xx = (j * spec.stride[1] + bb * spec.dilation[1]) as isize - pw as isize;
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= wd as isize {
                                    continue;
                                }
                                let xv = x[((ni * c + cin) * h + yy as usize) * wd + xx as usize];
                                acc += xv * w[((o * cg + ci) * kh + a) * kw + bb];
                            }
                        }
                    }
                    y[((ni * oc + o) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    (y, [n, oc, oh, ow])
}

fn close(what: &str, got: &[f64], want: &[f64], tol: f64) -> CaseResult {
    ensure!(got.len() == want.len(), "{what}: {} values, want {}", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= tol * (1.0 + w.abs());
        ensure!(ok, "{what}: element {i} is {g}, want {w}");
    }
    Ok(())
}

fn var(d: &Device, v: Vec<f64>, shape: &[usize]) -> ferrite::Result<Var<f64>> {
    Ok(Var::constant(Array::from_vec_on(v, shape, d)?))
}

fn conv2d_forward(d: &Device) -> CaseResult {
    let mut rng = crate::common::rng("layers conv2d");
    let spec = |stride, padding, dilation, groups| Conv2dSpec { stride, padding, dilation, groups };
    let cases: &[([usize; 4], [usize; 4], Conv2dSpec)] = &[
        ([2, 3, 7, 5], [4, 3, 3, 3], Conv2dSpec::default()),
        ([1, 4, 9, 11], [6, 2, 3, 2], spec([2, 3], Padding::Same, [1, 1], 2)),
        ([3, 2, 8, 8], [2, 1, 2, 3], spec([1, 1], Padding::Explicit(2), [2, 2], 2)),
        ([2, 3, 5, 6], [5, 3, 3, 2], spec([1, 1], Padding::Same, [2, 1], 1)),
        ([1, 1, 1, 1], [1, 1, 1, 1], Conv2dSpec::default()),
        ([2, 1, 13, 2], [3, 1, 4, 1], spec([3, 1], Padding::Same, [1, 1], 1)),
        ([0, 3, 5, 5], [2, 3, 3, 3], Conv2dSpec::default()),
    ];
    for (xs, ws, spec) in cases {
        let x = uniform(&mut rng, xs.iter().product(), -1.0, 1.0);
        let w = uniform(&mut rng, ws.iter().product(), -1.0, 1.0);
        let b = uniform(&mut rng, ws[0], -1.0, 1.0);
        let (want, shape) = conv_ref(&x, *xs, &w, *ws, Some(&b), spec);
        let (xv, wv, bv) = (var(d, x.clone(), xs)?, var(d, w.clone(), ws)?, var(d, b, &[ws[0]])?);
        let got = conv2d(&xv, &wv, Some(&bv), spec)?;
        let what = format!("conv2d {xs:?} * {ws:?} {spec:?} on {d}");
        ensure!(got.shape() == shape, "{what}: shape {:?}, want {shape:?}", got.shape());
        close(&what, &got.to_vec()?, &want, 1e-12)?;
        let (want, _) = conv_ref(&x, *xs, &w, *ws, None, spec);
        close(&format!("{what} without bias"), &conv2d(&xv, &wv, None, spec)?.to_vec()?, &want, 1e-12)?;
    }
    // f32: one pass in the compute type, against the f64 reference.
    let (xs, ws) = ([2, 3, 6, 7], [4, 3, 3, 3]);
    let x = uniform(&mut rng, 2 * 3 * 6 * 7, -1.0, 1.0);
    let w = uniform(&mut rng, 4 * 27, -1.0, 1.0);
    let spec = Conv2dSpec { padding: Padding::Same, ..Default::default() };
    let (want, _) = conv_ref(&x, xs, &w, ws, None, &spec);
    let f = |v: &[f64], s: &[usize]| -> ferrite::Result<Var<f32>> {
        Ok(Var::constant(Array::from_vec_on(v.iter().map(|&v| v as f32).collect(), s, d)?))
    };
    let got: Vec<f64> = conv2d(&f(&x, &xs)?, &f(&w, &ws)?, None, &spec)?.to_vec()?.into_iter().map(f64::from).collect();
    close(&format!("conv2d f32 on {d}"), &got, &want, 1e-5)
}

fn conv1d_and_channels_last(d: &Device) -> CaseResult {
    let mut rng = crate::common::rng("layers conv1d");
    // conv1d is conv2d over a height of 1: against the 2-D reference with H = 1.
    let (x, w, b) = (uniform(&mut rng, 2 * 3 * 11, -1.0, 1.0), uniform(&mut rng, 4 * 3 * 3, -1.0, 1.0), vec![0.5; 4]);
    for (stride, padding, dilation) in [(1, Padding::Valid, 1), (2, Padding::Same, 2), (3, Padding::Explicit(2), 1)] {
        let spec = Conv2dSpec { stride: [1, stride], padding, dilation: [1, dilation], groups: 1 };
        // The 2-D reference pads the height as well for Explicit; conv1d must not.
        let spec_ref = match padding {
            Padding::Explicit(_) => Conv2dSpec { padding: Padding::Valid, ..spec },
            _ => spec,
        };
        let (xr, xs) = match padding {
            Padding::Explicit(p) => {
                let mut padded = Vec::new();
                for row in x.chunks(11) {
                    padded.extend(
                        std::iter::repeat_n(0.0, p).chain(row.iter().copied()).chain(std::iter::repeat_n(0.0, p)),
                    );
                }
                (padded, [2, 3, 1, 11 + 2 * p])
            }
            _ => (x.clone(), [2, 3, 1, 11]),
        };
        let (want, shape) = conv_ref(&xr, xs, &w, [4, 3, 1, 3], Some(&b), &spec_ref);
        let got = conv1d(
            &var(d, x.clone(), &[2, 3, 11])?,
            &var(d, w.clone(), &[4, 3, 3])?,
            Some(&var(d, b.clone(), &[4])?),
            stride,
            padding,
            dilation,
            1,
        )?;
        let what = format!("conv1d stride {stride} {padding:?} dilation {dilation} on {d}");
        ensure!(got.shape() == [shape[0], shape[1], shape[3]], "{what}: shape {:?}", got.shape());
        close(&what, &got.to_vec()?, &want, 1e-12)?;
    }
    // A channels-last Conv2d and MaxPool2d give the channels-first results, permuted.
    let mut conv = Conv2d::<f64>::with(3, 5, [3, 3], Conv2dSpec { padding: Padding::Same, ..Default::default() }, 7)?;
    conv.to_device(d)?;
    let x = var(d, uniform(&mut rng, 2 * 3 * 6 * 5, -1.0, 1.0), &[2, 3, 6, 5])?;
    let first = conv.forward(&x)?;
    let mut conv = conv.channels_last();
    let last = conv.forward(&x.permute(&[0, 2, 3, 1])?)?;
    close(&format!("channels_last conv on {d}"), &last.permute(&[0, 3, 1, 2])?.to_vec()?, &first.to_vec()?, 0.0)?;
    let mut pool = MaxPool2d::new([2, 2]);
    let mut pool_last = pool;
    pool_last.0.format = ferrite::layers::DataFormat::ChannelsLast;
    let a = Module::<f64>::forward(&mut pool, &first)?;
    let b = Module::<f64>::forward(&mut pool_last, &first.permute(&[0, 2, 3, 1])?)?;
    close(&format!("channels_last pool on {d}"), &b.permute(&[0, 3, 1, 2])?.to_vec()?, &a.to_vec()?, 0.0)
}

/// Direct pooling in f64 (`max`: padding is -inf; `avg`: padding counts as 0).
fn pool_ref(x: &[f64], xs: [usize; 4], k: [usize; 2], s: [usize; 2], p: usize, max: bool) -> (Vec<f64>, [usize; 4]) {
    let [n, c, h, w] = xs;
    let oh = (h + 2 * p - k[0]) / s[0] + 1;
    let ow = (w + 2 * p - k[1]) / s[1] + 1;
    let mut y = Vec::new();
    for plane in 0..n * c {
        for i in 0..oh {
            for j in 0..ow {
                let mut vals = Vec::new();
                for a in 0..k[0] {
                    for b in 0..k[1] {
                        let (yy, xx) = ((i * s[0] + a) as isize - p as isize, (j * s[1] + b) as isize - p as isize);
                        let inside = yy >= 0 && xx >= 0 && yy < h as isize && xx < w as isize;
                        vals.push(if inside {
                            x[plane * h * w + yy as usize * w + xx as usize]
                        } else if max {
                            f64::NEG_INFINITY
                        } else {
                            0.0
                        });
                    }
                }
                y.push(if max {
                    vals.iter()
                        .fold(f64::NEG_INFINITY, |m, &v| if v.is_nan() || m.is_nan() { f64::NAN } else { m.max(v) })
                } else {
                    vals.iter().sum::<f64>() / vals.len() as f64
                });
            }
        }
    }
    (y, [n, c, oh, ow])
}

fn pool_forward(d: &Device) -> CaseResult {
    let mut rng = crate::common::rng("layers pool");
    for (xs, k, s, p) in [
        ([2, 3, 7, 9], [2, 2], [2, 2], 0),
        ([1, 2, 8, 5], [3, 2], [2, 1], 1),
        ([2, 1, 5, 5], [3, 3], [1, 3], 1),
        ([1, 1, 1, 1], [1, 1], [1, 1], 0),
    ] {
        let mut x = uniform(&mut rng, xs.iter().product(), -1.0, 1.0);
        if x.len() > 4 {
            x[3] = f64::NAN; // NaN propagates through max (NumPy's and PyTorch's) and mean
        }
        let xv = var(d, x.clone(), &xs)?;
        let pad = if p == 0 { Padding::Valid } else { Padding::Explicit(p) };
        for max in [true, false] {
            let (want, shape) = pool_ref(&x, xs, k, s, p, max);
            let got = if max { max_pool2d(&xv, k, s, pad)? } else { avg_pool2d(&xv, k, s, pad)? };
            let what = format!("{} pool {xs:?} k {k:?} s {s:?} p {p} on {d}", if max { "max" } else { "avg" });
            ensure!(got.shape() == shape, "{what}: shape {:?}, want {shape:?}", got.shape());
            close(&what, &got.to_vec()?, &want, 1e-12)?;
        }
    }
    // Same: Keras's averages over the real elements only; a 3x3 window over 4x5, stride 2.
    let x = uniform(&mut rng, 4 * 5, -1.0, 1.0);
    let got = avg_pool2d(&var(d, x.clone(), &[1, 1, 4, 5])?, [3, 3], [2, 2], Padding::Same)?;
    // out 2x3; total padding rows (1)*2+3-4 = 1 -> (0, 1); cols 2*2+3-5 = 2 -> (1, 1)
    let mut want = Vec::new();
    for i in 0..2isize {
        for j in 0..3isize {
            let cells: Vec<f64> = (i * 2..i * 2 + 3)
                .flat_map(|r| (j * 2 - 1..j * 2 + 2).map(move |c| (r, c)))
                .filter(|&(r, c)| (0..4).contains(&r) && (0..5).contains(&c))
                .map(|(r, c)| x[(r * 5 + c) as usize])
                .collect();
            want.push(cells.iter().sum::<f64>() / cells.len() as f64);
        }
    }
    close(&format!("avg pool same on {d}"), &got.to_vec()?, &want, 1e-12)?;
    let mut gap = ferrite::layers::GlobalAvgPool2d::default();
    let x = uniform(&mut rng, 2 * 3 * 4 * 5, -1.0, 1.0);
    let want: Vec<f64> = x.chunks(20).map(|c| c.iter().sum::<f64>() / 20.0).collect();
    close(
        &format!("global avg pool on {d}"),
        &Module::<f64>::forward(&mut gap, &var(d, x, &[2, 3, 4, 5])?)?.to_vec()?,
        &want,
        1e-12,
    )
}

fn batchnorm_modes(d: &Device) -> CaseResult {
    let mut rng = crate::common::rng("layers batchnorm");
    let (n, c, h, w) = (3, 2, 2, 3);
    let mut bn = BatchNorm::<f64>::new(c)?;
    bn.to_device(d)?;
    bn.weight.assign(Array::from_vec_on(vec![1.5, -0.5], &[c], d)?)?;
    bn.bias.assign(Array::from_vec_on(vec![0.25, 2.0], &[c], d)?)?;
    let (mut rm, mut rv) = (vec![0.0; c], vec![1.0; c]);
    let at = |x: &[f64], ni: usize, ci: usize, k: usize| x[(ni * c + ci) * h * w + k];
    for step in 0..2 {
        let x = uniform(&mut rng, n * c * h * w, -2.0, 3.0);
        let y = bn.forward(&var(d, x.clone(), &[n, c, h, w])?)?.to_vec()?;
        let m = (n * h * w) as f64;
        for ci in 0..c {
            let vals: Vec<f64> =
                (0..n).flat_map(|ni| (0..h * w).map(move |k| (ni, k))).map(|(ni, k)| at(&x, ni, ci, k)).collect();
            let mean = vals.iter().sum::<f64>() / m;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m;
            for ni in 0..n {
                for k in 0..h * w {
                    let want = (at(&x, ni, ci, k) - mean) / (var + 1e-5).sqrt() * [1.5, -0.5][ci] + [0.25, 2.0][ci];
                    let got = y[(ni * c + ci) * h * w + k];
                    ensure!((got - want).abs() <= 1e-12, "batchnorm step {step} on {d}: {got}, want {want}");
                }
            }
            rm[ci] = 0.9 * rm[ci] + 0.1 * mean;
            rv[ci] = 0.9 * rv[ci] + 0.1 * var * m / (m - 1.0);
        }
    }
    close(&format!("running mean on {d}"), &bn.running_mean.to_vec()?, &rm, 1e-12)?;
    close(&format!("running var on {d}"), &bn.running_var.to_vec()?, &rv, 1e-12)?;
    ensure!(bn.num_batches_tracked == 2, "num_batches_tracked {}", bn.num_batches_tracked);
    // Evaluation: the running statistics normalize, and nothing moves.
    bn.eval();
    let x = uniform(&mut rng, n * c * h * w, -2.0, 3.0);
    let y = bn.forward(&var(d, x.clone(), &[n, c, h, w])?)?.to_vec()?;
    for (i, (&xv, &yv)) in x.iter().zip(&y).enumerate() {
        let ci = (i / (h * w)) % c;
        let want = (xv - rm[ci]) / (rv[ci] + 1e-5).sqrt() * [1.5, -0.5][ci] + [0.25, 2.0][ci];
        ensure!((yv - want).abs() <= 1e-12, "batchnorm eval on {d}: element {i} is {yv}, want {want}");
    }
    ensure!(bn.num_batches_tracked == 2, "eval moved the statistics");
    // One value per channel cannot be normalized by its batch (PyTorch refuses it too).
    bn.train();
    let one = bn.forward(&var(d, vec![1.0, 2.0], &[1, 2])?);
    ensure!(matches!(one, Err(Error::BadShape { .. })), "batchnorm on one value per channel: {one:?}");
    Ok(())
}

fn layernorm_linear_embedding(d: &Device) -> CaseResult {
    let mut rng = crate::common::rng("layers layernorm");
    let mut ln = LayerNorm::<f64>::new(&[2, 3])?;
    ln.to_device(d)?;
    let gamma = uniform(&mut rng, 6, 0.5, 1.5);
    ln.weight.assign(Array::from_vec_on(gamma.clone(), &[2, 3], d)?)?;
    let x = uniform(&mut rng, 4 * 6, -3.0, 3.0);
    let y = ln.forward(&var(d, x.clone(), &[4, 2, 3])?)?.to_vec()?;
    for (s, (xs, ys)) in x.chunks(6).zip(y.chunks(6)).enumerate() {
        let mean = xs.iter().sum::<f64>() / 6.0;
        let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
        for k in 0..6 {
            let want = (xs[k] - mean) / (var + 1e-5).sqrt() * gamma[k];
            ensure!((ys[k] - want).abs() <= 1e-12, "layernorm sample {s} on {d}: {} want {want}", ys[k]);
        }
    }
    // Linear: x · Wᵀ + b.
    let mut lin = Linear::<f64>::new(3, 2, 1)?;
    lin.to_device(d)?;
    let (w, b) = (lin.weight.to_vec()?, lin.bias.as_ref().unwrap().to_vec()?);
    ensure!(w.iter().all(|v| v.abs() <= 1.0 / 3f64.sqrt()), "Linear's init outside ±1/√3: {w:?}");
    let x = uniform(&mut rng, 5 * 3, -1.0, 1.0);
    let y = lin.forward(&var(d, x.clone(), &[5, 3])?)?.to_vec()?;
    for r in 0..5 {
        for o in 0..2 {
            let want = b[o] + (0..3).map(|i| x[r * 3 + i] * w[o * 3 + i]).sum::<f64>();
            ensure!((y[r * 2 + o] - want).abs() <= 1e-12, "linear on {d}: {} want {want}", y[r * 2 + o]);
        }
    }
    // Embedding: rows by id; a repeated id's gradient adds up.
    let mut emb = Embedding::<f64>::new(5, 3, 2)?;
    emb.to_device(d)?;
    let table = emb.weight.to_vec()?;
    let ids = [4.0, 0.0, 4.0, 2.0];
    let y = emb.forward(&var(d, ids.to_vec(), &[2, 2])?)?;
    ensure!(y.shape() == [2, 2, 3], "embedding shape {:?}", y.shape());
    let want: Vec<f64> = ids.iter().flat_map(|&i| table[i as usize * 3..i as usize * 3 + 3].to_vec()).collect();
    close(&format!("embedding on {d}"), &y.to_vec()?, &want, 0.0)?;
    y.sum(ferrite::Axes::All, false)?.backward()?;
    let g = emb.weight.grad().unwrap().to_vec()?;
    close(&format!("embedding grad on {d}"), &g, &[1., 1., 1., 0., 0., 0., 1., 1., 1., 0., 0., 0., 2., 2., 2.], 0.0)?;
    let frac = emb.forward(&var(d, vec![1.5], &[1])?);
    ensure!(matches!(frac, Err(Error::BadShape { .. })), "a fractional id: {frac:?}");
    let out = emb.forward(&var(d, vec![5.0], &[1])?);
    ensure!(matches!(out, Err(Error::IndexOutOfRange { index: 5, size: 5, .. })), "id 5 of 5: {out:?}");
    Ok(())
}

fn dropout(d: &Device) -> CaseResult {
    let mut drop = Dropout::new(0.25, 3)?;
    let x = Var::constant(Array::full_on(&[100, 100], 1.0f64, d)?);
    let a = Module::<f64>::forward(&mut drop, &x)?.to_vec()?;
    let zeros = a.iter().filter(|&&v| v == 0.0).count() as f64 / 1e4;
    ensure!((zeros - 0.25).abs() < 0.02, "dropout 0.25 on {d} zeroed {zeros}");
    ensure!(a.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-15), "kept values are scaled by 1/(1-p)");
    let b = Module::<f64>::forward(&mut drop, &x)?.to_vec()?;
    ensure!(a != b, "each call draws a new mask");
    let again = Module::<f64>::forward(&mut Dropout::new(0.25, 3)?, &x)?.to_vec()?;
    ensure!(a == again, "the same seed gives the same mask");
    Module::<f64>::eval(&mut drop);
    ensure!(Module::<f64>::forward(&mut drop, &x)?.to_vec()? == x.to_vec()?, "evaluation is the identity");
    let all = Module::<f64>::forward(&mut Dropout::new(1.0, 0)?, &x)?.to_vec()?;
    ensure!(all.iter().all(|&v| v == 0.0), "p = 1 drops everything");
    ensure!(matches!(Dropout::new(1.5, 0), Err(Error::BadArgument { .. })), "p = 1.5 is refused");
    Ok(())
}

fn small_model(seed: u64) -> ferrite::Result<Sequential<f64>> {
    let same = Conv2dSpec { padding: Padding::Same, ..Default::default() };
    Ok(Sequential::new()
        .add(Conv2d::with(1, 2, [3, 3], same, seed)?)
        .add(BatchNorm::new(2)?)
        .add(Activation::Relu)
        .add(Flatten)
        .add(Linear::new(2 * 4 * 4, 3, seed + 1)?))
}

fn state_dict(d: &Device) -> CaseResult {
    let mut a = small_model(1)?;
    a.to_device(d)?;
    let names: Vec<String> = a.tensors().into_iter().map(|(n, _)| n).collect();
    let want = [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
        "4.weight",
        "4.bias",
    ];
    ensure!(names == want, "state dict names {names:?}");
    ensure!(a.num_parameters() == 2 * 9 + 2 + 2 + 2 + 32 * 3 + 3, "parameter count {}", a.num_parameters());
    let x = Var::constant(Array::from_vec_on(
        uniform(&mut crate::common::rng("state"), 2 * 16, 0.0, 1.0),
        &[2, 1, 4, 4],
        d,
    )?);
    a.forward(&x)?; // moves the running statistics
    a.eval();
    let want_y = a.forward(&x)?.to_vec()?;
    let dir =
        std::env::temp_dir().join(format!("ferrite-layers-{}-{}", std::process::id(), d.to_string().replace(':', "_")));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("model.safetensors");
    a.save(&path)?;
    let mut b = small_model(99)?;
    b.to_device(d)?;
    b.load(&path)?;
    b.eval();
    close(&format!("loaded model on {d}"), &b.forward(&x)?.to_vec()?, &want_y, 0.0)?;
    // A model of other shapes refuses the file and keeps its values.
    let mut c = Sequential::<f64>::new().add(Conv2d::with(1, 3, [3, 3], Conv2dSpec::default(), 5)?);
    let refused = c.load(&path);
    ensure!(matches!(refused, Err(Error::UnexpectedArray { ref name, .. }) if name == "1.bias"), "{refused:?}");
    // Every name present but one shape wrong (the last layer's), or one name missing: the
    // layers before keep their values.
    let mut e = small_model(3)?.add(Linear::new(3, 1, 0)?);
    let w0 = e.parameters()[0].to_vec()?;
    let missing = e.load(&path);
    ensure!(matches!(missing, Err(Error::MissingArray { ref name, .. }) if name == "5.weight"), "{missing:?}");
    ensure!(e.parameters()[0].to_vec()? == w0, "a refused load changed the first weight");
    let mut f = Sequential::<f64>::new()
        .add(Conv2d::with(1, 2, [3, 3], Conv2dSpec { padding: Padding::Same, ..Default::default() }, 4)?)
        .add(BatchNorm::new(2)?)
        .add(Activation::Relu)
        .add(Flatten)
        .add(Linear::new(2 * 4 * 4, 4, 5)?);
    let w0 = f.parameters()[0].to_vec()?;
    let wrong = f.load(&path);
    ensure!(matches!(wrong, Err(Error::ShapeMismatch { .. })), "4.weight of [4, 32] from [3, 32]: {wrong:?}");
    ensure!(f.parameters()[0].to_vec()? == w0, "a load refused at the last layer changed the first");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn bad_inputs(d: &Device) -> CaseResult {
    let x = Var::constant(Array::full_on(&[1, 2, 5, 5], 1.0f64, d)?);
    let w = Var::constant(Array::full_on(&[4, 3, 3, 3], 1.0f64, d)?);
    let r = conv2d(&x, &w, None, &Conv2dSpec::default());
    ensure!(matches!(r, Err(Error::ShapeMismatch { .. })), "2 channels into a weight for 3: {r:?}");
    let w = Var::constant(Array::full_on(&[4, 2, 7, 3], 1.0f64, d)?);
    let r = conv2d(&x, &w, None, &Conv2dSpec::default());
    ensure!(matches!(r, Err(Error::BadShape { .. })), "a 7-tall kernel over 5 rows: {r:?}");
    let w = Var::constant(Array::full_on(&[4, 2, 3, 3], 1.0f64, d)?);
    let r = conv2d(&x, &w, None, &Conv2dSpec { stride: [0, 1], ..Default::default() });
    ensure!(matches!(r, Err(Error::BadShape { .. })), "stride 0: {r:?}");
    let r = conv2d(&x, &w, None, &Conv2dSpec { groups: 3, ..Default::default() });
    ensure!(matches!(r, Err(Error::ShapeMismatch { .. })), "2 channels in 3 groups: {r:?}");
    let b = Var::constant(Array::full_on(&[3], 1.0f64, d)?);
    let r = conv2d(&x, &w, Some(&b), &Conv2dSpec::default());
    ensure!(matches!(r, Err(Error::ShapeMismatch { .. })), "3 biases for 4 channels: {r:?}");
    let r = max_pool2d(&x.reshape(&[2, 5, 5])?, [2, 2], [2, 2], Padding::Valid);
    ensure!(matches!(r, Err(Error::BadShape { .. })), "pooling a 3-d input: {r:?}");
    let mut lin = Linear::<f64>::new(4, 2, 0)?;
    lin.to_device(d)?;
    let r = lin.forward(&Var::constant(Array::full_on(&[3, 5], 1.0f64, d)?));
    ensure!(matches!(r, Err(Error::ShapeMismatch { .. })), "5 features into Linear(4, 2): {r:?}");
    let mut bn = BatchNorm::<f64>::new(3)?;
    bn.to_device(d)?;
    let r = bn.forward(&x);
    ensure!(matches!(r, Err(Error::ShapeMismatch { .. })), "2 channels into BatchNorm(3): {r:?}");
    ensure!(
        matches!(
            Conv2d::<f64>::with(3, 4, [3, 3], Conv2dSpec { groups: 2, ..Default::default() }, 0),
            Err(Error::Config(_))
        ),
        "3 channels in 2 groups"
    );
    // An empty spatial axis stays empty under Same padding: no window fits.
    let empty = Var::constant(Array::full_on(&[1, 2, 0, 5], 1.0f64, d)?);
    let r = conv2d(&empty, &w, None, &Conv2dSpec { padding: Padding::Same, ..Default::default() });
    ensure!(matches!(r, Err(Error::BadShape { .. })), "same padding of an empty axis: {r:?}");
    let r = max_pool2d(&x, [2, 2], [1, 1], Padding::Explicit(2));
    ensure!(matches!(r, Err(Error::BadShape { .. })), "pool padding 2 with a 2x2 kernel: {r:?}");
    let r = conv2d(&x, &w, None, &Conv2dSpec { dilation: [usize::MAX, 1], ..Default::default() });
    ensure!(matches!(r, Err(Error::BadShape { .. })), "a dilation that overflows: {r:?}");
    ensure!(matches!(LayerNorm::<f64>::new(&[]), Err(Error::BadShape { .. })), "LayerNorm over no axis");
    let mut emb = Embedding::<f64>::new(5, 3, 2)?;
    emb.to_device(d)?;
    for (id, index) in [(-1.0, -1), (1e20, i64::MAX)] {
        let r = emb.forward(&Var::constant(Array::from_vec_on(vec![id], &[1], d)?));
        ensure!(matches!(r, Err(Error::IndexOutOfRange { index: i, size: 5, .. }) if i == index), "id {id}: {r:?}");
    }
    let r = emb.forward(&Var::constant(Array::from_vec_on(vec![f64::INFINITY], &[1], d)?));
    ensure!(matches!(r, Err(Error::BadShape { .. })), "an infinite id: {r:?}");
    Ok(())
}

/// Gradient rows: the windows, the convolutions and pools (through every option), and each
/// layer with its parameters as inputs.
pub fn layer_rows() -> Vec<GradRow> {
    let x = || Range(-1.0, 1.0);
    let same = Conv2dSpec { padding: Padding::Same, ..Default::default() };
    let grouped = Conv2dSpec { stride: [2, 1], padding: Padding::Explicit(1), dilation: [1, 2], groups: 2 };
    vec![
        row("unfold_overlapping", &[(&[3, 8], x())], |v| v[0].unfold(1, 3, 1)?.sin()),
        row("unfold_strided", &[(&[7, 2], x())], |v| v[0].unfold(0, 2, 3)?.sin()),
        row("conv2d_same", &[(&[2, 3, 5, 4], x()), (&[4, 3, 3, 2], x()), (&[4], x())], move |v| {
            conv2d(&v[0], &v[1], Some(&v[2]), &same)?.sin()
        }),
        row("conv2d_grouped_strided_dilated", &[(&[2, 4, 6, 7], x()), (&[6, 2, 2, 3], x())], move |v| {
            conv2d(&v[0], &v[1], None, &grouped)?.sin()
        }),
        row("conv1d", &[(&[2, 3, 9], x()), (&[2, 3, 3], x()), (&[2], x())], |v| {
            conv1d(&v[0], &v[1], Some(&v[2]), 2, Padding::Same, 2, 1)?.sin()
        }),
        row("max_pool2d", &[(&[2, 2, 5, 7], x())], |v| max_pool2d(&v[0], [2, 3], [2, 2], Padding::Explicit(1))),
        row("avg_pool2d", &[(&[2, 2, 5, 7], x())], |v| avg_pool2d(&v[0], [3, 2], [1, 2], Padding::Explicit(1))),
        row("layer_linear", &[(&[4, 3], x()), (&[2, 3], x()), (&[2], x())], |v| {
            Linear { weight: v[1].clone(), bias: Some(v[2].clone()) }.forward(&v[0])?.tanh()
        }),
        row("layer_batchnorm_train", &[(&[4, 3, 2], x()), (&[3], x()), (&[3], x())], |v| {
            let mut bn = BatchNorm::new(3)?;
            bn.to_device(&v[0].device())?;
            (bn.weight, bn.bias) = (v[1].clone(), v[2].clone());
            bn.forward(&v[0])?.sin()
        }),
        row("layer_layernorm", &[(&[3, 2, 4], x()), (&[4], x()), (&[4], x())], |v| {
            let mut ln = LayerNorm::new(&[4])?;
            (ln.weight, ln.bias) = (v[1].clone(), v[2].clone());
            ln.forward(&v[0])?.sin()
        }),
        row("layer_leaky_relu", &[(&[3, 4], Domain::Away(0.1, 2.0))], |v| Activation::LeakyRelu(0.1).apply(&v[0])),
    ]
}
