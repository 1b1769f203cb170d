//! Views of global and shared memory.
//!
//! Kernels receive raw pointers and wrap them at once in a view with a length. On the
//! emulator every view is checked when made (it must lie inside a live device allocation,
//! or inside the launch's shared memory) and every access is bounds-checked, so a test
//! proves the kernel stays inside its buffers. On the GPU accesses compile to a bare
//! `ld`/`st`; only the shared-memory size is checked there (one compare per view), because
//! it depends on the host's launch code rather than on the kernel.

use super::{Elem, Float, target};
use core::marker::PhantomData;

/// A 16-byte aligned value, so `ld`/`st` use the 128-bit vector forms.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Align16<A>(pub A);

#[inline(always)]
fn check_index(i: usize, len: usize) {
    #[cfg(not(target_arch = "nvptx64"))]
    assert!(i < len, "index {i} is out of bounds for a view of {len} elements");
    #[cfg(target_arch = "nvptx64")]
    let _ = (i, len);
}

/// Read-only view of `len` elements of global memory.
#[derive(Clone, Copy)]
pub struct Global<T> {
    ptr: *const T,
    len: usize,
}

impl<T: Copy> Global<T> {
    /// # Safety
    /// `ptr` is valid for reads of `len` elements of device memory for the whole launch.
    #[inline(always)]
    pub unsafe fn new(ptr: *const T, len: usize) -> Self {
        target::check_global(ptr.cast(), len.saturating_mul(size_of::<T>()));
        Global { ptr, len }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn load(&self, i: usize) -> T {
        check_index(i, self.len);
        unsafe { self.ptr.add(i).read() }
    }

    /// Whether 16-byte vector loads are possible (the base address is 16-byte aligned).
    #[inline(always)]
    pub fn is_aligned16(&self) -> bool {
        (self.ptr as usize).is_multiple_of(16)
    }

    /// The `p`-th 16-byte group: elements `[p * LANES16, (p + 1) * LANES16)`, one vector load.
    /// Requires [`Self::is_aligned16`].
    #[inline(always)]
    pub fn load16(&self, p: usize) -> T::Lanes16
    where
        T: Float,
    {
        check_index((p + 1) * T::LANES16 - 1, self.len);
        debug_assert!(self.is_aligned16());
        unsafe { load16_at::<T>(self.ptr.cast::<Align16<T::Lanes16>>().add(p).cast()) }
    }
}

impl<T: Elem> Global<T> {
    /// The `p`-th 16-byte group of any element type: elements `[p * LANES, (p + 1) * LANES)`,
    /// one vector load. Requires [`Self::is_aligned16`].
    #[inline(always)]
    pub fn load_lanes(&self, p: usize) -> T::Lanes {
        check_index((p + 1) * T::LANES - 1, self.len);
        debug_assert!(self.is_aligned16());
        unsafe { load_lanes_at::<T>(self.ptr.cast::<T::Lanes>().add(p)) }
    }
}

impl<T: Copy> Global<T> {
    /// The 16 bytes starting at element `i`, as four words: one `ld.global.v4` on the GPU.
    /// Their address must be 16-byte aligned and inside the view (both checked on the emulator).
    #[inline(always)]
    pub fn load_v4(&self, i: usize) -> [u32; 4] {
        check_words::<T>(self.ptr, i, 16, self.len);
        let p = unsafe { self.ptr.add(i) }.cast::<[u32; 4]>();
        #[cfg(target_arch = "nvptx64")]
        unsafe {
            target::ld_global_v4(p)
        }
        #[cfg(not(target_arch = "nvptx64"))]
        unsafe {
            p.read()
        }
    }

    /// The 8 bytes starting at element `i`, as two words: one `ld.global.v2` on the GPU.
    /// Their address must be 8-byte aligned and inside the view.
    #[inline(always)]
    pub fn load_v2(&self, i: usize) -> [u32; 2] {
        check_words::<T>(self.ptr, i, 8, self.len);
        let p = unsafe { self.ptr.add(i) }.cast::<[u32; 2]>();
        #[cfg(target_arch = "nvptx64")]
        unsafe {
            target::ld_global_v2(p)
        }
        #[cfg(not(target_arch = "nvptx64"))]
        unsafe {
            p.read()
        }
    }
}

/// Emulator checks for a `bytes`-wide vector access at element `i` of a view at `base`: inside
/// the view, and aligned to its width as `ld/st.v2/v4` require.
#[inline(always)]
fn check_words<T>(base: *const T, i: usize, bytes: usize, len: usize) {
    #[cfg(not(target_arch = "nvptx64"))]
    {
        assert!(bytes.is_multiple_of(size_of::<T>()), "a {bytes}-byte access splits an element");
        check_index(i + bytes / size_of::<T>() - 1, len);
        let addr = base as usize + i * size_of::<T>();
        assert!(addr.is_multiple_of(bytes), "{bytes}-byte vector access at address {addr:#x} is misaligned");
    }
    #[cfg(target_arch = "nvptx64")]
    let _ = (base, i, bytes, len);
}

/// 16 bytes of any element type from a 16-byte aligned address (one `ld.global.v4.u32`).
#[inline(always)]
unsafe fn load_lanes_at<T: Elem>(p: *const T::Lanes) -> T::Lanes {
    #[cfg(target_arch = "nvptx64")]
    {
        let words = unsafe { target::ld_global_v4(p.cast()) };
        unsafe { core::mem::transmute_copy(&words) }
    }
    #[cfg(not(target_arch = "nvptx64"))]
    unsafe {
        p.cast::<Align16<T::Lanes>>().read().0
    }
}

/// 16 bytes of any element type to a 16-byte aligned address (one `st.global.v4.u32`).
#[inline(always)]
unsafe fn store_lanes_at<T: Elem>(p: *mut T::Lanes, v: T::Lanes) {
    #[cfg(target_arch = "nvptx64")]
    unsafe {
        target::st_global_v4(p.cast(), core::mem::transmute_copy(&v))
    }
    #[cfg(not(target_arch = "nvptx64"))]
    unsafe {
        p.cast::<Align16<T::Lanes>>().write(Align16(v))
    }
}

/// A 16-byte group from a 16-byte aligned address (one `ld.global.v4` on the GPU).
#[inline(always)]
unsafe fn load16_at<T: Float>(p: *const T::Lanes16) -> T::Lanes16 {
    #[cfg(target_arch = "nvptx64")]
    {
        let words = unsafe { target::ld_global_v4(p.cast()) };
        unsafe { core::mem::transmute_copy(&words) }
    }
    #[cfg(not(target_arch = "nvptx64"))]
    unsafe {
        p.cast::<Align16<T::Lanes16>>().read().0
    }
}

/// Stores a 16-byte group at a 16-byte aligned address (one `st.global.v4` on the GPU).
#[inline(always)]
unsafe fn store16_at<T: Float>(p: *mut T::Lanes16, v: T::Lanes16) {
    #[cfg(target_arch = "nvptx64")]
    unsafe {
        target::st_global_v4(p.cast(), core::mem::transmute_copy(&v))
    }
    #[cfg(not(target_arch = "nvptx64"))]
    unsafe {
        p.cast::<Align16<T::Lanes16>>().write(Align16(v))
    }
}

/// Read-write view of `len` elements of global memory.
#[derive(Clone, Copy)]
pub struct GlobalMut<T> {
    ptr: *mut T,
    len: usize,
}

impl<T: Copy> GlobalMut<T> {
    /// # Safety
    /// `ptr` is valid for reads and writes of `len` elements of device memory for the whole
    /// launch, and threads that write the same element are ordered by the kernel.
    #[inline(always)]
    pub unsafe fn new(ptr: *mut T, len: usize) -> Self {
        target::check_global(ptr.cast_const().cast(), len.saturating_mul(size_of::<T>()));
        GlobalMut { ptr, len }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn load(&self, i: usize) -> T {
        check_index(i, self.len);
        unsafe { self.ptr.add(i).read() }
    }

    #[inline(always)]
    pub fn store(&self, i: usize, v: T) {
        check_index(i, self.len);
        unsafe { self.ptr.add(i).write(v) }
    }

    #[inline(always)]
    pub fn is_aligned16(&self) -> bool {
        (self.ptr as usize).is_multiple_of(16)
    }

    /// Writes the `p`-th 16-byte group with one vector store. Requires [`Self::is_aligned16`].
    #[inline(always)]
    pub fn store16(&self, p: usize, v: T::Lanes16)
    where
        T: Float,
    {
        check_index((p + 1) * T::LANES16 - 1, self.len);
        debug_assert!(self.is_aligned16());
        unsafe { store16_at::<T>(self.ptr.cast::<Align16<T::Lanes16>>().add(p).cast(), v) }
    }
}

impl GlobalMut<u64> {
    /// Stores `v` at `i` where other threads may store to the same word in the same launch
    /// (an error flag): the word ends up holding one of the values stored. A plain `st.global`
    /// on the GPU (an aligned 8-byte store is single-copy atomic there); a relaxed atomic store
    /// on the emulator, whose blocks run on several host threads.
    #[inline(always)]
    pub fn store_racy(&self, i: usize, v: u64) {
        check_index(i, self.len);
        #[cfg(target_arch = "nvptx64")]
        unsafe {
            self.ptr.add(i).write(v)
        }
        #[cfg(not(target_arch = "nvptx64"))]
        {
            use core::sync::atomic::{AtomicU64, Ordering};
            // SAFETY: the view holds element `i` (checked), device buffers are aligned to at
            // least 8 bytes, and every access to this word during the launch is atomic.
            unsafe { AtomicU64::from_ptr(self.ptr.add(i)) }.store(v, Ordering::Relaxed)
        }
    }
}

impl<T: Elem> GlobalMut<T> {
    /// Writes the `p`-th 16-byte group of any element type with one vector store. Requires
    /// [`Self::is_aligned16`].
    #[inline(always)]
    pub fn store_lanes(&self, p: usize, v: T::Lanes) {
        check_index((p + 1) * T::LANES - 1, self.len);
        debug_assert!(self.is_aligned16());
        unsafe { store_lanes_at::<T>(self.ptr.cast::<T::Lanes>().add(p), v) }
    }

    /// The `p`-th 16-byte group, one vector load (for in-place kernels reading their output).
    #[inline(always)]
    pub fn load_lanes(&self, p: usize) -> T::Lanes {
        check_index((p + 1) * T::LANES - 1, self.len);
        unsafe { load_lanes_at::<T>(self.ptr.cast::<T::Lanes>().add(p)) }
    }
}

/// `len` elements of the block's dynamic shared memory, starting `offset` bytes in.
/// Every thread of the block sees the same memory; order accesses with `sync_threads`.
#[derive(Clone, Copy)]
pub struct Shared<T> {
    ptr: *mut T,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: Copy> Shared<T> {
    /// Traps (GPU) or panics (emulator) if the launch gave the block less shared memory than
    /// `offset + len * size_of::<T>()` bytes, or if `offset` is misaligned for `T`.
    #[inline(always)]
    pub fn new(offset: usize, len: usize) -> Self {
        let end = offset + len * size_of::<T>();
        let have = target::dynamic_shared_bytes() as usize;
        if end > have || !offset.is_multiple_of(align_of::<T>()) {
            #[cfg(not(target_arch = "nvptx64"))]
            panic!(
                "shared view of bytes [{offset}, {end}) does not fit the launch's {have} bytes of shared memory (or is misaligned)"
            );
            #[cfg(target_arch = "nvptx64")]
            target::trap();
        }
        let ptr = unsafe { target::dynamic_shared_base().add(offset).cast::<T>() };
        Shared { ptr, len, _t: PhantomData }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn load(&self, i: usize) -> T {
        check_index(i, self.len);
        unsafe { self.ptr.add(i).read() }
    }

    #[inline(always)]
    pub fn store(&self, i: usize, v: T) {
        check_index(i, self.len);
        #[cfg(not(target_arch = "nvptx64"))]
        target::shared_written(unsafe { self.ptr.add(i) }.cast(), size_of::<T>());
        unsafe { self.ptr.add(i).write(v) }
    }

    /// Writes 16 bytes starting at element `i` (one `st.shared.v4` on the GPU); the address
    /// must be 16-byte aligned (checked on the emulator).
    #[inline(always)]
    pub fn store_v4(&self, i: usize, v: [u32; 4]) {
        check_words::<T>(self.ptr, i, 16, self.len);
        let p = unsafe { self.ptr.add(i) }.cast::<[u32; 4]>();
        #[cfg(not(target_arch = "nvptx64"))]
        target::shared_written(p.cast(), 16);
        #[cfg(target_arch = "nvptx64")]
        unsafe {
            target::st_shared_v4(p, v)
        }
        #[cfg(not(target_arch = "nvptx64"))]
        unsafe {
            p.write(v)
        }
    }

    /// The shared-window address of element `i`, as `wgmma`'s matrix descriptors take it.
    #[inline(always)]
    pub fn window_addr(&self, i: usize) -> u32 {
        check_index(i, self.len);
        target::shared_window_addr(unsafe { self.ptr.add(i) }.cast())
    }

    /// The `p`-th 16-byte group of the view (one `ld.shared.v4` on the GPU). The view's start
    /// must be 16-byte aligned.
    #[inline(always)]
    pub fn load16(&self, p: usize) -> T::Lanes16
    where
        T: Float,
    {
        check_index((p + 1) * T::LANES16 - 1, self.len);
        #[cfg(not(target_arch = "nvptx64"))]
        assert!((self.ptr as usize).is_multiple_of(16), "load16 from a shared view that is not 16-byte aligned");
        let at = unsafe { self.ptr.cast::<T::Lanes16>().add(p) };
        #[cfg(target_arch = "nvptx64")]
        unsafe {
            core::mem::transmute_copy(&target::ld_shared_v4(at.cast()))
        }
        #[cfg(not(target_arch = "nvptx64"))]
        unsafe {
            at.cast::<Align16<T::Lanes16>>().read().0
        }
    }
}
