//! Training curves as a PNG: loss and accuracy per epoch, training and validation.

use super::fit::History;
use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// plotters draws text with a font registered once from bytes (DejaVu Sans, embedded), so
/// plotting needs no system fonts.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

impl History {
    /// Writes a 1000×420 PNG: loss on the left, accuracy on the right.
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let fail = |e: String| Error::Data { path: path.into(), location: "plot".into(), message: e };
        if self.epochs.is_empty() {
            return Err(fail("there are no epochs to plot".into()));
        }
        register_font();
        let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        let panels = root.split_evenly((1, 2));
        let epochs: Vec<f64> = self.epochs.iter().map(|e| (e.epoch + 1) as f64).collect();
        let series = [("loss", self.loss(), self.val_loss()), ("accuracy", self.accuracy(), self.val_accuracy())];
        for (panel, (name, train, val)) in panels.iter().zip(series) {
            let finite = train.iter().chain(&val).copied().filter(|v| v.is_finite());
            let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
            // Nothing finite: an empty panel. The span must be finite too, so values beyond a
            // quarter of f64's range are clipped.
            let q = f64::MAX / 4.0;
            let (lo, hi) = if lo.is_finite() { (lo.clamp(-q, q), hi.clamp(-q, q)) } else { (0.0, 1.0) };
            let half = 0.5f64.max(lo.abs() / 20.0);
            let (lo, hi) = if lo < hi { (lo, hi) } else { (lo - half, lo + half) };
            let pad = (hi - lo) * 0.05;
            let x_max = epochs.last().copied().unwrap_or(1.0).max(2.0);
            let mut chart = ChartBuilder::on(panel)
                .caption(name, ("sans-serif", 22))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(1.0..x_max, (lo - pad)..(hi + pad))
                .map_err(|e| fail(e.to_string()))?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(|e| fail(e.to_string()))?;
            let mut lines = vec![(format!("train {name}"), train, BLUE)];
            if !val.is_empty() {
                lines.push((format!("val {name}"), val, RED));
            }
            for (label, ys, color) in lines {
                // NaN and infinite values are gaps: each finite run is its own line.
                let points: Vec<(f64, f64)> = epochs.iter().copied().zip(ys).collect();
                let runs = points.split(|p| !p.1.is_finite()).filter(|r| !r.is_empty());
                let series = runs.map(|r| PathElement::new(r.to_vec(), color.stroke_width(2)));
                chart
                    .draw_series(series)
                    .map_err(|e| fail(e.to_string()))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(|e| fail(e.to_string()))?;
        }
        root.present().map_err(|e| fail(format!("cannot write the PNG: {e}")))
    }
}
