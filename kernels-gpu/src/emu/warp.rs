//! Warp collectives: every lane of a warp deposits a request, and once all 32 have arrived
//! the scheduler computes every lane's answer at once, following the PTX ISA.

use super::mma::{self, Frag};
use super::thread::ThreadCtx;
use super::wgmma;
use crate::prelude::{MmaKind, Shfl, WgmmaKind};
use std::format;
use std::string::String;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WarpRequest {
    /// `shfl.sync.<mode>.b32 d, value, b, c, 0xffffffff`
    Shfl { mode: Shfl, value: u32, b: u32, c: u32 },
    /// `vote.sync.ballot.b32 d, pred, 0xffffffff`
    Ballot { pred: bool },
    /// `mma.sync.aligned.<shape>.row.col.f32.<type>.<type>.f32 d, a, b, c`
    Mma { kind: MmaKind, a: [u32; 4], b: [u32; 2], c: [u32; 4] },
    /// `wgmma.mma_async.sync.aligned.m64n128k16.f32.<type>.<type> d, a-desc, b-desc, 1, 1, 1, 0, 0`
    /// from warp `warp` of the block. The 64 accumulators per lane travel in
    /// the lanes' `ThreadCtx::wgmma_acc`, which keeps every request and response small.
    Wgmma { kind: WgmmaKind, descs: (u64, u64), warp: u8 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WarpResponse {
    /// Resumes a thread that waited at a barrier (or starts one).
    Go,
    Word(u32),
    /// A lane's fragment of `mma`'s D.
    Frag([u32; 4]),
    /// `wgmma` wrote the lane's accumulators back to its `ThreadCtx::wgmma_acc`.
    AccWritten,
}

pub(crate) const WARP: usize = 32;
/// Answers one collective of a full warp (`lanes`: the warp's threads, whose block's shared
/// memory and accumulators `wgmma` reads); `Err` names the disagreement between lanes or the
/// bad operand.
pub(crate) fn evaluate(reqs: &[WarpRequest; WARP], lanes: &[ThreadCtx]) -> Result<[WarpResponse; WARP], String> {
    let mut out = [WarpResponse::Go; WARP];
    match reqs[0] {
        WarpRequest::Shfl { mode, .. } => {
            for (lane, req) in reqs.iter().enumerate() {
                let &WarpRequest::Shfl { mode: m, b, c, .. } = req else {
                    return Err(format!("lane 0 is at shfl.{mode:?} but lane {lane} at {req:?}"));
                };
                if m != mode {
                    return Err(format!("lane 0 is at shfl.{mode:?} but lane {lane} at shfl.{m:?}"));
                }
                let WarpRequest::Shfl { value, .. } = reqs[shfl_source(mode, lane as u32, b, c) as usize] else {
                    unreachable!("every lane was checked to be at a shfl")
                };
                out[lane] = WarpResponse::Word(value);
            }
        }
        WarpRequest::Ballot { .. } => {
            let mut mask = 0u32;
            for (lane, req) in reqs.iter().enumerate() {
                let &WarpRequest::Ballot { pred } = req else {
                    return Err(format!("lane 0 is at vote.ballot but lane {lane} at {req:?}"));
                };
                mask |= (pred as u32) << lane;
            }
            out = [WarpResponse::Word(mask); WARP];
        }
        WarpRequest::Mma { kind, .. } => {
            let mut frags: [Frag; WARP] = [([0; 4], [0; 2], [0; 4]); WARP];
            for (lane, req) in reqs.iter().enumerate() {
                match *req {
                    WarpRequest::Mma { kind: k, a, b, c } if k == kind => frags[lane] = (a, b, c),
                    other => return Err(format!("lane 0 is at mma {kind:?} but lane {lane} at {other:?}")),
                }
            }
            for (lane, d) in mma::evaluate(kind, &frags).into_iter().enumerate() {
                out[lane] = WarpResponse::Frag(d);
            }
        }
        WarpRequest::Wgmma { kind, descs, warp } => {
            if let Some((lane, other)) = reqs.iter().enumerate().find(|(_, r)| **r != reqs[0]) {
                return Err(format!(
                    "lane 0 is at wgmma {kind:?} with descriptors {descs:#x?} in warp {warp}, but lane {lane} at {other:?}"
                ));
            }
            let accs: [_; WARP] = core::array::from_fn(|l| lanes[l].wgmma_acc.get());
            let block = lanes[0].block_ctx();
            let group_warp = warp as usize % 4;
            for (lane, d) in
                wgmma::evaluate(kind, descs, group_warp, &accs, block.shared_slice())?.into_iter().enumerate()
            {
                lanes[lane].wgmma_acc.set(d);
                out[lane] = WarpResponse::AccWritten;
            }
            let group = lanes[0].wgmma.get().committed;
            let rows = wgmma::operand_rows(descs, group_warp);
            block.wgmma_reads.borrow_mut().add(block.shared_bytes as usize, warp.into(), group, rows);
        }
    }
    Ok(out)
}

/// The lane `lane` reads from, exactly as the PTX ISA's pseudocode for `shfl.sync`.
fn shfl_source(mode: Shfl, lane: u32, b: u32, c: u32) -> u32 {
    let bval = b & 31;
    let cval = c & 31;
    let segmask = (c >> 8) & 31;
    let max_lane = (lane & segmask) | (cval & !segmask);
    let min_lane = lane & segmask;
    let (j, valid) = match mode {
        Shfl::Up => {
            let j = lane as i32 - bval as i32;
            (j, j >= max_lane as i32)
        }
        Shfl::Down => {
            let j = (lane + bval) as i32;
            (j, j <= max_lane as i32)
        }
        Shfl::Bfly => {
            let j = (lane ^ bval) as i32;
            (j, j <= max_lane as i32)
        }
        Shfl::Idx => {
            let j = (min_lane | (bval & !segmask)) as i32;
            (j, j <= max_lane as i32)
        }
    };
    if valid { j as u32 } else { lane }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shfl_sources_match_the_cuda_intrinsics() {
        // __shfl_xor_sync(m, v, 1): pairs swap.
        assert_eq!(shfl_source(Shfl::Bfly, 6, 1, 31), 7);
        // __shfl_down_sync(m, v, 4): the top 4 lanes keep their own value.
        assert_eq!(shfl_source(Shfl::Down, 3, 4, 31), 7);
        assert_eq!(shfl_source(Shfl::Down, 29, 4, 31), 29);
        // __shfl_up_sync(m, v, 4) (c = 0): the bottom 4 lanes keep their own value.
        assert_eq!(shfl_source(Shfl::Up, 9, 4, 0), 5);
        assert_eq!(shfl_source(Shfl::Up, 2, 4, 0), 2);
        // __shfl_sync(m, v, 33): lane index wraps to 1.
        assert_eq!(shfl_source(Shfl::Idx, 20, 33, 31), 1);
        // __shfl_xor_sync(m, v, 1, 16): width 16 gives c = (32 - 16) << 8 | 31.
        assert_eq!(shfl_source(Shfl::Bfly, 17, 1, (16 << 8) | 31), 16);
    }
}
