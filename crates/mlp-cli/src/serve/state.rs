//! What every handler shares: the runs directory, the loaded models, MNIST (loaded once, on first
//! need) and the training slot; and the way handlers run blocking work off the async workers.

use super::error::{ApiError, ApiResult};
use super::models::ModelCache;
use super::paths::RunsRoot;
use super::training::Training;
use mlp_data::Mnist;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The server's shared state.
pub struct AppState {
    /// The runs directory.
    pub root: RunsRoot,
    /// Models loaded so far.
    pub models: ModelCache,
    /// Where MNIST is read from.
    pub data_dir: PathBuf,
    mnist: OnceLock<Result<Arc<Mnist>, String>>,
    /// The one training that may run.
    pub training: Training,
}

/// The state as handlers receive it.
pub type Shared = Arc<AppState>;

impl AppState {
    /// A server over `root`, reading MNIST from `data_dir` when first needed.
    pub fn new(root: RunsRoot, data_dir: PathBuf) -> Self {
        Self {
            root,
            models: ModelCache::default(),
            data_dir,
            mnist: OnceLock::new(),
            training: Training::default(),
        }
    }

    /// MNIST, read on the first call (blocking: call it off the async workers).
    pub fn mnist(&self) -> ApiResult<Arc<Mnist>> {
        self.mnist
            .get_or_init(|| {
                mlp_data::load_dir(&self.data_dir)
                    .map(Arc::new)
                    .map_err(|e| format!("the server cannot read MNIST: {e}"))
            })
            .clone()
            .map_err(ApiError::internal)
    }
}

/// Runs `work` on tokio's blocking threads; a panic in it is a 500, not a lost server.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(ApiError::internal("the server failed on this request")))
}
