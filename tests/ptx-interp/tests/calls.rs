//! Device functions, local memory and module variables, on small hand-written PTX in the
//! forms LLVM's NVPTX backend emits: `.func` with `.param` arguments and results, calls from
//! `{ }` blocks with their own `.param` variables (direct, and through a `.callprototype`),
//! a `__local_depot` frame addressed through `%SPL` and, after `cvta.local`, generically by the
//! callee; `.global` and `.const` variables with initializers. Each semantic the PTX ISA gives
//! them is checked, and each misuse is reported.

use kernels_gpu::emu::DeviceBuffer;
use kernels_gpu::{Dim3, LaunchConfig};
use ptx_interp::{LaunchOptions, Module, ParamValue, launch};

const MODULE: &str = r#"
.version 8.0
.target sm_90a
.address_size 64

.func g
(
	.param .b64 g_param_0,
	.param .b32 g_param_1
)
;
.global .align 4 .b8 table[16] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0};
.global .align 8 .u64 counter = 0;
.const .align 4 .u32 scale[2] = {10, 100};

// g(p, v): *p = 2 v, through a generic pointer into the caller's local frame.
.func g(
	.param .b64 g_param_0,
	.param .b32 g_param_1
)
{
	.reg .b32 	%r<3>;
	.reg .b64 	%rd<2>;

	ld.param.b64 	%rd1, [g_param_0];
	ld.param.b32 	%r1, [g_param_1];
	shl.b32 	%r2, %r1, 1;
	st.b32 	[%rd1], %r2;
	ret;
}

// f(x) = table[x % 4] + 2 x + scale[0], x kept in the local frame across the call of g.
.func  (.param .b32 func_retval0) f(
	.param .b32 f_param_0
)
{
	.local .align 4 .b8 	__local_depot0[8];
	.reg .b64 	%SP;
	.reg .b64 	%SPL;
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<5>;

	mov.b64 	%SPL, __local_depot0;
	cvta.local.u64 	%SP, %SPL;
	ld.param.b32 	%r1, [f_param_0];
	st.local.b32 	[%SPL+4], %r1;
	add.u64 	%rd1, %SP, 0;
	{ // callseq 0, 0
	.param .b64 	param0;
	.param .b32 	param1;
	st.param.b64 	[param0], %rd1;
	st.param.b32 	[param1], %r1;
	call.uni g, (param0, param1);
	} // callseq 0
	ld.local.b32 	%r2, [%SPL];
	ld.local.b32 	%r3, [%SPL+4];
	and.b32 	%r4, %r3, 3;
	mul.wide.u32 	%rd2, %r4, 4;
	mov.b64 	%rd3, table;
	add.s64 	%rd4, %rd3, %rd2;
	ld.global.nc.b32 	%r5, [%rd4];
	ld.const.b32 	%r6, [scale];
	add.s32 	%r7, %r5, %r2;
	add.s32 	%r7, %r7, %r6;
	st.param.b32 	[func_retval0], %r7;
	ret;
}

// out[t] = f(t) on even threads, f(3 t) on odd ones: two call sites, divergent.
.visible .entry k(
	.param .u64 .ptr .align 1 k_param_0
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<6>;
	.reg .b64 	%rd<4>;

	ld.param.b64 	%rd1, [k_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r1, %tid.x;
	and.b32 	%r2, %r1, 1;
	setp.eq.b32 	%p1, %r2, 0;
	@%p1 bra 	$L__even;
	mul.lo.s32 	%r3, %r1, 3;
	{ // callseq 1, 0
	.param .b32 	param0;
	.param .b32 	retval0;
	st.param.b32 	[param0], %r3;
	call.uni (retval0), f, (param0);
	ld.param.b32 	%r4, [retval0];
	} // callseq 1
	bra.uni 	$L__store;
$L__even:
	{ // callseq 2, 0
	.param .b32 	param0;
	.param .b32 	retval0;
	st.param.b32 	[param0], %r1;
	call.uni (retval0), f, (param0);
	ld.param.b32 	%r4, [retval0];
	} // callseq 2
$L__store:
	mul.wide.u32 	%rd2, %r1, 4;
	add.s64 	%rd3, %rd1, %rd2;
	st.global.b32 	[%rd3], %r4;
	ret;
}

// out[t] = f(t), called through its address and a prototype.
.visible .entry ind(
	.param .u64 .ptr .align 1 ind_param_0
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<5>;

	ld.param.b64 	%rd1, [ind_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r1, %tid.x;
	mov.u64 	%rd4, f;
	{ // callseq 3, 0
	.param .b32 	param0;
	.param .b32 	retval0;
	st.param.b32 	[param0], %r1;
	prototype_3 : .callprototype (.param .b32 _) _ (.param .b32 _);
	call (retval0), %rd4, (param0), prototype_3;
	ld.param.b32 	%r2, [retval0];
	} // callseq 3
	mul.wide.u32 	%rd2, %r1, 4;
	add.s64 	%rd3, %rd1, %rd2;
	st.global.b32 	[%rd3], %r2;
	ret;
}

// g called through its address with f's prototype: a mismatch.
.visible .entry wrong_proto(
	.param .u64 .ptr .align 1 wrong_proto_param_0
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<5>;

	mov.u32 	%r1, %tid.x;
	mov.u64 	%rd4, g;
	{ // callseq 4, 0
	.param .b32 	param0;
	.param .b32 	retval0;
	st.param.b32 	[param0], %r1;
	prototype_4 : .callprototype (.param .b32 _) _ (.param .b32 _);
	call (retval0), %rd4, (param0), prototype_4;
	ld.param.b32 	%r2, [retval0];
	} // callseq 4
	ret;
}

// A call.uni whose guard differs between the lanes.
.visible .entry divergent_uni(
	.param .u64 .ptr .align 1 divergent_uni_param_0
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<3>;

	ld.param.b64 	%rd1, [divergent_uni_param_0];
	mov.u32 	%r1, %tid.x;
	setp.lt.u32 	%p1, %r1, 5;
	{ // callseq 5, 0
	.param .b64 	param0;
	.param .b32 	param1;
	st.param.b64 	[param0], %rd1;
	st.param.b32 	[param1], %r1;
	@%p1 call.uni g, (param0, param1);
	} // callseq 5
	ret;
}

// counter += 1; out[0] = counter (thread 0): module variables outlive a launch.
.visible .entry bump(
	.param .u64 .ptr .align 1 bump_param_0
)
{
	.reg .b64 	%rd<4>;

	ld.param.b64 	%rd1, [bump_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	ld.global.u64 	%rd2, [counter];
	add.s64 	%rd3, %rd2, 1;
	st.global.u64 	[counter], %rd3;
	st.global.u64 	[%rd1], %rd3;
	ret;
}

// Reads past the end of `table` through its address (table[4] of 4).
.visible .entry past_table(
	.param .u64 .ptr .align 1 past_table_param_0
)
{
	.reg .b32 	%r<2>;
	.reg .b64 	%rd<3>;

	mov.b64 	%rd1, table;
	cvta.global.u64 	%rd2, %rd1;
	ld.b32 	%r1, [%rd2+4096];
	ret;
}
"#;

fn module() -> &'static Module {
    static M: std::sync::OnceLock<Module> = std::sync::OnceLock::new();
    M.get_or_init(|| Module::parse(MODULE).unwrap_or_else(|e| panic!("{e}")))
}

fn cfg(threads: u32) -> LaunchConfig {
    LaunchConfig { grid: Dim3::x(2), block: Dim3::x(threads), shared_bytes: 0 }
}

fn run(kernel: &str, threads: u32, out: &mut DeviceBuffer<u32>) -> Result<(), String> {
    let k = module().kernel(kernel).unwrap_or_else(|| panic!("no {kernel}"));
    let p = ParamValue::Ptr(out.as_mut_ptr() as u64);
    launch(k, &cfg(threads), &[p], &LaunchOptions::default()).map(|_| ()).map_err(|e| e.to_string())
}

fn f(x: u32) -> u32 {
    [1, 2, 3, 4][x as usize % 4] + 2 * x + 10
}

#[test]
fn calls_pass_arguments_and_results_through_the_param_space_and_return_to_their_call_site() {
    // 48 threads: a whole warp and a partial one, lanes split between two call sites.
    let mut out = DeviceBuffer::<u32>::poisoned(48);
    run("k", 48, &mut out).unwrap();
    let want: Vec<u32> = (0..48).map(|t| if t % 2 == 0 { f(t) } else { f(3 * t) }).collect();
    assert_eq!(out.to_vec(), want);
    let k = module().kernel("k").unwrap();
    assert_eq!(k.funcs.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["f", "g"]);
    assert_eq!(k.local_bytes, 8, "f's frame, per thread");
}

#[test]
fn an_indirect_call_goes_through_its_prototype() {
    let mut out = DeviceBuffer::<u32>::poisoned(40);
    run("ind", 40, &mut out).unwrap();
    assert_eq!(out.to_vec(), (0..40).map(f).collect::<Vec<_>>());
    let e = run("wrong_proto", 32, &mut out).unwrap_err();
    assert!(e.contains("indirect call of g through a prototype that does not match it"), "{e}");
}

#[test]
fn a_call_uni_with_a_divergent_guard_faults() {
    let mut out = DeviceBuffer::<u32>::poisoned(32);
    let e = run("divergent_uni", 32, &mut out).unwrap_err();
    assert!(e.contains("call.uni with a guard that differs"), "{e}");
}

#[test]
fn module_variables_keep_their_values_between_launches_and_are_bounds_checked() {
    let m = Module::parse(MODULE).unwrap();
    let k = m.kernel("bump").unwrap();
    let mut out = DeviceBuffer::<u64>::poisoned(1);
    let one = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(1), shared_bytes: 0 };
    for want in 1..=3u64 {
        launch(k, &one, &[ParamValue::Ptr(out.as_mut_ptr() as u64)], &LaunchOptions::default()).unwrap();
        assert_eq!(out.to_vec(), [want]);
    }
    let mut out32 = DeviceBuffer::<u32>::poisoned(1);
    let e = run("past_table", 1, &mut out32).unwrap_err();
    assert!(e.contains("module's") && e.contains(".global segment"), "{e}");
}

#[test]
fn recursion_is_refused_at_parse_time() {
    let text = ".version 8.0\n.target sm_90a\n.address_size 64\n\
        .func r(.param .b32 r_param_0)\n{\n.reg .b32 %r<2>;\nld.param.b32 %r1, [r_param_0];\n\
        { // callseq 0, 0\n.param .b32 param0;\nst.param.b32 [param0], %r1;\ncall.uni r, (param0);\n}\nret;\n}\n\
        .visible .entry e()\n{\n.reg .b32 %r<2>;\nmov.u32 %r1, 0;\n\
        { // callseq 1, 0\n.param .b32 param0;\nst.param.b32 [param0], %r1;\ncall.uni r, (param0);\n}\nret;\n}\n";
    let e = Module::parse(text).unwrap_err().to_string();
    assert!(e.contains("recursive calls (r → r)"), "{e}");
}

#[test]
fn a_call_must_match_the_callee() {
    let text = ".version 8.0\n.target sm_90a\n.address_size 64\n\
        .func h(.param .b32 h_param_0)\n{\nret;\n}\n\
        .visible .entry e()\n{\n.reg .b64 %rd<2>;\nmov.u64 %rd1, 0;\n\
        { // callseq 0, 0\n.param .b64 param0;\nst.param.b64 [param0], %rd1;\ncall.uni h, (param0);\n}\nret;\n}\n";
    let e = Module::parse(text).unwrap_err().to_string();
    assert!(e.contains("argument 0 has 8 bytes, the parameter 4"), "{e}");
}

/// `mix(a, b, c) = a ^ (b << 1) ^ (c << 32)` on three 64-bit arguments and an 8-byte result,
/// called with a thread-dependent pattern in every byte: every byte of every argument must
/// reach the callee (libm's two-argument f64 functions, and fmod, take their arguments so).
#[test]
fn every_byte_of_every_argument_and_of_the_result_is_passed() {
    let text = ".version 8.0\n.target sm_90a\n.address_size 64\n\
        .func (.param .b64 mix_ret) mix(.param .b64 mix_a, .param .b64 mix_b, .param .b64 mix_c)\n{\n\
        .reg .b64 %rd<8>;\nld.param.b64 %rd1, [mix_a];\nld.param.b64 %rd2, [mix_b];\nld.param.b64 %rd3, [mix_c];\n\
        shl.b64 %rd4, %rd2, 1;\nshl.b64 %rd5, %rd3, 32;\nxor.b64 %rd6, %rd1, %rd4;\nxor.b64 %rd7, %rd6, %rd5;\n\
        st.param.b64 [mix_ret], %rd7;\nret;\n}\n\
        .visible .entry e(.param .u64 .ptr e_out)\n{\n.reg .b32 %r<2>;\n.reg .b64 %rd<10>;\n\
        ld.param.b64 %rd1, [e_out];\nmov.u32 %r1, %tid.x;\ncvt.u64.u32 %rd2, %r1;\n\
        mul.lo.s64 %rd3, %rd2, 0x0101010101010101;\nxor.b64 %rd4, %rd3, 0x1122334455667788;\n\
        not.b64 %rd5, %rd3;\n\
        { // callseq 0, 0\n.param .b64 param0;\n.param .b64 param1;\n.param .b64 param2;\n.param .b64 retval0;\n\
        st.param.b64 [param0], %rd3;\nst.param.b64 [param1], %rd4;\nst.param.b64 [param2], %rd5;\n\
        call.uni (retval0), mix, (param0, param1, param2);\nld.param.b64 %rd6, [retval0];\n}\n\
        mul.wide.u32 %rd7, %r1, 8;\nadd.s64 %rd8, %rd1, %rd7;\nst.global.b64 [%rd8], %rd6;\nret;\n}\n";
    let m = Module::parse(text).unwrap_or_else(|e| panic!("{e}"));
    let mut out = DeviceBuffer::<u64>::poisoned(64);
    let one = LaunchConfig { grid: Dim3::x(1), block: Dim3::x(64), shared_bytes: 0 };
    launch(&m.kernels[0], &one, &[ParamValue::Ptr(out.as_mut_ptr() as u64)], &LaunchOptions::default()).unwrap();
    let want: Vec<u64> = (0..64u64)
        .map(|t| {
            let a = t.wrapping_mul(0x0101_0101_0101_0101);
            let (b, c) = (a ^ 0x1122_3344_5566_7788, !a);
            a ^ (b << 1) ^ (c << 32)
        })
        .collect();
    assert_eq!(out.to_vec(), want);
}
