//! Facts of "Training step vs width and depth", from `bench-train/bench_train.csv`.

use crate::figures;
use crate::results::Results;
use crate::scaling::{Kind, ScalingRow, ScalingTable, CSV, DIR};
use serde::Serialize;

/// Fractions of the peak within this share of a series' best are "on the plateau".
pub const PLATEAU: f64 = 0.9;

/// The narrowest hidden layer counted as wide, for the best fraction of wide networks.
pub const WIDE: usize = 1024;

/// A fraction of the peak at least this high is [`Efficiency::High`].
pub const HIGH: f64 = 0.5;

/// A fraction of the peak at least this high (and below [`HIGH`]) is [`Efficiency::Moderate`].
pub const MODERATE: f64 = 0.25;

/// A larger batch whose fraction of the peak is within this factor of the smaller batch's (above
/// or below) changes little.
pub const LITTLE_GAIN: f64 = 1.1;

/// Measurements whose median is at most this share slower than their fastest repeat are
/// [`Noise::Low`].
pub const QUIET: f64 = 0.1;

/// The time per step grows "with the FLOPs" when its ratio from the shallowest to the deepest
/// net is within this share of the FLOPs' ratio.
pub const PROPORTIONAL: f64 = 0.15;

/// How far the repeats of a measurement spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Noise {
    /// Every median within [`QUIET`] of its fastest repeat.
    Low,
    /// Some median more than [`QUIET`] slower than its fastest repeat: the machine was busy with
    /// other work, or its cores moved.
    High,
}

/// One cell of a table: one network at one batch size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// Milliseconds per step.
    pub ms_per_step: f64,
    /// Epoch-equivalent seconds.
    pub epoch_seconds: f64,
    /// Fraction of the GEMM peak.
    pub fraction: f64,
}

/// One line of a table: one network, a cell per batch size of the study (`None` where it was not
/// measured).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// Units of every hidden layer.
    pub width: usize,
    /// Hidden layers.
    pub depth: usize,
    /// Weights and biases.
    pub n_params: u64,
    /// One per batch size, increasing.
    pub cells: Vec<Option<Cell>>,
}

/// One network of a series at one batch size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Units of every hidden layer.
    pub width: usize,
    /// Hidden layers.
    pub depth: usize,
    /// Fraction of the GEMM peak.
    pub fraction: f64,
    /// Milliseconds per step.
    pub ms_per_step: f64,
    /// Megabytes of the weights and biases (f32).
    pub megabytes: f64,
}

/// How the fraction of the peak changes with the width, at one batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WidthTrend {
    /// Within 10 % of its best at every width.
    Flat,
    /// Rises up to the widest width measured, without levelling off.
    Rises,
    /// Rises, then stays within 10 % of its best from the plateau's first width on.
    Flattens,
    /// Within 10 % of its best from the plateau's first width, then more than 10 % below it at
    /// some wider width, and back within 10 % at the widest.
    Dips,
    /// More than 10 % below its best at the widest width.
    Falls,
}

/// The width series at one batch size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WidthSeries {
    /// Samples per step.
    pub batch: usize,
    /// The narrowest network.
    pub narrowest: Point,
    /// The network with the highest fraction of the peak.
    pub best: Point,
    /// The widest network.
    pub widest: Point,
    /// The network with the lowest fraction from the plateau's first width on.
    pub dip: Point,
    /// The best fraction / the narrowest's.
    pub rise: f64,
    /// Whether the narrowest network is more than 10 % below the best.
    pub climbs: bool,
    /// The narrowest width within 10 % of the best fraction.
    pub plateau_width: usize,
    /// The judgement.
    pub trend: WidthTrend,
}

/// How good the best fraction of the wide networks is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Efficiency {
    /// At least [`HIGH`] of the peak.
    High,
    /// Between [`MODERATE`] and [`HIGH`].
    Moderate,
    /// Below [`MODERATE`].
    Low,
}

/// The best fraction of the peak among the networks at least [`WIDE`] wide, at the largest batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wide {
    /// [`WIDE`].
    pub min_width: usize,
    /// The largest batch size measured.
    pub batch: usize,
    /// The best of them.
    pub best: Point,
    /// The judgement.
    pub efficiency: Efficiency,
}

/// What the larger batch changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GainKind {
    /// Within a factor [`LITTLE_GAIN`] at the narrowest and at the widest network.
    Little,
    /// Higher at both ends (or within the factor at one), more at the narrowest network.
    MostForNarrow,
    /// Higher at both ends (or within the factor at one), as much or more at the widest.
    Everywhere,
    /// More than the factor lower at one end, not at the other.
    Mixed,
    /// More than the factor lower at both ends.
    Worse,
}

/// The fraction of the peak at the largest batch against the smallest, for the narrowest and
/// the widest network of the width series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchGain {
    /// The smallest batch size.
    pub small: usize,
    /// The largest batch size.
    pub large: usize,
    /// The narrowest width.
    pub narrow_width: usize,
    /// Its fraction at the large batch / at the small one.
    pub narrow_gain: f64,
    /// The widest width.
    pub wide_width: usize,
    /// Its fraction at the large batch / at the small one.
    pub wide_gain: f64,
    /// Of the two widths, the one whose gain is lower.
    pub lower_width: usize,
    /// The judgement.
    pub kind: GainKind,
}

/// How the time per step grows with the depth, against the FLOPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepthGrowth {
    /// Within [`PROPORTIONAL`] of the FLOPs' growth.
    WithFlops,
    /// Less than the FLOPs: the fraction of the peak rises with depth.
    SlowerThanFlops,
    /// More than the FLOPs: the fraction of the peak falls with depth.
    FasterThanFlops,
}

/// What one more hidden layer costs, from the least-squares line of the time per step against
/// the depth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerCost {
    /// Milliseconds per step per added layer (the slope).
    pub ms: f64,
    /// The added layer's FLOPs per step, in 10⁶.
    pub mflops: f64,
    /// Those FLOPs in that time, as a fraction of the peak.
    pub fraction: f64,
}

/// The depth series at one batch size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepthSeries {
    /// Samples per step.
    pub batch: usize,
    /// The shallowest network.
    pub shallowest: Point,
    /// The deepest network.
    pub deepest: Point,
    /// The deepest's time per step / the shallowest's.
    pub time_ratio: f64,
    /// The deepest's FLOPs per step / the shallowest's.
    pub flop_ratio: f64,
    /// The judgement.
    pub growth: DepthGrowth,
    /// The cost of one more layer; `None` when the fitted slope is not positive (noise).
    pub layer: Option<LayerCost>,
}

/// The facts of the scaling section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scaling {
    /// The CSV, relative to the results root.
    pub csv: String,
    /// File stem of the figure in plots/.
    pub figure: &'static str,
    /// The GEMM peak measured in the same run, GFLOP/s.
    pub peak_gflops: f64,
    /// Threads allowed.
    pub threads: usize,
    /// Measurements per point.
    pub repeats: usize,
    /// The fewest steps timed per measurement.
    pub steps_min: usize,
    /// The most steps timed per measurement.
    pub steps_max: usize,
    /// Training images of the epoch-equivalent.
    pub n_train: usize,
    /// The mean over the points of median / fastest repeat − 1.
    pub spread_mean: f64,
    /// Its largest value.
    pub spread_max: f64,
    /// The point where it is largest: hidden layers, width, batch.
    pub spread_worst: (usize, usize, usize),
    /// The judgement.
    pub noise: Noise,
    /// The batch sizes, increasing.
    pub batches: Vec<usize>,
    /// The width of the depth series' layers, if it was measured.
    pub depth_width: Option<usize>,
    /// The table of the width series, by increasing width.
    pub width_table: Vec<Line>,
    /// The table of the depth series, by increasing depth.
    pub depth_table: Vec<Line>,
    /// The width series, per batch size.
    pub widths: Vec<WidthSeries>,
    /// The best of the wide networks at the largest batch, if any was measured.
    pub wide: Option<Wide>,
    /// What the largest batch changes, with two batch sizes or more.
    pub batch_gain: Option<BatchGain>,
    /// The depth series, per batch size, with two depths or more.
    pub depths: Vec<DepthSeries>,
}

/// The relative path of the study's CSV.
pub fn csv_path() -> String {
    format!("{DIR}/{CSV}")
}

/// Computes the section's facts; `None` when the study was not run.
pub fn facts(r: &Results) -> Option<Scaling> {
    let table = r.scaling.as_ref()?;
    let first = table.rows.first()?;
    let batches = table.batches();
    let steps = table.rows.iter().map(|row| row.steps);
    let spread = |row: &ScalingRow| row.seconds_per_step / row.seconds_per_step_min - 1.0;
    let worst = table
        .rows
        .iter()
        .max_by(|a, b| spread(a).total_cmp(&spread(b)))?;
    let spread_max = spread(worst);
    let widths: Vec<WidthSeries> = batches
        .iter()
        .filter_map(|&b| width_series(&table.series(Kind::Width, b)))
        .collect();
    let depths = batches
        .iter()
        .filter_map(|&b| depth_series(&table.series(Kind::Depth, b), first.peak_gflops))
        .collect();
    Some(Scaling {
        csv: csv_path(),
        figure: figures::SCALING,
        peak_gflops: first.peak_gflops,
        threads: first.threads,
        repeats: first.repeats,
        steps_min: steps.clone().min().unwrap_or(0),
        steps_max: steps.max().unwrap_or(0),
        n_train: first.n_train,
        spread_mean: table.rows.iter().map(spread).sum::<f64>() / table.rows.len() as f64,
        spread_max,
        spread_worst: (worst.depth, worst.width, worst.batch),
        noise: if spread_max <= QUIET {
            Noise::Low
        } else {
            Noise::High
        },
        depth_width: table
            .rows
            .iter()
            .find(|row| row.kind == Kind::Depth)
            .map(|row| row.width),
        width_table: lines(table, Kind::Width, &batches),
        depth_table: lines(table, Kind::Depth, &batches),
        wide: wide(table, &batches),
        batch_gain: batch_gain(table, &batches),
        widths,
        depths,
        batches,
    })
}

fn point(row: &ScalingRow) -> Point {
    Point {
        width: row.width,
        depth: row.depth,
        fraction: row.fraction_of_peak,
        ms_per_step: 1e3 * row.seconds_per_step,
        megabytes: 4.0 * row.n_params as f64 / 1e6,
    }
}

/// The table of one series: a line per network, a cell per batch size.
fn lines(table: &ScalingTable, kind: Kind, batches: &[usize]) -> Vec<Line> {
    let mut networks: Vec<(usize, usize, u64)> = table
        .rows
        .iter()
        .filter(|row| row.kind == kind)
        .map(|row| (row.width, row.depth, row.n_params))
        .collect();
    networks.sort_unstable();
    networks.dedup();
    networks
        .into_iter()
        .map(|(width, depth, n_params)| Line {
            width,
            depth,
            n_params,
            cells: batches
                .iter()
                .map(|&batch| {
                    table
                        .rows
                        .iter()
                        .find(|row| {
                            (row.kind, row.width, row.depth, row.batch)
                                == (kind, width, depth, batch)
                        })
                        .map(|row| Cell {
                            ms_per_step: 1e3 * row.seconds_per_step,
                            epoch_seconds: row.epoch_seconds,
                            fraction: row.fraction_of_peak,
                        })
                })
                .collect(),
        })
        .collect()
}

/// The width series of one batch size (`rows` by increasing width); `None` without rows.
fn width_series(rows: &[&ScalingRow]) -> Option<WidthSeries> {
    let (narrowest, widest) = (*rows.first()?, *rows.last()?);
    let best = *rows
        .iter()
        .max_by(|a, b| a.fraction_of_peak.total_cmp(&b.fraction_of_peak))?;
    let on_plateau = |row: &ScalingRow| row.fraction_of_peak >= PLATEAU * best.fraction_of_peak;
    let start = rows.iter().position(|row| on_plateau(row))?;
    let dip = *rows[start..]
        .iter()
        .min_by(|a, b| a.fraction_of_peak.total_cmp(&b.fraction_of_peak))?;
    let trend = if !on_plateau(widest) {
        WidthTrend::Falls
    } else if !on_plateau(dip) {
        WidthTrend::Dips
    } else if start == 0 {
        WidthTrend::Flat
    } else if start + 1 == rows.len() {
        WidthTrend::Rises
    } else {
        WidthTrend::Flattens
    };
    Some(WidthSeries {
        batch: narrowest.batch,
        rise: best.fraction_of_peak / narrowest.fraction_of_peak,
        climbs: start > 0,
        narrowest: point(narrowest),
        best: point(best),
        widest: point(widest),
        dip: point(dip),
        plateau_width: rows[start].width,
        trend,
    })
}

/// The best fraction among the width series' networks at least [`WIDE`] wide, at the largest
/// batch.
fn wide(table: &ScalingTable, batches: &[usize]) -> Option<Wide> {
    let batch = *batches.last()?;
    let best = table
        .series(Kind::Width, batch)
        .into_iter()
        .filter(|row| row.width >= WIDE)
        .max_by(|a, b| a.fraction_of_peak.total_cmp(&b.fraction_of_peak))?;
    let efficiency = if best.fraction_of_peak >= HIGH {
        Efficiency::High
    } else if best.fraction_of_peak >= MODERATE {
        Efficiency::Moderate
    } else {
        Efficiency::Low
    };
    Some(Wide {
        min_width: WIDE,
        batch,
        best: point(best),
        efficiency,
    })
}

/// The largest batch against the smallest, at the narrowest and the widest width measured at both.
fn batch_gain(table: &ScalingTable, batches: &[usize]) -> Option<BatchGain> {
    let (&small, &large) = (batches.first()?, batches.last()?);
    if small == large {
        return None;
    }
    let (at_small, at_large) = (
        table.series(Kind::Width, small),
        table.series(Kind::Width, large),
    );
    let gain = |width: usize| -> Option<f64> {
        let find = |rows: &[&ScalingRow]| {
            rows.iter()
                .find(|row| row.width == width)
                .map(|row| row.fraction_of_peak)
        };
        Some(find(&at_large)? / find(&at_small)?)
    };
    let both: Vec<usize> = at_small
        .iter()
        .map(|row| row.width)
        .filter(|&w| at_large.iter().any(|row| row.width == w))
        .collect();
    let (&narrow_width, &wide_width) = (both.first()?, both.last()?);
    let (narrow_gain, wide_gain) = (gain(narrow_width)?, gain(wide_width)?);
    let little = |g: f64| (1.0 / LITTLE_GAIN..=LITTLE_GAIN).contains(&g);
    let lower = |g: f64| g < 1.0 / LITTLE_GAIN;
    let kind = match (lower(narrow_gain), lower(wide_gain)) {
        (true, true) => GainKind::Worse,
        (true, false) | (false, true) => GainKind::Mixed,
        _ if little(narrow_gain) && little(wide_gain) => GainKind::Little,
        _ if narrow_gain > wide_gain => GainKind::MostForNarrow,
        _ => GainKind::Everywhere,
    };
    Some(BatchGain {
        small,
        large,
        narrow_width,
        narrow_gain,
        wide_width,
        wide_gain,
        lower_width: if narrow_gain < wide_gain {
            narrow_width
        } else {
            wide_width
        },
        kind,
    })
}

/// The depth series of one batch size (`rows` by increasing depth); `None` with fewer than two
/// depths.
fn depth_series(rows: &[&ScalingRow], peak_gflops: f64) -> Option<DepthSeries> {
    let (shallowest, deepest) = (*rows.first()?, *rows.last()?);
    if deepest.depth == shallowest.depth {
        return None;
    }
    let time_ratio = deepest.seconds_per_step / shallowest.seconds_per_step;
    let flop_ratio = deepest.flops_per_step / shallowest.flops_per_step;
    let growth = if (time_ratio / flop_ratio - 1.0).abs() <= PROPORTIONAL {
        DepthGrowth::WithFlops
    } else if time_ratio < flop_ratio {
        DepthGrowth::SlowerThanFlops
    } else {
        DepthGrowth::FasterThanFlops
    };
    let layer_flops = (deepest.flops_per_step - shallowest.flops_per_step)
        / (deepest.depth - shallowest.depth) as f64;
    let slope = least_squares_slope(
        rows.iter()
            .map(|row| (row.depth as f64, row.seconds_per_step)),
    );
    Some(DepthSeries {
        batch: shallowest.batch,
        shallowest: point(shallowest),
        deepest: point(deepest),
        time_ratio,
        flop_ratio,
        growth,
        layer: (slope > 0.0).then(|| LayerCost {
            ms: 1e3 * slope,
            mflops: layer_flops / 1e6,
            fraction: layer_flops / slope / 1e9 / peak_gflops,
        }),
    })
}

/// The slope of the least-squares line through `points` (0 when the x are all equal).
fn least_squares_slope(points: impl Iterator<Item = (f64, f64)> + Clone) -> f64 {
    let n = points.clone().count() as f64;
    let (sx, sy) = points
        .clone()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxy, sxx) = points.fold((0.0, 0.0), |(sxy, sxx), (x, y)| {
        (sxy + (x - mx) * (y - my), sxx + (x - mx) * (x - mx))
    });
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{results, scaling_row as row};

    /// The width series at `batch` with these `(width, fraction)`.
    fn widths(batch: usize, points: &[(usize, f64)]) -> Vec<ScalingRow> {
        points
            .iter()
            .map(|&(w, f)| row(Kind::Width, w, 1, batch, f))
            .collect()
    }

    /// The depth series of width 256 at `batch` with these `(depth, fraction)`.
    fn depths(batch: usize, points: &[(usize, f64)]) -> Vec<ScalingRow> {
        points
            .iter()
            .map(|&(d, f)| row(Kind::Depth, 256, d, batch, f))
            .collect()
    }

    fn scaling(rows: Vec<ScalingRow>) -> Scaling {
        let mut r = results();
        r.scaling = Some(ScalingTable { rows });
        facts(&r).unwrap()
    }

    #[test]
    fn without_a_table_there_is_nothing() {
        assert_eq!(facts(&results()), None);
    }

    #[test]
    fn each_width_trend() {
        let trend = |points: &[(usize, f64)]| scaling(widths(64, points)).widths[0].trend;
        assert_eq!(
            trend(&[(64, 0.1), (256, 0.3), (1024, 0.5)]),
            WidthTrend::Rises
        );
        assert_eq!(
            trend(&[(64, 0.1), (256, 0.48), (1024, 0.5), (4096, 0.47)]),
            WidthTrend::Flattens
        );
        assert_eq!(
            trend(&[(64, 0.1), (256, 0.5), (1024, 0.3)]),
            WidthTrend::Falls
        );
        assert_eq!(trend(&[(64, 0.46), (256, 0.5)]), WidthTrend::Flat);
        assert_eq!(trend(&[(64, 0.3)]), WidthTrend::Flat);
        // Within 10 % at 256, 40 % below at 1024, back within 10 % at 4096.
        let dips = scaling(widths(
            64,
            &[(64, 0.1), (256, 0.5), (1024, 0.3), (4096, 0.47)],
        ));
        let series = &dips.widths[0];
        assert_eq!((series.trend, series.dip.width), (WidthTrend::Dips, 1024));
        assert!(series.climbs);
        // The best at the narrowest width, then lower: falls without climbing first.
        let falls = scaling(widths(64, &[(64, 0.5), (256, 0.48), (1024, 0.3)]));
        let series = &falls.widths[0];
        assert_eq!((series.trend, series.climbs), (WidthTrend::Falls, false));
        assert_eq!(series.dip.width, 1024);
        let f = scaling(widths(64, &[(64, 0.1), (256, 0.48), (1024, 0.5)]));
        let series = &f.widths[0];
        assert_eq!(series.plateau_width, 256);
        assert_eq!((series.narrowest.width, series.best.width), (64, 1024));
        assert!((series.rise - 5.0).abs() < 1e-12);
        // 784-1024-10: 814 090 parameters, 4 bytes each.
        assert!((series.widest.megabytes - 3.25636).abs() < 1e-9);
    }

    #[test]
    fn the_tables_have_a_cell_per_batch() {
        let mut rows = widths(64, &[(64, 0.1), (256, 0.2)]);
        rows.extend(widths(256, &[(64, 0.2)]));
        rows.extend(depths(64, &[(1, 0.2), (2, 0.2)]));
        let f = scaling(rows);
        assert_eq!(f.batches, [64, 256]);
        assert_eq!(f.width_table.len(), 2);
        assert_eq!(f.width_table[0].cells.len(), 2);
        assert_eq!(
            f.width_table[1].cells[1], None,
            "width 256 at batch 256 is missing"
        );
        let cell = f.width_table[0].cells[1].as_ref().unwrap();
        assert_eq!(cell.fraction, 0.2);
        assert_eq!(f.depth_table.len(), 2);
        assert_eq!(f.depth_width, Some(256));
        assert_eq!((f.steps_min, f.steps_max, f.n_train), (100, 100, 60_000));
    }

    #[test]
    fn noise_is_the_spread_of_the_repeats() {
        let mut rows = widths(64, &[(64, 0.1), (256, 0.2)]);
        let f = scaling(rows.clone());
        assert_eq!((f.spread_max, f.noise), (0.0, Noise::Low));
        rows[1].seconds_per_step_min = rows[1].seconds_per_step / 1.3;
        let f = scaling(rows.clone());
        assert_eq!(f.noise, Noise::High);
        assert!((f.spread_max - 0.3).abs() < 1e-12 && (f.spread_mean - 0.15).abs() < 1e-12);
        assert_eq!(f.spread_worst, (1, 256, 64));
        rows[1].seconds_per_step_min = rows[1].seconds_per_step / 1.09;
        assert_eq!(scaling(rows).noise, Noise::Low);
    }

    #[test]
    fn the_wide_networks_efficiency() {
        let efficiency = |fraction: f64| {
            let rows = widths(256, &[(512, 0.9), (1024, fraction), (2048, fraction / 2.0)]);
            scaling(rows).wide.unwrap()
        };
        let high = efficiency(0.6);
        assert_eq!(
            (high.efficiency, high.best.width, high.batch),
            (Efficiency::High, 1024, 256)
        );
        assert_eq!(efficiency(0.3).efficiency, Efficiency::Moderate);
        assert_eq!(efficiency(0.1).efficiency, Efficiency::Low);
        assert_eq!(scaling(widths(256, &[(512, 0.9)])).wide, None);
        // Only the largest batch counts.
        let mut rows = widths(64, &[(1024, 0.8)]);
        rows.extend(widths(256, &[(1024, 0.2)]));
        assert_eq!(scaling(rows).wide.unwrap().efficiency, Efficiency::Low);
    }

    #[test]
    fn what_a_larger_batch_changes() {
        let gain = |small: &[(usize, f64)], large: &[(usize, f64)]| {
            let mut rows = widths(64, small);
            rows.extend(widths(256, large));
            scaling(rows).batch_gain
        };
        let g = gain(&[(64, 0.1), (4096, 0.4)], &[(64, 0.2), (4096, 0.44)]).unwrap();
        assert_eq!(g.kind, GainKind::MostForNarrow);
        assert_eq!(
            (g.small, g.large, g.narrow_width, g.wide_width),
            (64, 256, 64, 4096)
        );
        assert!((g.narrow_gain - 2.0).abs() < 1e-12 && (g.wide_gain - 1.1).abs() < 1e-12);
        let g = gain(&[(64, 0.1), (4096, 0.4)], &[(64, 0.105), (4096, 0.42)]).unwrap();
        assert_eq!(g.kind, GainKind::Little);
        let g = gain(&[(64, 0.1), (4096, 0.2)], &[(64, 0.15), (4096, 0.4)]).unwrap();
        assert_eq!(g.kind, GainKind::Everywhere);
        let g = gain(&[(64, 0.1), (4096, 0.2)], &[(64, 0.08), (4096, 0.4)]).unwrap();
        assert_eq!((g.kind, g.lower_width), (GainKind::Mixed, 64));
        let g = gain(&[(64, 0.1), (4096, 0.4)], &[(64, 0.2), (4096, 0.3)]).unwrap();
        assert_eq!((g.kind, g.lower_width), (GainKind::Mixed, 4096));
        let g = gain(&[(64, 0.1), (4096, 0.4)], &[(64, 0.05), (4096, 0.3)]).unwrap();
        assert_eq!(g.kind, GainKind::Worse);
        // A gain of 1.05 is little, and so is one of 0.95.
        let g = gain(&[(64, 0.1), (4096, 0.4)], &[(64, 0.105), (4096, 0.38)]).unwrap();
        assert_eq!(g.kind, GainKind::Little);
        assert_eq!(gain(&[(64, 0.1)], &[]), None, "one batch size");
        assert_eq!(gain(&[(64, 0.1)], &[(128, 0.1)]), None, "no width at both");
    }

    #[test]
    fn how_the_time_grows_with_depth() {
        let series = |points: &[(usize, f64)]| scaling(depths(64, points)).depths[0].clone();
        // The same fraction at every depth: the time grows with the FLOPs, and an added layer
        // runs at that fraction too.
        let d = series(&[(1, 0.3), (2, 0.3), (4, 0.3), (8, 0.3)]);
        assert_eq!(d.growth, DepthGrowth::WithFlops);
        assert!((d.time_ratio - d.flop_ratio).abs() < 1e-9);
        // 784-256-10 against 784-256×8-10 at batch 64: (2·203 264 + 2 560) against
        // (2·662 016 + 461 312).
        assert!((d.flop_ratio - 1_785_344.0 / 409_088.0).abs() < 1e-12);
        let layer = d.layer.unwrap();
        assert_eq!(layer.mflops, 2.0 * 64.0 * 3.0 * 65_536.0 / 1e6);
        assert!((layer.fraction - 0.3).abs() < 1e-9, "{}", layer.fraction);
        let d = series(&[(1, 0.1), (8, 0.3)]);
        assert_eq!(d.growth, DepthGrowth::SlowerThanFlops);
        assert!(d.time_ratio < d.flop_ratio);
        let d = series(&[(1, 0.3), (8, 0.1)]);
        assert_eq!(d.growth, DepthGrowth::FasterThanFlops);
        // Noise that makes the deeper net faster: no cost per layer.
        let mut rows = depths(64, &[(1, 0.3), (2, 0.3)]);
        rows[1].seconds_per_step = rows[0].seconds_per_step / 2.0;
        assert_eq!(scaling(rows).depths[0].layer, None);
        assert!(scaling(depths(64, &[(4, 0.3)])).depths.is_empty());
    }

    #[test]
    fn least_squares_slopes() {
        let line = [(1.0, 3.0), (2.0, 5.0), (4.0, 9.0)];
        assert!((least_squares_slope(line.into_iter()) - 2.0).abs() < 1e-12);
        assert_eq!(
            least_squares_slope([(1.0, 3.0), (1.0, 5.0)].into_iter()),
            0.0
        );
    }
}
