//! Joining and splitting (NumPy's and PyTorch's semantics): `concatenate`, `stack`, `split`,
//! `chunk`, `repeat`, `tile`, `pad` (constant), `roll`. No kernel of their own: the pieces
//! of a split are views (`narrow`), and every result that must be new is assembled by the
//! strided copy that makes views contiguous (`copy_layout`: the CPU's copy loop, on CUDA a
//! device-to-device copy or `copy_strided_*`), each input copied once into its place in one
//! output: as many bytes read and written as the op must move, which is the roofline of a
//! data-movement op. `repeat` and `tile` are a single copy of a broadcast view (stride 0 on the
//! repeated axes); `pad` fills the output (a copy of a broadcast scalar) and then copies the
//! input into its middle.

use super::{output, same_device};
use crate::array::layout::Layout;
use crate::array::slice::SliceArg;
use crate::array::storage::Storage;
use crate::array::{Array, copy_layout};
use crate::dtype::Element;
use crate::error::{Error, Result};

/// A fresh array of `shape` on `device` (filled with `fill` first, if given), with each part
/// copied in at its per-axis `starts`.
fn assemble<T: Element>(
    op: &'static str,
    shape: &[usize],
    device: &crate::Device,
    fill: Option<T>,
    parts: &[(&Array<T>, Vec<usize>)],
) -> Result<Array<T>> {
    let (mut out, layout) = output::<T>(shape, device)?;
    if fill.is_none() && back_to_back(shape, parts) {
        if let Storage::Cpu(y) = &mut out {
            let slices: Vec<&[T]> = parts
                .iter()
                .map(|(a, _)| match &*a.storage {
                    Storage::Cpu(d) if a.len() > 0 => &d.typed::<T>()[a.layout.offset()..][..a.len()],
                    _ => &[],
                })
                .collect();
            crate::backend::cpu::concat(&slices, y.as_mut_slice::<T>().expect("the output's dtype"));
            return Ok(Array::from_storage(out, shape));
        }
    }
    if let Some(v) = fill {
        let scalar = Array::from_vec_on(vec![v], &[], device)?;
        copy_layout(&scalar.storage, &scalar.layout.broadcast_to(op, shape)?, &mut out, &layout)?;
    }
    for (a, starts) in parts {
        let spec: Vec<SliceArg> = starts.iter().zip(a.shape()).map(|(&s, &n)| SliceArg::from(s..s + n)).collect();
        copy_layout(&a.storage, &a.layout, &mut out, &layout.indexed(op, &spec)?)?;
    }
    Ok(Array::from_storage(out, shape))
}

/// Whether `parts` fill the output one after another in memory: each contiguous, joined along
/// axis 0 (1-D joins, `stack` along axis 0), at consecutive row-major offsets: the CPU then
/// joins them in one pass. Conservative: other joins that happen to be back to back (along a
/// later axis after length-1 axes) take the copy per part.
fn back_to_back<T: Element>(shape: &[usize], parts: &[(&Array<T>, Vec<usize>)]) -> bool {
    let mut at = 0;
    for (a, starts) in parts {
        let k = starts.iter().position(|&s| s != 0).unwrap_or(0);
        if !a.is_contiguous() || shape[..k].iter().any(|&d| d != 1) || a.shape()[k + 1..] != shape[k + 1..] {
            return false;
        }
        let offset: usize = starts[k] * shape[k + 1..].iter().product::<usize>();
        if offset != at {
            return false;
        }
        at += a.len();
    }
    true
}

/// `arrays` joined along `axis` (negative from the end; NumPy's `concatenate`, PyTorch's
/// `cat`): every array on one device, with the same number of dimensions and the same
/// lengths but along `axis`.
pub fn concatenate<T: Element>(arrays: &[&Array<T>], axis: isize) -> Result<Array<T>> {
    const OP: &str = "concatenate";
    let Some(first) = arrays.first() else {
        return Err(Error::bad_shape(OP, &[], "no arrays to join: at least one is needed"));
    };
    let k = first.layout.axis(OP, axis)?;
    let mut total = 0usize;
    for (i, a) in arrays.iter().enumerate() {
        same_device(OP, first, a)?;
        let fits = a.ndim() == first.ndim() && (0..a.ndim()).all(|d| d == k || a.shape()[d] == first.shape()[d]);
        if !fits {
            return Err(Error::shape_mismatch(
                OP,
                first.shape(),
                a.shape(),
                format!("array {i} must match array 0 in every axis but {k}"),
            ));
        }
        total = total.checked_add(a.shape()[k]).ok_or_else(|| Error::bad_shape(OP, a.shape(), "the sizes overflow"))?;
    }
    let mut shape = first.shape().to_vec();
    shape[k] = total;
    let mut at = 0;
    let parts: Vec<(&Array<T>, Vec<usize>)> = arrays
        .iter()
        .map(|a| {
            let mut starts = vec![0; shape.len()];
            starts[k] = at;
            at += a.shape()[k];
            (*a, starts)
        })
        .collect();
    assemble(OP, &shape, &first.device(), None, &parts)
}

/// `arrays`, all of one shape, joined along a new axis `axis` (in `-(ndim + 1)..=ndim`;
/// NumPy's and PyTorch's `stack`).
pub fn stack<T: Element>(arrays: &[&Array<T>], axis: isize) -> Result<Array<T>> {
    let Some(first) = arrays.first() else {
        return Err(Error::bad_shape("stack", &[], "no arrays to stack: at least one is needed"));
    };
    let mut views = Vec::with_capacity(arrays.len());
    for (i, a) in arrays.iter().enumerate() {
        if a.shape() != first.shape() {
            return Err(Error::shape_mismatch(
                "stack",
                first.shape(),
                a.shape(),
                format!("array {i} must have array 0's shape"),
            ));
        }
        views.push(Array::from_parts(a.storage.clone(), a.layout.unsqueezed("stack", axis)?));
    }
    concatenate(&views.iter().collect::<Vec<_>>(), axis)
}

impl<T: Element> Array<T> {
    /// Views of consecutive pieces along `axis` of the given `sizes`, which must add up to
    /// the axis's length (PyTorch's `split` with a list of sizes).
    pub fn split(&self, sizes: &[usize], axis: isize) -> Result<Vec<Array<T>>> {
        let k = self.layout.axis("split", axis)?;
        let n = self.shape()[k];
        if sizes.iter().try_fold(0usize, |a, &s| a.checked_add(s)) != Some(n) {
            return Err(Error::bad_shape(
                "split",
                self.shape(),
                format!("the sizes {sizes:?} do not add up to the length {n} of axis {k}"),
            ));
        }
        let mut at = 0;
        sizes
            .iter()
            .map(|&s| {
                at += s;
                self.narrow(k as isize, (at - s) as isize, s)
            })
            .collect()
    }

    /// At most `chunks` views along `axis`, each `ceil(n / chunks)` long but the last, which
    /// may be shorter (PyTorch's `chunk`: fewer pieces when they run out; an empty axis gives
    /// one empty piece). `chunks` must be at least 1.
    pub fn chunk(&self, chunks: usize, axis: isize) -> Result<Vec<Array<T>>> {
        let k = self.layout.axis("chunk", axis)?;
        if chunks == 0 {
            return Err(Error::bad_shape("chunk", self.shape(), "0 chunks: at least 1 is needed"));
        }
        let n = self.shape()[k];
        let size = n.div_ceil(chunks).max(1);
        let mut sizes = vec![size; n / size];
        if n % size != 0 || n == 0 {
            sizes.push(n % size);
        }
        self.split(&sizes, k as isize)
    }

    /// Each element `repeats` times in a row along `axis` (NumPy's `repeat`; `None`: of the
    /// flattened array). A new array.
    pub fn repeat(&self, repeats: usize, axis: Option<isize>) -> Result<Array<T>> {
        let (x, k) = match axis {
            None => (self.reshape(&[self.len()])?, 0),
            Some(a) => (self.clone(), self.layout.axis("repeat", a)?),
        };
        let mut wide = x.shape().to_vec();
        wide.insert(k + 1, repeats);
        let mut shape = x.shape().to_vec();
        shape[k] = shape[k]
            .checked_mul(repeats)
            .ok_or_else(|| Error::bad_shape("repeat", x.shape(), format!("{repeats} repeats overflow the size")))?;
        x.unsqueeze(k as isize + 1)?.broadcast_to(&wide)?.copy()?.reshape(&shape)
    }

    /// The array repeated `reps[i]` times along each axis (NumPy's `tile`: a shorter `reps`
    /// is padded with 1s in front, a longer one gives the array leading axes of length 1).
    pub fn tile(&self, reps: &[usize]) -> Result<Array<T>> {
        let n = reps.len().max(self.ndim());
        let pad = |v: &[usize]| [vec![1; n - v.len()], v.to_vec()].concat();
        let (reps, dims) = (pad(reps), pad(self.shape()));
        let lead = n - self.ndim();
        let strides: Vec<isize> = (0..n).map(|d| if d < lead { 0 } else { self.strides()[d - lead] }).collect();
        // Axes (reps[d], dims[d]) interleaved; the repeats have stride 0.
        let (mut wide, mut wide_strides, mut shape) = (Vec::new(), Vec::new(), Vec::new());
        for d in 0..n {
            wide.extend([reps[d], dims[d]]);
            wide_strides.extend([0, strides[d]]);
            shape.push(reps[d].checked_mul(dims[d]).ok_or_else(|| {
                Error::bad_shape("tile", self.shape(), format!("{} repeats of axis {d} overflow", reps[d]))
            })?);
        }
        crate::alloc::volume("tile", &shape)?;
        let view = Array::<T>::from_parts(self.storage.clone(), Layout::new(wide, wide_strides, self.layout.offset()));
        view.copy()?.reshape(&shape)
    }

    /// The array with `widths[d] = (before, after)` elements of `value` added around axis `d`
    /// (NumPy's `pad` in `constant` mode; one pair applies to every axis).
    pub fn pad(&self, widths: &[(usize, usize)], value: T) -> Result<Array<T>> {
        let nd = self.ndim();
        if widths.len() != nd && widths.len() != 1 {
            return Err(Error::bad_shape(
                "pad",
                self.shape(),
                format!("{} pad widths {widths:?} for {nd} axes: give one pair per axis, or one for all", widths.len()),
            ));
        }
        let width = |d: usize| widths[if widths.len() == 1 { 0 } else { d }];
        let mut shape = Vec::with_capacity(nd);
        for d in 0..nd {
            let (a, b) = width(d);
            let len = self.shape()[d].checked_add(a).and_then(|v| v.checked_add(b));
            shape.push(len.ok_or_else(|| {
                Error::bad_shape("pad", self.shape(), format!("pad widths ({a}, {b}) overflow axis {d}"))
            })?);
        }
        crate::alloc::volume("pad", &shape)?;
        let starts = (0..nd).map(|d| width(d).0).collect();
        assemble("pad", &shape, &self.device(), Some(value), &[(self, starts)])
    }

    /// The elements shifted `shift` places along `axis` (negative: backwards), those pushed
    /// off the end coming back at the start (NumPy's `roll`; `None`: of the flattened array,
    /// in its shape). A new array.
    pub fn roll(&self, shift: isize, axis: Option<isize>) -> Result<Array<T>> {
        let (x, k) = match axis {
            None => (self.reshape(&[self.len()])?, 0),
            Some(a) => (self.clone(), self.layout.axis("roll", a)?),
        };
        let n = x.shape()[k];
        let s = if n == 0 { 0 } else { shift.rem_euclid(n as isize) as usize };
        let (tail, head) = (x.narrow(k as isize, (n - s) as isize, s)?, x.narrow(k as isize, 0, n - s)?);
        let at = |i: usize| (0..x.ndim()).map(|d| if d == k { i } else { 0 }).collect::<Vec<_>>();
        assemble("roll", x.shape(), &x.device(), None, &[(&tail, at(0)), (&head, at(s))])?.reshape(self.shape())
    }
}
