//! The array operations, one family per file, each family one generic kernel over the
//! elementwise engine (`map.rs`) or the reduction engine, instantiated per op and dtype from
//! a one-line-per-op list:
//!
//! - `layout.rs`: how a kernel sees a strided operand (shape, strides, offset);
//! - `map.rs`: the elementwise engine (contiguous vector path, strided rows);
//! - `unary.rs`: `neg`, `sqrt`, `exp`, `gelu`, ... (float, and numeric ops on integers too);
//! - `binary.rs`: `add`, `sub`, `mul`, `div`, `rem`, `maximum`, `minimum`, `pow`, `atan2`;
//! - `compare.rs`: comparisons and logic to `bool`, `isnan`-style tests, `where`;
//! - `cast.rs`: every pair of dtypes;
//! - `fill.rs`: constructors on the device: `fill` (one value), `iota` (`arange`, `linspace`),
//!   `eye`;
//! - `copy.rs`: strided copies and tiled transposes, bit for bit, by element size;
//! - `reduce.rs`: `sum`, `prod`, `max`, `min`, `argmax`, `argmin`, and the sums behind
//!   `mean`, `var`, `std`, `norm` and `logsumexp`, over any axes;
//! - `scan.rs`: `cumsum` along rows;
//! - `gather.rs`: `gather`/`index_select`/`take`, `scatter`/`scatter_add`, mask compaction
//!   (`masked_select`, `nonzero`);
//! - `sort.rs`: sort keys, a stable bitonic argsort of short rows, `searchsorted`;
//! - `radix.rs`: the stable LSD radix argsort of long rows.

pub mod binary;
pub mod cast;
pub mod compare;
pub mod copy;
pub mod fill;
pub mod gather;
pub mod layout;
pub mod map;
pub mod radix;
pub mod reduce;
pub mod scan;
pub mod sort;
pub mod unary;
