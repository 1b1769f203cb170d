//! Contractions made of views, sums and [`Array::matmul`]: NumPy's `dot`, `outer` and
//! `einsum` (one or two operands).
//!
//! `einsum` parses its subscripts (`"ij,jk->ik"`; without `->` the output is the labels that
//! appear once, in alphabetical order, as NumPy's), then per operand takes the diagonal of a
//! repeated label (a view: the two axes' strides added) and sums away the labels nothing else
//! uses. One operand is then permuted to the output's order (a view). Two are a batched
//! matmul: labels in both operands and the output are the batch, in both but not the output
//! contracted, in one only its rows or columns; each operand is permuted (a view) into
//! `[batch, rows, contracted]` and `[batch, contracted, columns]`, reshaped (a copy only where
//! a group of several labels is not contiguous), multiplied, and the result reshaped and
//! permuted to the output's order. Unsupported (an `Error::Einsum` naming the subscripts):
//! ellipses and more than two operands.

use super::reduce::Summable;
use super::same_device;
use crate::array::Array;
use crate::array::layout::Layout;
use crate::dtype::{Float, Num};
use crate::error::{Error, Result};

/// `a.dot(b)`.
pub fn dot<T: Float>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    a.dot(b)
}

/// `a.outer(b)`.
pub fn outer<T: Num>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    a.outer(b)
}

impl<T: Float> Array<T> {
    /// NumPy's `dot`: a 0-d operand multiplies elementwise; a 1-D or 2-D right operand is
    /// [`matmul`](Array::matmul); otherwise the sum over the last axis of `self` and the
    /// second-to-last of `other` (`dot(a, b)[i, j, k, m] = Σ a[i, j, :] · b[k, :, m]`).
    pub fn dot(&self, other: &Array<T>) -> Result<Array<T>> {
        if self.ndim() == 0 || other.ndim() == 0 {
            return self.mul(other);
        }
        if other.ndim() <= 2 {
            return self.matmul(other);
        }
        same_device("dot", self, other)?;
        let (a, b) = (self.shape(), other.shape());
        let (k, nb) = (a[a.len() - 1], b.len());
        if k != b[nb - 2] {
            let why = format!(
                "the last axis of the first ({k}) differs from the second-to-last of the second ({})",
                b[nb - 2]
            );
            return Err(Error::shape_mismatch("dot", a, b, why));
        }
        // b as k × (its other axes): its contracted axis first.
        let mut perm: Vec<isize> = vec![nb as isize - 2];
        perm.extend((0..nb as isize).filter(|&i| i != nb as isize - 2));
        let rest: usize = b.iter().enumerate().filter(|&(i, _)| i != nb - 2).map(|(_, &d)| d).product();
        let bm = other.permute(&perm)?.reshape(&[k, rest])?;
        let rows: usize = a[..a.len() - 1].iter().product();
        let c = self.reshape(&[rows, k])?.matmul(&bm)?;
        let mut shape = a[..a.len() - 1].to_vec();
        shape.extend_from_slice(&b[..nb - 2]);
        shape.push(b[nb - 1]);
        c.reshape(&shape)
    }
}

impl<T: Num> Array<T> {
    /// NumPy's `outer`: both operands flattened, `out[i, j] = a[i] · b[j]` (each product
    /// rounded once; integers wrap).
    pub fn outer(&self, other: &Array<T>) -> Result<Array<T>> {
        let (m, n) = (self.len(), other.len());
        self.reshape(&[m, 1])?.mul(&other.reshape(&[1, n])?)
    }
}

/// The parsed subscripts: each operand's labels and the output's.
struct Spec {
    inputs: Vec<Vec<u8>>,
    output: Vec<u8>,
}

fn parse(subscripts: &str, ndims: &[usize]) -> Result<Spec> {
    let bad = |reason: String| Err(Error::Einsum { subscripts: subscripts.to_string(), reason });
    let s: String = subscripts.chars().filter(|c| !c.is_whitespace()).collect();
    if s.contains("...") {
        return bad("ellipses (...) are not supported".into());
    }
    let (lhs, rhs) = match s.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (s.as_str(), None),
    };
    let inputs: Vec<Vec<u8>> = lhs.split(',').map(|p| p.bytes().collect()).collect();
    if inputs.len() != ndims.len() {
        return bad(format!("{} operand subscripts for {} operands", inputs.len(), ndims.len()));
    }
    if inputs.len() > 2 {
        return bad("more than two operands are not supported".into());
    }
    let mut all = inputs.iter().flatten().chain(rhs.into_iter().flat_map(str::as_bytes));
    if let Some(c) = all.find(|c| !c.is_ascii_alphabetic()) {
        return bad(format!("{:?} is not a label (labels are letters)", *c as char));
    }
    for (i, (labels, &nd)) in inputs.iter().zip(ndims).enumerate() {
        if labels.len() != nd {
            return bad(format!("operand {i} has {nd} dimensions but {} labels", labels.len()));
        }
    }
    let count = |c: u8| inputs.iter().flatten().filter(|&&x| x == c).count();
    let output: Vec<u8> = match rhs {
        Some(r) => r.bytes().collect(),
        None => {
            let mut once: Vec<u8> = inputs.iter().flatten().copied().filter(|&c| count(c) == 1).collect();
            once.sort_unstable();
            once
        }
    };
    for (i, &c) in output.iter().enumerate() {
        if output[..i].contains(&c) {
            return bad(format!("the output repeats {:?}", c as char));
        }
        if count(c) == 0 {
            return bad(format!("the output's {:?} is in no operand", c as char));
        }
    }
    Ok(Spec { inputs, output })
}

/// Array `x` with labels `labels`: diagonals of repeated labels taken (views), then the
/// labels no one else (`keep`) needs summed away.
fn reduce_own<T: Float + Summable<Sum = T>>(
    subscripts: &str,
    x: &Array<T>,
    labels: &[u8],
    keep: &dyn Fn(u8) -> bool,
) -> Result<(Array<T>, Vec<u8>)> {
    let (mut shape, mut strides, mut own) = (x.shape().to_vec(), x.strides().to_vec(), labels.to_vec());
    let mut i = 0;
    while i < own.len() {
        if let Some(j) = own[..i].iter().position(|&c| c == own[i]) {
            if shape[i] != shape[j] {
                let why = format!(
                    "{subscripts:?}: the diagonal of label {:?} has lengths {} and {}",
                    own[i] as char, shape[j], shape[i]
                );
                return Err(Error::bad_shape("einsum", x.shape(), why));
            }
            strides[j] += strides[i];
            shape.remove(i);
            strides.remove(i);
            own.remove(i);
        } else {
            i += 1;
        }
    }
    let x = Array::from_parts(x.storage.clone(), Layout::new(shape, strides, x.layout().offset()));
    let gone: Vec<isize> = (0..own.len()).filter(|&i| !keep(own[i])).map(|i| i as isize).collect();
    if gone.is_empty() {
        return Ok((x, own));
    }
    let rest = own.iter().copied().filter(|&c| keep(c)).collect();
    Ok((x.sum(gone, false)?, rest))
}

/// `x` permuted so that its labels read `order`.
fn arrange<T: Float>(x: &Array<T>, labels: &[u8], order: &[u8]) -> Result<Array<T>> {
    let perm: Vec<isize> = order.iter().map(|c| labels.iter().position(|l| l == c).unwrap() as isize).collect();
    x.permute(&perm)
}

/// NumPy's `einsum` for one or two float operands (see the module notes).
///
/// ```
/// use ferrite::{Array, einsum};
/// let a = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// assert_eq!(einsum("ij,jk->ik", &[&a, &a])?.to_vec()?, a.matmul(&a)?.to_vec()?);
/// assert_eq!(einsum("ii->i", &[&a])?.to_vec()?, [1.0, 4.0]);
/// assert!(einsum("ij,jk,kl->il", &[&a, &a, &a]).is_err());
/// # Ok::<(), ferrite::Error>(())
/// ```
pub fn einsum<T: Float + Summable<Sum = T>>(subscripts: &str, operands: &[&Array<T>]) -> Result<Array<T>> {
    let ndims: Vec<usize> = operands.iter().map(|x| x.ndim()).collect();
    let Spec { inputs, output } = parse(subscripts, &ndims)?;
    if operands.len() == 1 {
        let (x, labels) = reduce_own(subscripts, operands[0], &inputs[0], &|c| output.contains(&c))?;
        return arrange(&x, &labels, &output);
    }
    let (a, b) = (operands[0], operands[1]);
    same_device("einsum", a, b)?;
    let (ia, ib) = (&inputs[0], &inputs[1]);
    let (x, la) = reduce_own(subscripts, a, ia, &|c| output.contains(&c) || ib.contains(&c))?;
    let (y, lb) = reduce_own(subscripts, b, ib, &|c| output.contains(&c) || ia.contains(&c))?;
    let len = |x: &Array<T>, l: &[u8], c: u8| x.shape()[l.iter().position(|&d| d == c).unwrap()];
    for &c in la.iter().filter(|c| lb.contains(c)) {
        if len(&x, &la, c) != len(&y, &lb, c) {
            let why = format!(
                "{subscripts:?}: label {:?} has lengths {} and {}",
                c as char,
                len(&x, &la, c),
                len(&y, &lb, c)
            );
            return Err(Error::shape_mismatch("einsum", a.shape(), b.shape(), why));
        }
    }
    let batch: Vec<u8> = output.iter().copied().filter(|c| la.contains(c) && lb.contains(c)).collect();
    let sum: Vec<u8> = la.iter().copied().filter(|c| lb.contains(c) && !output.contains(c)).collect();
    let rows: Vec<u8> = la.iter().copied().filter(|c| !lb.contains(c)).collect();
    let cols: Vec<u8> = lb.iter().copied().filter(|c| !la.contains(c)).collect();
    // Each operand as [batch.., two groups], a group's labels merged into one axis.
    let grouped = |x: &Array<T>, l: &[u8], g: [&[u8]; 2]| -> Result<Array<T>> {
        let mut dims: Vec<usize> = batch.iter().map(|&c| len(x, l, c)).collect();
        dims.extend(g.iter().map(|g| g.iter().map(|&c| len(x, l, c)).product::<usize>()));
        let x = arrange(x, l, &[&batch[..], g[0], g[1]].concat())?;
        if x.shape() == dims.as_slice() { Ok(x) } else { x.reshape(&dims) }
    };
    let xa = grouped(&x, &la, [&rows, &sum])?;
    let yb = grouped(&y, &lb, [&sum, &cols])?;
    let c = xa.matmul(&yb)?;
    // [batch, rows, cols] with each label its own axis, then the output's order.
    let mut shape: Vec<usize> = batch.iter().map(|&c| len(&x, &la, c)).collect();
    shape.extend(rows.iter().map(|&c| len(&x, &la, c)));
    shape.extend(cols.iter().map(|&c| len(&y, &lb, c)));
    arrange(&c.reshape(&shape)?, &[&batch[..], &rows, &cols].concat(), &output)
}
