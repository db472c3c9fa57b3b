//! Headless Chromium driven over WebDriver: `chromedriver` started on a free port (stopped by
//! its own PID when dropped), a fantoccini client, and the few helpers the scenarios use
//! (wait for text, click, type, screenshots into `target/web-screenshots/`).

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any wait in the browser may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running chromedriver and a browser session on it.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

fn binary(names: &[&str]) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!("{names:?} not found: run scripts/install-browser-test-tools (Debian's chromium and chromium-driver)")
}

impl Browser {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(binary(&["chromedriver"]))
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let chromium = binary(&["chromium", "chromium-browser"]);
        let mut caps = serde_json::Map::new();
        let args = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"];
        caps.insert("goog:chromeOptions".into(), serde_json::json!({ "binary": chromium, "args": args }));
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < WAIT => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        Self { client, driver }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The first element matching `css`, waiting for it.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(found) => found,
            Err(e) => panic!("no {css}: {e}\n{}", self.body_text().await),
        }
    }

    /// The first element matching `xpath`, waiting for it.
    pub async fn find_xpath(&self, xpath: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::XPath(xpath)).await {
            Ok(found) => found,
            Err(e) => panic!("no {xpath}: {e}\n{}", self.body_text().await),
        }
    }

    /// Waits until nothing matches `xpath`.
    pub async fn wait_gone(&self, xpath: &str) {
        let started = Instant::now();
        while self.client.find(Locator::XPath(xpath)).await.is_ok() {
            assert!(started.elapsed() < WAIT, "{xpath} stays:\n{}", self.body_text().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The labels of the buttons, button-like links and file pickers the page's main part offers.
    pub async fn controls(&self) -> Vec<String> {
        let labels = self
            .js("return [...document.querySelectorAll('main button, main a.button, main label.button')]\
                 .map((e) => e.textContent.trim());")
            .await;
        serde_json::from_value(labels).unwrap()
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// The button (or link) inside `scope` whose text is `label`.
    pub async fn button(&self, scope: &str, label: &str) -> Element {
        let quoted = if label.contains('\'') { format!("\"{label}\"") } else { format!("'{label}'") };
        let xpath = format!(".//*[(self::button or self::a) and normalize-space(.)={quoted}]");
        let started = Instant::now();
        loop {
            if let Ok(scope_el) = self.client.find(Locator::Css(scope)).await {
                if let Ok(found) = scope_el.find(Locator::XPath(&xpath)).await {
                    return found;
                }
            }
            assert!(started.elapsed() < WAIT, "no button {label:?} in {scope}:\n{}", self.body_text().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until `css` exists and its text satisfies `test`; returns that text.
    pub async fn wait_text(&self, css: &str, what: &str, test: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = el.text().await {
                    if test(&text) {
                        return text;
                    }
                }
            }
            assert!(started.elapsed() < WAIT, "{css}: never {what}; the page says:\n{}", self.body_text().await);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Runs `script` (a function body) and returns its value.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Saves a PNG of the page as `target/web-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Ends the browser session (chromedriver stops when the `Browser` is dropped).
    pub async fn stop(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    /// Stops chromedriver's process group (chromedriver and the browsers it started; it was
    /// made the group's leader, so the group's id is its PID), also after a failed scenario.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}
