//! The report's pictures of digits, for the eye: sample training digits with their labels, the
//! tuned deep net's most confident mistakes on the test set, its confusion matrix as a heat map,
//! and the first-layer weights of the tuned shallow net (each hidden unit's 784 weights as a
//! 28 × 28 image: what the unit looks for).
//!
//! Each picture is an SVG and a PNG in `<results>/plots/`, drawn with plotters like the report's
//! charts; the digits are bitmaps (embedded as PNG in the SVG). [`draw_all`] draws them and
//! returns the figures the report quotes beside them ([`DigitFacts`]).

use crate::Result;
use mlp_cli::model_file;
use mlp_data::{Dataset, Mnist};
use plotters::coord::Shift;
use plotters::element::BitMapElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// The tuned deep net whose mistakes and confusion matrix are drawn (the report's first seed of
/// its reported tuned runs, with the validation split kept).
pub const DEEP_RUN: &str = "deep-tuned-s1";
/// The tuned shallow net whose first-layer weights are drawn.
pub const SHALLOW_RUN: &str = "shallow-tuned-s1";
/// File stems of the four pictures, under `plots/`.
pub const SAMPLES: &str = "digits-train";
/// See [`SAMPLES`].
pub const MISTAKES: &str = "digits-mistakes";
/// See [`SAMPLES`].
pub const CONFUSION: &str = "digits-confusion";
/// See [`SAMPLES`].
pub const WEIGHTS: &str = "digits-weights";

/// Training digits shown per class.
const SAMPLES_PER_CLASS: usize = 5;
/// Mistakes shown, the most confident first.
const N_MISTAKES: usize = 24;
/// Pixels per digit pixel.
const ZOOM: usize = 3;
/// Digit side in MNIST.
const SIDE: usize = 28;

/// A test image the net got wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Mistake {
    /// Its index in the test set.
    pub index: usize,
    /// Its true class.
    pub label: u8,
    /// The class the net gave.
    pub predicted: usize,
    /// The probability the net gave that class.
    pub probability: f32,
}

/// What the tuned deep net did on the test set.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    /// Every mistake, the most confident first.
    pub mistakes: Vec<Mistake>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

/// What the tuned shallow net's first layer holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstLayer {
    /// Its hidden units.
    pub units: usize,
    /// The units (of a ReLU layer) whose input is negative on every test digit: they never fire,
    /// so they take no part in the classification. They stopped firing during training and then
    /// got no more gradient, so their weights still resemble their random start (they look like
    /// noise in the picture), much more than those of any unit that fires (tested).
    pub silent: Vec<usize>,
}

/// The figures behind the pictures, for the report's text.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitFacts {
    /// The deep net's run directory, and its outcome on the test set; `None` when the run is
    /// not there (a partial results directory).
    pub deep: Option<(PathBuf, TestOutcome)>,
    /// The shallow net's run directory and its first layer, if the run is there.
    pub shallow: Option<(PathBuf, FirstLayer)>,
    /// The pictures written, as paths relative to the results root (`plots/<stem>.png`).
    pub pictures: Vec<String>,
}

/// Draws the four pictures into `<root>/plots/` from the runs under `root` and the data set in
/// `data_dir`; a picture whose run is missing is left out.
pub fn draw_all(root: &Path, data_dir: &Path) -> Result<DigitFacts> {
    let mnist = mlp_data::load_dir(data_dir)?;
    let plots = root.join("plots");
    std::fs::create_dir_all(&plots)?;
    let mut pictures = Vec::new();
    let mut save = |picture: &dyn Picture, stem: &str| -> Result<()> {
        save_svg_and_png(picture, &plots.join(stem))?;
        pictures.push(format!("plots/{stem}.png"));
        Ok(())
    };
    save(&samples(&mnist.train), SAMPLES)?;

    let deep_dir = root.join(DEEP_RUN);
    let deep_model = deep_dir.join(mlp_cli::train::files::MODEL);
    let deep = if deep_model.is_file() {
        let outcome = test_outcome(&deep_model, &mnist)?;
        save(&mistakes(&mnist.test, &outcome.mistakes), MISTAKES)?;
        save(
            &ConfusionMap {
                counts: outcome.confusion.clone(),
            },
            CONFUSION,
        )?;
        Some((deep_dir, outcome))
    } else {
        None
    };

    let shallow_dir = root.join(SHALLOW_RUN);
    let shallow_model = shallow_dir.join(mlp_cli::train::files::MODEL);
    let shallow = if shallow_model.is_file() {
        let (grid, layer) = first_layer_weights(&shallow_model, &mnist.test)?;
        save(&grid, WEIGHTS)?;
        Some((shallow_dir, layer))
    } else {
        None
    };
    Ok(DigitFacts {
        deep,
        shallow,
        pictures,
    })
}

/// Classifies the whole test set with the model at `path`: its mistakes and confusion matrix.
pub fn test_outcome(path: &Path, mnist: &Mnist) -> Result<TestOutcome> {
    let mut model = model_file::load(path)?;
    let test = &mnist.test;
    let k = test.n_classes();
    let mut confusion = vec![vec![0usize; k]; k];
    let mut mistakes = Vec::new();
    let chunk = mlp_cli::evaluate::EVAL_CHUNK;
    let images = test.to_matrix::<f32>();
    for start in (0..test.len()).step_by(chunk) {
        let m = chunk.min(test.len() - start);
        let probabilities = model.mlp.propagate(images.subcols(start, m))?;
        for j in 0..m {
            let column = probabilities.col(j);
            let (predicted, probability) =
                (0..k)
                    .map(|c| (c, column[c]))
                    .fold(
                        (0, f32::MIN),
                        |best, (c, p)| if p > best.1 { (c, p) } else { best },
                    );
            let label = test.labels()[start + j];
            confusion[usize::from(label)][predicted] += 1;
            if predicted != usize::from(label) {
                mistakes.push(Mistake {
                    index: start + j,
                    label,
                    predicted,
                    probability,
                });
            }
        }
    }
    mistakes.sort_by(|a, b| {
        b.probability
            .total_cmp(&a.probability)
            .then(a.index.cmp(&b.index))
    });
    Ok(TestOutcome {
        mistakes,
        confusion,
    })
}

/// One image of a grid with the line of text under it.
struct Tile {
    /// RGB bytes, `SIDE · ZOOM` pixels square.
    rgb: Vec<u8>,
    caption: String,
}

impl Tile {
    /// A digit (values in `0..=1`, row after row) drawn dark on white, as on paper.
    fn digit(pixels: &[f32], caption: String) -> Self {
        Self::from_fn(
            |i| {
                let v = (255.0 * (1.0 - pixels[i])).round().clamp(0.0, 255.0) as u8;
                [v, v, v]
            },
            caption,
        )
    }

    /// Weights drawn red where positive, blue where negative, white at zero, scaled by the
    /// largest magnitude among them.
    fn weights(weights: &[f32], caption: String) -> Self {
        let scale = weights
            .iter()
            .fold(0.0f32, |m, w| m.max(w.abs()))
            .max(f32::MIN_POSITIVE);
        Self::from_fn(
            |i| {
                let t = weights[i] / scale;
                let fade = (255.0 * (1.0 - t.abs())).round() as u8;
                if t >= 0.0 {
                    [255, fade, fade]
                } else {
                    [fade, fade, 255]
                }
            },
            caption,
        )
    }

    /// A tile whose pixel `i` (row after row) has colour `colour(i)`, each zoomed to a square.
    fn from_fn(colour: impl Fn(usize) -> [u8; 3], caption: String) -> Self {
        let side = SIDE * ZOOM;
        let mut rgb = Vec::with_capacity(side * side * 3);
        for y in 0..side {
            for x in 0..side {
                rgb.extend(colour((y / ZOOM) * SIDE + x / ZOOM));
            }
        }
        Self { rgb, caption }
    }
}

/// Tiles in rows under a title.
struct TileGrid {
    title: String,
    tiles: Vec<Tile>,
    columns: usize,
    /// Width of a cell, at least the tile's.
    cell_width: u32,
    /// Height left under each tile for its caption (0: none).
    caption_height: u32,
}

/// Something drawn into an SVG and a PNG of the same size.
trait Picture {
    fn size(&self) -> (u32, u32);
    fn draw_svg(&self, area: &DrawingArea<SVGBackend, Shift>) -> std::result::Result<(), String>;
    fn draw_png(&self, area: &DrawingArea<BitMapBackend, Shift>)
        -> std::result::Result<(), String>;
}

/// Implements [`Picture`] from a generic `draw` method.
macro_rules! picture {
    ($t:ty) => {
        impl Picture for $t {
            fn size(&self) -> (u32, u32) {
                self.size()
            }
            fn draw_svg(
                &self,
                area: &DrawingArea<SVGBackend, Shift>,
            ) -> std::result::Result<(), String> {
                self.draw(area).map_err(|e| e.to_string())
            }
            fn draw_png(
                &self,
                area: &DrawingArea<BitMapBackend, Shift>,
            ) -> std::result::Result<(), String> {
                self.draw(area).map_err(|e| e.to_string())
            }
        }
    };
}
picture!(TileGrid);
picture!(ConfusionMap);

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

const TITLE_HEIGHT: u32 = 40;
/// Height of each further line of a title.
const TITLE_LINE: u32 = 24;
const MARGIN: u32 = 12;

fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(HPos::Center, VPos::Top))
}

impl TileGrid {
    fn title_height(&self) -> u32 {
        TITLE_HEIGHT + (self.title.lines().count() as u32 - 1) * TITLE_LINE
    }

    fn size(&self) -> (u32, u32) {
        let rows = self.tiles.len().div_ceil(self.columns) as u32;
        let cell_height = (SIDE * ZOOM) as u32 + self.caption_height + MARGIN;
        (
            self.columns as u32 * self.cell_width + 2 * MARGIN,
            self.title_height() + rows * cell_height + MARGIN,
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let width = self.size().0;
        for (n, line) in self.title.lines().enumerate() {
            let y = 10 + n as u32 * TITLE_LINE;
            area.draw_text(line, &font(20), ((width / 2) as i32, y as i32))?;
        }
        let side = (SIDE * ZOOM) as u32;
        let cell_height = side + self.caption_height + MARGIN;
        for (n, tile) in self.tiles.iter().enumerate() {
            let (row, column) = ((n / self.columns) as u32, (n % self.columns) as u32);
            let x = MARGIN + column * self.cell_width;
            let y = self.title_height() + row * cell_height;
            let left = x + (self.cell_width - side) / 2;
            let image = BitMapElement::with_ref((left as i32, y as i32), (side, side), &tile.rgb)
                .expect("a tile holds side × side pixels");
            area.draw(&image)?;
            area.draw(&Rectangle::new(
                [
                    (left as i32, y as i32),
                    ((left + side) as i32, (y + side) as i32),
                ],
                RGBColor(190, 190, 190).stroke_width(1),
            ))?;
            if !tile.caption.is_empty() {
                let centre = (x + self.cell_width / 2) as i32;
                area.draw_text(&tile.caption, &font(13), (centre, (y + side + 3) as i32))?;
            }
        }
        area.present()
    }
}

/// The first [`SAMPLES_PER_CLASS`] training digits of each class, one column per class.
fn samples(train: &Dataset) -> TileGrid {
    let classes = train.n_classes();
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &label) in train.labels().iter().enumerate() {
        let list = &mut by_class[usize::from(label)];
        if list.len() < SAMPLES_PER_CLASS {
            list.push(i);
        }
    }
    let tiles = (0..SAMPLES_PER_CLASS)
        .flat_map(|row| {
            by_class
                .iter()
                .filter_map(move |list| list.get(row).copied())
        })
        .map(|i| Tile::digit(&train.sample(i), format!("{} (#{i})", train.labels()[i])))
        .collect();
    TileGrid {
        title: format!(
            "Training digits: the first {SAMPLES_PER_CLASS} of each class, with their labels (and indices)"
        ),
        tiles,
        columns: classes,
        cell_width: (SIDE * ZOOM) as u32 + 24,
        caption_height: 18,
    }
}

/// The most confident of `mistakes`.
fn mistakes(test: &Dataset, mistakes: &[Mistake]) -> TileGrid {
    let tiles = mistakes
        .iter()
        .take(N_MISTAKES)
        .map(|m| {
            Tile::digit(
                &test.sample(m.index),
                format!(
                    "{} read as {} ({:.1} %)",
                    m.label,
                    m.predicted,
                    100.0 * m.probability
                ),
            )
        })
        .collect();
    TileGrid {
        title: format!(
            "The tuned deep net's {N_MISTAKES} most confident mistakes on the test set ({DEEP_RUN}): true label read as predicted (probability)"
        ),
        tiles,
        columns: 8,
        cell_width: 150,
        caption_height: 18,
    }
}

/// Each hidden unit's weights on the 784 pixels, as a 28 × 28 image; the units that never fire
/// on `test` are marked.
fn first_layer_weights(path: &Path, test: &Dataset) -> Result<(TileGrid, FirstLayer)> {
    let model = model_file::load(path)?;
    let layer = &model.mlp.layers()[0];
    let w = layer.weights();
    if w.ncols() != SIDE * SIDE || w.ncols() != test.n_features() {
        return Err(format!(
            "{}: the first layer has {} inputs, not {}",
            path.display(),
            w.ncols(),
            SIDE * SIDE
        )
        .into());
    }
    let inputs = w * test.to_matrix::<f32>();
    let relu = layer.activation() == mlp_core::Activation::Relu;
    let silent: Vec<usize> = (0..w.nrows())
        .filter(|&unit| {
            relu && {
                let bias = layer.bias()[unit];
                (0..inputs.ncols()).all(|j| inputs[(unit, j)] + bias <= 0.0)
            }
        })
        .collect();
    let tiles = (0..w.nrows())
        .map(|unit| {
            let row: Vec<f32> = (0..w.ncols()).map(|j| w[(unit, j)]).collect();
            let caption = if silent.contains(&unit) { "silent" } else { "" };
            Tile::weights(&row, caption.into())
        })
        .collect();
    let grid = TileGrid {
        title: format!(
            "First-layer weights of the tuned shallow net ({SHALLOW_RUN}), one hidden unit per image\n\
             red positive, blue negative, each scaled to its largest; silent: never fires on a test digit"
        ),
        tiles,
        columns: 15,
        cell_width: (SIDE * ZOOM) as u32 + 6,
        caption_height: 16,
    };
    let units = w.nrows();
    Ok((grid, FirstLayer { units, silent }))
}

/// A confusion matrix as a heat map: rows true classes, columns predicted ones.
struct ConfusionMap {
    counts: Vec<Vec<usize>>,
}

/// Side of one cell of the heat map.
const CELL: u32 = 52;
/// Room left of and above the cells for the class labels and axis names.
const LABELS: u32 = 60;

impl ConfusionMap {
    fn size(&self) -> (u32, u32) {
        let k = self.counts.len() as u32;
        (
            LABELS + k * CELL + 2 * MARGIN + 40,
            TITLE_HEIGHT + LABELS + k * CELL + MARGIN,
        )
    }

    /// The colour of a count: white to dark blue on a logarithmic scale (the diagonal holds
    /// about a thousand, the rest a handful, and both should be readable).
    fn colour(count: usize, max: usize) -> (RGBColor, bool) {
        let t = (1.0 + count as f64).ln() / (1.0 + max as f64).ln();
        let mix = |light: f64, dark: f64| (light + t * (dark - light)).round() as u8;
        (
            RGBColor(mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0)),
            t > 0.55,
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&WHITE)?;
        let k = self.counts.len() as u32;
        let max = self.counts.iter().flatten().copied().max().unwrap_or(0);
        let (width, _) = self.size();
        area.draw_text(
            &format!(
                "Confusion matrix of the tuned deep net on the 10 000 test digits ({DEEP_RUN})"
            ),
            &font(18),
            ((width / 2) as i32, 10),
        )?;
        let (x0, y0) = (MARGIN + LABELS, TITLE_HEIGHT + LABELS);
        area.draw_text(
            "predicted class",
            &font(15),
            ((x0 + k * CELL / 2) as i32, (TITLE_HEIGHT + 8) as i32),
        )?;
        let side_label = font(15)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw_text(
            "true class",
            &side_label,
            (MARGIN as i32, (y0 + k * CELL / 2) as i32),
        )?;
        for c in 0..k {
            let middle = (c * CELL + CELL / 2) as i32;
            area.draw_text(
                &c.to_string(),
                &font(15),
                (x0 as i32 + middle, (y0 - 24) as i32),
            )?;
            area.draw_text(
                &c.to_string(),
                &font(15),
                ((x0 - 18) as i32, y0 as i32 + middle - 8),
            )?;
        }
        for (i, row) in self.counts.iter().enumerate() {
            for (j, &count) in row.iter().enumerate() {
                let (x, y) = (x0 + j as u32 * CELL, y0 + i as u32 * CELL);
                let (fill, dark) = Self::colour(count, max);
                area.draw(&Rectangle::new(
                    [(x as i32, y as i32), ((x + CELL) as i32, (y + CELL) as i32)],
                    fill.filled(),
                ))?;
                let style = font(14).pos(Pos::new(HPos::Center, VPos::Center));
                let style = if dark { style.color(&WHITE) } else { style };
                area.draw_text(
                    &count.to_string(),
                    &style,
                    ((x + CELL / 2) as i32, (y + CELL / 2) as i32),
                )?;
            }
        }
        area.present()
    }
}

/// Writes `<stem>.svg` and `<stem>.png`.
fn save_svg_and_png(picture: &dyn Picture, stem: &Path) -> Result<()> {
    mlp_cli::plot::register_font()?;
    let size = picture.size();
    let svg = stem.with_extension("svg");
    picture
        .draw_svg(&SVGBackend::new(&svg, size).into_drawing_area())
        .map_err(|e| format!("{}: {e}", svg.display()))?;
    let png = stem.with_extension("png");
    picture
        .draw_png(&BitMapBackend::new(&png, size).into_drawing_area())
        .map_err(|e| format!("{}: {e}", png.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests;
