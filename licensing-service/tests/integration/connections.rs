//! Slow, idle and too many connections: a connection has a few seconds to
//! send its request head (and to send the next one), an address holds only
//! so many connections at once, and a flood of slow connections from other
//! addresses does not keep `/healthz` or `/v1/validate` from answering.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::internals::{derived_max_connections, open_file_limit};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A request head that never ends: the blank line that closes it is not sent.
const SLOW_HEAD: &[u8] = b"POST /v1/validate HTTP/1.1\r\nHost: keysat\r\nContent-Type: application/json\r\n";

/// A connection to `server` from `127.0.0.<n>` (Linux routes all of
/// 127.0.0.0/8 to the loopback interface, so each is another client address).
async fn connect_from(n: u8, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::from([127, 0, 0, n]), 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// What the server sent before closing the connection; `None` while it is
/// still open (a read neither ends nor fails at once).
async fn answer_if_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let (mut answer, mut buf) = (Vec::new(), [0u8; 512]);
    loop {
        match tokio::time::timeout(Duration::from_millis(2), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(answer),
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
    }
}

/// How long after `start` the server closes `stream` (`None`: still open at `limit`).
async fn time_to_close(stream: &mut TcpStream, start: Instant, limit: Duration) -> Option<Duration> {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue, // an answer; keep reading until the close
        }
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_connections_do_not_keep_healthz_or_validate_from_answering() {
    const FLOOD: usize = 1_000;
    const ADDRESSES: usize = 12;
    let app = spawn_app().await;
    // The server raised this process's open-file limit at start-up; the test
    // holds both ends of every connection.
    let files = open_file_limit();
    assert!(files > 2 * FLOOD + 200, "this test needs about {} open files; the hard limit allows {files}", 2 * FLOOD);
    let per_address = app.state.config.max_connections_per_address as usize;
    app.product_with_policy("app", json!({})).await;
    let (_, key) = app.issue_license("app", "default").await;
    assert_ok(&app.validate(json!({"key": key})).await);

    // 1,000 slow connections from 127.0.0.2 … 127.0.0.13, each one sending a
    // request head without its end.
    let started = Instant::now();
    let mut flood = Vec::with_capacity(FLOOD);
    for i in 0..FLOOD {
        let mut s = connect_from(2 + (i % ADDRESSES) as u8, app.public_addr).await;
        let _ = s.write_all(SLOW_HEAD).await; // a refused connection may already be closed
        flood.push(s);
    }
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = 0;
    for s in &mut flood {
        if let Some(answer) = answer_if_closed(s).await {
            // Turned away with a reason, not just a reset.
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with("HTTP/1.1 429") && answer.contains("too_many_connections"), "{answer}");
            refused += 1;
        }
    }
    let kept = FLOOD - refused;
    assert_eq!(kept, ADDRESSES * per_address, "each address keeps its share: {per_address}");
    assert_eq!(app.state.connections_refused() as usize, refused);

    // Meanwhile 127.0.0.1 is served promptly, over fresh connections each time.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let (mut health, mut validate) = (Vec::new(), Vec::new());
    let measuring = Instant::now();
    while measuring.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        let r = client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        health.push(t.elapsed());
        let t = Instant::now();
        let r = client.post(format!("{}/v1/validate", app.base)).json(&json!({"key": key})).send().await.unwrap();
        assert_ok(&r.json().await.unwrap());
        validate.push(t.elapsed());
        // Well under the address's validation rate limit.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Still held: the flood outlived the measurements.
    let still_open = app.state.connections_open();
    assert!(still_open >= kept, "{still_open} open, {kept} kept");
    health.sort();
    validate.sort();
    println!(
        "slow-connection flood: {FLOOD} held by the client from {ADDRESSES} addresses (opened in {opened_in:.2?}), \
         {kept} kept by the server ({per_address} per address), {refused} answered 429 and closed at once; \
         during the flood: /healthz {} answers, median {:.1?}, p99 {:.1?}, max {:.1?}; \
         /v1/validate {} answers, median {:.1?}, p99 {:.1?}, max {:.1?}",
        health.len(),
        percentile(&health, 50),
        percentile(&health, 99),
        health.last().unwrap(),
        validate.len(),
        percentile(&validate, 50),
        percentile(&validate, 99),
        validate.last().unwrap(),
    );
    assert!(*health.last().unwrap() < Duration::from_secs(1), "healthz too slow: {health:?}");
    assert!(*validate.last().unwrap() < Duration::from_secs(1), "validate too slow: {validate:?}");
    drop(flood);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_connections_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(800);
    let app = spawn_with(|c| c.header_read_timeout = timeout).await;
    let limit = Duration::from_secs(5);

    // A request head that never ends, one that trickles in a byte at a time,
    // and a connection that sends nothing at all.
    let start = Instant::now();
    let mut slow = connect_from(2, app.public_addr).await;
    slow.write_all(SLOW_HEAD).await.unwrap();
    let mut silent = connect_from(3, app.public_addr).await;
    let mut trickle = connect_from(4, app.public_addr).await;
    let dripping = tokio::spawn(async move {
        for b in SLOW_HEAD.iter().cycle() {
            if trickle.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    for (what, stream) in [("slow head", &mut slow), ("silent", &mut silent)] {
        let closed =
            time_to_close(stream, start, limit).await.unwrap_or_else(|| panic!("{what}: still open after {limit:?}"));
        assert!(closed >= timeout - Duration::from_millis(100), "{what}: closed after only {closed:?}");
        println!("{what} connection closed after {closed:.2?} (header timeout {timeout:?})");
    }
    tokio::time::timeout(limit, dripping).await.expect("the trickling connection was closed").unwrap();

    // Keep-alive: a connection that finished a request and then idles is closed too.
    let mut idle = connect_from(5, app.public_addr).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: keysat\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    let answered = Instant::now();
    let closed = time_to_close(&mut idle, answered, limit).await.expect("an idle keep-alive connection is closed");
    assert!(closed >= timeout - Duration::from_millis(100), "idle: closed after only {closed:?}");
    println!("idle keep-alive connection closed {closed:.2?} after its answer");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_connection_cap_newcomers_wait_their_turn_and_are_then_served() {
    let timeout = Duration::from_secs(1);
    let app = spawn_with(|c| {
        c.max_connections = Some(8);
        c.header_read_timeout = timeout;
    })
    .await;
    // Eight slow connections from eight addresses fill the cap.
    let mut held = Vec::new();
    for n in 2..10 {
        let mut s = connect_from(n, app.public_addr).await;
        s.write_all(SLOW_HEAD).await.unwrap();
        held.push(s);
    }
    // The server has taken all eight once its count says so (polled, not waited for).
    let all_open =
        crate::common::poll(Duration::from_secs(5), || async { (app.state.connections_open() == 8).then_some(()) })
            .await;
    assert!(all_open.is_some(), "open: {}", app.state.connections_open());
    // A ninth waits in the listen queue (no file spent on it) until the
    // header timeout frees a place, then is answered.
    let t = Instant::now();
    let r = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    let waited = t.elapsed();
    assert!(waited < timeout + Duration::from_secs(2), "waited {waited:?}");
    println!("at the cap, a new connection was served after {waited:.2?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_lets_an_in_flight_request_finish() {
    let app = spawn_app().await;
    let mut s = connect_from(2, app.public_addr).await;
    let body = br#"{"key":"not-a-key"}"#;
    let head = format!(
        "POST /v1/validate HTTP/1.1\r\nHost: keysat\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Stop while the request's body is still coming.
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.write_all(&body[5..]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("bad_format"), "{answer}");
    tokio::time::timeout(Duration::from_secs(15), stopping).await.expect("stopped").unwrap();
}

/// The attack as it was first seen: the real binary with 256 open files and
/// 300 slow connections from 15 addresses. The derived connection cap keeps
/// the process from running out of files, and the header timeout clears the
/// flood, so `/healthz` is answered within a few timeouts instead of never.
#[tokio::test(flavor = "multi_thread")]
async fn with_256_open_files_300_slow_connections_only_delay_healthz() {
    let port = free_port();
    let server: SocketAddr = ([127, 0, 0, 1], port).into();
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", r#"ulimit -n 256 && exec "$0" serve"#, KEYSAT_BIN])
        .env_clear()
        .env("KEYSAT_BIND", server.to_string())
        .env("KEYSAT_DATA_DIR", data.path())
        .env("KEYSAT_ADMIN_API_KEY", ADMIN_KEY)
        .env("KEYSAT_NOSTR_RELAYS", "")
        .env("KEYSAT_HEADER_READ_TIMEOUT_SECONDS", "2")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(20)).build().unwrap();
    let healthz = format!("http://{server}/healthz");
    let up = poll(Duration::from_secs(30), || async { client.get(&healthz).send().await.ok() }).await;
    assert!(up.is_some(), "keysat did not start");

    let started = Instant::now();
    let mut flood = Vec::new();
    for i in 0..300 {
        let mut s = connect_from(2 + (i % 15) as u8, server).await;
        let _ = s.write_all(SLOW_HEAD).await;
        flood.push(s);
    }
    let opened_in = started.elapsed();
    let stats = client.get(format!("http://{server}/v1/admin/stats")).bearer_auth(ADMIN_KEY);
    let mut waits = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = client.get(&healthz).send().await.expect("healthz answered");
        assert_eq!(r.status(), 200);
        waits.push(t.elapsed());
    }
    let stats: serde_json::Value = stats.send().await.unwrap().json().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    println!(
        "256 open files, 300 slow connections from 15 addresses (opened in {opened_in:.2?}): \
         /healthz answered after {waits:.2?}; then {} connections open, cap {}",
        stats["public_connections_open"],
        derived_max_connections(256),
    );
    assert!(waits[0] < Duration::from_secs(7), "the first healthz waited {:?}", waits[0]);
    assert!(!stderr.contains("accept failed"), "the server ran out of files:\n{stderr}");
    drop(flood);
}
