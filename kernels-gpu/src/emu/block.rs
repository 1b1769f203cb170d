//! One block at a time: its threads as coroutines, its barrier and its warps.
//!
//! A thread runs until it reaches `bar.sync`, a warp collective or its end. When no thread
//! can run, either every thread waits at the barrier (it opens), or every thread has ended
//! (the block is done), or the block is stuck, which on a GPU would be a hang or undefined
//! behaviour; here it is an error naming the threads involved.
//!
//! Threads are resumed in a fresh pseudo-random order after every barrier and collective,
//! so a kernel that reads shared memory another thread writes without a barrier between
//! them sees stale (poisoned) data in some order and fails its test.

use super::EmuError;
use super::thread::{BlockCtx, Suspend, ThreadCtx, ThreadYielder, set_current};
use super::warp::{self, WARP, WarpRequest, WarpResponse};
use crate::launch::{Dim3, LaunchConfig};
use core::cell::Cell;
use core::ptr;
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult};
use std::boxed::Box;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

/// Generous for kernel frames built with debug assertions.
const STACK_BYTES: usize = 256 * 1024;

type ThreadCoroutine = Coroutine<WarpResponse, Suspend, (), DefaultStack>;

#[derive(Clone, Copy, PartialEq)]
enum State {
    Ready(WarpResponse),
    AtBarrier,
    AtWarp,
    Done,
}

/// Coroutine stacks kept between launches: mapping them is most of a small launch's cost.
struct PooledStack(DefaultStack);
// SAFETY: a stack is a private memory mapping, used by one thread at a time.
unsafe impl Send for PooledStack {}
static POOL: std::sync::Mutex<Vec<PooledStack>> = std::sync::Mutex::new(Vec::new());
/// Enough for two workers' largest blocks; beyond this, stacks are unmapped.
const POOL_MAX: usize = 4096;

/// Per-OS-thread state reused from block to block: coroutine stacks and shared memory.
pub(crate) struct BlockRunner {
    stacks: Vec<DefaultStack>,
    shared: Vec<u128>,
}

impl Drop for BlockRunner {
    fn drop(&mut self) {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        let room = POOL_MAX.saturating_sub(pool.len());
        pool.extend(self.stacks.drain(..).take(room).map(PooledStack));
    }
}

impl BlockRunner {
    pub(crate) fn new() -> Self {
        BlockRunner { stacks: Vec::new(), shared: Vec::new() }
    }

    fn stack(&mut self) -> DefaultStack {
        if let Some(s) = self.stacks.pop() {
            return s;
        }
        if let Some(PooledStack(s)) = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return s;
        }
        DefaultStack::new(STACK_BYTES).expect("cannot map an emulator thread stack")
    }

    pub(crate) fn run(
        &mut self,
        kernel: &(dyn Fn() + Sync),
        cfg: &LaunchConfig,
        block_idx: Dim3,
        seed: u64,
    ) -> Result<(), EmuError> {
        // Fresh, poisoned shared memory for every block: leftovers would hide missing writes.
        let words = (cfg.shared_bytes as usize).div_ceil(16);
        self.shared.clear();
        self.shared.resize(words, u128::MAX);
        let bctx = BlockCtx {
            block_idx,
            block_dim: cfg.block,
            grid_dim: cfg.grid,
            shared: if words == 0 { ptr::null_mut() } else { self.shared.as_mut_ptr().cast() },
            shared_bytes: cfg.shared_bytes,
            wgmma_reads: Default::default(),
        };
        let n = cfg.block.volume() as usize;
        let ctxs: Vec<ThreadCtx> = (0..n)
            .map(|t| ThreadCtx {
                thread_idx: unlinear(t as u64, cfg.block),
                block: &bctx,
                yielder: Cell::new(ptr::null()),
                wgmma: Cell::new(Default::default()),
                wgmma_acc: Cell::new([0; 64]),
            })
            .collect();
        let mut threads: Vec<ThreadCoroutine> = Vec::with_capacity(n);
        for ctx in &ctxs {
            let stack = self.stack();
            let body = move |y: &ThreadYielder, _start: WarpResponse| {
                ctx.yielder.set(y);
                kernel();
            };
            // SAFETY: `ctx` and `kernel` outlive every coroutine: all of them are finished or
            // dropped before this function returns.
            threads.push(unsafe { Coroutine::with_stack_unchecked(stack, body) });
        }
        let mut sched = Scheduler::new(n, seed);
        let result = sched.run(&mut threads, &ctxs, block_idx);
        set_current(ptr::null());
        if result.is_ok() {
            self.stacks.extend(threads.into_iter().map(|t| t.into_stack()));
        }
        // On error the unfinished coroutines are dropped here, which unwinds their stacks.
        result
    }
}

struct Scheduler {
    state: Vec<State>,
    ready: Vec<usize>,
    requests: Vec<Option<WarpRequest>>,
    arrived: Vec<usize>,
    rng: u64,
}

impl Scheduler {
    fn new(n: usize, seed: u64) -> Self {
        let mut s = Scheduler {
            state: vec![State::Ready(WarpResponse::Go); n],
            ready: Vec::with_capacity(n),
            requests: vec![None; n],
            arrived: vec![0; n.div_ceil(WARP)],
            rng: seed | 1,
        };
        s.make_ready((0..n).collect());
        s
    }

    /// Queues threads in a shuffled order (Fisher-Yates on an xorshift stream).
    fn make_ready(&mut self, mut ts: Vec<usize>) {
        for i in (1..ts.len()).rev() {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            ts.swap(i, (self.rng % (i as u64 + 1)) as usize);
        }
        self.ready.extend(ts);
    }

    fn run(&mut self, threads: &mut [ThreadCoroutine], ctxs: &[ThreadCtx], block: Dim3) -> Result<(), EmuError> {
        let n = threads.len();
        loop {
            while let Some(t) = self.ready.pop() {
                let State::Ready(input) = self.state[t] else { unreachable!() };
                set_current(&ctxs[t]);
                let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| threads[t].resume(input)));
                let thread = ctxs[t].thread_idx;
                match step {
                    Err(payload) => {
                        return Err(EmuError::KernelPanic { block, thread, message: panic_message(payload) });
                    }
                    Ok(CoroutineResult::Return(())) => {
                        if let Some(message) = ctxs[t].wgmma.get().exit_error() {
                            return Err(EmuError::KernelPanic { block, thread, message });
                        }
                        self.state[t] = State::Done;
                    }
                    Ok(CoroutineResult::Yield(Suspend::Barrier)) => self.state[t] = State::AtBarrier,
                    Ok(CoroutineResult::Yield(Suspend::Warp(req))) => {
                        self.arrive_at_warp(t, req, ctxs, block, thread)?
                    }
                }
            }
            let count = |s: State| self.state.iter().filter(|&&x| x == s).count();
            let (done, at_barrier, at_warp) = (count(State::Done), count(State::AtBarrier), count(State::AtWarp));
            if done == n {
                return Ok(());
            }
            if at_barrier == n {
                self.state.fill(State::Ready(WarpResponse::Go));
                self.make_ready((0..n).collect());
                continue;
            }
            return Err(EmuError::Divergence {
                block,
                message: format!(
                    "no thread can run: {at_barrier} of {n} threads wait at bar.sync, {at_warp} wait at a warp \
                     collective, {done} have exited{}",
                    self.first_stuck_warp()
                ),
            });
        }
    }

    fn arrive_at_warp(
        &mut self,
        t: usize,
        req: WarpRequest,
        ctxs: &[ThreadCtx],
        block: Dim3,
        thread: Dim3,
    ) -> Result<(), EmuError> {
        let n = ctxs.len();
        let w = t / WARP;
        let lanes = (n - w * WARP).min(WARP);
        if lanes < WARP {
            return Err(EmuError::Divergence {
                block,
                message: format!(
                    "thread {thread:?} is at a full-warp collective in warp {w}, which has only {lanes} threads \
                     (block of {n} threads is not a multiple of 32)"
                ),
            });
        }
        self.state[t] = State::AtWarp;
        self.requests[t] = Some(req);
        self.arrived[w] += 1;
        if self.arrived[w] < WARP {
            return Ok(());
        }
        self.arrived[w] = 0;
        let base = w * WARP;
        let reqs: [WarpRequest; WARP] = core::array::from_fn(|l| self.requests[base + l].take().unwrap());
        let answers = warp::evaluate(&reqs, &ctxs[base..base + WARP])
            .map_err(|m| EmuError::Divergence { block, message: format!("warp {w} disagrees at a collective: {m}") })?;
        for (l, a) in answers.into_iter().enumerate() {
            self.state[base + l] = State::Ready(a);
        }
        self.make_ready((base..base + WARP).collect());
        Ok(())
    }

    fn first_stuck_warp(&self) -> String {
        for (w, &k) in self.arrived.iter().enumerate() {
            if k > 0 {
                return format!("; warp {w} has {k} of 32 lanes at a collective");
            }
        }
        String::new()
    }
}

/// Thread (or block) coordinates of a linear index, `x` fastest.
pub(crate) fn unlinear(i: u64, dim: Dim3) -> Dim3 {
    let x = i % dim.x as u64;
    let y = (i / dim.x as u64) % dim.y as u64;
    let z = i / (dim.x as u64 * dim.y as u64);
    Dim3::new(x as u32, y as u32, z as u32)
}

fn panic_message(payload: Box<dyn core::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
