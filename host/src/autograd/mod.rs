//! Reverse-mode automatic differentiation: PyTorch's autograd on ferrite arrays.
//!
//! A [`Var`] is an [`Array`] that may track gradients. A *parameter* ([`Var::parameter`],
//! PyTorch's `requires_grad=True`) is a leaf of the graph; a *constant* ([`Var::constant`])
//! tracks nothing. Every operation on `Var`s computes its value with the array op and, when an
//! input tracks gradients and no [`no_grad`] scope is open, records a node holding its inputs
//! and its backward rule (the vector–Jacobian product), written beside the op:
//!
//! - `unary.rs`: every op of the kernels' unary list (the rule's `match` has no wildcard, so a
//!   new unary op does not compile until its rule is written), `clip`, `nan_to_num`;
//! - `binary.rs`: `add` … `atan2` with broadcasting (the gradient summed back to each
//!   operand's shape), the scalar forms and the operators `+ - * /` and unary `-`;
//! - `reduce.rs`: `sum`, `mean`, `max`, `min`, `var`, `std`, `norm`, `logsumexp`, `prod`,
//!   `cumsum`, `softmax`, `log_softmax`, `matmul`;
//! - `shape.rs`: views (`reshape`, `transpose`, `permute`, `broadcast_to`, slicing, ...),
//!   `unfold`, joining, `index_select`, `gather`, `where_`, `cast`, `sort`, `topk`, `masked_fill`;
//! - `conv.rs`: `conv2d`, `conv1d`, `max_pool2d`, `avg_pool2d`, made of `pad`, `unfold`
//!   (windows as a view), one copy into the im2col matrix and a matmul;
//! - `loss.rs`: the losses (MSE, MAE, Huber, binary and categorical cross-entropy), made of
//!   the ops above;
//! - `optim.rs`: SGD, Adam, AdamW, RMSprop over a parameter list, gradient clipping, learning
//!   rate schedules.
//!
//! [`Var::backward`] walks the graph from a scalar in reverse topological order and adds each
//! parameter's gradient into its [`grad`](Var::grad), as PyTorch's `.grad` (accumulated over
//! calls until [`zero_grad`](Var::zero_grad)). Only ops with a rule exist on `Var`, so the
//! graph cannot be cut silently: leaving it is explicit ([`Var::detach`], [`Var::value`]).
//! Gradients of intermediate results are freed as soon as they are passed on. A node keeps
//! its op's inputs and output (shared storage, no copies) while the result lives, whether or
//! not its rule reads them all (`add` reads none): a memory cost to trim per op later.
//! Second-order gradients are not supported: rules run on plain arrays.

mod binary;
pub mod conv;
pub mod loss;
pub mod optim;
mod reduce;
mod shape;
mod unary;

pub use shape::{concatenate, stack, where_};

use crate::array::Array;
use crate::array::Axes;
use crate::device::Device;
use crate::dtype::{DType, Float};
use crate::error::{Error, Result};
use std::any::Any;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A gradient as the graph passes it on: an `Array<T>` of its node's dtype.
type Grad = Box<dyn Any + Send + Sync>;

/// A node's backward rule: the gradient of its output to the gradients of its inputs, for the
/// inputs marked in `needs` (`None` elsewhere).
type Rule = Box<dyn Fn(&Grad, &[bool]) -> Result<Vec<Option<Grad>>> + Send + Sync>;

/// One recorded result (or a parameter: a leaf, with no rule).
struct Node {
    op: &'static str,
    /// The op's inputs, `None` where an input tracks no gradient.
    inputs: Vec<Option<Arc<Node>>>,
    /// The backward rule (`None` for a leaf). `backward` takes it out once it has run, which
    /// frees the arrays it saved, as PyTorch frees a graph unless `retain_graph=True`: the
    /// parameters are then no longer shared with the graph, and an optimizer's in-place
    /// update need not copy them.
    rule: Mutex<Option<Rule>>,
    /// A parameter's accumulated gradient.
    grad: Mutex<Option<Grad>>,
    /// `a + b` of two gradients of this node's dtype.
    add: fn(&Grad, &Grad) -> Result<Grad>,
    /// A gradient of this node's dtype as a dense array (a parameter's `.grad` is never a
    /// broadcast view).
    dense: fn(&Grad) -> Result<Grad>,
}

impl Drop for Node {
    /// Drops the chain of inputs without recursion: a graph a step long in nodes (a running
    /// loss added to ten thousand times, say) would otherwise overflow the stack.
    fn drop(&mut self) {
        let mut stack: Vec<Arc<Node>> = self.inputs.drain(..).flatten().collect();
        while let Some(node) = stack.pop() {
            if let Ok(mut node) = Arc::try_unwrap(node) {
                stack.extend(node.inputs.drain(..).flatten());
            }
        }
    }
}

fn add_grads<T: Float>(a: &Grad, b: &Grad) -> Result<Grad> {
    Ok(Box::new(typed::<T>(a).add(typed::<T>(b))?))
}

impl Node {
    /// Whether this is a parameter (no rule, a gradient of its own): the only node with no
    /// inputs, since `record` makes a constant of an op on nothing tracked.
    fn is_leaf(&self) -> bool {
        self.inputs.is_empty()
    }
}

fn dense_grad<T: Float>(g: &Grad) -> Result<Grad> {
    Ok(Box::new(typed::<T>(g).contiguous()?))
}

fn typed<T: Float>(g: &Grad) -> &Array<T> {
    g.downcast_ref::<Array<T>>().expect("a node's gradient has the node's dtype")
}

/// An array in the autograd graph (PyTorch's `Tensor` with `requires_grad`, candle's `Var`).
///
/// ```
/// use ferrite::{Array, autograd::Var};
/// let w = Var::parameter(Array::from_vec(vec![1.0f64, 2.0, 3.0], &[3])?);
/// let x = Var::constant(Array::from_vec(vec![4.0f64, 5.0, 6.0], &[3])?);
/// let loss = (&w * &x)?.square()?.sum(ferrite::Axes::All, false)?; // Σ (w·x)²
/// loss.backward()?;
/// // d/dw Σ (w·x)² = 2 (w·x) x
/// assert_eq!(w.grad().unwrap().to_vec()?, [32.0, 100.0, 216.0]);
/// # Ok::<(), ferrite::Error>(())
/// ```
pub struct Var<T: Float> {
    value: Array<T>,
    node: Option<Arc<Node>>,
}

impl<T: Float> Clone for Var<T> {
    /// Another handle on the same value and graph node (a parameter's clone shares its grad).
    fn clone(&self) -> Self {
        Var { value: self.value.clone(), node: self.node.clone() }
    }
}

impl<T: Float> std::fmt::Debug for Var<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = self.node.as_ref().map(|n| n.op);
        f.debug_struct("Var").field("value", &self.value).field("grad_fn", &op).finish()
    }
}

impl<T: Float> From<Array<T>> for Var<T> {
    /// A constant.
    fn from(value: Array<T>) -> Self {
        Var::constant(value)
    }
}

impl<T: Float> Var<T> {
    /// A leaf whose gradient is wanted (a weight; PyTorch's `requires_grad_()`).
    pub fn parameter(value: Array<T>) -> Var<T> {
        let node = Node {
            op: "parameter",
            inputs: Vec::new(),
            rule: Mutex::new(None),
            grad: Mutex::new(None),
            add: add_grads::<T>,
            dense: dense_grad::<T>,
        };
        Var { value, node: Some(Arc::new(node)) }
    }

    /// A value that tracks no gradient (data, targets).
    pub fn constant(value: Array<T>) -> Var<T> {
        Var { value, node: None }
    }

    /// The value.
    pub fn value(&self) -> &Array<T> {
        &self.value
    }

    /// The value, out of the graph (PyTorch's `.detach()`): a constant sharing the storage.
    pub fn detach(&self) -> Var<T> {
        Var::constant(self.value.clone())
    }

    /// Whether gradients flow to this value (a parameter, or a result of one).
    pub fn requires_grad(&self) -> bool {
        self.node.is_some()
    }

    /// Whether this is a parameter (a leaf that accumulates its gradient).
    pub fn is_parameter(&self) -> bool {
        self.node.as_ref().is_some_and(|n| n.is_leaf())
    }

    /// The name of the op that made this value (`None` for constants; `"parameter"`).
    pub fn grad_fn(&self) -> Option<&'static str> {
        self.node.as_ref().map(|n| n.op)
    }

    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    pub fn ndim(&self) -> usize {
        self.value.ndim()
    }

    pub fn len(&self) -> usize {
        self.value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    pub fn dtype(&self) -> DType {
        T::DTYPE
    }

    pub fn device(&self) -> Device {
        self.value.device()
    }

    /// The elements, copied to the host.
    pub fn to_vec(&self) -> Result<Vec<T>> {
        self.value.to_vec()
    }

    /// A parameter's accumulated gradient (`None` before any `backward` reached it, after
    /// [`zero_grad`](Var::zero_grad), and for anything not a parameter, as PyTorch's `.grad`
    /// of a non-leaf).
    pub fn grad(&self) -> Option<Array<T>> {
        let node = self.node.as_ref().filter(|n| n.is_leaf())?;
        let g = node.grad.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref().map(|g| typed::<T>(g).clone())
    }

    /// Sets a parameter's gradient (gradient clipping, say; `None` forgets it). An error for
    /// anything not a parameter, or a gradient of another shape or device.
    pub fn set_grad(&self, grad: Option<Array<T>>) -> Result<()> {
        let Some(node) = self.node.as_ref().filter(|n| n.is_leaf()) else {
            return Err(Error::Autograd { op: "set_grad", reason: "only a parameter holds a gradient".into() });
        };
        if let Some(g) = &grad {
            self.fits("set_grad", g, "a gradient has its parameter's shape")?;
        }
        *node.grad.lock().unwrap_or_else(|e| e.into_inner()) = grad.map(|g| Box::new(g) as Grad);
        Ok(())
    }

    /// Forgets the accumulated gradient (PyTorch's `zero_grad(set_to_none=True)`).
    pub fn zero_grad(&self) {
        if let Some(node) = &self.node {
            *node.grad.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    /// Replaces a parameter's value (an optimizer's step), keeping its gradient and its place in
    /// later graphs. The graph already recorded keeps the values it saved (storage is
    /// copy-on-write). The new value must have the same shape and device. Only this handle
    /// changes: a clone made before shares the gradient but keeps the old value, so update the
    /// handles the model uses. Anything not a parameter is an error (a result's value is
    /// what its rule was recorded for).
    pub fn assign(&mut self, value: Array<T>) -> Result<()> {
        if !self.is_parameter() {
            return Err(Error::Autograd {
                op: "assign",
                reason: "only a parameter's value can be replaced (detach a result to get a new value)".into(),
            });
        }
        self.fits("assign", &value, "a parameter keeps its shape")?;
        self.value = value;
        Ok(())
    }

    /// `a` has this value's shape (else `ShapeMismatch` for `op`, with `reason`) and device.
    fn fits(&self, op: &'static str, a: &Array<T>, reason: &str) -> Result<()> {
        if a.shape() != self.shape() {
            return Err(Error::shape_mismatch(op, self.shape(), a.shape(), reason));
        }
        crate::array::same_device(op, &self.value, a)
    }

    /// Backpropagates from this scalar (one element): every parameter it depends on gets
    /// `∂self/∂parameter` added to its gradient.
    pub fn backward(&self) -> Result<()> {
        self.propagate(&self.scalar_seed()?, false)
    }

    /// [`backward`](Var::backward) keeping the graph, so that it can be backpropagated again
    /// (PyTorch's `backward(retain_graph=True)`). Plain `backward` frees each op's saved arrays
    /// as it passes them, and a second pass through them is an error.
    pub fn backward_retain_graph(&self) -> Result<()> {
        self.propagate(&self.scalar_seed()?, true)
    }

    /// `∂self/∂self` of a single element: ones.
    fn scalar_seed(&self) -> Result<Array<T>> {
        if self.value.len() != 1 {
            return Err(Error::BadShape {
                op: "backward",
                shape: self.shape().to_vec(),
                reason: "backward() needs a single element; give the output's gradient with backward_with".into(),
            });
        }
        self.value.ones_like()
    }

    /// Backpropagates `grad`, the gradient of some scalar with respect to this value (its
    /// shape), as PyTorch's `y.backward(grad)`.
    pub fn backward_with(&self, grad: &Array<T>) -> Result<()> {
        self.propagate(grad, false)
    }

    fn propagate(&self, grad: &Array<T>, retain: bool) -> Result<()> {
        self.fits("backward", grad, "the gradient must have the output's shape")?;
        let Some(root) = &self.node else {
            return Err(Error::Autograd {
                op: "backward",
                reason: "this value tracks no gradient: it depends on no parameter (or was made under no_grad)".into(),
            });
        };
        let mut grads: HashMap<*const Node, Grad> = HashMap::new();
        grads.insert(Arc::as_ptr(root), Box::new(grad.clone()));
        // The parameters' gradients are added once the whole pass has run: a pass refused
        // part-way (a freed op, a rule's error) changes no parameter's gradient.
        let mut leaves: Vec<(Arc<Node>, Grad)> = Vec::new();
        for node in reverse_topological(root) {
            let Some(g) = grads.remove(&Arc::as_ptr(&node)) else { continue };
            if node.is_leaf() {
                leaves.push((node, g));
                continue;
            }
            let needs: Vec<bool> = node.inputs.iter().map(Option::is_some).collect();
            let input_grads = {
                let mut slot = node.rule.lock().unwrap_or_else(|e| e.into_inner());
                let Some(rule) = slot.as_ref() else {
                    let reason = format!(
                        "the graph through `{}` was freed by an earlier backward: build it again, or call \
                         backward_retain_graph the first time",
                        node.op
                    );
                    return Err(Error::Autograd { op: "backward", reason });
                };
                let grads = rule(&g, &needs)?;
                if !retain {
                    *slot = None;
                }
                grads
            };
            debug_assert_eq!(input_grads.len(), node.inputs.len(), "{}: one gradient per input", node.op);
            for (input, gi) in node.inputs.iter().zip(input_grads) {
                let (Some(input), Some(gi)) = (input, gi) else { continue };
                let key = Arc::as_ptr(input);
                let merged = match grads.remove(&key) {
                    Some(old) => (input.add)(&old, &gi)?,
                    None => gi,
                };
                grads.insert(key, merged);
            }
        }
        let mut sums = Vec::with_capacity(leaves.len());
        for (node, g) in &leaves {
            let acc = node.grad.lock().unwrap_or_else(|e| e.into_inner());
            sums.push(match acc.as_ref() {
                Some(old) => (node.add)(old, g)?,
                None => (node.dense)(g)?,
            });
        }
        for ((node, _), sum) in leaves.iter().zip(sums) {
            *node.grad.lock().unwrap_or_else(|e| e.into_inner()) = Some(sum);
        }
        Ok(())
    }

    /// A result of `op` on `inputs` (their nodes; `None` for constants), with `rule` mapping its
    /// gradient to the inputs' (`needs[i]`: whether input `i` wants one). Records nothing under
    /// [`no_grad`] or when no input tracks gradients.
    fn record(
        op: &'static str,
        value: Array<T>,
        inputs: Vec<Option<Arc<Node>>>,
        rule: impl Fn(&Array<T>, &[bool]) -> Result<Vec<Option<Grad>>> + Send + Sync + 'static,
    ) -> Var<T> {
        if !is_grad_enabled() || inputs.iter().all(Option::is_none) {
            return Var::constant(value);
        }
        let rule: Rule = Box::new(move |g, needs| rule(typed::<T>(g), needs));
        let node = Node {
            op,
            inputs,
            rule: Mutex::new(Some(rule)),
            grad: Mutex::new(None),
            add: add_grads::<T>,
            dense: dense_grad::<T>,
        };
        Var { value, node: Some(Arc::new(node)) }
    }

    /// [`record`](Var::record) for an op whose inputs all have this dtype.
    fn record_same(
        op: &'static str,
        value: Array<T>,
        inputs: &[&Var<T>],
        rule: impl Fn(&Array<T>, &[bool]) -> Result<Vec<Option<Array<T>>>> + Send + Sync + 'static,
    ) -> Var<T> {
        let nodes = inputs.iter().map(|v| v.node.clone()).collect();
        Var::record(op, value, nodes, move |g, needs| {
            Ok(rule(g, needs)?.into_iter().map(|g| g.map(|g| Box::new(g) as Grad)).collect())
        })
    }

    /// [`record_same`](Var::record_same) for a one-input op.
    fn record_unary(
        op: &'static str,
        value: Array<T>,
        input: &Var<T>,
        rule: impl Fn(&Array<T>) -> Result<Array<T>> + Send + Sync + 'static,
    ) -> Var<T> {
        Var::record_same(op, value, &[input], move |g, _| Ok(vec![Some(rule(g)?)]))
    }
}

/// The nodes reachable from `root`, each before every node it depends on.
fn reverse_topological(root: &Arc<Node>) -> Vec<Arc<Node>> {
    let mut seen = std::collections::HashSet::new();
    let mut post = Vec::new();
    // (node, whether its inputs are already pushed)
    let mut stack = vec![(root.clone(), false)];
    while let Some((node, expanded)) = stack.pop() {
        if expanded {
            post.push(node);
            continue;
        }
        if !seen.insert(Arc::as_ptr(&node)) {
            continue;
        }
        stack.push((node.clone(), true));
        for input in node.inputs.iter().flatten() {
            if !seen.contains(&Arc::as_ptr(input)) {
                stack.push((input.clone(), false));
            }
        }
    }
    post.reverse();
    post
}

thread_local! {
    static PAUSED: Cell<usize> = const { Cell::new(0) };
}

/// Whether ops record the graph on this thread (false inside [`no_grad`]).
pub fn is_grad_enabled() -> bool {
    PAUSED.with(|p| p.get() == 0)
}

/// Runs `f` without recording (PyTorch's `with torch.no_grad():`): evaluation, weight updates.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = NoGradGuard::new();
    f()
}

/// Recording is off on this thread while this guard lives (nested guards count).
pub struct NoGradGuard(std::marker::PhantomData<*const ()>);

impl NoGradGuard {
    #[allow(clippy::new_without_default)]
    pub fn new() -> NoGradGuard {
        PAUSED.with(|p| p.set(p.get() + 1));
        NoGradGuard(std::marker::PhantomData)
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        PAUSED.with(|p| p.set(p.get() - 1));
    }
}

/// `g` summed down to `shape` (the shape it was broadcast from, by NumPy's rules): the
/// gradient of a broadcast operand.
fn sum_to<T: Float>(g: &Array<T>, shape: &[usize]) -> Result<Array<T>> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    let lead = g.ndim() - shape.len();
    let axes: Vec<isize> = (0..g.ndim())
        .filter(|&a| a < lead || (shape[a - lead] == 1 && g.shape()[a] != 1))
        .map(|a| a as isize)
        .collect();
    g.sum_same(Axes::Some(axes), true)?.reshape(shape)
}

/// The axes `axes` names in an array of `ndim` dimensions, each in `0..ndim` (the op has
/// already checked them).
fn normalized(axes: &Axes, ndim: usize) -> Vec<usize> {
    match axes {
        Axes::All => (0..ndim).collect(),
        Axes::Some(a) => a.iter().map(|&a| if a < 0 { (a + ndim as isize) as usize } else { a as usize }).collect(),
    }
}

/// A reduction's output gradient `g` spread back over the input's `shape` (a broadcast view):
/// `g` given with or without the reduced `axes` kept.
fn spread<T: Float>(g: &Array<T>, shape: &[usize], axes: &[usize]) -> Result<Array<T>> {
    let kept: Vec<usize> = (0..shape.len()).map(|a| if axes.contains(&a) { 1 } else { shape[a] }).collect();
    g.reshape(&kept)?.broadcast_to(shape)
}

/// A 0-d array of `v` on `device`.
fn scalar_on<T: Float>(v: f64, device: &Device) -> Result<Array<T>> {
    Array::full_on(&[], T::from_f64(v), device)
}

/// `g` where `mask`, zero elsewhere (not `g · mask`: an infinite `g` stays out where masked).
fn pass<T: Float>(mask: &Array<bool>, g: &Array<T>) -> Result<Array<T>> {
    crate::array::functions::where_(mask, g, &scalar_on(0.0, &g.device())?)
}
