//! The seed's PyTorch example (4.2), in ferrite:
//!
//! ```python
//! import torch
//! x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).cuda()
//! y = torch.sqrt(x)
//! print(y.cpu().numpy())
//! ```
//!
//! `.cuda()` is an error without a GPU (as in PyTorch); this example then stays on the CPU
//! and says so.

use ferrite::Array;

fn main() -> ferrite::Result<()> {
    let x = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0], &[5])?;
    let x = match x.cuda() {
        Ok(on_gpu) => on_gpu,
        Err(e) => {
            println!("no GPU, staying on the CPU: {e}");
            x
        }
    };
    let y = x.sqrt()?; // torch.sqrt
    println!("{}", y.cpu()?); // y.cpu().numpy()
    println!("computed on {}", y.device().describe());
    Ok(())
}
