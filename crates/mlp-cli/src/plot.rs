//! Line charts saved as SVG and PNG: benchmark curves, learning curves, hyper-parameter studies.
//!
//! A [`LineChart`] is plain data — a title, axis labels, linear or logarithmic axes and any number
//! of labelled [`Series`] — and [`save_svg_and_png`] draws it; [`save_grid_svg_and_png`] draws
//! several charts as the panels of one figure. Text is rendered with the DejaVu Sans font bundled in
//! `assets/`, so the PNGs look the same on every machine (no system fonts are needed).
//!
//! ```no_run
//! use mlp_cli::plot::{save_svg_and_png, LineChart, Series};
//!
//! let chart = LineChart::new("Training error", "epoch", "error (%)")
//!     .with_series(Series::new("train", vec![(1.0, 8.1), (2.0, 4.3), (3.0, 3.0)]))
//!     .with_series(Series::new("test", vec![(1.0, 8.5), (2.0, 5.0), (3.0, 3.9)]));
//! save_svg_and_png(&chart, std::path::Path::new("results/error"))?; // error.svg, error.png
//! # Ok::<(), mlp_cli::CliError>(())
//! ```

use crate::{CliError, Result};
use plotters::coord::ranged1d::{
    AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged, ValueFormatter,
};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The font every text is drawn with, registered under the family name `sans-serif`.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Pixel size of one panel.
const PANEL_SIZE: (u32, u32) = (800, 500);

/// Colours of successive series (the "tab10" palette), chosen to stay distinguishable.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One labelled curve: `(x, y)` points joined in the given order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend entry.
    pub label: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from its label and points.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            points,
        }
    }
}

/// A chart of one or more [`Series`] on shared axes.
///
/// Axis ranges fit the data unless set; on a logarithmic axis, points with a coordinate ≤ 0 (and
/// everywhere, non-finite points) are left out. Every point is marked, so sparse curves (a few
/// batch sizes) stay readable; the legend is drawn when there is more than one series or the only
/// one has a label.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    /// Drawn above the plot.
    pub title: String,
    /// The horizontal axis's description.
    pub x_label: String,
    /// The vertical axis's description.
    pub y_label: String,
    /// A logarithmic horizontal axis.
    pub log_x: bool,
    /// A logarithmic vertical axis.
    pub log_y: bool,
    /// Ticks of a logarithmic horizontal axis at powers of two (64, 128, 256 …) instead of
    /// 1-2-5 per decade: for sizes that double from point to point.
    pub log2_x: bool,
    /// A fixed horizontal range, instead of one fitted to the data.
    pub x_range: Option<(f64, f64)>,
    /// A fixed vertical range, instead of one fitted to the data.
    pub y_range: Option<(f64, f64)>,
    /// The curves.
    pub series: Vec<Series>,
}

impl LineChart {
    /// An empty chart with linear axes.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Self::default()
        }
    }

    /// Sets logarithmic (`true`) or linear axes.
    pub fn with_log_axes(mut self, log_x: bool, log_y: bool) -> Self {
        self.log_x = log_x;
        self.log_y = log_y;
        self
    }

    /// Makes the horizontal axis logarithmic with its ticks at powers of two.
    pub fn with_log2_x(mut self) -> Self {
        self.log_x = true;
        self.log2_x = true;
        self
    }

    /// Fixes the vertical range (e.g. `(0.0, 1.0)` for a fraction).
    pub fn with_y_range(mut self, low: f64, high: f64) -> Self {
        self.y_range = Some((low, high));
        self
    }

    /// Fixes the horizontal range.
    pub fn with_x_range(mut self, low: f64, high: f64) -> Self {
        self.x_range = Some((low, high));
        self
    }

    /// Adds a series.
    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// The points of `series` that can be drawn on this chart's axes.
    fn drawable<'a>(&self, series: &'a Series) -> impl Iterator<Item = (f64, f64)> + 'a {
        let (log_x, log_y) = (self.log_x, self.log_y);
        series.points.iter().copied().filter(move |&(x, y)| {
            x.is_finite() && y.is_finite() && (!log_x || x > 0.0) && (!log_y || y > 0.0)
        })
    }

    /// The axis ranges: the fixed ones, or the data's extent with a margin.
    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let points: Vec<(f64, f64)> = self.series.iter().flat_map(|s| self.drawable(s)).collect();
        let x = self
            .x_range
            .unwrap_or_else(|| fit(points.iter().map(|p| p.0), self.log_x));
        let y = self
            .y_range
            .unwrap_or_else(|| fit(points.iter().map(|p| p.1), self.log_y));
        (x, y)
    }
}

/// A range covering `values` with a margin (5 % of the span, or a fifth of a decade on a log axis).
fn fit(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !(low.is_finite() && high.is_finite()) {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let factor = 10f64.powf(0.2);
        (low / factor, high * factor)
    } else if high > low {
        let pad = 0.05 * (high - low);
        (low - pad, high + pad)
    } else {
        let pad = if low == 0.0 { 1.0 } else { 0.1 * low.abs() };
        (low - pad, high + pad)
    }
}

/// A tick label: integers as integers (10000, not 1e4), other values with 3 significant digits.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs();
    if v.fract() == 0.0 && magnitude < 1e7 {
        format!("{v:.0}")
    } else if (1e-3..1e7).contains(&magnitude) {
        let decimals = (2 - magnitude.log10().floor() as i32).max(0) as usize;
        let text = format!("{v:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').into()
        } else {
            text
        }
    } else {
        format!("{v:.1e}")
    }
}

/// A count with spaces between groups of three digits, for titles and reports: `109260` →
/// `109 260`.
///
/// ```
/// assert_eq!(mlp_cli::plot::thousands(60_000), "60 000");
/// ```
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Registers the bundled font once per process, under the family name `sans-serif`; every drawing
/// with text calls it first.
pub fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if registered {
        Ok(())
    } else {
        Err(CliError::Usage(
            "the bundled font assets/DejaVuSans.ttf cannot be read".into(),
        ))
    }
}

/// `path` with `.extension` appended (not substituted: `lr0.1` gives `lr0.1.svg`).
fn with_suffix(path: &Path, extension: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

/// Draws `chart` into `<path_without_ext>.svg` and `<path_without_ext>.png` (800 × 500 pixels).
pub fn save_svg_and_png(chart: &LineChart, path_without_ext: &Path) -> Result<()> {
    save_grid_svg_and_png(std::slice::from_ref(chart), 1, path_without_ext)
}

/// Draws `charts` as the panels of one figure, `columns` per row, into `<path_without_ext>.svg`
/// and `.png`.
pub fn save_grid_svg_and_png(
    charts: &[LineChart],
    columns: usize,
    path_without_ext: &Path,
) -> Result<()> {
    if charts.is_empty() {
        return Err(CliError::Usage("a figure needs at least one chart".into()));
    }
    register_font()?;
    let columns = columns.clamp(1, charts.len());
    let rows = charts.len().div_ceil(columns);
    let size = (PANEL_SIZE.0 * columns as u32, PANEL_SIZE.1 * rows as u32);

    let svg = with_suffix(path_without_ext, "svg");
    draw_grid(
        SVGBackend::new(&svg, size).into_drawing_area(),
        charts,
        rows,
        columns,
    )
    .map_err(|e| drawing_error(&svg, e))?;
    let png = with_suffix(path_without_ext, "png");
    draw_grid(
        BitMapBackend::new(&png, size).into_drawing_area(),
        charts,
        rows,
        columns,
    )
    .map_err(|e| drawing_error(&png, e))?;
    Ok(())
}

fn drawing_error(path: &Path, error: String) -> CliError {
    CliError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(error),
    }
}

/// Fills the area white, draws each chart into its panel and writes the file.
fn draw_grid<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    charts: &[LineChart],
    rows: usize,
    columns: usize,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((rows, columns));
    for (panel, chart) in panels.iter().zip(charts) {
        draw_panel(panel, chart).map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Chooses the coordinate types for the chart's axes.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> DrawResult<DB> {
    let ((x0, x1), (y0, y1)) = chart.ranges();
    let log_x = || LogAxis::new(x0, x1).with_powers_of_two(chart.log2_x);
    match (chart.log_x, chart.log_y) {
        (false, false) => draw_chart(area, chart, x0..x1, y0..y1),
        (true, false) => draw_chart(area, chart, log_x(), y0..y1),
        (false, true) => draw_chart(area, chart, x0..x1, LogAxis::new(y0, y1)),
        (true, true) => draw_chart(area, chart, log_x(), LogAxis::new(y0, y1)),
    }
}

/// A logarithmic axis whose ticks are 1-2-…-9, 1-2-5 or 1 per decade, the densest that fits, so
/// that a range of less than a decade still gets labels (plotters' own puts ticks only at powers);
/// or, for sizes that double, every power of two (every second, third … when they do not fit).
struct LogAxis {
    low: f64,
    high: f64,
    /// Ticks at powers of two instead of in decades.
    powers_of_two: bool,
    /// The axis in `ln` units, linear.
    linear: RangedCoordf64,
}

impl LogAxis {
    fn new(low: f64, high: f64) -> Self {
        Self {
            low,
            high,
            powers_of_two: false,
            linear: (low.ln()..high.ln()).into(),
        }
    }

    fn with_powers_of_two(mut self, powers_of_two: bool) -> Self {
        self.powers_of_two = powers_of_two;
        self
    }

    /// The powers `2^k`, `k` a multiple of `every`, that lie in range.
    fn power_of_two_ticks(&self, every: i32) -> Vec<f64> {
        let first = self.low.log2().floor() as i32;
        let last = self.high.log2().ceil() as i32;
        (first..=last)
            .filter(|k| k.rem_euclid(every) == 0)
            .map(|k| 2f64.powi(k))
            .filter(|&v| v >= self.low * (1.0 - 1e-9) && v <= self.high * (1.0 + 1e-9))
            .collect()
    }

    /// The multiples `m · 10^k` of every decade that lie in range.
    fn ticks(&self, mantissas: &[f64], every_decades: i32) -> Vec<f64> {
        let first = self.low.log10().floor() as i32;
        let last = self.high.log10().ceil() as i32;
        let mut ticks = Vec::new();
        for k in (first..=last).filter(|k| k.rem_euclid(every_decades) == 0) {
            for &m in mantissas {
                let v = m * 10f64.powi(k);
                if v >= self.low * (1.0 - 1e-9) && v <= self.high * (1.0 + 1e-9) {
                    ticks.push(v);
                }
            }
        }
        ticks
    }
}

impl Ranged for LogAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(&value.ln(), limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let max = hint.max_num_points();
        if self.powers_of_two {
            return (1..)
                .map(|every| self.power_of_two_ticks(every))
                .find(|ticks| ticks.len() <= max.max(1))
                .unwrap_or_default();
        }
        let all: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        for mantissas in [&all[..], &[1.0, 2.0, 5.0], &[1.0]] {
            let ticks = self.ticks(mantissas, 1);
            if ticks.len() <= max {
                return ticks;
            }
        }
        (2..)
            .map(|every| self.ticks(&[1.0], every))
            .find(|ticks| ticks.len() <= max.max(1))
            .unwrap_or_default()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.low..self.high
    }
}

fn draw_chart<DB, X, Y>(
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
    x_spec: X,
    y_spec: Y,
) -> DrawResult<DB>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut context = ChartBuilder::on(area)
        .caption(&chart.title, (FAMILY, 22))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x_spec, y_spec)?;
    context
        .configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .max_light_lines(4)
        .draw()?;
    for (i, series) in chart.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<(f64, f64)> = chart.drawable(series).collect();
        context
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(series.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], colour.stroke_width(2))
            });
        context.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    let labelled = chart.series.len() > 1 || chart.series.iter().any(|s| !s.label.is_empty());
    if labelled {
        context
            .configure_series_labels()
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_tick(v: f64, expected: &str) {
        assert_eq!(tick(v), expected, "{v}");
    }

    #[test]
    fn ticks_are_short() {
        check_tick(0.0, "0");
        check_tick(10000.0, "10000");
        check_tick(60000.0, "60000");
        check_tick(0.25, "0.25");
        check_tick(0.1, "0.1");
        check_tick(2.5, "2.5");
        check_tick(123.456, "123");
        check_tick(0.012345, "0.0123");
        check_tick(1e-5, "1.0e-5");
    }

    #[test]
    fn ranges_fit_the_data_and_skip_what_a_log_axis_cannot_show() {
        let chart = LineChart::new("t", "x", "y")
            .with_log_axes(true, false)
            .with_series(Series::new("a", vec![(0.0, 5.0), (1.0, 1.0), (100.0, 3.0)]));
        let ((x0, x1), (y0, y1)) = chart.ranges();
        assert!(x0 < 1.0 && x0 > 0.0 && x1 > 100.0);
        // (0, 5) is not drawable on a log x axis, so y spans 1..3 plus 5 % margins.
        assert!(
            (y0 - 0.9).abs() < 1e-12 && (y1 - 3.1).abs() < 1e-12,
            "{y0} {y1}"
        );
        assert_eq!(fit(std::iter::empty(), false), (0.0, 1.0));
        let (low, high) = fit([2.0].into_iter(), false);
        assert!((low - 1.8).abs() < 1e-12 && (high - 2.2).abs() < 1e-12);
    }

    #[test]
    fn log_ticks_fit_the_range() {
        struct Max(usize);
        impl KeyPointHint for Max {
            fn max_num_points(&self) -> usize {
                self.0
            }
            fn weight(&self) -> plotters::coord::ranged1d::KeyPointWeight {
                plotters::coord::ranged1d::KeyPointWeight::Bold
            }
        }
        let round =
            |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|x| (x * 1e6).round() / 1e6).collect() };
        let axis = LogAxis::new(0.15, 0.9);
        assert_eq!(
            round(axis.key_points(Max(8))),
            [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
        );
        assert_eq!(round(axis.key_points(Max(3))), [0.2, 0.5]);
        let axis = LogAxis::new(0.6, 1e5);
        assert_eq!(
            round(axis.key_points(Max(10))),
            [1.0, 10.0, 100.0, 1e3, 1e4, 1e5]
        );
        assert_eq!(round(axis.key_points(Max(3))), [1.0, 100.0, 1e4]);
        let axis = LogAxis::new(40.0, 6000.0).with_powers_of_two(true);
        assert_eq!(
            axis.key_points(Max(10)),
            [64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0]
        );
        assert_eq!(axis.key_points(Max(4)), [64.0, 256.0, 1024.0, 4096.0]);
    }

    #[test]
    fn suffix_is_appended() {
        assert_eq!(
            with_suffix(Path::new("out/lr0.1"), "svg"),
            PathBuf::from("out/lr0.1.svg")
        );
    }

    #[test]
    fn writes_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves");
        let chart = LineChart::new("Loss", "epoch", "loss")
            .with_log_axes(false, true)
            .with_series(Series::new("train", vec![(1.0, 0.5), (2.0, 0.2)]))
            .with_series(Series::new("test", vec![(1.0, 0.6), (2.0, 0.3)]));
        save_grid_svg_and_png(&[chart.clone(), chart], 2, &path).unwrap();
        assert!(with_suffix(&path, "svg").metadata().unwrap().len() > 0);
        assert!(with_suffix(&path, "png").metadata().unwrap().len() > 0);
    }
}
