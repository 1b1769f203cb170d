//! Labelled datasets for training: CSV, NumPy (`.npz`, a pair of `.npy`), MNIST IDX, and the
//! UCI digits data embedded in the library.
//!
//! Every loader validates what it reads before training starts, so a bad file fails with an
//! [`Error::Data`] that names the file, where in it, and the offending value, and never panics.

pub(crate) mod csv;
pub(crate) mod idx;
pub(crate) mod npy;

use crate::alloc::{try_collect, try_filled, try_to_vec, try_with_capacity, volume};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Class labels of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// One integer class per row, each < classes.
    Classes { labels: Vec<u32>, classes: usize },
    /// One row of `classes` target values per data row (one-hot or soft labels), row-major.
    OneHot { values: Vec<f32>, classes: usize },
}

/// A labelled dataset: row-major f32 features plus labels, validated when loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// rows * features values, row-major.
    pub x: Vec<f32>,
    pub features: usize,
    pub labels: Labels,
    /// Where it came from, for messages (a path, or "digits (embedded)").
    pub source: String,
}

/// Inferred class counts above this are refused: such a label is almost surely an id column
/// or a corrupt value, and its one-hot matrix would not fit in memory anyway.
const MAX_INFERRED_CLASSES: f64 = (1u64 << 24) as f64;

/// An [`Error::Data`] for `path`.
pub(crate) fn data_error(path: impl Into<PathBuf>, location: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Data { path: path.into(), location: location.into(), message: message.into() }
}

/// Checks one integer class label read as a number; the error message names the value.
pub(crate) fn class_label(value: f64) -> std::result::Result<u32, String> {
    if value.is_nan() {
        Err("label NaN is not a number".into())
    } else if value < 0.0 {
        Err(format!("label {value} is negative"))
    } else if value.fract() != 0.0 {
        Err(format!("label {value} is not an integer"))
    } else if value >= MAX_INFERRED_CLASSES {
        Err(format!("label {value} is too large (labels must be below {MAX_INFERRED_CLASSES})"))
    } else {
        Ok(value as u32)
    }
}

/// Describes a non-finite feature value for messages.
pub(crate) fn non_finite(value: f32) -> String {
    if value.is_nan() { "NaN feature".into() } else { format!("infinite feature ({value})") }
}

/// Integer labels with classes = max label + 1.
pub(crate) fn classes_from(labels: Vec<u32>) -> Labels {
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    Labels::Classes { labels, classes }
}

impl Labels {
    pub fn classes(&self) -> usize {
        match self {
            Labels::Classes { classes, .. } | Labels::OneHot { classes, .. } => *classes,
        }
    }

    /// Number of rows labelled.
    pub fn len(&self) -> usize {
        match self {
            Labels::Classes { labels, .. } => labels.len(),
            Labels::OneHot { values, classes } => values.len().checked_div(*classes).unwrap_or(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// As integer classes: for OneHot, the argmax of each row (first maximum).
    pub fn to_classes(&self) -> Vec<u32> {
        match self {
            Labels::Classes { labels, .. } => labels.clone(),
            Labels::OneHot { values, classes } if *classes > 0 => values
                .chunks_exact(*classes)
                .map(|row| {
                    let mut best = 0;
                    for (c, &v) in row.iter().enumerate() {
                        if v > row[best] {
                            best = c;
                        }
                    }
                    best as u32
                })
                .collect(),
            Labels::OneHot { .. } => Vec::new(),
        }
    }

    /// As one-hot rows of `classes` columns (Classes → one-hot; OneHot returned as is).
    pub fn to_one_hot(&self) -> Result<Vec<f32>> {
        match self {
            Labels::Classes { labels, classes } => {
                let mut out = try_filled(volume("to_one_hot", &[labels.len(), *classes])?, 0.0)?;
                // Labels built by hand may be out of range: those rows stay all zero.
                for (row, &label) in labels.iter().enumerate().filter(|&(_, &l)| (l as usize) < *classes) {
                    out[row * classes + label as usize] = 1.0;
                }
                Ok(out)
            }
            Labels::OneHot { values, .. } => try_to_vec(values),
        }
    }

    /// The rows at `indices`, in that order; an index past the rows is [`Error::OutOfRange`].
    pub fn select(&self, indices: &[usize]) -> Result<Labels> {
        let len = self.len();
        if let Some(&index) = indices.iter().find(|&&i| i >= len) {
            return Err(Error::OutOfRange { what: "label row", index, len });
        }
        Ok(match self {
            Labels::Classes { labels, classes } => Labels::Classes {
                labels: try_collect(indices.len(), indices.iter().map(|&i| labels[i]))?,
                classes: *classes,
            },
            Labels::OneHot { values, classes } => {
                let c = *classes;
                let values = indices.iter().flat_map(|&i| &values[i * c..(i + 1) * c]).copied();
                Labels::OneHot { values: try_collect(volume("select", &[indices.len(), c])?, values)?, classes: c }
            }
        })
    }
}

impl Dataset {
    /// Validates shapes and values and builds a dataset. `source` is used in messages; error
    /// locations give 0-based rows and columns.
    pub fn new(x: Vec<f32>, features: usize, labels: Labels, source: impl Into<String>) -> Result<Dataset> {
        let dataset = Dataset { x, features, labels, source: source.into() };
        dataset.validate()?;
        Ok(dataset)
    }

    /// The checks [`Dataset::new`] makes, again: the fields are public, so a dataset may have
    /// changed since it was built (training data is checked with this before use).
    pub fn validate(&self) -> Result<()> {
        let Dataset { x, features, labels, source } = self;
        let features = *features;
        let err = |location: String, message: String| data_error(source, location, message);
        if features == 0 {
            return Err(err("shape".into(), "features must be at least 1, got 0".into()));
        }
        if !x.len().is_multiple_of(features) {
            let message = format!("{} feature values are not a whole number of rows of {features}", x.len());
            return Err(err("shape".into(), message));
        }
        let rows = x.len() / features;
        if rows == 0 {
            return Err(err("shape".into(), "no data rows".into()));
        }
        match labels {
            Labels::Classes { labels, classes } => {
                if let Some((row, label)) = labels.iter().enumerate().find(|&(_, &l)| l as usize >= *classes) {
                    return Err(err(
                        format!("labels, row {row}"),
                        format!("label {label} is not below {classes} classes"),
                    ));
                }
            }
            Labels::OneHot { values, classes } => {
                if *classes == 0 || !values.len().is_multiple_of(*classes) {
                    let message = format!("{} label values are not a whole number of rows of {classes}", values.len());
                    return Err(err("labels".into(), message));
                }
                if let Some(i) = values.iter().position(|v| !v.is_finite() || *v < 0.0) {
                    let (row, class) = (i / classes, i % classes);
                    let message = format!("label value {} is not a finite non-negative number", values[i]);
                    return Err(err(format!("labels, row {row}, class {class}"), message));
                }
            }
        }
        if labels.len() != rows {
            return Err(err("labels".into(), format!("x has {rows} rows but the labels have {}", labels.len())));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(err(format!("row {}, feature {}", i / features, i % features), non_finite(x[i])));
        }
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.x.len().checked_div(self.features).unwrap_or(0)
    }

    pub fn classes(&self) -> usize {
        self.labels.classes()
    }

    /// Row `i`'s features, or [`Error::OutOfRange`].
    pub fn row(&self, i: usize) -> Result<&[f32]> {
        let f = self.features;
        let out_of_range = || Error::OutOfRange { what: "row", index: i, len: self.rows() };
        let range = i.checked_mul(f).zip(i.checked_add(1).and_then(|j| j.checked_mul(f))).ok_or_else(out_of_range)?;
        self.x.get(range.0..range.1).filter(|r| !r.is_empty()).ok_or_else(out_of_range)
    }

    /// The rows at `indices`, in that order (x and labels together); an index past the rows
    /// is [`Error::OutOfRange`].
    pub fn select(&self, indices: &[usize]) -> Result<Dataset> {
        let labels = self.labels.select(indices)?;
        let mut x = try_with_capacity(volume("select", &[indices.len(), self.features])?)?;
        for &i in indices {
            x.extend_from_slice(self.row(i)?);
        }
        Ok(Dataset { x, features: self.features, labels, source: self.source.clone() })
    }

    /// Keras's `validation_split`: the last rows (taken before any shuffling) become the
    /// validation set; returns (train, validation). `fraction` must be in [0, 1).
    ///
    /// Computed as Keras does: the training set keeps the first floor(rows * (1 - fraction))
    /// rows and validation gets the rest; like Keras, a split that leaves either side empty is
    /// an error (except fraction 0, which gives an empty validation set).
    pub fn split_last(&self, fraction: f64) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(Error::Config(format!("validation split fraction {fraction} must be in [0, 1)")));
        }
        if fraction == 0.0 {
            return Ok((self.clone(), self.select(&[])?));
        }
        let rows = self.rows();
        let split_at = (rows as f64 * (1.0 - fraction)).floor() as usize;
        if split_at == 0 || split_at >= rows {
            return Err(Error::Config(format!(
                "validation split fraction {fraction} cannot split {rows} rows of {} into non-empty training \
                 and validation sets",
                self.source
            )));
        }
        let (train, validation): (Vec<usize>, Vec<usize>) = ((0..split_at).collect(), (split_at..rows).collect());
        Ok((self.select(&train)?, self.select(&validation)?))
    }

    /// Multiplies every feature by `factor` (e.g. 1/16 for the digits' pixel counts). A factor
    /// that is not finite, or that would make a feature infinite, is an error and changes
    /// nothing.
    pub fn scale(&mut self, factor: f32) -> Result<()> {
        if !factor.is_finite() {
            return Err(Error::Config(format!("Dataset::scale: factor {factor} is not a finite number")));
        }
        if let Some(i) = self.x.iter().position(|v| !(v * factor).is_finite()) {
            let (row, feature) = (i / self.features.max(1), i % self.features.max(1));
            let message = format!("{} times {factor} does not fit in f32", self.x[i]);
            return Err(data_error(&self.source, format!("row {row}, feature {feature}"), message));
        }
        self.x.iter_mut().for_each(|v| *v *= factor);
        Ok(())
    }

    /// Loads a file chosen by its name: `*.csv` (label in the last column), `*.npz` (arrays `x`
    /// and `y`), `X.npy,Y.npy`, or MNIST `*-idx3-ubyte[.gz]` (labels file found by name, or
    /// given as `IMAGES,LABELS`).
    pub fn load(spec: &str) -> Result<Dataset> {
        let spec = spec.trim();
        if let Some((first, second)) = spec.split_once(',').filter(|_| !Path::new(spec).exists()) {
            let (first, second) = (Path::new(first.trim()), Path::new(second.trim()));
            return match (kind(first), kind(second)) {
                (Some(Kind::Npy), Some(Kind::Npy)) => npy::load_npy_pair(first, second, spec),
                (Some(Kind::Idx), _) => idx::load_idx(first, Some(second)),
                _ => Err(unknown_kind(spec)),
            };
        }
        let path = Path::new(spec);
        match kind(path) {
            Some(Kind::Csv) => Dataset::load_csv(path, None),
            Some(Kind::Npz) => npy::load_npz(path),
            Some(Kind::Idx) => idx::load_idx(path, None),
            Some(Kind::Npy) => Err(data_error(
                path,
                "file name",
                "a .npy file holds one array: give features and labels as two files, X.npy,Y.npy",
            )),
            None => Err(unknown_kind(spec)),
        }
    }

    /// CSV with a header row; `label` names the label column, or None for the last column.
    /// All other columns are features. Labels must be non-negative integers (written as
    /// integers, or floats with no fractional part like "3.0"); classes = max label + 1.
    pub fn load_csv(path: &Path, label: Option<&str>) -> Result<Dataset> {
        let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.into(), source })?;
        csv::read_csv(std::io::BufReader::new(file), path, label)
    }

    /// The UCI digits data embedded in the library (1797 rows, 64 features 0..16, labels 0..9),
    /// split as scikit-learn's `train_test_split(test_size=0.25, random_state=0, stratify=y)`
    /// does: returns (train: 1347 rows, test: 450 rows), in scikit-learn's order. Not scaled.
    pub fn digits() -> (Dataset, Dataset) {
        csv::digits()
    }
}

/// The file formats `load` understands, told apart by name.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Csv,
    Npz,
    Npy,
    Idx,
}

fn kind(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").filter(|n| n.ends_with("ubyte")).unwrap_or(&name);
    [
        (".csv", Kind::Csv),
        (".npz", Kind::Npz),
        (".npy", Kind::Npy),
        ("idx3-ubyte", Kind::Idx),
        ("idx1-ubyte", Kind::Idx),
    ]
    .into_iter()
    .find(|(suffix, _)| name.ends_with(suffix))
    .map(|(_, kind)| kind)
}

fn unknown_kind(spec: &str) -> Error {
    data_error(
        spec,
        "file name",
        "not a dataset file ferrite understands: expected *.csv, *.npz, X.npy,Y.npy, or MNIST *-idx3-ubyte \
         (optionally .gz; labels found by name, or given as IMAGES,LABELS)",
    )
}
