//! `wgmma` on a hand-written kernel: one `m64n8k16` bf16 product from a shared-memory image
//! the test lays out itself from the PTX ISA's canonical K-major layout, against an exact
//! reference; then the same kernel with each step of the protocol broken, every one reported.

use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::{Dim3, LaunchConfig};
use ptx_interp::{LaunchOptions, Module, ParamValue, launch};

const HEADER: &str = ".version 8.0\n.target sm_90a\n.address_size 64\n.extern .shared .align 16 .b8 smem[];\n";

/// Copies the 2304-byte image to shared memory (of 4096 bytes), then `D = A·B (+ C)` with A at shared byte 0
/// and B at 2048, both with LBO 128 and SBO 256; thread `t` stores its four accumulators to
/// `out[4t..4t+4]`. `k_acc` non-zero accumulates onto 1.0.
const KERNEL: &str = ".visible .entry wg(.param .u64 .ptr k_img, .param .u64 .ptr k_out, .param .u32 k_acc)
{
    .reg .b32 %r<16>;
    .reg .b64 %rd<16>;
    .reg .pred %p<4>;
    ld.param.b64 %rd1, [k_img];
    ld.param.b64 %rd2, [k_out];
    ld.param.b32 %r10, [k_acc];
    mov.u32 %r1, %tid.x;
    mov.b64 %rd3, smem;
    mul.wide.u32 %rd4, %r1, 16;
    add.s64 %rd5, %rd1, %rd4;
    ld.global.v4.b32 {%r2, %r3, %r4, %r5}, [%rd5];
    add.s64 %rd6, %rd3, %rd4;
    st.shared.v4.b32 [%rd6], {%r2, %r3, %r4, %r5};
    setp.lt.u32 %p1, %r1, 16;
    @!%p1 bra $L_copied;
    ld.global.v4.b32 {%r2, %r3, %r4, %r5}, [%rd5+2048];
    st.shared.v4.b32 [%rd6+2048], {%r2, %r3, %r4, %r5};
$L_copied:
    fence.proxy.async.shared::cta;
    bar.sync 0;
    shr.u64 %rd7, %rd3, 4;
    and.b64 %rd7, %rd7, 16383;
    or.b64 %rd8, %rd7, 68720001024;
    add.s64 %rd9, %rd8, 128;
    mov.b32 %r6, 0f3F800000;
    mov.b32 %r7, 0f3F800000;
    mov.b32 %r8, 0f3F800000;
    mov.b32 %r9, 0f3F800000;
    wgmma.fence.sync.aligned;
    { .reg .pred p; setp.ne.b32 p, %r10, 0; wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {%r6, %r7, %r8, %r9}, %rd8, %rd9, p, 1, 1, 0, 0; }
    wgmma.commit_group.sync.aligned;
    wgmma.wait_group.sync.aligned 0;
    mul.wide.u32 %rd10, %r1, 16;
    add.s64 %rd11, %rd2, %rd10;
    st.global.v4.b32 [%rd11], {%r6, %r7, %r8, %r9};
    ret;
}";

fn a_val(m: usize, k: usize) -> f32 {
    ((m * 7 + k * 3) % 9) as f32 - 4.0
}

fn b_val(n: usize, k: usize) -> f32 {
    ((n * 5 + k * 11) % 7) as f32 - 3.0
}

/// bf16 bits of a small integer (exact).
fn bf16(x: f32) -> u16 {
    (x.to_bits() >> 16) as u16
}

/// The shared image: element `(row, k)` of a K-major operand at
/// `16 (row % 8) + SBO (row / 8) + 2 (k % 8) + LBO (k / 8)`.
fn image() -> Vec<u8> {
    let mut img = vec![0u8; 2304];
    let at = |row: usize, k: usize| 16 * (row % 8) + 256 * (row / 8) + 2 * (k % 8) + 128 * (k / 8);
    for k in 0..16 {
        for m in 0..64 {
            img[at(m, k)..at(m, k) + 2].copy_from_slice(&bf16(a_val(m, k)).to_le_bytes());
        }
        for n in 0..8 {
            let o = 2048 + at(n, k);
            img[o..o + 2].copy_from_slice(&bf16(b_val(n, k)).to_le_bytes());
        }
    }
    img
}

fn run(kernel: &str, accumulate: bool) -> Result<Vec<f32>, String> {
    let m = Module::parse(&format!("{HEADER}{kernel}")).map_err(|e| e.to_string())?;
    let img: Vec<u32> = image().chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    let mut dimg = DeviceBuffer::from_slice(&img);
    let mut out = DeviceBuffer::<f32>::poisoned(512);
    let cfg = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(128), shared_bytes: 4096 };
    let params = [
        ParamValue::Ptr(dimg.as_mut_ptr() as u64),
        ParamValue::Ptr(out.as_mut_ptr() as u64),
        ParamValue::B32(accumulate as u32),
    ];
    launch(&m.kernels[0], &cfg, &params, &LaunchOptions::default()).map_err(|e| e.to_string())?;
    Ok(out.to_vec())
}

/// Thread `t`'s accumulator `i` holds row `16 (t / 32) + (t % 32) / 4 + 8 ((i % 4) / 2)`,
/// column `8 (i / 4) + 2 (t % 4) + i % 2` of D.
fn expected(accumulate: bool) -> Vec<f32> {
    let mut want = vec![0f32; 512];
    for t in 0..128 {
        for i in 0..4 {
            let row = 16 * (t / 32) + (t % 32) / 4 + 8 * ((i % 4) / 2);
            let col = 8 * (i / 4) + 2 * (t % 4) + i % 2;
            let dot: f32 = (0..16).map(|k| a_val(row, k) * b_val(col, k)).sum();
            want[4 * t + i] = dot + if accumulate { 1.0 } else { 0.0 };
        }
    }
    want
}

#[test]
fn wgmma_follows_the_isa_layouts() {
    assert_eq!(run(KERNEL, false).unwrap(), expected(false));
    assert_eq!(run(KERNEL, true).unwrap(), expected(true));
}

#[test]
fn a_wrong_descriptor_field_gives_wrong_results() {
    // LBO 256 instead of 128: the second K half is read from the wrong core matrices.
    let bad = KERNEL.replace("68720001024", "68720525312");
    assert_ne!(run(&bad, false).unwrap(), expected(false));
}

#[test]
fn each_broken_protocol_step_is_reported() {
    let cases: [(&str, &str, &str); 5] = [
        ("wgmma.fence.sync.aligned;", "", "without a wgmma.fence"),
        ("fence.proxy.async.shared::cta;", "", "async-proxy ordering"),
        ("bar.sync 0;", "", "data race: wgmma.mma_async reads"),
        ("wgmma.wait_group.sync.aligned 0;", "", "wgmma work in flight"),
        (
            "wgmma.commit_group.sync.aligned;",
            "wgmma.commit_group.sync.aligned;\n    st.shared.b32 [%rd3+2048], %r1;",
            "still in flight reads",
        ),
    ];
    for (from, to, message) in cases {
        let broken = KERNEL.replacen(from, to, 1);
        assert_ne!(broken, KERNEL);
        let err = run(&broken, false).unwrap_err();
        assert!(err.contains(message) && err.contains("wg block (0, 0, 0)"), "replacing `{from}`: {err}");
    }
}
