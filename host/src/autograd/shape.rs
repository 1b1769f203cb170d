//! Views, joins, indexing, selection and casts on [`Var`], with their backward rules: a view's
//! gradient goes back through the inverse view (`reshape`, `permute`, `flip`, `roll`) or is
//! written into zeros at the view's place (slicing, `narrow`, `select`); a broadcast's is summed,
//! and so are overlapping windows' (`unfold`);
//! joins split the gradient; `index_select` and `gather` scatter-add it (repeated indices
//! add up); `where_` routes it to the chosen side; `cast` casts it back.

use super::{Grad, Var, pass, sum_to};
use crate::array::{Array, Axes, IndexType, SliceArg};
use crate::dtype::Float;
use crate::error::Result;

impl<T: Float> Var<T> {
    /// Records the view `y` of this value, whose gradient is `g` written into zeros of this
    /// shape at `spec` (the view's slice).
    fn sliced(&self, op: &'static str, y: Array<T>, spec: Vec<SliceArg>) -> Var<T> {
        let (shape, device) = (self.shape().to_vec(), self.device());
        Var::record_unary(op, y, self, move |g| {
            let mut z = Array::full_on(&shape, T::from_f64(0.0), &device)?;
            z.slice_assign(&spec, g)?;
            Ok(z)
        })
    }

    /// The same elements in `shape` (a view when contiguous).
    pub fn reshape(&self, shape: &[usize]) -> Result<Var<T>> {
        let from = self.shape().to_vec();
        Ok(Var::record_unary("reshape", self.value.reshape(shape)?, self, move |g| g.reshape(&from)))
    }

    /// The elements as one dimension.
    pub fn flatten(&self) -> Result<Var<T>> {
        self.reshape(&[self.len()])
    }

    /// Axis `i` of the result is axis `perm[i]` here (a view).
    pub fn permute(&self, perm: &[isize]) -> Result<Var<T>> {
        let y = self.value.permute(perm)?;
        let n = self.ndim() as isize;
        let mut inverse = vec![0isize; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[(if p < 0 { p + n } else { p }) as usize] = i as isize;
        }
        Ok(Var::record_unary("permute", y, self, move |g| g.permute(&inverse)))
    }

    /// The axes reversed (NumPy's `.T`).
    pub fn transpose(&self) -> Result<Var<T>> {
        let perm: Vec<isize> = (0..self.ndim() as isize).rev().collect();
        self.permute(&perm)
    }

    /// The last two axes swapped (PyTorch's `.t()`/`mT`); 0-d and 1-d values as they are.
    pub fn t(&self) -> Result<Var<T>> {
        if self.ndim() < 2 { Ok(self.clone()) } else { self.swapaxes(-2, -1) }
    }

    /// Axes `a` and `b` exchanged.
    pub fn swapaxes(&self, a: isize, b: isize) -> Result<Var<T>> {
        let y = self.value.swapaxes(a, b)?;
        Ok(Var::record_unary("swapaxes", y, self, move |g| g.swapaxes(a, b)))
    }

    /// Broadcast to `shape` (the gradient summed back).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Var<T>> {
        let from = self.shape().to_vec();
        Ok(Var::record_unary("broadcast_to", self.value.broadcast_to(shape)?, self, move |g| sum_to(g, &from)))
    }

    /// With a length-1 axis inserted at `axis`.
    pub fn unsqueeze(&self, axis: isize) -> Result<Var<T>> {
        let from = self.shape().to_vec();
        Ok(Var::record_unary("unsqueeze", self.value.unsqueeze(axis)?, self, move |g| g.reshape(&from)))
    }

    /// Without the length-1 axes `axes`.
    pub fn squeeze_axes(&self, axes: &[isize]) -> Result<Var<T>> {
        let from = self.shape().to_vec();
        Ok(Var::record_unary("squeeze", self.value.squeeze_axes(axes)?, self, move |g| g.reshape(&from)))
    }

    /// NumPy's basic indexing (`s![..]`): ranges, steps, indices, new axes.
    pub fn slice(&self, spec: &[SliceArg]) -> Result<Var<T>> {
        Ok(self.sliced("slice", self.value.slice(spec)?, spec.to_vec()))
    }

    /// `length` elements from `start` along `axis` (PyTorch's `narrow`).
    pub fn narrow(&self, axis: isize, start: isize, length: usize) -> Result<Var<T>> {
        let y = self.value.narrow(axis, start, length)?;
        let k = self.value.layout().axis("narrow", axis)?;
        let n = self.shape()[k] as isize;
        let s = if start < 0 { start + n } else { start };
        let mut spec = vec![SliceArg::from(..); k];
        spec.push(SliceArg::from(s..s + length as isize));
        Ok(self.sliced("narrow", y, spec))
    }

    /// The elements at `index` along `axis`, without that axis.
    pub fn select(&self, axis: isize, index: isize) -> Result<Var<T>> {
        let y = self.value.select(axis, index)?;
        let k = self.value.layout().axis("select", axis)?;
        let mut spec = vec![SliceArg::from(..); k];
        spec.push(SliceArg::Index(index));
        Ok(self.sliced("select", y, spec))
    }

    /// The elements reversed along `axes`.
    pub fn flip(&self, axes: impl Into<Axes>) -> Result<Var<T>> {
        let axes = axes.into();
        let y = self.value.flip(axes.clone())?;
        Ok(Var::record_unary("flip", y, self, move |g| g.flip(axes.clone())))
    }

    /// Padded with `value` (`widths[i]`: before and after along axis `i`); the gradient is the
    /// inner part.
    pub fn pad(&self, widths: &[(usize, usize)], value: T) -> Result<Var<T>> {
        let y = self.value.pad(widths, value)?;
        // One pair applies to every axis.
        let before = |d: usize| widths[if widths.len() == 1 { 0 } else { d }].0;
        let spec: Vec<SliceArg> =
            self.shape().iter().enumerate().map(|(d, &n)| SliceArg::from(before(d)..before(d) + n)).collect();
        Ok(Var::record_unary("pad", y, self, move |g| g.slice(&spec)))
    }

    /// The windows of `size` elements, `step` apart, along `axis` (PyTorch's `unfold`; a view,
    /// see [`Array::unfold`]). The gradient adds each window's back into place: `size` strided
    /// adds into one zero array, no scatter, so overlapping windows sum deterministically.
    pub fn unfold(&self, axis: isize, size: usize, step: usize) -> Result<Var<T>> {
        let y = self.value.unfold(axis, size, step)?;
        let k = self.value.layout().axis("unfold", axis)?;
        let (shape, device) = (self.shape().to_vec(), self.device());
        Ok(Var::record_unary("unfold", y, self, move |g| {
            let mut z = Array::full_on(&shape, T::from_f64(0.0), &device)?;
            for j in 0..size {
                z.add_into_slice(k, j, step, &g.select(-1, j as isize)?)?;
            }
            Ok(z)
        }))
    }

    /// Without its length-1 axes.
    pub fn squeeze(&self) -> Result<Var<T>> {
        let from = self.shape().to_vec();
        Ok(Var::record_unary("squeeze", self.value.squeeze(), self, move |g| g.reshape(&from)))
    }

    /// The elements shifted `shift` places along `axis` (NumPy's `roll`); the gradient rolls
    /// back.
    pub fn roll(&self, shift: isize, axis: Option<isize>) -> Result<Var<T>> {
        let y = self.value.roll(shift, axis)?;
        Ok(Var::record_unary("roll", y, self, move |g| g.roll(shift.wrapping_neg(), axis)))
    }

    /// Each element `repeats` times along `axis` (NumPy's `repeat`); the copies' gradients add.
    pub fn repeat(&self, repeats: usize, axis: Option<isize>) -> Result<Var<T>> {
        let y = self.value.repeat(repeats, axis)?;
        let (shape, k) = match axis {
            None => (vec![self.len()], 0),
            Some(a) => (self.shape().to_vec(), self.value.layout().axis("repeat", a)?),
        };
        let from = self.shape().to_vec();
        Ok(Var::record_unary("repeat", y, self, move |g| {
            let mut wide = shape.clone();
            wide.insert(k + 1, repeats);
            g.reshape(&wide)?.sum_same(Axes::Some(vec![k as isize + 1]), false)?.reshape(&from)
        }))
    }

    /// The value repeated `reps[i]` times along each axis (NumPy's `tile`); the copies'
    /// gradients add.
    pub fn tile(&self, reps: &[usize]) -> Result<Var<T>> {
        let y = self.value.tile(reps)?;
        let n = reps.len().max(self.ndim());
        let pad = |v: &[usize]| [vec![1; n - v.len()], v.to_vec()].concat();
        let wide: Vec<usize> = pad(reps).into_iter().zip(pad(self.shape())).flat_map(|(r, d)| [r, d]).collect();
        let from = self.shape().to_vec();
        Ok(Var::record_unary("tile", y, self, move |g| {
            let reps_axes = (0..n as isize).map(|d| 2 * d).collect();
            g.reshape(&wide)?.sum_same(Axes::Some(reps_axes), false)?.reshape(&from)
        }))
    }

    /// Parts of `sizes[i]` elements along `axis` (NumPy's `split` by sizes).
    pub fn split(&self, sizes: &[usize], axis: isize) -> Result<Vec<Var<T>>> {
        // Checked (and named) by the array op first.
        self.value.split(sizes, axis)?;
        let mut start = 0;
        let mut parts = Vec::with_capacity(sizes.len());
        for &n in sizes {
            parts.push(self.narrow(axis, start as isize, n)?);
            start += n;
        }
        Ok(parts)
    }

    /// `chunks` parts of equal size along `axis` (the last smaller; PyTorch's `chunk`).
    pub fn chunk(&self, chunks: usize, axis: isize) -> Result<Vec<Var<T>>> {
        let parts = self.value.chunk(chunks, axis)?;
        let k = self.value.layout().axis("chunk", axis)?;
        let sizes: Vec<usize> = parts.iter().map(|p| p.shape()[k]).collect();
        self.split(&sizes, axis)
    }

    /// `value` where `mask` (broadcast), else the element; the gradient passes where not
    /// filled.
    pub fn masked_fill(&self, mask: &Array<bool>, value: T) -> Result<Var<T>> {
        let y = self.value.masked_fill(mask, value)?;
        let keep = mask.logical_not()?;
        let from = self.shape().to_vec();
        Ok(Var::record_unary("masked_fill", y, self, move |g| sum_to(&pass(&keep, g)?, &from)))
    }

    /// The values sorted along `axis` (`None`: flattened; stable, NaN last): the gradient goes
    /// back to each value's place.
    pub fn sort(&self, axis: Option<isize>) -> Result<Var<T>> {
        let Some(axis) = axis else { return self.flatten()?.sort(Some(0)) };
        let order = self.value.argsort(Some(axis))?;
        self.gather(axis, &order)
    }

    /// The `k` largest values along `axis`, largest first, and their indices.
    pub fn topk(&self, k: usize, axis: isize) -> Result<(Var<T>, Array<i64>)> {
        let (_, indices) = self.value.topk(k, axis)?;
        Ok((self.gather(axis, &indices)?, indices))
    }

    /// The elements at `index` along `axis` (PyTorch's `index_select`); repeated indices add
    /// their gradients.
    pub fn index_select<I: IndexType>(&self, axis: isize, index: &Array<I>) -> Result<Var<T>> {
        let y = self.value.index_select(axis, index)?;
        let k = self.value.layout().axis("index_select", axis)?;
        let (shape, device, index) = (self.shape().to_vec(), self.device(), index.clone());
        Ok(Var::record_unary("index_select", y, self, move |g| {
            // The index along axis k, broadcast over the gradient's other axes.
            let mut along = vec![1; g.ndim()];
            along[k] = index.len();
            let index = index.reshape(&along)?.broadcast_to(g.shape())?;
            Array::full_on(&shape, T::from_f64(0.0), &device)?.scatter_add(k as isize, &index, g)
        }))
    }

    /// PyTorch's `gather` along `axis`; repeated indices add their gradients.
    pub fn gather<I: IndexType>(&self, axis: isize, index: &Array<I>) -> Result<Var<T>> {
        let y = self.value.gather(axis, index)?;
        let (shape, device, index) = (self.shape().to_vec(), self.device(), index.clone());
        Ok(Var::record_unary("gather", y, self, move |g| {
            Array::full_on(&shape, T::from_f64(0.0), &device)?.scatter_add(axis, &index, g)
        }))
    }

    /// The elements converted to `U` (the gradient converted back).
    pub fn cast<U: Float>(&self) -> Result<Var<U>> {
        let y = self.value.cast::<U>()?;
        Ok(Var::record("cast", y, vec![self.node.clone()], |g: &Array<U>, _| {
            Ok(vec![Some(Box::new(g.cast::<T>()?) as Grad)])
        }))
    }
}

/// `a` where `cond`, else `b`, with broadcasting; each side's gradient is `g` where it was
/// chosen, summed back to its shape.
pub fn where_<T: Float>(cond: &Array<bool>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    let y = crate::where_(cond, &a.value, &b.value)?;
    let (cond, sa, sb) = (cond.clone(), a.shape().to_vec(), b.shape().to_vec());
    Ok(Var::record_same("where", y, &[a, b], move |g, needs| {
        let ga = if needs[0] { Some(sum_to(&pass(&cond, g)?, &sa)?) } else { None };
        let gb = if needs[1] { Some(sum_to(&pass(&cond.logical_not()?, g)?, &sb)?) } else { None };
        Ok(vec![ga, gb])
    }))
}

/// The values joined along `axis` (NumPy's `concatenate`); each gets its part of the gradient.
pub fn concatenate<T: Float>(vars: &[&Var<T>], axis: isize) -> Result<Var<T>> {
    let values: Vec<&Array<T>> = vars.iter().map(|v| &v.value).collect();
    let y = crate::concatenate(&values, axis)?;
    let k = y.layout().axis("concatenate", axis)?;
    let lens: Vec<usize> = vars.iter().map(|v| v.shape()[k]).collect();
    Ok(Var::record_same("concatenate", y, vars, move |g, needs| {
        let mut start = 0;
        let mut grads = Vec::with_capacity(lens.len());
        for (&n, &need) in lens.iter().zip(needs) {
            grads.push(if need { Some(g.narrow(k as isize, start as isize, n)?) } else { None });
            start += n;
        }
        Ok(grads)
    }))
}

/// The values stacked along a new `axis` (NumPy's `stack`); each gets its slice of the
/// gradient.
pub fn stack<T: Float>(vars: &[&Var<T>], axis: isize) -> Result<Var<T>> {
    let values: Vec<&Array<T>> = vars.iter().map(|v| &v.value).collect();
    let y = crate::stack(&values, axis)?;
    let k = y.layout().axis("stack", axis)? as isize;
    Ok(Var::record_same("stack", y, vars, move |g, needs| {
        needs
            .iter()
            .enumerate()
            .map(|(i, &need)| if need { g.select(k, i as isize).map(Some) } else { Ok(None) })
            .collect()
    }))
}
