//! One representative launch per kernel entry (or a few, for entries that take an op code: one
//! per op), the way the host launches it (the kernel module's own config, the emulated
//! device's 128-block grid-stride grids), with deterministic inputs; each runs on the emulator
//! and on each distinct PTX body of the entry. The op families' cases are generated in
//! `families.rs`.

use super::common::interp::{args_of, param, pointer, same_results};
use super::common::max_threads;
use ferrite::DType;
use kernels_gpu::emu::{DeviceBuffer, EmuError, Limits, allocation_containing, launch_kernel_with};
use kernels_gpu::nn::activation::{RELU, SIGMOID, SOFTMAX};
use kernels_gpu::nn::{dense, loss, optim};
use kernels_gpu::prelude::{BF16, F16};
use kernels_gpu::{Kernel, KernelArgs, KernelInfo, LaunchConfig, PtxParam};
use kernels_gpu::{elementwise, matmul, sgemm, softmax, tensor_core, wgmma_matmul};
use ptx_interp::{LaunchOptions, LaunchStats, Module, ParamValue};
use std::collections::HashMap;

/// Grid-stride kernels get the emulated device's grid: 4 multiprocessors × 32 blocks.
pub const BLOCKS: u32 = 128;

/// Buffers and arguments of one launch, and the emulator's run of it.
pub struct Setup {
    /// What distinguishes the launch among its case's (the op, the mode), for messages.
    pub label: String,
    cfg: LaunchConfig,
    buffers: Vec<DeviceBuffer<u8>>,
    args: Vec<(PtxParam, Vec<u8>)>,
    emulate: Box<dyn Fn() -> Result<(), EmuError>>,
    /// Judges the emulator's buffers after the launch against a host reference of its own
    /// (`reference.rs`), if the launch has one.
    verify: Option<RefCheck>,
}

/// Every buffer of a launch, after it.
type Buffers = Vec<Vec<u8>>;

/// Judges every buffer after a launch against a host reference.
pub type RefCheck = Box<dyn Fn(&[Vec<u8>]) -> Result<(), String>>;
type DenseFwd<T> = Kernel<(*const T, *const u32, u32, *const T, *mut T, u32, u32, u32, u32)>;
type DenseBwdIn<T> = Kernel<(*const T, *const T, *const T, *mut T, u32, u32, u32, u32)>;
type DenseBwdP<T> = Kernel<(*const T, *const u32, u32, *const T, *mut T, u32, u32, u32)>;
type Adam<T> = Kernel<(*mut T, *const T, *mut T, *mut T, u64, T, T, T, T)>;

/// How the interpreter's results are judged.
enum Check {
    /// Bit for bit against the emulator (NaN payloads aside).
    Exact,
    /// Against an f64 reference with the kernel's error bound (tensor cores: the ISA leaves
    /// the accumulation order open), given every buffer after the launch.
    Reference(RefCheck),
}

pub struct Case {
    info: KernelInfo,
    shape: String,
    /// The op family the entry belongs to (`unary`, `cast`, ...), for the report's grouping.
    family: Option<&'static str>,
    max_shared: u32,
    /// The case's launches, each with fresh buffers.
    make: Box<dyn Fn() -> Vec<Setup>>,
    check: Check,
}

/// A row of the memory-access report: one entry, the variants sharing its code.
pub struct Row {
    pub kernel: &'static str,
    pub family: Option<&'static str>,
    pub variants: Vec<&'static str>,
    pub shape: String,
    pub stats: LaunchStats,
    /// `(PTX line, instruction)` by instruction index, for naming the worst accesses.
    pub source: HashMap<u32, (u32, String)>,
}

pub struct Outcome {
    pub covered: Vec<(&'static str, &'static str)>,
    pub rows: Vec<Row>,
}

pub fn bytes_of<T: Copy>(v: &[T]) -> Vec<u8> {
    // SAFETY: plain old data viewed as bytes.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }.to_vec()
}

fn snapshot(b: &[DeviceBuffer<u8>]) -> Vec<Vec<u8>> {
    b.iter().map(|b| b.to_vec()).collect()
}

impl Case {
    pub fn name(&self) -> &'static str {
        self.info.name
    }

    /// The case, as one of op family `family`'s.
    pub fn in_family(mut self, family: &'static str) -> Case {
        self.family = Some(family);
        self
    }

    /// Every launch on `module`: the buffers after each, and the statistics of all together.
    fn interp(&self, module: &Module, stats: bool) -> Result<(Vec<Buffers>, Option<LaunchStats>), String> {
        let k = module.kernel(self.info.name).ok_or_else(|| format!("no entry {}", self.info.name))?;
        let opts = LaunchOptions { max_shared_bytes: self.max_shared, stats, ..LaunchOptions::default() };
        let mut all: Option<LaunchStats> = None;
        let mut out = Vec::new();
        for s in (self.make)() {
            let params: Vec<ParamValue> = s.args.iter().map(|(kind, v)| param(*kind, v)).collect();
            let st = ptx_interp::launch(k, &s.cfg, &params, &opts).map_err(|e| label(&s.label, e.to_string()))?;
            if let Some(st) = st {
                all.get_or_insert_with(LaunchStats::default).merge(&st);
            }
            out.push(snapshot(&s.buffers));
        }
        Ok((out, all))
    }

    fn emulator(&self) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for s in (self.make)() {
            (s.emulate)()
                .unwrap_or_else(|e| panic!("{} fails on the emulator: {}", self.info.name, label(&s.label, e)));
            let after = snapshot(&s.buffers);
            if let Some(verify) = &s.verify {
                verify(&after).unwrap_or_else(|e| panic!("{} on the emulator: {}", self.info.name, label(&s.label, e)));
            }
            out.push(after);
        }
        if let Check::Reference(f) = &self.check {
            for o in &out {
                f(o).unwrap_or_else(|e| panic!("{} on the emulator: {e}", self.info.name));
            }
        }
        out
    }

    fn judge(&self, emulated: &[Vec<Vec<u8>>], ptx: &[Vec<Vec<u8>>]) -> Result<(), String> {
        let labels: Vec<String> = (self.make)().into_iter().map(|s| s.label).collect();
        for ((e, p), l) in emulated.iter().zip(ptx).zip(&labels) {
            match &self.check {
                Check::Exact => {
                    let wrap = |v: &[Vec<u8>]| v.iter().cloned().map(Some).collect::<Vec<_>>();
                    same_results(self.info.name, &wrap(e), &wrap(p)).map_err(|m| label(l, m))?
                }
                Check::Reference(f) => f(p).map_err(|m| label(l, m))?,
            }
        }
        Ok(())
    }

    /// Runs on the emulator and on `module`: `Err` if the interpreter fails or disagrees.
    pub fn check_module(&self, _arch: &str, module: &Module) -> Result<(), String> {
        let emulated = self.emulator();
        let (ptx, _) = self.interp(module, false)?;
        self.judge(&emulated, &ptx)
    }

    /// Runs on the emulator and on every distinct body of the entry among `modules`, with
    /// statistics; panics on any failure or disagreement.
    pub fn run(&self, modules: &'static [(&'static str, Module)]) -> Outcome {
        let emulated = self.emulator();
        let mut out = Outcome { covered: Vec::new(), rows: Vec::new() };
        let mut seen: HashMap<u64, usize> = HashMap::new();
        for (arch, m) in modules {
            let Some(k) = m.kernel(self.info.name) else { continue };
            out.covered.push((arch, self.info.name));
            if let Some(&row) = seen.get(&k.body_hash) {
                out.rows[row].variants.push(arch);
                continue;
            }
            let (ptx, stats) =
                self.interp(m, true).unwrap_or_else(|e| panic!("{} on the {arch} PTX: {e}", self.info.name));
            self.judge(&emulated, &ptx).unwrap_or_else(|e| panic!("{} on the {arch} PTX: {e}", self.info.name));
            let stats = stats.expect("statistics were asked for");
            let source = stats
                .global
                .keys()
                .chain(stats.shared.keys())
                .map(|&pc| (pc, (k.code[pc as usize].line, k.source[pc as usize].clone())))
                .collect();
            seen.insert(k.body_hash, out.rows.len());
            out.rows.push(Row {
                kernel: self.info.name,
                family: self.family,
                variants: vec![arch],
                shape: self.shape.clone(),
                stats,
                source,
            });
        }
        out
    }
}

/// `message`, prefixed with the launch's label if it has one.
fn label(l: &str, message: impl std::fmt::Display) -> String {
    if l.is_empty() { message.to_string() } else { format!("{l}: {message}") }
}

/// A launch of `k` with `args`, its buffers kept alive.
pub fn setup<A: KernelArgs + 'static>(
    k: Kernel<A>,
    cfg: LaunchConfig,
    max_shared: u32,
    buffers: Vec<DeviceBuffer<u8>>,
    args: A,
) -> Setup {
    let limits = Limits { max_shared_bytes: max_shared, ..Limits::default() };
    let values = args_of(&args);
    for (kind, v) in &values {
        let p = pointer(*kind, v);
        assert!(p.is_none_or(|p| p == 0 || allocation_containing(p as usize).is_some()));
    }
    Setup {
        label: String::new(),
        cfg,
        buffers,
        args: values,
        emulate: Box::new(move || unsafe { launch_kernel_with(&k, &cfg, &limits, args) }),
        verify: None,
    }
}

impl Setup {
    pub fn labelled(mut self, label: String) -> Setup {
        self.label = label;
        self
    }

    /// The launch, its results judged by `f` (given every buffer after the launch) as well.
    pub fn verified(mut self, f: impl Fn(&[Vec<u8>]) -> Result<(), String> + 'static) -> Setup {
        self.verify = Some(Box::new(f));
        self
    }
}

/// Deterministic pseudo-random values in `[lo, hi)`.
pub fn vals(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

/// Element types the cases use, made from f64.
trait Elem: Copy + 'static {
    fn of(x: f64) -> Self;
}
impl Elem for f32 {
    fn of(x: f64) -> f32 {
        x as f32
    }
}
impl Elem for f64 {
    fn of(x: f64) -> f64 {
        x
    }
}
impl Elem for F16 {
    fn of(x: f64) -> F16 {
        F16::from_f64(x)
    }
}
impl Elem for BF16 {
    fn of(x: f64) -> BF16 {
        BF16::from_f64(x)
    }
}
impl Elem for u32 {
    fn of(x: f64) -> u32 {
        x as u32
    }
}

fn buf<T: Elem>(n: usize, seed: u64, lo: f64, hi: f64) -> DeviceBuffer<u8> {
    let v: Vec<T> = vals(n, seed, lo, hi).into_iter().map(T::of).collect();
    DeviceBuffer::from_slice(&bytes_of(&v))
}

pub fn out<T>(n: usize) -> DeviceBuffer<u8> {
    DeviceBuffer::poisoned(n * size_of::<T>())
}

pub fn p<T>(b: &DeviceBuffer<u8>) -> *const T {
    b.as_ptr().cast()
}

pub fn pm<T>(b: &DeviceBuffer<u8>) -> *mut T {
    b.as_ptr().cast_mut().cast()
}

fn case(info: KernelInfo, shape: String, max_shared: u32, make: impl Fn() -> Setup + 'static) -> Case {
    Case { info, shape, family: None, max_shared, make: Box::new(move || vec![make()]), check: Check::Exact }
}

/// A case of several launches (bit for bit against the emulator).
pub fn multi(info: KernelInfo, shape: String, max_shared: u32, make: impl Fn() -> Vec<Setup> + 'static) -> Case {
    Case { info, shape, family: None, max_shared, make: Box::new(make), check: Check::Exact }
}

type SoftmaxArgs<T> = (*const T, *mut T, u32, u32);

fn softmax_case<T: Elem>(k: Kernel<SoftmaxArgs<T>>, rows: usize, cols: usize, cfg: LaunchConfig) -> Case {
    let shared = 163 * 1024;
    case(k.info, format!("{rows} rows × {cols}"), shared, move || {
        let (x, y) = (buf::<T>(rows * cols, 2, -30.0, 30.0), out::<T>(rows * cols));
        let args = (p(&x), pm(&y), rows as u32, cols as u32);
        setup(k, cfg, shared, vec![x, y], args)
    })
}

/// The one-pass softmax entries of `T`, by depth.
fn regs_entries<T: Elem>() -> [&'static str; 4] {
    if size_of::<T>() == 8 {
        ["softmax_regs_f64_v1", "softmax_regs_f64_v2", "softmax_regs_f64_v4", "softmax_regs_f64_v8"]
    } else {
        ["softmax_regs_f32_v1", "softmax_regs_f32_v2", "softmax_regs_f32_v4", "softmax_regs_f32_v8"]
    }
}

fn regs_case<T: Elem + kernels_gpu::prelude::Float>(k: Kernel<SoftmaxArgs<T>>, v: usize, cols: usize) -> Case {
    let entries = regs_entries::<T>();
    let (i, cfg) =
        softmax::regs_config::<T>(8, cols, |i| max_threads(entries[i])).expect("a row the one-pass kernel takes");
    let got = softmax::REGS_GROUPS[i];
    assert_eq!(got, v, "{} cols take v{got}", cols);
    softmax_case(k, 8, cols, cfg)
}

type AxisArgs<T> = (*const T, *mut T, u64, u64, u64, u32);

/// Softmax and log-softmax along the middle of `[3, 37, 211]`: 633 lanes in 20 groups of 32 on
/// two blocks (a grid-stride loop of 10 laps, the last group part-empty), the axis in two
/// segments of 19 and 18 that meet in shared memory; the op registry holds
/// the kernel to the f64 reference, with the special values, on the emulated devices.
fn axis_case<T: Elem>(k: Kernel<AxisArgs<T>>) -> Case {
    let (outer, len, inner) = (3usize, 37usize, 211usize);
    let n = outer * len * inner;
    let cfg = softmax::axis_config((outer * inner) as u64, len as u64, 2, max_threads(k.info.name));
    assert_eq!(cfg.block.y, 2, "two segments of the axis");
    multi(k.info, format!("[{outer}, {len}, {inner}] along axis 1"), 48 * 1024, move || {
        (0..2u32)
            .map(|log| {
                let x = buf::<T>(n, 40 + log as u64, -30.0, 30.0);
                let y = out::<T>(n);
                let args = (p(&x), pm(&y), outer as u64, len as u64, inner as u64, log);
                let label = if log == 1 { "log_softmax" } else { "softmax" };
                setup(k, cfg, 48 * 1024, vec![x, y], args).labelled(label.into())
            })
            .collect()
    })
}

type MatmulArgs<T> = (*const T, *const T, *mut T, u32, u32, u32, u64, u64);

fn matmul_case<T: Elem>(k: Kernel<MatmulArgs<T>>, (m, n, kk): (usize, usize, usize), cfg: LaunchConfig) -> Case {
    case(k.info, format!("{m}×{kk} · {kk}×{n}"), 227 * 1024, move || {
        let (a, b, c) = (buf::<T>(m * kk, 3, -1.0, 1.0), buf::<T>(kk * n, 4, -1.0, 1.0), out::<T>(m * n));
        let args = (p(&a), p(&b), pm(&c), m as u32, n as u32, kk as u32, 0u64, 0u64);
        setup(k, cfg, 227 * 1024, vec![a, b, c], args)
    })
}

/// Tensor-core products against an f64 reference (the bound of tests/kernels_tensor_core.rs).
fn tensor_case<T: Elem>(k: Kernel<MatmulArgs<T>>, dtype: DType, mnk: (usize, usize, usize), cfg: LaunchConfig) -> Case {
    let mut c = matmul_case(k, mnk, cfg);
    let (m, n, kk) = mnk;
    c.check = Check::Reference(Box::new(move |bufs: &[Vec<u8>]| {
        let dec = |b: &[u8], i: usize| -> f64 {
            match dtype {
                DType::F32 => f32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap()) as f64,
                DType::BF16 => BF16(u16::from_le_bytes([b[2 * i], b[2 * i + 1]])).to_f32() as f64,
                _ => F16(u16::from_le_bytes([b[2 * i], b[2 * i + 1]])).to_f32() as f64,
            }
        };
        let (in_rel, out_rel) = match dtype {
            DType::F32 => (2f64.powi(-10), 0.0),
            DType::BF16 => (0.0, 2f64.powi(-8)),
            _ => (0.0, 2f64.powi(-11)),
        };
        for i in 0..m {
            for j in 0..n {
                let (mut s, mut mag) = (0.0, 0.0);
                for q in 0..kk {
                    let t = dec(&bufs[0], i * kk + q) * dec(&bufs[1], q * n + j);
                    s += t;
                    mag += t.abs();
                }
                let g = dec(&bufs[2], i * n + j);
                let tol = (in_rel + (kk + 2) as f64 * 2f64.powi(-24)) * mag + out_rel * s.abs() + 1e-30;
                if (g - s).abs() > tol || g.is_nan() {
                    return Err(format!("C[{i}][{j}] = {g}, beyond the error bound of the f64 reference {s} ± {tol}"));
                }
            }
        }
        Ok(())
    }));
    c
}

fn dense_cases<T: Elem + kernels_gpu::prelude::Float>(
    fwd: DenseFwd<T>,
    bwd_in: DenseBwdIn<T>,
    bwd_p: DenseBwdP<T>,
) -> Vec<Case> {
    let (batch, inputs, units, total) = (256usize, 128usize, 64usize, 300usize);
    let shape = format!("batch {batch}, {inputs} → {units}, gathered rows");
    let rows =
        move || DeviceBuffer::from_slice(&bytes_of(&(0..batch).map(|i| (i * 7 % total) as u32).collect::<Vec<_>>()));
    let c1 = dense::forward_config::<T>(batch, units);
    let c2 = dense::backward_input_config::<T>(batch, inputs);
    let c3 = dense::backward_params_config::<T>(inputs, units);
    vec![
        case(fwd.info, shape.clone(), 48 * 1024, move || {
            let (x, r, w, y) = (
                buf::<T>(total * inputs, 5, -2.0, 2.0),
                rows(),
                buf::<T>((inputs + 1) * units, 6, -1.0, 1.0),
                out::<T>(batch * units),
            );
            let args = (p(&x), p(&r), total as u32, p(&w), pm(&y), batch as u32, inputs as u32, units as u32, RELU);
            setup(fwd, c1, 48 * 1024, vec![x, r, w, y], args)
        }),
        case(bwd_in.info, format!("batch {batch}, {units} → {inputs}"), 48 * 1024, move || {
            let (dz, w, yp, dx) = (
                buf::<T>(batch * units, 7, -1.0, 1.0),
                buf::<T>((inputs + 1) * units, 8, -1.0, 1.0),
                buf::<T>(batch * inputs, 9, 0.0, 1.0),
                out::<T>(batch * inputs),
            );
            let args = (p(&dz), p(&w), p(&yp), pm(&dx), batch as u32, inputs as u32, units as u32, SIGMOID);
            setup(bwd_in, c2, 48 * 1024, vec![dz, w, yp, dx], args)
        }),
        case(bwd_p.info, shape, 48 * 1024, move || {
            let (x, r, dz, g) = (
                buf::<T>(total * inputs, 10, -2.0, 2.0),
                rows(),
                buf::<T>(batch * units, 11, -1.0, 1.0),
                out::<T>((inputs + 1) * units),
            );
            let args = (p(&x), p(&r), total as u32, p(&dz), pm(&g), batch as u32, inputs as u32, units as u32);
            setup(bwd_p, c3, 48 * 1024, vec![x, r, dz, g], args)
        }),
    ]
}

trait Scale: Elem {
    fn scale(x: f64) -> Self;
}
impl Scale for f32 {
    fn scale(x: f64) -> f32 {
        x as f32
    }
}
impl Scale for f64 {
    fn scale(x: f64) -> f64 {
        x
    }
}

type HeadArgs<T> = (*const T, *const u32, *const u32, u32, *mut T, *mut T, *mut T, u32, u32, T);
type OneHotArgs<T> = (*const T, *const T, *const u32, u32, *mut T, *mut T, *mut T, u32, u32, T);
type MseArgs<T> = (*const T, *const T, *const u32, u32, *mut T, *mut T, *mut T, u32, u32, u32, T);

fn loss_cases<T: Scale + kernels_gpu::launch::KernelParam>(
    sparse: Kernel<HeadArgs<T>>,
    onehot: Kernel<OneHotArgs<T>>,
    mse: Kernel<MseArgs<T>>,
    sum2: Kernel<(*const T, *const T, u32, *mut T)>,
) -> Vec<Case> {
    let (batch, classes, total) = (256usize, 10usize, 300usize);
    let cfg = loss::config(batch);
    let shape = format!("batch {batch}, {classes} classes");
    let scale = T::scale(1.0 / batch as f64);
    let rows =
        move || DeviceBuffer::from_slice(&bytes_of(&(0..batch).map(|i| (i * 11 % total) as u32).collect::<Vec<_>>()));
    let outs = move || (out::<T>(batch * classes), out::<T>(batch), out::<T>(batch));
    let n = 60_001usize;
    vec![
        case(sparse.info, shape.clone(), 48 * 1024, move || {
            let (z, l, r) =
                (buf::<T>(batch * classes, 12, -6.0, 6.0), buf::<u32>(total, 13, 0.0, classes as f64), rows());
            let (dz, lo, co) = outs();
            let args =
                (p(&z), p(&l), p(&r), total as u32, pm(&dz), pm(&lo), pm(&co), batch as u32, classes as u32, scale);
            setup(sparse, cfg, 48 * 1024, vec![z, l, r, dz, lo, co], args)
        }),
        case(onehot.info, shape.clone(), 48 * 1024, move || {
            let (z, y, r) = (buf::<T>(batch * classes, 14, -6.0, 6.0), buf::<T>(total * classes, 15, 0.0, 1.0), rows());
            let (dz, lo, co) = outs();
            let args =
                (p(&z), p(&y), p(&r), total as u32, pm(&dz), pm(&lo), pm(&co), batch as u32, classes as u32, scale);
            setup(onehot, cfg, 48 * 1024, vec![z, y, r, dz, lo, co], args)
        }),
        case(mse.info, format!("{shape}, softmax output"), 48 * 1024, move || {
            let (z, t, r) = (buf::<T>(batch * classes, 16, -6.0, 6.0), buf::<T>(total * classes, 17, 0.0, 1.0), rows());
            let (dz, lo, co) = outs();
            let args = (
                p(&z),
                p(&t),
                p(&r),
                total as u32,
                pm(&dz),
                pm(&lo),
                pm(&co),
                batch as u32,
                classes as u32,
                SOFTMAX,
                scale,
            );
            setup(mse, cfg, 48 * 1024, vec![z, t, r, dz, lo, co], args)
        }),
        case(sum2.info, format!("n = {n}"), 48 * 1024, move || {
            let (a, b, o) = (buf::<T>(n, 18, 0.0, 3.0), buf::<T>(n, 19, 0.0, 1.0), out::<T>(2));
            let args = (p(&a), p(&b), n as u32, pm(&o));
            setup(sum2, loss::sum2_config(max_threads(sum2.name())), 48 * 1024, vec![a, b, o], args)
        }),
    ]
}

fn optim_cases<T: Scale + kernels_gpu::launch::KernelParam + kernels_gpu::prelude::Float>(
    sgd: Kernel<(*mut T, *const T, u64, T)>,
    momentum: Kernel<(*mut T, *const T, *mut T, u64, T, T, u32)>,
    adam: Adam<T>,
) -> Vec<Case> {
    let n = 1usize << 18;
    let cfg = elementwise::config::<T>(n, BLOCKS);
    let s = T::scale;
    let shape = format!("n = {n}");
    vec![
        case(sgd.info, shape.clone(), 48 * 1024, move || {
            let (pp, g) = (buf::<T>(n, 20, -1.0, 1.0), buf::<T>(n, 21, -1.0, 1.0));
            let args = (pm(&pp), p(&g), n as u64, s(0.01));
            setup(sgd, cfg, 48 * 1024, vec![pp, g], args)
        }),
        case(momentum.info, format!("{shape}, Nesterov"), 48 * 1024, move || {
            let (pp, g, v) = (buf::<T>(n, 22, -1.0, 1.0), buf::<T>(n, 23, -1.0, 1.0), buf::<T>(n, 24, -0.1, 0.1));
            let args = (pm(&pp), p(&g), pm(&v), n as u64, s(0.01), s(0.9), 1u32);
            setup(momentum, cfg, 48 * 1024, vec![pp, g, v], args)
        }),
        case(adam.info, shape, 48 * 1024, move || {
            let (pp, g) = (buf::<T>(n, 25, -1.0, 1.0), buf::<T>(n, 26, -1.0, 1.0));
            let (m, v) = (buf::<T>(n, 27, -0.1, 0.1), buf::<T>(n, 28, 0.0, 0.01));
            let args = (pm(&pp), p(&g), pm(&m), pm(&v), n as u64, s(0.001), s(0.9), s(0.999), s(1e-7));
            setup(adam, cfg, 48 * 1024, vec![pp, g, m, v], args)
        }),
    ]
}

/// Every entry's representative launch.
pub fn all_cases() -> Vec<Case> {
    let mut v = vec![
        softmax_case(
            softmax::softmax_f32,
            32,
            3001,
            softmax::config::<f32>(32, 3001, 163 * 1024, max_threads("softmax_f32")),
        ),
        softmax_case(
            softmax::softmax_f64,
            32,
            1501,
            softmax::config::<f64>(32, 1501, 163 * 1024, max_threads("softmax_f64")),
        ),
        softmax_case(
            softmax::log_softmax_f32,
            32,
            3001,
            softmax::config::<f32>(32, 3001, 163 * 1024, max_threads("log_softmax_f32")),
        ),
        softmax_case(
            softmax::log_softmax_f64,
            32,
            1501,
            softmax::config::<f64>(32, 1501, 163 * 1024, max_threads("log_softmax_f64")),
        ),
        // 16-bit storage: the cache holds f32.
        softmax_case(
            softmax::softmax_f16,
            32,
            3001,
            softmax::config::<f32>(32, 3001, 163 * 1024, max_threads("softmax_f16")),
        ),
        softmax_case(
            softmax::softmax_bf16,
            32,
            3001,
            softmax::config::<f32>(32, 3001, 163 * 1024, max_threads("softmax_bf16")),
        ),
        softmax_case(
            softmax::log_softmax_f16,
            32,
            3001,
            softmax::config::<f32>(32, 3001, 163 * 1024, max_threads("log_softmax_f16")),
        ),
        softmax_case(
            softmax::log_softmax_bf16,
            32,
            3001,
            softmax::config::<f32>(32, 3001, 163 * 1024, max_threads("log_softmax_bf16")),
        ),
        regs_case(softmax::softmax_regs_f32_v1, 1, 2048),
        regs_case(softmax::softmax_regs_f32_v2, 2, 4096),
        regs_case(softmax::softmax_regs_f32_v4, 4, 8192),
        regs_case(softmax::softmax_regs_f32_v8, 8, 28672),
        regs_case(softmax::softmax_regs_f64_v1, 1, 1024),
        regs_case(softmax::softmax_regs_f64_v2, 2, 2048),
        regs_case(softmax::softmax_regs_f64_v4, 4, 4096),
        regs_case(softmax::softmax_regs_f64_v8, 8, 16384),
        axis_case(softmax::softmax_axis_f32),
        axis_case(softmax::softmax_axis_f64),
        axis_case(softmax::softmax_axis_f16),
        axis_case(softmax::softmax_axis_bf16),
    ];
    let sq = (256, 256, 256);
    for k in [matmul::matmul_f32, matmul::matmul_tn_f32, matmul::matmul_nt_f32] {
        v.push(matmul_case(k, sq, matmul::config::<f32>(256, 256)));
    }
    for k in [matmul::matmul_f64, matmul::matmul_tn_f64, matmul::matmul_nt_f64] {
        v.push(matmul_case(k, sq, matmul::config::<f64>(256, 256)));
    }
    v.push(matmul_case(sgemm::sgemm_f32, sq, sgemm::config(256, 256)));
    v.push(tensor_case(tensor_core::mma_matmul_tf32, DType::F32, sq, tensor_core::config(256, 256)));
    v.push(tensor_case(tensor_core::mma_matmul_bf16, DType::BF16, sq, tensor_core::config(256, 256)));
    v.push(tensor_case(tensor_core::mma_matmul_f16, DType::F16, sq, tensor_core::config(256, 256)));
    v.push(tensor_case(wgmma_matmul::wgmma_matmul_bf16, DType::BF16, sq, wgmma_matmul::config(256, 256)));
    v.push(tensor_case(wgmma_matmul::wgmma_matmul_f16, DType::F16, sq, wgmma_matmul::config(256, 256)));
    v.extend(dense_cases(dense::dense_forward_f32, dense::dense_backward_input_f32, dense::dense_backward_params_f32));
    v.extend(dense_cases(dense::dense_forward_f64, dense::dense_backward_input_f64, dense::dense_backward_params_f64));
    v.extend(loss_cases(loss::xent_sparse_f32, loss::xent_onehot_f32, loss::mse_f32, loss::sum2_f32));
    v.extend(loss_cases(loss::xent_sparse_f64, loss::xent_onehot_f64, loss::mse_f64, loss::sum2_f64));
    v.extend(optim_cases(optim::sgd_f32, optim::momentum_f32, optim::adam_f32));
    v.extend(optim_cases(optim::sgd_f64, optim::momentum_f64, optim::adam_f64));
    v.extend(super::families::cases());
    v.extend(super::fill::cases());
    v.extend(super::gather::cases());
    v.extend(super::sort::cases());
    v
}
