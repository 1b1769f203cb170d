//! An interpreter for the PTX that ferrite ships: it parses the modules `build.rs` embeds and
//! runs any `.entry` over a grid on the CPU, so the artifact a GPU receives is tested where the
//! Rust-source emulator only tests the source.
//!
//! What it models (each from the PTX ISA, not from ferrite's emulator):
//! - per-thread registers and predicates; the param, global, shared, local and const state
//!   spaces, bounds- and alignment-checked, with generic addressing and `cvta`; the module's
//!   `.global` and `.const` variables with their initializers;
//! - device functions: `call` (direct, or through a function address and a prototype) and
//!   `ret`, each thread with its own param space, call stack and local frames;
//! - warps executed in lockstep groups of lanes at the same instruction, rejoining where
//!   paths meet; `shfl.sync` and `vote.sync` with their member masks; `bar.sync` with real
//!   barrier semantics; a block that cannot progress is an error, never a hang;
//! - a shared-memory race detector (accesses by different threads with no barrier between);
//! - `mma.sync` (m16n8k8 tf32, m16n8k16 bf16/f16) and `wgmma` (m64nNk16 bf16/f16 from
//!   shared-memory descriptors, with fence, commit and wait groups and the async proxy);
//! - launch checks as the driver makes them, and per-instruction memory-access statistics.
//!
//! Modules: [`text`] and [`operand`] read the text, [`parse`] reads functions and [`data`] module
//! variables, [`link`] makes each entry and the functions it calls one kernel, [`decode`]
//! ([`decode_sync`]) decodes instructions ([`op`]), [`value`] holds scalar semantics, [`memory`]
//! the state spaces, [`warp`], [`access`], [`call`], [`block`] and [`collective`] execution,
//! [`mma`] and [`wgmma`] the tensor cores, [`launch`] the grid, [`stats`] the access statistics.

pub mod access;
pub mod block;
pub mod call;
pub mod collective;
pub mod data;
pub mod decode;
pub mod decode_sync;
pub mod error;
pub mod launch;
pub mod link;
pub mod memory;
pub mod mma;
pub mod op;
pub mod operand;
pub mod parse;
pub mod stats;
pub mod text;
pub mod value;
pub mod warp;
pub mod wgmma;

pub use error::{InterpError, Location, ParseError};
pub use launch::{LaunchOptions, ParamValue, launch};
pub use parse::{Kernel, Module};
pub use stats::{AccessStats, LaunchStats};
