//! The study's closing lines and its chart.

use super::{peak_range, Kind, Row};
use crate::plot::{save_grid_svg_and_png, LineChart, Series};
use crate::Result;
use std::path::Path;

/// The closing lines: per batch size, the fraction of the peak at the narrowest and the best
/// width, and how the time per step grows from the shallowest to the deepest net against the
/// FLOPs.
pub fn summary(rows: &[Row]) -> Vec<String> {
    let mut batches: Vec<usize> = rows.iter().map(|r| r.batch).collect();
    batches.sort_unstable();
    batches.dedup();
    let mut lines = Vec::new();
    for batch in batches {
        let series = |kind: Kind| -> Vec<&Row> {
            rows.iter()
                .filter(|r| r.kind == kind && r.batch == batch)
                .collect()
        };
        let by_width = series(Kind::Width);
        let narrowest = by_width.iter().min_by_key(|r| r.width);
        let best = by_width
            .iter()
            .max_by(|a, b| a.fraction_of_peak.total_cmp(&b.fraction_of_peak));
        if let (Some(narrowest), Some(best)) = (narrowest, best) {
            lines.push(format!(
                "batch {batch}, width series: {:.1}% of peak at width {}, best {:.1}% at width {}",
                100.0 * narrowest.fraction_of_peak,
                narrowest.width,
                100.0 * best.fraction_of_peak,
                best.width
            ));
        }
        let by_depth = series(Kind::Depth);
        let shallowest = by_depth.iter().min_by_key(|r| r.depth);
        let deepest = by_depth.iter().max_by_key(|r| r.depth);
        if let (Some(a), Some(b)) = (shallowest, deepest) {
            lines.push(format!(
                "batch {batch}, depth series: {:.3} ms per step at depth {}, {:.3} ms at depth {} \
                 ({:.2}x the time for {:.2}x the FLOPs)",
                1e3 * a.seconds_per_step,
                a.depth,
                1e3 * b.seconds_per_step,
                b.depth,
                b.seconds_per_step / a.seconds_per_step,
                b.flops_per_step / a.flops_per_step
            ));
        }
    }
    lines
}

/// Draws the study's figure into `<path_without_ext>.svg` and `.png`: the fraction of the GEMM
/// peak against the width (powers of two) and against the depth, above the epoch-equivalent
/// time against each, one line per batch size, from the rows of one study (as `bench-train` writes
/// them, or as `cargo xtask report` reads them back). A series without rows gets no panels;
/// nothing is drawn for no rows.
pub fn draw(rows: &[Row], path_without_ext: &Path) -> Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let mut batches: Vec<usize> = rows.iter().map(|r| r.batch).collect();
    batches.sort_unstable();
    batches.dedup();
    let epoch = |r: &Row| r.epoch_seconds;
    let series = |kind: Kind, x: fn(&Row) -> usize, y: fn(&Row) -> f64| -> Vec<Series> {
        batches
            .iter()
            .map(|&batch| {
                let mut points: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| r.kind == kind && r.batch == batch)
                    .map(|r| (x(r) as f64, y(r)))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series::new(format!("batch {batch}"), points)
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    // Each panel's legend sits in its upper right corner: the vertical ranges leave room above
    // the curves for it.
    let max_fraction = rows.iter().map(|r| r.fraction_of_peak).fold(0.0, f64::max);
    let epochs = |kind: Kind| rows.iter().filter(move |r| r.kind == kind).map(epoch);
    let width_lowest = epochs(Kind::Width).fold(f64::INFINITY, f64::min);
    let width_highest = epochs(Kind::Width).fold(0.0, f64::max);
    let depth_highest = epochs(Kind::Depth).fold(0.0, f64::max);
    let fraction = |r: &Row| r.fraction_of_peak;
    let width = |r: &Row| r.width;
    let depth = |r: &Row| r.depth;
    let depth_width = rows
        .iter()
        .find(|r| r.kind == Kind::Depth)
        .map_or(0, |r| r.width);
    // Each point's fraction is of its own peak: the title gives their range.
    let peak = match peak_range(rows) {
        Some((lowest, highest)) if lowest.round() != highest.round() => {
            format!("{lowest:.0}-{highest:.0} GFLOP/s")
        }
        _ => format!("{:.0} GFLOP/s", first.peak_gflops),
    };
    let threads = first.threads;
    let with = |chart: LineChart, series: Vec<Series>| {
        series.into_iter().fold(chart, LineChart::with_series)
    };
    let width_fraction = series(Kind::Width, width, fraction);
    let depth_fraction = series(Kind::Depth, depth, fraction);
    let width_epoch = series(Kind::Width, width, epoch);
    let depth_epoch = series(Kind::Depth, depth, epoch);
    let mut charts = Vec::new();
    if !width_fraction.is_empty() {
        charts.push(with(
            LineChart::new(
                format!("One hidden layer: fraction of the GEMM peak ({peak})"),
                "hidden width",
                "fraction of peak",
            )
            .with_log2_x()
            .with_y_range(0.0, 1.25 * max_fraction.max(0.01)),
            width_fraction,
        ));
    }
    if !depth_fraction.is_empty() {
        charts.push(with(
            LineChart::new(
                format!("Hidden layers of {depth_width}: fraction of the GEMM peak ({peak})"),
                "hidden layers",
                "fraction of peak",
            )
            .with_y_range(0.0, 1.25 * max_fraction.max(0.01)),
            depth_fraction,
        ));
    }
    if !width_epoch.is_empty() {
        charts.push(with(
            LineChart::new(
                format!("Epoch-equivalent time, {threads} thread(s)"),
                "hidden width",
                "seconds per epoch",
            )
            .with_log2_x()
            .with_log_axes(true, true)
            .with_y_range(width_lowest / 1.5, width_highest * 4.0),
            width_epoch,
        ));
    }
    if !depth_epoch.is_empty() {
        charts.push(with(
            LineChart::new(
                format!("Epoch-equivalent time, {threads} thread(s)"),
                "hidden layers",
                "seconds per epoch",
            )
            .with_y_range(0.0, 1.25 * depth_highest),
            depth_epoch,
        ));
    }
    let columns = if charts.len() == 4 { 2 } else { charts.len() };
    save_grid_svg_and_png(&charts, columns, path_without_ext)
}
