//! `wgmma` on the emulator: the shared-memory descriptor and the accumulator layout against
//! the PTX ISA's formulas (written out per element here, independently of `emu/wgmma.rs`), and
//! the protocol mistakes the emulator reports. The matmul kernel built on it is tested against
//! an f64 reference in `kernels_tensor_core.rs`.
//!
//! Both this file and the emulator come from one reading of the ISA; only a GPU run can show
//! that reading right (`docs/performance.md`).

mod common;

use kernels_gpu::emu::{DeviceBuffer, LaunchConfig, launch};
use kernels_gpu::prelude::*;
use rstest::rstest;

const M: usize = 64;
const K: usize = 16;
/// Bytes before A in shared memory, so that start addresses are not zero.
const PAD: usize = 48;
const A_BYTES: usize = M * K * 2;
const SHARED: u32 = (PAD + A_BYTES + WGMMA_N * K * 2) as u32;

/// Byte offset of element (`row`, `k`) of a K-major, unswizzled operand: the PTX ISA's
/// canonical layout `((8, m), (8, 2)) : ((8 elements, SBO), (1 element, LBO))` for 16-bit types.
fn canonical(row: usize, k: usize, lbo: usize, sbo: usize) -> usize {
    (row % 8) * 16 + (row / 8) * sbo + (k % 8) * 2 + (k / 8) * lbo
}

fn encode(kind: WgmmaKind, x: f32) -> u16 {
    match kind {
        WgmmaKind::Bf16 => BF16::from_f32(x).0,
        WgmmaKind::F16 => F16::from_f32(x).0,
    }
}

/// One warpgroup computes `D = C + A·B` (64×16 by 16×128) with its core matrices laid out
/// M-/N-adjacent first (SBO = 128 bytes, LBO = the whole column of core matrices), unlike the
/// matmul kernel's K-adjacent layout, and returns D as the ISA's fragment formula places it.
fn warpgroup_wgmma(kind: WgmmaKind, a: &[f32], b: &[f32], c: &[f32]) -> Vec<f32> {
    let (da, db, dc) = (DeviceBuffer::from_slice(a), DeviceBuffer::from_slice(b), DeviceBuffer::from_slice(c));
    let mut dd = DeviceBuffer::<f32>::poisoned(M * WGMMA_N);
    let (pa, pb, pc, pd) = (da.as_ptr() as usize, db.as_ptr() as usize, dc.as_ptr() as usize, dd.as_mut_ptr() as usize);
    let cfg = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(128), shared_bytes: SHARED };
    launch(&cfg, &move || {
        let (a, b, c) = unsafe {
            (
                Global::new(pa as *const f32, M * K),
                Global::new(pb as *const f32, K * WGMMA_N),
                Global::new(pc as *const f32, M * WGMMA_N),
            )
        };
        let d = unsafe { GlobalMut::new(pd as *mut f32, M * WGMMA_N) };
        let s = Shared::<u16>::new(0, SHARED as usize / 2);
        let t = thread_idx().x as usize;
        let (a_lbo, b_lbo) = (M / 8 * 128, WGMMA_N / 8 * 128);
        for e in (t..M * K).step_by(128) {
            let (row, k) = (e / K, e % K);
            s.store((PAD + canonical(row, k, a_lbo, 128)) / 2, encode(kind, a.load(e)));
        }
        for e in (t..K * WGMMA_N).step_by(128) {
            // B is K×N row-major in global memory; the descriptor's rows are its columns.
            let (k, n) = (e / WGMMA_N, e % WGMMA_N);
            s.store((PAD + A_BYTES + canonical(n, k, b_lbo, 128)) / 2, encode(kind, b.load(e)));
        }
        fence_proxy_async_shared();
        sync_threads();
        let (warp, lane) = (t / 32, t % 32);
        // Accumulator i: row 16·warp + lane/4 + 8·((i % 4) / 2), column 8·(i / 4) + 2·(lane % 4) + i % 2.
        let at = |i: usize| (16 * warp + lane / 4 + 8 * ((i % 4) / 2)) * WGMMA_N + 8 * (i / 4) + 2 * (lane % 4) + i % 2;
        let mut acc: WgmmaAcc = core::array::from_fn(|i| c.load(at(i)));
        let desc_a = smem_desc(s.window_addr(PAD / 2), a_lbo as u32, 128);
        let desc_b = smem_desc(s.window_addr((PAD + A_BYTES) / 2), b_lbo as u32, 128);
        wgmma_fence();
        match kind {
            WgmmaKind::Bf16 => wgmma_m64n128k16_bf16(&mut acc, desc_a, desc_b),
            WgmmaKind::F16 => wgmma_m64n128k16_f16(&mut acc, desc_a, desc_b),
        }
        wgmma_commit_group();
        wgmma_wait_group::<0>();
        for (i, &v) in acc.iter().enumerate() {
            d.store(at(i), v);
        }
    })
    .unwrap();
    dd.to_vec()
}

#[rstest]
fn wgmma_descriptors_and_fragments_follow_the_ptx_isa(#[values(WgmmaKind::Bf16, WgmmaKind::F16)] kind: WgmmaKind) {
    // Small integers: exact in bf16, f16 and f32 sums, so D must equal C + A·B exactly and any
    // misplaced element changes some entry.
    let a: Vec<f32> = (0..M * K).map(|i| ((i * 7 + 3) % 11) as f32 - 5.0).collect();
    let b: Vec<f32> = (0..K * WGMMA_N).map(|i| ((i * 5 + 1) % 13) as f32 - 6.0).collect();
    let c: Vec<f32> = (0..M * WGMMA_N).map(|i| ((i * 3) % 7) as f32).collect();
    let d = warpgroup_wgmma(kind, &a, &b, &c);
    for i in 0..M {
        for j in 0..WGMMA_N {
            let want = c[i * WGMMA_N + j] + (0..K).map(|p| a[i * K + p] * b[p * WGMMA_N + j]).sum::<f32>();
            assert_eq!(d[i * WGMMA_N + j], want, "{kind:?}: D[{i}][{j}]");
        }
    }
}

/// Runs `body` in one block of `threads` threads with 8 KiB of shared memory and returns the
/// emulator's error message.
fn failure(threads: u32, body: impl Fn() + Sync) -> String {
    let cfg = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(threads), shared_bytes: 8192 };
    launch(&cfg, &body).expect_err("the emulator accepted a wrong use of wgmma").to_string()
}

/// A descriptor for operands at the start of shared memory (A and B may overlap: these tests
/// are about the protocol, not the values).
fn desc() -> u64 {
    smem_desc(0, 128, 256)
}

/// One complete, correctly ordered `wgmma` with these descriptors.
fn one_wgmma(a: u64, b: u64) {
    wgmma_fence();
    wgmma_m64n128k16_bf16(&mut [0.0; 64], a, b);
    wgmma_commit_group();
    wgmma_wait_group::<0>();
}

#[test]
fn wgmma_protocol_mistakes_are_reported() {
    let acc: WgmmaAcc = [0.0; 64];
    let no_fence = failure(128, || wgmma_m64n128k16_bf16(&mut acc.clone(), desc(), desc()));
    assert!(no_fence.contains("without a wgmma.fence"), "{no_fence}");

    let no_wait = failure(128, || {
        wgmma_fence();
        wgmma_m64n128k16_bf16(&mut acc.clone(), desc(), desc());
        wgmma_commit_group();
    });
    assert!(no_wait.contains("not waited for"), "{no_wait}");

    let uncommitted = failure(128, || {
        wgmma_fence();
        wgmma_m64n128k16_f16(&mut acc.clone(), desc(), desc());
        wgmma_wait_group::<0>();
    });
    assert!(uncommitted.contains("not committed"), "{uncommitted}");

    let partial_group = failure(96, || one_wgmma(desc(), desc()));
    assert!(partial_group.contains("whole warpgroups") && partial_group.contains("96"), "{partial_group}");

    let swizzled = failure(128, || one_wgmma(desc() | 1 << 62, desc()));
    assert!(swizzled.contains("swizzle mode 1"), "{swizzled}");

    let disagree =
        failure(128, || one_wgmma(if thread_idx().x == 5 { smem_desc(16, 128, 256) } else { desc() }, desc()));
    assert!(disagree.contains("lane 5"), "{disagree}");

    // Row 127 of B lies past the launch's 8 KiB with this stride.
    let outside = failure(128, || one_wgmma(desc(), smem_desc(0, 128, 4096)));
    assert!(outside.contains("outside the launch's 8192 bytes"), "{outside}");

    // And the same calls in the right order are accepted.
    let cfg = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(128), shared_bytes: 8192 };
    launch(&cfg, &|| one_wgmma(desc(), desc())).unwrap();
}

/// Writes to shared memory that a `wgmma` in flight reads: before the writer's own wait, and
/// after it but before the other warps' waits (no barrier between). With `desc()`, every warp
/// reads B's 16 core-matrix rows of 8 (SBO 256) at 0..4096, the last 16-byte row at 4080.
#[test]
fn shared_writes_under_a_wgmma_in_flight_are_reported() {
    let issue = || {
        wgmma_fence();
        wgmma_m64n128k16_bf16(&mut [0.0; 64], desc(), desc());
        wgmma_commit_group();
    };
    let view = || Shared::<u32>::new(0, 2048);

    let before_wait = failure(128, || {
        issue();
        if thread_idx().x == 3 {
            view().store(1, 7); // bytes 4..8: row 0 of A and of B
        }
        wgmma_wait_group::<0>();
    });
    assert!(before_wait.contains("thread 3 writes shared bytes [4, 8)"), "{before_wait}");
    // Warps 1-3 may have waited already (threads run in a random order); warp 0 has not.
    assert!(before_wait.contains("a wgmma of warp 0"), "{before_wait}");

    // Warp 0 waits for its wgmma and thread 0 writes, but warps 1-3 wait only after the
    // barrier. (Whether warp 0 is still listed depends on whether its other lanes waited
    // before thread 0 wrote: they run in a random order.)
    let other_warps = failure(128, || {
        issue();
        sync_threads();
        if thread_idx().x < 32 {
            wgmma_wait_group::<0>();
            if thread_idx().x == 0 {
                view().store_v4(1020, [1; 4]); // bytes 4080..4096: B's last row
            }
        }
        sync_threads();
        if thread_idx().x >= 32 {
            wgmma_wait_group::<0>();
        }
    });
    assert!(other_warps.contains("thread 0 writes shared bytes [4080, 4096)"), "{other_warps}");
    assert!(other_warps.contains("1, 2, 3"), "{other_warps}");

    // Every warp waits, then a barrier, then the writes: accepted.
    let cfg = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(128), shared_bytes: 8192 };
    launch(&cfg, &|| {
        issue();
        wgmma_wait_group::<0>();
        sync_threads();
        view().store_v4(4 * thread_idx().x as usize, [2; 4]);
    })
    .unwrap();
}

/// `wgmma.wait_group 1` with two groups in flight: the older group's operands may be
/// overwritten (after a barrier), the newer one's may not, and exiting with it pending is an
/// error. Group 0 reads bytes 0..4096, group 1 the same layout at 4096..8192.
#[test]
fn wait_group_1_retires_all_but_the_newest_group() {
    let (x, y) = (desc(), smem_desc(4096, 128, 256));
    let two_groups = move || {
        wgmma_fence();
        wgmma_m64n128k16_bf16(&mut [0.0; 64], x, x);
        wgmma_commit_group();
        wgmma_m64n128k16_bf16(&mut [0.0; 64], y, y);
        wgmma_commit_group();
        wgmma_wait_group::<1>();
        sync_threads();
    };
    let view = || Shared::<u32>::new(0, 2048);
    let t = || thread_idx().x as usize;

    let newer = failure(128, || {
        two_groups();
        view().store_v4(4 * t(), [3; 4]); // group 0's bytes: accepted
        sync_threads();
        if t() == 5 {
            view().store(1024 + 1, 7); // bytes 4100..4104: group 1's
        }
        wgmma_wait_group::<0>();
    });
    assert!(newer.contains("thread 5 writes shared bytes [4100, 4104)"), "{newer}");
    assert!(newer.contains("warp 0, 1, 2, 3"), "{newer}");

    let left_pending = failure(128, two_groups);
    assert!(left_pending.contains("1 wgmma groups not waited for"), "{left_pending}");

    let cfg = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(128), shared_bytes: 8192 };
    launch(&cfg, &|| {
        two_groups();
        view().store_v4(4 * t(), [3; 4]);
        wgmma_wait_group::<0>();
        sync_threads();
        view().store_v4(1024 + 4 * t(), [4; 4]);
    })
    .unwrap();
}

/// Lanes run one at a time here but wait together on a GPU: a lane's writes after its own
/// wait are judged by its own wait, not by whether the rest of its warp has run that far; and
/// a lane waiting twice does not stand in for one that has not waited. Both hold in every
/// interleaving (`FERRITE_EMU_SEED`). A is at 0 (warp 0 reads bytes 0..512), B at 4096.
#[test]
fn waits_are_counted_per_lane() {
    let issue = || {
        wgmma_fence();
        wgmma_m64n128k16_bf16(&mut [0.0; 64], desc(), smem_desc(4096, 128, 256));
        wgmma_commit_group();
    };
    let view = || Shared::<u32>::new(0, 2048);
    let cfg = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(128), shared_bytes: 8192 };
    launch(&cfg, &|| {
        issue();
        wgmma_wait_group::<0>();
        if thread_idx().x == 0 {
            view().store(0, 1); // only warp 0's wgmma read byte 0, and this lane waited for it
        }
    })
    .unwrap();

    let early = failure(128, || {
        issue();
        if thread_idx().x == 5 {
            view().store(0, 1);
        }
        wgmma_wait_group::<0>();
        wgmma_wait_group::<0>();
    });
    assert!(early.contains("thread 5 writes shared bytes [0, 4)") && early.contains("warp 0"), "{early}");
}
