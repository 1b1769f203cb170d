//! `ndarray` conversions: which copy and which do not (pointers compared), every layout an
//! owned ndarray can have, views of strided, broadcast and reversed ferrite arrays, and a
//! CUDA (emulated) array, which converts by copy and refuses a view.

use ferrite::{Array, Device, Error, bf16, with_device};
use ndarray::{Array2, ArrayD, Axis, IxDyn, ShapeBuilder, array, s};

#[test]
fn from_ndarray_never_copies() {
    let c = Array2::from_shape_fn((3, 4), |(i, j)| (i * 10 + j) as f32);
    let f = Array2::from_shape_fn((3, 4).f(), |(i, j)| (i * 10 + j) as f32);
    let mut reversed = c.clone();
    reversed.invert_axis(Axis(1)); // negative stride, offset inside the vector
    let sliced = c.clone().slice_move(s![1.., ..;2]); // an owned array over part of its vector
    for (name, nd) in [("c", c.clone()), ("f", f), ("reversed", reversed), ("sliced", sliced)] {
        let (ptr, want) = (nd.as_ptr(), nd.iter().copied().collect::<Vec<_>>());
        let a = Array::from(nd.clone());
        assert_eq!(a.shape(), nd.shape(), "{name}");
        assert_eq!(a.to_vec().unwrap(), want, "{name}: row-major elements");
        let b = Array::from_ndarray(nd);
        assert_eq!(b.view_ndarray().unwrap().as_ptr(), ptr, "{name}: no copy");
        let sum = b.sum(ferrite::Axes::All, false).unwrap().to_vec().unwrap();
        assert_eq!(sum, [want.iter().sum::<f32>()], "{name}: ops take the layout");
    }
    let empty = Array::from(ArrayD::from_elem(IxDyn(&[2, 0, 3]), bf16::ZERO));
    assert_eq!((empty.shape(), empty.len()), (&[2, 0, 3][..], 0));
}

#[test]
fn into_ndarray_moves_a_sole_whole_storage_and_copies_otherwise() {
    let a = Array::from_vec((0..6).map(|i| i as f64).collect(), &[2, 3]).unwrap();
    let ptr = a.view_ndarray().unwrap().as_ptr();
    let nd = a.into_ndarray().unwrap();
    assert_eq!(nd.as_ptr(), ptr, "sole owner: moved");
    assert_eq!(nd, array![[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]].into_dyn());

    let a = Array::from_vec((0..6).map(|i| i as f64).collect(), &[2, 3]).unwrap();
    let shared = a.clone();
    let nd = a.into_ndarray().unwrap();
    assert_ne!(nd.as_ptr(), shared.view_ndarray().unwrap().as_ptr(), "shared: copied");
    let t = shared.t().into_ndarray().unwrap();
    assert_eq!(t, array![[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]].into_dyn(), "a view: copied, row-major");
    assert_eq!(shared.to_ndarray().unwrap(), nd);
}

#[test]
fn views_borrow_any_cpu_layout() {
    let a = Array::from_vec((0..12).collect::<Vec<i32>>(), &[3, 4]).unwrap();
    let ptr = a.view_ndarray().unwrap().as_ptr();
    let cases = [
        ("t", a.t()),
        ("reversed", a.slice_axis(1, None, None, -1).unwrap()),
        ("bcast", a.slice_axis(0, Some(2), Some(3), 1).unwrap().broadcast_to(&[2, 3, 4]).unwrap()),
        ("0-d", a.slice_axis(0, Some(1), Some(2), 1).unwrap().slice_axis(1, Some(1), Some(2), 1).unwrap().squeeze()),
        ("empty", a.slice_axis(0, Some(1), Some(1), 1).unwrap()),
    ];
    for (name, v) in cases {
        let view = v.view_ndarray().unwrap();
        assert_eq!(view.shape(), v.shape(), "{name}");
        assert_eq!(view.iter().copied().collect::<Vec<_>>(), v.to_vec().unwrap(), "{name}");
        if !v.is_empty() {
            let lo = view.iter().map(|x| x as *const i32).min().unwrap();
            assert!(lo >= ptr && lo < ptr.wrapping_add(12), "{name}: borrowed");
        }
    }
}

#[test]
fn cuda_arrays_convert_by_copy() {
    let device = Device::new("emulated:sm_80").unwrap();
    let a = with_device(&device, || Array::from_vec(vec![1u8, 2, 3, 4], &[2, 2])).unwrap();
    assert_eq!(a.t().to_ndarray().unwrap(), array![[1u8, 3], [2, 4]].into_dyn());
    assert!(matches!(a.view_ndarray(), Err(Error::Unsupported { op: "view_ndarray", .. })));
    assert_eq!(a.clone().into_ndarray().unwrap(), array![[1u8, 2], [3, 4]].into_dyn());
}
