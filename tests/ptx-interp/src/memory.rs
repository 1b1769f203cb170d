//! The state spaces a kernel touches, each bounds-checked: global memory (host addresses
//! registered by the emulated device's allocator), per-block shared memory with a data-race
//! detector and the async-proxy bookkeeping `wgmma` needs, and per-thread local memory.
//!
//! Generic addresses: global addresses are host addresses (below 2^47); shared, local and
//! const addresses live in windows far above them, so a shared address used as a generic one
//! (a missing `cvta`), or the reverse, lands outside every allocation and faults. The module's
//! own `.global` variables are in a window of their own too ([`crate::data::DATA_WINDOW`]),
//! and functions' addresses (for indirect calls) in one that no access may touch.

use kernels_gpu::emu::allocation_containing;

/// Generic address of shared-window address 0.
pub const SHARED_WINDOW: u64 = 0xff00_0000_0000_0000;
/// Generic address of local-window address 0.
pub const LOCAL_WINDOW: u64 = 0xfe00_0000_0000_0000;
/// Generic address of const-space address 0.
pub const CONST_WINDOW: u64 = 0xfc00_0000_0000_0000;
/// Addresses of functions (`mov.u64 d, func`): function `i` of the module is at `FUNC_WINDOW + 16 i`.
pub const FUNC_WINDOW: u64 = 0xfb00_0000_0000_0000;
const WINDOW: u64 = 1 << 32;

/// Where a generic address points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Global(u64),
    Shared(u64),
    Local(u64),
    /// An offset in the module's `.global` segment.
    Data(u64),
    /// A const-space address (an offset in the module's `.const` segment).
    Const(u64),
}

pub fn classify(generic: u64) -> Place {
    if generic.wrapping_sub(SHARED_WINDOW) < WINDOW {
        Place::Shared(generic - SHARED_WINDOW)
    } else if generic.wrapping_sub(LOCAL_WINDOW) < WINDOW {
        Place::Local(generic - LOCAL_WINDOW)
    } else if generic.wrapping_sub(crate::data::DATA_WINDOW) < WINDOW {
        Place::Data(generic - crate::data::DATA_WINDOW)
    } else if generic.wrapping_sub(CONST_WINDOW) < WINDOW {
        Place::Const(generic - CONST_WINDOW)
    } else {
        Place::Global(generic)
    }
}

/// Global memory as the emulated device allocated it, with the allocations this worker has
/// already looked up.
#[derive(Default)]
pub struct GlobalMem {
    known: Vec<(u64, u64)>,
}

impl GlobalMem {
    pub fn check(&mut self, addr: u64, bytes: u64) -> Result<(), String> {
        let end = addr.checked_add(bytes).ok_or_else(|| format!("address {addr:#x} wraps around"))?;
        if self.known.iter().any(|&(s, e)| addr >= s && end <= e) {
            return Ok(());
        }
        // An access that starts right at an allocation's end belongs to that allocation.
        let owner = allocation_containing(addr as usize)
            .or_else(|| allocation_containing(addr.checked_sub(1)? as usize).filter(|&(s, l)| s + l == addr as usize));
        match owner {
            Some((start, len)) => {
                let (s, e) = (start as u64, start as u64 + len as u64);
                if end <= e {
                    if self.known.len() >= 16 {
                        self.known.remove(0);
                    }
                    self.known.push((s, e));
                    Ok(())
                } else {
                    Err(format!(
                        "{bytes}-byte global access at {addr:#x} runs {} bytes past the end of its {len}-byte \
                         allocation at {start:#x}",
                        end - e
                    ))
                }
            }
            None => Err(format!("{bytes}-byte global access at {addr:#x} is not inside any device allocation")),
        }
    }

    /// # Safety
    /// `addr` passed [`GlobalMem::check`] for `bits / 8` bytes.
    pub unsafe fn load(addr: u64, bits: u32) -> u64 {
        unsafe {
            match bits {
                8 => *(addr as *const u8) as u64,
                16 => (addr as *const u16).read_unaligned() as u64,
                32 => (addr as *const u32).read_unaligned() as u64,
                _ => (addr as *const u64).read_unaligned(),
            }
        }
    }

    /// # Safety
    /// As for [`GlobalMem::load`].
    pub unsafe fn store(addr: u64, bits: u32, v: u64) {
        unsafe {
            match bits {
                8 => *(addr as *mut u8) = v as u8,
                16 => (addr as *mut u16).write_unaligned(v as u16),
                32 => (addr as *mut u32).write_unaligned(v as u32),
                _ => (addr as *mut u64).write_unaligned(v),
            }
        }
    }
}

/// What the race detector knows of one 4-byte word of shared memory (or, for a word that
/// narrower accesses have split, of one of its bytes).
#[derive(Clone, Copy, Default)]
struct Word {
    /// Barrier interval (+1; 0 = never) of the last write and the last read.
    w_epoch: u32,
    r_epoch: u32,
    writer: u32,
    /// The reading thread, or `MANY` when several read it in that interval.
    reader: u32,
    w_line: u32,
    /// The writer's count of `fence.proxy.async` at the time of the write.
    w_fence: u32,
    /// `wgmma` groups in flight that read this word.
    inflight: u32,
    /// Tracked byte by byte in [`SharedMem::split`]: a 1- or 2-byte access touched the word
    /// (threads writing different bytes of one word do not race).
    split: bool,
}

const MANY: u32 = u32::MAX;

/// One block's shared memory.
pub struct SharedMem {
    data: Vec<u8>,
    words: Vec<Word>,
    /// The byte-level records of split words, by word.
    split: std::collections::HashMap<usize, [Word; 4]>,
    pub race_check: bool,
}

/// Who accesses memory: the thread (linear index in its block), the barrier interval and
/// the PTX line, for the race detector's messages.
#[derive(Clone, Copy)]
pub struct Accessor {
    pub tid: u32,
    pub epoch: u32,
    pub line: u32,
    /// This thread's `fence.proxy.async` count.
    pub fences: u32,
}

impl Default for SharedMem {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedMem {
    pub fn new() -> Self {
        SharedMem { data: Vec::new(), words: Vec::new(), split: Default::default(), race_check: true }
    }

    /// A fresh block: `bytes` of shared memory, every byte `0xFF` (as on the emulator).
    pub fn reset(&mut self, bytes: u32) {
        self.data.clear();
        self.data.resize(bytes as usize, 0xff);
        self.words.clear();
        self.words.resize((bytes as usize).div_ceil(4), Word::default());
        self.split.clear();
    }

    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn check(&self, addr: u64, bytes: u64) -> Result<(), String> {
        if addr.checked_add(bytes).is_none_or(|end| end > self.size()) {
            return Err(format!(
                "{bytes}-byte shared access at shared address {addr:#x} is outside the block's {} bytes of shared \
                 memory",
                self.size()
            ));
        }
        Ok(())
    }

    fn words_of(addr: u64, bytes: u64) -> std::ops::Range<usize> {
        (addr / 4) as usize..(addr + bytes).div_ceil(4) as usize
    }

    /// Loads `bits` at `addr` (checked), recording the read for the race detector.
    #[inline]
    pub fn load(&mut self, addr: u64, bits: u32, who: Accessor) -> Result<u64, String> {
        let bytes = bits as u64 / 8;
        if self.race_check {
            self.track(addr, bytes, |m| read(m, addr, who))?;
        }
        Ok(self.raw(addr, bits))
    }

    /// Runs `f` on the race records `[addr, addr + bytes)` covers: whole words, or the bytes
    /// of words that a narrower access split.
    #[inline]
    fn track(
        &mut self,
        addr: u64,
        bytes: u64,
        mut f: impl FnMut(&mut Word) -> Result<(), String>,
    ) -> Result<(), String> {
        let whole = addr % 4 == 0 && bytes % 4 == 0;
        for w in Self::words_of(addr, bytes) {
            if whole && !self.words[w].split {
                f(&mut self.words[w])?;
                continue;
            }
            let word = &mut self.words[w];
            word.split = true;
            let parts = self.split.entry(w).or_insert([*word; 4]);
            let first = addr.max(w as u64 * 4);
            let end = (addr + bytes).min(w as u64 * 4 + 4);
            for b in first..end {
                f(&mut parts[(b % 4) as usize])?;
            }
        }
        Ok(())
    }
    #[inline]
    pub fn raw(&self, addr: u64, bits: u32) -> u64 {
        let a = addr as usize;
        match bits {
            32 => return u32::from_le_bytes(self.data[a..a + 4].try_into().unwrap()) as u64,
            64 => return u64::from_le_bytes(self.data[a..a + 8].try_into().unwrap()),
            _ => {}
        }
        let mut buf = [0u8; 8];
        buf[..bits as usize / 8].copy_from_slice(&self.data[a..a + bits as usize / 8]);
        u64::from_le_bytes(buf)
    }

    /// Stores `bits` of `v` at `addr` (checked): a race if another thread read or wrote the
    /// bytes in this barrier interval, or a `wgmma` in flight reads them.
    pub fn store(&mut self, addr: u64, bits: u32, v: u64, who: Accessor) -> Result<(), String> {
        let bytes = bits as u64 / 8;
        for w in Self::words_of(addr, bytes) {
            if self.words[w].inflight > 0 {
                return Err(format!(
                    "stores to shared address {addr:#x}, which a wgmma.mma_async still in flight reads (wait for its \
                     group with wgmma.wait_group first)"
                ));
            }
        }
        let check = self.race_check;
        self.track(addr, bytes, |m| write(m, addr, who, check))?;
        let a = addr as usize;
        self.data[a..a + bytes as usize].copy_from_slice(&v.to_le_bytes()[..bytes as usize]);
        Ok(())
    }

    /// A `wgmma` operand read through the async proxy: every byte must have been written
    /// before the current barrier interval, by a thread that executed `fence.proxy.async`
    /// after writing it (`fences[t]` is thread `t`'s count now).
    pub fn async_read(&self, addr: u64, bytes: u64, epoch: u32, fences: &[u32]) -> Result<&[u8], String> {
        self.check(addr, bytes)?;
        for w in Self::words_of(addr, bytes) {
            let whole = [self.words[w]];
            let records: &[Word] = match self.split.get(&w) {
                Some(bytes) => bytes,
                None => &whole,
            };
            for m in records {
                if m.w_epoch == 0 {
                    continue;
                }
                if m.w_epoch == epoch + 1 {
                    return Err(format!(
                        "data race: wgmma.mma_async reads shared address {:#x}, written by thread {} (PTX line {}) with \
                     no bar.sync in between",
                        w * 4,
                        m.writer,
                        m.w_line
                    ));
                }
                if fences.get(m.writer as usize).copied() == Some(m.w_fence) {
                    return Err(format!(
                        "async-proxy ordering: wgmma.mma_async reads shared address {:#x}, written by thread {} (PTX line \
                     {}) through the generic proxy with no fence.proxy.async after the write",
                        w * 4,
                        m.writer,
                        m.w_line
                    ));
                }
            }
        }
        Ok(&self.data[addr as usize..(addr + bytes) as usize])
    }

    /// Marks (`+1`) or releases (`-1`) words read by a `wgmma` group in flight.
    pub fn mark_inflight(&mut self, addr: u64, bytes: u64, delta: i32) {
        for w in Self::words_of(addr, bytes) {
            let m = &mut self.words[w];
            m.inflight = (m.inflight as i64 + delta as i64) as u32;
        }
    }
}

/// A read of a race record by `who`: a race if another thread wrote it in this interval.
#[inline]
fn read(m: &mut Word, addr: u64, who: Accessor) -> Result<(), String> {
    if m.w_epoch == who.epoch + 1 && m.writer != who.tid {
        return Err(race("reads", addr, "written", m.writer, m.w_line));
    }
    m.reader = if m.r_epoch == who.epoch + 1 && m.reader != who.tid { MANY } else { who.tid };
    m.r_epoch = who.epoch + 1;
    Ok(())
}

/// A write of a race record by `who`: a race if another thread read or wrote it in this
/// interval (checked only with `check`; the record is kept either way, for `wgmma`).
#[inline]
fn write(m: &mut Word, addr: u64, who: Accessor, check: bool) -> Result<(), String> {
    if check {
        if m.w_epoch == who.epoch + 1 && m.writer != who.tid {
            return Err(race("writes", addr, "written", m.writer, m.w_line));
        }
        if m.r_epoch == who.epoch + 1 && m.reader != who.tid {
            let by = if m.reader == MANY { "other threads".to_string() } else { format!("thread {}", m.reader) };
            return Err(format!(
                "data race: writes shared address {addr:#x}, which {by} read since the last bar.sync (no barrier \
                 between the read and this write)"
            ));
        }
    }
    m.w_epoch = who.epoch + 1;
    m.writer = who.tid;
    m.w_line = who.line;
    m.w_fence = who.fences;
    Ok(())
}

fn race(what: &str, addr: u64, how: &str, other: u32, line: u32) -> String {
    format!(
        "data race: {what} shared address {addr:#x}, which thread {other} {how} at PTX line {line} since the last \
         bar.sync (no barrier in between)"
    )
}

/// Per-thread local memory of one block.
#[derive(Default)]
pub struct LocalMem {
    data: Vec<u8>,
    per_thread: u64,
}

impl LocalMem {
    pub fn reset(&mut self, threads: u32, per_thread: u32) {
        self.per_thread = per_thread as u64;
        self.data.clear();
        self.data.resize(threads as usize * per_thread as usize, 0xff);
    }

    pub fn check(&self, addr: u64, bytes: u64) -> Result<(), String> {
        if addr.checked_add(bytes).is_none_or(|end| end > self.per_thread) {
            return Err(format!(
                "{bytes}-byte local access at local address {addr:#x} is outside the thread's {} bytes of local memory",
                self.per_thread
            ));
        }
        Ok(())
    }

    pub fn load(&self, tid: u32, addr: u64, bits: u32) -> u64 {
        let a = (tid as u64 * self.per_thread + addr) as usize;
        let mut buf = [0u8; 8];
        buf[..bits as usize / 8].copy_from_slice(&self.data[a..a + bits as usize / 8]);
        u64::from_le_bytes(buf)
    }

    pub fn store(&mut self, tid: u32, addr: u64, bits: u32, v: u64) {
        let a = (tid as u64 * self.per_thread + addr) as usize;
        let n = bits as usize / 8;
        self.data[a..a + n].copy_from_slice(&v.to_le_bytes()[..n]);
    }
}
