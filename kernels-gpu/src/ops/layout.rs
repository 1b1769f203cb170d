//! How a kernel sees a strided array: the iteration [`Shape`] (shared by all operands of a
//! launch) and each operand's [`Strides`], both passed by value as kernel parameters
//! (`.param .align 8 .b8 [72]`).
//!
//! Dimensions are stored innermost first: `dims[0]` is the last (fastest-varying) dimension
//! of the array, `dims[1]` the one before it, and so on. Kernels then read the inner dimension
//! and its step at constant index 0 and walk the outer ones with constant indices: indexing a
//! parameter array with a run-time index makes LLVM copy the struct to local memory (a stack
//! frame, and slow).
//!
//! The host coalesces dimensions before a launch (merging those that are contiguous in every
//! operand and dropping those of length 1), so a contiguous launch arrives as rank 1 with
//! unit strides and takes the kernels' vector path; anything else is walked as `rows × inner`.

/// The most dimensions a kernel takes after coalescing.
pub const MAX_RANK: usize = 8;

/// The iteration space: `rank` dimensions, innermost first.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub rank: u32,
    pub _pad: u32,
    pub dims: [u64; MAX_RANK],
}

/// Where an operand's elements are: the element at index `i_k` along dimension `k` (innermost
/// first, as [`Shape`]) is at `offset + Σ i_k · step[k]` elements (a step may be 0, a
/// broadcast, or negative).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strides {
    pub offset: u64,
    pub step: [i64; MAX_RANK],
}

impl Shape {
    /// A shape of `dims` in the array's order, outermost first (at most [`MAX_RANK`], at
    /// least one).
    pub fn new(dims: &[u64]) -> Shape {
        assert!(!dims.is_empty() && dims.len() <= MAX_RANK, "rank {} outside 1..={MAX_RANK}", dims.len());
        let mut d = [1; MAX_RANK];
        for (k, &n) in dims.iter().rev().enumerate() {
            d[k] = n;
        }
        Shape { rank: dims.len() as u32, _pad: 0, dims: d }
    }

    /// `n` elements in one dimension (built field by field: a kernel must not copy a slice
    /// into a local array).
    #[inline(always)]
    pub fn flat(n: u64) -> Shape {
        let mut dims = [1; MAX_RANK];
        dims[0] = n;
        Shape { rank: 1, _pad: 0, dims }
    }

    /// The number of elements.
    #[inline(always)]
    pub fn len(&self) -> u64 {
        self.rows() * self.inner()
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last (innermost) dimension's length.
    #[inline(always)]
    pub fn inner(&self) -> u64 {
        self.dims[0]
    }

    /// The number of rows: the product of every dimension but the innermost.
    #[inline(always)]
    pub fn rows(&self) -> u64 {
        let mut n = 1u64;
        for k in 1..MAX_RANK {
            if k < self.rank as usize {
                n *= self.dims[k];
            }
        }
        n
    }
}

impl Strides {
    /// Strides in the array's order, outermost first, as [`Shape::new`] takes dimensions.
    pub fn new(offset: u64, step: &[i64]) -> Strides {
        assert!(step.len() <= MAX_RANK, "rank {} above {MAX_RANK}", step.len());
        let mut s = [0; MAX_RANK];
        for (k, &v) in step.iter().rev().enumerate() {
            s[k] = v;
        }
        Strides { offset, step: s }
    }

    /// Unit stride along a rank-1 shape: the layout of a whole contiguous array.
    pub fn contiguous() -> Strides {
        Strides::unit(0)
    }

    /// Unit stride from `offset`, rank 1.
    #[inline(always)]
    pub fn unit(offset: u64) -> Strides {
        let mut step = [0; MAX_RANK];
        step[0] = 1;
        Strides { offset, step }
    }

    /// Whether the operand is walked contiguously from its offset (rank 1, unit stride).
    #[inline(always)]
    pub fn is_unit(&self, shape: &Shape) -> bool {
        shape.rank == 1 && self.step[0] == 1
    }

    /// The element offset of the first element of `row` (a row-major index over every
    /// dimension but the innermost): one division per dimension, once per row. A zero-length
    /// dimension never reaches here (an empty launch is not made), and `max(1)` spares the
    /// division its zero check.
    #[inline(always)]
    pub fn row_start(&self, shape: &Shape, row: u64) -> i64 {
        let mut at = self.offset as i64;
        let mut row = row;
        for k in 1..MAX_RANK {
            if k < shape.rank as usize {
                let d = shape.dims[k].max(1);
                at += (row % d) as i64 * self.step[k];
                row /= d;
            }
        }
        at
    }

    /// The element offset of the `i`-th element of `shape` in row-major order (the innermost
    /// dimension fastest): one division per dimension. Constant indices, as [`Self::row_start`].
    #[inline(always)]
    pub fn offset_of(&self, shape: &Shape, i: u64) -> i64 {
        let inner = shape.dims[0].max(1);
        self.row_start(shape, i / inner) + (i % inner) as i64 * self.step[0]
    }

    /// The step along the innermost dimension.
    #[inline(always)]
    pub fn inner_step(&self) -> i64 {
        self.step[0]
    }
}
