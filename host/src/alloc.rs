//! Checked sizes and fallible allocation: every shape volume, byte count and host buffer that
//! a user's sizes reach goes through here, so an impossible size is an `Err` and never a panic
//! or an abort. A count that overflows `usize` is [`Error::BadShape`]; memory that cannot be
//! had is [`Error::OutOfMemory`] (NumPy's `MemoryError`).
//!
//! A host request larger than the machine could ever give is refused before the allocator
//! sees it: more than physical memory plus swap (Linux's own heuristic for one request, which
//! `vm.overcommit_memory=1` turns off), more than the cgroup allows, or more than
//! `FERRITE_MEMORY_LIMIT` (bytes, or with a K, M, G or T suffix, binary), which makes the
//! limit explicit and the same on every machine. Below it, buffers are reserved with
//! `try_reserve_exact`, so an allocator refusal is an error too. The emulated CUDA device's
//! memory is host memory and takes the same limit; a real GPU's driver reports its own.

use crate::device::Device;
use crate::error::{Error, Result};
use std::io::Read;
use std::sync::OnceLock;

/// Elements in `shape`, or [`Error::BadShape`] naming `op` when the product overflows `usize`.
pub(crate) fn volume(op: &'static str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| Error::bad_shape(op, shape, "its number of elements overflows usize"))
}

/// Bytes of `len` elements of `T`, exactly.
pub(crate) fn bytes_of<T>(len: usize) -> u128 {
    len as u128 * size_of::<T>() as u128
}

/// `bytes` as an allocation size on `device` whose memory is at most `limit`: an
/// [`Error::OutOfMemory`] above it or above `isize::MAX` (no allocation can be larger).
pub(crate) fn admit(bytes: u128, limit: u64, device: impl FnOnce() -> String) -> Result<usize> {
    if bytes > isize::MAX as u128 || bytes > limit as u128 {
        return Err(Error::OutOfMemory { bytes, device: device() });
    }
    Ok(bytes as usize)
}

/// [`admit`] on the host.
pub(crate) fn admit_host(bytes: u128) -> Result<usize> {
    admit(bytes, host_limit(), host_name)
}

/// [`admit`] on `device`: the host's limit for the CPU and the emulator (host memory); a
/// real GPU's driver reports its own shortage when asked.
pub(crate) fn admit_on(device: &Device, bytes: u128) -> Result<usize> {
    let limit = match device {
        Device::Cuda(c) if !c.is_emulated() => u64::MAX,
        _ => host_limit(),
    };
    admit(bytes, limit, || device.to_string())
}

fn host_name() -> String {
    "cpu".into()
}

/// Host buffers from this size on ask for transparent huge pages (NumPy's threshold too). A
/// fresh large buffer is fresh pages from the kernel, faulted in on first write: with 4 KiB
/// pages that is one fault per 4 KiB, and on this project's VMs faulting in a 40 MB result
/// took ~30 ms, ten times the copy that filled it (NumPy's `x.copy()` at 1e7 f32: 34 ms with
/// its huge-page advice turned off, 3.7 ms with it). With 2 MiB pages it is 512 times fewer
/// faults.
const HUGE_PAGES_MIN: usize = 4 << 20;

/// A transparent huge page (x86-64 and most Linux targets).
const HUGE_PAGE: usize = 2 << 20;

/// Advises the kernel to back `bytes` from `ptr` with transparent huge pages (Linux's
/// `MADV_HUGEPAGE`, which THP's default `madvise` mode waits for); a no-op elsewhere, below
/// [`HUGE_PAGES_MIN`], or if the kernel declines (the advice is only advice: it changes how
/// pages are backed, never what they hold).
///
/// `fresh`: the buffer was just allocated, from [`try_zeroed`]. glibc gives such a buffer its
/// own mapping and starts it 16 bytes in, after a header it has already written; that write
/// faulted in the first 4 KiB page, and a 2 MiB stretch holding a 4 KiB page is then faulted
/// in 4 KiB at a time (511 more faults, ~1 ms at 1e7 f32 on this project's VMs). So when the
/// buffer starts 16 bytes into a 2 MiB boundary, the header's page is advised too and that
/// first stretch is made one huge page at once (`MADV_COLLAPSE`, Linux 6.1; refused
/// harmlessly before): 20 faults for a fresh 40 MB buffer instead of 531.
fn advise_huge_pages(ptr: *const u8, bytes: usize, fresh: bool) {
    #[cfg(target_os = "linux")]
    if bytes >= HUGE_PAGES_MIN {
        const MADV_COLLAPSE: libc::c_int = 25;
        let at = ptr as usize;
        let whole = fresh && at % 4096 == 16;
        // madvise takes page-aligned ranges: the whole pages inside the buffer, or with the
        // allocator's header page for a fresh mapping of its own (which ends on a page).
        let (start, end) = if whole {
            (at - 16, (at + bytes).next_multiple_of(4096))
        } else {
            (at.next_multiple_of(4096), (at + bytes) & !4095)
        };
        if end > start {
            // SAFETY: the range covers pages of one live allocation of ours (with a fresh one,
            // the whole pages at its ends: its mapping's header page and last page); advice
            // changes how pages are backed, never their contents, whoever else uses them.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
        if whole && at % HUGE_PAGE == 16 && end - start >= HUGE_PAGE {
            // SAFETY: as above; MADV_COLLAPSE keeps the contents (the header) as they are.
            unsafe { libc::madvise(start as *mut libc::c_void, HUGE_PAGE, MADV_COLLAPSE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, bytes, fresh);
}

/// Element types whose all-zero bytes are a valid value (zero, `false`).
///
/// # Safety
/// Every implementor must be valid when all its bytes are zero.
pub(crate) unsafe trait Zeroable: Copy {
    /// What a fresh buffer holds under `FERRITE_POISON=1` ([`poison`]): all bits set, a NaN
    /// for floats, -1 or the maximum for integers; `true` for bool (whose only other value).
    const POISON: Self;
}

// SAFETY: integers, IEEE floats (all zero bits: +0.0) and bool (0: false).
unsafe impl Zeroable for f32 {
    const POISON: Self = f32::from_bits(u32::MAX);
}
unsafe impl Zeroable for f64 {
    const POISON: Self = f64::from_bits(u64::MAX);
}
unsafe impl Zeroable for half::f16 {
    const POISON: Self = half::f16::from_bits(u16::MAX);
}
unsafe impl Zeroable for half::bf16 {
    const POISON: Self = half::bf16::from_bits(u16::MAX);
}
unsafe impl Zeroable for i32 {
    const POISON: Self = -1;
}
unsafe impl Zeroable for i64 {
    const POISON: Self = -1;
}
unsafe impl Zeroable for u8 {
    const POISON: Self = u8::MAX;
}
unsafe impl Zeroable for u32 {
    const POISON: Self = u32::MAX;
}
unsafe impl Zeroable for bool {
    const POISON: Self = true;
}

/// `len` new elements for an op to overwrite: [`Zeroable::POISON`] under `FERRITE_POISON=1`
/// (so a kernel that skips an element is seen), else zeros ([`try_zeroed`]).
pub(crate) fn try_fresh<T: Zeroable>(len: usize) -> Result<Vec<T>> {
    if poison() { try_filled(len, T::POISON) } else { try_zeroed(len) }
}

/// `len` zeros (`vec![0; len]`), or [`Error::OutOfMemory`]: the memory comes zeroed from the
/// allocator (`calloc`), so a large buffer, fresh pages from the kernel, is not written here at
/// all, where `try_filled` would write every byte once before the caller writes it again.
pub(crate) fn try_zeroed<T: Zeroable>(len: usize) -> Result<Vec<T>> {
    let bytes = bytes_of::<T>(len);
    admit_host(bytes)?;
    if len == 0 || size_of::<T>() == 0 {
        return Ok(Vec::new());
    }
    let oom = || Error::OutOfMemory { bytes, device: host_name() };
    // A large buffer's capacity reaches 32 bytes short of a whole number of huge pages: glibc
    // then maps exactly that many (its header and size rounding take the rest), and Linux
    // places such a mapping on a 2 MiB boundary, so every 2 MiB of it can be one huge page
    // (else the stretches at both ends are 4 KiB pages, up to 1024 faults). At most 2 MiB more
    // address space, and memory only where a huge page reaches past `len`. Elements past
    // `len` are spare capacity.
    let size = len * size_of::<T>();
    let cap =
        if size >= HUGE_PAGES_MIN { ((size + 32).next_multiple_of(HUGE_PAGE) - 32) / size_of::<T>() } else { len };
    let layout = std::alloc::Layout::array::<T>(cap.max(len)).map_err(|_| oom())?;
    // SAFETY: `layout` has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(oom());
    }
    advise_huge_pages(ptr, layout.size(), true);
    // SAFETY: allocated by the global allocator with `T`'s array layout for `cap.max(len)`
    // elements, the first `len` initialised (zero bytes are a `T`: `Zeroable`).
    Ok(unsafe { Vec::from_raw_parts(ptr.cast::<T>(), len, cap.max(len)) })
}

/// An empty vector with room for `len` elements, or [`Error::OutOfMemory`].
pub(crate) fn try_with_capacity<T>(len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, len)?;
    Ok(v)
}

/// Room for `additional` more elements in `v`, or [`Error::OutOfMemory`] for the whole buffer.
pub(crate) fn reserve<T>(v: &mut Vec<T>, additional: usize) -> Result<()> {
    let total = bytes_of::<T>(v.len()) + bytes_of::<T>(additional);
    admit_host(total)?;
    v.try_reserve_exact(additional).map_err(|_| Error::OutOfMemory { bytes: total, device: host_name() })?;
    advise_huge_pages(v.as_ptr().cast(), v.capacity() * size_of::<T>(), false);
    Ok(())
}

/// `len` copies of `value` (`vec![value; len]`), or [`Error::OutOfMemory`].
pub(crate) fn try_filled<T: Clone>(len: usize, value: T) -> Result<Vec<T>> {
    let mut v = try_with_capacity(len)?;
    v.resize(len, value);
    Ok(v)
}

/// `src.to_vec()`, or [`Error::OutOfMemory`].
pub(crate) fn try_to_vec<T: Clone>(src: &[T]) -> Result<Vec<T>> {
    let mut v = try_with_capacity(src.len())?;
    v.extend_from_slice(src);
    Ok(v)
}

/// The first `len` items of `items` in a vector allocated once, or [`Error::OutOfMemory`].
pub(crate) fn try_collect<T>(len: usize, items: impl IntoIterator<Item = T>) -> Result<Vec<T>> {
    let mut v = try_with_capacity(len)?;
    v.extend(items.into_iter().take(len));
    Ok(v)
}

/// Up to `limit` bytes from `reader` (fewer if it ends first), in a buffer that grows
/// fallibly: a stream that claims less than it holds (a decompression bomb) costs at most
/// `limit` bytes. Read errors go through `io_error`.
pub(crate) fn read_at_most(
    reader: impl Read,
    limit: u64,
    io_error: impl Fn(std::io::Error) -> Error,
) -> Result<Vec<u8>> {
    let mut reader = reader.take(limit);
    let mut chunk = vec![0u8; limit.min(64 << 10) as usize];
    let mut out = Vec::new();
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(e)),
        };
        if out.capacity() - out.len() < n {
            // Doubling, but never past `limit`.
            let room = (out.len().max(n) as u64).min(limit - out.len() as u64) as usize;
            reserve(&mut out, room.max(n))?;
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Whether new arrays start poisoned (`FERRITE_POISON=1`): an op's output memory filled with
/// 0xFF bytes (NaN for floats, all ones for integers, `true` for bools) before the op writes
/// it, so that an element an op forgets to write shows up in a test. Read once. Emulated
/// devices always poison; on a real GPU `CudaDevice::alloc` fills with `cuMemsetD8Async`.
pub(crate) fn poison() -> bool {
    static POISON: OnceLock<bool> = OnceLock::new();
    *POISON.get_or_init(|| std::env::var_os("FERRITE_POISON").is_some_and(|v| v != "0"))
}

/// The largest host allocation that can succeed: `FERRITE_MEMORY_LIMIT` if set, else physical
/// memory plus swap, capped by the cgroup's `memory.max` (plus swap); unbounded where neither
/// can be read.
pub(crate) fn host_limit() -> u64 {
    static LIMIT: OnceLock<u64> = OnceLock::new();
    *LIMIT.get_or_init(|| match std::env::var("FERRITE_MEMORY_LIMIT") {
        Ok(text) => parse_size(&text).unwrap_or_else(|| {
            eprintln!("ferrite: FERRITE_MEMORY_LIMIT={text:?} is not a size (e.g. 512M, 8G); ignoring it");
            machine_limit()
        }),
        Err(_) => machine_limit(),
    })
}

/// `1234`, `512K`, `8G`, `1TiB`: bytes, with binary suffixes.
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix("IB").or_else(|| t.strip_suffix('B')).unwrap_or(&t);
    let (digits, shift) = match t.char_indices().last()? {
        (i, 'K') => (&t[..i], 10),
        (i, 'M') => (&t[..i], 20),
        (i, 'G') => (&t[..i], 30),
        (i, 'T') => (&t[..i], 40),
        _ => (t, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

fn machine_limit() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = |key: &str| -> Option<u64> {
        let line = meminfo.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].trim().trim_end_matches("kB").trim().parse::<u64>().ok()?.checked_mul(1024)
    };
    let swap = kib("SwapTotal:").unwrap_or(0);
    let physical = kib("MemTotal:").map(|m| m.saturating_add(swap));
    let cgroup = cgroup_memory_max().map(|m| m.saturating_add(swap));
    physical.into_iter().chain(cgroup).min().unwrap_or(u64::MAX)
}

/// cgroup v2's `memory.max` for this process, if it is a number.
fn cgroup_memory_max() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let read = |dir: &str| std::fs::read_to_string(format!("/sys/fs/cgroup{dir}/memory.max")).ok();
    read(path.trim_end_matches('/')).or_else(|| read(""))?.trim().parse().ok()
}

/// `4.0 TiB`, `512 B`: for messages.
pub(crate) fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1234"), Some(1234));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size(" 8G "), Some(8 << 30));
        assert_eq!(parse_size("1TiB"), Some(1 << 40));
        assert_eq!(parse_size("2MB"), Some(2 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999T"), None);
    }

    #[test]
    fn volumes_and_byte_counts_are_checked() {
        assert_eq!(volume("t", &[3, 0, usize::MAX]).unwrap(), 0);
        assert!(matches!(volume("t", &[1 << 32, 1 << 32]), Err(Error::BadShape { op: "t", .. })));
        assert_eq!(bytes_of::<f64>(1 << 62), 1 << 65);
        let oom = admit(1 << 65, u64::MAX, host_name).unwrap_err();
        assert!(matches!(oom, Error::OutOfMemory { bytes, .. } if bytes == 1 << 65), "{oom:?}");
        assert!(oom.to_string().contains("32.0 EiB"), "{oom}");
        assert!(matches!(admit(100, 99, host_name), Err(Error::OutOfMemory { bytes: 100, .. })));
        assert_eq!(admit(99, 99, host_name).unwrap(), 99);
    }

    #[test]
    fn host_vectors_larger_than_the_machine_are_errors() {
        let huge = (host_limit() / 4).saturating_add(1) as usize;
        assert!(matches!(try_filled(huge, 0f32), Err(Error::OutOfMemory { .. })));
        assert!(matches!(try_with_capacity::<u8>(usize::MAX), Err(Error::OutOfMemory { .. })));
        assert_eq!(try_filled(3, 7u8).unwrap(), [7, 7, 7]);
        assert_eq!(try_collect(2, 0..10).unwrap(), [0, 1]);
        assert!(matches!(try_zeroed::<f32>(huge), Err(Error::OutOfMemory { .. })));
    }

    /// Zeroed buffers, small and large (huge-page advice), every element zero.
    #[test]
    fn zeroed_buffers_are_zero() {
        for len in [0, 1, 1000, (8 << 20) / 4 + 3] {
            let v = try_zeroed::<f32>(len).unwrap();
            assert!(v.len() == len && v.capacity() >= len && v.iter().all(|&x| x.to_bits() == 0), "{len}");
            let b = try_zeroed::<bool>(len).unwrap();
            assert!(b.len() == len && b.iter().all(|&x| !x), "{len}");
        }
        let mut v = try_with_capacity::<u8>(5 << 20).unwrap();
        v.extend((0..5 << 20).map(|i| i as u8));
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u8));
    }
}
