//! The Train view's endpoints: one training at a time on a thread of its own, driving the same
//! [`Trainer`] as `mlp-cli train`; its observer broadcasts progress, epochs and the outcome to the
//! page through server-sent events.

use super::error::{ApiError, ApiJson, ApiResult};
use super::paths::is_plain_name;
use super::state::{blocking, Shared};
use crate::spec::check_network_size;
use crate::train::{EpochRecord, Observer, Outcome, Progress, TrainConfig, Trainer};
use crate::CliError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream, StreamExt};
use mlp_core::{Activation, LrSchedule};
use serde::Deserialize;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// The folder, under the runs directory, of the runs trained from the page.
pub const FOLDER: &str = "explorer";
/// The shortest time between two progress events.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// An event for the page: its SSE name and its JSON.
#[derive(Debug, Clone)]
pub struct TrainEvent {
    name: &'static str,
    data: Value,
}

/// The training slot and the channel its events go out on.
pub struct Training {
    slot: Mutex<Option<Running>>,
    events: broadcast::Sender<TrainEvent>,
}

struct Running {
    run: String,
    config: TrainConfig,
    curve: Vec<EpochRecord>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Default for Training {
    fn default() -> Self {
        Self {
            slot: Mutex::new(None),
            events: broadcast::channel(256).0,
        }
    }
}

impl Training {
    fn lock(&self) -> MutexGuard<'_, Option<Running>> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The run being trained and its configuration, if any.
    pub fn current(&self) -> Option<(String, TrainConfig)> {
        self.lock()
            .as_ref()
            .map(|r| (r.run.clone(), r.config.clone()))
    }

    fn send(&self, name: &'static str, data: Value) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.events.send(TrainEvent { name, data });
    }

    fn state_event(&self) -> TrainEvent {
        let slot = self.lock();
        let data = match slot.as_ref() {
            Some(r) => {
                json!({ "running": true, "run": r.run, "config": r.config, "curve": r.curve })
            }
            None => json!({ "running": false, "run": null, "config": null, "curve": [] }),
        };
        TrainEvent {
            name: "state",
            data,
        }
    }

    /// Raises the stop flag of the running training and waits for its thread to save and end.
    pub fn stop_and_wait(&self) {
        let thread = self.lock().as_mut().and_then(|r| {
            r.stop.store(true, Ordering::Relaxed);
            r.thread.take()
        });
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// The body of POST /api/train.
#[derive(Debug, Deserialize)]
pub struct TrainRequest {
    name: Option<String>,
    hidden: Vec<usize>,
    activation: String,
    lr: f64,
    batch_size: usize,
    epochs: usize,
    momentum: f64,
    weight_decay: f64,
    lr_schedule: String,
    train_limit: Option<usize>,
    seed: u64,
    val: Option<usize>,
}

impl TrainRequest {
    /// The configuration, with the checks of `mlp-cli train`.
    fn config(&self) -> ApiResult<TrainConfig> {
        let activation = Activation::from_name(&self.activation).ok_or_else(|| {
            ApiError::bad(
                "activation",
                format!("unknown activation {:?}", self.activation),
            )
        })?;
        let lr_schedule = LrSchedule::from_name(&self.lr_schedule).ok_or_else(|| {
            ApiError::bad(
                "lr_schedule",
                format!("unknown schedule {:?}", self.lr_schedule),
            )
        })?;
        let config = TrainConfig {
            hidden: self.hidden.clone(),
            activation,
            lr: self.lr,
            batch_size: self.batch_size,
            epochs: self.epochs,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            lr_schedule,
            seed: self.seed,
            val: self.val.unwrap_or(TrainConfig::default().val),
            train_limit: self.train_limit,
        };
        config.check().map_err(flag_error)?;
        check_network_size(&config.sizes(784, 10))
            .map_err(|e| ApiError::bad("hidden", e.to_string()))?;
        Ok(config)
    }
}

/// A CLI usage error as a 400 naming the field its flag sets (`--batch-size` → `batch_size`).
fn flag_error(err: CliError) -> ApiError {
    let message = err.to_string();
    let field = message.strip_prefix("--").map(|rest| {
        let flag: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        match flag.as_str() {
            "layers" => "hidden".to_owned(),
            flag => flag.replace('-', "_"),
        }
    });
    match (&err, field) {
        (CliError::Usage(_), Some(field)) => ApiError::bad(&field, message),
        (CliError::Usage(_) | CliError::Model(_), None) => {
            ApiError::new(StatusCode::BAD_REQUEST, None, message)
        }
        _ => ApiError::internal(message),
    }
}

/// POST /api/train: starts a run under `explorer/`.
pub async fn start(
    State(state): State<Shared>,
    ApiJson(request): ApiJson<TrainRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let config = request.config()?;
    let name = match &request.name {
        Some(name) if is_plain_name(name) => name.clone(),
        Some(name) => {
            return Err(ApiError::bad(
                "name",
                format!(
                    "{name:?} is not a plain run name: 1 to {} letters, digits, `.`, `_` or `-`, \
                     without `..`",
                    super::paths::MAX_NAME
                ),
            ))
        }
        None => time_name(),
    };
    let run = format!("{FOLDER}/{name}");
    let dir = state.root.dir("name", &run)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let mut slot = state.training.lock();
        if let Some(running) = slot.as_ref() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                None,
                format!("{} is training: one training at a time", running.run),
            ));
        }
        if std::fs::symlink_metadata(&dir).is_ok() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                Some("name"),
                format!("a run named {name:?} already exists: choose another name"),
            ));
        }
        // The slot is taken now, so that a second start is refused while this one prepares.
        *slot = Some(Running {
            run: run.clone(),
            config: config.clone(),
            curve: Vec::new(),
            stop: Arc::clone(&stop),
            thread: None,
        });
    }
    let prepared = {
        let state = Arc::clone(&state);
        blocking(move || {
            let mnist = state.mnist()?;
            Trainer::new(config, &mnist, dir).map_err(flag_error)
        })
        .await
    };
    let trainer = match prepared {
        Ok(trainer) => trainer,
        Err(err) => {
            *state.training.lock() = None;
            return Err(err);
        }
    };
    let thread = {
        let (state, run) = (Arc::clone(&state), run.clone());
        std::thread::Builder::new()
            .name("explorer-training".into())
            .spawn(move || train(state, run, trainer, stop))
    };
    match thread {
        Ok(handle) => {
            if let Some(running) = state.training.lock().as_mut() {
                running.thread = Some(handle);
            }
            Ok((StatusCode::ACCEPTED, Json(json!({ "run": run }))))
        }
        Err(e) => {
            *state.training.lock() = None;
            Err(ApiError::internal(format!(
                "cannot start the training thread: {e}"
            )))
        }
    }
}

/// The training thread: runs the trainer, then frees the slot and tells the page how it ended.
fn train(state: Shared, run: String, trainer: Trainer, stop: Arc<AtomicBool>) {
    let epochs = trainer.config().epochs;
    let dir = trainer.dir().to_path_buf();
    let mut observer = Broadcaster {
        state: Arc::clone(&state),
        run: run.clone(),
        epochs,
        last_progress: None,
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        trainer.run(&mut observer, &stop)
    }));
    let resume = format!("mlp-cli train --resume {}", dir.display());
    let (outcome, model, message) = match outcome {
        Ok(Ok(Outcome::Finished(summary))) => (
            "finished",
            Some(run.clone()),
            format!(
                "{run} finished {} epochs: test error {:.2} %.",
                summary.last.epoch,
                100.0 * summary.last.test_error
            ),
        ),
        Ok(Ok(Outcome::Diverged(divergence))) => ("diverged", None, format!("{divergence}.")),
        Ok(Ok(Outcome::Interrupted { epoch })) => (
            "interrupted",
            None,
            format!(
                "{run} stopped; its checkpoint of epoch {epoch} is kept: continue with {resume}."
            ),
        ),
        Ok(Err(err)) => ("failed", None, format!("{run} failed: {err}.")),
        Err(_) => (
            "failed",
            None,
            format!("{run} failed: the training thread panicked."),
        ),
    };
    *state.training.lock() = None;
    state.training.send(
        "finished",
        json!({ "run": run, "outcome": outcome, "model": model, "message": message }),
    );
}

/// The observer of a training started from the page.
struct Broadcaster {
    state: Shared,
    run: String,
    epochs: usize,
    last_progress: Option<Instant>,
}

impl Broadcaster {
    fn record(&mut self, record: &EpochRecord) {
        if let Some(running) = self.state.training.lock().as_mut() {
            running.curve.retain(|r| r.epoch != record.epoch);
            running.curve.push(record.clone());
        }
        self.last_progress = None;
        self.state
            .training
            .send("epoch", json!({ "run": self.run, "record": record }));
    }
}

impl Observer for Broadcaster {
    fn untrained(&mut self, record: &EpochRecord) {
        self.record(record);
    }

    fn step(&mut self, progress: &Progress) {
        let due = self
            .last_progress
            .is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
        if due || progress.steps_done == progress.n_steps {
            self.last_progress = Some(Instant::now());
            self.state.training.send(
                "progress",
                json!({
                    "run": self.run, "epoch": progress.epoch, "epochs": self.epochs,
                    "step": progress.steps_done, "steps": progress.n_steps,
                }),
            );
        }
    }

    fn epoch(&mut self, record: &EpochRecord) {
        self.record(record);
    }
}

/// POST /api/train/stop: the training stops after its current mini-batch.
pub async fn stop(State(state): State<Shared>) -> ApiResult<Json<Value>> {
    match state.training.lock().as_ref() {
        Some(running) => {
            running.stop.store(true, Ordering::Relaxed);
            Ok(Json(json!({ "stopping": running.run })))
        }
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            None,
            "no training is running",
        )),
    }
}

/// GET /api/train/events: the state, then every event, as server-sent events.
pub async fn events(
    State(state): State<Shared>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribed before the state is read, so no event between the two is lost (a repeated epoch
    // record replaces its twin on the page).
    let receiver = state.training.events.subscribe();
    let first = state.training.state_event();
    let later = stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let stream = stream::once(async move { first })
        .chain(later)
        .map(|event| {
            Ok(Event::default()
                .event(event.name)
                .data(event.data.to_string()))
        });
    Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    )
}

/// A run name from the time, in UTC: `run-20250131-235959`.
fn time_name() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "run-{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert!(is_plain_name(&time_name()));
    }

    #[test]
    fn cli_errors_name_the_fields() {
        let field = |message: &str| flag_error(CliError::Usage(message.into())).field;
        assert_eq!(
            field("--batch-size must be at least 1").as_deref(),
            Some("batch_size")
        );
        assert_eq!(
            field("--lr must be a finite number > 0, got 0").as_deref(),
            Some("lr")
        );
        assert_eq!(field("--layers: bad").as_deref(), Some("hidden"));
        assert_eq!(field("something else"), None);
    }
}
