//! The embedded PTX: every kernel descriptor has its `.entry` (same name, same parameters) in
//! exactly the variants it claims, nothing is left unresolved, and ptxas assembles every
//! variant for every GPU it claims to load on, without register spills or stack frames, and
//! without ptxas having to serialize a `wgmma` pipeline.
//!
//! The ptxas report (registers, spills, barriers per kernel and variant) is kept in
//! `docs/ptxas.md`, and the registers in `host/src/ptx/registers.rs`, from which the host and
//! the emulator bound each kernel's blocks; this test fails when either is stale, and when any
//! launch configuration the host can choose exceeds a claimed GPU's limits. Regenerate both
//! with `FERRITE_UPDATE_DOCS=1 cargo test --test ptx`.

mod common;

use common::tools::{check_generated_doc, ptxas};
use ferrite::ptx::{PtxVariant, VARIANTS};
use kernels_gpu::{KernelInfo, LaunchConfig, PtxParam, all_kernels};
use std::collections::BTreeMap;
use std::process::Command;

/// Order of the PTX variants from oldest to newest.
fn rank(arch: &str) -> usize {
    ["sm_70", "sm_80", "sm_90a"].iter().position(|a| *a == arch).unwrap_or_else(|| panic!("unknown arch {arch}"))
}

fn descriptors() -> Vec<KernelInfo> {
    all_kernels()
}

/// `.entry name(params)` blocks of a PTX module, with each parameter's kind.
fn entries(ptx: &str) -> BTreeMap<String, Vec<PtxParam>> {
    let mut out = BTreeMap::new();
    let mut lines = ptx.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim().strip_prefix(".visible .entry ") else { continue };
        let name = rest.split('(').next().unwrap().trim().to_string();
        let mut params = Vec::new();
        for p in lines.by_ref() {
            let p = p.trim();
            if p.starts_with(')') {
                break;
            }
            let kind =
                if let Some(bytes) = p.strip_suffix("],").or(p.strip_suffix(']')).and_then(|p| p.rsplit('[').next()) {
                    // A struct passed by value (`Shape`, `Strides`): `.param .align N .b8 name[K]`.
                    PtxParam::Bytes(bytes.parse().unwrap_or_else(|_| panic!("{name}: parameter {p}")))
                } else if p.contains(".ptr") {
                    PtxParam::Ptr
                } else if [".u32", ".b32", ".s32", ".f32"].iter().any(|t| p.contains(t)) {
                    PtxParam::B32
                } else if [".u64", ".b64", ".s64", ".f64"].iter().any(|t| p.contains(t)) {
                    PtxParam::B64
                } else {
                    panic!("unexpected parameter line in {name}: {p}")
                };
            params.push(kind);
        }
        out.insert(name, params);
    }
    out
}

#[test]
fn every_descriptor_matches_its_entry_in_each_variant() {
    let all = descriptors();
    for v in &VARIANTS {
        let found = entries(v.ptx);
        for k in &all {
            let expected = rank(k.min_arch) <= rank(v.arch);
            match found.get(k.name) {
                Some(params) => {
                    assert!(expected, "{} is in the {} PTX but claims {}", k.name, v.arch, k.min_arch);
                    assert_eq!(
                        params.as_slice(),
                        k.params,
                        "{} in {}: PTX parameters differ from the host's",
                        k.name,
                        v.arch
                    );
                }
                None => assert!(!expected, "{} (from {}) is missing from the {} PTX", k.name, k.min_arch, v.arch),
            }
        }
        for name in found.keys() {
            assert!(
                all.iter().any(|k| k.name == name),
                "{name} in the {} PTX has no host descriptor (add its module to kernels_gpu::all_kernels)",
                v.arch
            );
        }
        assert!(!found.is_empty());
    }
}

#[test]
fn ptx_targets_its_arch_and_leaves_nothing_unresolved() {
    for v in &VARIANTS {
        assert!(v.ptx.lines().any(|l| l.trim() == format!(".target {}", v.arch)), "{}: wrong .target", v.arch);
        assert!(!v.ptx.contains(".extern .func"), "{}: unresolved function (a panic path or libm call)", v.arch);
        // The only extern a module may declare is the dynamic shared-memory window; an extern
        // global (a `static` of another crate) would be zero-filled by ptxas with a warning.
        let externs: Vec<&str> = v
            .ptx
            .lines()
            .filter(|l| l.starts_with(".extern") && !l.contains("gpu_launch_sized_workgroup_mem"))
            .collect();
        assert!(externs.is_empty(), "{}: unresolved data {externs:?}", v.arch);
    }
}

/// GPUs each variant claims to load on: the variant's own, and (except `sm_90a`, which is
/// Hopper-only) every newer generation ptxas knows.
fn claimed_targets(v: &PtxVariant) -> Vec<&'static str> {
    const ALL: [&str; 8] = ["sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120"];
    match v.arch {
        "sm_90a" => vec!["sm_90a"],
        arch => ALL
            .iter()
            .copied()
            .filter(|t| {
                t.trim_start_matches("sm_").parse::<u32>().unwrap()
                    >= arch.trim_start_matches("sm_").parse::<u32>().unwrap()
            })
            .collect(),
    }
}

#[derive(Debug, Default)]
struct Usage {
    registers: u32,
    stack_bytes: u32,
    spill_stores: u32,
    spill_loads: u32,
    barriers: u32,
}

/// Assembles `ptx` for `target` (or takes the cubin another suite assembled:
/// `common::tools::assemble`); returns ptxas's per-kernel report.
fn assemble(ptx: &str, target: &str) -> BTreeMap<String, Usage> {
    let (_, log) = common::tools::assemble(ptx, target);
    // ptxas warns where it changes the program (an unresolved extern becomes a zero-filled
    // definition) or cannot honour it: every warning is a defect.
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("ptxas warning")).collect();
    assert!(warnings.is_empty(), "ptxas -arch={target}:\n{}", warnings.join("\n"));
    let hazards = wgmma_hazards(&log);
    assert!(hazards.is_empty(), "ptxas -arch={target}:\n{}", hazards.join("\n"));
    let mut report = BTreeMap::new();
    let mut current = String::new();
    let num = |s: &str, suffix: &str| -> u32 {
        let i = s.find(suffix).unwrap_or_else(|| panic!("no '{suffix}' in: {s}"));
        s[..i].split_whitespace().last().unwrap().parse().unwrap()
    };
    for line in log.lines() {
        if let Some(rest) = line.split("Compiling entry function '").nth(1) {
            current = rest.split('\'').next().unwrap().to_string();
            report.insert(current.clone(), Usage::default());
        } else if line.contains("spill stores") {
            let u = report.get_mut(&current).unwrap();
            u.stack_bytes = num(line, "bytes stack frame");
            u.spill_stores = num(line, "bytes spill stores");
            u.spill_loads = num(line, "bytes spill loads");
        } else if line.contains("Used") && line.contains("registers") {
            let u = report.get_mut(&current).unwrap();
            u.registers = num(line, "registers");
            u.barriers = if line.contains("barriers") { num(line, "barriers") } else { 0 };
        }
    }
    report
}

/// The opt-in shared-memory limit of the smallest GPU a variant claims (Volta 96 KiB; the
/// sm_80 PTX also loads on sm_86/sm_89, 99 KiB; Hopper 227 KiB). The host passes the device's
/// own limit to the configs that size shared memory by it.
fn max_shared(arch: &str) -> u32 {
    match arch {
        "sm_70" => 96 * 1024,
        "sm_80" => 99 * 1024,
        _ => 227 * 1024,
    }
}

/// Every launch configuration the host can choose for `kernel`, over the sizes that change
/// the answer, given `max_threads` (what each entry's registers allow) and the variant's
/// shared-memory limit: the kernel modules' own `config` functions, as the host calls them.
/// A new kernel must be added here.
fn host_configs(kernel: &str, arch: &str, max_threads: &dyn Fn(&str) -> u32) -> Vec<LaunchConfig> {
    use kernels_gpu::nn::loss;
    use kernels_gpu::ops::layout::Shape;
    use kernels_gpu::ops::{copy, map, radix, reduce, scan, sort};
    use kernels_gpu::{elementwise, matmul, sgemm, softmax, tensor_core, wgmma_matmul};
    let f64 = kernel.ends_with("f64") || kernel.contains("_f64_");
    let prefix = |p: &[&str]| p.iter().any(|p| kernel.starts_with(p));
    // Matrix products: one tile, and the most tiles the grid's y dimension takes (the host
    // refuses larger M); the matmul entries also as the largest batch one launch takes (z).
    let tiles = |tile: usize, cfg: &dyn Fn(usize, usize) -> LaunchConfig| {
        let mut v = vec![cfg(1, 1), cfg(65_535 * tile, 1 << 20), cfg(tile + 1, tile * 3 + 1)];
        if !kernel.starts_with("dense_") {
            v.push(matmul::batched(cfg(65_535 * tile, 1 << 20), matmul::MAX_BATCH));
        }
        v
    };
    match kernel {
        _ if prefix(&["sgemm"]) => tiles(sgemm::TILE, &sgemm::config),
        _ if prefix(&["mma_matmul"]) => tiles(tensor_core::TILE, &tensor_core::config),
        _ if prefix(&["wgmma_matmul"]) => tiles(tensor_core::TILE, &wgmma_matmul::config),
        _ if prefix(&["matmul_", "dense_"]) && f64 => tiles(matmul::TILE, &matmul::config::<f64>),
        _ if prefix(&["matmul_", "dense_"]) => tiles(matmul::TILE, &matmul::config::<f32>),
        _ if prefix(&["softmax_regs"]) => {
            // Every row length the one-pass kernels could take, kept where the host picks
            // this entry.
            let (lanes, entries) = if f64 {
                (2, ["softmax_regs_f64_v1", "softmax_regs_f64_v2", "softmax_regs_f64_v4", "softmax_regs_f64_v8"])
            } else {
                (4, ["softmax_regs_f32_v1", "softmax_regs_f32_v2", "softmax_regs_f32_v4", "softmax_regs_f32_v8"])
            };
            let choose = |cols| {
                if f64 {
                    softmax::regs_config::<f64>(3, cols, |i| max_threads(entries[i]))
                } else {
                    softmax::regs_config::<f32>(3, cols, |i| max_threads(entries[i]))
                }
            };
            (1..=8 * 1024)
                .filter_map(|g| choose(g * lanes))
                .filter(|(i, _)| entries[*i] == kernel)
                .map(|(_, cfg)| cfg)
                .collect()
        }
        // The 16-bit entries cache f32 (the `else` below).
        _ if prefix(&["softmax_", "log_softmax_"]) => (1..=40_000)
            .map(|cols| {
                let (m, t) = (max_shared(arch), max_threads(kernel));
                if f64 { softmax::config::<f64>(3, cols, m, t) } else { softmax::config::<f32>(3, cols, m, t) }
            })
            .collect(),
        _ if prefix(&["sum2_"]) => vec![loss::sum2_config(max_threads(kernel))],
        _ if prefix(&["xent_", "mse_"]) => vec![loss::config(1), loss::config(1 << 20)],
        _ if prefix(&["sgd_", "momentum_", "adam_"]) => {
            vec![elementwise::config::<f32>(1, 132 * 32), elementwise::config::<f64>(1 << 30, 132 * 32)]
        }
        // The array ops' map engine: contiguous, by rows (short and long), flat.
        _ if prefix(&["unary_", "binary_", "compare_", "test_", "where_", "cast_", "copy_strided_"]) => {
            let blocks = 132 * 32;
            let mut v = Vec::new();
            for (dims, unit) in [
                (&[1u64][..], true),
                (&[1 << 33], true),
                (&[1, 1], false),
                (&[1 << 20, 33], false),
                (&[1 << 22, 3000], false),
                (&[1 << 20, 3, 5], false),
            ] {
                for lanes in [1, 2, 4, 8, 16] {
                    v.push(map::config(&Shape::new(dims), unit, lanes, blocks));
                }
            }
            v
        }
        // The indexing family walks the map engine's rows and flat mappings (never its
        // contiguous one); `nonzero` is a flat grid-stride loop.
        _ if prefix(&["gather_", "scatter_", "compact_"]) => {
            let dims: [&[u64]; 4] = [&[1], &[1, 1], &[1 << 20, 33], &[1 << 20, 3, 5]];
            dims.iter().map(|d| map::config(&Shape::new(d), false, 1, 132 * 32)).collect()
        }
        // The constructors: the map engine's contiguous mapping (`fill` with its 16-byte
        // groups, `iota` and `eye` one element per thread).
        _ if prefix(&["fill_", "iota_", "eye_"]) => [1u64, 3001, 1 << 33]
            .iter()
            .flat_map(|&n| [1, 2, 4, 8, 16].map(|lanes| map::config(&Shape::flat(n), true, lanes, 132 * 32)))
            .collect(),
        _ if prefix(&["nonzero_"]) => [1, 1 << 33].map(|n| map::config(&Shape::flat(n), true, 1, 132 * 32)).to_vec(),
        _ if prefix(&["transpose_"]) => [1, 33, 1 << 20]
            .iter()
            .flat_map(|&r| [1, 33, 1 << 20].map(|c| copy::transpose_config::<f64>(r, c, 132 * 32)))
            .collect(),
        _ if prefix(&["reduce_inner_"]) => [1, 200, 1 << 20]
            .iter()
            .flat_map(|&o| [1, 256, 257, 1 << 24].map(|r| reduce::inner_config(o, r, 132 * 2048, 132 * 32).0))
            .collect(),
        _ if prefix(&["reduce_outer_"]) => [1, 200, 1 << 20]
            .iter()
            .flat_map(|&o| [1, 256, 1 << 24].map(|r| reduce::outer_config(o, r, 1 << 20, 132 * 32).0))
            .collect(),
        // Shared memory for the widest accumulator (i64, f64) bounds every entry's.
        _ if prefix(&["cumsum_"]) => [1, 1 << 20].map(|r| scan::config::<u64>(r, 132 * 32)).to_vec(),
        // Sorting: a block per row with the row in shared memory (up to 2048 keys), the radix
        // sort's block per 4096-key tile (histogram, scatter) and its flat AND/OR pre-pass, and
        // flat grid-stride loops.
        _ if prefix(&["sort_block_"]) => [1, 33, 1025, 2048].map(|n| sort::block_config(1 << 20, n, 132 * 32)).to_vec(),
        _ if prefix(&["radix_hist_"]) => {
            [1, 1 << 20].map(|r| radix::tile_config(r, 4099, 132 * 32, radix::HIST_SHARED)).to_vec()
        }
        _ if prefix(&["radix_scatter_"]) => {
            [1, 1 << 20].map(|r| radix::tile_config(r, 4099, 132 * 32, radix::SCATTER_SHARED)).to_vec()
        }
        _ if prefix(&["radix_bits_"]) => [1, 1 << 33].map(|n| radix::bits_config(n, 132 * 32)).to_vec(),
        _ if prefix(&["sort_", "searchsorted_"]) => [1, 1 << 33].map(|n| sort::flat_config(n, 132 * 32)).to_vec(),
        _ if prefix(&["reduce_partials_"]) => {
            vec![reduce::partials_config(1, 132 * 32), reduce::partials_config(1 << 30, 132 * 32)]
        }
        _ => panic!("{kernel}: add the configurations the host launches it with to `host_configs` in tests/ptx.rs"),
    }
}

/// What the table says of shared memory: a fixed number, or its range over the host's choices.
fn shared_column(configs: &[LaunchConfig]) -> String {
    let lo = configs.iter().map(|c| c.shared_bytes).min().unwrap_or(0);
    let hi = configs.iter().map(|c| c.shared_bytes).max().unwrap_or(0);
    if lo == hi { lo.to_string() } else { format!("{lo} to {hi}") }
}

/// Checks every configuration against the limits of every GPU the variant claims, given the
/// registers ptxas reported on each: threads per block, registers (rounded to the allocation
/// unit) times threads, dynamic shared memory, and the grid's y and z.
fn check_limits(kernel: &str, arch: &str, configs: &[LaunchConfig], registers: &[(&str, u32)]) {
    use kernels_gpu::launch::{MAX_THREADS_PER_BLOCK, REGISTER_UNIT, REGISTERS_PER_BLOCK};
    assert!(!configs.is_empty(), "{kernel}: the host launches it with no configuration");
    for cfg in configs {
        let threads = cfg.block.volume();
        assert!(threads <= MAX_THREADS_PER_BLOCK as u64, "{kernel} ({arch}): {threads} threads per block");
        for (target, regs) in registers {
            let used = regs.div_ceil(REGISTER_UNIT) as u64 * REGISTER_UNIT as u64 * threads;
            assert!(
                used <= REGISTERS_PER_BLOCK as u64,
                "{kernel} ({arch} PTX on {target}): {threads} threads x {regs} registers need {used} of a block's \
                 {REGISTERS_PER_BLOCK}: the launch fails with CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"
            );
        }
        assert!(cfg.shared_bytes <= max_shared(arch), "{kernel} ({arch}): {} bytes of shared memory", cfg.shared_bytes);
        assert!(cfg.grid.y <= 65_535 && cfg.grid.z <= 65_535, "{kernel} ({arch}): grid {:?}", cfg.grid);
        assert!(cfg.grid.volume() > 0 && threads > 0, "{kernel} ({arch}): empty launch {cfg:?}");
    }
}

/// The most registers a thread may use in a block of `threads` (rounded to whole warps).
fn registers_allowed(threads: u32) -> u32 {
    use kernels_gpu::launch::{MAX_REGISTERS_PER_THREAD, REGISTER_UNIT, REGISTERS_PER_BLOCK};
    let warps = threads.div_ceil(32).max(1);
    (REGISTERS_PER_BLOCK / (32 * warps) / REGISTER_UNIT * REGISTER_UNIT).min(MAX_REGISTERS_PER_THREAD)
}

/// ptxas's notes that it made a `wgmma` wait early or serialized the pipeline (C7515..C7520):
/// it does so when other instructions touch the accumulators while `wgmma`s are in flight.
/// The result stays correct, but the tensor cores idle at each such point.
fn wgmma_hazards(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| (l.contains("GMMA") || l.contains("wgmma")) && (l.contains("injected") || l.contains("serialized")))
        .collect()
}

/// The check above can fail: a `wgmma` pair with an add on an accumulator between them (the
/// mistake it guards against) makes ptxas inject a wait, and `wgmma_hazards` reports it.
#[test]
fn ptxas_reports_an_accumulator_touched_between_wgmmas() {
    let d: Vec<String> = (0..64).map(|i| format!("%f{i}")).collect();
    let mma = format!(
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{{}}}, %rd2, %rd3, p, 1, 1, 0, 0;",
        d.join(",")
    );
    let zero: String = d.iter().map(|r| format!("mov.f32 {r}, 0f00000000;\n")).collect();
    let ptx = format!(
        ".version 8.0\n.target sm_90a\n.address_size 64\n\
         .visible .entry k(.param .u64 out, .param .u64 da, .param .u64 db)\n{{\n\
         .reg .f32 %f<64>;\n.reg .b64 %rd<4>;\n.reg .pred p;\n\
         ld.param.u64 %rd1, [out];\nld.param.u64 %rd2, [da];\nld.param.u64 %rd3, [db];\n{zero}\
         setp.ne.b32 p, 1, 0;\nwgmma.fence.sync.aligned;\n{mma}\nadd.f32 %f0, %f0, 0f3F800000;\n{mma}\n\
         wgmma.commit_group.sync.aligned;\nwgmma.wait_group.sync.aligned 0;\n\
         st.global.f32 [%rd1], %f0;\nst.global.f32 [%rd1+4], %f63;\nret;\n}}\n"
    );
    let file = std::env::temp_dir().join(format!("ferrite-hazard-{}.ptx", std::process::id()));
    std::fs::write(&file, ptx).unwrap();
    let out = file.with_extension("cubin");
    let o = Command::new(ptxas()).args(["-arch=sm_90a", "-v", "-o"]).arg(&out).arg(&file).output().unwrap();
    let _ = (std::fs::remove_file(&file), std::fs::remove_file(&out));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "ptxas failed:\n{log}");
    assert!(!wgmma_hazards(&log).is_empty(), "no hazard reported in:\n{log}");
}

#[test]
fn ptxas_assembles_every_variant_for_every_claimed_gpu_without_spills() {
    let ptxas = ptxas();
    let version = String::from_utf8_lossy(&Command::new(&ptxas).arg("--version").output().unwrap().stdout)
        .lines()
        .find(|l| l.contains("release"))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let (mut table, mut registers) = (String::new(), String::new());
    // One ptxas run per (variant, claimed GPU), handed to as many threads as there are cores
    // (ptxas is single-threaded; the sm_70 variant alone claims 8 GPUs, so one thread per
    // variant left cores idle wherever there are more than two).
    let jobs: Vec<(usize, &str)> =
        VARIANTS.iter().enumerate().flat_map(|(i, v)| claimed_targets(v).into_iter().map(move |t| (i, t))).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(jobs.len());
    let mut done: Vec<(usize, BTreeMap<String, Usage>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(i, target)) = jobs.get(j) else { return out };
                        out.push((j, assemble(VARIANTS[i].ptx, target)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a ptxas run or its checks failed (the message is above)"))
            .collect()
    });
    done.sort_by_key(|(j, _)| *j);
    let mut done = done.into_iter().map(|(_, report)| report);
    for (i, v) in VARIANTS.iter().enumerate() {
        // Jobs are in variant order, each variant's targets in claimed order.
        let reports: Vec<(&str, BTreeMap<String, Usage>)> =
            jobs.iter().filter(|(j, _)| *j == i).map(|&(_, t)| (t, done.next().unwrap())).collect();
        for (target, report) in &reports {
            assert_eq!(report.len(), entries(v.ptx).len(), "{} for {target}: ptxas did not report every entry", v.arch);
            for (k, u) in report {
                // The `*_math_*` entries call libm's functions (`.func`, not inlined: see
                // `prelude/float.rs`), and a call has a stack frame (sin/cos's argument
                // reduction keeps an array there); the cheap ops have their own entries so
                // that they pay for none of it.
                let stack_ok = u.stack_bytes == 0 || k.contains("_math_");
                assert!(
                    u.spill_stores == 0 && u.spill_loads == 0 && stack_ok,
                    "{k} spills or has a stack frame in the {} PTX on {target}: {u:?}",
                    v.arch
                );
            }
        }
        // Registers per entry: the most on any GPU the variant claims, which is what bounds
        // the host's blocks everywhere the variant loads.
        let mut most: BTreeMap<&str, u32> = BTreeMap::new();
        for (_, report) in &reports {
            for (k, u) in report {
                let r = most.entry(k.as_str()).or_default();
                *r = (*r).max(u.registers);
            }
        }
        let limit = |k: &str| kernels_gpu::launch::max_threads_for_registers(most[k]);
        let native = &reports.iter().find(|(t, _)| *t == v.arch).unwrap().1;
        for (k, u) in native {
            let configs = host_configs(k, v.arch, &limit);
            let per_target: Vec<(&str, u32)> = reports.iter().map(|(t, r)| (*t, r[k].registers)).collect();
            check_limits(k, v.arch, &configs, &per_target);
            let largest = configs.iter().map(|c| c.block.volume() as u32).max().unwrap();
            table.push_str(&format!(
                "| `{k}` | {} | {} | {} | {largest} | {} | {} | {} | {} |\n",
                v.arch,
                u.registers,
                most[k.as_str()],
                registers_allowed(largest),
                shared_column(&configs),
                u.spill_stores + u.spill_loads,
                u.barriers
            ));
            registers.push_str(&format!("    (\"{}\", \"{k}\", {}),\n", v.arch, most[k.as_str()]));
        }
    }
    let doc = format!(
        "# ptxas report\n\n\
         Generated by `tests/ptx.rs` with {version}; regenerate with \
         `FERRITE_UPDATE_DOCS=1 cargo test --test ptx`.\n\n\
         Every variant also assembles for every newer GPU it claims (`sm_70` and `sm_80` PTX up to \
         `sm_120`), without spills, and without stack frames except in the `*_math_*` entries, whose \
         libm calls need one. ptxas injected no `wgmma` waits and serialized no \
         `wgmma` pipeline (the test fails if it does).\n\n\
         Launch limits: a block's threads share 65,536 registers, allocated per thread in steps of 8, \
         so a kernel's registers bound its block (`CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK`). \
         *Most registers* is the highest count on any GPU the variant claims; the host sizes blocks \
         by it (`host/src/ptx/registers.rs`, generated with this table; on a GPU, by the driver's own \
         attribute), and the test checks every configuration the host can choose, over the sizes \
         that change it, against every claimed GPU's registers, 1024 threads, the shared-memory \
         limit and the grid's y and z limits. *Largest block* is the largest of those \
         configurations; *registers allowed* is the most a thread may use in it. Shared memory is \
         all dynamic (ptxas reports none): the column gives the bytes per block the kernel module's \
         `config` asks for (a range where it depends on the size, e.g. a cached softmax row).\n\n\
         | kernel | PTX | registers (own arch) | most registers (any claimed GPU) | largest block the host launches | registers allowed at that block | shared bytes per block | spill bytes | barriers |\n\
         |---|---|---|---|---|---|---|---|---|\n{table}"
    );
    check_generated_doc("docs/ptxas.md", "ptx", &doc);
    let generated = format!(
        "//! Generated by `tests/ptx.rs` from ptxas's report ({version}); do not edit. Regenerate with\n\
         //! `FERRITE_UPDATE_DOCS=1 cargo test --test ptx` after changing a kernel.\n\n\
         /// (PTX variant, entry, registers per thread): the most ptxas uses for the entry on any GPU\n\
         /// the variant claims to load on.\n\
         pub(super) const REGISTERS: &[(&str, &str, u32)] = &[\n{registers}];\n"
    );
    check_generated_doc("host/src/ptx/registers.rs", "ptx", &generated);
}
