//! Errors: a module the parser rejects, a launch a GPU would refuse, and a kernel that faults,
//! hangs or races while it runs. Each names the kernel, and a run-time fault the block, the
//! thread, the PTX line and instruction, and the address.

use kernels_gpu::Dim3;
use std::fmt;

/// The PTX text could not be parsed or uses something the interpreter does not implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the PTX text.
    pub line: u32,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PTX line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Where in the grid and in the code a fault happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub kernel: String,
    pub block: Dim3,
    /// `None` for faults of a whole warp or block (a deadlock).
    pub thread: Option<Dim3>,
    pub line: u32,
    /// The PTX instruction's text.
    pub instruction: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.block;
        write!(f, "{} block ({}, {}, {})", self.kernel, b.x, b.y, b.z)?;
        if let Some(t) = self.thread {
            write!(f, " thread ({}, {}, {})", t.x, t.y, t.z)?;
        }
        write!(f, ", PTX line {}: `{}`", self.line, self.instruction)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpError {
    /// The module has no such entry.
    NoEntry { kernel: String },
    /// The launch does not fit the entry or CUDA's limits (`CUDA_ERROR_INVALID_VALUE`).
    InvalidLaunch { kernel: String, message: String },
    /// A thread faulted: out-of-bounds or misaligned access, `trap`, a data race, a broken
    /// `wgmma` protocol.
    Fault { at: Location, message: String },
    /// The block cannot make progress: a barrier or collective that not all threads reach.
    Stuck { at: Location, message: String },
}

impl fmt::Display for InterpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpError::NoEntry { kernel } => write!(f, "the PTX module has no entry {kernel}"),
            InterpError::InvalidLaunch { kernel, message } => write!(f, "invalid launch of {kernel}: {message}"),
            InterpError::Fault { at, message } => write!(f, "{at}: {message}"),
            InterpError::Stuck { at, message } => write!(f, "{at}: block is stuck: {message}"),
        }
    }
}

impl std::error::Error for InterpError {}
