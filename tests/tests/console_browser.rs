//! The compliance console in a real browser (issue 16): Debian's headless
//! Chromium, driven through chromedriver's WebDriver JSON API (a few
//! requests over hyper, no WebDriver crate), presents the compliance
//! officer's client certificate from an NSS database (`pk12util`) chosen by
//! the `AutoSelectCertificateForUrls` policy. It opens the overview,
//! searches by officer through the form, opens one inquiry (its proof
//! verified), opens a subject report, switches language, checks that form
//! fields are labelled and tables have headers, that the page fits
//! 1280×800 and 390×844, and screenshots each page into
//! `target/tmp/console-screenshots/`. A data officer's certificate gets
//! the 403 page.
//!
//! Needs `chromium`, `chromium-driver` and `libnss3-tools` (`.ci/run`
//! installs them) and root (the policy lives under
//! `/etc/chromium/policies/managed`); without them the test says so and
//! returns, except under `CI`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tests::client::Proto;
use tests::env::{admin, eventually, Env, INSPECTOR_HEADERS, LEGAL_PERSON};

const POLICY_DIR: &str = "/etc/chromium/policies/managed";

/// What the test needs from the machine, or why it cannot run.
fn prerequisites() -> Result<(), String> {
    for tool in ["chromium", "chromedriver", "pk12util", "certutil"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!("`{tool}` not installed"));
        }
    }
    std::fs::create_dir_all(POLICY_DIR).map_err(|e| format!("{POLICY_DIR}: {e}"))?;
    Ok(())
}

/// A policy file that selects the only certificate for `origin`, removed on drop.
struct Policy(PathBuf);

impl Policy {
    fn write(origin: &str) -> Policy {
        let path = Path::new(POLICY_DIR).join(format!(
            "credgate-console-test-{}-{}.json",
            std::process::id(),
            origin.rsplit(':').next().unwrap()
        ));
        let rule = json!({"pattern": origin, "filter": {}}).to_string();
        std::fs::write(
            &path,
            json!({ "AutoSelectCertificateForUrls": [rule] }).to_string(),
        )
        .unwrap();
        Policy(path)
    }
}

impl Drop for Policy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A HOME whose NSS database trusts the dev CA and holds one officer's
/// PKCS#12.
fn browser_home(env: &Env, officer: &str) -> PathBuf {
    let home = env.tmp.path().join(format!("home-{officer}"));
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let db_arg = format!("sql:{}", db.display());
    let run = |cmd: &str, args: &[&str]| {
        let out = std::process::Command::new(cmd).args(args).output().unwrap();
        assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
    };
    run("certutil", &["-d", &db_arg, "-N", "--empty-password"]);
    let ca = env.pki.join(certs::pki::CA_CERT);
    run(
        "certutil",
        &[
            "-d",
            &db_arg,
            "-A",
            "-n",
            "credgate-ca",
            "-t",
            "C,,",
            "-i",
            ca.to_str().unwrap(),
        ],
    );
    let p12 = env.pki.join(format!("{officer}.p12"));
    run(
        "pk12util",
        &[
            "-d",
            &db_arg,
            "-i",
            p12.to_str().unwrap(),
            "-W",
            certs::pki::P12_PASSWORD,
        ],
    );
    home
}

/// chromedriver, running as long as this value lives, and one session.
struct Browser {
    driver: tokio::process::Child,
    port: u16,
    session: String,
}

impl Browser {
    async fn start(home: &Path) -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
        };
        let up = eventually(10, || async {
            b.call("GET", "/status", None).await.is_some()
        })
        .await;
        assert!(up, "chromedriver did not start");
        let user_data = home.join("chromium");
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,800",
                     format!("--user-data-dir={}", user_data.display())],
        }}}});
        let r = b.call("POST", "/session", Some(caps)).await.unwrap();
        b.session = r["value"]["sessionId"].as_str().unwrap().to_string();
        b
    }

    /// One WebDriver command; `None` if chromedriver cannot be reached.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .ok()?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .ok()?;
        tokio::spawn(conn);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(60), sender.send_request(req))
            .await
            .ok()?
            .ok()?;
        let bytes = resp.into_body().collect().await.ok()?.to_bytes();
        serde_json::from_slice(&bytes).ok()
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let r = self.call(method, &path, body).await.unwrap();
        assert!(r["value"].get("error").is_none(), "{method} {path}: {r}");
        r["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    async fn title(&self) -> String {
        self.cmd("GET", "/title", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn text(&self) -> String {
        self.script("return document.body.innerText")
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn script(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let png = self.cmd("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Accessibility basics on the current page, at 1280×800 and 390×844.
    async fn check_basics(&self, name: &str) {
        let unlabelled = self
            .script(
                "return [...document.querySelectorAll('input:not([type=hidden]), select')]\
                 .filter(e => !e.labels || e.labels.length === 0).length",
            )
            .await;
        assert_eq!(unlabelled, 0, "{name}: every form field labelled");
        let headless = self
            .script("return [...document.querySelectorAll('table')].filter(t => !t.querySelector('th')).length")
            .await;
        assert_eq!(headless, 0, "{name}: every table has headers");
        for (w, h) in [(390, 844), (1280, 800)] {
            self.resize(w, h).await;
            let overflow = self
                .script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                .await;
            assert!(
                overflow.as_i64().unwrap() <= 0,
                "{name} at {w}x{h}: no sideways scrolling ({overflow})"
            );
            if w == 390 {
                self.screenshot(&format!("{name}-390x844")).await;
            }
        }
    }

    async fn quit(mut self) {
        let _ = self
            .call("DELETE", &format!("/session/{}", self.session), None)
            .await;
        let _ = self.driver.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_headless_chromium() {
    if let Err(why) = prerequisites() {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but the browser test cannot run: {why}");
        }
        eprintln!("notice: console browser test not run: {why}");
        return;
    }
    let env = Env::new().await;
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person"}}),
    );
    let gw = env.start().await;
    let data = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = data
        .get(
            gw.data_addr(),
            &format!("/v1/subjects/{LEGAL_PERSON}"),
            &INSPECTOR_HEADERS,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let inquiry = r.header("inquiry-id").unwrap().to_string();
    let origin = format!("https://127.0.0.1:{}", admin(&gw).port());
    let _policy = Policy::write(&origin);

    let b = Browser::start(&browser_home(&env, "CMP-0001")).await;
    // Overview, in Chinese.
    b.open(&format!("{origin}/console/")).await;
    assert!(b.title().await.contains("概览"), "{}", b.title().await);
    let text = b.text().await;
    assert!(
        text.contains("日志链") && text.contains("签名有效"),
        "{text}"
    );
    b.screenshot("overview").await;
    b.check_basics("overview").await;

    // Search by officer through the form.
    b.open(&format!("{origin}/console/entries")).await;
    b.check_basics("search").await;
    b.type_into("#f-officer", "HN-AMR-0001").await;
    b.click("form.filters button[type=submit]").await;
    // The click returns before the form's navigation is done on a loaded
    // machine: wait for the new page (at most 10 s).
    let mut url = b.cmd("GET", "/url", None).await;
    let asked = std::time::Instant::now();
    while !url
        .as_str()
        .unwrap_or_default()
        .contains("officer=HN-AMR-0001")
        && asked.elapsed() < std::time::Duration::from_secs(10)
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        url = b.cmd("GET", "/url", None).await;
    }
    assert!(
        url.as_str().unwrap().contains("officer=HN-AMR-0001"),
        "{url}"
    );
    assert!(b.text().await.contains(&inquiry), "the inquiry is listed");
    b.screenshot("search").await;

    // One inquiry, its proof verified (once a checkpoint covers it).
    b.click(&format!("a[href^=\"/console/entries/{inquiry}\"]"))
        .await;
    let verified = eventually(10, || async {
        b.cmd("POST", "/refresh", Some(json!({}))).await;
        b.text().await.contains("已验证")
    })
    .await;
    assert!(verified, "{}", b.text().await);
    assert!(b.text().await.contains("HN-2026-00123"));
    b.screenshot("inquiry").await;
    b.check_basics("inquiry").await;

    // The subject's report, then in English.
    b.open(&format!("{origin}/console/subjects/{LEGAL_PERSON}"))
        .await;
    assert!(b
        .text()
        .await
        .contains("Hunan Administration for Market Regulation"));
    b.screenshot("subject-zh").await;
    b.click("a[hreflang=en]").await;
    let english = eventually(10, || async {
        b.title().await.starts_with("Right-to-know report")
    })
    .await;
    assert!(english, "{}", b.title().await);
    assert_eq!(b.script("return document.documentElement.lang").await, "en");
    b.screenshot("subject-en").await;
    b.check_basics("subject").await;

    b.open(&format!("{origin}/console/alerts?lang=en")).await;
    assert!(b.title().await.starts_with("Misuse alerts"));
    b.check_basics("alerts").await;
    b.quit().await;

    // A data officer's certificate: the 403 page.
    let b = Browser::start(&browser_home(&env, "HN-AMR-0001")).await;
    b.open(&format!("{origin}/console/?lang=en")).await;
    assert!(
        b.title().await.starts_with("Forbidden"),
        "{}",
        b.title().await
    );
    assert!(b.text().await.contains("Only compliance officers"));
    b.screenshot("forbidden").await;
    b.quit().await;
    gw.shutdown().await.unwrap();
}
