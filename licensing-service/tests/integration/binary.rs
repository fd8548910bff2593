//! The `keysat` binary itself: it never logs the admin key, stops gracefully
//! on SIGTERM, and reports a configuration error in one line.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{free_port, KEYSAT_BIN};
use serde_json::{json, Value};

const KEY: &str = "ksa-binary-test-secret-7f3a9c2e51d84b06";
const WRONG_KEY: &str = "ksa-binary-test-wrong-0b1c2d3e4f5a6b7c";

/// Reads a pipe to its end on a thread, so a chatty child never blocks.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
}

/// `keysat serve` with a clean environment (and no Nostr relays: nothing
/// leaves the machine) plus `env`.
fn keysat_serve(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(KEYSAT_BIN);
    cmd.arg("serve").env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.env("KEYSAT_NOSTR_RELAYS", "");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(status) = child.try_wait().expect("wait on the child") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Kills the child if a test fails half-way.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `keysat serve` whose output is being captured.
struct Daemon {
    child: Guard,
    base: String,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

impl Daemon {
    /// Starts the binary on a free port over `data_dir` and waits until it answers.
    async fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Daemon {
        // The port is chosen, released and then bound by the daemon: another
        // process may take it in between, so a start that fails with
        // "address in use" is retried on a new port.
        for attempt in 1.. {
            let bind = format!("127.0.0.1:{}", free_port());
            let mut all =
                vec![("KEYSAT_DATA_DIR", data_dir.to_str().unwrap()), ("KEYSAT_BIND", &bind), ("RUST_LOG", "debug")];
            all.extend_from_slice(env);
            let mut child = keysat_serve(&all).spawn().expect("start keysat");
            let stdout = drain(child.stdout.take().unwrap());
            let stderr = drain(child.stderr.take().unwrap());
            let mut child = Guard(child);
            let base = format!("http://{bind}");
            let start = Instant::now();
            loop {
                if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status() == 200) {
                    return Daemon { child, base, stdout, stderr };
                }
                assert!(start.elapsed() < Duration::from_secs(20), "keysat did not come up");
                if child.0.try_wait().unwrap().is_some() {
                    let (out, err) = (stdout.join().unwrap(), stderr.join().unwrap());
                    let in_use = format!("{out}{err}").to_lowercase().contains("in use");
                    assert!(in_use && attempt < 5, "keysat exited early:\n{out}{err}");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// SIGTERM; returns the exit status, stdout and stderr.
    fn stop(mut self) -> (ExitStatus, String, String) {
        let pid = self.child.0.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(killed.success());
        let status = wait_with_timeout(&mut self.child.0, Duration::from_secs(20)).expect("keysat stops after SIGTERM");
        (status, self.stdout.join().unwrap(), self.stderr.join().unwrap())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_key_never_reaches_the_logs() {
    let data = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(data.path(), &[("KEYSAT_ADMIN_API_KEY", KEY)]).await;
    let base = daemon.base.clone();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let admin = |method: reqwest::Method, path: &str, auth: Option<String>, body: Option<Value>| {
        let mut req = client.request(method, format!("{base}/v1/admin{path}"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.expect("request").status().as_u16() }
    };
    let bearer = |k: &str| Some(format!("Bearer {k}"));
    use reqwest::Method;
    // Authorised calls, including ones that write and ones that fail.
    let product = json!({"slug": "app", "name": "App", "price_sats": 1000});
    assert_eq!(admin(Method::POST, "/products", bearer(KEY), Some(product)).await, 201);
    let policy = json!({"slug": "default", "name": "D"});
    assert_eq!(admin(Method::POST, "/products/app/policies", bearer(KEY), Some(policy)).await, 201);
    assert_eq!(admin(Method::GET, "/products", bearer(KEY), None).await, 200);
    assert_eq!(admin(Method::POST, "/licenses", bearer(KEY), Some(json!({"product_slug": "app"}))).await, 201);
    assert_eq!(admin(Method::PUT, "/settings", bearer(KEY), Some(json!({"operator_name": "Shop"}))).await, 200);
    assert_eq!(admin(Method::GET, "/settings", bearer(KEY), None).await, 200);
    assert_eq!(admin(Method::POST, "/products", bearer(KEY), Some(json!({"slug": "Bad"}))).await, 422);
    assert_eq!(admin(Method::GET, "/nope", bearer(KEY), None).await, 404);
    // Unauthorised ones: no key, a wrong key, the right key in the wrong scheme.
    assert_eq!(admin(Method::GET, "/products", None, None).await, 401);
    assert_eq!(admin(Method::GET, "/products", bearer(WRONG_KEY), None).await, 401);
    assert_eq!(admin(Method::GET, "/products", Some(format!("Basic {KEY}")), None).await, 401);
    assert_eq!(admin(Method::GET, "/products", Some(KEY.to_string()), None).await, 401);
    let r = client.post(format!("{base}/v1/validate")).json(&json!({"key": KEY})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    drop(client);

    // SIGTERM: a graceful stop, exit code 0.
    let (status, out, err) = daemon.stop();
    assert!(status.success(), "exit status {status:?}\nstdout:\n{out}\nstderr:\n{err}");

    // The capture worked: the banner and debug logs are there.
    assert!(out.contains("Keysat") && out.contains("Admin API key"), "stdout:\n{out}");
    assert!(err.contains("DEBUG"), "debug logs expected on stderr:\n{err}");
    assert!(err.contains("stopped"), "the graceful stop is logged:\n{err}");
    for (name, text) in [("stdout", &out), ("stderr", &err)] {
        assert!(!text.contains(KEY), "the admin key appears in {name}:\n{text}");
        assert!(!text.contains(WRONG_KEY), "a presented key appears in {name}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_key_is_shown_once_and_never_logged() {
    let data = tempfile::tempdir().unwrap();
    let (status, out, err) = Daemon::start(data.path(), &[]).await.stop();
    assert!(status.success(), "{err}");
    let key = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Admin API key:"))
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|| panic!("the banner shows the generated key:\n{out}"));
    assert!(key.starts_with("ksa_") && key.len() > 40, "{key}");
    assert_eq!(out.matches(&key).count(), 1, "shown once:\n{out}");
    assert!(!err.contains(&key), "the generated key is logged:\n{err}");

    // `keysat admin-key` prints the stored one.
    let printed = Command::new(KEYSAT_BIN)
        .arg("admin-key")
        .env_clear()
        .env("KEYSAT_DATA_DIR", data.path())
        .output()
        .expect("run keysat admin-key");
    assert!(printed.status.success());
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), key);

    // The next start uses it without printing it.
    let daemon = Daemon::start(data.path(), &[]).await;
    let client = reqwest::Client::new();
    let ok = client.get(format!("{}/v1/admin/products", daemon.base)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let (status, out, err) = daemon.stop();
    assert!(status.success(), "{err}");
    assert!(!out.contains(&key) && !err.contains(&key), "stdout:\n{out}\nstderr:\n{err}");
}

#[test]
fn a_config_error_is_one_line_naming_the_variable() {
    let data = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("KEYSAT_BIND", "nope"),
        ("KEYSAT_ADMIN_BIND", "also-nope"),
        ("KEYSAT_ADMIN_API_KEY", "short"),
        ("KEYSAT_PUBLIC_URL", "ftp://shop.example"),
        ("KEYSAT_TRUSTED_PROXIES", "10.0.0.0/99"),
    ] {
        let child = keysat_serve(&[(var, value), ("KEYSAT_DATA_DIR", data.path().to_str().unwrap())])
            .spawn()
            .expect("start keysat");
        let mut child = Guard(child);
        let status = wait_with_timeout(&mut child.0, Duration::from_secs(20)).expect("keysat exits on a bad config");
        let mut out = String::new();
        let mut err = String::new();
        child.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        child.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(!status.success(), "{var}={value} should fail");
        assert_eq!(status.code(), Some(1), "{var}={value}");
        assert_eq!(out, "", "{var}: nothing on stdout");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{var}: one line expected:\n{err}");
        assert!(lines[0].contains(var), "{var} not named: {}", lines[0]);
        if var == "KEYSAT_ADMIN_API_KEY" {
            assert!(!lines[0].contains("short"), "the bad key is not echoed: {}", lines[0]);
        }
    }
    // Nothing was created for a config that never validated.
    assert!(!data.path().join("keysat.db").exists());
}

#[test]
fn a_busy_port_is_reported_against_keysat_bind() {
    let data = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    let child = keysat_serve(&[("KEYSAT_BIND", &bind), ("KEYSAT_DATA_DIR", data.path().to_str().unwrap())])
        .spawn()
        .expect("start keysat");
    let mut child = Guard(child);
    let status = wait_with_timeout(&mut child.0, Duration::from_secs(20)).expect("keysat exits when it cannot listen");
    let mut err = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(last.contains("KEYSAT_BIND") && last.contains(&bind), "{err}");
    drop(taken);
}
