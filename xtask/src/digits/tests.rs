//! Tests of the digit pictures: on the real data set and committed models, and by hand.

use super::*;

#[test]
fn outcome_agrees_with_evaluate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    let mnist = mlp_data::load_dir(&mlp_data::default_data_dir()).unwrap();
    let path = root.join(DEEP_RUN).join(mlp_cli::train::files::MODEL);
    let outcome = test_outcome(&path, &mnist).unwrap();
    let mut model = model_file::load(&path).unwrap();
    let metrics = mlp_cli::evaluate::evaluate(
        &mut model.mlp,
        &mnist.test,
        &mut mlp_cli::evaluate::EvalBuffers::new(784, 10),
    )
    .unwrap();
    assert_eq!(outcome.confusion, metrics.confusion);
    let wrong = (metrics.error * mnist.test.len() as f64).round() as usize;
    assert_eq!(outcome.mistakes.len(), wrong);
    assert!(outcome
        .mistakes
        .windows(2)
        .all(|w| w[0].probability >= w[1].probability));
    assert!(outcome
        .mistakes
        .iter()
        .all(|m| usize::from(m.label) != m.predicted && m.probability >= 0.1));
}

/// The cosine of the angle between two vectors.
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot = |x: &[f32], y: &[f32]| {
        x.iter()
            .zip(y)
            .map(|(&p, &q)| f64::from(p) * f64::from(q))
            .sum::<f64>()
    };
    dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
}

#[test]
fn silent_units_kept_more_of_their_random_start() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    let mnist = mlp_data::load_dir(&mlp_data::default_data_dir()).unwrap();
    let path = root.join(SHALLOW_RUN).join(mlp_cli::train::files::MODEL);
    let (grid, layer) = first_layer_weights(&path, &mnist.test).unwrap();
    assert_eq!(grid.tiles.len(), layer.units);
    assert!(!layer.silent.is_empty() && layer.silent.len() < layer.units / 2);
    // The initial weights, drawn again from the run's seed.
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(path.with_file_name("summary.json")).unwrap(),
    )
    .unwrap();
    let sizes: Vec<usize> = serde_json::from_value(summary["sizes"].clone()).unwrap();
    let seed = summary["config"]["seed"].as_u64().unwrap();
    let start = mlp_core::Mlp::<f32>::new(&sizes, mlp_core::Activation::Relu, seed).unwrap();
    let trained = model_file::load(&path).unwrap();
    let row = |mlp: &mlp_core::Mlp<f32>, unit: usize| -> Vec<f32> {
        let w = mlp.layers()[0].weights();
        (0..w.ncols()).map(|j| w[(unit, j)]).collect()
    };
    let (mut silent, mut active): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for unit in 0..layer.units {
        let c = cosine(&row(&start, unit), &row(&trained.mlp, unit));
        if layer.silent.contains(&unit) {
            silent.push(c);
        } else {
            active.push(c);
        }
    }
    silent.sort_by(f64::total_cmp);
    active.sort_by(f64::total_cmp);
    eprintln!("silent {silent:.3?}\nactive {active:.3?}");
    // Every silent unit is nearer its random start than any unit that fires.
    assert!(
        silent[0] > active[active.len() - 1],
        "{silent:?} {active:?}"
    );
    eprintln!("{} of {} units silent", layer.silent.len(), layer.units);
}

#[test]
fn tiles_show_ink_dark_and_weights_by_sign() {
    let mut pixels = vec![0.0f32; SIDE * SIDE];
    pixels[0] = 1.0;
    let tile = Tile::digit(&pixels, String::new());
    assert_eq!(tile.rgb.len(), SIDE * ZOOM * SIDE * ZOOM * 3);
    assert_eq!(tile.rgb[..3], [0, 0, 0], "ink is dark");
    assert_eq!(
        tile.rgb[ZOOM * 3..ZOOM * 3 + 3],
        [255, 255, 255],
        "paper is white"
    );
    let mut weights = vec![0.0f32; SIDE * SIDE];
    (weights[0], weights[1]) = (2.0, -1.0);
    let tile = Tile::weights(&weights, String::new());
    assert_eq!(
        tile.rgb[..3],
        [255, 0, 0],
        "the largest positive weight is red"
    );
    assert_eq!(
        tile.rgb[ZOOM * 3..ZOOM * 3 + 3],
        [128, 128, 255],
        "half as negative: pale blue"
    );
}

#[test]
fn pictures_are_written_and_runs_may_be_missing() {
    let dir = tempfile::tempdir().unwrap();
    let facts = draw_all(dir.path(), &mlp_data::default_data_dir()).unwrap();
    assert_eq!(facts.pictures, [format!("plots/{SAMPLES}.png")]);
    assert!(facts.deep.is_none() && facts.shallow.is_none());
    for ext in ["png", "svg"] {
        let path = dir.path().join(format!("plots/{SAMPLES}.{ext}"));
        assert!(
            std::fs::metadata(&path).unwrap().len() > 1000,
            "{}",
            path.display()
        );
    }
}
