//! Typed arrays on every device: construction, transfers, the operations against f64
//! references, and every bad input as the exact error kind. Run with `cargo test --test
//! arrays`; each case runs on the CPU, the emulated CUDA device (sm_70, sm_80, sm_90a PTX)
//! and, when present, a real GPU.

mod common;

use common::arrays::{matmul_check, on, random};
use common::devices::{Case, CaseResult, run_with_cuda_only};
use ferrite::{Array, DType, Device, Element, Error, Float, bf16, f16, with_device};

fn main() {
    let cases: &[(&'static str, Case)] = &[
        ("roundtrip_every_dtype", roundtrip_every_dtype),
        ("constructors_and_scoped_default_device", constructors_and_scoped_default_device),
        ("to_device_copies_both_ways", to_device_copies_both_ways),
        ("random_is_seeded_and_the_same_on_every_device", random_is_seeded_and_the_same_on_every_device),
        ("reshape_keeps_data_and_rejects_other_sizes", reshape_keeps_data_and_rejects_other_sizes),
        ("sqrt_is_correctly_rounded_for_every_float_dtype", sqrt_is_correctly_rounded_for_every_float_dtype),
        ("matmul_matches_f64_reference", matmul_matches_f64_reference),
        ("matmul_follows_numpy_for_vectors", matmul_follows_numpy_for_vectors),
        ("matmul_rejects_incompatible_shapes", matmul_rejects_incompatible_shapes),
        ("softmax_matches_f64_reference", softmax_matches_f64_reference),
        ("softmax_rejects_0d", softmax_rejects_0d),
        ("operands_on_different_devices_are_an_error", operands_on_different_devices_are_an_error),
        ("empty_arrays_work", empty_arrays_work),
        ("cast_rounds_to_nearest_even", cast_rounds_to_nearest_even),
        ("display_reads_like_numpy", display_reads_like_numpy),
        ("from_vec_rejects_wrong_lengths", from_vec_rejects_wrong_lengths),
        ("results_agree_with_the_cpu", results_agree_with_the_cpu),
        ("copy_from_copies_within_and_across_devices", copy_from_copies_within_and_across_devices),
        ("sqrt_into_writes_out_and_rejects_bad_outputs", sqrt_into_writes_out_and_rejects_bad_outputs),
        ("views_take_in_place_scalar_ops_and_casts_without_a_copy", views_take_in_place_scalar_ops_and_casts_without_a_copy),
    ];
    let cuda_cases: &[(&'static str, Case)] =
        &[("the_ptx_interpreter_agrees_bit_for_bit", the_ptx_interpreter_agrees_bit_for_bit)];
    run_with_cuda_only(cases, cuda_cases)
}

/// The PTX interpreter's results against this device's, bit for bit (NaNs of any payload
/// alike), for the kernels whose PTX fixes the order of every operation: on a GPU, whether the
/// interpreter reads the PTX as the hardware does; on the emulator, whether the PTX computes
/// what the Rust source does.
fn the_ptx_interpreter_agrees_bit_for_bit(d: &Device) -> CaseResult {
    let interp = Device::emulated_cuda_with_launcher(9, 0, std::sync::Arc::new(common::interp::Interp))?;
    fn same<T: Float>(what: &str, x: Vec<T>, y: Vec<T>) -> CaseResult {
        ensure!(x.len() == y.len(), "{what}: lengths");
        let bad = x.iter().zip(&y).position(|(p, q)| {
            let (p, q) = (p.to_f64(), q.to_f64());
            p.to_bits() != q.to_bits() && !(p.is_nan() && q.is_nan())
        });
        ensure!(
            bad.is_none(),
            "{what}: element {} is {:?} on the device, {:?} on the interpreter",
            bad.unwrap(),
            x[bad.unwrap()],
            y[bad.unwrap()]
        );
        Ok(())
    }
    fn both<T: Element, U: Float>(
        d: &Device,
        i: &Device,
        what: &str,
        data: &[T],
        shape: &[usize],
        f: impl Fn(Array<T>) -> ferrite::Result<Array<U>>,
    ) -> CaseResult {
        let x = f(on(d, data.to_vec(), shape)?)?.to_vec()?;
        let y = f(on(i, data.to_vec(), shape)?)?.to_vec()?;
        same(what, x, y)
    }
    let mut f32s: Vec<f32> = random("agree bits f32", 100_003, -40.0, 1e4);
    f32s[..6].copy_from_slice(&[0.0, -0.0, -1.0, f32::INFINITY, f32::NAN, 1e-40]);
    let f64s: Vec<f64> = random("agree bits f64", 10_007, -40.0, 1e4);
    both(d, &interp, "sqrt f32", &f32s, &[f32s.len()], |a| a.sqrt())?;
    both(d, &interp, "sqrt f64", &f64s, &[f64s.len()], |a| a.sqrt())?;
    // Softmax: the shared-memory kernel (odd rows) and the one-pass kernel at 1, 4 and 8 groups.
    for (rows, cols) in [(3, 1001), (4, 1024), (2, 4100), (2, 16384)] {
        let x: Vec<f32> = random(&format!("agree softmax {rows}x{cols}"), rows * cols, -30.0, 30.0);
        both(d, &interp, &format!("softmax f32 {rows}x{cols}"), &x, &[rows, cols], |a| a.softmax())?;
    }
    for (rows, cols) in [(3, 1001), (2, 2048)] {
        let x: Vec<f64> = random(&format!("agree softmax f64 {rows}x{cols}"), rows * cols, -30.0, 30.0);
        both(d, &interp, &format!("softmax f64 {rows}x{cols}"), &x, &[rows, cols], |a| a.softmax())?;
    }
    // Matmul: the 64-tile kernel, the 128-tile SGEMM, f64.
    for (m, k, n) in [(65, 63, 129), (256, 64, 256)] {
        let a: Vec<f32> = random(&format!("agree mm a {m}"), m * k, -1.0, 1.0);
        let b = on(d, random::<f32>(&format!("agree mm b {m}"), k * n, -1.0, 1.0), &[k, n])?;
        let bi = on(&interp, b.to_vec()?, &[k, n])?;
        let x = on(d, a.clone(), &[m, k])?.matmul(&b)?.to_vec()?;
        let y = on(&interp, a, &[m, k])?.matmul(&bi)?.to_vec()?;
        same(&format!("matmul f32 {m}x{k}x{n}"), x, y)?;
    }
    let a: Vec<f64> = random("agree mm f64", 33 * 65, -1.0, 1.0);
    let b: Vec<f64> = random("agree mm f64 b", 65 * 17, -1.0, 1.0);
    let x = on(d, a.clone(), &[33, 65])?.matmul(&on(d, b.clone(), &[65, 17])?)?.to_vec()?;
    let y = on(&interp, a, &[33, 65])?.matmul(&on(&interp, b, &[65, 17])?)?.to_vec()?;
    same("matmul f64", x, y)?;
    // Casts.
    let n = f32s.len();
    both(d, &interp, "f32 -> f16", &f32s, &[n], |a| a.cast::<f16>())?;
    both(d, &interp, "f32 -> bf16", &f32s, &[n], |a| a.cast::<bf16>())?;
    both(d, &interp, "f32 -> f64", &f32s, &[n], |a| a.cast::<f64>())?;
    both(d, &interp, "f64 -> f32", &f64s, &[f64s.len()], |a| a.cast::<f32>())?;
    let halves: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
    both(d, &interp, "f16 -> f32", &halves, &[halves.len()], |a| a.cast::<f32>())?;
    both(d, &interp, "f16 -> bf16", &halves, &[halves.len()], |a| a.cast::<bf16>())?;
    let bhalves: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
    both(d, &interp, "bf16 -> f64", &bhalves, &[bhalves.len()], |a| a.cast::<f64>())?;
    Ok(())
}

fn roundtrip_every_dtype(d: &Device) -> CaseResult {
    fn check<T: Element>(d: &Device) -> CaseResult {
        for shape in [&[][..], &[0], &[1], &[7], &[3, 5], &[2, 3, 4]] {
            let n = shape.iter().product();
            let data: Vec<T> = random(&format!("roundtrip {}", T::DTYPE), n, -1000.0, 1000.0);
            let a = on(d, data.clone(), shape)?;
            ensure!(a.shape() == shape && a.dtype() == T::DTYPE && a.device() == *d, "metadata of {a:?}");
            ensure!(a.to_vec()? == data, "{} {shape:?} changed on the way", T::DTYPE);
        }
        Ok(())
    }
    check::<f32>(d)?;
    check::<f64>(d)?;
    check::<f16>(d)?;
    check::<bf16>(d)?;
    check::<i32>(d)?;
    check::<u32>(d)
}

fn constructors_and_scoped_default_device(d: &Device) -> CaseResult {
    ensure!(ferrite::default_device() == Device::Cpu, "the default device outside any scope is the CPU");
    let (z, o, f) = with_device(d, || -> ferrite::Result<_> {
        Ok((Array::<f32>::zeros(&[2, 3])?, Array::<f64>::ones(&[4])?, Array::full(&[2, 2], 7u32)?))
    })?;
    ensure!(z.device() == *d && o.device() == *d && f.device() == *d, "constructors inside the scope allocate on it");
    ensure!(z.to_vec()? == vec![0.0; 6] && o.to_vec()? == vec![1.0; 4] && f.to_vec()? == vec![7; 4], "values");
    // Scopes nest and unwind.
    with_device(d, || with_device(&Device::Cpu, ensure_cpu))?;
    ensure!(ferrite::default_device() == Device::Cpu, "the scope ended");
    // Operations inside a scope run where their operands live.
    let y = with_device(d, || Array::from_slice(&[4.0f32, 9.0], &[2])?.sqrt())?;
    ensure!(y.device() == *d && y.to_vec()? == vec![2.0, 3.0], "sqrt inside the scope");
    Ok(())
}

fn ensure_cpu() -> CaseResult {
    ensure!(ferrite::default_device() == Device::Cpu, "inner scope is the CPU");
    Ok(())
}

fn to_device_copies_both_ways(d: &Device) -> CaseResult {
    let data: Vec<f32> = random("to_device", 1031, -5.0, 5.0);
    let host = Array::from_vec(data.clone(), &[1031])?;
    let there = host.to_device(d)?;
    let copy = there.to_device(d)?;
    let back = copy.cpu()?;
    ensure!(there.device() == *d && copy.device() == *d && back.device() == Device::Cpu, "devices");
    ensure!(back.to_vec()? == data && there.try_clone()?.to_vec()? == data, "data survives every copy");
    Ok(())
}

fn random_is_seeded_and_the_same_on_every_device(d: &Device) -> CaseResult {
    let a = with_device(d, || Array::<f32>::rand_uniform(&[10_000], -2.0, 3.0, 42))?;
    let b = Array::<f32>::rand_uniform(&[10_000], -2.0, 3.0, 42)?;
    let c = Array::<f32>::rand_uniform(&[10_000], -2.0, 3.0, 43)?;
    let (av, cv) = (a.to_vec()?, c.to_vec()?);
    ensure!(a.device() == *d, "allocated in the scope");
    ensure!(av == b.to_vec()?, "same seed, same values, whatever the device");
    ensure!(av != cv, "another seed gives other values");
    ensure!(av.iter().all(|&v| (-2.0..3.0).contains(&v)), "uniform samples stay in [low, high)");
    let mean = av.iter().map(|&v| v as f64).sum::<f64>() / av.len() as f64;
    ensure!((mean - 0.5).abs() < 0.05, "uniform mean {mean} (expected 0.5 ± 0.05, 3.5 sigma)");
    let n = Array::<f64>::rand_normal(&[20_000], 1.0, 2.0, 7)?.to_vec()?;
    let mean = n.iter().sum::<f64>() / n.len() as f64;
    let std = (n.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.len() as f64).sqrt();
    ensure!((mean - 1.0).abs() < 0.05 && (std - 2.0).abs() < 0.05, "normal mean {mean} std {std}");
    let bad = Array::<f32>::rand_uniform(&[3], 1.0, 1.0, 0);
    ensure!(
        matches!(&bad, Err(Error::BadArgument { op: "rand_uniform", args, .. }) if args == &[("low", 1.0), ("high", 1.0)]),
        "an empty range is an error naming the values: {bad:?}"
    );
    Ok(())
}

fn reshape_keeps_data_and_rejects_other_sizes(d: &Device) -> CaseResult {
    let a = on(d, (0..24).collect::<Vec<i32>>(), &[2, 3, 4])?;
    let b = a.reshape(&[6, 4])?;
    ensure!(b.shape() == [6, 4] && b.to_vec()? == a.to_vec()? && b.device() == *d, "reshape");
    match a.reshape(&[5, 5]) {
        Err(Error::ShapeMismatch { op: "reshape", lhs, rhs, .. }) => {
            ensure!(lhs == [2, 3, 4] && rhs == [5, 5], "names both shapes")
        }
        other => return Err(format!("reshape to 25 elements gave {other:?}").into()),
    }
    Ok(())
}

fn sqrt_is_correctly_rounded_for_every_float_dtype(d: &Device) -> CaseResult {
    // Each dtype computes in a type with at least 2p + 2 bits, so the result is the correctly
    // rounded square root: the f64 square root rounded once to T.
    fn check<T: Float>(d: &Device) -> CaseResult {
        for shape in [&[][..], &[5], &[3, 7], &[1031]] {
            let n = shape.iter().product();
            let mut data: Vec<T> = random(&format!("sqrt {}", T::DTYPE), n, -1.0, 1e4);
            if n > 3 {
                data[0] = T::from_f64(-1.0);
                data[1] = T::from_f64(f64::INFINITY);
                data[2] = T::from_f64(0.0);
            }
            let y = on(d, data.clone(), shape)?.sqrt()?;
            ensure!(y.shape() == shape && y.device() == *d, "shape/device");
            for (x, v) in data.iter().zip(y.to_vec()?) {
                let want = T::from_f64(x.to_f64().sqrt());
                ensure!(
                    v == want || (v.to_f64().is_nan() && want.to_f64().is_nan()),
                    "{} sqrt({x}) = {v}, want {want}",
                    T::DTYPE
                );
            }
        }
        Ok(())
    }
    check::<f32>(d)?;
    check::<f64>(d)?;
    check::<f16>(d)?;
    check::<bf16>(d)
}

fn matmul_matches_f64_reference(d: &Device) -> CaseResult {
    for (m, k, n) in [(1, 1, 1), (7, 13, 5), (65, 33, 129), (3, 200, 2)] {
        matmul_check::<f32>(d, &[m, k], &[k, n], &[m, n])?;
        matmul_check::<f64>(d, &[m, k], &[k, n], &[m, n])?;
    }
    matmul_check::<f16>(d, &[9, 17], &[17, 4], &[9, 4])?;
    matmul_check::<bf16>(d, &[9, 17], &[17, 4], &[9, 4])?;
    // Leading dimensions of the left operand are rows: (2, 3, 5) @ (5, 4) -> (2, 3, 4).
    matmul_check::<f32>(d, &[2, 3, 5], &[5, 4], &[2, 3, 4])
}

fn matmul_follows_numpy_for_vectors(d: &Device) -> CaseResult {
    matmul_check::<f32>(d, &[6], &[6, 3], &[3])?;
    matmul_check::<f32>(d, &[4, 6], &[6], &[4])?;
    matmul_check::<f64>(d, &[6], &[6], &[])
}

fn matmul_rejects_incompatible_shapes(d: &Device) -> CaseResult {
    let a = on(d, vec![0f32; 6], &[2, 3])?;
    let b = on(d, vec![0f32; 20], &[4, 5])?;
    match a.matmul(&b) {
        Err(e @ Error::ShapeMismatch { op: "matmul", .. }) => {
            let msg = e.to_string();
            ensure!(msg.contains("[2, 3]") && msg.contains("[4, 5]") && msg.contains("3 != 4"), "message: {msg}");
        }
        other => return Err(format!("2x3 @ 4x5 gave {other:?}").into()),
    }
    let s = on(d, vec![1f32], &[])?;
    ensure!(matches!(s.matmul(&a), Err(Error::ShapeMismatch { .. })), "0-d left operand");
    ensure!(matches!(a.matmul(&s), Err(Error::ShapeMismatch { .. })), "0-d right operand");
    let (x, y) = (on(d, vec![0f32; 24], &[2, 3, 4])?, on(d, vec![0f32; 60], &[3, 4, 5])?);
    ensure!(matches!(x.matmul(&y), Err(Error::ShapeMismatch { .. })), "batches 2 and 3 do not broadcast");
    Ok(())
}

fn softmax_matches_f64_reference(d: &Device) -> CaseResult {
    fn check<T: Float>(d: &Device, shape: &[usize]) -> CaseResult {
        let n: usize = shape.iter().product();
        let cols = *shape.last().unwrap();
        let x: Vec<T> = random(&format!("softmax {} {shape:?}", T::DTYPE), n, -30.0, 30.0);
        let y = on(d, x.clone(), shape)?.softmax()?;
        ensure!(y.shape() == shape, "shape");
        let got = y.to_vec()?;
        let u = match T::DTYPE {
            DType::F64 => f64::EPSILON / 2.0,
            DType::F32 => f32::EPSILON as f64 / 2.0,
            DType::F16 => 2f64.powi(-11),
            _ => 2f64.powi(-8),
        };
        for (r, row) in x.chunks(cols).enumerate() {
            let m = row.iter().map(|v| v.to_f64()).fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = row.iter().map(|v| (v.to_f64() - m).exp()).sum();
            for (i, v) in row.iter().enumerate() {
                let want = (v.to_f64() - m).exp() / s;
                let g = got[r * cols + i].to_f64();
                // The bound of tests/kernels_softmax.rs in the compute type (f32 for 16-bit
                // types, whose final rounding adds one u of the storage type).
                let cu = if T::DTYPE == DType::F64 { u } else { f32::EPSILON as f64 / 2.0 };
                // Outputs below the storage type's normal range round to its subnormal grid.
                let tiny = match T::DTYPE {
                    DType::F16 => 2f64.powi(-24),
                    _ => 1e-30,
                };
                let tol = (cu * ((v.to_f64() - m).abs() + 2.0 * cols as f64 + 16.0) + u) * want + tiny;
                ensure!((g - want).abs() <= tol, "{} softmax {shape:?} [{r}][{i}] = {g}, want {want}", T::DTYPE);
            }
        }
        Ok(())
    }
    for shape in [&[1][..], &[7], &[3, 1], &[4, 33], &[2, 3, 257]] {
        check::<f32>(d, shape)?;
        check::<f64>(d, shape)?;
    }
    check::<bf16>(d, &[5, 40])?;
    check::<f16>(d, &[5, 40])
}

fn softmax_rejects_0d(d: &Device) -> CaseResult {
    match on(d, vec![1.0f32], &[])?.softmax() {
        Err(Error::BadShape { op: "softmax", shape, .. }) => ensure!(shape.is_empty(), "names the shape"),
        other => return Err(format!("softmax of a 0-d array gave {other:?}").into()),
    }
    Ok(())
}

fn operands_on_different_devices_are_an_error(d: &Device) -> CaseResult {
    // Pair the device under test with one that is surely different.
    let other = if d.is_cuda() { Device::Cpu } else { Device::emulated_cuda(8, 0)? };
    let a = on(d, vec![1.0f32; 4], &[2, 2])?;
    let b = on(&other, vec![1.0f32; 4], &[2, 2])?;
    match a.matmul(&b) {
        Err(e @ Error::DeviceMismatch { op: "matmul", .. }) => {
            let msg = e.to_string();
            ensure!(msg.contains(&d.to_string()) && msg.contains(&other.to_string()), "names both devices: {msg}");
        }
        other => return Err(format!("matmul across devices gave {other:?}").into()),
    }
    Ok(())
}

fn empty_arrays_work(d: &Device) -> CaseResult {
    let e = on(d, Vec::<f32>::new(), &[0])?;
    ensure!(e.sqrt()?.shape() == [0], "sqrt of []");
    let a = on(d, Vec::<f32>::new(), &[0, 3])?;
    let b = on(d, vec![1.0f32; 12], &[3, 4])?;
    ensure!(a.matmul(&b)?.shape() == [0, 4], "(0, 3) @ (3, 4)");
    let z = on(d, Vec::<f64>::new(), &[3, 0])?;
    let k0 = on(d, Vec::<f64>::new(), &[0, 2])?;
    ensure!(z.matmul(&k0)?.to_vec()? == vec![0.0; 6], "(3, 0) @ (0, 2) is zeros");
    ensure!(z.softmax()?.shape() == [3, 0], "softmax of (3, 0)");
    Ok(())
}

fn cast_rounds_to_nearest_even(d: &Device) -> CaseResult {
    let x: Vec<f64> = random("cast", 4099, -7e4, 7e4);
    let a = on(d, x.clone(), &[4099])?;
    let h = a.cast::<f16>()?;
    let b = a.cast::<bf16>()?;
    let f = a.cast::<f32>()?;
    ensure!(h.dtype() == DType::F16 && h.device() == *d, "metadata");
    let (hv, bv) = (h.to_vec()?, b.to_vec()?);
    for (i, &v) in x.iter().enumerate() {
        let want_h = nearest(v, |b| f16::from_bits(b).to_f64(), f16::from_f32(v as f32).to_bits());
        let want_b = nearest(v, |b| bf16::from_bits(b).to_f64(), bf16::from_f32(v as f32).to_bits());
        ensure!(hv[i].to_bits() == want_h, "f64 {v} -> f16 gave {}, want {}", hv[i], f16::from_bits(want_h));
        ensure!(bv[i].to_bits() == want_b, "f64 {v} -> bf16 gave {}, want {}", bv[i], bf16::from_bits(want_b));
    }
    ensure!(f.to_vec()? == x.iter().map(|&v| v as f32).collect::<Vec<_>>(), "f64 -> f32");
    let back = h.cast::<f32>()?.to_vec()?;
    ensure!(back.iter().zip(h.to_vec()?).all(|(b, h)| *b == h.to_f32() || b.is_nan()), "f16 -> f32 is exact");
    let labels = on(d, vec![3i32, -1, 7], &[3])?;
    ensure!(labels.cast::<f32>()?.to_vec()? == vec![3.0, -1.0, 7.0], "int -> float");
    Ok(())
}

/// The correctly rounded 16-bit pattern for `v`. `half`'s f32 conversion is a guess off by
/// at most one step (rounding twice, through f32); the nearest of it and its neighbours wins,
/// ties to the even pattern, with infinity standing one step above the largest finite value
/// (IEEE's overflow rule).
fn nearest(v: f64, value: fn(u16) -> f64, guess: u16) -> u16 {
    let (sign, mag) = (guess & 0x8000, guess & 0x7fff);
    let inf = (0..0x7fffu16).find(|&m| value(m).is_infinite()).unwrap();
    let place = |m: u16| if m == inf { 2.0 * value(inf - 1) - value(inf - 2) } else { value(m) };
    let best = [mag.saturating_sub(1), mag, (mag + 1).min(inf)]
        .into_iter()
        .min_by(|&a, &b| (place(a) - v.abs()).abs().total_cmp(&(place(b) - v.abs()).abs()).then((a & 1).cmp(&(b & 1))))
        .unwrap();
    sign | best
}

fn display_reads_like_numpy(d: &Device) -> CaseResult {
    let y = on(d, vec![1.0f32, 2.0, 3.0, 4.0, 5.0], &[5])?.sqrt()?;
    ensure!(y.to_string() == "[1, 1.4142135, 1.7320508, 2, 2.236068]", "1-D: {y}");
    let m = on(d, (1..=6).collect::<Vec<i32>>(), &[2, 3])?;
    ensure!(m.to_string() == "[[1, 2, 3],\n [4, 5, 6]]", "2-D: {m}");
    let t = on(d, (1..=8).collect::<Vec<u32>>(), &[2, 2, 2])?;
    ensure!(t.to_string() == "[[[1, 2],\n  [3, 4]],\n\n [[5, 6],\n  [7, 8]]]", "3-D: {t}");
    let s = on(d, vec![2.5f64], &[])?;
    ensure!(s.to_string() == "2.5", "0-d: {s}");
    let long = on(d, (0..2000).collect::<Vec<i32>>(), &[2000])?;
    ensure!(long.to_string() == "[0, 1, 2, ..., 1997, 1998, 1999]", "summarised: {long}");
    let nan = on(d, vec![f32::NAN, f32::INFINITY], &[2])?;
    ensure!(nan.to_string() == "[nan, inf]", "specials: {nan}");
    // Two or more dimensions: aligned columns, integer parts right-aligned, points lined up.
    let cols = on(d, vec![1.5f32, -2.0, 10.0, 0.25, 3.0, 100.0], &[2, 3])?;
    ensure!(cols.to_string() == "[[  1.5 ,  -2   ,  10   ],\n [  0.25,   3   , 100   ]]", "aligned:\n{cols}");
    let big = on(d, (0..1600).collect::<Vec<i32>>(), &[40, 40])?;
    let text = big.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let want = ["[[   0,    1,    2, ...,   37,   38,   39],", " ...,", " [1560, 1561, 1562, ..., 1597, 1598, 1599]]"];
    ensure!(lines.len() == 7 && [lines[0], lines[3], lines[6]] == want, "summarised 2-D:\n{text}");
    let text = big.t().to_string(); // a view prints its own elements
    ensure!(text.starts_with("[[   0,   40,   80, ..., 1480, 1520, 1560],\n [   1,   41,"), "transposed:\n{text}");
    let empty = on(d, Vec::<f32>::new(), &[usize::MAX, 0])?;
    ensure!(empty.to_string() == "[]" && on(d, Vec::<u8>::new(), &[0, 3, 2])?.to_string() == "[]", "empty: {empty}");
    let debug = format!("{:?}", big.t());
    let want = format!("Array {{ shape: [40, 40], dtype: int32, strides: [1, 40], device: {d} }}");
    ensure!(debug == want, "Debug: {debug}, want {want}");
    ensure!(
        format!("{empty:?}").starts_with("Array { shape: [18446744073709551615, 0], dtype: float32, device"),
        "{empty:?}"
    );
    Ok(())
}

fn from_vec_rejects_wrong_lengths(d: &Device) -> CaseResult {
    match Array::from_vec_on(vec![1.0f32; 5], &[2, 3], d) {
        Err(Error::DataLength { len: 5, shape, expected: 6 }) => ensure!(shape == [2, 3], "names the shape"),
        other => return Err(format!("5 values for a 2x3 array gave {other:?}").into()),
    }
    let huge = Array::from_vec_on(Vec::<f32>::new(), &[usize::MAX, 2], d);
    ensure!(matches!(huge, Err(Error::BadShape { .. })), "overflowing shape: {huge:?}");
    Ok(())
}

fn results_agree_with_the_cpu(d: &Device) -> CaseResult {
    let a: Vec<f32> = random("agree a", 37 * 53, -1.0, 1.0);
    let b: Vec<f32> = random("agree b", 53 * 29, -1.0, 1.0);
    let (ca, cb) = (Array::from_vec(a.clone(), &[37, 53])?, Array::from_vec(b.clone(), &[53, 29])?);
    let (da, db) = (on(d, a, &[37, 53])?, on(d, b, &[53, 29])?);
    let close =
        |x: Vec<f32>, y: Vec<f32>, tol: f32| x.iter().zip(&y).all(|(p, q)| (p - q).abs() <= tol * (1.0 + q.abs()));
    // Summation order differs between the tiled kernel and gemm: allow the k·u bound.
    ensure!(close(da.matmul(&db)?.to_vec()?, ca.matmul(&cb)?.to_vec()?, 53.0 * 6e-8 * 2.0), "matmul");
    ensure!(close(da.softmax()?.to_vec()?, ca.softmax()?.to_vec()?, 1e-5), "softmax");
    let (ds, cs) = (da.sqrt()?.to_vec()?, ca.sqrt()?.to_vec()?);
    ensure!(
        ds.iter().zip(&cs).all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())),
        "sqrt is bit-identical"
    );
    Ok(())
}

fn sqrt_into_writes_out_and_rejects_bad_outputs(d: &Device) -> CaseResult {
    fn check<T: Float>(d: &Device, n: usize) -> CaseResult {
        let x: Vec<T> = random(&format!("sqrt_into {}", T::DTYPE), n, -1.0, 1e4);
        let a = on(d, x, &[n])?;
        let mut out = on(d, vec![T::from_f64(7.0); n], &[n])?;
        a.sqrt_into(&mut out)?;
        ensure!(out.shape() == [n] && out.device() == *d, "metadata of {out:?}");
        let (got, want) = (out.to_vec()?, a.sqrt()?.to_vec()?);
        let same =
            |p: &T, q: &T| p.to_f64().to_bits() == q.to_f64().to_bits() || (p.to_f64().is_nan() && q.to_f64().is_nan());
        ensure!(got.iter().zip(&want).all(|(p, q)| same(p, q)), "{} sqrt_into of {n} differs from sqrt", T::DTYPE);
        Ok(())
    }
    // On the CPU: past the parallel threshold (ragged last chunk), then past the streaming-store
    // one for each type (with scalar ends); smaller on the emulator.
    let sizes: &[usize] = if d.is_cuda() { &[1031] } else { &[300_007, 1_100_007] };
    for &n in sizes {
        check::<f32>(d, n)?;
    }
    check::<f64>(d, if d.is_cuda() { 33 } else { 600_001 })?;
    check::<f16>(d, 33)?;
    check::<bf16>(d, 33)?;
    check::<f32>(d, 0)?;

    let a = on(d, vec![4.0f32; 6], &[2, 3])?;
    let mut wrong = on(d, vec![0.0f32; 6], &[3, 2])?;
    match a.sqrt_into(&mut wrong) {
        Err(Error::ShapeMismatch { op: "sqrt_into", lhs, rhs, .. }) => {
            ensure!(lhs == [2, 3] && rhs == [3, 2], "names both shapes: {lhs:?}, {rhs:?}")
        }
        other => return Err(format!("sqrt_into a (3, 2) out from (2, 3) gave {other:?}").into()),
    }
    ensure!(wrong.to_vec()? == vec![0.0; 6], "a rejected out is left alone");
    let other = if d.is_cuda() { Device::Cpu } else { Device::emulated_cuda(8, 0)? };
    let mut elsewhere = on(&other, vec![0.0f32; 6], &[2, 3])?;
    match a.sqrt_into(&mut elsewhere) {
        Err(e @ Error::DeviceMismatch { op: "sqrt_into", .. }) => {
            let msg = e.to_string();
            ensure!(msg.contains(&d.to_string()) && msg.contains(&other.to_string()), "names both devices: {msg}");
        }
        other => return Err(format!("sqrt_into across devices gave {other:?}").into()),
    }
    Ok(())
}

fn copy_from_copies_within_and_across_devices(d: &Device) -> CaseResult {
    let data: Vec<f32> = random("copy_from", 1031, -3.0, 3.0);
    let src = on(d, data.clone(), &[1031])?;
    let mut here = on(d, vec![0.0f32; 1031], &[1031])?;
    here.copy_from(&src)?;
    ensure!(here.to_vec()? == data && here.device() == *d, "same device");
    let mut host = Array::from_vec(vec![0.0f32; 1031], &[1031])?;
    host.copy_from(&src)?;
    ensure!(host.to_vec()? == data, "to the CPU");
    let mut back = on(d, vec![0.0f32; 1031], &[1031])?;
    back.copy_from(&host)?;
    ensure!(back.to_vec()? == data, "from the CPU");
    let mut wrong = on(d, vec![0.0f32; 1030], &[1030])?;
    match wrong.copy_from(&src) {
        Err(Error::ShapeMismatch { op: "copy_from", lhs, rhs, .. }) => {
            ensure!(lhs == [1031] && rhs == [1030], "names both shapes: the source, then the destination")
        }
        other => return Err(format!("copying 1031 elements into 1030 gave {other:?}").into()),
    }
    Ok(())
}

/// The paths that work on a view where they once copied it: `+=` into an owned transposed view
/// (the CPU's in-place walk with a strided left operand) and into a large array with a
/// broadcast right operand (its parallel rows), a scalar op and a comparison on a transposed
/// view (on CUDA: the strided kernel with a 0-d scalar), and a cast of a transposed view (on
/// the CPU: one walk). Values are small integers, so every result is exact; the expectations
/// are plain loops over the same numbers.
fn views_take_in_place_scalar_ops_and_casts_without_a_copy(d: &Device) -> CaseResult {
    let (m, n) = (37usize, 41usize);
    let v: Vec<f32> = (0..m * n).map(|i| (i % 97) as f32).collect();
    let w: Vec<f32> = (0..m * n).map(|i| (i % 13) as f32 - 6.0).collect();
    // x_t[i][j] = v[j * n + i], an [n, m] view whose storage nothing else holds.
    let mut xt = Array::from_vec_on(v.clone(), &[m, n], d)?.t();
    let y = Array::from_vec_on(w.clone(), &[n, m], d)?;
    xt.add_assign(&y)?;
    let want: Vec<f32> = (0..n * m).map(|k| v[(k % m) * n + k / m] + w[k]).collect();
    ensure!(xt.to_vec()? == want, "x.t() += y");
    let (r, c) = (256usize, 257usize);
    let big: Vec<f32> = (0..r * c).map(|i| (i % 101) as f32).collect();
    let row: Vec<f32> = (0..c).map(|j| j as f32 - 100.0).collect();
    let mut z = Array::from_vec_on(big.clone(), &[r, c], d)?;
    z.sub_assign(&Array::from_vec_on(row.clone(), &[c], d)?)?;
    ensure!(z.to_vec()? == (0..r * c).map(|k| big[k] - row[k % c]).collect::<Vec<_>>(), "[256, 257] -= row");
    let x = Array::from_vec_on(v.clone(), &[m, n], d)?;
    let t: Vec<f32> = (0..n * m).map(|k| v[(k % m) * n + k / m]).collect();
    ensure!(x.t().add_scalar(2.0)?.to_vec()? == t.iter().map(|a| a + 2.0).collect::<Vec<_>>(), "x.t() + 2");
    ensure!(x.t().rsub_scalar(1.0)?.to_vec()? == t.iter().map(|a| 1.0 - a).collect::<Vec<_>>(), "1 - x.t()");
    ensure!(x.t().lt_scalar(48.0)?.to_vec()? == t.iter().map(|&a| a < 48.0).collect::<Vec<_>>(), "x.t() < 48");
    ensure!(x.t().cast::<f64>()?.to_vec()? == t.iter().map(|&a| a as f64).collect::<Vec<_>>(), "x.t() as f64");
    ensure!(x.t().cast::<i32>()?.to_vec()? == t.iter().map(|&a| a as i32).collect::<Vec<_>>(), "x.t() as i32");
    Ok(())
}
