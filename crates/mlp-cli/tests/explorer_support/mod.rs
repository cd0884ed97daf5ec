//! The explorer's test fixtures: the real `mlp-cli serve` on a free port over a temporary runs
//! directory, and a small HTTP/1.1 client over `std::net::TcpStream`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `mlp-cli serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The runs directory it serves (a temporary directory).
    pub runs: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Starts the server over a fresh runs directory holding copies of the committed runs
    /// `results/<id>` (their model, summary and curve).
    pub fn start(committed: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let runs = tmp.path().join("runs");
        for id in committed {
            let (from, to) = (workspace().join("results").join(id), runs.join(id));
            std::fs::create_dir_all(&to).unwrap();
            for file in ["model.safetensors", "summary.json", "curve.csv"] {
                std::fs::copy(from.join(file), to.join(file)).expect("a committed run file");
            }
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlp-cli"))
            .args(["serve", "--port", "0", "--runs"])
            .arg(&runs)
            .arg("--data")
            .arg(workspace().join("data/mnist"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the server prints its URL");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no URL in the server's first line: {line:?}"));
        // Keep reading its output so that it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self {
            child,
            addr,
            runs,
            _tmp: tmp,
        }
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], b"")
    }

    /// POST a JSON body.
    pub fn post_json(&self, path: &str, body: &str) -> Response {
        request(
            self.addr,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// Polls `/api/runs` until no run is marked running, for at most `limit`.
    pub fn wait_until_idle(&self, limit: Duration) {
        let started = Instant::now();
        loop {
            let runs = self.get("/api/runs").json();
            let running = runs
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["running"] == true);
            if !running {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "the training still runs after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as JSON, after checking that the status is `status` (the body is shown if not).
    pub fn expect_json(&self, status: u16) -> serde_json::Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(addr).expect("the server accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading a large body and close: that is not our failure.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

/// A stream of server-sent events read on a thread of its own: `(event name, JSON data)`.
pub fn subscribe(addr: SocketAddr) -> std::sync::mpsc::Receiver<(String, serde_json::Value)> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            format!("GET /api/train/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    std::thread::spawn(move || {
        let reader = BufReader::new(stream);
        let mut name = String::new();
        // The body is chunked: chunk-size lines hold no colon and are skipped; event lines start
        // with `event:` or `data:`. Each event is written in one chunk.
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:") {
                let value = serde_json::from_str(data.trim()).unwrap_or(serde_json::Value::Null);
                if sender.send((name.clone(), value)).is_err() {
                    return;
                }
            }
        }
    });
    receiver
}

/// Waits for an event named `name` matching `accept`, for at most `limit`; the events passed over
/// are returned too, in order.
pub fn wait_for_event(
    events: &std::sync::mpsc::Receiver<(String, serde_json::Value)>,
    name: &str,
    limit: Duration,
    seen: &mut Vec<(String, serde_json::Value)>,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (n, value) = events
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {name} event within {limit:?}; seen {seen:?}"));
        seen.push((n.clone(), value.clone()));
        if n == name {
            return value;
        }
    }
}

/// Test image `index` of MNIST as the page would send it: `{"input": [784 values]}`, and its label.
pub fn test_image(index: usize) -> (Vec<f32>, u8) {
    let mnist = mlp_data::load_dir(&workspace().join("data/mnist")).unwrap();
    (
        mnist.test.sample(index).to_vec(),
        mnist.test.labels()[index],
    )
}
