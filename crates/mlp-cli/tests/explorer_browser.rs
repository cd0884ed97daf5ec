//! The explorer end to end in a real browser: the system's headless Chromium, driven through the
//! DevTools protocol, draws a test digit on the pad with synthesised mouse strokes, trains a net
//! from the Train view and stops another, and saves screenshots of the three views in
//! `results/explorer/`.
//!
//! Without a `chromium` on the PATH the test says that it was skipped and passes, except under
//! `CI=true`, where a missing browser fails it.

mod explorer_support;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::input::{
    DispatchMouseEventParams, DispatchMouseEventType, MouseButton,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::Page;
use explorer_support::{workspace, Server};
use futures_util::StreamExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The system's Chromium, if there is one.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

#[test]
fn draw_train_and_stop_in_a_real_browser() {
    let Some(browser) = chromium() else {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !in_ci,
            "CI=true but no `chromium` on the PATH: install Debian's chromium"
        );
        eprintln!("SKIPPED explorer_browser: no `chromium` on the PATH (apt-get install chromium)");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(browser)).unwrap();
}

async fn run(executable: PathBuf) -> TestResult {
    let server = Server::start(&["deep-tuned-s1", "shallow-tuned-s1"]);
    let profile = tempfile::tempdir()?;
    let config = BrowserConfig::builder()
        .chrome_executable(executable)
        .disable_default_args()
        .no_sandbox()
        .user_data_dir(profile.path())
        .args([
            "disable-gpu",
            "disable-quic",
            "no-first-run",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
        ])
        .window_size(1280, 1000)
        .viewport(Viewport {
            width: 1280,
            height: 1000,
            ..Viewport::default()
        })
        .launch_timeout(Duration::from_secs(60))
        .request_timeout(Duration::from_secs(60))
        .build()?;
    let (mut browser, mut handler) = Browser::launch(config).await?;
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let outcome = drive(&browser, &server).await;
    let _ = browser.close().await;
    let _ = browser.wait().await;
    events.abort();
    outcome
}

async fn drive(browser: &Browser, server: &Server) -> TestResult {
    let shots = workspace().join("results/explorer");
    std::fs::create_dir_all(&shots)?;
    let page = browser.new_page(server.url()).await?;
    page.wait_for_navigation().await?;
    wait_until(
        &page,
        "document.querySelectorAll('#model option').length > 0",
        30,
    )
    .await?;

    // A page that has not painted yet has no entry; JavaScript's null would reach chromiumoxide as
    // "no value" (an error, not `None`), so the missing entry is -1 here.
    let paint: f64 = page
        .evaluate(
            "(performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint') \
             || {}).startTime ?? -1",
        )
        .await?
        .into_value()?;
    let paint = (paint >= 0.0).then_some(paint);
    println!("explorer first contentful paint: {paint:?} ms");

    // Draw, on the deep net: a test digit traced on the pad, stroke by stroke.
    page.evaluate(
        "(() => { const m = document.querySelector('#model'); m.value = 'deep-tuned-s1'; \
         m.dispatchEvent(new Event('change', { bubbles: true })); return m.value; })()",
    )
    .await?;
    let mnist = mlp_data::load_dir(&workspace().join("data/mnist"))?;
    let index = (0..mnist.test.len())
        .find(|&i| mnist.test.labels()[i] == 3)
        .unwrap();
    let label = mnist.test.labels()[index];
    draw(&page, &mnist.test.sample(index)).await?;
    wait_until(
        &page,
        "document.querySelector('#prediction').textContent.trim() !== ''",
        30,
    )
    .await?;
    // The last prediction is the one for the whole drawing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let predicted: String = text(&page, "#prediction").await?;
    assert_eq!(
        predicted,
        label.to_string(),
        "the pad's digit (test image {index})"
    );
    let bars: u32 = page
        .evaluate("document.querySelector('#probabilities').children.length")
        .await?
        .into_value()?;
    assert_eq!(bars, 10);
    let layers: u32 = page
        .evaluate("document.querySelectorAll('#layers canvas').length")
        .await?
        .into_value()?;
    assert_eq!(layers, 4, "one canvas per hidden layer of 150-200-150-50");
    screenshot(&page, &shots.join("draw.png")).await?;
    page.evaluate("document.querySelector('#clear').click()")
        .await?;
    assert_eq!(text(&page, "#prediction").await?, "");

    // Runs: the committed run in the table.
    page.evaluate("document.querySelector('#tab-runs').click()")
        .await?;
    wait_until(
        &page,
        "document.querySelector('#runs-table').textContent.includes('shallow-tuned-s1')",
        30,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    screenshot(&page, &shots.join("runs.png")).await?;

    // Train: one epoch on 2 000 images, the curve gains its point.
    page.evaluate("document.querySelector('#tab-train').click()")
        .await?;
    fill_form(&page, "browser-quick", 1, "2000").await?;
    page.evaluate("document.querySelector('#train-start').click()")
        .await?;
    wait_until(
        &page,
        "document.querySelectorAll('#train-curve circle.point').length >= 2",
        300,
    )
    .await?;
    wait_until(&page, "!document.querySelector('#train-done').hidden", 60).await?;
    let points: u32 = page
        .evaluate("document.querySelectorAll('#train-curve circle.point').length")
        .await?
        .into_value()?;
    assert_eq!(points, 2, "epoch 0 and epoch 1");
    assert!(server
        .runs
        .join("explorer/browser-quick/model.safetensors")
        .is_file());
    screenshot(&page, &shots.join("train.png")).await?;

    // A longer run, stopped with the Stop button: its checkpoint stays.
    fill_form(&page, "browser-long", 20, "").await?;
    page.evaluate("document.querySelector('#train-start').click()")
        .await?;
    wait_until(&page, "!document.querySelector('#train-stop').disabled", 60).await?;
    page.evaluate("document.querySelector('#train-stop').click()")
        .await?;
    wait_until(&page, "!document.querySelector('#train-done').hidden", 120).await?;
    let done = text(&page, "#train-done").await?;
    assert!(done.contains("Stopped"), "{done}");
    let dir = server.runs.join("explorer/browser-long");
    assert!(dir.join("checkpoint.safetensors").is_file());
    assert!(!dir.join("model.safetensors").exists());
    Ok(())
}

/// Traces the ink of a 28 × 28 image on `#pad`: one mouse stroke per run of inked pixels in a row.
async fn draw(page: &Page, image: &[f32]) -> TestResult {
    let rect: Vec<f64> = page
        .evaluate(
            "(() => { const r = document.querySelector('#pad').getBoundingClientRect(); \
             return [r.left, r.top, r.width, r.height]; })()",
        )
        .await?
        .into_value()?;
    let (left, top, width, height) = (rect[0], rect[1], rect[2], rect[3]);
    let at = |row: usize, col: f64| {
        (
            left + (col + 0.5) / 28.0 * width,
            top + (row as f64 + 0.5) / 28.0 * height,
        )
    };
    for row in 0..28 {
        let mut col = 0;
        while col < 28 {
            if image[row * 28 + col] < 0.5 {
                col += 1;
                continue;
            }
            let start = col;
            while col < 28 && image[row * 28 + col] >= 0.5 {
                col += 1;
            }
            let (x0, y) = at(row, start as f64);
            let (x1, _) = at(row, (col - 1) as f64);
            mouse(page, DispatchMouseEventType::MousePressed, x0, y, 1).await?;
            let steps = 4;
            for s in 1..=steps {
                let x = x0 + (x1 - x0) * s as f64 / steps as f64;
                mouse(page, DispatchMouseEventType::MouseMoved, x, y, 1).await?;
            }
            mouse(page, DispatchMouseEventType::MouseReleased, x1, y, 0).await?;
        }
    }
    Ok(())
}

async fn mouse(
    page: &Page,
    kind: DispatchMouseEventType,
    x: f64,
    y: f64,
    buttons: i64,
) -> TestResult {
    let event = DispatchMouseEventParams::builder()
        .r#type(kind)
        .x(x)
        .y(y)
        .button(MouseButton::Left)
        .buttons(buttons)
        .click_count(1)
        .build()?;
    page.execute(event).await?;
    Ok(())
}

/// Sets the train form: a small relu net, `epochs` epochs, `limit` training images ("" for all).
async fn fill_form(page: &Page, name: &str, epochs: u32, limit: &str) -> TestResult {
    let script = format!(
        "(() => {{ const set = (f, v) => {{ const e = document.querySelector('#f-' + f); e.value = v; \
         e.dispatchEvent(new Event('change', {{ bubbles: true }})); }}; \
         set('hidden', '32'); set('activation', 'relu'); set('lr', '0.1'); set('batch_size', '32'); \
         set('epochs', '{epochs}'); set('momentum', '0.9'); set('weight_decay', '0'); \
         set('lr_schedule', 'constant'); set('train_limit', '{limit}'); set('seed', '1'); \
         set('name', '{name}'); return true; }})()"
    );
    page.evaluate(script).await?;
    Ok(())
}

async fn text(page: &Page, selector: &str) -> Result<String, Box<dyn std::error::Error>> {
    let value: String = page
        .evaluate(format!(
            "document.querySelector('{selector}').textContent.trim()"
        ))
        .await?
        .into_value()?;
    Ok(value)
}

/// Polls a JavaScript condition until it holds, for at most `seconds`.
async fn wait_until(page: &Page, condition: &str, seconds: u64) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let holds: bool = page
            .evaluate(condition)
            .await?
            .into_value()
            .unwrap_or(false);
        if holds {
            return Ok(());
        }
        if Instant::now() > deadline {
            let banner = text(page, "#banner").await.unwrap_or_default();
            return Err(
                format!("still false after {seconds} s: {condition} (banner: {banner:?})").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn screenshot(page: &Page, path: &std::path::Path) -> TestResult {
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), path)
        .await?;
    println!("screenshot: {}", path.display());
    Ok(())
}
