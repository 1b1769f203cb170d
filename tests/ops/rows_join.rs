//! Registry rows of the ops that make new arrays from others: `concatenate`, `stack`,
//! `repeat`, `tile`, `pad`, `roll`, every dtype (`rows_movement.rs` has the views and the
//! shared helpers; the error inputs are in `rows_movement_errors.rs`).

use super::dynarray::Dyn;
use super::movement::{Movement, Pick, Sample, Src, flat, typed};
use super::registry::Row;
use super::rows_movement::{axis_of, out, pad_value, row, sample, unflat};
use super::rows_movement_errors as errors;
use super::samples::View::{Broadcast, Contiguous, Sliced, Transposed};
use ferrite::{DType, Result};

pub fn concatenate<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    let arrays: Vec<_> = x.iter().map(T::pick).collect();
    Ok(vec![T::wrap(ferrite::concatenate(&arrays, s.axis.unwrap())?)])
}
pub fn stack<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    let arrays: Vec<_> = x.iter().map(T::pick).collect();
    Ok(vec![T::wrap(ferrite::stack(&arrays, s.axis.unwrap())?)])
}
pub fn repeat<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    Ok(vec![T::wrap(T::pick(&x[0]).repeat(s.ints[0] as usize, s.axis)?)])
}
pub fn tile<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    Ok(vec![T::wrap(T::pick(&x[0]).tile(&s.ints.iter().map(|&v| v as usize).collect::<Vec<_>>())?)])
}
pub fn pad<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    let widths: Vec<(usize, usize)> = s.ints.chunks(2).map(|p| (p[0] as usize, p[1] as usize)).collect();
    let v = <T as super::dynarray::FromF64>::from_f64(pad_value(T::DTYPE));
    Ok(vec![T::wrap(T::pick(&x[0]).pad(&widths, v)?)])
}
pub fn roll<T: Pick>(x: &[Dyn], s: &Sample) -> Result<Vec<Dyn>> {
    Ok(vec![T::wrap(T::pick(&x[0]).roll(s.ints[0], s.axis)?)])
}

pub fn rows() -> Vec<Row> {
    let base = Movement {
        call: typed!(roll),
        reference: |_, _, _| Vec::new(),
        samples: Vec::new,
        errors: |_, _| Ok(()),
        view: false,
    };
    vec![
        row(
            "concatenate",
            false,
            Movement {
                call: typed!(concatenate),
                reference: |sh, s, _| {
                    let k = axis_of(s, sh[0].len());
                    let lens: Vec<usize> = sh.iter().map(|x| x[k]).collect();
                    let mut shape = sh[0].to_vec();
                    shape[k] = lens.iter().sum();
                    vec![out(shape, move |i| {
                        let (mut j, mut v) = (0, i[k]);
                        while v >= lens[j] {
                            v -= lens[j];
                            j += 1;
                        }
                        let mut idx = i.to_vec();
                        idx[k] = v;
                        Src::At(j, idx)
                    })]
                },
                samples: || {
                    let c: &[usize] = &[37, 41];
                    vec![
                        sample(&[(&[0], Contiguous), (&[0], Contiguous)], Some(0), &[], &[]),
                        sample(&[(&[1], Contiguous), (&[7], Contiguous), (&[0], Contiguous)], Some(0), &[], &[]),
                        sample(&[(&[1031], Contiguous), (&[257], Sliced)], Some(-1), &[], &[]),
                        // Past the CPU's parallel runs (32 Ki elements), a run starting inside a part.
                        sample(&[(&[20011], Contiguous), (&[30011], Contiguous), (&[17], Contiguous)], Some(0), &[], &[]),
                        sample(&[(c, Transposed), (&[37, 5], Contiguous)], Some(1), &[], &[]),
                        sample(&[(c, Sliced), (&[2, 41], Contiguous)], Some(0), &[], &[]),
                        sample(&[(c, Broadcast), (c, Transposed)], Some(-2), &[], &[]),
                        sample(
                            &[(&[2, 3, 5, 7], Contiguous), (&[2, 3, 1, 7], Contiguous), (&[2, 3, 2, 7], Transposed)],
                            Some(2),
                            &[],
                            &[],
                        ),
                        sample(&[(&[3, 0], Contiguous)], Some(1), &[], &[]),
                    ]
                },
                errors: errors::concatenate,
                ..base
            },
        ),
        row(
            "stack",
            false,
            Movement {
                call: typed!(stack),
                reference: |sh, s, _| {
                    let k = axis_of(s, sh[0].len() + 1);
                    let mut shape = sh[0].to_vec();
                    shape.insert(k, sh.len());
                    vec![out(shape, move |i| {
                        let mut v = i.to_vec();
                        let j = v.remove(k);
                        Src::At(j, v)
                    })]
                },
                samples: || {
                    vec![
                        sample(&[(&[], Contiguous), (&[], Contiguous), (&[], Contiguous)], Some(0), &[], &[]),
                        sample(&[(&[7], Contiguous), (&[7], Sliced)], Some(-1), &[], &[]),
                        sample(&[(&[37, 41], Transposed), (&[37, 41], Contiguous)], Some(1), &[], &[]),
                        sample(&[(&[2, 3, 5, 7], Contiguous), (&[2, 3, 5, 7], Transposed)], Some(4), &[], &[]),
                        sample(&[(&[0], Contiguous)], Some(0), &[], &[]),
                    ]
                },
                errors: errors::stack,
                ..base
            },
        ),
        row(
            "repeat",
            false,
            Movement {
                call: typed!(repeat),
                reference: |sh, s, _| {
                    let (x, r) = (sh[0].to_vec(), s.ints[0] as usize);
                    match s.axis {
                        None => {
                            let n: usize = x.iter().product();
                            vec![out(vec![n * r], move |i| Src::At(0, unflat(&x, i[0] / r)))]
                        }
                        Some(_) => {
                            let k = axis_of(s, x.len());
                            let mut shape = x.clone();
                            shape[k] *= r;
                            vec![out(shape, move |i| {
                                let mut v = i.to_vec();
                                v[k] /= r;
                                Src::At(0, v)
                            })]
                        }
                    }
                },
                samples: || {
                    vec![
                        sample(&[(&[7], Contiguous)], Some(0), &[3], &[]),
                        sample(&[(&[37, 41], Transposed)], Some(1), &[2], &[]),
                        sample(&[(&[37, 41], Broadcast)], Some(0), &[0], &[]),
                        sample(&[(&[2, 3, 5, 7], Sliced)], None, &[2], &[]),
                        sample(&[(&[], Contiguous)], None, &[4], &[]),
                        sample(&[(&[0], Contiguous)], Some(-1), &[5], &[]),
                    ]
                },
                errors: errors::repeat,
                ..base
            },
        ),
        row(
            "tile",
            false,
            Movement {
                call: typed!(tile),
                reference: |sh, s, _| {
                    let x = sh[0].to_vec();
                    let n = s.ints.len().max(x.len());
                    let reps: Vec<usize> =
                        [vec![1; n - s.ints.len()], s.ints.iter().map(|&v| v as usize).collect()].concat();
                    let dims: Vec<usize> = [vec![1; n - x.len()], x.clone()].concat();
                    let shape = (0..n).map(|d| reps[d] * dims[d]).collect();
                    vec![out(shape, move |i| Src::At(0, (0..x.len()).map(|d| i[d + n - x.len()] % x[d]).collect()))]
                },
                samples: || {
                    vec![
                        sample(&[(&[7], Contiguous)], None, &[3], &[]),
                        sample(&[(&[37, 41], Transposed)], None, &[2, 1], &[]),
                        sample(&[(&[5], Contiguous)], None, &[2, 3], &[]),
                        sample(&[(&[2, 3, 5, 7], Contiguous)], None, &[2], &[]),
                        sample(&[(&[37, 41], Sliced)], None, &[0, 2], &[]),
                        sample(&[(&[], Contiguous)], None, &[3], &[]),
                    ]
                },
                errors: errors::tile,
                ..base
            },
        ),
        row(
            "pad",
            false,
            Movement {
                call: typed!(pad),
                reference: |sh, s, dtype| {
                    let x = sh[0].to_vec();
                    let w: Vec<(usize, usize)> = (0..x.len())
                        .map(|d| {
                            let p = if s.ints.len() == 2 { 0 } else { 2 * d };
                            (s.ints[p] as usize, s.ints[p + 1] as usize)
                        })
                        .collect();
                    let shape = (0..x.len()).map(|d| x[d] + w[d].0 + w[d].1).collect();
                    let v = pad_value(dtype);
                    vec![out(shape, move |i| {
                        let inside = (0..x.len()).all(|d| i[d] >= w[d].0 && i[d] < w[d].0 + x[d]);
                        if inside { Src::At(0, (0..x.len()).map(|d| i[d] - w[d].0).collect()) } else { Src::Value(v) }
                    })]
                },
                samples: || {
                    vec![
                        sample(&[(&[7], Contiguous)], None, &[2, 3], &[]),
                        sample(&[(&[37, 41], Transposed)], None, &[1, 0, 0, 2], &[]),
                        sample(&[(&[0], Contiguous)], None, &[1, 1], &[]),
                        sample(&[(&[], Contiguous)], None, &[], &[]),
                        sample(&[(&[2, 3, 5, 7], Sliced)], None, &[1, 1], &[]),
                        sample(&[(&[37, 41], Broadcast)], None, &[0, 0, 3, 3], &[]),
                    ]
                },
                errors: errors::pad,
                ..base
            },
        ),
        row(
            "roll",
            false,
            Movement {
                call: typed!(roll),
                reference: |sh, s, _| {
                    let x = sh[0].to_vec();
                    let shift = s.ints[0];
                    let back = move |v: usize, n: usize| (v as isize - shift).rem_euclid(n as isize) as usize;
                    match s.axis {
                        None => {
                            let n: usize = x.iter().product();
                            vec![out(x.clone(), move |i| Src::At(0, unflat(&x, back(flat(&x, i), n))))]
                        }
                        Some(_) => {
                            let k = axis_of(s, x.len());
                            vec![out(x.clone(), move |i| {
                                let mut v = i.to_vec();
                                v[k] = back(v[k], x[k]);
                                Src::At(0, v)
                            })]
                        }
                    }
                },
                samples: || {
                    vec![
                        sample(&[(&[7], Contiguous)], Some(0), &[3], &[]),
                        sample(&[(&[7], Contiguous)], Some(0), &[-10], &[]),
                        sample(&[(&[1031], Contiguous)], None, &[1000], &[]),
                        sample(&[(&[37, 41], Transposed)], Some(1), &[5], &[]),
                        sample(&[(&[37, 41], Sliced)], None, &[-3], &[]),
                        sample(&[(&[0], Contiguous)], Some(0), &[2], &[]),
                        sample(&[(&[2, 3, 5, 7], Broadcast)], Some(-2), &[2], &[]),
                        sample(&[(&[], Contiguous)], None, &[1], &[]),
                    ]
                },
                errors: errors::roll,
                ..base
            },
        ),
    ]
}
