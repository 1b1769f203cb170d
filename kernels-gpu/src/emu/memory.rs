//! Emulated device memory: host allocations that kernels may touch, and nothing else.
//!
//! Every allocation is recorded, so a kernel's global-memory view that reaches past the
//! buffer the host gave it panics at once (on a GPU it would read a neighbour or fault).

use std::alloc::{self, Layout};
use std::collections::BTreeMap;
use std::sync::RwLock;
use std::vec::Vec;

/// Device allocations are aligned like `cudaMalloc`'s.
pub const ALIGN: usize = 256;

/// start address -> length in bytes
static LIVE: RwLock<BTreeMap<usize, usize>> = RwLock::new(BTreeMap::new());

/// Allocates `bytes` of emulated device memory, filled with `0xFF` (NaN as f32/f64/f16).
/// Zero-byte requests get a one-byte allocation so every buffer has a distinct address.
pub fn alloc(bytes: usize) -> *mut u8 {
    try_alloc(bytes).unwrap_or_else(|| alloc::handle_alloc_error(layout(bytes)))
}

/// [`alloc`], or `None` where the host allocator refuses (or no layout holds `bytes`).
pub fn try_alloc(bytes: usize) -> Option<*mut u8> {
    let layout = Layout::from_size_align(bytes.max(1), ALIGN).ok()?;
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc::alloc(layout) };
    if p.is_null() {
        return None;
    }
    unsafe { p.write_bytes(0xFF, layout.size()) };
    LIVE.write().unwrap_or_else(|e| e.into_inner()).insert(p as usize, bytes);
    Some(p)
}

/// Frees memory from [`alloc`].
///
/// # Safety
/// `p` came from [`alloc`] with the same `bytes` and is not used afterwards.
pub unsafe fn free(p: *mut u8, bytes: usize) {
    let removed = LIVE.write().unwrap_or_else(|e| e.into_inner()).remove(&(p as usize));
    assert_eq!(removed, Some(bytes), "free of {p:?} ({bytes} bytes), which is not a live emulated allocation");
    unsafe { alloc::dealloc(p, layout(bytes)) };
}

fn layout(bytes: usize) -> Layout {
    Layout::from_size_align(bytes.max(1), ALIGN).expect("allocation size overflows")
}

/// `Ok` if `[addr, addr + bytes)` lies inside one live allocation.
pub fn check_range(addr: usize, bytes: usize) -> Result<(), std::string::String> {
    if bytes == 0 {
        return Ok(());
    }
    let live = LIVE.read().unwrap_or_else(|e| e.into_inner());
    match live.range(..=addr).next_back() {
        Some((&start, &len)) if addr + bytes <= start + len => Ok(()),
        Some((&start, &len)) if addr < start + len => Err(std::format!(
            "kernel view of {bytes} bytes at {addr:#x} runs {} bytes past the end of its \
             {len}-byte device allocation at {start:#x}",
            addr + bytes - (start + len)
        )),
        _ => Err(std::format!("kernel view of {bytes} bytes at {addr:#x} is not inside any device allocation")),
    }
}

/// The live allocation holding `addr`, as `(start, bytes)`: for tools that check many
/// accesses (the PTX interpreter), which cache it instead of taking the lock each time.
pub fn allocation_containing(addr: usize) -> Option<(usize, usize)> {
    let live = LIVE.read().unwrap_or_else(|e| e.into_inner());
    match live.range(..=addr).next_back() {
        Some((&start, &len)) if addr < start + len.max(1) => Some((start, len)),
        _ => None,
    }
}

/// A typed emulated device buffer, for tests that launch kernels directly.
pub struct DeviceBuffer<T: Copy> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: the buffer owns its allocation like a Vec does.
unsafe impl<T: Copy + Send> Send for DeviceBuffer<T> {}
unsafe impl<T: Copy + Sync> Sync for DeviceBuffer<T> {}

impl<T: Copy> DeviceBuffer<T> {
    /// `len` elements, every byte `0xFF`: a kernel that fails to write an element leaves
    /// NaN (floats) or all-ones (integers) there, which the tests notice.
    pub fn poisoned(len: usize) -> Self {
        let bytes = len.checked_mul(size_of::<T>()).expect("buffer size overflows");
        assert!(align_of::<T>() <= ALIGN);
        DeviceBuffer { ptr: alloc(bytes).cast(), len }
    }

    pub fn from_slice(data: &[T]) -> Self {
        let b = Self::poisoned(data.len());
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), b.ptr, data.len()) };
        b
    }

    pub fn to_vec(&self) -> Vec<T> {
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }.to_vec()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_ptr(&self) -> *const T {
        self.ptr
    }

    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr
    }
}

impl<T: Copy> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        unsafe { free(self.ptr.cast(), self.len * size_of::<T>()) };
    }
}
