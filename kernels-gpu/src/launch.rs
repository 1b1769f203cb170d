//! How a kernel is declared once and seen from both sides.
//!
//! [`kernels!`] turns one declaration into
//! - on `nvptx64`: a `#[no_mangle] extern "ptx-kernel"` entry point (a PTX `.entry`), built
//!   only into the PTX variants whose architecture has the instructions it needs;
//! - on the host: a typed descriptor [`Kernel<A>`] holding the entry's name, its parameter
//!   list and the same body for the CPU grid emulator.
//!
//! The host launches through the descriptor, so the argument list is checked by the Rust
//! compiler, and a test compares every descriptor with the `.entry` lines of every PTX
//! variant (name, parameter count and widths), so the two sides cannot drift apart.

/// A launch's geometry: `x` varies fastest, as in CUDA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dim3 {
    pub x: u32,
    pub y: u32,
    pub z: u32,
}

impl Dim3 {
    pub const fn new(x: u32, y: u32, z: u32) -> Self {
        Dim3 { x, y, z }
    }
    pub const fn x(x: u32) -> Self {
        Dim3 { x, y: 1, z: 1 }
    }
    pub const fn xy(x: u32, y: u32) -> Self {
        Dim3 { x, y, z: 1 }
    }
    /// Number of points, as u64 so that it cannot overflow.
    pub const fn volume(self) -> u64 {
        self.x as u64 * self.y as u64 * self.z as u64
    }
}

/// Grid, block and dynamic shared memory of one launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    pub grid: Dim3,
    pub block: Dim3,
    /// Bytes of dynamic shared memory per block (the only shared memory kernels use).
    pub shared_bytes: u32,
}

/// Registers in one block's share of the register file, on every generation from Volta
/// (sm_70) to Blackwell (sm_120).
pub const REGISTERS_PER_BLOCK: u32 = 65_536;
/// Registers are allocated to a warp in units of 256, so a thread's count is rounded up to a
/// multiple of 8 before it is charged to the block.
pub const REGISTER_UNIT: u32 = 8;
/// The most registers a thread may use (`maxrregcount`'s ceiling).
pub const MAX_REGISTERS_PER_THREAD: u32 = 255;
/// The most threads a block may have.
pub const MAX_THREADS_PER_BLOCK: u32 = 1024;

/// The largest block (a multiple of 32, at most 1024 threads) whose threads, at `registers`
/// each, fit one block's register file: what `CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK`
/// reports for a kernel of that register count. 0 if a single warp does not fit.
pub const fn max_threads_for_registers(registers: u32) -> u32 {
    let per_thread = registers.div_ceil(REGISTER_UNIT) * REGISTER_UNIT;
    if per_thread == 0 {
        return MAX_THREADS_PER_BLOCK;
    }
    let warps = REGISTERS_PER_BLOCK / (per_thread * 32);
    let threads = warps * 32;
    if threads > MAX_THREADS_PER_BLOCK { MAX_THREADS_PER_BLOCK } else { threads }
}

/// How one kernel parameter appears in PTX: a 64-bit pointer, a 32/64-bit scalar, or a
/// struct passed by value (`.param .align 8 .b8 name[N]`, e.g. a layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtxParam {
    Ptr,
    B32,
    B64,
    Bytes(u32),
}

/// A type that may be passed to a kernel by value.
pub trait KernelParam: Copy {
    const PTX: PtxParam;
}

impl<T> KernelParam for *const T {
    const PTX: PtxParam = PtxParam::Ptr;
}
impl<T> KernelParam for *mut T {
    const PTX: PtxParam = PtxParam::Ptr;
}
macro_rules! scalar_params {
    ($kind:ident: $($t:ty),*) => { $(impl KernelParam for $t { const PTX: PtxParam = PtxParam::$kind; })* };
}
scalar_params!(B32: u32, i32, f32);
scalar_params!(B64: u64, i64, f64);
impl KernelParam for crate::ops::layout::Shape {
    const PTX: PtxParam = PtxParam::Bytes(size_of::<Self>() as u32);
}
impl KernelParam for crate::ops::layout::Strides {
    const PTX: PtxParam = PtxParam::Bytes(size_of::<Self>() as u32);
}
impl KernelParam for crate::ops::gather::Axis {
    const PTX: PtxParam = PtxParam::Bytes(size_of::<Self>() as u32);
}

/// A kernel's argument list: a tuple of [`KernelParam`]s.
pub trait KernelArgs: Copy {
    const PARAMS: &'static [PtxParam];
    /// One pointer per argument, in order: what `cuLaunchKernel` takes as `kernelParams`.
    #[cfg(not(target_arch = "nvptx64"))]
    fn param_ptrs(&self) -> std::vec::Vec<*mut core::ffi::c_void>;
}

macro_rules! tuple_args {
    ($($t:ident $i:tt),*) => {
        impl<$($t: KernelParam),*> KernelArgs for ($($t,)*) {
            const PARAMS: &'static [PtxParam] = &[$($t::PTX),*];
            #[cfg(not(target_arch = "nvptx64"))]
            fn param_ptrs(&self) -> std::vec::Vec<*mut core::ffi::c_void> {
                std::vec![$(&self.$i as *const $t as *mut core::ffi::c_void),*]
            }
        }
    };
}
tuple_args!(A 0);
tuple_args!(A 0, B 1);
tuple_args!(A 0, B 1, C 2);
tuple_args!(A 0, B 1, C 2, D 3);
tuple_args!(A 0, B 1, C 2, D 3, E 4);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);

/// What a test or a loader needs to know about an entry without its argument types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelInfo {
    pub name: &'static str,
    pub params: &'static [PtxParam],
    /// Oldest PTX variant that contains the entry (`"sm_70"`, `"sm_80"`, `"sm_90a"`).
    pub min_arch: &'static str,
}

/// The host's handle on one PTX entry point, typed by its argument tuple.
#[cfg(not(target_arch = "nvptx64"))]
pub struct Kernel<A: KernelArgs> {
    pub info: KernelInfo,
    /// The kernel body, run once per emulated thread.
    pub body: unsafe fn(A),
}

#[cfg(not(target_arch = "nvptx64"))]
impl<A: KernelArgs> Clone for Kernel<A> {
    fn clone(&self) -> Self {
        *self
    }
}

#[cfg(not(target_arch = "nvptx64"))]
impl<A: KernelArgs> Copy for Kernel<A> {}

#[cfg(not(target_arch = "nvptx64"))]
impl<A: KernelArgs> Kernel<A> {
    #[doc(hidden)]
    pub const fn new(name: &'static str, min_arch: &'static str, body: unsafe fn(A)) -> Self {
        Kernel { info: KernelInfo { name, params: A::PARAMS, min_arch }, body }
    }
    pub const fn name(&self) -> &'static str {
        self.info.name
    }
}

/// Declares kernel entry points. Each line names the entry, its parameters and the
/// (generic) function that implements it; an optional `[sm_80]`-style prefix says which
/// PTX variants may contain it. A `pub const KERNELS: &[KernelInfo]` lists the module's
/// entries for the PTX cross-check.
///
/// ```text
/// kernels! {
///     /// `y = sqrt(x)` over f32.
///     sqrt_f32(x: *const f32, y: *mut f32, n: u64) => unary::<Sqrt, f32>;
///     ["sm_80"] mma_tf32(...) => mma::<f32>;
/// }
/// ```
///
/// `kernels!(@entries ...)` declares the entries without the `KERNELS` list, for families
/// that declare their entries op by op and list them together (see `ops/unary.rs`).
#[macro_export]
macro_rules! kernels {
    (@entries $(
        $(#[doc = $doc:literal])*
        $([$arch:literal])? $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:expr;
    )*) => {
        $(
            $crate::kernels!(@entry [$(#[doc = $doc])*] [$($arch)?] $name ($($arg: $ty),*) => $body);
        )*
    };
    ($(
        $(#[doc = $doc:literal])*
        $([$arch:literal])? $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:expr;
    )*) => {
        $(
            $crate::kernels!(@entry [$(#[doc = $doc])*] [$($arch)?] $name ($($arg: $ty),*) => $body);
        )*
        /// The entries this module declares, for the PTX cross-check.
        #[cfg(not(target_arch = "nvptx64"))]
        pub const KERNELS: &[$crate::launch::KernelInfo] = &[$($name.info),*];
    };
    (@entry [$($doc:tt)*] [] $name:ident ($($arg:ident: $ty:ty),*) => $body:expr) => {
        $crate::kernels!(@entry [$($doc)*] ["sm_70"] $name ($($arg: $ty),*) => $body);
    };
    (@entry [$($doc:tt)*] [$arch:literal] $name:ident ($($arg:ident: $ty:ty),*) => $body:expr) => {
        $($doc)*
        #[cfg(all(target_arch = "nvptx64", target_feature = $arch))]
        #[unsafe(no_mangle)]
        pub unsafe extern "ptx-kernel" fn $name($($arg: $ty),*) {
            unsafe { $body($($arg),*) }
        }

        $($doc)*
        #[cfg(not(target_arch = "nvptx64"))]
        #[allow(non_upper_case_globals, clippy::macro_metavars_in_unsafe)]
        pub const $name: $crate::launch::Kernel<($($ty,)*)> =
            $crate::launch::Kernel::new(stringify!($name), $arch, |($($arg,)*)| unsafe { $body($($arg),*) });
    };
}
