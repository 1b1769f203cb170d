//! The CPU grid emulator's semantics: what it must get right for kernel tests to mean anything.

mod common;

use common::*;
use kernels_gpu::emu::{DeviceBuffer, EmuError, LaunchConfig, launch};
use kernels_gpu::prelude::*;

fn cfg(grid: Dim3, block: Dim3, shared_bytes: u32) -> LaunchConfig {
    LaunchConfig { grid, block, shared_bytes }
}

/// Each thread writes its slot, then reads its neighbour's. Returns what the threads read.
fn neighbour_exchange(with_barrier: bool) -> Vec<u32> {
    let n = 128usize;
    let mut out = DeviceBuffer::<u32>::poisoned(n);
    let o = out.as_mut_ptr() as usize;
    launch(&cfg(Dim3::x(1), Dim3::x(n as u32), 4 * n as u32), &move || {
        let out = unsafe { GlobalMut::new(o as *mut u32, n) };
        let s = Shared::<u32>::new(0, n);
        let t = thread_idx().x as usize;
        s.store(t, t as u32);
        if with_barrier {
            sync_threads();
        }
        out.store(t, s.load((t + 1) % n));
    })
    .unwrap();
    out.to_vec()
}

#[test]
fn barrier_orders_shared_memory_and_its_absence_is_caught() {
    let want: Vec<u32> = (0..128).map(|t| (t + 1) % 128).collect();
    assert_eq!(neighbour_exchange(true), want);
    // Without the barrier some thread reads its neighbour's slot before it is written and
    // gets the poison: the emulator interleaves threads, it does not run them in order.
    assert_ne!(neighbour_exchange(false), want);
}

#[test]
fn each_block_has_its_own_poisoned_shared_memory() {
    let blocks = 37usize;
    let mut out = DeviceBuffer::<u32>::poisoned(blocks * 64 * 2);
    let o = out.as_mut_ptr() as usize;
    launch(&cfg(Dim3::x(blocks as u32), Dim3::x(64), 4), &move || {
        let out = unsafe { GlobalMut::new(o as *mut u32, blocks * 128) };
        let s = Shared::<u32>::new(0, 1);
        let (b, t) = (block_idx().x, thread_idx().x);
        let before = s.load(0);
        sync_threads();
        if t == 0 {
            s.store(0, b);
        }
        sync_threads();
        let i = (b * 64 + t) as usize * 2;
        out.store(i, before);
        out.store(i + 1, s.load(0));
    })
    .unwrap();
    let v = out.to_vec();
    for b in 0..blocks {
        for t in 0..64 {
            let i = (b * 64 + t) * 2;
            assert_eq!(v[i], u32::MAX, "block {b} thread {t} saw shared memory it did not write");
            assert_eq!(v[i + 1], b as u32, "block {b} thread {t} saw another block's shared memory");
        }
    }
}

#[test]
fn shuffles_follow_the_cuda_intrinsics() {
    let mut out = DeviceBuffer::<u32>::poisoned(64 * 4);
    let o = out.as_mut_ptr() as usize;
    launch(&cfg(Dim3::x(1), Dim3::x(64), 0), &move || {
        let out = unsafe { GlobalMut::new(o as *mut u32, 256) };
        let t = thread_idx().x as usize;
        let v = t as u32 * 3 + 1;
        out.store(t * 4, shfl_xor(v, 5));
        out.store(t * 4 + 1, v.shfl(Shfl::Down, 3));
        out.store(t * 4 + 2, v.shfl(Shfl::Up, 2));
        out.store(t * 4 + 3, v.shfl(Shfl::Idx, 7));
    })
    .unwrap();
    let v = out.to_vec();
    let val = |warp: usize, lane: usize| (warp * 32 + lane) as u32 * 3 + 1;
    for t in 0..64 {
        let (w, l) = (t / 32, t % 32);
        assert_eq!(v[t * 4], val(w, l ^ 5), "xor, thread {t}");
        assert_eq!(v[t * 4 + 1], val(w, if l + 3 < 32 { l + 3 } else { l }), "down, thread {t}");
        assert_eq!(v[t * 4 + 2], val(w, if l >= 2 { l - 2 } else { l }), "up, thread {t}");
        assert_eq!(v[t * 4 + 3], val(w, 7), "idx, thread {t}");
    }
}

#[test]
fn warp_and_block_sums_reach_every_thread() {
    for &threads in &[32usize, 96, 1024] {
        let x: Vec<f64> = uniform(&mut rng(&format!("block sum {threads}")), threads, -1.0, 1.0);
        let dx = DeviceBuffer::from_slice(&x);
        let mut out = DeviceBuffer::<f64>::poisoned(threads * 2);
        let (xi, o) = (dx.as_ptr() as usize, out.as_mut_ptr() as usize);
        launch(&cfg(Dim3::x(1), Dim3::x(threads as u32), 32 * 8), &move || {
            let x = unsafe { Global::new(xi as *const f64, threads) };
            let out = unsafe { GlobalMut::new(o as *mut f64, threads * 2) };
            let t = thread_idx().x as usize;
            let scratch = Shared::<f64>::new(0, 32);
            out.store(2 * t, warp_sum(x.load(t)));
            out.store(2 * t + 1, block_sum(x.load(t), &scratch));
        })
        .unwrap();
        let v = out.to_vec();
        let total: f64 = x.iter().sum();
        for t in 0..threads {
            let warp: f64 = x[t / 32 * 32..t / 32 * 32 + 32].iter().sum();
            assert!((v[2 * t] - warp).abs() < 1e-13, "warp sum at thread {t}");
            assert!((v[2 * t + 1] - total).abs() < 1e-12, "block sum at thread {t}");
            assert_eq!(v[2 * t + 1].to_bits(), v[1].to_bits(), "threads disagree on the block sum");
        }
    }
}

#[test]
fn every_thread_of_a_3d_grid_runs_once_with_its_indices() {
    let (grid, block) = (Dim3::new(3, 2, 2), Dim3::new(8, 4, 2));
    let n = (grid.volume() * block.volume()) as usize;
    let mut out = DeviceBuffer::<u32>::poisoned(n);
    let o = out.as_mut_ptr() as usize;
    launch(&cfg(grid, block, 0), &move || {
        let out = unsafe { GlobalMut::new(o as *mut u32, n) };
        let (b, g) = (block_idx(), grid_dim());
        let block_rank = (b.z * g.y + b.y) * g.x + b.x;
        let i = block_rank * block_dim().volume() as u32 + thread_rank();
        assert_eq!(out.load(i as usize), u32::MAX, "thread ran twice");
        out.store(i as usize, i);
    })
    .unwrap();
    assert_eq!(out.to_vec(), (0..n as u32).collect::<Vec<_>>());
}

#[test]
fn a_barrier_some_threads_skip_is_an_error() {
    let err = launch(&cfg(Dim3::x(2), Dim3::x(64), 0), &|| {
        if thread_idx().x < 16 {
            return;
        }
        sync_threads();
    })
    .unwrap_err();
    assert!(matches!(err, EmuError::Divergence { .. }), "{err}");
    assert!(err.to_string().contains("48 of 64 threads wait at bar.sync"), "{err}");
}

#[test]
fn a_shuffle_in_a_partial_warp_is_an_error() {
    let err = launch(&cfg(Dim3::x(1), Dim3::x(48), 0), &|| {
        shfl_xor(1u32, 1);
    })
    .unwrap_err();
    assert!(matches!(err, EmuError::Divergence { .. }), "{err}");
}

#[test]
fn a_view_past_its_allocation_is_caught() {
    let b = DeviceBuffer::<f32>::poisoned(100);
    let p = b.as_ptr() as usize;
    let err = launch(&cfg(Dim3::x(1), Dim3::x(32), 0), &move || {
        let _ = unsafe { Global::new(p as *const f32, 101) };
    })
    .unwrap_err();
    assert!(matches!(err, EmuError::KernelPanic { .. }) && err.to_string().contains("past the end"), "{err}");

    let err = launch(&cfg(Dim3::x(1), Dim3::x(32), 0), &move || {
        let v = unsafe { Global::new(p as *const f32, 100) };
        v.load(100);
    })
    .unwrap_err();
    assert!(err.to_string().contains("out of bounds"), "{err}");

    let err = launch(&cfg(Dim3::x(1), Dim3::x(32), 64), &|| {
        let _ = Shared::<f32>::new(0, 17);
    })
    .unwrap_err();
    assert!(err.to_string().contains("shared view"), "{err}");
}

/// A view of 64 u16 at device address `p`.
fn view(p: usize) -> Global<u16> {
    unsafe { Global::new(p as *const u16, 64) }
}

/// The vector accesses the wgmma kernel stages with (`ld.global.v2/v4`, `st.shared.v4`) must be
/// aligned to their width and inside their view, as on the GPU.
#[test]
fn misaligned_or_overrunning_vector_accesses_are_caught() {
    let b = DeviceBuffer::<u16>::poisoned(64);
    let p = b.as_ptr() as usize;
    let one = |f: fn(usize)| launch(&cfg(Dim3::x(1), Dim3::x(32), 64), &move || f(p)).map_err(|e| e.to_string());
    assert_eq!(
        one(|p| {
            let _ = view(p).load_v4(8);
        }),
        Ok(())
    );
    assert_eq!(
        one(|p| {
            let _ = view(p).load_v2(4);
        }),
        Ok(())
    );
    let misaligned = one(|p| {
        let _ = view(p).load_v4(4);
    })
    .unwrap_err();
    assert!(misaligned.contains("16-byte vector access") && misaligned.contains("misaligned"), "{misaligned}");
    let misaligned = one(|p| {
        let _ = view(p).load_v2(2);
    })
    .unwrap_err();
    assert!(misaligned.contains("8-byte vector access"), "{misaligned}");
    let overrun = one(|p| {
        let _ = view(p).load_v4(56 + 8);
    })
    .unwrap_err();
    assert!(overrun.contains("out of bounds"), "{overrun}");
    let shared = one(|_| Shared::<u32>::new(0, 16).store_v4(2, [0; 4])).unwrap_err();
    assert!(shared.contains("misaligned"), "{shared}");
}

#[test]
fn launch_limits_are_cudas() {
    let nothing = || {};
    for bad in [
        cfg(Dim3::x(1), Dim3::x(1025), 0),
        cfg(Dim3::x(0), Dim3::x(32), 0),
        cfg(Dim3::new(1, 65536, 1), Dim3::x(32), 0),
        cfg(Dim3::x(1), Dim3::new(1, 1, 65), 0),
        cfg(Dim3::x(1), Dim3::x(32), 48 * 1024 + 1),
    ] {
        let err = launch(&bad, &nothing).unwrap_err();
        assert!(matches!(err, EmuError::InvalidConfig(_)), "{bad:?}: {err}");
    }
}
