//! Facts of "Training step vs width and depth", from `bench-train/bench_train.csv`.

use crate::figures;
use crate::results::Results;
use crate::scaling::{Kind, ScalingRow, ScalingTable, CSV, DIR};
use mlp_cli::bench_train::peak_range;
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
    /// The lowest of the rows' GEMM peaks (each the median of the peaks measured before its
    /// measurements), GFLOP/s.
    pub peak_lowest: f64,
    /// The highest, GFLOP/s.
    pub peak_highest: f64,
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
        .filter_map(|&b| depth_series(&table.series(Kind::Depth, b)))
        .collect();
    let (peak_lowest, peak_highest) = peak_range(&table.rows)?;
    Some(Scaling {
        csv: csv_path(),
        figure: figures::SCALING,
        peak_lowest,
        peak_highest,
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
/// depths. The cost of a layer is a fraction of the mean of the peaks measured beside the rows.
fn depth_series(rows: &[&ScalingRow]) -> Option<DepthSeries> {
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
    let peak_gflops = rows.iter().map(|row| row.peak_gflops).sum::<f64>() / rows.len() as f64;
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
mod tests;
