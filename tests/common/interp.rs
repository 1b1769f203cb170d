//! The PTX interpreter (`tests/ptx-interp`) in the test suites: the embedded modules parsed
//! once, a [`ferrite::PtxLauncher`] for the interpreter device (`interp_sm90` in the device
//! harness), and a drop-in `launch_kernel` for the kernel suites that, inside
//! [`on_each_target`], runs a test body on the Rust-source emulator and again on the PTX of
//! every variant that has the kernels it launches, checking each run against the test's own
//! reference and each launch's results against the emulator's.

use ferrite::ptx::VARIANTS;
use ferrite::{PtxLaunchError, PtxLauncher};
use kernels_gpu::emu::{self, EmuError, Limits, allocation_containing};
use kernels_gpu::{Kernel, KernelArgs, LaunchConfig, PtxParam};
use ptx_interp::{InterpError, LaunchOptions, Module, ParamValue};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

/// The embedded PTX variants, parsed and decoded (an instruction the interpreter lacks fails
/// here, naming it).
pub fn modules() -> &'static [(&'static str, Module)] {
    static M: OnceLock<Vec<(&'static str, Module)>> = OnceLock::new();
    M.get_or_init(|| {
        VARIANTS
            .iter()
            .map(|v| {
                let m = Module::parse(v.ptx).unwrap_or_else(|e| panic!("the {} PTX does not parse: {e}", v.arch));
                (v.arch, m)
            })
            .collect()
    })
}

pub fn module(arch: &str) -> &'static Module {
    &modules().iter().find(|(a, _)| *a == arch).unwrap_or_else(|| panic!("no PTX variant {arch}")).1
}

/// An argument's bytes as the interpreter's parameter value.
pub fn param(kind: PtxParam, bytes: &[u8]) -> ParamValue {
    let word = || u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    match kind {
        PtxParam::Ptr => ParamValue::Ptr(word()),
        PtxParam::B32 => ParamValue::B32(u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))),
        PtxParam::B64 => ParamValue::B64(word()),
        PtxParam::Bytes(_) => ParamValue::Bytes(bytes.to_vec()),
    }
}

/// A pointer argument's address.
pub fn pointer(kind: PtxParam, bytes: &[u8]) -> Option<u64> {
    (kind == PtxParam::Ptr).then(|| u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")))
}

/// Runs `kernel` of the `arch` PTX.
pub fn run_ptx(
    arch: &str,
    kernel: &str,
    cfg: &LaunchConfig,
    args: &[(PtxParam, Vec<u8>)],
    max_shared_bytes: u32,
) -> Result<(), InterpError> {
    let k = module(arch).kernel(kernel).ok_or_else(|| InterpError::NoEntry { kernel: kernel.to_string() })?;
    let params: Vec<ParamValue> = args.iter().map(|(kind, v)| param(*kind, v)).collect();
    let opts = LaunchOptions { max_shared_bytes, ..LaunchOptions::default() };
    ptx_interp::launch(k, cfg, &params, &opts).map(|_| ())
}

/// The interpreter as the emulated device's launcher.
pub struct Interp;

impl PtxLauncher for Interp {
    fn launch(
        &self,
        _ptx: &'static str,
        arch: &'static str,
        kernel: &str,
        cfg: &LaunchConfig,
        args: &[(PtxParam, Vec<u8>)],
        max_shared_bytes: u32,
    ) -> Result<(), PtxLaunchError> {
        run_ptx(arch, kernel, cfg, args, max_shared_bytes).map_err(|e| match e {
            InterpError::InvalidLaunch { message, .. } => PtxLaunchError::Invalid(message),
            other => PtxLaunchError::Failed(other.to_string()),
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Emulator,
    Ptx(&'static str),
}

/// One launch's results: every allocation its pointer arguments reach, by argument.
struct Logged {
    kernel: &'static str,
    buffers: Vec<Option<Vec<u8>>>,
}

thread_local! {
    static MODE: RefCell<Option<Mode>> = const { RefCell::new(None) };
    static LOG: RefCell<Vec<Logged>> = const { RefCell::new(Vec::new()) };
}

/// The values of a kernel's arguments, each with its PTX kind.
pub fn args_of<A: KernelArgs>(args: &A) -> Vec<(PtxParam, Vec<u8>)> {
    args.param_ptrs()
        .iter()
        .zip(A::PARAMS)
        .map(|(&p, &kind)| {
            let n = match kind {
                PtxParam::B32 => 4,
                PtxParam::Ptr | PtxParam::B64 => 8,
                PtxParam::Bytes(n) => n as usize,
            };
            // SAFETY: `param_ptrs` points at each argument, of the kind `PARAMS` names.
            (kind, unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n) }.to_vec())
        })
        .collect()
}

fn snapshot(args: &[(PtxParam, Vec<u8>)]) -> Vec<Option<Vec<u8>>> {
    args.iter()
        .map(|(kind, v)| {
            let (start, len) = allocation_containing(pointer(*kind, v)? as usize)?;
            // SAFETY: a live emulated allocation of `len` bytes.
            Some(unsafe { std::slice::from_raw_parts(start as *const u8, len) }.to_vec())
        })
        .collect()
}

/// `kernels_gpu::emu::launch_kernel`, or inside [`on_each_target`] the current target's run.
///
/// # Safety
/// As for `kernels_gpu::emu::launch_kernel`.
pub unsafe fn launch_kernel<A: KernelArgs>(k: &Kernel<A>, cfg: &LaunchConfig, args: A) -> Result<(), EmuError> {
    unsafe { launch_kernel_with(k, cfg, &Limits::default(), args) }
}

/// As [`launch_kernel`], under other limits.
///
/// # Safety
/// As for `kernels_gpu::emu::launch_kernel_with`.
pub unsafe fn launch_kernel_with<A: KernelArgs>(
    k: &Kernel<A>,
    cfg: &LaunchConfig,
    limits: &Limits,
    args: A,
) -> Result<(), EmuError> {
    let mode = MODE.with(|m| *m.borrow());
    let values = args_of(&args);
    let result = match mode {
        None | Some(Mode::Emulator) => unsafe { emu::launch_kernel_with(k, cfg, limits, args) },
        Some(Mode::Ptx(arch)) => run_ptx(arch, k.name(), cfg, &values, limits.max_shared_bytes).map_err(to_emu),
    };
    if mode.is_some() {
        LOG.with(|l| l.borrow_mut().push(Logged { kernel: k.name(), buffers: snapshot(&values) }));
    }
    result
}

fn to_emu(e: InterpError) -> EmuError {
    match e {
        InterpError::InvalidLaunch { message, .. } => EmuError::InvalidConfig(message),
        InterpError::NoEntry { kernel } => EmuError::InvalidConfig(format!("the PTX has no entry {kernel}")),
        InterpError::Stuck { ref at, .. } => EmuError::Divergence { block: at.block, message: e.to_string() },
        InterpError::Fault { ref at, .. } => EmuError::KernelPanic {
            block: at.block,
            thread: at.thread.unwrap_or(kernels_gpu::Dim3::x(0)),
            message: e.to_string(),
        },
    }
}

/// Runs `body` on the emulator, then once per distinct PTX of the kernels it launched (a
/// variant whose entries have the same decoded code as an earlier one's is covered by that
/// run), each run checked by `body` itself; then every launch's buffers against the
/// emulator's: bit for bit (NaNs of any payload match), except the tensor-core kernels, whose
/// accumulation order the ISA leaves open (the body checks those against its reference).
pub fn on_each_target(body: impl Fn()) {
    let run = |mode: Mode| -> Vec<Logged> {
        MODE.with(|m| *m.borrow_mut() = Some(mode));
        LOG.with(|l| l.borrow_mut().clear());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&body));
        MODE.with(|m| *m.borrow_mut() = None);
        let log = LOG.with(|l| std::mem::take(&mut *l.borrow_mut()));
        if let Err(p) = r {
            if let Mode::Ptx(arch) = mode {
                eprintln!("the failure below is on the PTX interpreter, {arch} PTX");
            }
            std::panic::resume_unwind(p);
        }
        log
    };
    let emulated = run(Mode::Emulator);
    let kernels: BTreeSet<&str> = emulated.iter().map(|l| l.kernel).collect();
    if kernels.is_empty() {
        return;
    }
    let mut seen: HashMap<Vec<u64>, &str> = HashMap::new();
    for (arch, m) in modules() {
        let Some(entries) = kernels.iter().map(|k| m.kernel(k)).collect::<Option<Vec<_>>>() else { continue };
        let key: Vec<u64> = entries.iter().map(|e| e.body_hash).collect();
        if seen.contains_key(&key) {
            continue;
        }
        seen.insert(key, arch);
        let ptx = run(Mode::Ptx(arch));
        compare(arch, &emulated, &ptx);
    }
}

fn compare(arch: &str, emulated: &[Logged], ptx: &[Logged]) {
    assert_eq!(emulated.len(), ptx.len(), "{arch} PTX: {} launches, the emulator made {}", ptx.len(), emulated.len());
    for (i, (e, p)) in emulated.iter().zip(ptx).enumerate() {
        assert_eq!(e.kernel, p.kernel, "launch {i}: the {arch} run launched another kernel");
        if e.kernel.starts_with("mma_matmul") || e.kernel.starts_with("wgmma_matmul") {
            continue;
        }
        if let Err(m) = same_results(e.kernel, &e.buffers, &p.buffers) {
            panic!("{arch} PTX: launch {i}: {m}");
        }
    }
}

/// Whether two runs of `kernel` left the same bytes in every buffer (NaNs of any payload
/// matching): `Err` describes the first difference.
pub fn same_results(kernel: &str, emulated: &[Option<Vec<u8>>], ptx: &[Option<Vec<u8>>]) -> Result<(), String> {
    let (size, nan) = element(kernel);
    for (a, (eb, pb)) in emulated.iter().zip(ptx).enumerate() {
        let (Some(eb), Some(pb)) = (eb, pb) else { continue };
        if eb.len() != pb.len() {
            return Err(format!("{kernel}, argument {a}: buffer sizes differ"));
        }
        let bad: Vec<usize> = eb
            .chunks(size)
            .zip(pb.chunks(size))
            .enumerate()
            .filter(|(_, (x, y))| x != y && !(nan(x) && nan(y)))
            .map(|(j, _)| j)
            .collect();
        if let Some(&first) = bad.first() {
            return Err(format!(
                "results differ from the emulator after {kernel}, argument {a}: {} of {} elements, first at {:?}: \
                 PTX {:02x?}, emulator {:02x?}",
                bad.len(),
                eb.len() / size,
                &bad[..bad.len().min(5)],
                &pb[first * size..(first + 1) * size],
                &eb[first * size..(first + 1) * size]
            ));
        }
    }
    Ok(())
}

/// The size of a kernel's output element and its NaN test, from ferrite's naming: the last
/// dtype in the name (`_f32`, `cast_x_f16`, `unary_strided_i32`), except for comparisons and
/// tests (`bool` results), reductions (results in the accumulator type: f32 for the 16-bit
/// floats, i64 for integers and bool) and copies (`_b4`: bits, compared exactly).
fn element(kernel: &str) -> (usize, fn(&[u8]) -> bool) {
    fn f64_nan(b: &[u8]) -> bool {
        b.len() == 8 && f64::from_le_bytes(b.try_into().unwrap()).is_nan()
    }
    fn f32_nan(b: &[u8]) -> bool {
        b.len() == 4 && f32::from_le_bytes(b.try_into().unwrap()).is_nan()
    }
    fn f16_nan(b: &[u8]) -> bool {
        b.len() == 2 && (u16::from_le_bytes([b[0], b[1]]) & 0x7fff) > 0x7c00
    }
    fn bf16_nan(b: &[u8]) -> bool {
        b.len() == 2 && (u16::from_le_bytes([b[0], b[1]]) & 0x7fff) > 0x7f80
    }
    fn never(_: &[u8]) -> bool {
        false
    }
    const TYPES: [&str; 13] = ["f64", "f32", "f16", "bf16", "i64", "i32", "u32", "u8", "bool", "b1", "b2", "b4", "b8"];
    let last = kernel.rsplit('_').find(|s| TYPES.contains(s));
    let ty = if kernel.starts_with("compare_") || kernel.starts_with("test_") {
        Some("bool")
    } else if kernel.starts_with("reduce_inner_") || kernel.starts_with("reduce_outer_") {
        last.map(|t| match t {
            "f16" | "bf16" | "f32" => "f32",
            "f64" => "f64",
            _ => "i64",
        })
    } else {
        last
    };
    match ty {
        Some("f64") => (8, f64_nan),
        Some("f32") => (4, f32_nan),
        Some("f16") => (2, f16_nan),
        Some("bf16") => (2, bf16_nan),
        Some("i64" | "b8") => (8, never),
        Some("i32" | "u32" | "b4") => (4, never),
        Some("b2") => (2, never),
        Some("u8" | "bool" | "b1") => (1, never),
        _ => panic!("cannot tell the element type of {kernel} from its name"),
    }
}
