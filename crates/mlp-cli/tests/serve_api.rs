//! The explorer's HTTP API against the real `mlp-cli serve` on a free port: predictions of real
//! test images, hostile requests, and predictions while a training runs.

mod explorer_support;

use explorer_support::{request, subscribe, wait_for_event, Server};
use faer::Mat;
use serde_json::{json, Value};
use std::time::Duration;

const SHALLOW: &str = "shallow-tuned-s1";

/// A hostile request: what it is, method, path, body, the expected status and field.
type Case<'a> = (&'a str, &'a str, String, String, u16, Option<&'a str>);

fn input_body(model: &str, input: &[f32]) -> String {
    json!({ "model": model, "input": input }).to_string()
}

/// A 28 × 28 MNIST image drawn large, as the page sends its pad: 140 × 140 grey, white ink on
/// black.
fn drawing_body(model: &str, input: &[f32]) -> String {
    let side = 140;
    let pixels: Vec<u8> = (0..side * side)
        .map(|k| {
            let (row, col) = (k / side, k % side);
            (input[(row / 5) * 28 + col / 5] * 255.0).round() as u8
        })
        .collect();
    json!({ "model": model, "drawing": { "width": side, "height": side, "pixels": pixels } })
        .to_string()
}

#[test]
fn predictions_of_test_images_are_the_model_s_own() {
    let server = Server::start(&[SHALLOW]);
    let models = server.get("/api/models").json();
    assert_eq!(models[0]["id"], SHALLOW);
    assert_eq!(models[0]["sizes"], json!([784, 150, 10]));
    assert_eq!(models[0]["activation"], "relu");

    let mnist = mlp_data::load_dir(&explorer_support::workspace().join("data/mnist")).unwrap();
    let path = explorer_support::workspace()
        .join("results")
        .join(SHALLOW)
        .join("model.safetensors");
    let mut mlp = mlp_cli::model_file::load(&path).unwrap().mlp;
    let mut right = 0;
    for index in 0..20 {
        let input = mnist.test.sample(index);
        let label = mnist.test.labels()[index] as u64;
        let answer = server
            .post_json("/api/predict", &input_body(SHALLOW, &input))
            .expect_json(200);
        // The same network in this process gives the same answer.
        let x = Mat::<f32>::from_fn(784, 1, |i, _| input[i]);
        let p = mlp.propagate(x.as_ref()).unwrap();
        for k in 0..10 {
            let served = answer["probabilities"][k].as_f64().unwrap();
            assert!(
                (served - f64::from(p[(k, 0)])).abs() < 1e-5,
                "image {index} class {k}"
            );
        }
        let activations = answer["activations"].as_array().unwrap();
        assert_eq!(activations.len(), 1);
        assert_eq!(activations[0].as_array().unwrap().len(), 150);
        assert!(activations[0]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.as_f64().unwrap() >= 0.0));
        let own = (0..10)
            .max_by(|&a, &b| p[(a, 0)].total_cmp(&p[(b, 0)]))
            .unwrap() as u64;
        assert_eq!(answer["prediction"].as_u64(), Some(own), "image {index}");
        if own == label {
            right += 1;
        }
    }
    // The model errs on under 2 % of the test set.
    assert!(right >= 18, "{right} of the first 20 test images right");

    // The first test image (a 7) drawn on a pad, preprocessed by the server as `predict` does.
    let answer = server
        .post_json(
            "/api/predict",
            &drawing_body(SHALLOW, &mnist.test.sample(0)),
        )
        .expect_json(200);
    assert_eq!(answer["prediction"], mnist.test.labels()[0]);
    assert_eq!(answer["input"].as_array().unwrap().len(), 784);

    let image = server.get("/api/test-image?index=3").json();
    assert_eq!(image["label"], mnist.test.labels()[3]);
    let weights = server
        .get("/api/weights?model=shallow-tuned-s1&unit=149")
        .json();
    assert_eq!(weights["weights"].as_array().unwrap().len(), 784);
    let mistakes = server
        .get("/api/mistakes?model=shallow-tuned-s1&limit=5")
        .json();
    let mistakes = mistakes.as_array().unwrap();
    assert_eq!(mistakes.len(), 5);
    for m in mistakes {
        assert_ne!(m["label"], m["predicted"]);
        let index = m["index"].as_u64().unwrap() as usize;
        assert_eq!(m["label"], mnist.test.labels()[index]);
    }
    let probabilities: Vec<f64> = mistakes
        .iter()
        .map(|m| m["probability"].as_f64().unwrap())
        .collect();
    assert!(
        probabilities.windows(2).all(|w| w[0] >= w[1]),
        "{probabilities:?}"
    );

    let page = server.get("/");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&page.body).contains("id=\"pad\""));
    assert_eq!(
        server.get("/app.js").header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        server.get("/app.css").header("content-type"),
        Some("text/css; charset=utf-8")
    );
}

#[test]
fn hostile_requests_get_a_4xx_naming_the_field_and_change_nothing() {
    let mut server = Server::start(&[SHALLOW]);
    std::fs::create_dir_all(server.runs.join("explorer/taken")).unwrap();
    let (image, _) = explorer_support::test_image(0);
    let good_train = json!({
        "hidden": [16], "activation": "relu", "lr": 0.1, "batch_size": 64, "epochs": 1,
        "momentum": 0.0, "weight_decay": 0.0, "lr_schedule": "constant", "train_limit": 2000, "seed": 0
    });
    let train_with = |field: &str, value: Value| {
        let mut body = good_train.clone();
        body[field] = value;
        body.to_string()
    };
    let mut nan_input = input_body(SHALLOW, &image);
    nan_input = nan_input.replacen("0.0", "NaN", 1);
    let mut out_of_range = image.clone();
    out_of_range[100] = 1.5;
    let huge = format!(
        "{{\"model\": \"{SHALLOW}\", \"input\": [{}0]}}",
        "0,".repeat(600_000)
    );

    // (what, method, path, body, status, field)
    let cases: Vec<Case> = vec![
        ("malformed JSON", "POST", "/api/predict".into(), "{\"model\": ".into(), 400, None),
        ("NaN in the input", "POST", "/api/predict".into(), nan_input, 400, None),
        ("a pixel out of range", "POST", "/api/predict".into(), input_body(SHALLOW, &out_of_range), 400, Some("input")),
        ("too few inputs", "POST", "/api/predict".into(), input_body(SHALLOW, &image[..700]), 400, Some("input")),
        ("a wrong number of pixels", "POST", "/api/predict".into(),
            json!({"model": SHALLOW, "drawing": {"width": 10, "height": 10, "pixels": vec![0u8; 99]}}).to_string(), 400, Some("drawing.pixels")),
        ("a grey level over 255", "POST", "/api/predict".into(),
            json!({"model": SHALLOW, "drawing": {"width": 2, "height": 1, "pixels": [0, 300]}}).to_string(), 400, Some("drawing.pixels")),
        ("a blank drawing", "POST", "/api/predict".into(),
            json!({"model": SHALLOW, "drawing": {"width": 2, "height": 2, "pixels": [0, 0, 0, 0]}}).to_string(), 400, Some("drawing")),
        ("no model", "POST", "/api/predict".into(), json!({"input": image}).to_string(), 400, Some("model")),
        ("an unknown model", "POST", "/api/predict".into(), input_body("nothing-here", &image), 404, Some("model")),
        ("a model up the tree", "POST", "/api/predict".into(), input_body("../runs/shallow-tuned-s1", &image), 400, Some("model")),
        ("an absolute model path", "GET", "/api/weights?model=/etc/passwd&unit=0".into(), String::new(), 400, Some("model")),
        ("a unit out of range", "GET", "/api/weights?model=shallow-tuned-s1&unit=150".into(), String::new(), 400, Some("unit")),
        ("a run up the tree", "GET", "/api/curve?run=..%2F..%2Fetc".into(), String::new(), 400, Some("run")),
        ("an unknown run", "GET", "/api/curve?run=nothing".into(), String::new(), 404, Some("run")),
        ("a bad index", "GET", "/api/test-image?index=abc".into(), String::new(), 400, Some("index")),
        ("an index past the end", "GET", "/api/test-image?index=10000".into(), String::new(), 400, Some("index")),
        ("a limit over 100", "GET", "/api/mistakes?model=shallow-tuned-s1&limit=101".into(), String::new(), 400, Some("limit")),
        ("a bad query encoding", "GET", "/api/curve?run=%zz".into(), String::new(), 400, None),
        ("a body over 1 MiB", "POST", "/api/predict".into(), huge, 413, None),
        ("a negative learning rate", "POST", "/api/train".into(), train_with("lr", json!(-0.1)), 400, Some("lr")),
        ("a zero batch size", "POST", "/api/train".into(), train_with("batch_size", json!(0)), 400, Some("batch_size")),
        ("a batch larger than the data", "POST", "/api/train".into(), train_with("batch_size", json!(5000)), 400, Some("batch_size")),
        ("a momentum of 1.5", "POST", "/api/train".into(), train_with("momentum", json!(1.5)), 400, Some("momentum")),
        ("a negative epoch count", "POST", "/api/train".into(), train_with("epochs", json!(-1)), 400, Some("epochs")),
        ("a layer of width 0", "POST", "/api/train".into(), train_with("hidden", json!([0])), 400, Some("hidden")),
        ("a network too big", "POST", "/api/train".into(), train_with("hidden", json!([1_000_000, 1_000_000])), 400, Some("hidden")),
        ("an unknown activation", "POST", "/api/train".into(), train_with("activation", json!("swish")), 400, Some("activation")),
        ("a name with ..", "POST", "/api/train".into(), train_with("name", json!("../../escape")), 400, Some("name")),
        ("a name with /", "POST", "/api/train".into(), train_with("name", json!("a/b")), 400, Some("name")),
        ("a name with \\", "POST", "/api/train".into(), train_with("name", json!("a\\b")), 400, Some("name")),
        ("a name too long", "POST", "/api/train".into(), train_with("name", json!("x".repeat(65))), 400, Some("name")),
        ("a name taken", "POST", "/api/train".into(), train_with("name", json!("taken")), 409, Some("name")),
        ("a stop with nothing running", "POST", "/api/train/stop".into(), "{}".into(), 409, None),
        ("an unknown endpoint", "GET", "/api/nothing".into(), String::new(), 404, None),
    ];
    for (what, method, path, body, status, field) in &cases {
        let answer = request(
            server.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(
            answer.status,
            *status,
            "{what}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let error = answer.json();
        assert_eq!(error["field"].as_str(), *field, "{what}: {error}");
        assert!(!error["error"].as_str().unwrap().is_empty(), "{what}");
        // Still serving.
        assert_eq!(server.get("/api/models").status, 200, "after {what}");
    }
    let no_type = request(
        server.addr,
        "POST",
        "/api/predict",
        &[],
        input_body(SHALLOW, &image).as_bytes(),
    );
    assert_eq!(no_type.status, 415);
    assert!(no_type.json()["error"]
        .as_str()
        .unwrap()
        .contains("application/json"));

    assert!(server.is_alive());
    // Nothing was written: the runs directory holds what it held.
    let explorer: Vec<_> = std::fs::read_dir(server.runs.join("explorer"))
        .unwrap()
        .collect();
    assert_eq!(explorer.len(), 1);
    let parent: Vec<_> = std::fs::read_dir(server.runs.parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(parent.len(), 1, "only runs/ in the temporary directory");
    assert_eq!(server.get("/api/runs").json().as_array().unwrap().len(), 1);
}

#[test]
fn predictions_keep_answering_while_a_training_runs_and_a_stopped_run_resumes() {
    let server = Server::start(&[SHALLOW]);
    let (image, label) = explorer_support::test_image(1);
    let events = subscribe(server.addr);
    let mut seen = Vec::new();
    let state = wait_for_event(&events, "state", Duration::from_secs(10), &mut seen);
    assert_eq!(state["running"], false);

    let train = json!({
        "name": "quick", "hidden": [32], "activation": "relu", "lr": 0.1, "batch_size": 32,
        "epochs": 1, "momentum": 0.9, "weight_decay": 0.0, "lr_schedule": "constant",
        "train_limit": 2000, "seed": 1
    });
    let started = server.post_json("/api/train", &train.to_string());
    assert_eq!(started.expect_json(202)["run"], "explorer/quick");
    let again = server.post_json("/api/train", &train.to_string().replace("quick", "other"));
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["field"], Value::Null);

    // Predictions from two clients while it trains: every one answers, with the right digit.
    let body = input_body(SHALLOW, &image);
    let predictions: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut answers = Vec::new();
                    for _ in 0..50 {
                        let answer = server.post_json("/api/predict", &body);
                        assert_eq!(answer.status, 200);
                        answers.push(answer.json()["prediction"].as_u64().unwrap());
                    }
                    answers
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(predictions.len(), 100);
    assert!(predictions.iter().all(|p| *p == u64::from(label)));

    let finished = wait_for_event(&events, "finished", Duration::from_secs(300), &mut seen);
    assert_eq!(finished["outcome"], "finished", "{finished}");
    assert_eq!(finished["model"], "explorer/quick");
    let epochs: Vec<u64> = seen
        .iter()
        .filter(|(n, _)| n == "epoch")
        .map(|(_, e)| e["record"]["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [0, 1]);
    assert!(
        seen.iter()
            .any(|(n, p)| n == "progress" && p["steps"] == 63),
        "{seen:?}"
    );
    server.wait_until_idle(Duration::from_secs(10));
    let models = server.get("/api/models").json();
    assert!(models
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "explorer/quick"));
    assert_eq!(
        server
            .get("/api/curve?run=explorer/quick")
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let answer = server.post_json("/api/predict", &input_body("explorer/quick", &image));
    assert_eq!(
        answer.json()["activations"][0].as_array().unwrap().len(),
        32
    );

    // A longer run, stopped during its first epoch: its checkpoint of epoch 0 stays, and
    // `mlp-cli train --resume` continues it.
    let long = json!({
        "name": "long", "hidden": [64], "activation": "relu", "lr": 0.05, "batch_size": 16,
        "epochs": 5, "momentum": 0.0, "weight_decay": 0.0, "lr_schedule": "constant",
        "train_limit": null, "seed": 2
    });
    assert_eq!(
        server.post_json("/api/train", &long.to_string()).status,
        202
    );
    seen.clear();
    wait_for_event(&events, "progress", Duration::from_secs(120), &mut seen);
    let stopping = server.post_json("/api/train/stop", "{}");
    assert_eq!(stopping.status, 200);
    assert_eq!(stopping.json()["stopping"], "explorer/long");
    let finished = wait_for_event(&events, "finished", Duration::from_secs(120), &mut seen);
    assert_eq!(finished["outcome"], "interrupted", "{finished}");
    assert_eq!(finished["model"], Value::Null);
    let dir = server.runs.join("explorer/long");
    assert!(dir.join("checkpoint.safetensors").is_file());
    assert!(!dir.join("model.safetensors").exists());
    server.wait_until_idle(Duration::from_secs(10));
    let runs = server.get("/api/runs").json();
    let long_run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "explorer/long")
        .unwrap()
        .clone();
    assert_eq!(long_run["config"]["epochs"], 5);
    assert_eq!(long_run["epochs_done"], 0);

    let resumed = std::process::Command::new(env!("CARGO_BIN_EXE_mlp-cli"))
        .args(["train", "--quiet", "--stop-after", "1", "--resume"])
        .arg(&dir)
        .arg("--data")
        .arg(explorer_support::workspace().join("data/mnist"))
        .output()
        .unwrap();
    // --stop-after stops it as an interruption would, after one more epoch.
    assert_eq!(
        resumed.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(
        server
            .get("/api/curve?run=explorer/long")
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
