//! Weights in safetensors files, named and shaped like PyTorch's `nn.Linear`: layer `i`
//! (`dense`, `dense_1`, ... as Keras names them) is `<name>.weight` (`units × inputs`) and
//! `<name>.bias` (`units`), so `safetensors.torch.load_file` reads them as a PyTorch user
//! expects. The file's metadata records the architecture. Files are written as a durable,
//! clean replace (`checkpoint.rs`); a checkpoint holds finite values unless asked otherwise,
//! so whatever `save_weights` writes, `load_weights` reads back.
//!
//! On the general path (layers other than Dense) the file is the layers' `state_dict` by
//! Keras's layer names (`conv2d.weight`, `dense.bias`, `batch_norm.running_mean`), written
//! and read by `Module::save` and `load_state_dict`; a Dense layer's tensors have the same
//! names and layouts on both paths.

use super::checkpoint::write_atomically;
use super::general;
use super::model::{Sequential, total_params};
use super::network::LayerShape;
use crate::alloc::{admit_host, try_collect, try_with_capacity};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::layers::Module;
use crate::nn::NnFloat;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// How `save_weights_with` and `load_weights_with` treat NaN and infinite weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WeightsOptions {
    /// Write (and read back) non-finite weights instead of refusing them.
    pub allow_non_finite: bool,
}

fn layer_name(i: usize) -> String {
    if i == 0 { "dense".into() } else { format!("dense_{i}") }
}

fn architecture(shapes: &[LayerShape]) -> String {
    shapes.iter().map(|s| format!("{}:{}", s.units, s.activation)).collect::<Vec<_>>().join(",")
}

fn bytes<T: NnFloat>(v: &[T]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| match T::DTYPE {
            DType::F64 => Element::to_f64(x).to_le_bytes().to_vec(),
            _ => (Element::to_f64(x) as f32).to_le_bytes().to_vec(),
        })
        .collect()
}

/// The first non-finite value of `values`, as (index, value).
fn first_non_finite<T: NnFloat>(values: &[T]) -> Option<(usize, f64)> {
    values.iter().map(|&v| Element::to_f64(v)).enumerate().find(|(_, v)| !v.is_finite())
}

impl<T: NnFloat> Sequential<T> {
    /// Writes the weights (F32 for an f32 model, F64 for f64) to a safetensors file; refuses
    /// NaN or infinite weights ([`Error::NonFiniteWeight`]) and a write-protected file.
    pub fn save_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.save_weights_with(path, &WeightsOptions::default())
    }

    pub fn save_weights_with(&mut self, path: impl AsRef<Path>, options: &WeightsOptions) -> Result<()> {
        let path = path.as_ref();
        if self.is_general() {
            self.ensure_built()?;
            if !options.allow_non_finite
                && let Some((tensor, index, value)) = general::first_non_finite(&mut self.slots)?
            {
                return Err(Error::NonFiniteWeight { tensor, index, value });
            }
            return self.stack().save(path);
        }
        let shapes = self.shapes()?;
        let flat = self.flat_params(&shapes)?;
        let mut tensors = Vec::new();
        let mut at = 0;
        for (i, s) in shapes.iter().enumerate() {
            // Stored `inputs × units`; PyTorch's Linear weight is `units × inputs`.
            let kernel = &flat[at..at + s.inputs * s.units];
            let transposed = (0..s.units * s.inputs).map(|j| kernel[(j % s.inputs) * s.units + j / s.inputs]);
            let transposed: Vec<T> = try_collect(s.units * s.inputs, transposed)?;
            tensors.push((format!("{}.weight", layer_name(i)), vec![s.units, s.inputs], transposed));
            tensors.push((
                format!("{}.bias", layer_name(i)),
                vec![s.units],
                flat[at + s.inputs * s.units..at + s.params()].to_vec(),
            ));
            at += s.params();
        }
        if !options.allow_non_finite
            && let Some((name, (index, value))) = tensors.iter().find_map(|(n, _, v)| Some((n, first_non_finite(v)?)))
        {
            return Err(Error::NonFiniteWeight { tensor: name.clone(), index, value });
        }
        let dtype = if T::DTYPE == DType::F64 { Dtype::F64 } else { Dtype::F32 };
        let data: Vec<Vec<u8>> = tensors.iter().map(|(_, _, v)| bytes(v)).collect();
        let data_error = |message: String| Error::Data { path: path.into(), location: "tensors".into(), message };
        let views = tensors
            .iter()
            .zip(&data)
            .map(|((n, shape, _), b)| TensorView::new(dtype, shape.clone(), b).map(|v| (n.clone(), v)))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| data_error(e.to_string()))?;
        let meta = HashMap::from([
            ("format".to_string(), "pt".to_string()),
            ("ferrite.inputs".to_string(), shapes[0].inputs.to_string()),
            ("ferrite.layers".to_string(), architecture(&shapes)),
        ]);
        let file = safetensors::serialize(views, Some(meta)).map_err(|e| data_error(e.to_string()))?;
        write_atomically(path, &file)
    }

    /// Reads weights written by [`Sequential::save_weights`] (or by PyTorch, same names and
    /// shapes); every tensor's name, shape and dtype is checked against the model, and every
    /// value must be finite in the model's type (an f64 1e300 is not an f32).
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.load_weights_with(path, &WeightsOptions::default())
    }

    pub fn load_weights_with(&mut self, path: impl AsRef<Path>, options: &WeightsOptions) -> Result<()> {
        let path = path.as_ref();
        let io = |source| Error::Io { path: path.into(), source };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut raw = try_with_capacity(admit_host(len as u128)?)?;
        file.read_to_end(&mut raw).map_err(io)?;
        self.load_weights_from(&raw, path, options)
    }

    /// [`Self::load_weights_with`] from the file's bytes; `path` names it in errors.
    pub(crate) fn load_weights_from(&mut self, raw: &[u8], path: &Path, options: &WeightsOptions) -> Result<()> {
        if self.is_general() {
            self.ensure_built()?;
            let arrays = crate::io::load_safetensors_from(raw, path)?;
            if !options.allow_non_finite {
                // Float tensors of another dtype are refused by `load_state_dict`; counts are whole.
                for (name, _) in &arrays.arrays {
                    let Ok(a) = arrays.get::<T>(name) else { continue };
                    let values: Vec<f64> = a.to_vec()?.into_iter().map(Element::to_f64).collect();
                    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
                        let message = format!("non-finite value {}", values[k]);
                        return Err(Error::Data {
                            path: path.into(),
                            location: format!("tensor {name}, element {k}"),
                            message,
                        });
                    }
                }
            }
            self.stack().load_state_dict(&arrays)?;
            return self.general.as_mut().map_or(Ok(()), super::general::General::reset_optimizer);
        }
        let err = |location: String, message: String| Error::Data { path: path.into(), location, message };
        let file = SafeTensors::deserialize(raw).map_err(|e| err("header".into(), e.to_string()))?;
        let shapes = self.shapes()?;
        let mut flat = try_with_capacity(total_params(&shapes)?)?;
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
                let wide: Vec<f64> = match t.dtype() {
                    Dtype::F32 => {
                        t.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect()
                    }
                    Dtype::F64 => t.data().chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
                    other => {
                        return Err(err(format!("tensor {name}"), format!("dtype {other:?}; expected F32 or F64")));
                    }
                };
                // Narrowed first, then checked: an f64 beyond f32's range becomes infinite.
                let values: Vec<T> = wide.iter().map(|&v| T::from_f64(v)).collect();
                if let Some((k, v)) = first_non_finite(&values).filter(|_| !options.allow_non_finite) {
                    let message = if wide[k].is_finite() {
                        format!("value {:e} does not fit in {} (it becomes {v})", wide[k], T::DTYPE)
                    } else {
                        format!("non-finite value {v}")
                    };
                    return Err(err(format!("tensor {name}, element {k}"), message));
                }
                Ok(values)
            };
            let w = read(format!("{}.weight", layer_name(i)), vec![s.units, s.inputs])?;
            // Back from PyTorch's `units × inputs` to the stored `inputs × units`.
            flat.extend((0..s.inputs * s.units).map(|j| w[(j % s.units) * s.inputs + j / s.units]));
            flat.extend(read(format!("{}.bias", layer_name(i)), vec![s.units])?);
        }
        self.replace_params(flat)
    }
}
