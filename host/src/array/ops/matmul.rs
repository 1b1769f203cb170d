//! Matrix products with NumPy's rules for a 1-D or 2-D right operand (leading dimensions of
//! the left operand are rows; a 1-D operand is a vector whose dimension the result drops).
//! A transposed 2-D operand (`a.t()`, a view) goes to the kernels as it is: they read `op(A)`
//! and `op(B)` (as cuBLAS takes `op(A)`), so `a.t().matmul(&b)` copies nothing. 16-bit floats
//! run on tensor cores where the device has them, else compute in f32.

use super::same_device;
use crate::array::Array;
use crate::array::layout::Layout;
use crate::array::storage::Storage;
use crate::backend::{cpu, cuda};
use crate::dtype::{Element, Float};
use crate::error::{Error, Result};
use std::sync::Arc;

/// `(m, k, n, output shape)` for NumPy's matmul rules on 1-D and 2-D right operands.
fn matmul_shapes(a: &[usize], b: &[usize]) -> Result<(usize, usize, usize, Vec<usize>)> {
    let mismatch = |reason: String| Err(Error::shape_mismatch("matmul", a, b, reason));
    if a.is_empty() || b.is_empty() {
        return mismatch("a 0-d array has no dimension to contract".into());
    }
    if b.len() > 2 {
        return mismatch("a right operand with batch dimensions is not supported; reshape it to 2-D".into());
    }
    let k = a[a.len() - 1];
    let (kb, n) = if b.len() == 1 { (b[0], None) } else { (b[0], Some(b[1])) };
    if k != kb {
        return mismatch(format!("the contracted dimensions differ ({k} != {kb})"));
    }
    let lead = &a[..a.len() - 1];
    let mut out = lead.to_vec();
    out.extend(n);
    let m = crate::alloc::volume("matmul", lead)?;
    crate::alloc::volume("matmul", &out)?;
    Ok((m, k, n.unwrap_or(1), out))
}

/// How a matmul operand (`rows × cols`) is read without a copy: row-major (`Some(false)`),
/// transposed (`Some(true)`: the `t()` view of a contiguous matrix), or not at all (`None`).
fn operand_mode(l: &Layout, rows: usize, cols: usize) -> Option<bool> {
    if l.is_contiguous() {
        return Some(false);
    }
    let s = l.strides();
    (l.ndim() == 2 && (s[0] == 1 || rows <= 1) && (s[1] == rows as isize || cols <= 1)).then_some(true)
}

impl<T: Float> Array<T> {
    /// Matrix product with NumPy's `matmul` rules for a 1-D or 2-D right operand.
    pub fn matmul(&self, other: &Array<T>) -> Result<Array<T>> {
        let (m, k, n, shape) = matmul_shapes(self.shape(), other.shape())?;
        same_device("matmul", self, other)?;
        // The right operand as k × n (a vector is k × 1), the left as m × k.
        let b_layout = if other.ndim() == 1 {
            Layout::new(vec![k, 1], vec![other.strides()[0], 1], other.layout().offset())
        } else {
            other.layout().clone()
        };
        let ta = operand_mode(self.layout(), m, k);
        let tb = operand_mode(&b_layout, k, n);
        let (a, ta) = match ta {
            Some(t) => (self.clone(), t),
            None => (self.contiguous()?, false),
        };
        let (b, tb) = match tb {
            Some(t) => (other.clone(), t),
            None => (other.contiguous()?, false),
        };
        // The kernels transpose at most one operand; both transposed: copy one.
        let (a, ta) = if ta && tb { (a.copy()?, false) } else { (a, ta) };
        let (ao, bo) = (a.layout().offset(), b.layout().offset());
        let device = self.device();
        let mut out = Storage::alloc(T::DTYPE, m * n, &device)?;
        match (a.storage(), b.storage(), &mut out) {
            (Storage::Cpu(x), Storage::Cpu(y), Storage::Cpu(z)) => {
                with_native::<T>((x, ao, m * k), (y, bo, k * n), z, |a, b, c| {
                    cpu::gemm_into(c, a, b, (m, k, n), (ta, tb), false)
                })?
            }
            (Storage::Cuda(x), Storage::Cuda(y), Storage::Cuda(z)) => {
                cuda::ops::matmul(T::DTYPE, &x.view(), ao, &y.view(), bo, z, (m, k, n), (ta, tb))?
            }
            _ => unreachable!("same device"),
        }
        Ok(Array::from_parts(Arc::new(out), Layout::contiguous(&shape)))
    }
}

/// Runs `f` on the operands and the result as slices of the compute type: directly for f32
/// and f64, through f32 copies (rounded back once) for the 16-bit types.
type Operand<'a> = (&'a crate::array::storage::CpuData, usize, usize);

fn with_native<T: Float>(
    (a, ao, an): Operand<'_>,
    (b, bo, bn): Operand<'_>,
    c: &mut crate::array::storage::CpuData,
    f: impl Fn(&[T::Compute], &[T::Compute], &mut [T::Compute]),
) -> Result<()> {
    if let (Some(a), Some(b)) = (a.as_slice::<T::Compute>(), b.as_slice::<T::Compute>()) {
        f(&a[ao..ao + an], &b[bo..bo + bn], c.as_mut_slice::<T::Compute>().expect("the result's dtype"));
        return Ok(());
    }
    let widen = |d: &crate::array::storage::CpuData, o: usize, n: usize| -> Result<Vec<T::Compute>> {
        let v = &d.as_slice::<T>().expect("the operand's dtype")[o..o + n];
        crate::alloc::try_collect(v.len(), v.iter().map(|x| <T::Compute as Element>::from_f64(x.to_f64())))
    };
    let (a, b) = (widen(a, ao, an)?, widen(b, bo, bn)?);
    let n = c.len();
    let mut out = crate::alloc::try_filled(n, <T::Compute as Default>::default())?;
    f(&a, &b, &mut out);
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
