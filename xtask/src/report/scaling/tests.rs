//! The scaling section's facts on hand-made rows, one test per judgement a template chooses between.

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
