//! Every malformed input is an `Err` naming the file, where in it, and the value: one test per
//! rule the loaders check.

use super::{gzip, idx, npy, npz, temp, write};
use ferrite::{Dataset, Error, Labels, Result};
use std::path::Path;

/// Asserts `result` is an [`Error::Data`] whose message mentions every one of `needles`.
fn data_error(result: Result<Dataset>, needles: &[&str]) -> String {
    let e = result.expect_err("expected an error");
    assert!(matches!(e, Error::Data { .. }), "expected Error::Data, got {e:?}");
    let text = e.to_string();
    for needle in needles {
        assert!(text.contains(needle), "{text:?} does not mention {needle:?}");
    }
    text
}

fn csv_error(name: &str, contents: &str, label: Option<&str>, needles: &[&str]) {
    let path = write(name, contents);
    let file = path.display().to_string();
    data_error(Dataset::load_csv(&path, label), &[&[file.as_str()], needles].concat());
}

fn load(path: &Path) -> Result<Dataset> {
    Dataset::load(path.to_str().unwrap())
}

#[test]
fn csv_non_numeric_feature_names_line_column_and_text() {
    csv_error("text.csv", "p0,p1,label\n1,2,0\n3,abc,1\n", None, &["line 3 (data row 2)", "'p1'", "'abc'"]);
}

#[test]
fn csv_nan_and_infinite_features_are_refused() {
    csv_error("nan.csv", "p0,p1,label\n1,NaN,0\n", None, &["line 2 (data row 1)", "'p1'", "NaN feature"]);
    csv_error("inf.csv", "p0,p1,label\n1,2,0\n-inf,2,0\n", None, &["line 3", "'p0'", "inf"]);
}

#[test]
fn csv_bad_labels_name_the_row_and_value() {
    let cases = [("-1", "label -1 is negative"), ("2.5", "label 2.5 is not an integer"), ("nan", "label NaN")];
    for (i, (label, message)) in cases.into_iter().enumerate() {
        let contents = format!("a,label\n1,0\n2,{label}\n");
        csv_error(&format!("label{i}.csv"), &contents, None, &["line 3 (data row 2)", "'label'", message]);
    }
    csv_error("labeltext.csv", "a,label\n1,cat\n", None, &["line 2", "label 'cat' is not a number"]);
}

#[test]
fn csv_row_with_the_wrong_number_of_fields() {
    csv_error("short.csv", "a,b,label\n1,2,0\n1,0\n", None, &["line 3 (data row 2)", "2 fields", "3 columns"]);
    csv_error("long.csv", "a,b,label\n1,2,0,9\n", None, &["line 2 (data row 1)", "4 fields", "3 columns"]);
}

#[test]
fn csv_missing_label_column_lists_the_columns() {
    csv_error("nolabel.csv", "a,b,c\n1,2,0\n", Some("target"), &["'target'", "a, b, c"]);
}

#[test]
fn csv_without_data_rows() {
    csv_error("empty.csv", "a,b,label\n", None, &["no data rows"]);
    csv_error("nothing.csv", "", None, &["header"]);
}

#[test]
fn missing_file_is_an_io_error() {
    let path = temp("absent.csv");
    let e = Dataset::load_csv(&path, None).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains(&path.display().to_string()));
}

#[test]
fn unknown_file_names_are_refused() {
    let text = data_error(Dataset::load("weights.safetensors"), &["weights.safetensors", "file name", ".csv"]);
    assert!(text.contains(".npz") && text.contains("idx3-ubyte"), "{text}");
    data_error(Dataset::load("x.npy"), &["X.npy,Y.npy"]);
}

#[test]
fn npz_missing_arrays_are_named() {
    let path = npz("noy.npz", &[("x", npy(&[1.0f32], &[1, 1])), ("labels", npy(&[0u8], &[1]))], false);
    data_error(load(&path), &[&path.display().to_string(), "no array 'y'", "present: labels, x"]);
    let path = npz("nox.npz", &[("y", npy(&[0u8], &[1]))], true);
    data_error(load(&path), &["no array 'x'", "present: y"]);
}

#[test]
fn npz_non_finite_features_name_the_element() {
    let x = npy(&[1.0f32, 2.0, 3.0, f32::NAN], &[2, 2]);
    let path = npz("nanx.npz", &[("x", x), ("y", npy(&[0u8, 1], &[2]))], false);
    data_error(load(&path), &[&path.display().to_string(), "array 'x', row 1, column 1", "NaN feature"]);
    let x = npy(&[1e300f64, 2.0], &[2, 1]);
    let path = npz("bigx.npz", &[("x", x), ("y", npy(&[0u8, 1], &[2]))], false);
    data_error(load(&path), &["array 'x', row 0, column 0", "does not fit in f32"]);
}

#[test]
fn npz_bad_labels_name_the_element_and_value() {
    let x = || npy(&[1.0f32, 2.0, 3.0], &[3, 1]);
    let path = npz("negy.npz", &[("x", x()), ("y", npy(&[0i32, 1, -1], &[3]))], false);
    data_error(load(&path), &["array 'y', element 2", "label -1 is negative"]);
    let path = npz("fracy.npz", &[("x", x()), ("y", npy(&[0.0f64, 1.5, 1.0], &[3]))], false);
    data_error(load(&path), &["array 'y', element 1", "label 1.5 is not an integer"]);
    let path = npz("nany.npz", &[("x", x()), ("y", npy(&[f32::NAN, 1.0, 1.0], &[3]))], false);
    data_error(load(&path), &["array 'y', element 0", "NaN"]);
    let soft = npy(&[1.0f32, 0.0, 0.5, -0.5, f32::INFINITY, 0.0], &[3, 2]);
    let path = npz("negsoft.npz", &[("x", x()), ("y", soft)], false);
    data_error(load(&path), &["array 'y', row 1, column 1", "-0.5"]);
}

#[test]
fn npz_shapes_are_checked() {
    let y = || npy(&[0u8, 1], &[2]);
    let path = npz("x3d.npz", &[("x", npy(&[0.0f32; 8], &[2, 2, 2])), ("y", y())], false);
    data_error(load(&path), &["x must be 2-D", "[2, 2, 2]"]);
    let path = npz("y3d.npz", &[("x", npy(&[0.0f32; 2], &[2, 1])), ("y", npy(&[0u8; 2], &[2, 1, 1]))], false);
    data_error(load(&path), &["y must be 1-D", "[2, 1, 1]"]);
    let path = npz("rows.npz", &[("x", npy(&[0.0f32; 3], &[3, 1])), ("y", y())], false);
    data_error(load(&path), &["x has 3 rows but y has 2"]);
    let path = npz("norows.npz", &[("x", npy::<f32>(&[], &[0, 3])), ("y", npy::<u8>(&[], &[0]))], false);
    data_error(load(&path), &["no data rows"]);
}

#[test]
fn npz_unsupported_dtype_is_named() {
    let mut x = npy(&[1.0f64, 2.0], &[2, 1]);
    let at = x.windows(5).position(|w| w == b"'<f8'").unwrap();
    x[at..at + 5].copy_from_slice(b"'<c8'"); // same length, so the header stays valid
    let path = npz("complex.npz", &[("x", x), ("y", npy(&[0u8, 1], &[2]))], false);
    data_error(load(&path), &["array 'x'", "dtype '<c8' is not supported"]);
    let path = npz("bool.npz", &[("x", npy(&[1.0f32], &[1, 1])), ("y", npy(&[true], &[1]))], false);
    data_error(load(&path), &["array 'y'", "'|b1'"]);
}

#[test]
fn truncated_or_garbled_npy_and_npz() {
    let mut x = npy(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    x.truncate(x.len() - 3);
    let x = write("trunc-x.npy", x);
    let y = write("trunc-y.npy", npy(&[0u8, 1], &[2]));
    let spec = format!("{},{}", x.display(), y.display());
    data_error(Dataset::load(&spec), &[&x.display().to_string(), "needs 16 data bytes, found 13"]);
    let garbage = write("garbage.npz", b"this is not a zip archive");
    data_error(load(&garbage), &["garbage.npz", "not a readable .npz"]);
    let path = npz("notnpy.npz", &[("x", b"hello".to_vec()), ("y", npy(&[0u8], &[1]))], false);
    data_error(load(&path), &["array 'x', header", "not a .npy array"]);
}

#[test]
fn npy_pair_with_different_row_counts() {
    let x = write("rows-x.npy", npy(&[1.0f32, 2.0, 3.0], &[3, 1]));
    let y = write("rows-y.npy", npy(&[0u8, 1], &[2]));
    data_error(Dataset::load(&format!("{},{}", x.display(), y.display())), &["x has 3 rows but y has 2"]);
}

#[test]
fn idx_bad_magic_truncation_and_counts() {
    let labels = write("magic-labels-idx1-ubyte", idx(0x801, &[1], &[0]));
    let images = write("magic-images-idx3-ubyte", idx(0x801, &[1], &[0]));
    data_error(load(&images), &["magic-images", "0x00000801 is not 0x00000803", "labels file"]);
    let images = write("trunc-images-idx3-ubyte", idx(0x803, &[2, 2, 2], &[1; 7]));
    data_error(load(&images), &["trunc-images", "truncated", "expected 24 bytes", "found 23"]);
    let short = write("short-images-idx3-ubyte", [0, 0, 8, 3, 0, 0]);
    data_error(load(&short), &["short-images", "truncated"]);
    let images = write("count-images-idx3-ubyte", idx(0x803, &[2, 1, 1], &[1, 2]));
    data_error(Dataset::load(&format!("{},{}", images.display(), labels.display())), &["2 images but 1 labels"]);
    let images = write("gzbad-images-idx3-ubyte.gz", &gzip(&idx(0x803, &[1, 1, 1], &[1]))[..10]);
    data_error(load(&images), &["gzbad-images", "gzip"]);
}

#[test]
fn idx_missing_labels_file_names_the_expected_path() {
    let images = write("alone-images-idx3-ubyte", idx(0x803, &[1, 1, 1], &[1]));
    let expected = images.with_file_name(format!("ferrite-data-{}-alone-labels-idx1-ubyte", std::process::id()));
    data_error(load(&images), &[&expected.display().to_string(), "does not exist"]);
}

#[test]
fn dataset_new_checks_shapes_and_values() {
    let classes = |labels: Vec<u32>| Labels::Classes { labels, classes: 3 };
    data_error(Dataset::new(vec![1.0; 5], 2, classes(vec![0, 1]), "mem"), &["mem", "5 feature values", "rows of 2"]);
    data_error(Dataset::new(vec![1.0; 4], 0, classes(vec![0]), "mem"), &["features must be at least 1"]);
    data_error(Dataset::new(vec![], 2, classes(vec![]), "mem"), &["no data rows"]);
    data_error(Dataset::new(vec![1.0; 4], 2, classes(vec![0]), "mem"), &["x has 2 rows but the labels have 1"]);
    data_error(Dataset::new(vec![1.0; 4], 2, classes(vec![0, 3]), "mem"), &["row 1", "label 3", "3 classes"]);
    let x = vec![1.0, f32::INFINITY, 0.0, 0.0];
    data_error(Dataset::new(x, 2, classes(vec![0, 1]), "mem"), &["row 0, feature 1", "infinite feature"]);
    let soft = Labels::OneHot { values: vec![0.5, f32::NAN, 1.0, 0.0], classes: 2 };
    data_error(Dataset::new(vec![1.0; 2], 1, soft, "mem"), &["row 0, class 1", "NaN"]);
    let ragged = Labels::OneHot { values: vec![1.0; 3], classes: 2 };
    data_error(Dataset::new(vec![1.0; 2], 1, ragged, "mem"), &["3 label values"]);
}
