//! Weights in safetensors files, named and shaped like PyTorch's `nn.Linear`: layer `i`
//! (`dense`, `dense_1`, ... as Keras names them) is `<name>.weight` (`units × inputs`) and
//! `<name>.bias` (`units`), so `safetensors.torch.load_file` reads them as a PyTorch user
//! expects. The file's metadata records the architecture.

use super::model::Sequential;
use super::network::LayerShape;
use crate::dtype::{DType, Element, Native};
use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

fn layer_name(i: usize) -> String {
    if i == 0 { "dense".into() } else { format!("dense_{i}") }
}

fn architecture(shapes: &[LayerShape]) -> String {
    shapes.iter().map(|s| format!("{}:{}", s.units, s.activation)).collect::<Vec<_>>().join(",")
}

fn bytes<T: Native>(v: &[T]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| match T::DTYPE {
            DType::F64 => Element::to_f64(x).to_le_bytes().to_vec(),
            _ => (Element::to_f64(x) as f32).to_le_bytes().to_vec(),
        })
        .collect()
}

impl<T: Native> Sequential<T> {
    /// Writes the weights (F32 for an f32 model, F64 for f64) to a safetensors file.
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let shapes = self.shapes()?;
        let flat = self.flat_params(&shapes)?;
        let dtype = if T::DTYPE == DType::F64 { Dtype::F64 } else { Dtype::F32 };
        let mut tensors = Vec::new();
        let mut at = 0;
        for (i, s) in shapes.iter().enumerate() {
            // Stored `inputs × units`; PyTorch's Linear weight is `units × inputs`.
            let kernel = &flat[at..at + s.inputs * s.units];
            let transposed: Vec<T> =
                (0..s.units * s.inputs).map(|j| kernel[(j % s.inputs) * s.units + j / s.inputs]).collect();
            tensors.push((format!("{}.weight", layer_name(i)), vec![s.units, s.inputs], bytes(&transposed)));
            tensors.push((
                format!("{}.bias", layer_name(i)),
                vec![s.units],
                bytes(&flat[at + s.inputs * s.units..at + s.params()]),
            ));
            at += s.params();
        }
        let views = tensors
            .iter()
            .map(|(n, shape, b)| TensorView::new(dtype, shape.clone(), b).map(|v| (n.clone(), v)))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Data { path: path.into(), location: "tensors".into(), message: e.to_string() })?;
        let meta = HashMap::from([
            ("format".to_string(), "pt".to_string()),
            ("ferrite.inputs".to_string(), shapes[0].inputs.to_string()),
            ("ferrite.layers".to_string(), architecture(&shapes)),
        ]);
        safetensors::serialize_to_file(views, Some(meta), path).map_err(|e| match e {
            safetensors::SafeTensorError::IoError(source) => Error::Io { path: path.into(), source },
            other => Error::Data { path: path.into(), location: "file".into(), message: other.to_string() },
        })
    }

    /// Reads weights written by [`Sequential::save_weights`] (or by PyTorch, same names and
    /// shapes); every tensor's name, shape and dtype is checked against the model.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let err = |location: String, message: String| Error::Data { path: path.into(), location, message };
        let raw = std::fs::read(path).map_err(|source| Error::Io { path: path.into(), source })?;
        let file = SafeTensors::deserialize(&raw).map_err(|e| err("header".into(), e.to_string()))?;
        let shapes = self.shapes()?;
        let mut flat = Vec::with_capacity(shapes.iter().map(LayerShape::params).sum());
        for (i, s) in shapes.iter().enumerate() {
            let read = |name: String, shape: Vec<usize>| -> Result<Vec<T>> {
                let t = file.tensor(&name).map_err(|_| {
                    let mut names = file.names();
                    names.sort();
                    err(format!("tensor {name}"), format!("missing; the file has {names:?}"))
                })?;
                if t.shape() != shape.as_slice() {
                    return Err(err(
                        format!("tensor {name}"),
                        format!("shape {:?}, but the model needs {shape:?}", t.shape()),
                    ));
                }
                let values: Vec<f64> = match t.dtype() {
                    Dtype::F32 => {
                        t.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect()
                    }
                    Dtype::F64 => t.data().chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
                    other => {
                        return Err(err(format!("tensor {name}"), format!("dtype {other:?}; expected F32 or F64")));
                    }
                };
                if let Some(k) = values.iter().position(|v| !v.is_finite()) {
                    return Err(err(format!("tensor {name}, element {k}"), format!("non-finite value {}", values[k])));
                }
                Ok(values.into_iter().map(T::from_f64).collect())
            };
            let w = read(format!("{}.weight", layer_name(i)), vec![s.units, s.inputs])?;
            // Back from PyTorch's `units × inputs` to the stored `inputs × units`.
            flat.extend((0..s.inputs * s.units).map(|j| w[(j % s.units) * s.inputs + j / s.units]));
            flat.extend(read(format!("{}.bias", layer_name(i)), vec![s.units])?);
        }
        self.replace_params(flat)
    }
}
