//! A handwritten digit from an image file or a pixel buffer, prepared the way MNIST's were.
//!
//! MNIST's digits were scanned, size-normalised into a 20 × 20 box keeping their aspect ratio
//! (anti-aliased, hence the grey levels) and centred by their centre of mass in a 28 × 28 field,
//! white ink on black. A net trained on them expects exactly that, so a drawing or a photo goes
//! through the same steps ([`Digit::from_rgba`] and its siblings):
//!
//! 1. grey scale (colour by its luminance; transparent pixels count as white paper);
//! 2. inverted when the background — the median of the border pixels — is light, so that the ink
//!    is bright;
//! 3. the background level taken off and the contrast stretched to `0..=1`; an image whose ink
//!    stands less than [`MIN_CONTRAST`] above its background is blank;
//! 4. cropped to the bounding box of the ink;
//! 5. scaled so that its longer side is [`BOX`] pixels, the aspect ratio kept, by area averaging
//!    (each output pixel is the mean of the input area it covers: exact anti-aliasing when
//!    shrinking);
//! 6. placed in the [`SIDE`] × [`SIDE`] field so that its centre of mass falls on the pixel at the
//!    field's centre, (14, 14) counting from 0, as in MNIST (shifted less if that would push ink
//!    over the edge).
//!
//! The values are those [`Dataset`](crate::Dataset) gives a net: `0.0` for the background,
//! `1.0` for full ink, one row of the image after the other.
//!
//! ```
//! use mlp_data::digit::{Digit, BOX, SIDE};
//!
//! // A dark vertical bar, 10 pixels wide and 40 tall, on white paper of 60 × 60 pixels.
//! let (width, height) = (60, 60);
//! let grey: Vec<u8> = (0..width * height)
//!     .map(|i| if (25..35).contains(&(i % width)) && (10..50).contains(&(i / width)) { 0 } else { 255 })
//!     .collect();
//! let digit = Digit::from_grey(&grey, width, height, "bar")?;
//! assert_eq!(digit.pixels().len(), SIDE * SIDE);
//! // Bright ink on black now, 20 pixels tall (the box) and 5 wide (the aspect ratio kept).
//! let ink_rows = (0..SIDE).filter(|y| digit.pixels()[y * SIDE..][..SIDE].iter().any(|&v| v > 0.5));
//! assert_eq!(ink_rows.count(), BOX);
//! let ink_cols = (0..SIDE).filter(|x| (0..SIDE).any(|y| digit.pixels()[y * SIDE + x] > 0.5));
//! assert_eq!(ink_cols.count(), 5);
//! # Ok::<(), mlp_data::DataError>(())
//! ```

use crate::{DataError, Result};
use std::io::Cursor;
use std::path::Path;

/// Side of the field a digit is placed in, in pixels (MNIST's 28).
pub const SIDE: usize = 28;
/// Side of the box the digit's longer side is scaled to (MNIST's 20).
pub const BOX: usize = 20;
/// The largest image file read, in bytes (a phone photo is a few megabytes).
pub const MAX_BYTES: u64 = 64 << 20;
/// The largest image decoded, in pixels (a 48-megapixel photo still fits).
pub const MAX_PIXELS: u64 = 50_000_000;
/// How far the ink must stand above the background (on a 0–1 grey scale) for an image not to be
/// blank: 0.15 is 38 of 255 grey levels, well above the noise of a photo of a blank page.
pub const MIN_CONTRAST: f32 = 0.15;
/// The fraction of the full contrast above which a pixel counts as ink for the bounding box: low,
/// so that the faint anti-aliased edges of a stroke stay inside it, as they did in MNIST.
const INK_THRESHOLD: f32 = 0.05;

/// A digit as a net sees it: [`SIDE`] × [`SIDE`] values in `0..=1`, row after row, bright ink on
/// a black background.
#[derive(Debug, Clone, PartialEq)]
pub struct Digit {
    pixels: Vec<f32>,
}

impl Digit {
    /// Reads an image file (PNG, JPEG, PNM or BMP) and prepares its digit.
    ///
    /// The size is checked before the file is read, so a huge file fails at once.
    pub fn from_file(path: &Path) -> Result<Self> {
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let input = path.display().to_string();
        let size = std::fs::metadata(path).map_err(io)?.len();
        check_bytes(size, &input)?;
        let bytes = std::fs::read(path).map_err(io)?;
        Self::from_bytes(&bytes, &input)
    }

    /// Decodes an encoded image (PNG, JPEG, PNM or BMP, recognised by content) and prepares its
    /// digit; `input` names it in errors.
    pub fn from_bytes(bytes: &[u8], input: &str) -> Result<Self> {
        check_bytes(bytes.len() as u64, input)?;
        let not_an_image = |reason: String| DataError::NotAnImage {
            input: input.to_owned(),
            reason,
        };
        let format = image::guess_format(bytes)
            .map_err(|_| not_an_image("its content is not PNG, JPEG, PNM or BMP".to_owned()))?;
        let (width, height) = image::io::Reader::with_format(Cursor::new(bytes), format)
            .into_dimensions()
            .map_err(|e| not_an_image(e.to_string()))?;
        check_pixels(width as usize, height as usize, input)?;
        let decoded = image::io::Reader::with_format(Cursor::new(bytes), format)
            .decode()
            .map_err(|e| not_an_image(e.to_string()))?;
        let rgba = decoded.to_rgba8();
        Self::from_rgba(rgba.as_raw(), width as usize, height as usize, input)
    }

    /// Prepares the digit of an 8-bit grey image, `width × height` bytes row after row (any
    /// size, dark on light or light on dark); `input` names it in errors.
    pub fn from_grey(pixels: &[u8], width: usize, height: usize, input: &str) -> Result<Self> {
        check_buffer(pixels.len(), width, height, 1, input)?;
        let grey = pixels.iter().map(|&v| f32::from(v) / 255.0).collect();
        prepare(Grey::new(width, height, grey), input)
    }

    /// Prepares the digit of an 8-bit RGBA image, `4 × width × height` bytes row after row, as a
    /// browser canvas gives them; transparent pixels count as white paper. `input` names it in
    /// errors.
    pub fn from_rgba(pixels: &[u8], width: usize, height: usize, input: &str) -> Result<Self> {
        check_buffer(pixels.len(), width, height, 4, input)?;
        let grey = pixels
            .chunks_exact(4)
            .map(|p| {
                let [r, g, b, a] = [p[0], p[1], p[2], p[3]].map(|c| f32::from(c) / 255.0);
                let luminance = 0.299 * r + 0.587 * g + 0.114 * b;
                a * luminance + (1.0 - a)
            })
            .collect();
        prepare(Grey::new(width, height, grey), input)
    }

    /// The [`SIDE`] × [`SIDE`] values, row after row: one column of a batch matrix.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// The digit as an 8-bit grey PNG, white ink on black as MNIST's images look.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let bytes: Vec<u8> = self
            .pixels
            .iter()
            .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect();
        let image =
            image::GrayImage::from_raw(SIDE as u32, SIDE as u32, bytes).expect("SIDE × SIDE bytes");
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), image::ImageOutputFormat::Png)
            .map_err(|e| DataError::NotAnImage {
                input: "the prepared digit".into(),
                reason: e.to_string(),
            })?;
        Ok(png)
    }
}

fn check_bytes(size: u64, input: &str) -> Result<()> {
    if size == 0 {
        return Err(DataError::EmptyImage {
            input: input.to_owned(),
        });
    }
    if size > MAX_BYTES {
        return Err(DataError::ImageTooLarge {
            input: input.to_owned(),
            size,
            limit: MAX_BYTES,
            unit: "bytes",
        });
    }
    Ok(())
}

fn check_pixels(width: usize, height: usize, input: &str) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(DataError::EmptyImage {
            input: input.to_owned(),
        });
    }
    let size = width as u64 * height as u64;
    if size > MAX_PIXELS {
        return Err(DataError::ImageTooLarge {
            input: input.to_owned(),
            size,
            limit: MAX_PIXELS,
            unit: "pixels",
        });
    }
    Ok(())
}

fn check_buffer(
    len: usize,
    width: usize,
    height: usize,
    channels: usize,
    input: &str,
) -> Result<()> {
    check_pixels(width, height, input)?;
    if width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
        != Some(len)
    {
        return Err(DataError::BadPixelBuffer {
            input: input.to_owned(),
            len,
            width,
            height,
            channels,
        });
    }
    Ok(())
}

/// A grey image with values in `0..=1`, row after row.
struct Grey {
    width: usize,
    height: usize,
    values: Vec<f32>,
}

impl Grey {
    fn new(width: usize, height: usize, values: Vec<f32>) -> Self {
        debug_assert_eq!(values.len(), width * height);
        Self {
            width,
            height,
            values,
        }
    }

    /// The median of the outermost ring of pixels: the paper's shade, whatever the ink does.
    fn border_median(&self) -> f32 {
        let (w, h) = (self.width, self.height);
        let mut ring: Vec<f32> = (0..w * h)
            .filter(|i| {
                let (x, y) = (i % w, i / w);
                x == 0 || y == 0 || x + 1 == w || y + 1 == h
            })
            .map(|i| self.values[i])
            .collect();
        ring.sort_by(f32::total_cmp);
        ring[ring.len() / 2]
    }
}

/// Steps 2 to 6 of the module's list.
fn prepare(mut grey: Grey, input: &str) -> Result<Digit> {
    if grey.border_median() > 0.5 {
        grey.values.iter_mut().for_each(|v| *v = 1.0 - *v);
    }
    let background = grey.border_median();
    let peak = grey.values.iter().copied().fold(0.0f32, f32::max);
    let contrast = peak - background;
    if contrast < MIN_CONTRAST {
        return Err(DataError::BlankImage {
            input: input.to_owned(),
            contrast,
        });
    }
    for v in &mut grey.values {
        *v = ((*v - background) / contrast).clamp(0.0, 1.0);
    }
    let ink = crop_to_ink(&grey);
    let scale = BOX as f64 / ink.width.max(ink.height) as f64;
    let width = ((ink.width as f64 * scale).round() as usize).clamp(1, BOX);
    let height = ((ink.height as f64 * scale).round() as usize).clamp(1, BOX);
    Ok(centre(&resample(&ink, width, height)))
}

/// The smallest rectangle holding every pixel above [`INK_THRESHOLD`] (there is one: the
/// contrast check found a pixel at 1).
fn crop_to_ink(grey: &Grey) -> Grey {
    let (mut x0, mut y0, mut x1, mut y1) = (grey.width, grey.height, 0, 0);
    for (i, &v) in grey.values.iter().enumerate() {
        if v > INK_THRESHOLD {
            let (x, y) = (i % grey.width, i / grey.width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
    }
    let values = (y0..y1)
        .flat_map(|y| {
            grey.values[y * grey.width + x0..y * grey.width + x1]
                .iter()
                .copied()
        })
        .collect();
    Grey::new(x1 - x0, y1 - y0, values)
}

/// For each of `n_out` output pixels along an axis of `n_in` input pixels, the input pixels it
/// covers and the fraction of it each one covers (summing to 1).
fn area_weights(n_in: usize, n_out: usize) -> Vec<Vec<(usize, f32)>> {
    let step = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|o| {
            let (lo, hi) = (o as f64 * step, (o + 1) as f64 * step);
            (lo.floor() as usize..(hi.ceil() as usize).min(n_in))
                .filter_map(|i| {
                    let overlap = hi.min(i as f64 + 1.0) - lo.max(i as f64);
                    (overlap > 0.0).then_some((i, (overlap / step) as f32))
                })
                .collect()
        })
        .collect()
}

/// `image` resampled to `width × height` by area averaging, one axis after the other.
fn resample(image: &Grey, width: usize, height: usize) -> Grey {
    let across = area_weights(image.width, width);
    let down = area_weights(image.height, height);
    let mut rows = vec![0.0f32; width * image.height];
    for y in 0..image.height {
        let src = &image.values[y * image.width..][..image.width];
        for (x, weights) in across.iter().enumerate() {
            rows[y * width + x] = weights.iter().map(|&(i, w)| w * src[i]).sum();
        }
    }
    let mut out = vec![0.0f32; width * height];
    for (y, weights) in down.iter().enumerate() {
        for x in 0..width {
            out[y * width + x] = weights.iter().map(|&(i, w)| w * rows[i * width + x]).sum();
        }
    }
    Grey::new(width, height, out)
}

/// `image` (at most [`SIDE`] on each side) placed in the field with its centre of mass on the
/// field's centre, or as near as keeps it whole.
fn centre(image: &Grey) -> Digit {
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &v) in image.values.iter().enumerate() {
        let (x, y) = (
            (i % image.width) as f64 + 0.5,
            (i / image.width) as f64 + 0.5,
        );
        mass += f64::from(v);
        mx += f64::from(v) * x;
        my += f64::from(v) * y;
    }
    // MNIST's digits have their centre of mass on pixel (14, 14) counting from 0, i.e. at 14.5
    // in these coordinates where pixel i spans [i, i + 1): the test set's lie in [14, 15).
    let target = SIDE as f64 / 2.0 + 0.5;
    let offset = |com: f64, size: usize| {
        let shift = (target - com / mass).round().max(0.0) as usize;
        shift.min(SIDE - size)
    };
    let (dx, dy) = (offset(mx, image.width), offset(my, image.height));
    let mut pixels = vec![0.0f32; SIDE * SIDE];
    for y in 0..image.height {
        let row = &image.values[y * image.width..][..image.width];
        pixels[(y + dy) * SIDE + dx..][..image.width].copy_from_slice(row);
    }
    Digit { pixels }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `width × height` grey image, `paper` everywhere except `ink` on the given rectangle.
    fn rectangle(
        (width, height): (usize, usize),
        (x0, y0, x1, y1): (usize, usize, usize, usize),
        paper: u8,
        ink: u8,
    ) -> Vec<u8> {
        (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
                    ink
                } else {
                    paper
                }
            })
            .collect()
    }

    /// The bounding box of the pixels above one half, `(x0, y0, x1, y1)`.
    fn ink_box(digit: &Digit) -> (usize, usize, usize, usize) {
        let mut b = (SIDE, SIDE, 0, 0);
        for (i, &v) in digit.pixels().iter().enumerate() {
            if v > 0.5 {
                let (x, y) = (i % SIDE, i / SIDE);
                b = (b.0.min(x), b.1.min(y), b.2.max(x + 1), b.3.max(y + 1));
            }
        }
        b
    }

    fn centre_of_mass(digit: &Digit) -> (f64, f64) {
        let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
        for (i, &v) in digit.pixels().iter().enumerate() {
            let v = f64::from(v);
            m += v;
            mx += v * ((i % SIDE) as f64 + 0.5);
            my += v * ((i / SIDE) as f64 + 0.5);
        }
        (mx / m, my / m)
    }

    #[test]
    fn a_wide_bar_keeps_its_aspect_ratio_and_is_centred() {
        // 80 × 20 dark ink on 200 × 120 white paper, off-centre: 4:1 becomes 20 × 5.
        let grey = rectangle((200, 120), (10, 90, 90, 110), 255, 0);
        let digit = Digit::from_grey(&grey, 200, 120, "bar").unwrap();
        let (x0, y0, x1, y1) = ink_box(&digit);
        assert_eq!((x1 - x0, y1 - y0), (BOX, 5));
        // The centre of mass (10, 2.5) goes to within half a pixel of (14.5, 14.5).
        assert_eq!((x0, y0), (5, 12), "5 + 20 + 3 across, 12 + 5 + 11 down");
        let (cx, cy) = centre_of_mass(&digit);
        assert!(
            (cx - 14.5).abs() <= 0.5 && (cy - 14.5).abs() <= 0.5,
            "{cx} {cy}"
        );
        // A uniform bar stays uniform: area averaging of whole pixels.
        assert!(digit.pixels().iter().all(|&v| v == 0.0 || v == 1.0));
    }

    #[test]
    fn light_on_dark_and_dark_on_light_give_the_same_digit() {
        let dark_on_light = rectangle((50, 70), (20, 10, 30, 60), 230, 20);
        let light_on_dark = rectangle((50, 70), (20, 10, 30, 60), 20, 230);
        let a = Digit::from_grey(&dark_on_light, 50, 70, "a").unwrap();
        let b = Digit::from_grey(&light_on_dark, 50, 70, "b").unwrap();
        assert_eq!(a, b);
        let (x0, y0, x1, y1) = ink_box(&a);
        assert_eq!((x1 - x0, y1 - y0), (4, BOX));
        // The contrast is stretched: full ink is 1 although the ink was grey.
        assert_eq!(a.pixels().iter().copied().fold(0.0, f32::max), 1.0);
    }

    #[test]
    fn mass_not_box_decides_the_position() {
        // An upside-down T whose stem is left of centre: its mass sits left of its box's centre.
        let framed: Vec<u8> = (0..60 * 60)
            .map(|i| {
                let (x, y) = (i % 60, i / 60);
                let stem = (20..30).contains(&x) && (10..50).contains(&y);
                let foot = (10..50).contains(&x) && (46..50).contains(&y);
                if stem || foot {
                    255
                } else {
                    0
                }
            })
            .collect();
        let digit = Digit::from_grey(&framed, 60, 60, "T").unwrap();
        let (cx, cy) = centre_of_mass(&digit);
        assert!(
            (cx - 14.5).abs() <= 0.5 && (cy - 14.5).abs() <= 0.5,
            "{cx} {cy}"
        );
        let (x0, _, x1, _) = ink_box(&digit);
        assert!(
            x0 > 4 && x1 == x0 + BOX,
            "the box is pushed right: {x0}..{x1}"
        );
    }

    #[test]
    fn shrinking_averages_areas() {
        // A 40 × 40 checkerboard of single pixels shrinks to uniform grey 0.5 (box 20 × 20).
        let board: Vec<u8> = (0..1600)
            .map(|i| if (i % 40 + i / 40) % 2 == 0 { 255 } else { 0 })
            .collect();
        let mut framed = vec![0u8; 60 * 60];
        for y in 0..40 {
            framed[(y + 10) * 60 + 10..][..40].copy_from_slice(&board[y * 40..][..40]);
        }
        let digit = Digit::from_grey(&framed, 60, 60, "board").unwrap();
        let inside: Vec<f32> = (5..25)
            .flat_map(|y| digit.pixels()[y * SIDE + 5..y * SIDE + 25].to_vec())
            .collect();
        assert!(inside.iter().all(|&v| (v - 0.5).abs() < 1e-6), "{inside:?}");
    }

    #[test]
    fn transparent_canvas_counts_as_paper() {
        // A canvas: transparent everywhere, opaque black strokes.
        let (w, h) = (30, 30);
        let rgba: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let stroke = (10..20).contains(&(i % w)) && (5..25).contains(&(i / w));
                if stroke {
                    [0, 0, 0, 255]
                } else {
                    [0, 0, 0, 0]
                }
            })
            .collect();
        let digit = Digit::from_rgba(&rgba, w, h, "canvas").unwrap();
        let (x0, y0, x1, y1) = ink_box(&digit);
        assert_eq!((x1 - x0, y1 - y0), (10, BOX));
    }

    #[test]
    fn bad_inputs_are_typed_errors_naming_the_input() {
        let blank = vec![200u8; 100];
        let faint = rectangle((10, 10), (3, 3, 6, 6), 200, 180);
        let cases: Vec<(Result<Digit>, &str)> = vec![
            (Digit::from_grey(&[], 0, 0, "none"), "empty"),
            (Digit::from_grey(&blank, 10, 10, "white"), "blank"),
            (Digit::from_grey(&faint, 10, 10, "faint"), "blank"),
            (Digit::from_grey(&blank, 10, 9, "short"), "cannot be"),
            (Digit::from_rgba(&blank, 10, 10, "rgb?"), "cannot be"),
            (Digit::from_grey(&[], 100_000, 100_000, "huge"), "too large"),
            (Digit::from_bytes(b"", "nothing"), "empty"),
            (Digit::from_bytes(b"hello, world", "text"), "not an image"),
            (
                Digit::from_bytes(b"\x89PNG\r\n\x1a\n\0\0", "cut.png"),
                "not an image",
            ),
            (
                Digit::from_bytes(b"P5 60000 60000 255\n\0", "big.pgm"),
                "too large",
            ),
        ];
        for (result, expected) in cases {
            let err = result.expect_err(expected).to_string();
            assert!(err.contains(expected), "{err}");
        }
        let err = Digit::from_file(Path::new("no/such.png")).unwrap_err();
        assert!(err.to_string().contains("no/such.png"), "{err}");
        let err = Digit::from_grey(&blank, 10, 10, "white.png").unwrap_err();
        assert!(err.to_string().starts_with("white.png: "), "{err}");
    }

    #[test]
    fn png_round_trip() {
        let grey = rectangle((40, 40), (5, 5, 15, 35), 255, 0);
        let digit = Digit::from_grey(&grey, 40, 40, "bar").unwrap();
        let png = digit.to_png().unwrap();
        let again = Digit::from_bytes(&png, "digit.png").unwrap();
        assert_eq!(again, digit, "a prepared digit is a fixed point");
    }
}
