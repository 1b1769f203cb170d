//! Every kernel entry, and every path in it that depends on size or alignment, reached through
//! the public API on every device: the GPU cases that prove each kernel on hardware, run in CI
//! on the emulated CUDA device at each PTX generation.
//!
//! - sgemm (f32, M and N >= 128) with ragged edges, with and without its 16-byte loads;
//! - the tensor-core matmuls (tf32, bf16, f16 `mma.sync`; bf16, f16 `wgmma` on Hopper) with at
//!   least four K stages and ragged edges;
//! - every softmax entry: each one-pass depth (`V` = 1, 2, 4, 8, up to its longest row,
//!   28,672 f32), the shared-memory kernel with the row cached (32,768 f32) and re-read from
//!   global memory (a row larger than any GPU's shared memory), in f32 and f64, and the f16
//!   and bf16 kernels, softmax and log-softmax (f32 inside, 16 bits stored), cached and
//!   re-read;
//! - every cast, sqrt, and every nn kernel (dense forward and backward, each loss head, each
//!   optimizer, the loss sum, the output softmax) in f32 and f64.
//!
//! When the whole suite runs, it then checks that on each emulated device every entry of the
//! loaded PTX variant was launched by some case (and on a real GPU, if one ran), so a new
//! kernel, or a path the host stops taking, cannot go untested on hardware; the op families'
//! entries (`kernels_gpu::ops`) are checked the same way by `tests/ops.rs`, whose rows reach them.

mod common;

use common::arrays::{matmul_check, matmul_check_inputs_rounded, matmul_views_check, on, random};
use common::devices::{Case, CaseResult, trials};
use common::rng;
use ferrite::nn::{Activation, Dense, FitOptions, Loss, Metric, Optimizer, Sequential, TrainingData};
use ferrite::{Array, DType, Device, Float, MatmulPrecision, bf16, f16};
use rand::RngExt;
use std::sync::Mutex;

fn main() {
    let cases: &[(&'static str, Case)] = &[
        ("sgemm_with_ragged_edges", sgemm_with_ragged_edges),
        ("transposed_and_batched_operands", transposed_and_batched_operands),
        ("tf32_mma_over_four_k_stages", tf32_mma_over_four_k_stages),
        ("bf16_and_f16_mma_over_four_k_stages", bf16_and_f16_mma_over_four_k_stages),
        ("wgmma_over_four_k_stages", wgmma_over_four_k_stages),
        ("softmax_at_every_kernel_and_depth", softmax_at_every_kernel_and_depth),
        ("every_cast_and_sqrt", every_cast_and_sqrt),
        ("every_loss_and_optimizer_in_f32_and_f64", every_loss_and_optimizer_in_f32_and_f64),
    ];
    let (args, targets, trials) = trials(cases, &[]);
    let whole_suite = args.filter.is_none() && args.skip.is_empty() && !args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if whole_suite && !conclusion.has_failed() {
        // The op families' entries are `tests/ops.rs`'s to reach.
        common::coverage::require_every_entry(&targets, |e| !common::coverage::is_op_family(e), &[]);
    }
    conclusion.exit()
}

/// The matmul settings are process-wide: cases that depend on them, or change them, take turns.
static SETTINGS: Mutex<()> = Mutex::new(());

fn settings() -> std::sync::MutexGuard<'static, ()> {
    SETTINGS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A device's tensor-core kernel for `dtype` now, if any (`None` on the CPU).
fn tensor_core_kernel(d: &Device, dtype: DType) -> Option<&'static str> {
    match d {
        Device::Cuda(c) => c.tensor_core_matmul_kernel(dtype),
        Device::Cpu => None,
    }
}

/// M and N from one to well past sgemm's 128×128 tile; K a multiple of 4 (the 16-byte loads)
/// and not (one element at a time); below the tile, the 64×64 kernel, f32 and f64.
fn sgemm_with_ragged_edges(d: &Device) -> CaseResult {
    let _exact = settings();
    for (m, k, n) in [(128, 64, 128), (129, 67, 257), (257, 100, 131), (130, 1, 129), (7, 13, 5), (65, 33, 129)] {
        matmul_check::<f32>(d, &[m, k], &[k, n], &[m, n])?;
    }
    for (m, k, n) in [(7, 13, 5), (65, 33, 129), (130, 3, 70)] {
        matmul_check::<f64>(d, &[m, k], &[k, n], &[m, n])?;
    }
    Ok(())
}

/// Transposed views go to the `_tn` / `_nt` kernels as they are: on a fresh emulated device
/// of the same generation the product launches that one kernel and nothing else (no copy).
/// Batches run as one launch with a grid z (broadcast batches at stride 0; `[2, 1] × [3]`
/// batch dimensions as two launches), through every kernel kind: the 64-tile kernels, sgemm,
/// and the tensor cores for bf16 and f16 (the CUDA-core path through f32 on sm_70), a
/// transposed 16-bit operand copied once for them.
fn transposed_and_batched_operands(d: &Device) -> CaseResult {
    let _exact = settings();
    fn each<T: Float>(d: &Device) -> CaseResult {
        matmul_views_check::<T>(d, (&[33, 65], true), (&[65, 17], false))?;
        matmul_views_check::<T>(d, (&[7, 13], false), (&[13, 66], true))?;
        matmul_views_check::<T>(d, (&[3, 7, 13], true), (&[13, 5], false))?;
        matmul_views_check::<T>(d, (&[2, 1, 5, 7], false), (&[3, 7, 4], false))?;
        matmul_views_check::<T>(d, (&[7], false), (&[3, 7, 4], true))
    }
    each::<f32>(d)?;
    each::<f64>(d)?;
    each::<bf16>(d)?;
    each::<f16>(d)?;
    matmul_views_check::<f32>(d, (&[2, 129, 17], false), (&[2, 17, 131], false))?;
    if let Device::Cuda(c) = d
        && c.is_emulated()
    {
        let (major, minor) = c.compute_capability();
        for (t, want) in [((true, false), "matmul_tn_f64"), ((false, true), "matmul_nt_f64")] {
            let fresh = Device::emulated_cuda(major, minor)?;
            matmul_views_check::<f64>(&fresh, (&[9, 5], t.0), (&[5, 3], t.1))?;
            let Device::Cuda(f) = &fresh else { unreachable!() };
            ensure!(f.kernel_launches() == [(want, 1)], "{t:?}: launches {:?}, want {want} alone", f.kernel_launches());
        }
    }
    Ok(())
}

/// tf32 stages hold 16 K values: 67 is four whole stages and a ragged fifth.
fn tf32_mma_over_four_k_stages(d: &Device) -> CaseResult {
    let _guard = settings();
    ferrite::set_float32_matmul_precision(MatmulPrecision::High);
    let result = (|| -> CaseResult {
        let want = if matches!(d, Device::Cuda(c) if c.compute_capability() >= (8, 0)) {
            Some("mma_matmul_tf32")
        } else {
            None
        };
        ensure!(tensor_core_kernel(d, DType::F32) == want, "{d}: tf32 kernel {:?}", tensor_core_kernel(d, DType::F32));
        // Inputs rounded to tf32 (11 significant bits) before exact products.
        for (m, k, n) in [(131, 67, 133), (16, 64, 8), (1, 70, 1)] {
            matmul_check_inputs_rounded::<f32>(d, &[m, k], &[k, n], 2f64.powi(-11))?;
        }
        Ok(())
    })();
    ferrite::set_float32_matmul_precision(MatmulPrecision::Highest);
    result
}

/// bf16/f16 stages hold 32 K values: 135 is four stages and a ragged fifth; N off the vector
/// width too.
fn bf16_and_f16_mma_over_four_k_stages(d: &Device) -> CaseResult {
    let _guard = settings();
    ensure!(!ferrite::experimental_wgmma(), "the wgmma switch is off outside its case");
    for (m, k, n) in [(131, 135, 133), (129, 128, 132), (3, 5, 2)] {
        matmul_check::<bf16>(d, &[m, k], &[k, n], &[m, n])?;
        matmul_check::<f16>(d, &[m, k], &[k, n], &[m, n])?;
    }
    Ok(())
}

/// wgmma stages hold 64 K values: 265 is four stages and a ragged fifth.
fn wgmma_over_four_k_stages(d: &Device) -> CaseResult {
    let _guard = settings();
    ferrite::set_experimental_wgmma(true);
    let result = (|| -> CaseResult {
        let hopper = matches!(d, Device::Cuda(c) if c.ptx_arch() == "sm_90a");
        let got = tensor_core_kernel(d, DType::BF16);
        ensure!((got == Some("wgmma_matmul_bf16")) == hopper, "{d}: bf16 kernel {got:?} with the switch on");
        for (m, k, n) in [(131, 265, 133), (128, 256, 128)] {
            matmul_check::<bf16>(d, &[m, k], &[k, n], &[m, n])?;
            matmul_check::<f16>(d, &[m, k], &[k, n], &[m, n])?;
        }
        Ok(())
    })();
    ferrite::set_experimental_wgmma(false);
    result
}

/// Softmax rows against an f64 reference (the tolerance of tests/kernels_softmax.rs).
fn softmax_rows<T: Float>(d: &Device, rows: usize, cols: usize) -> CaseResult {
    let case = format!("softmax {} {rows}x{cols}", T::DTYPE);
    let x: Vec<T> = random(&case, rows * cols, -20.0, 20.0);
    let mut poisoned = on(d, vec![T::from_f64(f64::NAN); rows * cols], &[rows, cols])?;
    poisoned.copy_from(&on(d, x.clone(), &[rows, cols])?)?;
    let got = poisoned.softmax()?.to_vec()?;
    let u = if T::DTYPE == DType::F64 { f64::EPSILON / 2.0 } else { f32::EPSILON as f64 / 2.0 };
    // A 16-bit result's one rounding at the store.
    let store_u = match T::DTYPE {
        DType::F16 => 2f64.powi(-11),
        DType::BF16 => 2f64.powi(-8),
        _ => 0.0,
    };
    // Half the result type's smallest subnormal step (an underflowing result; f32's 1e-37
    // below its normal range).
    let tiny = match T::DTYPE {
        DType::F16 => 2f64.powi(-25),
        DType::BF16 => 2f64.powi(-134),
        _ => 1e-37,
    };
    for r in 0..rows {
        let row: Vec<f64> = x[r * cols..(r + 1) * cols].iter().map(|v| v.to_f64()).collect();
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for (i, v) in row.iter().enumerate() {
            let want = (v - m).exp() / s;
            let tol = u * ((v - m).abs() + 2.0 * cols as f64 + 16.0) * want;
            // Plus the result's rounding, and the smallest subnormal step of the result type.
            let tol = tol + store_u * (want + tol) + tiny;
            let g = got[r * cols + i].to_f64();
            ensure!((g - want).abs() <= tol, "{case} on {d}: [{r}][{i}] = {g}, want {want} ± {tol}");
        }
        {
            // The log-softmax row kernel: `(x - max) - ln s`, each term within its compute
            // type's rounding, the sum's relative error an absolute one after the log, then
            // (16-bit) the store.
            let got = poisoned.log_softmax(-1)?.to_vec()?;
            for (i, v) in row.iter().enumerate() {
                let want = (v - m) - s.ln();
                let tol = u * ((v - m).abs() + s.ln().abs() + 2.0 * cols as f64 + 16.0);
                let tol = tol + store_u * (want.abs() + tol) + tiny;
                let g = got[r * cols + i].to_f64();
                ensure!((g - want).abs() <= tol, "log_{case} on {d}: [{r}][{i}] = {g}, want {want} ± {tol}");
            }
        }
    }
    Ok(())
}

/// Softmax and log-softmax down the columns of a `rows × cols` array (`axis_softmax`, the
/// axis split into segments when `rows` is long), against the f64 formula, into poisoned
/// outputs.
fn softmax_columns<T: Float>(d: &Device, rows: usize, cols: usize) -> CaseResult {
    let case = format!("softmax along axis 0, {} {rows}x{cols}", T::DTYPE);
    let x: Vec<T> = random(&case, rows * cols, -20.0, 20.0);
    let a = on(d, x.clone(), &[rows, cols])?;
    let (got, got_log) = (a.softmax_axis(0)?.to_vec()?, a.log_softmax(0)?.to_vec()?);
    let u = if T::DTYPE == DType::F64 { f64::EPSILON / 2.0 } else { f32::EPSILON as f64 / 2.0 };
    let store_u = match T::DTYPE {
        DType::F16 => 2f64.powi(-11),
        DType::BF16 => 2f64.powi(-8),
        _ => 0.0,
    };
    let tiny = if T::DTYPE == DType::F16 { 2f64.powi(-25) } else { 2f64.powi(-134) };
    for c in 0..cols {
        let col: Vec<f64> = (0..rows).map(|r| x[r * cols + c].to_f64()).collect();
        let m = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = col.iter().map(|v| (v - m).exp()).sum();
        for (r, v) in col.iter().enumerate() {
            let (want, want_log) = ((v - m).exp() / s, (v - m) - s.ln());
            // The sum's order (`kernels_gpu::softmax::blocked_sum`, then up to 32 segments):
            // at most 2·64 + rows/4096 + 32 roundings, not `rows`.
            let tol = u * ((v - m).abs() + 2.0 * (128.0 + rows as f64 / 4096.0 + 32.0) + 16.0);
            let (tol, tol_log) = (tol * want, tol + u * s.ln().abs());
            let tol = tol + store_u * (want + tol) + tiny;
            let tol_log = tol_log + store_u * (want_log.abs() + tol_log) + tiny;
            let (g, gl) = (got[r * cols + c].to_f64(), got_log[r * cols + c].to_f64());
            ensure!((g - want).abs() <= tol, "{case} on {d}: [{r}][{c}] = {g}, want {want} ± {tol}");
            ensure!(
                (gl - want_log).abs() <= tol_log,
                "log_{case} on {d}: [{r}][{c}] = {gl}, want {want_log} ± {tol_log}"
            );
        }
    }
    Ok(())
}

/// Row lengths that pick each entry: one-pass V = 1 (up to 512 threads × 1 group), 2, 4, 8 (its
/// longest row), then the shared-memory kernel with the row cached (one group past V = 8's
/// longest) and too long for any GPU's shared memory (re-read), and a row not a whole number
/// of 16-byte groups; then columns (`softmax_columns`).
fn softmax_at_every_kernel_and_depth(d: &Device) -> CaseResult {
    for cols in [1000, 3000, 6000, 28_672, 28_676, 32_768, 1001] {
        softmax_rows::<f32>(d, 2, cols)?;
    }
    softmax_rows::<f32>(d, 1, 60_001)?;
    for cols in [500, 1500, 3000, 16_384, 16_386, 999] {
        softmax_rows::<f64>(d, 2, cols)?;
    }
    softmax_rows::<f64>(d, 1, 30_001)?;
    // 16-bit: one row cached in shared memory (as f32), one too long for it (re-read).
    for cols in [1000, 60_001] {
        softmax_rows::<f16>(d, 1, cols)?;
        softmax_rows::<bf16>(d, 1, cols)?;
    }
    // Along axis 0: few columns and a long axis (32 segments), and many short columns.
    for (rows, cols) in [(3001, 5), (7, 300)] {
        softmax_columns::<f32>(d, rows, cols)?;
        softmax_columns::<f64>(d, rows, cols)?;
        softmax_columns::<f16>(d, rows, cols)?;
        softmax_columns::<bf16>(d, rows, cols)?;
    }
    Ok(())
}

/// Every float-to-float conversion on the device (each a kernel of its own), against the
/// conversion of the f64 values, and sqrt in f32 and f64 with a tail past the vector width.
fn every_cast_and_sqrt(d: &Device) -> CaseResult {
    fn from<S: Float>(d: &Device) -> CaseResult {
        let x: Vec<S> = random(&format!("cast from {}", S::DTYPE), 1031, -70_000.0, 70_000.0);
        let a = on(d, x.clone(), &[1031])?;
        fn to<S: Float, D: Float>(a: &Array<S>, x: &[S]) -> CaseResult {
            let got = a.cast::<D>()?.to_vec()?;
            for (v, g) in x.iter().zip(&got) {
                let want = D::from_f64(v.to_f64());
                ensure!(
                    g.to_f64() == want.to_f64() || (g.to_f64().is_nan() && want.to_f64().is_nan()),
                    "{} {v} -> {}: {g}, want {want}",
                    S::DTYPE,
                    D::DTYPE
                );
            }
            Ok(())
        }
        to::<S, f32>(&a, &x)?;
        to::<S, f64>(&a, &x)?;
        to::<S, f16>(&a, &x)?;
        to::<S, bf16>(&a, &x)
    }
    from::<f32>(d)?;
    from::<f64>(d)?;
    from::<f16>(d)?;
    from::<bf16>(d)?;
    for n in [1, 7, 1029] {
        let x: Vec<f32> = random("sqrt f32", n, 0.0, 100.0);
        let got = on(d, x.clone(), &[n])?.sqrt()?.to_vec()?;
        ensure!(got.iter().zip(&x).all(|(g, v)| *g == v.sqrt()), "sqrt f32 of {n}");
        let x: Vec<f64> = random("sqrt f64", n, 0.0, 100.0);
        let got = on(d, x.clone(), &[n])?.sqrt()?.to_vec()?;
        ensure!(got.iter().zip(&x).all(|(g, v)| *g == v.sqrt()), "sqrt f64 of {n}");
    }
    Ok(())
}

/// A model over `T` with the seed's weights (built in f64 and converted).
trait ModelType: ferrite::nn::NnFloat {
    fn model() -> Sequential<Self>;
}
impl ModelType for f32 {
    fn model() -> Sequential<f32> {
        Sequential::new()
    }
}
impl ModelType for f64 {
    fn model() -> Sequential<f64> {
        Sequential::<f64>::typed()
    }
}

/// Two epochs of 3 batches (the last one short), then predictions: on `d` in `T`, against the
/// same training in f64 on the CPU from the same weights. Loss heads: categorical (one-hot),
/// sparse and MSE; optimizers SGD, momentum (Nesterov) and Adam; the hidden layer relu or tanh.
fn train<T: ModelType>(d: &Device, loss: Loss, optimizer: Optimizer, out: Activation) -> CaseResult {
    let case = format!("train {} {loss:?} {optimizer:?}", T::DTYPE);
    let mut r = rng(&case);
    let (rows, features, classes) = (37, 9, 4);
    let x: Vec<f64> = (0..rows * features).map(|_| r.random_range(-1.0..1.0)).collect();
    let labels: Vec<u32> = (0..rows).map(|_| r.random_range(0..classes as u32)).collect();
    let data = |xs: Vec<f64>| -> ferrite::Result<TrainingData<f64>> {
        let x = Array::from_vec(xs, &[rows, features])?;
        let labels = Array::from_vec(labels.clone(), &[rows])?;
        let d = TrainingData::new(&x, &labels)?;
        if loss == Loss::SparseCategoricalCrossentropy { Ok(d) } else { d.one_hot(classes) }
    };
    let reference_data = data(x.clone())?;
    let layers = [Dense::new(7, Activation::Tanh).input_dim(features), Dense::new(classes, out)];

    let mut reference = Sequential::<f64>::typed().seed(5).on(&Device::Cpu);
    let mut model = T::model().seed(5).on(d);
    for l in layers {
        reference.add(l);
        model.add(l);
    }
    reference.compile(loss, optimizer, &[Metric::Accuracy])?;
    model.compile(loss, optimizer, &[Metric::Accuracy])?;
    let start = reference.get_weights()?;
    model.set_weights(&start.iter().map(|w| w.iter().map(|&v| T::from_f64(v)).collect()).collect::<Vec<_>>())?;
    let xt = Array::from_vec(x.iter().map(|&v| T::from_f64(v)).collect(), &[rows, features])?;
    let labels_t = Array::from_vec(labels.clone(), &[rows])?;
    let mut model_data = TrainingData::new(&xt, &labels_t)?;
    if loss != Loss::SparseCategoricalCrossentropy {
        model_data = model_data.one_hot(classes)?;
    }
    reference.fit_data(&reference_data, &two_epochs())?;
    model.fit_data(&model_data, &two_epochs())?;
    // f32 differs from f64 by roundoff amplified over 6 steps; Adam's first steps are
    // lr · sign(g) for tiny g, so its bound is a fraction of the learning rate.
    let tol = if T::DTYPE == DType::F64 { 1e-10 } else { 1e-4 };
    let (want, got) = (reference.get_weights()?, model.get_weights()?);
    ensure!(want.iter().flatten().zip(start.iter().flatten()).any(|(a, b)| a != b), "{case}: training changed nothing");
    for (layer, (w, g)) in want.iter().zip(&got).enumerate() {
        for (i, (w, g)) in w.iter().zip(g).enumerate() {
            let g = g.to_f64();
            ensure!((g - w).abs() <= tol * (1.0 + w.abs()), "{case} on {d}: weight {layer}[{i}] {g}, want {w}");
        }
    }
    let p_ref = reference.predict(&Array::from_vec(x, &[rows, features])?, 16)?.to_vec()?;
    let p = model.predict(&xt.to_device(d)?, 16)?.to_vec()?;
    for (i, (p, q)) in p.iter().zip(&p_ref).enumerate() {
        ensure!((p.to_f64() - q).abs() <= tol * (1.0 + q.abs()), "{case} on {d}: prediction [{i}] {p}, want {q}");
    }
    Ok(())
}

/// Two epochs of 16-row batches, in order.
fn two_epochs<T>() -> FitOptions<T> {
    FitOptions { epochs: 2, batch_size: 16, shuffle: false, verbose: 0, ..Default::default() }
}

fn every_loss_and_optimizer_in_f32_and_f64(d: &Device) -> CaseResult {
    let momentum = Optimizer::Sgd { learning_rate: 0.05, momentum: 0.9, nesterov: true };
    let sgd = Optimizer::Sgd { learning_rate: 0.2, momentum: 0.0, nesterov: false };
    let adam = Optimizer::Adam { learning_rate: 0.01, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-3 };
    train::<f32>(d, Loss::CategoricalCrossentropy, sgd, Activation::Softmax)?;
    train::<f32>(d, Loss::SparseCategoricalCrossentropy, momentum, Activation::Softmax)?;
    train::<f32>(d, Loss::MeanSquaredError, adam, Activation::Sigmoid)?;
    train::<f64>(d, Loss::CategoricalCrossentropy, adam, Activation::Softmax)?;
    train::<f64>(d, Loss::SparseCategoricalCrossentropy, sgd, Activation::Softmax)?;
    train::<f64>(d, Loss::MeanSquaredError, momentum, Activation::Relu)
}
