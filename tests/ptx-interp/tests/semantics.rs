//! The interpreter's own checks, on small hand-written PTX kernels: each mistake a GPU would
//! punish (a missing barrier, a barrier or shuffle not all threads reach, out-of-bounds and
//! misaligned accesses, launches the driver refuses) is reported, and the correct kernel next
//! to it runs; `shfl.sync` and the `.approx` instructions against the PTX ISA.

use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::{Dim3, LaunchConfig};
use ptx_interp::{InterpError, LaunchOptions, Module, ParamValue, launch};

const HEADER: &str = ".version 8.0\n.target sm_90a\n.address_size 64\n.extern .shared .align 16 .b8 smem[];\n";

fn cfg(threads: u32, shared: u32) -> LaunchConfig {
    LaunchConfig { grid: Dim3::x(1), block: Dim3::x(threads), shared_bytes: shared }
}

fn run(body: &str, c: LaunchConfig, params: &[ParamValue]) -> Result<(), InterpError> {
    let m = Module::parse(&format!("{HEADER}{body}")).unwrap_or_else(|e| panic!("{e}"));
    launch(&m.kernels[0], &c, params, &LaunchOptions::default()).map(|_| ())
}

fn ptr<T: Copy>(b: &mut DeviceBuffer<T>) -> ParamValue {
    ParamValue::Ptr(b.as_mut_ptr() as u64)
}

/// Thread `t` stores `t` to shared word `t`, optionally waits at `bar.sync`, then copies
/// shared word `(t + 1) % 64` to `out[t]`.
const NEIGHBOUR: &str = ".visible .entry neighbour(.param .u64 .ptr k_out, .param .u32 k_sync)
{
    .reg .b32 %r<8>;
    .reg .b64 %rd<8>;
    .reg .pred %p<2>;
    ld.param.b64 %rd1, [k_out];
    ld.param.b32 %r7, [k_sync];
    cvta.to.global.u64 %rd1, %rd1;
    mov.u32 %r1, %tid.x;
    mov.b64 %rd2, smem;
    mul.wide.u32 %rd3, %r1, 4;
    add.s64 %rd4, %rd2, %rd3;
    st.shared.b32 [%rd4], %r1;
    setp.ne.b32 %p1, %r7, 0;
    @!%p1 bra $L_skip;
    bar.sync 0;
$L_skip:
    add.s32 %r2, %r1, 1;
    and.b32 %r2, %r2, 63;
    mul.wide.u32 %rd5, %r2, 4;
    add.s64 %rd5, %rd2, %rd5;
    ld.shared.b32 %r3, [%rd5];
    add.s64 %rd6, %rd1, %rd3;
    st.global.b32 [%rd6], %r3;
    ret;
}";

#[test]
fn a_missing_barrier_is_a_data_race_and_the_barrier_orders_shared_memory() {
    let mut out = DeviceBuffer::<u32>::poisoned(64);
    run(NEIGHBOUR, cfg(64, 256), &[ptr(&mut out), ParamValue::B32(1)]).unwrap();
    assert_eq!(out.to_vec(), (0..64).map(|t| (t + 1) % 64).collect::<Vec<u32>>());
    let err = run(NEIGHBOUR, cfg(64, 256), &[ptr(&mut out), ParamValue::B32(0)]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("data race") && msg.contains("neighbour block (0, 0, 0) thread"), "{msg}");
    assert!(msg.contains("ld.shared.b32 %r3, [%rd5]"), "names the instruction: {msg}");
}

#[test]
fn threads_at_different_barriers_are_reported_not_hung() {
    // Lanes below 16 wait at one bar.sync, the others at another.
    let body = ".visible .entry split(.param .u64 .ptr k_out)
{
    .reg .b32 %r<4>;
    .reg .pred %p<2>;
    mov.u32 %r1, %tid.x;
    setp.lt.u32 %p1, %r1, 16;
    @%p1 bra $L_low;
    bar.sync 0;
    bra.uni $L_end;
$L_low:
    bar.sync 0;
$L_end:
    ret;
}";
    let mut out = DeviceBuffer::<u32>::poisoned(1);
    let err = run(body, cfg(32, 0), &[ptr(&mut out)]).unwrap_err().to_string();
    assert!(err.contains("different barriers"), "{err}");
}

#[test]
fn a_shuffle_whose_member_lanes_exited_is_reported() {
    let body = ".visible .entry shfl_exit(.param .u64 .ptr k_out)
{
    .reg .b32 %r<4>;
    .reg .pred %p<2>;
    mov.u32 %r1, %tid.x;
    setp.ge.u32 %p1, %r1, 16;
    @%p1 bra $L_end;
    shfl.sync.bfly.b32 %r2, %r1, 1, 31, -1;
$L_end:
    ret;
}";
    let mut out = DeviceBuffer::<u32>::poisoned(1);
    let err = run(body, cfg(32, 0), &[ptr(&mut out)]).unwrap_err().to_string();
    assert!(err.contains("has exited"), "{err}");
}

/// `out[t] = shfl.sync.<mode>(10 t, b, c)` for one warp.
fn shuffle(mode: &str, b: u32, c: u32) -> Vec<u32> {
    let body = format!(
        ".visible .entry shfl(.param .u64 .ptr k_out)
{{
    .reg .b32 %r<6>;
    .reg .b64 %rd<4>;
    .reg .pred %p<2>;
    ld.param.b64 %rd1, [k_out];
    mov.u32 %r1, %tid.x;
    mul.lo.s32 %r2, %r1, 10;
    shfl.sync.{mode}.b32 %r3|%p1, %r2, {b}, {c}, -1;
    selp.b32 %r4, 1000, 0, %p1;
    add.s32 %r3, %r3, %r4;
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.b32 [%rd3], %r3;
    ret;
}}"
    );
    let mut out = DeviceBuffer::<u32>::poisoned(32);
    run(&body, cfg(32, 0), &[ptr(&mut out)]).unwrap();
    out.to_vec()
}

#[test]
fn shuffles_follow_the_isa_pseudo_code() {
    // 1000 marks lanes whose source was in range (the predicate output).
    let from = |src: Option<u32>, lane: u32| src.map_or(10 * lane, |j| 10 * j + 1000);
    let want = |f: &dyn Fn(u32) -> Option<u32>| (0..32).map(|l| from(f(l), l)).collect::<Vec<_>>();
    assert_eq!(shuffle("bfly", 1, 31), want(&|l| Some(l ^ 1)));
    assert_eq!(shuffle("down", 3, 31), want(&|l| (l + 3 <= 31).then_some(l + 3)));
    assert_eq!(shuffle("up", 2, 0), want(&|l| (l >= 2).then(|| l - 2)));
    assert_eq!(shuffle("idx", 5, 31), want(&|_| Some(5)));
    // Segments of 8 lanes (c = 0x1807: mask 0x18, clamp 7): idx reads lane 2 of each segment.
    assert_eq!(shuffle("idx", 2, 0x1807), want(&|l| Some((l & 0x18) | 2)));
    // down within 8-lane segments: lanes past the segment keep their own value.
    assert_eq!(shuffle("down", 1, 0x1807), want(&|l| ((l & 7) < 7).then_some(l + 1)));
}

/// `v4` load of four u32 at `k_in + k_off` bytes, stored to `k_out`.
const LOAD4: &str = ".visible .entry load4(.param .u64 .ptr k_in, .param .u64 .ptr k_out, .param .u64 k_off)
{
    .reg .b32 %r<6>;
    .reg .b64 %rd<6>;
    ld.param.b64 %rd1, [k_in];
    ld.param.b64 %rd2, [k_out];
    ld.param.b64 %rd3, [k_off];
    add.s64 %rd4, %rd1, %rd3;
    ld.global.v4.b32 {%r1, %r2, %r3, %r4}, [%rd4];
    st.global.v4.b32 [%rd2], {%r1, %r2, %r3, %r4};
    ret;
}";

#[test]
fn out_of_bounds_and_misaligned_accesses_name_kernel_thread_instruction_and_address() {
    let mut a = DeviceBuffer::from_slice(&[1u32, 2, 3, 4, 5, 6, 7, 8]);
    let mut out = DeviceBuffer::<u32>::poisoned(4);
    let args = |a: &mut DeviceBuffer<u32>, out: &mut DeviceBuffer<u32>, off| [ptr(a), ptr(out), ParamValue::B64(off)];
    run(LOAD4, cfg(1, 0), &args(&mut a, &mut out, 16)).unwrap();
    assert_eq!(out.to_vec(), [5, 6, 7, 8]);
    let past = run(LOAD4, cfg(1, 0), &args(&mut a, &mut out, 32)).unwrap_err().to_string();
    assert!(past.contains("load4 block (0, 0, 0) thread (0, 0, 0), PTX line"), "{past}");
    assert!(past.contains("ld.global.v4.b32") && past.contains("16 bytes past the end of its 32-byte"), "{past}");
    let misaligned = run(LOAD4, cfg(1, 0), &args(&mut a, &mut out, 4)).unwrap_err().to_string();
    assert!(misaligned.contains("misaligned 16-byte load at global address"), "{misaligned}");
}

#[test]
fn launches_are_checked_as_the_driver_checks_them() {
    let bounded = ".visible .entry bounded(.param .u64 .ptr k_out, .param .u32 k_n)\n.maxntid 64, 1, 1\n{\n    ret;\n}";
    let exact = ".visible .entry exact(.param .u64 .ptr k_out)\n.reqntid 32, 1, 1\n{\n    ret;\n}";
    let mut out = DeviceBuffer::<u32>::poisoned(1);
    let p = ptr(&mut out);
    let invalid = |r: Result<(), InterpError>| match r {
        Err(InterpError::InvalidLaunch { message, .. }) => message,
        other => panic!("expected an invalid launch, got {other:?}"),
    };
    run(bounded, cfg(64, 0), &[p.clone(), ParamValue::B32(1)]).unwrap();
    assert!(invalid(run(bounded, cfg(65, 0), &[p.clone(), ParamValue::B32(1)])).contains(".maxntid"));
    assert!(invalid(run(bounded, cfg(32, 0), std::slice::from_ref(&p))).contains("1 arguments for 2 parameters"));
    assert!(invalid(run(bounded, cfg(32, 0), &[ParamValue::B32(0), ParamValue::B32(1)])).contains("pointer"));
    assert!(invalid(run(bounded, cfg(32, 0), &[p.clone(), ParamValue::B64(1)])).contains("4-byte"));
    run(exact, cfg(32, 0), std::slice::from_ref(&p)).unwrap();
    assert!(invalid(run(exact, cfg(64, 0), std::slice::from_ref(&p))).contains(".reqntid"));
    assert!(invalid(run(exact, cfg(32, 64 * 1024), std::slice::from_ref(&p))).contains("shared memory"));
    assert!(
        invalid(run(exact, LaunchConfig { grid: Dim3::x(0), ..cfg(32, 0) }, std::slice::from_ref(&p)))
            .contains("zero-sized")
    );
}

#[test]
fn an_instruction_the_interpreter_lacks_fails_the_parse_naming_it() {
    let body = ".visible .entry k()\n{\n    .reg .b32 %r<3>;\n    prmt.b32 %r1, %r1, %r2, 0x3210;\n    ret;\n}";
    let err = Module::parse(&format!("{HEADER}{body}")).unwrap_err();
    assert!(err.to_string().contains("does not implement `prmt.b32`") && err.line == 8, "{err}");
}

/// Applies a one-input `.approx` instruction to every element of `x`.
fn approx(instr: &str, x: &[f32]) -> Vec<f32> {
    let body = format!(
        ".visible .entry f(.param .u64 .ptr k_x, .param .u64 .ptr k_y)
{{
    .reg .b32 %r<4>;
    .reg .b64 %rd<6>;
    ld.param.b64 %rd1, [k_x];
    ld.param.b64 %rd2, [k_y];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd3, %r1, 4;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.b32 %r2, [%rd4];
    {instr} %r3, %r2;
    add.s64 %rd5, %rd2, %rd3;
    st.global.b32 [%rd5], %r3;
    ret;
}}"
    );
    let mut dx = DeviceBuffer::from_slice(x);
    let mut dy = DeviceBuffer::<f32>::poisoned(x.len());
    run(&body, cfg(x.len() as u32, 0), &[ptr(&mut dx), ptr(&mut dy)]).unwrap();
    dy.to_vec()
}

fn ulp(x: f64) -> f64 {
    let f = x as f32;
    (f32::from_bits(f.abs().to_bits() + 1) - f.abs()) as f64
}

#[test]
fn approximate_instructions_are_within_the_isa_bounds() {
    let xs: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) * 0.37 + 0.01).collect();
    let pos: Vec<f32> = xs.iter().map(|x| x.abs() + 1e-3).collect();
    let small: Vec<f32> = xs.iter().map(|x| x / 64.0).collect();
    // ex2: 2 ulp; rcp.approx: 1 ulp; rsqrt: 2^-22.9 relative; lg2: 2^-22 absolute in (0.5, 2),
    // relative outside; sin/cos: 2^-20.5 absolute in [-2pi, 2pi]; tanh: 2^-11 relative.
    let check = |instr: &str, x: &[f32], f: fn(f64) -> f64, bound: &dyn Fn(f64, f64) -> f64| {
        for (&xi, g) in x.iter().zip(approx(instr, x)) {
            let want = f(xi as f64);
            assert!((g as f64 - want).abs() <= bound(xi as f64, want), "{instr}({xi}) = {g}, want {want}");
        }
    };
    check("ex2.approx.f32", &small, f64::exp2, &|_, w| 2.0 * ulp(w));
    check("ex2.approx.ftz.f32", &small, f64::exp2, &|_, w| 2.0 * ulp(w));
    check("rcp.approx.f32", &xs, |v| 1.0 / v, &|_, w| ulp(w));
    check("rsqrt.approx.f32", &pos, |v| 1.0 / v.sqrt(), &|_, w| 2f64.powf(-22.9) * w.abs());
    check("lg2.approx.f32", &pos, f64::log2, &|x, w| {
        if x > 0.5 && x < 2.0 { 2f64.powi(-22) } else { 2f64.powi(-22) * w.abs() }
    });
    check("sin.approx.f32", &small, f64::sin, &|_, _| 2f64.powf(-20.5));
    check("cos.approx.f32", &small, f64::cos, &|_, _| 2f64.powf(-20.5));
    check("tanh.approx.f32", &xs, f64::tanh, &|_, w| 2f64.powi(-11) * w.abs());
}

#[test]
fn votes_follow_the_isa() {
    // Lane l votes l % 3 == 0; lanes 0..16 also ask whether all of them have l < 16.
    let body = ".visible .entry vote(.param .u64 .ptr k_out)
{
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    .reg .pred %p<6>;
    ld.param.b64 %rd1, [k_out];
    mov.u32 %r1, %tid.x;
    rem.u32 %r2, %r1, 3;
    setp.eq.b32 %p1, %r2, 0;
    vote.sync.ballot.b32 %r3, %p1, -1;
    vote.sync.any.pred %p2, %p1, -1;
    vote.sync.all.pred %p3, %p1, -1;
    vote.sync.uni.pred %p4, !%p1, -1;
    selp.b32 %r4, 1, 0, %p2;
    selp.b32 %r5, 2, 0, %p3;
    selp.b32 %r6, 4, 0, %p4;
    add.s32 %r4, %r4, %r5;
    add.s32 %r4, %r4, %r6;
    mul.wide.u32 %rd2, %r1, 8;
    add.s64 %rd3, %rd1, %rd2;
    st.global.v2.b32 [%rd3], {%r3, %r4};
    ret;
}";
    let mut out = DeviceBuffer::<u32>::poisoned(64);
    run(body, cfg(32, 0), &[ptr(&mut out)]).unwrap();
    let ballot = (0..32).filter(|l| l % 3 == 0).fold(0u32, |m, l| m | 1 << l);
    let want: Vec<u32> = (0..32).flat_map(|_| [ballot, 1]).collect();
    assert_eq!(out.to_vec(), want, "ballot of l % 3 == 0; any true, all false, uni false");
}

#[test]
fn threads_writing_different_bytes_of_a_word_do_not_race_but_the_same_byte_does() {
    // Thread t stores a byte at shared address t >> k_shift: distinct bytes (4 threads per
    // word) with a shift of 0, two threads per byte with 1.
    let kernel = ".visible .entry bytes(.param .u32 k_shift)
{
    .reg .b32 %r<4>;
    .reg .b64 %rd<4>;
    .reg .b16 %rs<2>;
    ld.param.b32 %r2, [k_shift];
    mov.u32 %r1, %tid.x;
    shr.u32 %r3, %r1, %r2;
    cvt.u64.u32 %rd1, %r3;
    mov.b64 %rd2, smem;
    add.s64 %rd3, %rd2, %rd1;
    cvt.u16.u32 %rs1, %r1;
    st.shared.b8 [%rd3], %rs1;
    bar.sync 0;
    ld.shared.b32 %r3, [smem];
    ret;
}";
    run(kernel, cfg(64, 64), &[ParamValue::B32(0)]).unwrap();
    let e = run(kernel, cfg(64, 64), &[ParamValue::B32(1)]).unwrap_err().to_string();
    assert!(e.contains("data race: writes shared address 0x0, which thread 0 written"), "{e}");
}

/// Thread `t` reads `a` and `b` (128-bit, words `4t..4t + 4` of `k_in`) and writes `a + b` and
/// `a - b` as 64-bit carry chains, and the low 96 bits of both again as 32-bit chains
/// (`add.cc`, `addc.cc`, `addc`; `sub.cc`, `subc.cc`, `subc`), eight words per thread. Odd
/// threads set the carry flag before a branch and clear it after, so that lanes' flags differ.
const CARRY: &str = ".visible .entry carry(.param .u64 .ptr k_in, .param .u64 .ptr k_out)
{
    .reg .b32 %r<16>;
    .reg .b64 %rd<16>;
    .reg .pred %p<2>;
    ld.param.b64 %rd1, [k_in];
    ld.param.b64 %rd2, [k_out];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd3, %r1, 32;
    add.s64 %rd4, %rd1, %rd3;
    mul.wide.u32 %rd3, %r1, 64;
    add.s64 %rd5, %rd2, %rd3;
    ld.global.v2.b64 {%rd6, %rd7}, [%rd4];
    ld.global.v2.b64 {%rd8, %rd9}, [%rd4+16];
    and.b32 %r2, %r1, 1;
    setp.ne.b32 %p1, %r2, 0;
    @%p1 add.cc.u32 %r3, -1, 1;
    add.cc.u64 %rd10, %rd6, %rd8;
    addc.u64 %rd11, %rd7, %rd9;
    st.global.v2.b64 [%rd5], {%rd10, %rd11};
    sub.cc.s64 %rd10, %rd6, %rd8;
    subc.cc.s64 %rd11, %rd7, %rd9;
    st.global.v2.b64 [%rd5+16], {%rd10, %rd11};
    mov.b64 {%r4, %r5}, %rd6;
    mov.b64 {%r6, %r7}, %rd7;
    mov.b64 {%r8, %r9}, %rd8;
    mov.b64 {%r10, %r11}, %rd9;
    add.cc.u32 %r12, %r4, %r8;
    addc.cc.u32 %r13, %r5, %r9;
    addc.u32 %r14, %r6, %r10;
    st.global.v4.b32 [%rd5+32], {%r12, %r13, %r14, 0};
    sub.cc.u32 %r12, %r4, %r8;
    subc.cc.u32 %r13, %r5, %r9;
    subc.u32 %r14, %r6, %r10;
    st.global.v4.b32 [%rd5+48], {%r12, %r13, %r14, 0};
    ret;
}";

#[test]
fn carry_chains_add_and_subtract_multi_word_integers() {
    let edge = [0u128, 1, u64::MAX as u128, 1 << 64, u128::MAX, 1 << 127, (1 << 96) - 1, 1 << 32, 0xffff_ffff];
    let pairs: Vec<(u128, u128)> = edge.iter().flat_map(|&a| edge.iter().map(move |&b| (a, b))).take(64).collect();
    let words: Vec<u64> =
        pairs.iter().flat_map(|&(a, b)| [a as u64, (a >> 64) as u64, b as u64, (b >> 64) as u64]).collect();
    let mut input = DeviceBuffer::from_slice(&words);
    let mut out = DeviceBuffer::<u64>::poisoned(8 * pairs.len());
    run(CARRY, cfg(pairs.len() as u32, 0), &[ptr(&mut input), ptr(&mut out)]).unwrap();
    let out = out.to_vec();
    let low96 = |x: u128| x & ((1 << 96) - 1);
    for (t, &(a, b)) in pairs.iter().enumerate() {
        let o = &out[8 * t..8 * t + 8];
        let word = |i: usize| o[i] as u128 | (o[i + 1] as u128) << 64;
        assert_eq!(word(0), a.wrapping_add(b), "{a:#x} + {b:#x}");
        assert_eq!(word(2), a.wrapping_sub(b), "{a:#x} - {b:#x}");
        assert_eq!(word(4), low96(a.wrapping_add(b)), "{a:#x} + {b:#x} in 32-bit words");
        assert_eq!(word(6), low96(a.wrapping_sub(b)), "{a:#x} - {b:#x} in 32-bit words");
    }
}

/// `shf.{l,r}.{wrap,clamp}.b32` of the words `a = 0x89abcdef`, `b = 0x01234567` by each
/// thread's index (0 to 63), one word per form and thread.
const FUNNEL: &str = ".visible .entry funnel(.param .u64 .ptr k_out)
{
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    ld.param.b64 %rd1, [k_out];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd2, %r1, 16;
    add.s64 %rd3, %rd1, %rd2;
    shf.l.wrap.b32 %r2, 0x89abcdef, 0x01234567, %r1;
    shf.l.clamp.b32 %r3, 0x89abcdef, 0x01234567, %r1;
    shf.r.wrap.b32 %r4, 0x89abcdef, 0x01234567, %r1;
    shf.r.clamp.b32 %r5, 0x89abcdef, 0x01234567, %r1;
    st.global.v4.b32 [%rd3], {%r2, %r3, %r4, %r5};
    ret;
}";

#[test]
fn funnel_shifts_follow_the_isa() {
    let mut out = DeviceBuffer::<u32>::poisoned(4 * 64);
    run(FUNNEL, cfg(64, 0), &[ptr(&mut out)]).unwrap();
    let out = out.to_vec();
    let (a, b) = (0x89ab_cdefu32, 0x0123_4567u32);
    // The ISA's pseudo-code, in 32-bit words.
    let left = |n: u32| {
        if n == 0 {
            b
        } else if n == 32 {
            a
        } else {
            b << n | a >> (32 - n)
        }
    };
    let right = |n: u32| {
        if n == 0 {
            a
        } else if n == 32 {
            b
        } else {
            b << (32 - n) | a >> n
        }
    };
    for t in 0..64u32 {
        let (wrap, clamp) = (t & 31, t.min(32));
        let want = [left(wrap), left(clamp), right(wrap), right(clamp)];
        assert_eq!(&out[4 * t as usize..4 * t as usize + 4], &want, "shift by {t}");
    }
}
