//! Matrix products with NumPy's `matmul` rules: the last two dimensions of each operand are
//! its matrices, the dimensions before them a batch that broadcasts (`[2, 1, m, k] @ [3, k, n]`
//! is `[2, 3, m, n]`), and a 1-D operand is a vector (a 1 prepended on the left, appended on
//! the right, then dropped from the result).
//!
//! Nothing is copied that the kernels can read as it is. Each operand's matrices go to the
//! kernels row-major or transposed (`a.t()`, a view: the kernels read `op(A)` and `op(B)`, as
//! cuBLAS does), and its batch as a stride per dimension, 0 where it broadcasts. The batch
//! dimensions of A, B and C are merged wherever all three allow; what remains runs as a
//! strided batch (`backend::Batch`: one launch with a grid z on CUDA, batches in parallel on
//! the CPU when the matrices are small), once per index of any dimensions left over. A batch
//! that multiplies contiguous rows of A by one B (`[b, m, k] @ [k, n]`) is a single product
//! with `b·m` rows. Copied to row-major first (`contiguous()`, once): an operand with other
//! strides (a sliced matrix, a negative stride), the left of two transposed operands on CUDA
//! (its CUDA-core kernels transpose one), and a transposed operand where the product runs on
//! tensor cores (their kernels read row-major only). 16-bit floats run on tensor cores where
//! the device has them, else compute in f32.

use super::same_device;
use crate::array::Array;
use crate::array::layout::{Layout, broadcast_shapes};
use crate::array::storage::{CpuData, Storage};
use crate::backend::{Batch, cpu, cuda};
use crate::device::Device;
use crate::dtype::{Element, Float};
use crate::error::{Error, Result};
use std::sync::Arc;

/// The shapes of one product: the broadcast batch, `m × k · k × n`, and the result's shape.
struct Shapes {
    batch: Vec<usize>,
    m: usize,
    k: usize,
    n: usize,
    out: Vec<usize>,
}

/// NumPy's `matmul` shape rules, or an error naming both shapes.
fn matmul_shapes(a: &[usize], b: &[usize]) -> Result<Shapes> {
    let mismatch = |reason: String| Err(Error::shape_mismatch("matmul", a, b, reason));
    if a.is_empty() || b.is_empty() {
        return mismatch("a 0-d array has no dimension to contract".into());
    }
    let (m, k) = if a.len() == 1 { (1, a[0]) } else { (a[a.len() - 2], a[a.len() - 1]) };
    let (kb, n) = if b.len() == 1 { (b[0], 1) } else { (b[b.len() - 2], b[b.len() - 1]) };
    if k != kb {
        return mismatch(format!("the contracted dimensions differ ({k} != {kb})"));
    }
    let (ba, bb) = (&a[..a.len().saturating_sub(2)], &b[..b.len().saturating_sub(2)]);
    let Ok(batch) = broadcast_shapes("matmul", ba, bb) else {
        return mismatch(format!("the batch dimensions {ba:?} and {bb:?} do not broadcast"));
    };
    let mut out = batch.clone();
    out.extend((a.len() > 1).then_some(m));
    out.extend((b.len() > 1).then_some(n));
    crate::alloc::volume("matmul", &out)?;
    Ok(Shapes { batch, m, k, n, out })
}

/// How the kernels read an operand's matrices (`rows × cols`, the last two dimensions of
/// `l`): row-major (`Some(false)`), transposed (`Some(true)`: the `t()` view of a row-major
/// stack), or not at all (`None`: copy it first). Batch strides must not be negative.
fn operand_mode(l: &Layout) -> Option<bool> {
    let nd = l.ndim();
    let (rows, cols) = (l.shape()[nd - 2], l.shape()[nd - 1]);
    let (rs, cs) = (l.strides()[nd - 2], l.strides()[nd - 1]);
    if l.strides()[..nd - 2].iter().zip(l.shape()).any(|(&s, &d)| s < 0 && d > 1) {
        return None;
    }
    let row_major = (cs == 1 || cols <= 1) && (rs == cols as isize || rows <= 1);
    let transposed = (rs == 1 || rows <= 1) && (cs == rows as isize || cols <= 1);
    if row_major {
        Some(false)
    } else if transposed {
        Some(true)
    } else {
        None
    }
}

/// An operand's matrix layout (`[batch.., rows, cols]`): a 1-D vector as one row (`left`) or
/// one column.
fn as_matrices(l: &Layout, left: bool) -> Layout {
    if l.ndim() > 1 {
        return l.clone();
    }
    let (len, s) = (l.shape()[0], l.strides()[0]);
    if left {
        Layout::new(vec![1, len], vec![0, s], l.offset())
    } else {
        Layout::new(vec![len, 1], vec![s, 1], l.offset())
    }
}

/// One operand ready for the kernels: its array (a copy where it had to be one), its layout
/// as matrices, and whether they are read transposed.
struct Operand<T: Element> {
    array: Array<T>,
    layout: Layout,
    transposed: bool,
}

impl<T: Float> Operand<T> {
    /// `x` as the kernels read it; `copy` forces a row-major copy.
    fn new(x: &Array<T>, left: bool, copy: impl Fn(bool) -> bool) -> Result<Operand<T>> {
        let layout = as_matrices(x.layout(), left);
        match operand_mode(&layout) {
            Some(t) if !copy(t) => Ok(Operand { array: x.clone(), layout, transposed: t }),
            _ => {
                let array = x.contiguous()?;
                Ok(Operand { layout: as_matrices(array.layout(), left), array, transposed: false })
            }
        }
    }

    /// The batch strides over the result's `batch` shape (0 where the operand broadcasts).
    fn batch_strides(&self, batch: &[usize]) -> Vec<isize> {
        let own = self.layout.ndim() - 2;
        let lead = batch.len() - own;
        (0..batch.len())
            .map(|i| if i < lead || self.layout.shape()[i - lead] == 1 { 0 } else { self.layout.strides()[i - lead] })
            .collect()
    }
}

/// The batch dimensions of A, B and C with length-1 ones dropped and neighbours merged where
/// all three strides allow: `(length, [stride of A, B, C])`, outermost first.
fn merge_batch(batch: &[usize], strides: [&[isize]; 3]) -> Vec<(usize, [isize; 3])> {
    let mut dims: Vec<(usize, [isize; 3])> = Vec::new();
    for (i, &d) in batch.iter().enumerate() {
        if d == 1 {
            continue;
        }
        let s = [strides[0][i], strides[1][i], strides[2][i]];
        match dims.last_mut() {
            Some((pd, ps)) if (0..3).all(|o| ps[o] == s[o] * d as isize) => {
                *pd *= d;
                *ps = s;
            }
            _ => dims.push((d, s)),
        }
    }
    dims
}

impl<T: Float> Array<T> {
    /// Matrix product with NumPy's `matmul` rules (`a @ b`): batches broadcast, 1-D operands
    /// are vectors.
    ///
    /// ```
    /// use ferrite::Array;
    /// // A stack of two 2×3 matrices times one 3×2 matrix, broadcast over the stack.
    /// let a = Array::from_vec((0..12).map(|v| v as f32).collect(), &[2, 2, 3])?;
    /// let b = Array::from_vec(vec![1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2])?;
    /// let c = a.matmul(&b)?;
    /// assert_eq!(c.shape(), [2, 2, 2]);
    /// assert_eq!(c.to_vec()?, [2.0, 3.0, 8.0, 9.0, 14.0, 15.0, 20.0, 21.0]);
    /// // The transposed view goes to the kernels as it is (no copy).
    /// assert_eq!(b.t().matmul(&b)?.shape(), [2, 2]);
    /// # Ok::<(), ferrite::Error>(())
    /// ```
    pub fn matmul(&self, other: &Array<T>) -> Result<Array<T>> {
        let Shapes { batch, mut m, k, n, out: shape } = matmul_shapes(self.shape(), other.shape())?;
        same_device("matmul", self, other)?;
        let device = self.device();
        // Which transposed operands the device's kernels cannot read (see the module notes).
        let tensor_cores = matches!(&device, Device::Cuda(c) if c.tensor_core_matmul_kernel(T::DTYPE).is_some());
        let b = Operand::new(other, false, |t| t && tensor_cores)?;
        let both = b.transposed && device.is_cuda();
        let a = Operand::new(self, true, |t| t && (tensor_cores || both))?;
        let mut out = Storage::alloc(T::DTYPE, crate::alloc::volume("matmul", &shape)?, &device)?;
        let result = |out: Storage| Ok(Array::from_parts(Arc::new(out), Layout::contiguous(&shape)));
        if out.len() == 0 {
            return result(out);
        }
        // C's batch strides, then every stride 0 when K = 0 (the operands are then never
        // read, and their strides may reach past their empty storage).
        let mut c_strides = vec![0isize; batch.len()];
        let mut step = (m * n) as isize;
        for (s, &d) in c_strides.iter_mut().zip(&batch).rev() {
            *s = step;
            step *= d as isize;
        }
        let (mut sa, mut sb) = (a.batch_strides(&batch), b.batch_strides(&batch));
        if k == 0 {
            sa.fill(0);
            sb.fill(0);
        }
        let mut dims = merge_batch(&batch, [&sa, &sb, &c_strides]);
        // Contiguous rows of A times one B: a single product with the batch's rows stacked.
        if let Some(&(d, [da, 0, _])) = dims.last()
            && !a.transposed
            && da == (m * k) as isize
        {
            m *= d;
            dims.pop();
        }
        let inner = match dims.pop() {
            Some((count, [da, db, _])) => Batch { count, sa: da as usize, sb: db as usize },
            None => Batch::ONE,
        };
        let launches = offsets(&dims, a.layout.offset(), b.layout.offset());
        let (ta, tb) = (a.transposed, b.transposed);
        match (a.array.storage(), b.array.storage(), &mut out) {
            (Storage::Cpu(x), Storage::Cpu(y), Storage::Cpu(z)) => {
                let mut products = Vec::with_capacity(launches.len() * inner.count);
                for &(ao, bo, _) in &launches {
                    products.extend((0..inner.count).map(|i| (ao + i * inner.sa, bo + i * inner.sb)));
                }
                with_native::<T>(x, y, z, &products, (m * k, k * n), |a, b, c, p| {
                    cpu::gemm_batched(c, a, b, (m, k, n), (ta, tb), p)
                })?
            }
            (Storage::Cuda(x), Storage::Cuda(y), Storage::Cuda(z)) => {
                let (x, y) = (x.view(), y.view());
                for &(ao, bo, co) in &launches {
                    let co = co * inner.count * m * n;
                    cuda::ops::matmul(T::DTYPE, &x, ao, &y, bo, (z, co), (m, k, n), (ta, tb), inner)?;
                }
            }
            _ => unreachable!("same device"),
        }
        result(out)
    }
}

/// The operands' offsets for each index of the outer batch `dims` (row-major), with the
/// index's position among them.
fn offsets(dims: &[(usize, [isize; 3])], ao: usize, bo: usize) -> Vec<(usize, usize, usize)> {
    let mut out = vec![(ao, bo, 0)];
    for &(d, [sa, sb, _]) in dims {
        out = out
            .iter()
            .flat_map(|&(a, b, _)| (0..d).map(move |i| (a + i * sa as usize, b + i * sb as usize)))
            .enumerate()
            .map(|(i, (a, b))| (a, b, i))
            .collect();
    }
    out
}

/// Runs `f` on slices of the compute type (the operands from their lowest offset on, the
/// products' offsets relative to it): directly for f32 and f64, through f32 copies of the
/// spans the products read (rounded back once) for the 16-bit types.
fn with_native<T: Float>(
    a: &CpuData,
    b: &CpuData,
    c: &mut CpuData,
    products: &[(usize, usize)],
    (alen, blen): (usize, usize),
    f: impl Fn(&[T::Compute], &[T::Compute], &mut [T::Compute], &[(usize, usize)]),
) -> Result<()> {
    let lo = |i: usize| products.iter().map(|p| if i == 0 { p.0 } else { p.1 }).min().unwrap_or(0);
    let hi = |i: usize, len: usize| products.iter().map(|p| if i == 0 { p.0 } else { p.1 }).max().unwrap_or(0) + len;
    let (a0, b0) = (lo(0), lo(1));
    let (a1, b1) = (hi(0, alen), hi(1, blen));
    let rel: Vec<(usize, usize)> = products.iter().map(|&(x, y)| (x - a0, y - b0)).collect();
    if let (Some(a), Some(b)) = (a.as_slice::<T::Compute>(), b.as_slice::<T::Compute>()) {
        f(&a[a0..a1], &b[b0..b1], c.as_mut_slice::<T::Compute>().expect("the result's dtype"), &rel);
        return Ok(());
    }
    let widen = |d: &CpuData, lo: usize, hi: usize| -> Result<Vec<T::Compute>> {
        let v = &d.as_slice::<T>().expect("the operand's dtype")[lo..hi];
        crate::alloc::try_collect(v.len(), v.iter().map(|x| <T::Compute as Element>::from_f64(x.to_f64())))
    };
    let (a, b) = (widen(a, a0, a1)?, widen(b, b0, b1)?);
    let mut out = crate::alloc::try_filled(c.len(), <T::Compute as Default>::default())?;
    f(&a, &b, &mut out, &rel);
    let c = c.as_mut_slice::<T>().expect("the result's dtype");
    for (d, s) in c.iter_mut().zip(out) {
        *d = T::from_f64(Element::to_f64(s));
    }
    Ok(())
}

/// `cp.matmul(a, b)`, `a @ b`.
pub fn matmul<T: Float>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    a.matmul(b)
}
