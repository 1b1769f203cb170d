use ferrite::{Array, Device};

let d = Device::Cpu; // or Device::new("cuda")?, Device::new("emulated")?
let x = Array::from_vec_on(vec![1.0f32, -2.0, 3.0, -4.0, 5.0, -6.0], &[2, 3], &d)?;
let negative = x.lt_scalar(0.0)?; // a bool mask

// NumPy: x[x < 0]; x.copy()[x < 0] = 0; np.argwhere(x < 0)
assert_eq!(x.masked_select(&negative)?.to_vec()?, [-2.0, -4.0, -6.0]);
assert_eq!(x.masked_fill(&negative, 0.0)?.to_vec()?, [1.0, 0.0, 3.0, 0.0, 5.0, 0.0]);
assert_eq!(negative.nonzero()?.to_vec()?, [0, 1, 1, 0, 1, 2]); // [3, 2]: (row, column)

// PyTorch: x.index_select(1, idx); x.gather(1, idx2); np.take(x, [-1]) (negatives from the end)
let idx = Array::from_vec_on(vec![2i64, 0], &[2], &d)?;
assert_eq!(x.index_select(1, &idx)?.to_vec()?, [3.0, 1.0, -6.0, -4.0]);
let per_row = Array::from_vec_on(vec![1i64, 2], &[2, 1], &d)?;
assert_eq!(x.gather(1, &per_row)?.to_vec()?, [-2.0, -6.0]);
assert_eq!(x.take(&Array::from_vec_on(vec![-1i64], &[1], &d)?, None)?.to_vec()?, [-6.0]);

// An index outside its axis is an error naming it, on every device.
let bad = Array::from_vec_on(vec![3i64], &[1], &d)?;
assert_eq!(x.index_select(1, &bad).unwrap_err().to_string(), "index_select: index 3 is out of range for axis 1 of size 3");

// One-hot labels (Keras's to_categorical), and scatter_add (deterministic on every device).
let labels = Array::from_vec_on(vec![2i64, 0], &[2], &d)?;
assert_eq!(labels.one_hot::<f32>(3)?.to_vec()?, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
let sums = Array::<f32>::zeros(&[3])?.scatter_add(0, &Array::from_vec(vec![2i64, 2, 0], &[3])?, &Array::from_vec(vec![1.0, 2.0, 3.0], &[3])?)?;
assert_eq!(sums.to_vec()?, [3.0, 0.0, 3.0]);
