//! CSV with a header row: every column but the label column is a feature.

use super::{Dataset, class_label, classes_from, data_error, non_finite};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Reads CSV from `reader`; `path` names it in messages. Each row is checked as it is read, so
/// an error names its line (1-based, the header is line 1), data row (1-based) and column.
pub(crate) fn read_csv(reader: impl Read, path: &Path, label: Option<&str>) -> Result<Dataset> {
    // Flexible, so that a short or long row is reported by us with both counts and its line.
    let mut csv = ::csv::ReaderBuilder::new().flexible(true).trim(::csv::Trim::All).from_reader(reader);
    let header = csv.headers().map_err(|e| csv_error(path, e))?.clone();
    if header.is_empty() || header.iter().all(str::is_empty) {
        return Err(data_error(path, "header", "the file is empty: expected a header row of column names"));
    }
    let columns: Vec<&str> = header.iter().collect();
    let label_column = match label {
        None => columns.len() - 1,
        Some(name) => columns.iter().position(|c| *c == name).ok_or_else(|| {
            let message = format!("no label column '{name}'; the columns are: {}", columns.join(", "));
            data_error(path, "header", message)
        })?,
    };
    if columns.len() < 2 {
        let message = format!("only the label column '{}': at least one feature column is needed", columns[0]);
        return Err(data_error(path, "header", message));
    }
    let features = columns.len() - 1;

    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for (index, record) in csv.records().enumerate() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let line = record.position().map_or(index as u64 + 2, |p| p.line());
        let row = index + 1;
        let location = |column: usize| format!("line {line} (data row {row}), column '{}'", columns[column]);
        if record.len() != columns.len() {
            let message = format!("{} fields, but the header has {} columns", record.len(), columns.len());
            return Err(data_error(path, format!("line {line} (data row {row})"), message));
        }
        for (column, text) in record.iter().enumerate() {
            if column == label_column {
                let value = text
                    .parse::<f64>()
                    .map_err(|_| data_error(path, location(column), format!("label '{text}' is not a number")))?;
                labels.push(class_label(value).map_err(|message| data_error(path, location(column), message))?);
                continue;
            }
            let value = text
                .parse::<f32>()
                .map_err(|_| data_error(path, location(column), format!("feature value '{text}' is not a number")))?;
            if !value.is_finite() {
                return Err(data_error(path, location(column), non_finite(value)));
            }
            x.push(value);
        }
    }
    if labels.is_empty() {
        return Err(data_error(path, "file", "no data rows after the header"));
    }
    Dataset::new(x, features, classes_from(labels), path.display().to_string())
}

/// The csv crate's errors: I/O stays [`Error::Io`]; bad content (e.g. invalid UTF-8) is data.
fn csv_error(path: &Path, error: ::csv::Error) -> Error {
    let location = error.position().map_or("file".to_string(), |p| format!("line {}", p.line()));
    let message = error.to_string();
    match error.into_kind() {
        ::csv::ErrorKind::Io(source) => Error::Io { path: path.into(), source },
        _ => data_error(path, location, message),
    }
}

/// The embedded UCI digits, split by the row indices scikit-learn's stratified
/// `train_test_split` returned (see host/data/README-digits.md): (train, test).
pub(super) fn digits() -> (Dataset, Dataset) {
    const CSV: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/host/data/digits.csv"));
    const SPLIT: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/host/data/digits_split.txt"));
    let all = read_csv(CSV.as_bytes(), Path::new("digits (embedded)"), None).expect("the embedded digits.csv is valid");
    // The split file: a comment, the test indices, a comment, the train indices.
    let mut lines = SPLIT.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    let mut indices = || -> Vec<usize> {
        let line = lines.next().expect("digits_split.txt has test and train lines");
        line.split(',').map(|i| i.trim().parse().expect("digits_split.txt holds row indices")).collect()
    };
    let (test, train) = (indices(), indices());
    let pick = |rows: &[usize]| all.select(rows).expect("digits_split.txt indexes digits.csv");
    (pick(&train), pick(&test))
}
