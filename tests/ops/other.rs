//! The constructors (`arange`, `linspace`, `eye`, `full`, `*_like`) as a device case of their
//! own, until they are registry rows. `where_`, `any`/`all` and `cast` are registry rows
//! (`rows_logic.rs`).

use crate::common::devices::{Case, CaseResult};
use crate::ensure;
use ferrite::{Array, Device, Error};

pub const CASES: &[(&str, Case)] = &[("constructors", constructors)];

fn constructors(d: &Device) -> CaseResult {
    ferrite::with_device(d, || -> CaseResult {
        let a = Array::<f32>::arange(-3.0, 7.0, 0.5)?;
        let want: Vec<f32> = (0..20).map(|i| -3.0 + 0.5 * i as f32).collect();
        ensure!(a.to_vec()? == want && a.device() == *d, "arange(-3, 7, 0.5)");
        let i = Array::<i32>::arange(0.0, 5.0, 1.0)?;
        ensure!(i.to_vec()? == [0, 1, 2, 3, 4], "arange of i32");
        ensure!(Array::<f64>::arange(5.0, 0.0, 1.0)?.shape() == [0], "an empty arange");
        ensure!(matches!(Array::<f64>::arange(0.0, 1.0, 0.0), Err(Error::Config(_))), "a zero step");
        let l = Array::<f64>::linspace(0.0, 1.0, 5, true)?;
        ensure!(l.to_vec()? == [0.0, 0.25, 0.5, 0.75, 1.0], "linspace(0, 1, 5)");
        ensure!(Array::<f64>::linspace(2.0, 3.0, 1, true)?.to_vec()? == [2.0], "linspace with one point");
        ensure!(
            Array::<f64>::linspace(0.0, 1.0, 4, false)?.to_vec()? == [0.0, 0.25, 0.5, 0.75],
            "linspace without the end"
        );
        let e = Array::<u8>::eye(3)?;
        ensure!(e.to_vec()? == [1, 0, 0, 0, 1, 0, 0, 0, 1], "eye(3)");
        let f = Array::<i64>::full(&[2, 3], -7)?;
        ensure!(f.to_vec()? == [-7; 6] && f.shape() == [2, 3], "full");
        let z = f.cast::<ferrite::bf16>()?.zeros_like()?;
        ensure!(z.shape() == [2, 3] && z.to_vec()?.iter().all(|v| v.to_f32() == 0.0), "zeros_like");
        let o = l.cast::<f32>()?.ones_like()?;
        ensure!(o.to_vec()? == [1.0; 5] && o.device() == *d, "ones_like");
        let fl = e.cast::<bool>()?.full_like(true)?;
        ensure!(fl.to_vec()? == [true; 9], "full_like");
        Ok(())
    })
}
