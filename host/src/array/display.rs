//! NumPy-style printing: `[1, 1.4142135, 1.7320508, 2, 2.236068]`, nested brackets for more
//! dimensions, and `...` past 1000 elements (three items kept at each end of each axis); `[]`
//! for any empty array, whatever its shape (`[usize::MAX, 0]` too).
//!
//! Floats print as the shortest decimal that reads back to the same value. An array of two or
//! more dimensions prints in aligned columns, as NumPy's: each element is padded to the widest
//! printed one, integer parts right-aligned and decimal points lined up. A 1-D array is one
//! line with nothing to align, so it prints without padding (NumPy pads it too; ferrite keeps
//! the line short).
//!
//! Only the printed elements are read: a CPU array through its layout, in place; a CUDA array
//! is copied to the host first. `{:?}` shows the shape, dtype and device, not the elements.

use super::Array;
use super::storage::Storage;
use crate::dtype::Element;
use std::fmt;

/// NumPy's `threshold` and `edgeitems` defaults.
const THRESHOLD: usize = 1000;
const EDGE: usize = 3;

fn format_elem<T: Element>(v: T) -> String {
    if v.to_f64().is_nan() { "nan".into() } else { v.to_string() }
}

/// The indices printed along an axis of length `n` (`None` stands for `...`).
fn printed(n: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && n > 2 * EDGE {
        (0..EDGE).map(Some).chain([None]).chain((n - EDGE..n).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    }
}

/// Column widths: (integer part, `.` and fraction) of the widest printed elements.
#[derive(Clone, Copy, Default)]
struct Widths {
    int: usize,
    frac: usize,
}

impl Widths {
    fn split(s: &str) -> (usize, usize) {
        let int = s.find('.').unwrap_or(s.len());
        (int, s.len() - int)
    }

    fn of<'a>(cells: impl Iterator<Item = &'a String>) -> Widths {
        cells.fold(Widths::default(), |w, s| {
            let (int, frac) = Widths::split(s);
            Widths { int: w.int.max(int), frac: w.frac.max(frac) }
        })
    }

    fn write(self, f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
        let (int, frac) = Widths::split(s);
        write!(
            f,
            "{:int_pad$}{s}{:frac_pad$}",
            "",
            "",
            int_pad = self.int.saturating_sub(int),
            frac_pad = self.frac.saturating_sub(frac)
        )
    }
}

/// Writes the block at `dims` of `axes` (the printed indices per axis), taking the formatted
/// elements from `cells` in row-major order.
fn write_block(
    f: &mut fmt::Formatter<'_>,
    axes: &[Vec<Option<usize>>],
    cells: &mut std::vec::IntoIter<String>,
    widths: Widths,
    depth: usize,
) -> fmt::Result {
    let Some((items, rest)) = axes.split_first() else {
        return widths.write(f, &cells.next().expect("one formatted cell per printed element"));
    };
    f.write_str("[")?;
    for (j, item) in items.iter().enumerate() {
        if j > 0 {
            if rest.is_empty() {
                f.write_str(", ")?;
            } else {
                write!(f, ",{}{}", "\n".repeat(rest.len()), " ".repeat(depth + 1))?;
            }
        }
        match item {
            Some(_) => write_block(f, rest, cells, widths, depth + 1)?,
            None => f.write_str("...")?,
        }
    }
    f.write_str("]")
}

/// Every printed element's offset in `strides` from `offset`, in row-major order.
fn printed_offsets(axes: &[Vec<Option<usize>>], strides: &[isize], offset: isize, out: &mut Vec<usize>) {
    match axes.split_first() {
        None => out.push(offset as usize),
        Some((items, rest)) => {
            for i in items.iter().flatten() {
                printed_offsets(rest, &strides[1..], offset + *i as isize * strides[0], out);
            }
        }
    }
}

impl<T: Element> fmt::Display for Array<T> {
    /// Reads the printed elements (a CUDA array is copied to the host first; a device error
    /// becomes `fmt::Error`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("[]"); // as NumPy, whatever the shape
        }
        let summarize = self.len() > THRESHOLD;
        let axes: Vec<_> = self.shape().iter().map(|&n| printed(n, summarize)).collect();
        let mut offsets = Vec::new();
        let cells: Vec<String> = match self.storage() {
            Storage::Cpu(d) => {
                printed_offsets(&axes, self.strides(), self.layout().offset() as isize, &mut offsets);
                let all = d.typed::<T>();
                offsets.iter().map(|&o| format_elem(all[o])).collect()
            }
            Storage::Cuda(_) => {
                let host = self.to_vec().map_err(|_| fmt::Error)?;
                let strides = super::layout::contiguous_strides(self.shape());
                printed_offsets(&axes, &strides, 0, &mut offsets);
                offsets.iter().map(|&o| format_elem(host[o])).collect()
            }
        };
        let widths = if self.ndim() >= 2 { Widths::of(cells.iter()) } else { Widths::default() };
        write_block(f, &axes, &mut cells.into_iter(), widths, 0)
    }
}

impl<T: Element> fmt::Debug for Array<T> {
    /// `Array { shape: [2, 3], dtype: float32, device: cpu }` (and the strides of a
    /// non-contiguous view): the elements are `{}`'s.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Array");
        s.field("shape", &self.shape()).field("dtype", &format_args!("{}", self.dtype()));
        if !self.is_contiguous() {
            s.field("strides", &self.strides());
        }
        s.field("device", &format_args!("{}", self.device())).finish()
    }
}
