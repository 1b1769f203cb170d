//! CPU operations next to baselines run in the same process: matmul against calling `gemm`
//! (the engine behind it) directly, and softmax and `sqrt_into` against a copy of the same
//! bytes, the memory-bandwidth ceiling for both: a plain copy for softmax, a copy with
//! streaming stores for `sqrt_into`, which writes large outputs that way. With `--numpy`,
//! NumPy takes its turn in the same rounds (`numpy.rs`).

use super::measure::{Runs, rounds};
use super::numpy::Numpy;
use super::table::{Row, Table};
use ferrite::{Array, Device};
use rayon::prelude::*;
use std::hint::black_box;

/// Every CPU row; a row that fails records its error and the others still run.
pub fn run(quick: bool, numpy: &mut Option<Numpy>, table: &mut Table) {
    let cpu = Device::Cpu;
    for (n, timed) in [(512, 150), (1024, 30), (2048, 20)] {
        table.attempt(("matmul", &format!("{n}x{n}x{n}"), "f32"), &cpu, |t| {
            matmul(n, Runs::new(timed, quick), numpy, t)
        });
    }
    table.attempt(("softmax", "4096x1000", "f32"), &cpu, |t| softmax(4096, 1000, Runs::new(50, quick), numpy, t));
    table.attempt(("sqrt_into", "10000000", "f32"), &cpu, |t| sqrt_into(10_000_000, Runs::new(50, quick), numpy, t));
    array_ops(Runs::new(50, quick), numpy, table);
}

/// A streaming copy moving `bytes` in all (half read, half written), on every core: the
/// bandwidth ceiling of the memory-bound rows, measured in the same rounds as each.
struct CopyOf {
    src: Vec<f32>,
    dst: Vec<f32>,
}

impl CopyOf {
    fn new(bytes: usize) -> Self {
        let n = bytes / 8;
        CopyOf { src: (0..n).map(|i| i as f32).collect(), dst: vec![0.0; n] }
    }

    fn run(&mut self) {
        copy(&self.src, &mut self.dst, true)
    }
}

/// One memory-bound row: `f` (which moves `bytes` in all) against a streaming copy of as many
/// bytes and NumPy's `op` on `shape`.
#[allow(clippy::too_many_arguments)]
fn memory_bound(
    op: &str,
    shape: &str,
    bytes: usize,
    note: &str,
    runs: Runs,
    numpy: &mut Option<Numpy>,
    table: &mut Table,
    f: impl FnMut(),
) {
    let mut base = CopyOf::new(bytes);
    let times = rounds(runs, f, || base.run(), numpy_turn(numpy, op, shape));
    let mut row = bandwidth_row(op, shape, times, bytes as f64, "streaming copy");
    row.note = note.into();
    table.push(row);
}

/// The array-op rows: 1e7 f32 for the 1-D ones, 4096 × 2500 (1.024e7) for the 2-D ones. Each
/// allocates its result, as NumPy's expression does; bytes counted are those read and
/// written once each (the ideal), so the copy is their ceiling.
fn array_ops(runs: Runs, numpy: &mut Option<Numpy>, table: &mut Table) {
    let cpu = Device::Cpu;
    let n = 10_000_000;
    let (rows, cols) = (4096, 2500);
    let (flat, matrix) = (n.to_string(), format!("{rows}x{cols}"));
    let m = rows * cols;
    let f = 4; // bytes per f32
    table.attempt(("copy", &flat, "f32"), &cpu, |t| {
        let x = Array::<f32>::rand_uniform(&[n], -1.0, 1.0, 5)?;
        memory_bound("copy", &flat, 2 * f * n, "x.copy(): the copy rate with a fresh result", runs, numpy, t, || {
            drop(black_box(x.copy().expect("copy")))
        });
        Ok(())
    });
    table.attempt(("concatenate", &flat, "f32"), &cpu, |t| {
        let a = Array::<f32>::rand_uniform(&[n / 2], -1.0, 1.0, 14)?;
        let b = Array::<f32>::rand_uniform(&[n / 2], -1.0, 1.0, 15)?;
        let note = "two halves joined along axis 0 into a fresh result";
        memory_bound("concatenate", &flat, 2 * f * n, note, runs, numpy, t, || {
            drop(black_box(ferrite::concatenate(&[&a, &b], 0).expect("concatenate")))
        });
        Ok(())
    });
    table.attempt(("a + b", &flat, "f32"), &cpu, |t| {
        let a = Array::<f32>::rand_uniform(&[n], -1.0, 1.0, 6)?;
        let b = Array::<f32>::rand_uniform(&[n], -1.0, 1.0, 7)?;
        memory_bound("a + b", &flat, 3 * f * n, "contiguous", runs, numpy, t, || {
            drop(black_box((&a + &b).expect("add")))
        });
        Ok(())
    });
    table.attempt(("exp", &flat, "f32"), &cpu, |t| {
        let x = Array::<f32>::rand_uniform(&[n], -10.0, 10.0, 8)?;
        memory_bound("exp", &flat, 2 * f * n, "contiguous", runs, numpy, t, || drop(black_box(x.exp().expect("exp"))));
        Ok(())
    });
    table.attempt(("x - row", &matrix, "f32"), &cpu, |t| {
        let x = Array::<f32>::rand_uniform(&[rows, cols], -1.0, 1.0, 9)?;
        let mean = x.mean(0, false)?;
        let note = "x minus a row of 2500 (its mean over axis 0), broadcast";
        memory_bound("x - row", &matrix, 2 * f * m, note, runs, numpy, t, || {
            drop(black_box((&x - &mean).expect("sub")))
        });
        Ok(())
    });
    for axis in [0, 1] {
        let op = format!("sum(axis={axis})");
        table.attempt((&op, &matrix, "f32"), &cpu, |t| {
            let x = Array::<f32>::rand_uniform(&[rows, cols], -1.0, 1.0, 10 + axis as u64)?;
            let note = if axis == 0 { "columns: 2500 sums of 4096" } else { "rows: 4096 sums of 2500" };
            memory_bound(&op, &matrix, f * m, note, runs, numpy, t, || {
                drop(black_box(x.sum(axis, false).expect("sum")))
            });
            Ok(())
        });
    }
    table.attempt(("argmax(axis=1)", &matrix, "f32"), &cpu, |t| {
        let x = Array::<f32>::rand_uniform(&[rows, cols], -1.0, 1.0, 12)?;
        memory_bound("argmax(axis=1)", &matrix, f * m, "rows", runs, numpy, t, || {
            drop(black_box(x.argmax(Some(1), false).expect("argmax")))
        });
        Ok(())
    });
    table.attempt(("index_select(axis=0)", &matrix, "f32"), &cpu, |t| {
        let x = Array::<f32>::rand_uniform(&[rows, cols], -1.0, 1.0, 14)?;
        // A shuffle of the rows (NumPy's turn: `np.take(x, rng.permutation(4096), axis=0)`).
        let mut order: Vec<i64> = (0..rows as i64).collect();
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for i in (1..order.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            order.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let idx = Array::from_vec(order, &[rows])?;
        let note = "rows in shuffled order: np.take(x, perm, axis=0)";
        memory_bound("index_select(axis=0)", &matrix, 2 * f * m, note, runs, numpy, t, || {
            drop(black_box(x.index_select(0, &idx).expect("index_select")))
        });
        Ok(())
    });
    table.attempt(("argsort", &flat, "f32"), &cpu, |t| {
        let x = Array::<f32>::rand_uniform(&[n], -1.0, 1.0, 16)?;
        // Stable, against NumPy's default (unstable introsort, its fastest): bytes are the
        // values read once and the i64 indices written once, the floor no sort reaches.
        let note = "stable; NumPy's turn: np.argsort(x) (default kind, unstable)";
        memory_bound("argsort", &flat, (f + 8) * n, note, runs, numpy, t, || {
            drop(black_box(x.argsort(Some(0)).expect("argsort")))
        });
        Ok(())
    });
    table.attempt(("t().contiguous()", &matrix, "f32"), &cpu, |t| {
        let x = Array::<f32>::rand_uniform(&[rows, cols], -1.0, 1.0, 13)?;
        memory_bound("t().contiguous()", &matrix, 2 * f * m, "transpose copy", runs, numpy, t, || {
            drop(black_box(x.t().contiguous().expect("transpose")))
        });
        Ok(())
    });
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

/// The CPU's model name, from `/proc/cpuinfo` where there is one.
pub fn model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let name = info.lines().find_map(|l| l.strip_prefix("model name")?.split(':').nth(1).map(str::trim));
    name.unwrap_or("unknown CPU model").to_string()
}

/// `dst = src` on every core, in the chunks `sqrt_into` uses; with `streaming`, through
/// streaming stores (as `sqrt_into` writes large outputs: no read of the destination first).
fn copy(src: &[f32], dst: &mut [f32], streaming: bool) {
    let chunk = src.len().div_ceil(4 * rayon::current_num_threads()).max(1);
    dst.par_chunks_mut(chunk).zip(src.par_chunks(chunk)).for_each(|(d, s)| {
        #[cfg(target_arch = "x86_64")]
        if streaming && std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX was detected.
            return unsafe { copy_streaming(s, d) };
        }
        let _ = streaming;
        d.copy_from_slice(s)
    });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn copy_streaming(src: &[f32], dst: &mut [f32]) {
    use std::arch::x86_64::{_mm_sfence, _mm256_loadu_ps, _mm256_stream_ps};
    let n = src.len().min(dst.len());
    let head = dst.as_ptr().align_offset(32).min(n);
    let body = head + (n - head) / 8 * 8;
    dst[..head].copy_from_slice(&src[..head]);
    dst[body..n].copy_from_slice(&src[body..n]);
    for i in (head..body).step_by(8) {
        // SAFETY: `i + 8 <= n` elements of both; `dst + i` is 32-byte aligned.
        unsafe { _mm256_stream_ps(dst.as_mut_ptr().add(i), _mm256_loadu_ps(src.as_ptr().add(i))) };
    }
    _mm_sfence();
}

/// A row for a memory-bound operation reading and writing `bytes` in all.
fn bandwidth_row(op: &str, shape: &str, (t, base, numpy): (f64, f64, Option<f64>), bytes: f64, copy: &str) -> Row {
    let mut row = Row::new(op, shape, "f32", &Device::Cpu, t);
    row.numpy = numpy;
    row.baseline = Some((format!("{copy} of the same bytes, {} threads", rayon::current_num_threads()), base));
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
        || copy(&src, &mut dst, false),
        numpy_turn(numpy, "softmax", &shape),
    );
    let mut row = bandwidth_row("softmax", &shape, times, 8.0 * (rows * cols) as f64, "copy");
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
        || copy(&src, &mut dst, true),
        numpy_turn(numpy, "sqrt_into", &shape),
    );
    let mut row = bandwidth_row("sqrt_into", &shape, times, 8.0 * n as f64, "streaming copy");
    row.note = "streaming stores, as the copy's".into();
    table.push(row);
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Both copies, on lengths around the vector width and the per-thread chunking, into
    /// destinations poisoned first and starting off the 32-byte boundary.
    #[test]
    fn copies_copy_every_element() {
        for n in [1, 7, 8, 9, 33, 1000, 65_537] {
            for skip in [0, 1, 3] {
                for streaming in [false, true] {
                    let src: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
                    let mut dst = vec![f32::NAN; n + skip];
                    super::copy(&src, &mut dst[skip..], streaming);
                    assert!(dst[skip..] == src[..], "n {n}, skip {skip}, streaming {streaming}");
                    assert!(dst[..skip].iter().all(|v| v.is_nan()), "wrote before the destination");
                }
            }
        }
    }
}
