//! Facts of "Forward propagation vs batch size", from `bench/bench_forward.csv`.

use crate::bench::{BenchRow, CSV, DIR};
use crate::figures;
use crate::results::Results;
use crate::runs::best_on_val;
use serde::Serialize;

/// Times within this factor of the best are "on the plateau".
pub const PLATEAU: f64 = 1.1;

/// One batch size of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The measured line.
    #[serde(flatten)]
    pub line: BenchRow,
    /// Whether it is the fastest.
    pub best: bool,
    /// Its time / the best time.
    pub ratio: f64,
}

/// The smallest batch size, when it is not the fastest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Smallest {
    /// Batch size.
    pub batch: usize,
    /// Seconds per pass.
    pub seconds: f64,
    /// Its time / the best time.
    pub ratio: f64,
    /// Forward calls per pass.
    pub n_batches: usize,
}

/// How the rate climbs to the plateau.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Climb {
    /// The smallest batch reaching half the best rate.
    pub half_batch: usize,
    /// The batch sizes within 10 % of the best time.
    pub plateau: Vec<usize>,
}

/// What happens at the largest batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LargeBatch {
    /// More than 10 % slower than the best: the activations spill out of the caches.
    Slower,
    /// Within 10 %: the blocked products hide the memory traffic.
    Hidden,
}

/// The largest batch size, when it is not the fastest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Largest {
    /// Batch size.
    pub batch: usize,
    /// Its time / the best time.
    pub ratio: f64,
    /// Megabytes of one batch's hidden and output values (f32).
    pub megabytes: f64,
    /// Hidden and output values per image.
    pub floats: usize,
    /// Its judgement.
    pub kind: LargeBatch,
}

/// The facts of the benchmark section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benchmark {
    /// The CSV, relative to the results root.
    pub csv: String,
    /// The settings of the study (its first line).
    pub study: BenchRow,
    /// One row per batch size, increasing.
    pub rows: Vec<Row>,
    /// File stem of the figure in plots/.
    pub figure: &'static str,
    /// The fastest row.
    pub best: BenchRow,
    /// The smallest batch, if not the fastest.
    pub smallest: Option<Smallest>,
    /// Whether the smallest batch is a single image.
    pub single_image: bool,
    /// The climb, if the smallest batch is below half the best rate.
    pub climb: Option<Climb>,
    /// The largest batch, if not the fastest.
    pub largest: Option<Largest>,
    /// The smallest batch on the plateau.
    pub plateau_start: usize,
    /// `mlp-cli`'s evaluation chunk.
    pub chunk: usize,
    /// Time of the largest batch ≤ the chunk, relative to the best, if measured.
    pub chunk_ratio: Option<f64>,
    /// Whether that time is on the plateau.
    pub chunk_on_plateau: bool,
    /// The batch size of the best lr × batch study run, if any.
    pub study_best: Option<usize>,
    /// The smallest batch's time / the best time.
    pub smallest_ratio: f64,
}

/// The relative path of the benchmark's CSV.
pub fn csv_path() -> String {
    format!("{DIR}/{CSV}")
}

/// Computes the section's facts; `None` when the benchmark was not run.
pub fn facts(r: &Results) -> Option<Benchmark> {
    let table = r.bench.as_ref()?;
    let best = table.best()?;
    let first = &table.rows[0];
    let last = &table.rows[table.rows.len() - 1];
    let ratio = |row: &BenchRow| row.seconds / best.seconds;
    let on_plateau = |row: &&BenchRow| row.seconds <= PLATEAU * best.seconds;
    let floats: usize = last
        .layers
        .split('-')
        .filter_map(|s| s.parse::<usize>().ok())
        .skip(1)
        .sum();
    let chunk = mlp_cli::evaluate::EVAL_CHUNK;
    let chunk_ratio = table
        .rows
        .iter()
        .rev()
        .find(|row| row.batch_size <= chunk)
        .map(ratio);
    Some(Benchmark {
        csv: csv_path(),
        study: first.clone(),
        rows: table
            .rows
            .iter()
            .map(|row| Row {
                line: row.clone(),
                best: row.batch_size == best.batch_size,
                ratio: ratio(row),
            })
            .collect(),
        figure: figures::BENCH,
        best: best.clone(),
        smallest: (first.batch_size != best.batch_size).then(|| Smallest {
            batch: first.batch_size,
            seconds: first.seconds,
            ratio: ratio(first),
            n_batches: first.n_batches,
        }),
        single_image: first.batch_size == 1,
        climb: table
            .rows
            .iter()
            .find(|row| row.gflops >= 0.5 * best.gflops)
            .filter(|row| row.batch_size != first.batch_size)
            .map(|half| Climb {
                half_batch: half.batch_size,
                plateau: table
                    .rows
                    .iter()
                    .filter(on_plateau)
                    .map(|row| row.batch_size)
                    .collect(),
            }),
        largest: (last.batch_size != best.batch_size).then(|| Largest {
            batch: last.batch_size,
            ratio: ratio(last),
            megabytes: floats as f64 * last.batch_size as f64 * 4.0 / 1e6,
            floats,
            kind: if ratio(last) > PLATEAU {
                LargeBatch::Slower
            } else {
                LargeBatch::Hidden
            },
        }),
        plateau_start: table
            .rows
            .iter()
            .find(on_plateau)
            .map_or(best.batch_size, |row| row.batch_size),
        chunk,
        chunk_ratio,
        chunk_on_plateau: chunk_ratio.is_some_and(|r| r <= PLATEAU),
        study_best: best_on_val(&r.study).map(|run| run.config.batch_size),
        smallest_ratio: ratio(first),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::BenchTable;
    use crate::report::testing::results;

    fn line(batch_size: usize, seconds: f64) -> BenchRow {
        let n_images: usize = 60_000;
        serde_json::from_value(serde_json::json!({
            "layers": "784-150-10", "precision": "f32", "threads": 2, "n_images": n_images,
            "repeats": 5, "peak_gflops": 400.0, "batch_size": batch_size,
            "n_batches": n_images.div_ceil(batch_size), "seconds": seconds,
            "seconds_min": seconds, "images_per_second": n_images as f64 / seconds,
            "gflops": 10.0 / seconds, "fraction_of_peak": 10.0 / seconds / 400.0
        }))
        .unwrap()
    }

    fn bench(lines: Vec<BenchRow>) -> Option<Benchmark> {
        let mut r = results();
        r.bench = Some(BenchTable { rows: lines });
        facts(&r)
    }

    #[test]
    fn without_a_table_there_is_nothing() {
        assert_eq!(facts(&results()), None);
    }

    #[test]
    fn a_table_with_a_plateau_and_a_slower_end() {
        let f = bench(vec![
            line(1, 1.0),
            line(10, 0.3),
            line(100, 0.105),
            line(1000, 0.1),
            line(60_000, 0.2),
        ])
        .unwrap();
        assert_eq!(f.best.batch_size, 1000);
        assert_eq!(f.smallest.as_ref().unwrap().ratio, 10.0);
        assert!(f.single_image);
        let climb = f.climb.unwrap();
        assert_eq!((climb.half_batch, climb.plateau), (100, vec![100, 1000]));
        let largest = f.largest.unwrap();
        assert_eq!(largest.kind, LargeBatch::Slower);
        assert_eq!(largest.floats, 160);
        assert_eq!(f.plateau_start, 100);
        assert_eq!(f.chunk_ratio, Some(1.0));
        assert!(f.chunk_on_plateau);
        assert_eq!(f.study_best, None);
    }

    #[test]
    fn a_table_whose_ends_are_the_best_or_hidden() {
        let f = bench(vec![line(10, 0.1), line(100, 0.2), line(60_000, 0.105)]).unwrap();
        assert_eq!(f.smallest, None);
        assert_eq!(f.climb, None, "the smallest batch is already the fastest");
        assert!(!f.single_image);
        assert_eq!(f.largest.unwrap().kind, LargeBatch::Hidden);
        let f = bench(vec![line(2000, 0.5), line(60_000, 0.1)]).unwrap();
        assert_eq!(f.largest, None);
        assert_eq!(f.chunk_ratio, None, "no batch at or below the chunk");
        let f = bench(vec![line(10, 0.5), line(1000, 0.2), line(2000, 0.1)]).unwrap();
        assert_eq!(f.chunk_ratio, Some(2.0));
        assert!(!f.chunk_on_plateau);
    }
}
