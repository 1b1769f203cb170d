//! Training data as the model takes it: features and targets on the host, checked against
//! the model before anything is uploaded.

use super::config::Loss;
use super::network::{HostTargets, LayerShape};
use crate::alloc::{try_collect, try_filled, try_to_vec, try_with_capacity, volume};
use crate::array::Array;
use crate::data::{Dataset, Labels};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::nn::NnFloat;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Targets<T> {
    /// Integer classes (sparse categorical cross-entropy).
    Classes(Vec<u32>),
    /// `cols` values per row (one-hot labels for categorical cross-entropy, or regression targets).
    Rows { values: Vec<T>, cols: usize },
}

/// Features (`rows × features`, row-major) and targets.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingData<T> {
    pub(crate) x: Vec<T>,
    pub(crate) rows: usize,
    pub(crate) features: usize,
    pub(crate) targets: Targets<T>,
}

impl<T: NnFloat> TrainingData<T> {
    /// From arrays as Keras's `fit(x, y)` takes them: `x` is `rows × features`; integer `y`
    /// (`rows`, or `rows × 1`) holds class labels, float `y` (`rows × cols`, or `rows`) targets.
    /// Both are copied to the host (from any device) and checked: NaN and infinite values are
    /// refused here.
    pub fn new<Y: Element>(x: &Array<T>, y: &Array<Y>) -> Result<Self> {
        Self::from_arrays("TrainingData::new", x, y)
    }

    /// [`Self::new`], with errors naming `op` (`fit`, `evaluate`).
    pub(crate) fn from_arrays<Y: Element>(op: &'static str, x: &Array<T>, y: &Array<Y>) -> Result<Self> {
        let (xs, ys) = (x.shape(), y.shape());
        if xs.len() != 2 {
            return Err(Error::bad_shape(op, xs, "x must be 2-D: one row of features per sample"));
        }
        let rows = xs[0];
        let rows_of_y = ys.first().copied().unwrap_or(0);
        if ys.is_empty() || ys.len() > 2 || rows_of_y != rows {
            return Err(Error::shape_mismatch(op, xs, ys, format!("y must have {rows} rows, as x has")));
        }
        let x_host = x.to_vec()?;
        let targets = match Y::DTYPE {
            DType::I32 | DType::U32 => {
                if ys.len() == 2 && ys[1] != 1 {
                    return Err(Error::shape_mismatch(op, xs, ys, "integer labels must be one per row"));
                }
                let labels = y.to_vec()?;
                let mut classes = try_with_capacity(rows)?;
                for (row, l) in labels.into_iter().enumerate() {
                    let v = l.to_f64();
                    if v < 0.0 {
                        return Err(Error::Label { row, label: format!("{l}"), classes: 0 });
                    }
                    classes.push(v as u32);
                }
                Targets::Classes(classes)
            }
            _ => {
                let cols = if ys.len() == 2 { ys[1] } else { 1 };
                Targets::Rows { values: y.to_vec()?.into_iter().map(|v| T::from_f64(v.to_f64())).collect(), cols }
            }
        };
        let data = TrainingData { x: x_host, rows, features: xs[1], targets };
        data.check_finite()?;
        Ok(data)
    }

    /// From a loaded dataset: class labels stay classes, one-hot rows stay rows. The dataset
    /// is checked again (its fields are public, so it may have changed since it loaded): NaN,
    /// infinite values and labels out of range are errors naming it.
    pub fn from_dataset(d: &Dataset) -> Result<Self> {
        d.validate()?;
        let widen = |v: &[f32]| try_collect(v.len(), v.iter().map(|&v| T::from_f64(v as f64)));
        let targets = match &d.labels {
            Labels::Classes { labels, .. } => Targets::Classes(try_to_vec(labels)?),
            Labels::OneHot { values, classes } => Targets::Rows { values: widen(values)?, cols: *classes },
        };
        Ok(TrainingData { x: widen(&d.x)?, rows: d.rows(), features: d.features, targets })
    }

    /// Class labels turned into one-hot rows of `classes` columns (Keras's `to_categorical`).
    pub fn one_hot(mut self, classes: usize) -> Result<Self> {
        if let Targets::Classes(labels) = &self.targets {
            let mut values = try_filled(volume("one_hot", &[self.rows, classes])?, T::from_f64(0.0))?;
            for (row, &l) in labels.iter().enumerate() {
                if l as usize >= classes {
                    return Err(Error::Label { row, label: l.to_string(), classes });
                }
                values[row * classes + l as usize] = T::from_f64(1.0);
            }
            self.targets = Targets::Rows { values, cols: classes };
        }
        Ok(self)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn features(&self) -> usize {
        self.features
    }

    pub(crate) fn host_targets(&self) -> HostTargets<'_, T> {
        match &self.targets {
            Targets::Classes(c) => HostTargets::Classes(c),
            Targets::Rows { values, .. } => HostTargets::Rows(values),
        }
    }

    fn check_finite(&self) -> Result<()> {
        let bad = |what, i: usize, width: usize, v: f64| {
            Err(Error::NonFinite { what, row: i / width, col: i % width, value: v })
        };
        if let Some(i) = self.x.iter().position(|v| !v.to_f64().is_finite()) {
            return bad("x", i, self.features.max(1), self.x[i].to_f64());
        }
        if let Targets::Rows { values, cols } = &self.targets
            && let Some(i) = values.iter().position(|v| !v.to_f64().is_finite())
        {
            return bad("y", i, (*cols).max(1), values[i].to_f64());
        }
        Ok(())
    }

    /// Checks the data against the model's layers and loss (before anything is uploaded);
    /// errors name `op`.
    pub(crate) fn check(&self, op: &'static str, shapes: &[LayerShape], loss: Loss) -> Result<()> {
        let (inputs, units) = (shapes[0].inputs, shapes[shapes.len() - 1].units);
        let mismatch = |have: &[usize], want: &[usize], why: String| Err(Error::shape_mismatch(op, have, want, why));
        if self.rows == 0 {
            return Err(Error::bad_shape(op, &[0, self.features], "there are no rows"));
        }
        if self.rows > u32::MAX as usize {
            return Err(Error::bad_shape(op, &[self.rows, self.features], "more rows than 2^32 - 1"));
        }
        if self.features != inputs {
            return mismatch(
                &[self.rows, self.features],
                &[self.rows, inputs],
                format!("the model takes {inputs} features"),
            );
        }
        match (&self.targets, loss) {
            (Targets::Classes(labels), Loss::SparseCategoricalCrossentropy) => {
                if let Some((row, l)) = labels.iter().enumerate().find(|(_, l)| **l as usize >= units) {
                    return Err(Error::Label { row, label: l.to_string(), classes: units });
                }
            }
            (Targets::Classes(_), _) => {
                return mismatch(
                    &[self.rows],
                    &[self.rows, units],
                    format!(
                        "{loss:?} needs target rows of {units} values; use one-hot labels or sparse_categorical_crossentropy"
                    ),
                );
            }
            (Targets::Rows { cols, .. }, Loss::SparseCategoricalCrossentropy) => {
                return mismatch(
                    &[self.rows, *cols],
                    &[self.rows],
                    "sparse_categorical_crossentropy needs integer labels".into(),
                );
            }
            (Targets::Rows { cols, .. }, _) if *cols != units => {
                return mismatch(&[self.rows, *cols], &[self.rows, units], format!("the model has {units} outputs"));
            }
            (Targets::Rows { .. }, _) => {}
        }
        Ok(())
    }

    /// The rows at `indices`.
    pub(crate) fn select(&self, indices: std::ops::Range<usize>) -> Self {
        let f = self.features;
        let targets = match &self.targets {
            Targets::Classes(c) => Targets::Classes(c[indices.clone()].to_vec()),
            Targets::Rows { values, cols } => {
                Targets::Rows { values: values[indices.start * cols..indices.end * cols].to_vec(), cols: *cols }
            }
        };
        TrainingData {
            x: self.x[indices.start * f..indices.end * f].to_vec(),
            rows: indices.len(),
            features: f,
            targets,
        }
    }
}
