//! Autograd: every differentiable op's backward rule against central finite differences in
//! f64 (`gradcheck`, as PyTorch's), on every device of the harness (the CPU, the emulated CUDA
//! device at each PTX generation, the sm_90a PTX on the interpreter, a GPU when present); then
//! the graph's own behaviour (accumulation, `no_grad`, `detach`, shared inputs, errors).
//!
//! The rows are in `tests/autograd/rows.rs`: one per op (the unary and binary ones made from
//! the kernels' op lists, so a new op has a row, and a rule, before it compiles), each with
//! input shapes (broadcast and transposed operands among them) and a sample domain away from
//! the op's kinks. Each row draws fresh inputs (`FERRITE_TEST_SEED` replays a run), takes
//! `L = Σ w · f(x)` with random weights `w`, and compares `∂L/∂x` from `backward` with
//! `(L(x + h) - L(x - h)) / 2h` for every element of every input.
//!
//! `tests/autograd/layers.rs` checks the layers (`ferrite::layers`): forwards against direct
//! f64 loops, their gradient rows, modes and the state dict.
//!
//! `custom_loop_example` runs `examples/custom_loop.rs` (a custom model and loss trained with
//! autograd in a hand-written loop) on every device: 30 epochs on the CPU, 3 on the emulated
//! and interpreted devices (each op a kernel launch there).

mod common;

#[path = "../examples/custom_loop.rs"]
mod custom_loop;
#[path = "autograd/graph.rs"]
mod graph;
#[path = "autograd/layers.rs"]
mod layers;
#[path = "autograd/optim.rs"]
mod optim;
#[path = "autograd/rows.rs"]
mod rows;

use common::devices::{CaseResult, DynCase};
use common::uniform;
use ferrite::autograd::{Var, no_grad};
use ferrite::{Array, Axes, Device, Result};
use std::sync::Arc;

/// Where an input's elements are drawn from.
#[derive(Clone, Debug)]
pub enum Domain {
    /// Uniform in `[lo, hi)`.
    Range(f64, f64),
    /// `|x|` uniform in `[lo, hi)`, either sign (kinks at 0 avoided).
    Away(f64, f64),
    /// These values (kinks and zeros on purpose).
    Given(&'static [f64]),
}

/// The function under test, of the inputs as `Var`s.
pub type Build = Arc<dyn Fn(&[Var<f64>]) -> Result<Var<f64>> + Send + Sync>;

/// One gradient check: the op, its inputs' shapes and domains, and `f`.
#[derive(Clone)]
pub struct GradRow {
    pub name: String,
    pub inputs: Vec<(Vec<usize>, Domain)>,
    pub f: Build,
}

/// A row of `f` over `inputs`.
pub fn row(
    name: impl Into<String>,
    inputs: &[(&[usize], Domain)],
    f: impl Fn(&[Var<f64>]) -> Result<Var<f64>> + Send + Sync + 'static,
) -> GradRow {
    GradRow { name: name.into(), inputs: inputs.iter().map(|(s, d)| (s.to_vec(), d.clone())).collect(), f: Arc::new(f) }
}

fn draw(rng: &mut rand_chacha::ChaCha8Rng, n: usize, domain: &Domain) -> Vec<f64> {
    match *domain {
        Domain::Range(lo, hi) => uniform(rng, n, lo, hi),
        Domain::Away(lo, hi) => {
            let signs = uniform(rng, n, -1.0, 1.0);
            uniform(rng, n, lo, hi).into_iter().zip(signs).map(|(m, s)| if s < 0.0 { -m } else { m }).collect()
        }
        Domain::Given(v) => v.iter().copied().cycle().take(n).collect(),
    }
}

/// `Σ w · f(inputs)` with nothing recorded, in f64 on the host.
fn loss(row: &GradRow, d: &Device, values: &[Vec<f64>], w: &[f64]) -> Result<f64> {
    no_grad(|| {
        let vars = constants(row, d, values)?;
        let out = (row.f)(&vars)?.to_vec()?;
        Ok(out.iter().zip(w).map(|(y, w)| y * w).sum())
    })
}

fn constants(row: &GradRow, d: &Device, values: &[Vec<f64>]) -> Result<Vec<Var<f64>>> {
    row.inputs.iter().zip(values).map(|((s, _), v)| Ok(Var::constant(Array::from_vec_on(v.clone(), s, d)?))).collect()
}

/// The gradient check of `row` on `d`.
pub fn gradcheck(row: &GradRow, d: &Device) -> CaseResult {
    let mut rng = common::rng(&format!("grad {}", row.name));
    let values: Vec<Vec<f64>> = row.inputs.iter().map(|(s, dom)| draw(&mut rng, s.iter().product(), dom)).collect();
    let params: Vec<Var<f64>> = row
        .inputs
        .iter()
        .zip(&values)
        .map(|((s, _), v)| Ok(Var::parameter(Array::from_vec_on(v.clone(), s, d)?)))
        .collect::<Result<_>>()?;
    let out = (row.f)(&params)?;
    let w = uniform(&mut rng, out.len(), -1.0, 1.0);
    let wv = Var::constant(Array::from_vec_on(w.clone(), out.shape(), d)?);
    out.mul(&wv)?.sum(Axes::All, false)?.backward()?;
    for (i, p) in params.iter().enumerate() {
        let got = p.grad().ok_or_else(|| format!("{} on {d}: input {i} got no gradient", row.name))?;
        ensure!(got.shape() == p.shape(), "{} on {d}: input {i}'s gradient has shape {:?}", row.name, got.shape());
        let got = got.to_vec()?;
        for j in 0..values[i].len() {
            let x = values[i][j];
            let h = 1e-6 * x.abs().max(1.0);
            let mut moved = values.clone();
            moved[i][j] = x + h;
            let up = loss(row, d, &moved, &w)?;
            moved[i][j] = x - h;
            let down = loss(row, d, &moved, &w)?;
            let want = (up - down) / (2.0 * h);
            // The difference quotient's own error: O(h²) truncation (below 1e-8 on these
            // domains), and L's rounding (a few ulps of each term) over h. A rule off by 1e-6
            // relative fails.
            let tol = 1e-7 * (1.0 + want.abs()) + 1e-12 * (up.abs() + down.abs()) / h;
            ensure!(
                (got[j] - want).abs() <= tol,
                "{} on {d}: ∂L/∂x{i}[{j}] = {} by backward, {want} by finite differences (x = {x})",
                row.name,
                got[j]
            );
        }
    }
    Ok(())
}

fn main() {
    let mut cases: Vec<(String, DynCase)> = rows::rows()
        .into_iter()
        .chain(rows::more_rows())
        .chain(rows::loss_rows())
        .chain(layers::layer_rows())
        .map(|r| {
            let name = format!("grad_{}", r.name);
            (name, Arc::new(move |d: &Device| gradcheck(&r, d)) as DynCase)
        })
        .collect();
    for (name, case) in graph::CASES.iter().chain(optim::CASES).chain(layers::CASES) {
        cases.push((name.to_string(), Arc::new(*case) as DynCase));
    }
    common::devices::run_dyn(cases)
}
