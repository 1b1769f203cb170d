//! Registry rows of the data-movement ops, every dtype: the views (`slice`, `narrow`,
//! `select`, `flip`, `unfold`, `split`, `chunk`) and writing into a slice (`slice_assign`) here, the ops
//! that make new arrays in `rows_join.rs`. Each reference is index arithmetic
//! (`movement.rs`); the error inputs are in `rows_movement_errors.rs`.

use super::dynarray::{ALL, Dyn};
use super::movement::{Movement, Out, Pick, Sample, Src, flat, index_map, inputs, typed};
use super::registry::{Kind, Row};
use super::rows_movement_errors as errors;
use super::samples::View::{self, Broadcast, Contiguous, Sliced, Transposed};
use super::samples::represent;
use ferrite::{DType, Result, SliceArg, s};

pub fn sample(ins: &[(&[usize], View)], axis: Option<isize>, ints: &[isize], spec: &[SliceArg]) -> Sample {
    Sample { inputs: inputs(ins), axis, ints: ints.to_vec(), spec: spec.to_vec() }
}

pub fn out(shape: Vec<usize>, src: impl Fn(&[usize]) -> Src + 'static) -> Out {
    Out { shape, src: Box::new(src) }
}

pub fn axis_of(s: &Sample, ndim: usize) -> usize {
    let a = s.axis.expect("an axis");
    (if a < 0 { a + ndim as isize } else { a }) as usize
}

pub fn row(name: &'static str, view: bool, m: Movement) -> Row {
    Row::new(name, ALL, Kind::Movement(Movement { view, ..m }))
}

/// `pad`'s constant in `dtype`.
pub fn pad_value(dtype: DType) -> f64 {
    represent(dtype, -7.0)
}

pub fn slice<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    Ok(vec![T::wrap(T::pick(&x[0]).slice(&s.spec)?)])
}
pub fn slice_assign<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    let mut y = T::pick(&x[0]).clone(); // shares x's storage: the write must not reach x
    y.slice_assign(&s.spec, T::pick(&x[1]))?;
    Ok(vec![T::wrap(y)])
}
pub fn narrow<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    Ok(vec![T::wrap(T::pick(&x[0]).narrow(s.axis.unwrap(), s.ints[0], s.ints[1] as usize)?)])
}
pub fn select<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    Ok(vec![T::wrap(T::pick(&x[0]).select(s.axis.unwrap(), s.ints[0])?)])
}
pub fn flip<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    let axes = if s.ints.is_empty() { ferrite::Axes::All } else { ferrite::Axes::from(s.ints.clone()) };
    Ok(vec![T::wrap(T::pick(&x[0]).flip(axes)?)])
}
pub fn unfold<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    Ok(vec![T::wrap(T::pick(&x[0]).unfold(s.axis.unwrap(), s.ints[0] as usize, s.ints[1] as usize)?)])
}
pub fn split<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    let sizes: Vec<usize> = s.ints.iter().map(|&v| v as usize).collect();
    Ok(T::pick(&x[0]).split(&sizes, s.axis.unwrap())?.into_iter().map(T::wrap).collect())
}
pub fn chunk<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    Ok(T::pick(&x[0]).chunk(s.ints[0] as usize, s.axis.unwrap())?.into_iter().map(T::wrap).collect())
}

/// The multi-index of element `i` of a row-major array of `shape`.
pub fn unflat(shape: &[usize], mut i: usize) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}

/// Where each piece of `sizes` starts along `k`, as outputs of views of input 0.
pub fn pieces(sh: &[usize], k: usize, sizes: &[usize]) -> Vec<Out> {
    let mut at = 0;
    sizes
        .iter()
        .map(|&n| {
            let mut shape = sh.to_vec();
            shape[k] = n;
            at += n;
            let from = at - n;
            out(shape, move |i| {
                Src::At(0, i.iter().enumerate().map(|(d, &v)| if d == k { v + from } else { v }).collect())
            })
        })
        .collect()
}

// NumPy's slices with negative ends (`3:-2`) and reversed steps (`6:0:-2`) are Rust ranges
// that look empty to clippy; here they are the point.
#[allow(clippy::reversed_empty_ranges)]
pub fn rows() -> Vec<Row> {
    let base = Movement {
        call: typed!(slice),
        reference: |_, _, _| Vec::new(),
        samples: Vec::new,
        errors: |_, _| Ok(()),
        view: false,
    };
    vec![
        row(
            "slice",
            true,
            Movement {
                call: typed!(slice),
                reference: |sh, s, _| {
                    let (shape, map) = index_map(sh[0], &s.spec).expect("in range");
                    let sh2 = shape.clone();
                    vec![out(shape, move |i| Src::At(0, map[flat(&sh2, i)].clone()))]
                },
                samples: || {
                    let c: &[usize] = &[37, 41];
                    vec![
                        sample(&[(&[0], Contiguous)], None, &[], &s![..]),
                        sample(&[(&[1], Contiguous)], None, &[], &s![0]),
                        sample(&[(&[7], Contiguous)], None, &[], &s![..;-1]),
                        sample(&[(&[1031], Contiguous)], None, &[], &s![3..-2;7]),
                        sample(&[(&[1031], Contiguous)], None, &[], &s![-5..]),
                        sample(&[(c, Transposed)], None, &[], &s![5..20;3, ..;-2]),
                        sample(&[(c, Sliced)], None, &[], &s![.., 40]),
                        sample(&[(c, Broadcast)], None, &[], &s![ferrite::NewAxis, 1..3, ferrite::Ellipsis]),
                        sample(&[(c, Contiguous)], None, &[], &s![100..200, -100..3]),
                        sample(&[(&[2, 3, 5, 7], Contiguous)], None, &[], &s![ferrite::Ellipsis, 2..=4, ..;-3]),
                        sample(&[(&[2, 3, 5, 7], Transposed)], None, &[], &s![1, ferrite::NewAxis, .., -1, 6..=0;-2]),
                        sample(&[(&[], Contiguous)], None, &[], &s![ferrite::NewAxis]),
                    ]
                },
                errors: errors::slice,
                ..base
            },
        ),
        row(
            "slice_assign",
            false,
            Movement {
                call: typed!(slice_assign),
                reference: |sh, s, _| {
                    let (shape, map) = index_map(sh[0], &s.spec).expect("in range");
                    let (xs, vs) = (sh[0].to_vec(), sh[1].to_vec());
                    let mut from = std::collections::HashMap::new();
                    for (j, src) in map.iter().enumerate() {
                        from.insert(flat(&xs, src), unflat(&shape, j));
                    }
                    vec![out(xs.clone(), move |i| match from.get(&flat(&xs, i)) {
                        // The value broadcast to the slice's shape (aligned at the end).
                        Some(at) => {
                            let lead = at.len() - vs.len();
                            Src::At(
                                1,
                                vs.iter().enumerate().map(|(d, &n)| if n == 1 { 0 } else { at[d + lead] }).collect(),
                            )
                        }
                        None => Src::At(0, i.to_vec()),
                    })]
                },
                samples: || {
                    let c: &[usize] = &[37, 41];
                    vec![
                        sample(&[(&[0], Contiguous), (&[], Contiguous)], None, &[], &s![..]),
                        sample(&[(&[7], Contiguous), (&[], Contiguous)], None, &[], &s![2]),
                        sample(&[(&[1031], Contiguous), (&[147], Contiguous)], None, &[], &s![3..;7]),
                        sample(&[(c, Contiguous), (&[21], Contiguous)], None, &[], &s![5..20;3, ..;-2]),
                        sample(&[(c, Transposed), (&[37, 1], Contiguous)], None, &[], &s![.., 1..]),
                        sample(&[(c, Sliced), (&[41], Sliced)], None, &[], &s![-1]),
                        sample(&[(c, Broadcast), (&[2, 41], Contiguous)], None, &[], &s![3..5]),
                        sample(
                            &[(&[2, 3, 5, 7], Transposed), (&[3, 1, 1, 4], Contiguous)],
                            None,
                            &[],
                            &s![1, .., ferrite::NewAxis, 1..=3, ..4],
                        ),
                    ]
                },
                errors: errors::slice_assign,
                ..base
            },
        ),
        row(
            "narrow",
            true,
            Movement {
                call: typed!(narrow),
                reference: |sh, s, _| {
                    let k = axis_of(s, sh[0].len());
                    let start = if s.ints[0] < 0 { s.ints[0] + sh[0][k] as isize } else { s.ints[0] } as usize;
                    pieces(sh[0], k, &[s.ints[1] as usize])
                        .into_iter()
                        .map(|o| {
                            out(o.shape, move |i| {
                                Src::At(
                                    0,
                                    i.iter().enumerate().map(|(d, &v)| if d == k { v + start } else { v }).collect(),
                                )
                            })
                        })
                        .collect()
                },
                samples: || {
                    vec![
                        sample(&[(&[1031], Contiguous)], Some(0), &[-31, 31], &[]),
                        sample(&[(&[37, 41], Transposed)], Some(1), &[40, 1], &[]),
                        sample(&[(&[37, 41], Contiguous)], Some(0), &[37, 0], &[]),
                        sample(&[(&[2, 3, 5, 7], Sliced)], Some(-2), &[1, 3], &[]),
                    ]
                },
                errors: errors::narrow,
                ..base
            },
        ),
        row(
            "select",
            true,
            Movement {
                call: typed!(select),
                reference: |sh, s, _| {
                    let k = axis_of(s, sh[0].len());
                    let n = sh[0][k];
                    let at = if s.ints[0] < 0 { s.ints[0] + n as isize } else { s.ints[0] } as usize;
                    let shape: Vec<usize> =
                        sh[0].iter().enumerate().filter(|&(d, _)| d != k).map(|(_, &v)| v).collect();
                    vec![out(shape, move |i| {
                        let mut v = i.to_vec();
                        v.insert(k, at);
                        Src::At(0, v)
                    })]
                },
                samples: || {
                    vec![
                        sample(&[(&[1031], Contiguous)], Some(0), &[-1], &[]),
                        sample(&[(&[37, 41], Transposed)], Some(0), &[36], &[]),
                        sample(&[(&[37, 41], Broadcast)], Some(1), &[-41], &[]),
                        sample(&[(&[2, 3, 5, 7], Contiguous)], Some(3), &[0], &[]),
                    ]
                },
                errors: errors::select,
                ..base
            },
        ),
        row(
            "flip",
            true,
            Movement {
                call: typed!(flip),
                reference: |sh, s, _| {
                    let nd = sh[0].len();
                    let axes: Vec<usize> = if s.ints.is_empty() {
                        (0..nd).collect()
                    } else {
                        s.ints.iter().map(|&a| (if a < 0 { a + nd as isize } else { a }) as usize).collect()
                    };
                    let shape = sh[0].to_vec();
                    vec![out(shape.clone(), move |i| {
                        Src::At(
                            0,
                            i.iter()
                                .enumerate()
                                .map(|(d, &v)| if axes.contains(&d) { shape[d] - 1 - v } else { v })
                                .collect(),
                        )
                    })]
                },
                samples: || {
                    vec![
                        sample(&[(&[7], Contiguous)], None, &[], &[]),
                        sample(&[(&[0], Contiguous)], None, &[], &[]),
                        sample(&[(&[], Contiguous)], None, &[], &[]),
                        sample(&[(&[37, 41], Transposed)], None, &[0], &[]),
                        sample(&[(&[37, 41], Broadcast)], None, &[-1, 0], &[]),
                        sample(&[(&[2, 3, 5, 7], Sliced)], None, &[1, 3], &[]),
                    ]
                },
                errors: errors::flip,
                ..base
            },
        ),
        row(
            "unfold",
            true,
            Movement {
                call: typed!(unfold),
                reference: |sh, s, _| {
                    let k = axis_of(s, sh[0].len());
                    let (size, step) = (s.ints[0] as usize, s.ints[1] as usize);
                    let mut shape = sh[0].to_vec();
                    shape[k] = (shape[k] - size) / step + 1;
                    shape.push(size);
                    vec![out(shape, move |i| {
                        let (at, within) = i.split_at(i.len() - 1);
                        let mut v = at.to_vec();
                        v[k] = v[k] * step + within[0];
                        Src::At(0, v)
                    })]
                },
                samples: || {
                    vec![
                        sample(&[(&[1031], Contiguous)], Some(0), &[3, 1], &[]),
                        sample(&[(&[1031], Contiguous)], Some(0), &[1031, 7], &[]),
                        sample(&[(&[37, 41], Transposed)], Some(1), &[5, 3], &[]),
                        sample(&[(&[37, 41], Broadcast)], Some(0), &[2, 2], &[]),
                        sample(&[(&[2, 3, 11, 7], Sliced)], Some(-2), &[3, 2], &[]),
                        sample(&[(&[2, 0, 5], Contiguous)], Some(2), &[5, 1], &[]),
                    ]
                },
                errors: errors::unfold,
                ..base
            },
        ),
        row(
            "split",
            true,
            Movement {
                call: typed!(split),
                reference: |sh, s, _| {
                    let sizes: Vec<usize> = s.ints.iter().map(|&v| v as usize).collect();
                    pieces(sh[0], axis_of(s, sh[0].len()), &sizes)
                },
                samples: || {
                    vec![
                        sample(&[(&[1031], Contiguous)], Some(0), &[1000, 0, 31], &[]),
                        sample(&[(&[37, 41], Transposed)], Some(0), &[20, 17], &[]),
                        sample(&[(&[37, 41], Sliced)], Some(-1), &[41], &[]),
                        sample(&[(&[0], Contiguous)], Some(0), &[0, 0], &[]),
                    ]
                },
                errors: errors::split,
                ..base
            },
        ),
        row(
            "chunk",
            true,
            Movement {
                call: typed!(chunk),
                reference: |sh, s, _| {
                    // PyTorch: pieces of ceil(n / chunks), the last one shorter; one empty piece
                    // of an empty axis.
                    let k = axis_of(s, sh[0].len());
                    let (n, c) = (sh[0][k], s.ints[0] as usize);
                    let size = n.div_ceil(c);
                    let mut sizes = Vec::new();
                    let mut left = n;
                    while left > 0 {
                        sizes.push(size.min(left));
                        left -= size.min(left);
                    }
                    if n == 0 {
                        sizes.push(0);
                    }
                    pieces(sh[0], k, &sizes)
                },
                samples: || {
                    vec![
                        sample(&[(&[1031], Contiguous)], Some(0), &[4], &[]),
                        sample(&[(&[7], Contiguous)], Some(0), &[3], &[]),
                        sample(&[(&[6], Contiguous)], Some(0), &[4], &[]),
                        sample(&[(&[0], Contiguous)], Some(0), &[3], &[]),
                        sample(&[(&[37, 41], Transposed)], Some(1), &[5], &[]),
                        sample(&[(&[2, 3, 5, 7], Broadcast)], Some(0), &[1], &[]),
                    ]
                },
                errors: errors::chunk,
                ..base
            },
        ),
    ]
    .into_iter()
    .chain(super::rows_join::rows())
    .collect()
}
