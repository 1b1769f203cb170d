//! The gradient-check rows: every unary op (from the kernels' list), every binary op (from
//! `Binary::ALL`; a name without a row here panics, failing the suite) with broadcast,
//! transposed and scalar operands, the reductions, softmax, matmul in NumPy's shapes, and the
//! view, join, indexing and selection ops.

use super::Domain::{Away, Given, Range};
use super::{Domain, GradRow, row};
use ferrite::autograd::{self, Var};
use ferrite::{Array, Axes, Result, s};

/// A unary op's sample domain: inside its domain, away from its kinks (0 for `abs`, `relu`,
/// `sign`, `recip`; the piecewise-constant ops' steps are met with probability ~1e-6).
fn unary_domain(name: &str) -> Domain {
    match name {
        "sqrt" | "rsqrt" | "log" | "log2" => Range(0.3, 3.0),
        "log1p" => Range(-0.5, 3.0),
        "recip" | "abs" | "relu" | "sign" => Away(0.1, 2.0),
        "tan" => Range(-1.2, 1.2),
        _ => Range(-3.0, 3.0),
    }
}

type BinaryFn = fn(&Var<f64>, &Var<f64>) -> Result<Var<f64>>;
type ScalarFn = fn(&Var<f64>, f64) -> Result<Var<f64>>;

/// A binary op by name: the method, its scalar forms, and the domains of its operands.
fn binary(name: &str) -> (BinaryFn, ScalarFn, ScalarFn, Domain, Domain) {
    let any = Range(-2.0, 2.0);
    match name {
        "add" => (Var::add, Var::add_scalar, Var::radd_scalar, any.clone(), any),
        "sub" => (Var::sub, Var::sub_scalar, Var::rsub_scalar, any.clone(), any),
        "mul" => (Var::mul, Var::mul_scalar, Var::rmul_scalar, any.clone(), any),
        "div" => (Var::div, Var::div_scalar, Var::rdiv_scalar, Away(0.5, 2.0), Away(0.5, 2.0)),
        "rem" => (Var::rem, Var::rem_scalar, Var::rrem_scalar, Away(0.7, 2.0), Away(0.7, 2.0)),
        "maximum" => (Var::maximum, Var::maximum_scalar, Var::rmaximum_scalar, any.clone(), any),
        "minimum" => (Var::minimum, Var::minimum_scalar, Var::rminimum_scalar, any.clone(), any),
        "pow" => (Var::pow, Var::pow_scalar, Var::rpow_scalar, Range(0.5, 2.0), Range(-2.0, 2.0)),
        "atan2" => (Var::atan2, Var::atan2_scalar, Var::ratan2_scalar, any, Away(0.3, 2.0)),
        other => panic!("binary op {other} has no gradient row: add it to tests/autograd/rows.rs"),
    }
}

/// An i64 index array on `like`'s device.
fn index(values: &[i64], shape: &[usize], like: &Var<f64>) -> Result<Array<i64>> {
    Array::from_vec_on(values.to_vec(), shape, &like.device())
}

pub fn rows() -> Vec<GradRow> {
    let mut r = Vec::new();
    macro_rules! unary_row {
        ($kind:ident, Clip, $name:ident, $doc:expr) => {
            r.push(row("clip", &[(&[2, 3], Range(-2.0, 2.0))], |v| v[0].clip(-1.0, 1.0)));
        };
        ($kind:ident, NanToNum, $name:ident, $doc:expr) => {
            r.push(row("nan_to_num", &[(&[2, 3], Range(-2.0, 2.0))], |v| v[0].nan_to_num(0.0, 1.0, -1.0)));
        };
        ($kind:ident, $op:ident, $name:ident, $doc:expr) => {
            r.push(row(stringify!($name), &[(&[2, 3], unary_domain(stringify!($name)))], |v| v[0].$name()));
        };
    }
    kernels_gpu::for_each_unary!(unary_row);
    // A strided (transposed) input.
    r.push(row("tanh_of_transposed", &[(&[3, 2], Range(-2.0, 2.0))], |v| v[0].t()?.tanh()));

    for op in kernels_gpu::ops::binary::Binary::ALL {
        let name = op.name();
        let (f, scalar, rscalar, da, db) = binary(name);
        let (a, b) = (da.clone(), db.clone());
        r.push(row(format!("{name}_broadcast_row"), &[(&[2, 3], a.clone()), (&[3], b.clone())], move |v| {
            f(&v[0], &v[1])
        }));
        r.push(row(format!("{name}_outer"), &[(&[2, 1], a.clone()), (&[1, 3], b.clone())], move |v| f(&v[0], &v[1])));
        r.push(row(format!("{name}_transposed"), &[(&[3, 2], a.clone()), (&[2, 3], b)], move |v| f(&v[0].t()?, &v[1])));
        r.push(row(format!("{name}_scalar"), &[(&[2, 3], a)], move |v| scalar(&v[0], 1.25)));
        r.push(row(format!("r{name}_scalar"), &[(&[2, 3], db)], move |v| rscalar(&v[0], 1.25)));
    }
    r.push(row("operators", &[(&[2, 3], Range(-2.0, 2.0)), (&[3], Away(0.5, 2.0))], |v| {
        let y = ((&v[0] * &v[1])? - &v[0])?;
        let z = (((y / &v[1])? + 2.0)? * 3.0)?;
        -&((z - 1.0)? / 2.0)?
    }));

    let x = || Range(-2.0, 2.0);
    r.push(row("sum_axis0", &[(&[3, 4], x())], |v| v[0].sum(0, false)));
    r.push(row("sum_last_keepdims", &[(&[3, 4], x())], |v| v[0].sum(-1, true)));
    r.push(row("sum_all", &[(&[2, 3, 2], x())], |v| v[0].sum(Axes::All, false)));
    r.push(row("mean_two_axes", &[(&[2, 3, 2], x())], |v| v[0].mean([0, 2], false)));
    r.push(row("max_axis1", &[(&[3, 4], x())], |v| v[0].max(1, false)));
    r.push(row("min_all_keepdims", &[(&[3, 4], x())], |v| v[0].min(Axes::All, true)));
    r.push(row("var_ddof1", &[(&[3, 4], x())], |v| v[0].var(1, 1, false)));
    r.push(row("std_axis0", &[(&[3, 4], x())], |v| v[0].std(0, 0, true)));
    r.push(row("std_ddof1_all", &[(&[3, 4], x())], |v| v[0].std(Axes::All, 1, false)));
    r.push(row("var_ddof0_axis0", &[(&[3, 4], x())], |v| v[0].var(0, 0, true)));
    r.push(row("norm_all", &[(&[3, 4], x())], |v| v[0].norm(Axes::All, false)));
    r.push(row("logsumexp_last", &[(&[3, 4], x())], |v| v[0].logsumexp(-1, false)));
    r.push(row("softmax_axis0", &[(&[3, 4], x())], |v| v[0].softmax(0)));
    r.push(row("softmax_last", &[(&[3, 4], x())], |v| v[0].softmax(-1)));
    r.push(row("log_softmax_axis1", &[(&[2, 3, 2], x())], |v| v[0].log_softmax(1)));

    r.push(row("matmul", &[(&[2, 3], x()), (&[3, 4], x())], |v| v[0].matmul(&v[1])));
    r.push(row("matmul_batched_broadcast", &[(&[2, 2, 3], x()), (&[3, 4], x())], |v| v[0].matmul(&v[1])));
    r.push(row("matmul_batch_both", &[(&[2, 1, 2, 3], x()), (&[3, 3, 2], x())], |v| v[0].matmul(&v[1])));
    r.push(row("matmul_vector_matrix", &[(&[3], x()), (&[2, 3, 4], x())], |v| v[0].matmul(&v[1])));
    r.push(row("matmul_matrix_vector", &[(&[2, 3], x()), (&[3], x())], |v| v[0].matmul(&v[1])));
    r.push(row("matmul_dot", &[(&[5], x()), (&[5], x())], |v| v[0].matmul(&v[1])));
    r.push(row("matmul_transposed", &[(&[3, 2], x()), (&[4, 3], x())], |v| v[0].t()?.matmul(&v[1].t()?)));

    r.push(row("reshape", &[(&[2, 3], x())], |v| v[0].reshape(&[3, 2])?.exp()));
    r.push(row("reshape_of_view", &[(&[2, 3], x())], |v| v[0].t()?.reshape(&[6])?.exp()));
    r.push(row("permute", &[(&[2, 3, 2], x())], |v| v[0].permute(&[2, 0, -2])?.exp()));
    r.push(row("transpose", &[(&[2, 3, 2], x())], |v| v[0].transpose()?.sin()));
    r.push(row("swapaxes", &[(&[2, 3, 2], x())], |v| v[0].swapaxes(0, -1)?.sin()));
    r.push(row("broadcast_to", &[(&[3], x())], |v| v[0].broadcast_to(&[2, 3])?.sin()));
    r.push(row("unsqueeze_squeeze", &[(&[2, 3], x())], |v| v[0].unsqueeze(1)?.sin()?.squeeze_axes(&[1])));
    r.push(row("slice_steps", &[(&[4, 5], x())], |v| v[0].slice(&s![1..;2, ..;-2])?.sin()));
    r.push(row("slice_index_newaxis", &[(&[3, 4], x())], |v| v[0].slice(&s![-1, ferrite::NewAxis, 1..3])?.sin()));
    r.push(row("narrow", &[(&[3, 4], x())], |v| v[0].narrow(1, -3, 2)?.sin()));
    r.push(row("select", &[(&[3, 4], x())], |v| v[0].select(0, 1)?.sin()));
    r.push(row("flip", &[(&[3, 4], x())], |v| v[0].flip(Axes::All)?.sin()));
    r.push(row("flip_one_axis", &[(&[2, 3, 2], x())], |v| v[0].flip(-2)?.sin()));
    r.push(row("flatten_of_view", &[(&[3, 2], x())], |v| v[0].t()?.flatten()?.sin()));
    r.push(row("pad", &[(&[2, 3], x())], |v| v[0].pad(&[(1, 0), (2, 1)], 0.5)?.sin()));
    r.push(row("index_select_repeats", &[(&[3, 4], x())], |v| {
        v[0].index_select(1, &index(&[3, 0, 3, 1], &[4], &v[0])?)?.sin()
    }));
    r.push(row("gather_repeats", &[(&[3, 4], x())], |v| {
        v[0].gather(0, &index(&[2, 0, 2, 1, 1, 0], &[2, 3], &v[0])?)?.sin()
    }));
    r.push(row("where", &[(&[2, 3], x()), (&[3], x())], |v| {
        let cond = Array::from_vec_on(vec![true, false, true, false, false, true], &[2, 3], &v[0].device())?;
        autograd::where_(&cond, &v[0], &v[1])?.sin()
    }));
    r.push(row("concatenate", &[(&[2, 3], x()), (&[2, 1], x())], |v| {
        autograd::concatenate(&[&v[0], &v[1], &v[0]], 1)?.sin()
    }));
    r.push(row("stack", &[(&[2, 3], x()), (&[2, 3], x())], |v| autograd::stack(&[&v[0], &v[1]], 1)?.sin()));
    r
}

/// The rows of the ops with more structure: products with zeros, scans, repeats, splits,
/// masks, sorting.
pub fn more_rows() -> Vec<GradRow> {
    let x = || Range(-2.0, 2.0);
    let mut r = Vec::new();
    r.push(row("prod_axis1", &[(&[3, 4], Away(0.5, 1.5))], |v| v[0].prod(1, false)));
    // One zero in a row: its gradient is the product of the rest, the others' 0; two: all 0.
    r.push(row("prod_with_zeros", &[(&[2, 3], Given(&[0.0, 1.5, -0.7, 0.0, 0.0, 1.2]))], |v| v[0].prod(-1, true)));
    r.push(row("cumsum_axis0", &[(&[3, 4], x())], |v| v[0].cumsum(Some(0))));
    r.push(row("cumsum_flat", &[(&[2, 3], x())], |v| v[0].cumsum(None)));
    r.push(row("squeeze", &[(&[2, 1, 3], x())], |v| v[0].squeeze()?.sin()));
    r.push(row("roll", &[(&[3, 4], x())], |v| v[0].roll(-5, Some(1))?.sin()));
    r.push(row("roll_flat", &[(&[3, 4], x())], |v| v[0].roll(7, None)?.sin()));
    r.push(row("repeat_axis", &[(&[2, 3], x())], |v| v[0].repeat(3, Some(0))?.sin()));
    r.push(row("repeat_flat", &[(&[2, 3], x())], |v| v[0].repeat(2, None)?.sin()));
    r.push(row("tile", &[(&[2, 3], x())], |v| v[0].tile(&[2, 1, 2])?.sin()));
    r.push(row("pad_one_pair", &[(&[2, 3], x())], |v| v[0].pad(&[(1, 2)], 0.0)?.sin()));
    r.push(row("split", &[(&[5, 2], x())], |v| {
        let p = v[0].split(&[2, 3], 0)?;
        p[1].sin()?.sum(0, false)?.mul(&p[0].exp()?)
    }));
    r.push(row("chunk", &[(&[5, 2], x())], |v| {
        let p = v[0].chunk(2, 0)?;
        p[0].sin()?.sum(0, false)?.add(&p[1].square()?.sum(0, false)?)
    }));
    r.push(row("masked_fill", &[(&[2, 3], x())], |v| {
        let mask = Array::from_vec_on(vec![true, false, false], &[3], &v[0].device())?;
        v[0].masked_fill(&mask, 7.0)?.sin()
    }));
    r.push(row("sort", &[(&[3, 5], x())], |v| v[0].sort(Some(1))?.mul(&v[0])));
    r.push(row("sort_flat", &[(&[2, 3], x())], |v| v[0].sort(None)?.sin()));
    r.push(row("topk", &[(&[3, 5], x())], |v| v[0].topk(2, -1)?.0.exp()));
    r
}

/// The losses, against constant targets (`v[1]`'s gradient is checked too: the targets of
/// a regression may be outputs of another model).
pub fn loss_rows() -> Vec<GradRow> {
    use ferrite::autograd::loss;
    let x = || Range(-2.0, 2.0);
    let p = || Range(0.1, 0.9);
    vec![
        row("loss_mse", &[(&[4, 3], x()), (&[4, 3], x())], |v| loss::mse(&v[0], &v[1])),
        row("loss_mae", &[(&[4, 3], x()), (&[4, 3], x())], |v| loss::mae(&v[0], &v[1])),
        row("loss_huber", &[(&[4, 3], x()), (&[4, 3], x())], |v| loss::huber(&v[0], &v[1], 1.0)),
        row("loss_binary_cross_entropy", &[(&[4, 3], p()), (&[4, 3], p())], |v| {
            loss::binary_cross_entropy(&v[0], &v[1])
        }),
        row("loss_bce_with_logits", &[(&[4, 3], x()), (&[4, 3], p())], |v| {
            loss::binary_cross_entropy_with_logits(&v[0], &v[1])
        }),
        row("loss_cross_entropy_smoothed", &[(&[4, 3], x()), (&[4, 3], p())], |v| {
            loss::cross_entropy(&v[0], &v[1], 0.1)
        }),
        row("loss_sparse_cross_entropy", &[(&[4, 3], x())], |v| {
            let labels = Array::from_vec_on(vec![2i64, 0, 1, 2], &[4], &v[0].device())?;
            loss::sparse_cross_entropy(&v[0], &labels, 0.0)
        }),
    ]
}
