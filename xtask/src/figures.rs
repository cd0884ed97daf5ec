//! The report's figures, drawn with `mlp_cli::plot` into `<root>/plots/` as SVG and PNG.

use crate::plan::{Net, Recipe};
use crate::results::{Group, Results};
use crate::runs::Run;
use crate::setting::{schedule, schedule_text};
use crate::stats::thousands;
use crate::Result;
use mlp_cli::plot::{save_grid_svg_and_png, LineChart, Series};
use mlp_cli::train::EpochRecord;
use std::path::Path;

/// Sub-directory of the results root holding the figures.
pub const DIR: &str = "plots";
/// The comparison of model complexities.
pub const COMPLEXITY: &str = "complexity";
/// The lr × batch study.
pub const LR_BATCH: &str = "lr-batch";
/// The epoch study.
pub const EPOCHS: &str = "epochs";
/// The forward-propagation benchmark.
pub const BENCH: &str = "bench-forward";
/// The training-step scaling benchmark.
pub const SCALING: &str = "bench-train";

/// File stem of a net's learning curves.
pub fn curves_stem(net: Net) -> String {
    format!("curves-{}", net.name())
}

/// Draws every figure whose data exists.
pub fn draw_all(root: &Path, r: &Results) -> Result<()> {
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir)?;
    for net in Net::ALL {
        learning_curves(&dir, r, net)?;
    }
    complexity(&dir, r)?;
    lr_batch(&dir, r)?;
    epochs(&dir, r)?;
    bench(&dir, r)?;
    scaling(&dir, r)?;
    Ok(())
}

/// The series `(epoch, f(record))` of a curve, skipping epochs where `f` gives nothing.
fn series(label: &str, curve: &[EpochRecord], f: impl Fn(&EpochRecord) -> Option<f64>) -> Series {
    Series::new(
        label,
        curve
            .iter()
            .filter_map(|rec| f(rec).map(|v| (rec.epoch as f64, v)))
            .collect(),
    )
}

/// A run's curve without epoch 0: the untrained net's ~90 % error would squash the interesting
/// range.
fn trained_epochs(run: &Run) -> Vec<EpochRecord> {
    run.curve()
        .iter()
        .filter(|c| c.epoch > 0)
        .cloned()
        .collect()
}

/// [`series`] of an error rate, in percent.
fn percent_series(
    label: &str,
    curve: &[EpochRecord],
    f: impl Fn(&EpochRecord) -> Option<f64>,
) -> Series {
    series(label, curve, |rec| f(rec).map(|v| 100.0 * v))
}

fn learning_curves(dir: &Path, r: &Results, net: Net) -> Result<()> {
    let mut charts = Vec::new();
    for recipe in Recipe::ALL {
        let Some(run) = r.group(net, recipe).and_then(Group::first) else {
            continue;
        };
        let curve = trained_epochs(run);
        let title = format!(
            "{} {} (seed {})",
            net.name(),
            recipe.name(),
            run.config.seed
        );
        charts.push(
            LineChart::new(format!("{title}: error"), "epoch", "error (%)")
                .with_log_axes(false, true)
                .with_series(percent_series("train", &curve, |c| Some(c.train_error)))
                .with_series(percent_series("validation", &curve, |c| c.val_error))
                .with_series(percent_series("test", &curve, |c| Some(c.test_error))),
        );
        charts.push(
            LineChart::new(format!("{title}: loss"), "epoch", "cross-entropy")
                .with_log_axes(false, true)
                .with_series(series("train", &curve, |c| Some(c.train_loss)))
                .with_series(series("validation", &curve, |c| c.val_loss))
                .with_series(series("test", &curve, |c| Some(c.test_loss))),
        );
    }
    if charts.is_empty() {
        return Ok(());
    }
    let charts: Vec<LineChart> = charts.into_iter().map(legend_headroom).collect();
    save_grid_svg_and_png(&charts, 2, &dir.join(curves_stem(net)))?;
    Ok(())
}

/// Extends a logarithmic vertical axis upwards so that the legend (drawn in the upper right
/// corner) does not cover the curves' ends.
fn legend_headroom(chart: LineChart) -> LineChart {
    let values: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|y| y.is_finite() && *y > 0.0)
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(chart.log_y && lo.is_finite() && hi.is_finite()) {
        return chart;
    }
    // The legend takes about a fifth of the panel's height: add a quarter of the span on top.
    let decades = (hi / lo).log10().max(0.5);
    chart.with_y_range(
        lo / 10f64.powf(0.05 * decades),
        hi * 10f64.powf(0.3 * decades),
    )
}

fn complexity(dir: &Path, r: &Results) -> Result<()> {
    let mut val = LineChart::new(
        "Validation error (seed 1 of each run)",
        "epoch",
        "error (%)",
    )
    .with_log_axes(false, true);
    let mut test = LineChart::new("Test error (seed 1 of each run)", "epoch", "error (%)")
        .with_log_axes(false, true);
    for g in &r.reported {
        let Some(run) = g.first() else { continue };
        let params = run.summary().map_or(0, |s| s.n_params);
        let label = format!(
            "{} {} ({} params)",
            g.net.name(),
            g.recipe.name(),
            thousands(params)
        );
        let curve = trained_epochs(run);
        val = val.with_series(percent_series(&label, &curve, |c| c.val_error));
        test = test.with_series(percent_series(&label, &curve, |c| Some(c.test_error)));
    }
    if val.series.is_empty() {
        return Ok(());
    }
    save_grid_svg_and_png(
        &[legend_headroom(val), legend_headroom(test)],
        2,
        &dir.join(COMPLEXITY),
    )?;
    Ok(())
}

fn lr_batch(dir: &Path, r: &Results) -> Result<()> {
    if r.study.is_empty() {
        return Ok(());
    }
    let epochs = r.study[0].config.epochs;
    let mut batches: Vec<usize> = r.study.iter().map(|run| run.config.batch_size).collect();
    batches.sort();
    batches.dedup();
    let mut val = LineChart::new(
        format!("Shallow sigmoid net, plain SGD, {epochs} epochs: final validation error"),
        "learning rate",
        "validation error (%)",
    )
    .with_log_axes(true, true);
    let mut train = LineChart::new(
        "Final training error",
        "learning rate",
        "training error (%)",
    )
    .with_log_axes(true, false);
    for b in batches {
        let mut runs: Vec<&Run> = r
            .study
            .iter()
            .filter(|run| run.config.batch_size == b && run.summary().is_some())
            .collect();
        runs.sort_by(|a, c| a.config.lr.total_cmp(&c.config.lr));
        let label = format!("batch {b}");
        val = val.with_series(Series::new(
            &label,
            runs.iter()
                .map(|run| (run.config.lr, 100.0 * run.val_error()))
                .collect(),
        ));
        train = train.with_series(Series::new(
            &label,
            runs.iter()
                .map(|run| (run.config.lr, 100.0 * run.train_error()))
                .collect(),
        ));
    }
    save_grid_svg_and_png(&[val, train], 2, &dir.join(LR_BATCH))?;
    Ok(())
}

fn epochs(dir: &Path, r: &Results) -> Result<()> {
    if r.epochs.len() < 2 {
        return Ok(());
    }
    let finished: Vec<&Run> = r
        .epochs
        .iter()
        .filter(|run| run.summary().is_some())
        .collect();
    let points = |f: fn(&Run) -> f64| -> Vec<(f64, f64)> {
        finished
            .iter()
            .map(|run| (run.config.epochs as f64, 100.0 * f(run)))
            .collect()
    };
    let schedule = schedule_text(schedule(&r.epochs[0].config));
    let chart = LineChart::new(
        format!("Tuned shallow net: final error vs number of epochs ({schedule} schedule)"),
        "epochs",
        "error (%)",
    )
    .with_series(Series::new("train", points(Run::train_error)))
    .with_series(Series::new("validation", points(Run::val_error)))
    .with_series(Series::new("test", points(Run::test_error)));
    save_grid_svg_and_png(&[chart], 1, &dir.join(EPOCHS))?;
    Ok(())
}

/// The forward-benchmark figure, drawn by the module that also draws it for `mlp-cli bench-forward`.
fn bench(dir: &Path, r: &Results) -> Result<()> {
    if let Some(table) = &r.bench {
        mlp_cli::bench::draw(&table.rows, &dir.join(BENCH))?;
    }
    Ok(())
}

/// The scaling figure, drawn by the module that also draws it for `mlp-cli bench-train`.
fn scaling(dir: &Path, r: &Results) -> Result<()> {
    if let Some(table) = &r.scaling {
        mlp_cli::bench_train::draw(&table.rows, &dir.join(SCALING))?;
    }
    Ok(())
}
