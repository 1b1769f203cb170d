//! Kernels for training dense networks: layers (`dense`), loss heads (`loss`) and optimizer
//! updates (`optim`), with the scalar formulas (`activation`, `optim`) shared with the CPU.

pub mod activation;
pub mod dense;
pub mod loss;
pub mod optim;
