//! Memory-access statistics of a launch, per PTX instruction: for global memory, each
//! warp-level request's 128-byte lines and 32-byte sectors against the fewest its bytes could
//! occupy (coalescing); for shared memory, each request's wavefronts against the conflict-free
//! count (bank conflicts: 32 banks of 4 bytes); and the distinct global bytes read and written
//! (the least any implementation must move).
//!
//! Model: a request is the group of lanes that execute one memory instruction together. A
//! shared request of 8-byte accesses is served as two half-warp phases and of 16-byte
//! accesses as four quarter-warp phases; within a phase, lanes reading the same word share it,
//! and each bank serves one distinct word per wavefront.

use std::collections::HashMap;

/// Totals for one memory instruction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessStats {
    pub requests: u64,
    /// Bytes the lanes asked for (global: distinct bytes of each request, so lanes reading the
    /// same word count it once).
    pub bytes: u64,
    /// Global: 128-byte lines touched, the fewest possible, 32-byte sectors touched, and the
    /// requests whose lines were the fewest possible (fully coalesced).
    pub lines: u64,
    pub min_lines: u64,
    pub sectors: u64,
    pub coalesced: u64,
    /// Shared: wavefronts needed, and needed without bank conflicts.
    pub wavefronts: u64,
    pub ideal_wavefronts: u64,
}

impl AccessStats {
    fn add(&mut self, o: &AccessStats) {
        self.requests += o.requests;
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.min_lines += o.min_lines;
        self.sectors += o.sectors;
        self.coalesced += o.coalesced;
        self.wavefronts += o.wavefronts;
        self.ideal_wavefronts += o.ideal_wavefronts;
    }
}

/// Statistics of one launch (or several, merged).
#[derive(Clone, Debug, Default)]
pub struct LaunchStats {
    /// By instruction index, for global and shared accesses.
    pub global: HashMap<u32, AccessStats>,
    pub shared: HashMap<u32, AccessStats>,
    /// Distinct bytes read and written, per allocation (start address), as bitsets.
    read: HashMap<u64, Vec<u64>>,
    written: HashMap<u64, Vec<u64>>,
}

impl LaunchStats {
    pub fn merge(&mut self, o: &LaunchStats) {
        for (pc, s) in &o.global {
            self.global.entry(*pc).or_default().add(s);
        }
        for (pc, s) in &o.shared {
            self.shared.entry(*pc).or_default().add(s);
        }
        for (mine, theirs) in [(&mut self.read, &o.read), (&mut self.written, &o.written)] {
            for (a, bits) in theirs {
                let m = mine.entry(*a).or_default();
                if m.len() < bits.len() {
                    m.resize(bits.len(), 0);
                }
                for (x, y) in m.iter_mut().zip(bits) {
                    *x |= y;
                }
            }
        }
    }

    /// Distinct global bytes read and written.
    pub fn unique_bytes(&self) -> (u64, u64) {
        let count = |m: &HashMap<u64, Vec<u64>>| m.values().flatten().map(|w| w.count_ones() as u64).sum();
        (count(&self.read), count(&self.written))
    }

    pub fn totals(&self) -> (AccessStats, AccessStats) {
        let mut g = AccessStats::default();
        let mut s = AccessStats::default();
        self.global.values().for_each(|x| g.add(x));
        self.shared.values().for_each(|x| s.add(x));
        (g, s)
    }

    /// One warp-level global request: `(address, bytes)` per lane, in allocation `alloc`.
    pub fn global_request(&mut self, pc: u32, write: bool, accesses: &[(u64, u64, u64)]) {
        if accesses.is_empty() {
            return;
        }
        let mut lines: Vec<u64> = Vec::with_capacity(accesses.len());
        let mut sectors: Vec<u64> = Vec::with_capacity(accesses.len());
        let mut spans: Vec<(u64, u64)> = Vec::with_capacity(accesses.len());
        for &(addr, n, alloc) in accesses {
            spans.push((addr, addr + n));
            for l in addr / 128..=(addr + n - 1) / 128 {
                lines.push(l);
            }
            for s in addr / 32..=(addr + n - 1) / 32 {
                sectors.push(s);
            }
            let map = if write { &mut self.written } else { &mut self.read };
            let bits = map.entry(alloc).or_default();
            for b in addr - alloc..addr - alloc + n {
                let (w, i) = ((b / 64) as usize, b % 64);
                if bits.len() <= w {
                    bits.resize(w + 1, 0);
                }
                bits[w] |= 1 << i;
            }
        }
        lines.sort_unstable();
        lines.dedup();
        sectors.sort_unstable();
        sectors.dedup();
        spans.sort_unstable();
        let mut unique = 0;
        let mut end = 0;
        for (s, e) in spans {
            let s = s.max(end);
            if e > s {
                unique += e - s;
                end = e;
            }
        }
        let min_lines = unique.div_ceil(128);
        let st = self.global.entry(pc).or_default();
        st.requests += 1;
        st.bytes += unique;
        st.lines += lines.len() as u64;
        st.min_lines += min_lines;
        st.sectors += sectors.len() as u64;
        st.coalesced += (lines.len() as u64 <= min_lines) as u64;
    }

    /// One warp-level shared request: `(lane, address, bytes)` per active lane.
    pub fn shared_request(&mut self, pc: u32, accesses: &[(u32, u64, u64)]) {
        if accesses.is_empty() {
            return;
        }
        let size = accesses[0].2.max(4);
        let lanes_per_phase = (128 / size).max(1) as u32;
        let mut wavefronts = 0;
        let mut ideal = 0;
        let mut bytes = 0;
        for phase in 0..32u32.div_ceil(lanes_per_phase) {
            let lanes = phase * lanes_per_phase..(phase + 1) * lanes_per_phase;
            let mut words: Vec<u64> = Vec::new();
            for &(_, addr, n) in accesses.iter().filter(|a| lanes.contains(&a.0)) {
                bytes += n;
                for w in addr / 4..(addr + n).div_ceil(4) {
                    words.push(w);
                }
            }
            if words.is_empty() {
                continue;
            }
            words.sort_unstable();
            words.dedup();
            let mut per_bank = [0u32; 32];
            for w in &words {
                per_bank[(w % 32) as usize] += 1;
            }
            wavefronts += *per_bank.iter().max().unwrap() as u64;
            ideal += 1;
        }
        let st = self.shared.entry(pc).or_default();
        st.requests += 1;
        st.bytes += bytes;
        st.wavefronts += wavefronts;
        st.ideal_wavefronts += ideal;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalescing_and_bank_conflicts_follow_the_model() {
        let mut s = LaunchStats::default();
        // 32 consecutive f32: one line, coalesced.
        let contiguous: Vec<_> = (0..32).map(|l| (0x1000 + 4 * l, 4, 0x1000)).collect();
        s.global_request(0, false, &contiguous);
        // A stride of 128 bytes: 32 lines where one would do.
        let strided: Vec<_> = (0..32).map(|l| (0x1000 + 128 * l, 4, 0x1000)).collect();
        s.global_request(1, false, &strided);
        assert_eq!((s.global[&0].lines, s.global[&0].coalesced), (1, 1));
        assert_eq!((s.global[&1].lines, s.global[&1].min_lines, s.global[&1].coalesced), (32, 1, 0));
        assert_eq!(s.unique_bytes().0, 128 + 31 * 4);
        // Shared: stride 1 word is conflict-free, stride 2 words 2-way, a broadcast free.
        s.shared_request(2, &(0..32).map(|l| (l, 4 * l as u64, 4)).collect::<Vec<_>>());
        s.shared_request(3, &(0..32).map(|l| (l, 8 * l as u64, 4)).collect::<Vec<_>>());
        s.shared_request(4, &(0..32).map(|l| (l, 0, 4)).collect::<Vec<_>>());
        // 16-byte accesses, consecutive: four quarter-warp phases, each conflict-free.
        s.shared_request(5, &(0..32).map(|l| (l, 16 * l as u64, 16)).collect::<Vec<_>>());
        let w = |pc| (s.shared[&pc].wavefronts, s.shared[&pc].ideal_wavefronts);
        assert_eq!([w(2), w(3), w(4), w(5)], [(1, 1), (2, 1), (1, 1), (4, 4)]);
    }
}
