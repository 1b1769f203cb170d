//! GPU operations at sizes that fill an H100, each next to a baseline timed in the same run
//! with CUDA events: a device-to-device copy of the same bytes (the bandwidth ceiling) for
//! sqrt and softmax, cuBLAS `GemmEx` for matmul (`GemmStridedBatchedEx` for the batched row). `scripts/bench_baselines.py` adds PyTorch
//! and CuPy on the same shapes.

use super::measure::Runs;
use super::table::{Row, Table};
use ferrite::baselines::Cublas;
use ferrite::{
    Array, CudaDevice, DType, Device, MatmulPrecision, bf16, f16, set_experimental_wgmma, set_float32_matmul_precision,
};
use kernels_gpu::wgmma_matmul;

/// Median device seconds of `f` and of `baseline`, called alternately so that both see the
/// same clocks and temperature.
fn pair(
    gpu: &CudaDevice,
    runs: Runs,
    mut f: impl FnMut() -> ferrite::Result<()>,
    mut baseline: impl FnMut() -> ferrite::Result<()>,
) -> ferrite::Result<(f64, f64)> {
    for _ in 0..runs.warmup {
        f()?;
        baseline()?;
    }
    let (mut a, mut b) = (Vec::with_capacity(runs.timed), Vec::with_capacity(runs.timed));
    for _ in 0..runs.timed {
        a.push(gpu.time(&mut f)?);
        b.push(gpu.time(&mut baseline)?);
    }
    let median = |mut t: Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    Ok((median(a), median(b)))
}

/// Every GPU row; a row that fails records its error and the others still run.
pub fn run(device: &Device, quick: bool, table: &mut Table) {
    let Device::Cuda(gpu) = device else { return };
    // 2^26 f32 (256 MiB) per array: far beyond the 50 MiB L2, so every pass goes to HBM.
    let n = if quick { 1 << 16 } else { 1 << 26 };
    table.attempt(("sqrt_into", &n.to_string(), "f32"), device, |t| sqrt_into(device, gpu, n, Runs::new(50, quick), t));
    for cols in [1024, 2048, 4096, 8192, 16384, 28672, 32768] {
        let rows = n / cols;
        table.attempt(("softmax", &format!("{rows}x{cols}"), "f32"), device, |t| {
            softmax(device, gpu, rows, cols, Runs::new(50, quick), t)
        });
    }
    array_ops(device, gpu, n, Runs::new(50, quick), table);
    let size = if quick { 256 } else { 4096 };
    let blas = match Cublas::new(device) {
        Ok(blas) => {
            table.notes.push(format!("cuBLAS (matmul baseline) loaded from {}", blas.library.display()));
            Some(blas)
        }
        Err(e) => {
            eprintln!("matmul without a baseline: {e}");
            table.notes.push(format!("no cuBLAS baseline: {e}"));
            None
        }
    };
    let blas = blas.as_ref();
    let shape = format!("{size}x{size}x{size}");
    let runs = Runs::new(20, quick);
    let tf32 = |on| set_float32_matmul_precision(if on { MatmulPrecision::High } else { MatmulPrecision::Highest });
    type Measure<'a> = Box<dyn FnOnce(&mut Table) -> ferrite::Result<()> + 'a>;
    let mut rows: Vec<(&str, Measure)> = vec![
        ("f32", Box::new(|t| matmul::<f32>(device, gpu, blas, size, "f32", runs, t))),
        ("tf32", Box::new(|t| with(tf32, || matmul::<f32>(device, gpu, blas, size, "tf32", runs, t)))),
        ("bf16", Box::new(|t| matmul::<bf16>(device, gpu, blas, size, "bf16", runs, t))),
        ("f16", Box::new(|t| matmul::<f16>(device, gpu, blas, size, "f16", runs, t))),
    ];
    // The experimental Hopper kernel, measured and checked against cuBLAS like the others;
    // devices without `wgmma` get no such rows.
    let hopper = with(set_experimental_wgmma, || {
        gpu.tensor_core_matmul_kernel(DType::BF16) == Some(wgmma_matmul::wgmma_matmul_bf16.name())
    });
    if hopper {
        rows.push((
            "bf16 wgmma",
            Box::new(|t| {
                with(set_experimental_wgmma, || matmul::<bf16>(device, gpu, blas, size, "bf16 wgmma", runs, t))
            }),
        ));
        rows.push((
            "f16 wgmma",
            Box::new(|t| with(set_experimental_wgmma, || matmul::<f16>(device, gpu, blas, size, "f16 wgmma", runs, t))),
        ));
    }
    for (label, measure) in rows {
        table.attempt(("matmul", &shape, label), device, measure);
    }
    // A strided batch (one launch, grid z) against cuBLAS's strided-batched GEMM.
    let (batch, bsize) = if quick { (4, 64) } else { (64, 512) };
    table.attempt(("matmul", &format!("{batch}x{bsize}x{bsize}x{bsize}"), "bf16 batched"), device, |t| {
        product::<bf16>(device, gpu, blas, &[batch, bsize, bsize], "bf16 batched", runs, t)
    });
}

/// Runs `f` with a setting switched on, and off again afterwards.
fn with<R>(switch: impl Fn(bool), f: impl FnOnce() -> R) -> R {
    switch(true);
    let r = f();
    switch(false);
    r
}

/// A row for a memory-bound operation moving `bytes` in all, against a copy of as many bytes.
fn bandwidth_row(device: &Device, op: &str, shape: String, (t, base): (f64, f64), bytes: f64) -> Row {
    let mut row = Row::new(op, &shape, "f32", device, t);
    row.baseline = Some(("device-to-device copy of the same bytes".into(), base));
    row.achieved = Some((bytes / t / 1e9, bytes / base / 1e9, "GB/s"));
    row
}

/// One memory-bound row: `f`, which moves `bytes` in all, against a device-to-device copy of
/// as many bytes (half read, half written) timed alternately with it.
#[allow(clippy::too_many_arguments)]
fn memory_bound(
    device: &Device,
    gpu: &CudaDevice,
    op: &str,
    shape: &str,
    bytes: usize,
    note: &str,
    runs: Runs,
    table: &mut Table,
    f: impl FnMut() -> ferrite::Result<()>,
) -> ferrite::Result<()> {
    let src = Array::<f32>::zeros(&[bytes / 8])?.to_device(device)?;
    let mut dst = src.try_clone()?;
    let times = pair(gpu, runs, f, || dst.copy_from(&src))?;
    let mut row = bandwidth_row(device, op, shape.into(), times, bytes as f64);
    row.note = note.into();
    table.push(row);
    Ok(())
}

/// The array-op rows over `n` f32 (2^26: 256 MiB, far past L2): contiguous unary and binary
/// ops, a broadcast binary op, row and column sums (reads only: against a copy of as many
/// bytes, that is the read bandwidth) and a transpose copy, each allocating its result
/// (stream-ordered pool). Bytes counted: each element read and written once.
fn array_ops(device: &Device, gpu: &CudaDevice, n: usize, runs: Runs, table: &mut Table) {
    let side = (n as f64).sqrt() as usize; // 8192 for 2^26
    let (flat, matrix) = (n.to_string(), format!("{side}x{side}"));
    let m = side * side;
    let on = |shape: &[usize], seed| Array::<f32>::rand_uniform(shape, -1.0, 1.0, seed)?.to_device(device);
    table.attempt(("exp", &flat, "f32"), device, |t| {
        let x = on(&[n], 8)?;
        memory_bound(device, gpu, "exp", &flat, 8 * n, "contiguous", runs, t, || x.exp().map(drop))
    });
    table.attempt(("a + b", &flat, "f32"), device, |t| {
        let (a, b) = (on(&[n], 6)?, on(&[n], 7)?);
        memory_bound(device, gpu, "a + b", &flat, 12 * n, "contiguous", runs, t, || a.add(&b).map(drop))
    });
    table.attempt(("x - row", &matrix, "f32"), device, |t| {
        let x = on(&[side, side], 9)?;
        let row = x.mean(0, false)?;
        let note = "x minus a row (its mean over axis 0), broadcast";
        memory_bound(device, gpu, "x - row", &matrix, 8 * m, note, runs, t, || x.sub(&row).map(drop))
    });
    for axis in [0usize, 1] {
        let op = format!("sum(axis={axis})");
        table.attempt((&op, &matrix, "f32"), device, |t| {
            let x = on(&[side, side], 10 + axis as u64)?;
            let note = if axis == 0 { "columns; reads only" } else { "rows; reads only" };
            memory_bound(device, gpu, &op, &matrix, 4 * m, note, runs, t, || x.sum(axis, false).map(drop))
        });
    }
    table.attempt(("concatenate", &flat, "f32"), device, |t| {
        let (a, b) = (on(&[n / 2], 14)?, on(&[n / 2], 15)?);
        let note = "two halves joined along axis 0";
        memory_bound(device, gpu, "concatenate", &flat, 8 * n, note, runs, t, || {
            ferrite::concatenate(&[&a, &b], 0).map(drop)
        })
    });
    table.attempt(("index_select(axis=0)", &matrix, "f32"), device, |t| {
        let x = on(&[side, side], 16)?;
        // The rows in a fixed shuffled order (an odd stride modulo a power of two).
        let order: Vec<i64> = (0..side as i64).map(|i| (i * 40503 + 7) % side as i64).collect();
        let idx = Array::from_vec(order, &[side])?.to_device(device)?;
        let note = "rows in shuffled order";
        memory_bound(device, gpu, "index_select(axis=0)", &matrix, 8 * m, note, runs, t, || {
            x.index_select(0, &idx).map(drop)
        })
    });
    // Sorting moves more than the values (an LSD radix sort: about 5 passes over the f32 keys
    // and indices, see docs/performance.md); the copy of the values read and written once is
    // the floor, and `bench_baselines.py` adds `torch.sort`.
    let keys = n / 4; // 2^24 (2^14 quick: past the shared-memory sort of 2048)
    table.attempt(("sort", &keys.to_string(), "f32"), device, |t| {
        let x = on(&[keys], 17)?;
        memory_bound(device, gpu, "sort", &keys.to_string(), 8 * keys, "stable, one row", runs, t, || {
            x.sort(Some(0)).map(drop)
        })
    });
    table.attempt(("t().contiguous()", &matrix, "f32"), device, |t| {
        let x = on(&[side, side], 13)?;
        memory_bound(device, gpu, "t().contiguous()", &matrix, 8 * m, "transpose copy", runs, t, || {
            x.t().contiguous().map(drop)
        })
    });
}

fn sqrt_into(device: &Device, gpu: &CudaDevice, n: usize, runs: Runs, table: &mut Table) -> ferrite::Result<()> {
    let x = Array::<f32>::rand_uniform(&[n], 0.0, 100.0, 4)?.to_device(device)?;
    let (mut y, mut copy) = (x.try_clone()?, x.try_clone()?);
    let times = pair(gpu, runs, || x.sqrt_into(&mut y), || copy.copy_from(&x))?;
    table.push(bandwidth_row(device, "sqrt_into", n.to_string(), times, 8.0 * n as f64));
    Ok(())
}

fn softmax(
    device: &Device,
    gpu: &CudaDevice,
    rows: usize,
    cols: usize,
    runs: Runs,
    table: &mut Table,
) -> ferrite::Result<()> {
    let x = Array::<f32>::rand_normal(&[rows, cols], 0.0, 3.0, 3)?.to_device(device)?;
    let mut copy = x.try_clone()?;
    let times = pair(gpu, runs, || x.softmax().map(drop), || copy.copy_from(&x))?;
    let mut row = bandwidth_row(device, "softmax", format!("{rows}x{cols}"), times, 8.0 * (rows * cols) as f64);
    row.note = "last axis, allocates its result (stream-ordered pool)".into();
    table.push(row);
    Ok(())
}

/// `size³` matmul of `T` (`label` says which path: f32, tf32, bf16, f16) against cuBLAS with
/// the same inputs, output type and compute type.
fn matmul<T: ferrite::Float>(
    device: &Device,
    gpu: &CudaDevice,
    blas: Option<&Cublas>,
    size: usize,
    label: &str,
    runs: Runs,
    table: &mut Table,
) -> ferrite::Result<()> {
    product::<T>(device, gpu, blas, &[size, size], label, runs, table)
}

/// `a · b` for square matrices (or a batch of them) of `shape`, against cuBLAS.
fn product<T: ferrite::Float>(
    device: &Device,
    gpu: &CudaDevice,
    blas: Option<&Cublas>,
    shape: &[usize],
    label: &str,
    runs: Runs,
    table: &mut Table,
) -> ferrite::Result<()> {
    let on = |seed| Array::<f32>::rand_uniform(shape, -1.0, 1.0, seed)?.to_device(device)?.cast::<T>();
    let (a, b) = (on(1)?, on(2)?);
    let mut c = Array::<T>::zeros(shape)?.to_device(device)?;
    let tf32 = label == "tf32";
    let baseline = || blas.map_or(Ok(()), |blas| blas.matmul(&a, &b, &mut c, tf32));
    let (t, base) = pair(gpu, runs, || a.matmul(&b).map(drop), baseline)?;
    let size = shape[shape.len() - 1];
    let batch: usize = shape[..shape.len() - 2].iter().product();
    let flop = 2.0 * (batch * size * size * size) as f64;
    let name = if batch > 1 { format!("{batch}x{size}x{size}x{size}") } else { format!("{size}x{size}x{size}") };
    let mut row = Row::new("matmul", &name, label, device, t);
    if blas.is_some() {
        let call = if batch > 1 { "GemmStridedBatchedEx" } else { "GemmEx" };
        row.baseline = Some((format!("cuBLAS {call} ({label})"), base));
        row.achieved = Some((flop / t / 1e12, flop / base / 1e12, "TFLOP/s"));
        // A fast wrong kernel must not pass for a fast one: compare the two results.
        let (ours, theirs) = (a.matmul(&b)?.cast::<f32>()?.to_vec()?, c.cast::<f32>()?.to_vec()?);
        let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        // NaN-propagating maximum: `f32::max` would drop a NaN.
        let diff = ours
            .iter()
            .zip(&theirs)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, |m, d| if d > m || d.is_nan() { d } else { m });
        row.note = format!("limit: cuBLAS in this run; max |ferrite - cuBLAS| / max |cuBLAS| = {:.1e}", diff / scale);
    }
    table.push(row);
    Ok(())
}
