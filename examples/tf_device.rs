//! The seed's TensorFlow example (4.3), in ferrite:
//!
//! ```python
//! import tensorflow as tf
//! with tf.device('/gpu:0'):
//!     x = tf.constant([1.0, 2.0, 3.0, 4.0, 5.0])
//!     y = tf.sqrt(x)
//! print(y.numpy())
//! ```
//!
//! `with_device` is the `with tf.device(...)` block: arrays made inside live on that device,
//! and operations on them run there. Without a GPU the block runs on the CPU and says so.

use ferrite::{Array, Device, with_device};

fn main() -> ferrite::Result<()> {
    let gpu = Device::new("/gpu:0").unwrap_or_else(|e| {
        println!("/gpu:0 is not available, using the CPU: {e}");
        Device::Cpu
    });
    let y = with_device(&gpu, || {
        let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0], &[5])?; // tf.constant
        x.sqrt() // tf.sqrt
    })?;
    println!("{y}"); // y.numpy()
    println!("computed on {}", y.device().describe());
    Ok(())
}
