//! The explorer's prediction round trip: 1 000 `POST /api/predict` on localhost against the
//! explorer's router serving a model, each on a fresh connection, request to probabilities and
//! activations; prints the median and the 99th percentile, for a 140 × 140 drawing (what the page
//! sends while one draws) and for a ready 28 × 28 input (a test image), and the page's weight.
//!
//! ```text
//! cargo run --release -p mlp-cli --example explorer_bench -- [results/deep-tuned-s1] [1000]
//! ```

use mlp_cli::serve::{self, paths::RunsRoot, state::AppState};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let run = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "results/deep-tuned-s1".into()),
    );
    let n: usize = args.next().map_or(Ok(1000), |s| s.parse())?;
    let id = run
        .file_name()
        .ok_or("a run directory")?
        .to_str()
        .ok_or("a UTF-8 name")?
        .to_owned();
    let root = RunsRoot::open(run.parent().ok_or("a run directory")?)?;
    let state = Arc::new(AppState::new(root, mlp_data::default_data_dir()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    runtime.spawn(async move { axum::serve(listener, serve::router(state)).await });

    let mnist = mlp_data::load_dir(&mlp_data::default_data_dir())?;
    let image = mnist.test.sample(0);
    let input = serde_json::json!({ "model": id, "input": image }).to_string();
    let pixels: Vec<u8> = (0..140 * 140)
        .map(|k| (image[(k / 140 / 5) * 28 + (k % 140) / 5] * 255.0).round() as u8)
        .collect();
    let drawing = serde_json::json!({
        "model": id, "drawing": { "width": 140, "height": 140, "pixels": pixels }
    })
    .to_string();

    println!("{n} predictions of {id} on {addr}, one connection each (after 20 to warm up):");
    for (what, body) in [("140×140 drawing", &drawing), ("28×28 input", &input)] {
        for _ in 0..20 {
            post(addr, body)?;
        }
        let mut times: Vec<f64> = (0..n)
            .map(|_| {
                let started = Instant::now();
                post(addr, body).map(|()| started.elapsed().as_secs_f64() * 1e6)
            })
            .collect::<Result<_, _>>()?;
        times.sort_by(f64::total_cmp);
        let percentile = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        println!(
            "  {what:>16}: p50 {:.0} µs, p99 {:.0} µs ({} bytes sent)",
            percentile(0.5),
            percentile(0.99),
            body.len()
        );
    }
    let weight = serve::INDEX_HTML.len() + serve::APP_CSS.len() + serve::APP_JS.len();
    println!(
        "page weight: {weight} bytes (index.html {}, app.css {}, app.js {})",
        serve::INDEX_HTML.len(),
        serve::APP_CSS.len(),
        serve::APP_JS.len()
    );
    Ok(())
}

fn post(addr: SocketAddr, body: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    write!(
        stream,
        "POST /api/predict HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "{}",
            String::from_utf8_lossy(&answer[..answer.len().min(300)])
        )
        .into());
    }
    Ok(())
}
