//! The Draw view's endpoints: the models, a prediction with every layer's activations, a hidden
//! unit's incoming weights, test images and a model's most confident mistakes.

use super::error::{query_map, required, whole_number, ApiError, ApiJson, ApiResult};
use super::models::{self, ModelInfo};
use super::state::{blocking, Shared};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use mlp_data::digit::SIDE;
use mlp_data::Digit;
use serde::Deserialize;
use serde_json::{json, Value};
use std::hash::BuildHasher;

/// The largest side of a drawing, in pixels.
pub const MAX_DRAWING_SIDE: usize = 4096;
/// The default and the largest number of mistakes answered.
pub const MISTAKES: (usize, usize) = (24, 100);

/// GET /api/models: every model under the runs directory, sorted by id.
pub async fn list_models(State(state): State<Shared>) -> ApiResult<Json<Vec<ModelInfo>>> {
    blocking(move || {
        let ids = state.root.ids_holding(crate::train::files::MODEL);
        Ok(Json(
            ids.iter()
                .filter_map(|id| models::info(&state.root, id))
                .collect(),
        ))
    })
    .await
}

/// The body of POST /api/predict: a drawing to prepare, or an input ready for the net.
#[derive(Debug, Deserialize)]
pub struct PredictRequest {
    model: String,
    drawing: Option<Drawing>,
    input: Option<Vec<f64>>,
}

/// A grey image, row-major, any polarity.
#[derive(Debug, Deserialize)]
pub struct Drawing {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// POST /api/predict.
pub async fn predict(
    State(state): State<Shared>,
    ApiJson(request): ApiJson<PredictRequest>,
) -> ApiResult<Json<Value>> {
    let input = match (&request.drawing, &request.input) {
        (Some(drawing), None) => prepare(drawing)?,
        (None, Some(input)) => checked_input(input)?,
        (None, None) => return Err(ApiError::bad("drawing", "give a `drawing` or an `input`")),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "input",
                "give a `drawing` or an `input`, not both",
            ))
        }
    };
    blocking(move || {
        let model = state.models.get(&state.root, "model", &request.model)?;
        check_digit_model(&model.sizes(), &request.model)?;
        let forward = model.forward(&input)?;
        Ok(Json(json!({
            "input": input,
            "probabilities": forward.probabilities,
            "prediction": forward.prediction,
            "activations": forward.activations,
        })))
    })
    .await
}

fn prepare(drawing: &Drawing) -> ApiResult<Vec<f32>> {
    let (w, h) = (drawing.width, drawing.height);
    for (name, side) in [("drawing.width", w), ("drawing.height", h)] {
        if !(1..=MAX_DRAWING_SIDE).contains(&side) {
            return Err(ApiError::bad(
                name,
                format!("{name} must be from 1 to {MAX_DRAWING_SIDE}, got {side}"),
            ));
        }
    }
    if drawing.pixels.len() != w * h {
        return Err(ApiError::bad(
            "drawing.pixels",
            format!(
                "a {w} × {h} drawing has {} pixels, got {}",
                w * h,
                drawing.pixels.len()
            ),
        ));
    }
    let digit = Digit::from_grey(&drawing.pixels, w, h, "the drawing")
        .map_err(|e| ApiError::bad("drawing", e.to_string()))?;
    Ok(digit.pixels().to_vec())
}

fn checked_input(input: &[f64]) -> ApiResult<Vec<f32>> {
    if input.len() != SIDE * SIDE {
        return Err(ApiError::bad(
            "input",
            format!(
                "`input` must hold {} values (28 × 28), got {}",
                SIDE * SIDE,
                input.len()
            ),
        ));
    }
    if let Some((i, v)) = input
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(ApiError::bad(
            "input",
            format!("`input` values must be in [0, 1]; value {i} is {v}"),
        ));
    }
    Ok(input.iter().map(|&v| v as f32).collect())
}

/// Refuses a model that does not take 28 × 28 digits and give 10 classes.
fn check_digit_model(sizes: &[usize], id: &str) -> ApiResult<()> {
    if sizes.first() != Some(&(SIDE * SIDE)) || sizes.last() != Some(&10) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("model"),
            format!("{id} has sizes {sizes:?}: the explorer needs 784 inputs and 10 classes"),
        ));
    }
    Ok(())
}

/// GET /api/weights?model=ID&unit=N: the incoming weights of a first-layer hidden unit.
pub async fn weights(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = query_map(query.as_deref())?;
    let id = required(&query, "model")?.to_owned();
    let unit = whole_number(&query, "unit", usize::MAX)?
        .ok_or_else(|| ApiError::bad("unit", "the query parameter `unit` is missing"))?;
    blocking(move || {
        let model = state.models.get(&state.root, "model", &id)?;
        let sizes = model.sizes();
        check_digit_model(&sizes, &id)?;
        if sizes.len() < 3 {
            return Err(ApiError::bad("model", format!("{id} has no hidden layer")));
        }
        if unit >= sizes[1] {
            return Err(ApiError::bad(
                "unit",
                format!(
                    "`unit` must be below {}, the first hidden layer's width, got {unit}",
                    sizes[1]
                ),
            ));
        }
        let w = model.network().layers()[0].weights();
        let row: Vec<f32> = (0..w.ncols()).map(|j| w[(unit, j)]).collect();
        let min = row.iter().copied().fold(f32::INFINITY, f32::min);
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        Ok(Json(
            json!({ "unit": unit, "weights": row, "min": min, "max": max }),
        ))
    })
    .await
}

/// GET /api/test-image?index=N (or no query: a random one).
pub async fn test_image(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = query_map(query.as_deref())?;
    let index = whole_number(&query, "index", usize::MAX)?;
    blocking(move || {
        let test = &state.mnist()?.test;
        let index = match index {
            Some(i) if i < test.len() => i,
            Some(i) => {
                return Err(ApiError::bad(
                    "index",
                    format!("`index` must be below {}, got {i}", test.len()),
                ))
            }
            None => random_below(test.len()),
        };
        Ok(Json(json!({
            "index": index,
            "label": test.labels()[index],
            "input": test.sample(index),
        })))
    })
    .await
}

/// A number in `0..n` (n > 0) from the standard library's randomly keyed hasher: a pick for
/// people, not for statistics.
fn random_below(n: usize) -> usize {
    let key = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (std::collections::hash_map::RandomState::new().hash_one(key) % n as u64) as usize
}

/// GET /api/mistakes?model=ID&limit=N.
pub async fn mistakes(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = query_map(query.as_deref())?;
    let id = required(&query, "model")?.to_owned();
    let limit = whole_number(&query, "limit", MISTAKES.1)?.unwrap_or(MISTAKES.0);
    blocking(move || {
        let model = state.models.get(&state.root, "model", &id)?;
        check_digit_model(&model.sizes(), &id)?;
        let mnist = state.mnist()?;
        let found = model.mistakes(&mnist.test)?;
        let answer: Vec<Value> = found
            .iter()
            .take(limit)
            .map(|m| {
                json!({
                    "index": m.index, "label": m.label, "predicted": m.predicted,
                    "probability": m.probability, "input": mnist.test.sample(m.index),
                })
            })
            .collect();
        Ok(Json(Value::Array(answer)))
    })
    .await
}
