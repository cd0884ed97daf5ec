//! MNIST test digits rendered as people would give them — larger, smaller, inverted, in colour,
//! off-centre, encoded as PNG — come back from `Digit` close to the originals.

use image::{imageops, GrayImage, Luma, Rgba, RgbaImage};
use mlp_data::digit::{Digit, SIDE};
use mlp_data::Dataset;

fn mnist_test() -> Dataset {
    mlp_data::load_test_set(&mlp_data::default_data_dir()).unwrap()
}

fn grey(test: &Dataset, i: usize) -> GrayImage {
    let bytes = test
        .sample(i)
        .into_iter()
        .map(|v| (v * 255.0).round() as u8);
    GrayImage::from_raw(SIDE as u32, SIDE as u32, bytes.collect()).unwrap()
}

/// Mean absolute difference per pixel.
fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

/// `digit` resized to `side` by `filter`, at (`x`, `y`) on a black `width × height` field.
fn placed(
    digit: &GrayImage,
    side: u32,
    filter: imageops::FilterType,
    (width, height): (u32, u32),
    (x, y): (i64, i64),
) -> GrayImage {
    let big = imageops::resize(digit, side, side, filter);
    let mut field = GrayImage::from_pixel(width, height, Luma([0]));
    imageops::overlay(&mut field, &big, x, y);
    field
}

/// Mean and worst distances, over the first `n` test digits, between each digit and what comes
/// back from `render(digit)`; also the mean distance between each digit and itself shifted by one
/// pixel, as a yardstick.
fn round_trip(n: usize, render: impl Fn(&GrayImage) -> Digit) -> (f32, f32, f32) {
    let test = mnist_test();
    let (mut total, mut worst, mut shifted) = (0.0, 0.0f32, 0.0);
    for i in 0..n {
        let original = test.sample(i);
        let back = render(&grey(&test, i));
        let d = distance(&original, back.pixels());
        total += d;
        worst = worst.max(d);
        let moved: Vec<f32> = (0..SIDE * SIDE)
            .map(|p| if p % SIDE == 0 { 0.0 } else { original[p - 1] })
            .collect();
        shifted += distance(&original, &moved);
    }
    (total / n as f32, worst, shifted / n as f32)
}

#[test]
fn enlarged_exactly_and_inverted_comes_back_nearly_identical() {
    // Three times larger by pixel replication, dark on white paper, off-centre, as a PNG file.
    let (mean, worst, shift) = round_trip(200, |digit| {
        let mut image = placed(
            digit,
            84,
            imageops::FilterType::Nearest,
            (150, 110),
            (50, 5),
        );
        imageops::invert(&mut image);
        let mut png = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut png),
                image::ImageOutputFormat::Png,
            )
            .unwrap();
        Digit::from_bytes(&png, "enlarged.png").unwrap()
    });
    eprintln!("enlarged ×3: mean {mean:.4}, worst {worst:.4}, one-pixel shift {shift:.4}");
    assert!(
        mean < 0.1 * shift,
        "mean distance {mean} vs a one-pixel shift's {shift}"
    );
    assert!(
        worst < shift,
        "worst distance {worst} vs a one-pixel shift's {shift}"
    );
}

#[test]
fn coloured_resampled_sizes_come_back_close() {
    // Blue ink on yellow paper, 2.5 times larger with bilinear filtering; and grey, smaller.
    let coloured = |digit: &GrayImage| {
        let image = placed(
            digit,
            70,
            imageops::FilterType::Triangle,
            (90, 120),
            (12, 30),
        );
        let (ink, paper) = ([20.0, 40.0, 160.0], [250.0, 235.0, 170.0]);
        let rgba = RgbaImage::from_fn(image.width(), image.height(), |x, y| {
            let t = f32::from(image.get_pixel(x, y)[0]) / 255.0;
            let [r, g, b] = [0, 1, 2].map(|c| (paper[c] + t * (ink[c] - paper[c])).round() as u8);
            Rgba([r, g, b, 255])
        });
        Digit::from_rgba(rgba.as_raw(), 90, 120, "coloured").unwrap()
    };
    let (mean, worst, shift) = round_trip(200, coloured);
    eprintln!("coloured ×2.5: mean {mean:.4}, worst {worst:.4}, one-pixel shift {shift:.4}");
    // Bilinear enlargement blurs the strokes' edges, which widens the ink's box a little, so the
    // digit comes back slightly smaller: still closer to the original than a one-pixel shift.
    assert!(
        mean < 0.75 * shift,
        "mean distance {mean} vs a one-pixel shift's {shift}"
    );

    let smaller = |digit: &GrayImage| {
        let image = placed(digit, 21, imageops::FilterType::Triangle, (30, 40), (2, 15));
        Digit::from_grey(image.as_raw(), 30, 40, "smaller").unwrap()
    };
    let (mean, worst, shift) = round_trip(200, smaller);
    eprintln!("smaller ×0.75: mean {mean:.4}, worst {worst:.4}, one-pixel shift {shift:.4}");
    assert!(
        mean < shift,
        "mean distance {mean} vs a one-pixel shift's {shift}"
    );
}
