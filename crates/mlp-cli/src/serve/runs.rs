//! The Runs view's endpoints: every run under the runs directory (a directory holding a
//! curve.csv, or the run being trained) with its configuration, and a run's curve.

use super::error::{query_map, required, ApiError, ApiResult};
use super::paths::RunsRoot;
use super::state::{blocking, Shared};
use crate::train::files::{CURVE, SUMMARY};
use crate::train::{read_curve, EpochRecord, RunDir, TrainConfig};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

/// A run as `/api/runs` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Its directory relative to the runs directory.
    pub id: String,
    /// Its configuration (from summary.json, else the checkpoint), if known.
    pub config: Option<TrainConfig>,
    /// Its layer sizes, if known.
    pub sizes: Option<Vec<usize>>,
    /// Epochs in its curve, epoch 0 not counted.
    pub epochs_done: usize,
    /// Its last epoch record.
    pub last: Option<EpochRecord>,
    /// Whether the server is training it now.
    pub running: bool,
}

/// GET /api/runs.
pub async fn list_runs(State(state): State<Shared>) -> ApiResult<Json<Vec<RunInfo>>> {
    let running = state.training.current();
    blocking(move || {
        let mut ids = state.root.ids_holding(CURVE);
        if let Some((id, _)) = &running {
            if !ids.contains(id) {
                ids.push(id.clone());
                ids.sort();
            }
        }
        let runs = ids
            .into_iter()
            .map(|id| {
                let running_config = running
                    .as_ref()
                    .filter(|(run, _)| *run == id)
                    .map(|(_, config)| config.clone());
                describe(&state.root, id, running_config)
            })
            .collect();
        Ok(Json(runs))
    })
    .await
}

fn describe(root: &RunsRoot, id: String, running: Option<TrainConfig>) -> RunInfo {
    let curve = root
        .existing_file(&id, CURVE)
        .and_then(|path| read_curve(&path).ok())
        .unwrap_or_default();
    let summary = root
        .existing_file(&id, SUMMARY)
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let from_summary = summary
        .as_ref()
        .and_then(|s| serde_json::from_value::<TrainConfig>(s.get("config")?.clone()).ok());
    let is_running = running.is_some();
    let config = running.or(from_summary).or_else(|| {
        // A run stopped or diverged keeps its configuration in its checkpoint.
        let dir = root.path().join(&id);
        dir.canonicalize()
            .ok()
            .filter(|d| d.starts_with(root.path()))
            .and_then(|d| RunDir::open(d).checkpoint_config())
    });
    let sizes = summary
        .as_ref()
        .and_then(|s| serde_json::from_value(s.get("sizes")?.clone()).ok())
        .or_else(|| config.as_ref().map(|c| c.sizes(784, 10)));
    RunInfo {
        id,
        config,
        sizes,
        epochs_done: curve.len().saturating_sub(1),
        last: curve.last().cloned(),
        running: is_running,
    }
}

/// GET /api/curve?run=ID: the run's epoch records.
pub async fn curve(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<EpochRecord>>> {
    let query = query_map(query.as_deref())?;
    let id = required(&query, "run")?.to_owned();
    let running = state.training.current().is_some_and(|(run, _)| run == id);
    blocking(move || {
        state.root.dir("run", &id)?;
        match state.root.existing_file(&id, CURVE) {
            Some(path) => read_curve(&path)
                .map(Json)
                .map_err(|e| ApiError::internal(e.to_string())),
            None if running => Ok(Json(Vec::new())),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                Some("run"),
                format!("there is no run {id:?} (see /api/runs)"),
            )),
        }
    })
    .await
}
