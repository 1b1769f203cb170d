//! NumPy-style printing: `[1, 1.4142135, 1.7320508, 2, 2.236068]`, nested brackets for more
//! dimensions, and `...` past 1000 elements (three items kept at each end of each axis); `[]`
//! for any empty array.
//! Floats print as the shortest decimal that reads back to the same value.

use super::Array;
use crate::dtype::Element;
use std::fmt;

/// NumPy's `threshold` and `edgeitems` defaults.
const THRESHOLD: usize = 1000;
const EDGE: usize = 3;

fn write_elem<T: Element>(f: &mut fmt::Formatter<'_>, v: T) -> fmt::Result {
    if v.to_f64().is_nan() { f.write_str("nan") } else { write!(f, "{v}") }
}

fn write_block<T: Element>(
    f: &mut fmt::Formatter<'_>,
    data: &[T],
    shape: &[usize],
    depth: usize,
    summarize: bool,
) -> fmt::Result {
    let Some((&n, rest)) = shape.split_first() else {
        return write_elem(f, data[0]);
    };
    let stride: usize = rest.iter().product();
    let items: Vec<Option<usize>> = if summarize && n > 2 * EDGE {
        (0..EDGE).map(Some).chain([None]).chain((n - EDGE..n).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    };
    f.write_str("[")?;
    for (j, item) in items.into_iter().enumerate() {
        if j > 0 {
            if rest.is_empty() {
                f.write_str(", ")?;
            } else {
                write!(f, ",{}{}", "\n".repeat(rest.len()), " ".repeat(depth + 1))?;
            }
        }
        match item {
            Some(i) => write_block(f, &data[i * stride..(i + 1) * stride], rest, depth + 1, summarize)?,
            None => f.write_str("...")?,
        }
    }
    f.write_str("]")
}

impl<T: Element> fmt::Display for Array<T> {
    /// Copies the data to the host first; a device error becomes `fmt::Error`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.to_vec().map_err(|_| fmt::Error)?;
        if data.is_empty() {
            return f.write_str("[]"); // as NumPy, whatever the shape: `[usize::MAX, 0]` too
        }
        write_block(f, &data, self.shape(), 0, data.len() > THRESHOLD)
    }
}

impl<T: Element> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Array({self}, dtype={}, shape={:?}, device={})", self.dtype(), self.shape(), self.device())
    }
}
