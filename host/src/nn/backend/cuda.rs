//! The training operations as kernel launches (a GPU, or the emulator behind the same code).
//! Nothing here synchronises except `read` and `sum2`, which the host calls once per chunk
//! of 16 steps (the NaN guard) and per progress update; a training step is `3 × layers + 1`
//! launches.

use super::{Dims, Head, Input, NnBackend, Scores, Targets, Update};
use crate::alloc::{try_filled, try_to_vec};
use crate::backend::cuda::{CudaDevice, DeviceBuffer};
use crate::dtype::Element;
use crate::error::Result;
use crate::nn::NnFloat;
use kernels_gpu::nn::{dense, loss, optim};
use kernels_gpu::{Kernel, elementwise, softmax};
use std::marker::PhantomData;
use std::ops::Range;
use std::ptr;

type Rows = *const u32;

// The kernels' argument lists, as `kernels-gpu` declares them (the compiler checks each
// constant below against its descriptor).
type Forward<T> = Kernel<(*const T, Rows, u32, *const T, *mut T, u32, u32, u32, u32)>;
type BackwardInput<T> = Kernel<(*const T, *const T, *const T, *mut T, u32, u32, u32, u32)>;
type BackwardParams<T> = Kernel<(*const T, Rows, u32, *const T, *mut T, u32, u32, u32)>;
type XentSparse<T> = Kernel<(*const T, Rows, Rows, u32, *mut T, *mut T, *mut T, u32, u32, T)>;
type XentOneHot<T> = Kernel<(*const T, *const T, Rows, u32, *mut T, *mut T, *mut T, u32, u32, T)>;
type Mse<T> = Kernel<(*const T, *const T, Rows, u32, *mut T, *mut T, *mut T, u32, u32, u32, T)>;
type Sgd<T> = Kernel<(*mut T, *const T, u64, T)>;
type Momentum<T> = Kernel<(*mut T, *const T, *mut T, u64, T, T, u32)>;
type Adam<T> = Kernel<(*mut T, *const T, *mut T, *mut T, u64, T, T, T, T)>;
type Sum2<T> = Kernel<(*const T, *const T, u32, *mut T)>;
type Softmax<T> = Kernel<(*const T, *mut T, u32, u32)>;

/// The network kernels of one element type.
pub trait NnKernels: Sized + kernels_gpu::launch::KernelParam {
    const FORWARD: Forward<Self>;
    const BACKWARD_INPUT: BackwardInput<Self>;
    const BACKWARD_PARAMS: BackwardParams<Self>;
    const XENT_SPARSE: XentSparse<Self>;
    const XENT_ONEHOT: XentOneHot<Self>;
    const MSE: Mse<Self>;
    const SGD: Sgd<Self>;
    const MOMENTUM: Momentum<Self>;
    const ADAM: Adam<Self>;
    const SUM2: Sum2<Self>;
    const SOFTMAX: Softmax<Self>;
}

macro_rules! nn_kernels {
    ($t:ty: $fwd:ident, $bin:ident, $bpar:ident, $xs:ident, $xo:ident, $mse:ident, $sgd:ident, $mom:ident, $adam:ident, $sum:ident, $sm:ident) => {
        impl NnKernels for $t {
            const FORWARD: Forward<$t> = dense::$fwd;
            const BACKWARD_INPUT: BackwardInput<$t> = dense::$bin;
            const BACKWARD_PARAMS: BackwardParams<$t> = dense::$bpar;
            const XENT_SPARSE: XentSparse<$t> = loss::$xs;
            const XENT_ONEHOT: XentOneHot<$t> = loss::$xo;
            const MSE: Mse<$t> = loss::$mse;
            const SGD: Sgd<$t> = optim::$sgd;
            const MOMENTUM: Momentum<$t> = optim::$mom;
            const ADAM: Adam<$t> = optim::$adam;
            const SUM2: Sum2<$t> = loss::$sum;
            const SOFTMAX: Softmax<$t> = softmax::$sm;
        }
    };
}

nn_kernels!(f32: dense_forward_f32, dense_backward_input_f32, dense_backward_params_f32, xent_sparse_f32,
    xent_onehot_f32, mse_f32, sgd_f32, momentum_f32, adam_f32, sum2_f32, softmax_f32);
nn_kernels!(f64: dense_forward_f64, dense_backward_input_f64, dense_backward_params_f64, xent_sparse_f64,
    xent_onehot_f64, mse_f64, sgd_f64, momentum_f64, adam_f64, sum2_f64, softmax_f64);

pub(crate) struct CudaNn<T> {
    dev: CudaDevice,
    _t: PhantomData<T>,
}

impl<T: NnFloat> CudaNn<T> {
    pub(crate) fn new(dev: CudaDevice) -> Self {
        CudaNn { dev, _t: PhantomData }
    }
}

/// The gather pointer of a layer input (null for a batch buffer read in order).
fn rows_ptr(rows: Option<(&DeviceBuffer<u32>, usize)>) -> Rows {
    rows.map_or(ptr::null(), |(index, start)| index.ptr_at(start))
}

/// One fused optimizer step over `n` parameters at `p` with gradients `g` and the step's state
/// buffers (momentum: `v`; Adam: `m`, `v`), in one launch of `kernels_gpu::nn::optim`.
///
/// # Safety
/// `p`, `g` and every `state` pointer address `n` elements of `T` on `dev`.
pub(crate) unsafe fn launch_update<T: NnFloat>(
    dev: &CudaDevice,
    step: Update<T>,
    p: *mut T,
    g: *const T,
    state: &[*mut T],
    n: usize,
) -> Result<()> {
    let cfg = elementwise::config::<T>(n, dev.grid_stride_blocks());
    let n64 = n as u64;
    unsafe {
        match (step, state) {
            (Update::Sgd { lr }, []) => dev.launch(&T::SGD, cfg, (p, g, n64, lr)),
            (Update::Momentum { lr, mu, nesterov }, &[v]) => {
                dev.launch(&T::MOMENTUM, cfg, (p, g, v, n64, lr, mu, nesterov as u32))
            }
            (Update::Adam { alpha, beta1, beta2, eps }, &[m, v]) => {
                dev.launch(&T::ADAM, cfg, (p, g, m, v, n64, alpha, beta1, beta2, eps))
            }
            (step, state) => unreachable!("{step:?} with {} state buffers", state.len()),
        }
    }
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).expect("network sizes are checked to fit in 32 bits when the model compiles")
}

impl<T: NnFloat> NnBackend for CudaNn<T> {
    type T = T;
    type Buf = DeviceBuffer<T>;
    type Index = DeviceBuffer<u32>;

    fn zeros(&self, len: usize) -> Result<DeviceBuffer<T>> {
        let mut buf = self.dev.alloc(len)?;
        buf.write(&try_filled(len, T::ZERO)?)?;
        Ok(buf)
    }

    fn upload(&self, data: &[T]) -> Result<DeviceBuffer<T>> {
        self.dev.upload(data)
    }

    fn upload_index(&self, data: &[u32]) -> Result<DeviceBuffer<u32>> {
        self.dev.upload(data)
    }

    fn read(&self, buf: &DeviceBuffer<T>, range: Range<usize>) -> Result<Vec<T>> {
        let all = buf.to_vec()?;
        try_to_vec(&all[range])
    }

    fn write(&self, buf: &mut DeviceBuffer<T>, data: &[T]) -> Result<()> {
        buf.write(data)
    }

    fn write_index(&self, buf: &mut DeviceBuffer<u32>, data: &[u32]) -> Result<()> {
        buf.write(data)
    }

    fn copy(&self, src: &DeviceBuffer<T>, dst: &mut DeviceBuffer<T>) -> Result<()> {
        self.dev.copy(src, dst)
    }

    fn dense_forward(
        &self,
        x: Input<'_, Self>,
        w: (&DeviceBuffer<T>, usize),
        y: &mut DeviceBuffer<T>,
        d: Dims,
        act: u32,
    ) -> Result<()> {
        let cfg = dense::forward_config::<T>(d.batch, d.units);
        let args = (
            x.x.ptr(),
            rows_ptr(x.rows),
            u32_of(x.total),
            w.0.ptr_at(w.1),
            y.ptr_mut(),
            u32_of(d.batch),
            u32_of(d.inputs),
            u32_of(d.units),
            act,
        );
        // SAFETY: sizes as `dense::forward` requires: the network allocates every buffer for
        // its largest batch and checks indices against the dataset when it uploads it.
        unsafe { self.dev.launch(&T::FORWARD, cfg, args) }
    }

    fn dense_backward_input(
        &self,
        dz: &DeviceBuffer<T>,
        w: (&DeviceBuffer<T>, usize),
        y_prev: &DeviceBuffer<T>,
        dx: &mut DeviceBuffer<T>,
        d: Dims,
        act_prev: u32,
    ) -> Result<()> {
        let cfg = dense::backward_input_config::<T>(d.batch, d.inputs);
        let args = (
            dz.ptr(),
            w.0.ptr_at(w.1),
            y_prev.ptr(),
            dx.ptr_mut(),
            u32_of(d.batch),
            u32_of(d.inputs),
            u32_of(d.units),
            act_prev,
        );
        unsafe { self.dev.launch(&T::BACKWARD_INPUT, cfg, args) }
    }

    fn dense_backward_params(
        &self,
        x: Input<'_, Self>,
        dz: &DeviceBuffer<T>,
        g: (&mut DeviceBuffer<T>, usize),
        d: Dims,
    ) -> Result<()> {
        let cfg = dense::backward_params_config::<T>(d.inputs, d.units);
        let args = (
            x.x.ptr(),
            rows_ptr(x.rows),
            u32_of(x.total),
            dz.ptr(),
            g.0.ptr_at_mut(g.1),
            u32_of(d.batch),
            u32_of(d.inputs),
            u32_of(d.units),
        );
        unsafe { self.dev.launch(&T::BACKWARD_PARAMS, cfg, args) }
    }

    fn head(
        &self,
        head: Head,
        z: &DeviceBuffer<T>,
        targets: &Targets<Self>,
        (index, start): (&DeviceBuffer<u32>, usize),
        total: usize,
        dz: Option<&mut DeviceBuffer<T>>,
        scores: Scores<'_, Self>,
        (batch, cols): (usize, usize),
    ) -> Result<()> {
        let cfg = loss::config(batch);
        let rows = index.ptr_at(start);
        let dz = dz.map_or(ptr::null_mut(), |d| d.ptr_mut());
        let (l, c) = (scores.loss.ptr_at_mut(scores.offset), scores.correct.ptr_at_mut(scores.offset));
        let (t, b, n) = (u32_of(total), u32_of(batch), u32_of(cols));
        let scale = T::ONE / T::from_usize(batch);
        unsafe {
            match (head, targets) {
                (Head::Xent, Targets::Classes(labels)) => {
                    self.dev.launch(&T::XENT_SPARSE, cfg, (z.ptr(), labels.ptr(), rows, t, dz, l, c, b, n, scale))
                }
                (Head::Xent, Targets::Rows(y)) => {
                    self.dev.launch(&T::XENT_ONEHOT, cfg, (z.ptr(), y.ptr(), rows, t, dz, l, c, b, n, scale))
                }
                (Head::Mse(act), Targets::Rows(y)) => {
                    self.dev.launch(&T::MSE, cfg, (z.ptr(), y.ptr(), rows, t, dz, l, c, b, n, act, scale))
                }
                (Head::Mse(_), Targets::Classes(_)) => unreachable!("mean squared error needs target rows"),
            }
        }
    }

    fn update(
        &self,
        step: Update<T>,
        p: &mut DeviceBuffer<T>,
        g: &DeviceBuffer<T>,
        state: &mut [DeviceBuffer<T>],
    ) -> Result<()> {
        let state: Vec<*mut T> = state.iter_mut().map(|s| s.ptr_mut()).collect();
        // SAFETY: every buffer holds `p.len()` elements.
        unsafe { launch_update(&self.dev, step, p.ptr_mut(), g.ptr(), &state, p.len()) }
    }

    fn sum2(&self, a: &DeviceBuffer<T>, b: &DeviceBuffer<T>, n: usize) -> Result<(f64, f64)> {
        let mut out = self.dev.alloc::<T>(2)?;
        let cfg = loss::sum2_config(self.dev.max_threads(&T::SUM2.info)?);
        unsafe { self.dev.launch(&T::SUM2, cfg, (a.ptr(), b.ptr(), u32_of(n), out.ptr_mut()))? };
        let v = out.to_vec()?;
        Ok((Element::to_f64(v[0]), Element::to_f64(v[1])))
    }

    fn graph_device(&self) -> Option<CudaDevice> {
        Some(self.dev.clone())
    }

    fn softmax(&self, x: &mut DeviceBuffer<T>, rows: usize, cols: usize) -> Result<()> {
        let cfg = softmax::config::<T>(
            rows,
            cols,
            self.dev.max_shared_bytes(),
            self.dev.max_threads(&<T as NnKernels>::SOFTMAX.info)?,
        );
        let p = x.ptr_mut::<T>();
        unsafe { self.dev.launch(&<T as NnKernels>::SOFTMAX, cfg, (p.cast_const(), p, u32_of(rows), u32_of(cols))) }
    }
}
