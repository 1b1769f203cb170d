//! The seed's CuPy example (4.1), in ferrite:
//!
//! ```python
//! import cupy as cp
//! x = cp.asarray([1, 2, 3, 4, 5])   # onto the GPU
//! y = cp.sqrt(x)                     # computed there
//! print(cp.asnumpy(y))               # back to the host
//! ```
//!
//! With no GPU ferrite falls back to the CPU and says so.

use ferrite::{Array, Device};

fn main() -> ferrite::Result<()> {
    let (device, note) = Device::best_available();
    println!("{note}");
    let x = Array::from_vec_on(vec![1.0f32, 2.0, 3.0, 4.0, 5.0], &[5], &device)?; // cp.asarray
    let y = ferrite::sqrt(&x)?; // cp.sqrt
    let host: Vec<f32> = y.to_vec()?; // cp.asnumpy
    println!("{y}");
    println!("computed on {}; {} values back on the host", y.device().describe(), host.len());
    Ok(())
}
