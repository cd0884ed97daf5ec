//! `mlp-cli serve`: the explorer, a local web page to draw digits for a model, compare runs and
//! train a network live. The page (`assets/explorer/`) is embedded in the binary; its HTTP
//! contract is `assets/explorer/API.md`.
//!
//! [`router`] is the whole server: [`predict`] (the Draw view), [`runs`] (the Runs view),
//! [`training`] (the Train view, on a thread of its own), over [`state`]; [`paths`] keeps every
//! file access inside the runs directory and [`error`] turns every failure into a JSON answer.

pub mod error;
pub mod models;
pub mod paths;
pub mod predict;
pub mod runs;
pub mod state;
pub mod training;

use crate::{CliError, Result};
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::routing::{get, post};
use axum::Router;
use state::{AppState, Shared};
use std::future::IntoFuture;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "Examples:\n  mlp-cli serve                      # http://127.0.0.1:8080/ over the runs in results/\n  mlp-cli serve --port 0 --open      # any free port, opened in the browser\n  mlp-cli serve --runs runs/ --data data/mnist\n\nRuns trained from the page go to <runs>/explorer/<name>; stop one with the page's Stop button,\ncontinue it with `mlp-cli train --resume <runs>/explorer/<name>`.";

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 1 << 20;

/// The page, embedded.
pub const INDEX_HTML: &str = include_str!("../../assets/explorer/index.html");
/// The page's style sheet, embedded.
pub const APP_CSS: &str = include_str!("../../assets/explorer/app.css");
/// The page's script, embedded.
pub const APP_JS: &str = include_str!("../../assets/explorer/app.js");

/// Arguments of `mlp-cli serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The runs directory: models and runs are read from it, runs trained from the page are
    /// written under its `explorer/` folder.
    #[arg(long, default_value = "results")]
    pub runs: PathBuf,
    /// The port (0: any free port; the printed URL tells which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The address to listen on. Anything but a loopback address exposes the server, which
    /// trains and writes files on request, to the network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Open the page in the default browser (`xdg-open`).
    #[arg(long)]
    pub open: bool,
    /// Directory holding MNIST's four IDX files (default: the bundled data/mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// The server's routes over `state`.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(|| async { asset("text/html", INDEX_HTML) }))
        .route(
            "/index.html",
            get(|| async { asset("text/html", INDEX_HTML) }),
        )
        .route("/app.css", get(|| async { asset("text/css", APP_CSS) }))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript", APP_JS) }),
        )
        .route("/api/models", get(predict::list_models))
        .route("/api/predict", post(predict::predict))
        .route("/api/weights", get(predict::weights))
        .route("/api/test-image", get(predict::test_image))
        .route("/api/mistakes", get(predict::mistakes))
        .route("/api/runs", get(runs::list_runs))
        .route("/api/curve", get(runs::curve))
        .route("/api/train", post(training::start))
        .route("/api/train/stop", post(training::stop))
        .route("/api/train/events", get(training::events))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(error::catch_panic))
        .with_state(state)
}

fn asset(kind: &str, body: &'static str) -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, format!("{kind}; charset=utf-8")),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        body,
    )
}

/// Runs `mlp-cli serve` until Ctrl-C; a training still running is stopped after its current
/// mini-batch, its checkpoint saved.
pub fn run(args: &Args) -> Result<()> {
    if !args.host.is_loopback() {
        eprintln!(
            "warning: listening on {}: anyone who can reach this machine can train networks and \
             write runs under {}",
            args.host,
            args.runs.display()
        );
    }
    let root = paths::RunsRoot::open(&args.runs)?;
    let data_dir = crate::data::data_dir(args.data.as_deref());
    let state = Arc::new(AppState::new(root, data_dir));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the server's runtime: {e}")))?;
    runtime.block_on(async {
        let address = SocketAddr::new(args.host, args.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| CliError::Usage(format!("cannot listen on {address}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| CliError::Runtime(format!("cannot read the bound address: {e}")))?;
        let url = format!("http://{bound}/");
        println!("explorer: {url}  (runs in {}; Ctrl-C to stop)", state.root.path().display());
        if args.open {
            open_browser(&url);
        }
        let server = axum::serve(listener, router(Arc::clone(&state))).into_future();
        tokio::select! {
            served = server => served.map_err(|e| CliError::Runtime(format!("the server failed: {e}"))),
            _ = tokio::signal::ctrl_c() => {
                eprintln!("stopping: a running training saves its checkpoint first");
                let state = Arc::clone(&state);
                let _ = tokio::task::spawn_blocking(move || state.training.stop_and_wait()).await;
                Ok(())
            }
        }
    })
}

fn open_browser(url: &str) {
    match std::process::Command::new("xdg-open").arg(url).spawn() {
        Ok(_) => println!("opening {url} with xdg-open"),
        Err(e) => println!("could not open a browser (xdg-open: {e}): open {url} yourself"),
    }
}
