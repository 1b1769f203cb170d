//! Prefix sums on the CPU, in the GPU kernel's chunking (`kernels_gpu::ops::scan`): each row in
//! chunks of `BLOCK` elements, a chunk's prefix added to the total of the chunks before it,
//! accumulating in the kernels' accumulator type. Within a chunk the CPU adds left to right
//! where the GPU adds as a tree, so float results may differ from the GPU's in the last bits
//! (both within the bound the kernel documents). Rows are split across cores.

use crate::alloc::{Zeroable, try_fresh};
use crate::error::Result;
use kernels_gpu::ops::reduce::Reducible;
use kernels_gpu::ops::scan::BLOCK;
use kernels_gpu::prelude::Num;
use rayon::prelude::*;

/// Below this many elements one thread does every row.
const PARALLEL_MIN: usize = 1 << 16;

/// Row-wise inclusive prefix sums of `x` (`rows × n`, contiguous) into a new vector.
pub(crate) fn cumsum<K: Reducible + Sync>(x: &[K], n: usize) -> Result<Vec<K::Acc>>
where
    K::Acc: Send + Zeroable,
{
    let mut out = try_fresh(x.len())?;
    if n == 0 {
        return Ok(out);
    }
    let row = |(x, y): (&[K], &mut [K::Acc])| {
        let mut carry = K::Acc::ZERO;
        for (xc, yc) in x.chunks(BLOCK as usize).zip(y.chunks_mut(BLOCK as usize)) {
            let mut local = K::Acc::ZERO;
            for (v, o) in xc.iter().zip(yc.iter_mut()) {
                local = local.add(v.acc());
                *o = carry.add(local);
            }
            carry = carry.add(local);
        }
    };
    if x.len() < PARALLEL_MIN {
        x.chunks(n).zip(out.chunks_mut(n)).for_each(row);
    } else {
        x.par_chunks(n).zip(out.par_chunks_mut(n)).for_each(row);
    }
    Ok(out)
}
