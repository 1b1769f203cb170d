//! CPU operations next to baselines run in the same process: matmul against calling `gemm`
//! (the engine behind it) directly, and softmax and `sqrt_into` against a copy of the same
//! bytes, the memory-bandwidth ceiling for both. With `--numpy`, NumPy takes its turn in the
//! same rounds (`numpy.rs`).

use super::measure::{Runs, rounds};
use super::numpy::Numpy;
use super::table::{Row, Table};
use ferrite::{Array, Device};
use rayon::prelude::*;
use std::hint::black_box;

pub fn run(quick: bool, numpy: &mut Option<Numpy>, table: &mut Table) -> ferrite::Result<()> {
    for (n, timed) in [(512, 150), (1024, 30), (2048, 20)] {
        matmul(n, Runs::new(timed, quick), numpy, table)?;
    }
    softmax(4096, 1000, Runs::new(50, quick), numpy, table)?;
    sqrt_into(10_000_000, Runs::new(50, quick), numpy, table)
}

/// NumPy's times for `calls` back-to-back calls of `op` on `shape`, if NumPy takes part; a
/// failure is reported and ends its part.
pub fn numpy_turn<'a>(
    numpy: &'a mut Option<Numpy>,
    op: &'a str,
    shape: &'a str,
) -> impl FnMut(usize) -> Option<Vec<f64>> + 'a {
    move |calls| {
        let t = numpy.as_mut()?.time(op, shape, calls);
        t.inspect_err(|e| {
            eprintln!("NumPy left the benchmark: {e}");
            *numpy = None;
        })
        .ok()
    }
}

fn matmul(n: usize, runs: Runs, numpy: &mut Option<Numpy>, table: &mut Table) -> ferrite::Result<()> {
    let a = Array::<f32>::rand_uniform(&[n, n], -1.0, 1.0, 1)?;
    let b = Array::<f32>::rand_uniform(&[n, n], -1.0, 1.0, 2)?;
    let (av, bv, mut c) = (a.to_vec()?, b.to_vec()?, vec![0.0f32; n * n]);
    let s = n as isize;
    let direct = || {
        // SAFETY: row-major n×n operands and destination, each `n * n` long.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                s,
                false,
                av.as_ptr(),
                1,
                s,
                bv.as_ptr(),
                1,
                s,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            )
        };
    };
    let shape = format!("{n}x{n}x{n}");
    let (t, base, np) =
        rounds(runs, || drop(black_box(a.matmul(&b).expect("matmul"))), direct, numpy_turn(numpy, "matmul", &shape));
    let flop = 2.0 * (n * n * n) as f64;
    let mut row = Row::new("matmul", &shape, "f32", &Device::Cpu, t);
    row.numpy = np;
    row.baseline = Some((format!("gemm::gemm, {} threads", rayon::current_num_threads()), base));
    row.achieved = Some((flop / t / 1e9, flop / base / 1e9, "GFLOP/s"));
    table.push(row);
    Ok(())
}

/// `dst = src` on every core, in the chunks `sqrt_into` uses.
fn copy(src: &[f32], dst: &mut [f32]) {
    let chunk = src.len().div_ceil(4 * rayon::current_num_threads()).max(1);
    dst.par_chunks_mut(chunk).zip(src.par_chunks(chunk)).for_each(|(d, s)| d.copy_from_slice(s));
}

/// A row for a memory-bound operation reading and writing `bytes` in all.
fn bandwidth_row(op: &str, shape: &str, (t, base, numpy): (f64, f64, Option<f64>), bytes: f64) -> Row {
    let mut row = Row::new(op, shape, "f32", &Device::Cpu, t);
    row.numpy = numpy;
    row.baseline = Some((format!("copy of the same bytes, {} threads", rayon::current_num_threads()), base));
    row.achieved = Some((bytes / t / 1e9, bytes / base / 1e9, "GB/s"));
    row
}

fn softmax(rows: usize, cols: usize, runs: Runs, numpy: &mut Option<Numpy>, table: &mut Table) -> ferrite::Result<()> {
    let x = Array::<f32>::rand_normal(&[rows, cols], 0.0, 3.0, 3)?;
    let (src, mut dst) = (x.to_vec()?, vec![0.0f32; rows * cols]);
    let shape = format!("{rows}x{cols}");
    let times = rounds(
        runs,
        || drop(black_box(x.softmax().expect("softmax"))),
        || copy(&src, &mut dst),
        numpy_turn(numpy, "softmax", &shape),
    );
    let mut row = bandwidth_row("softmax", &shape, times, 8.0 * (rows * cols) as f64);
    row.note = "last axis, allocates its result".into();
    table.push(row);
    Ok(())
}

fn sqrt_into(n: usize, runs: Runs, numpy: &mut Option<Numpy>, table: &mut Table) -> ferrite::Result<()> {
    let x = Array::<f32>::rand_uniform(&[n], 0.0, 100.0, 4)?;
    let mut y = Array::<f32>::zeros(&[n])?;
    let (src, mut dst) = (x.to_vec()?, vec![0.0f32; n]);
    let shape = n.to_string();
    let times = rounds(
        runs,
        || x.sqrt_into(&mut y).expect("sqrt_into"),
        || copy(&src, &mut dst),
        numpy_turn(numpy, "sqrt_into", &shape),
    );
    let mut row = bandwidth_row("sqrt_into", &shape, times, 8.0 * n as f64);
    row.note = "streaming stores: unlike the copy, no read of the destination first".into();
    table.push(row);
    Ok(())
}
