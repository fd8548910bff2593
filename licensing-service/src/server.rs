//! Serving the router on a listener with hyper's HTTP/1 connection and our
//! own accept loop — `axum::serve` cannot set hyper's timeouts — so that a
//! slow or idle connection is closed, no address holds more than its share
//! of connections, and the open-file limit is never reached by accepting.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::config::Config;
use crate::domain::proxies::TrustedProxies;
use crate::ratelimit::bucket;

/// Open files kept for everything but the public listener's connections:
/// the database, the admin listener, outgoing calls, relays.
const RESERVED_FILES: usize = 256;
/// The derived connection cap never exceeds this (memory, not files, then binds).
const DERIVED_CAP_MAX: usize = 8192;
/// The admin listener's connection cap (its callers are the operator's
/// tools), taken from the reserved files.
pub const ADMIN_MAX_CONNECTIONS: usize = 64;
/// After a shutdown request, in-flight requests get this long to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
/// How long a connection turned away may take to hear why.
const TURN_AWAY_TIME: Duration = Duration::from_secs(1);
/// The answer to a connection over its address's share.
const TOO_MANY_CONNECTIONS: &str = concat!(
    "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\n",
    "connection: close\r\ncontent-length: 120\r\n\r\n",
    r#"{"ok":false,"error":"too_many_connections","message":"too many open connections from this address; close one and retry"}"#,
);
/// Pause after an accept error that is not the peer's (EMFILE, ENFILE, ENOMEM).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);

/// The open-file limit: the soft limit is raised to the hard one once per
/// process (allowed without privileges; nothing here uses `select(2)`), and
/// the result is what connection caps are derived from.
pub fn open_file_limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(raise_open_file_limit)
}

#[cfg(unix)]
fn raise_open_file_limit() -> usize {
    // Where the hard limit is "unlimited", Linux still refuses more than nr_open.
    const CEILING: libc::rlim_t = 1 << 20;
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    let target = lim.rlim_max.min(CEILING);
    if target > lim.rlim_cur {
        let raised = libc::rlimit { rlim_cur: target, rlim_max: lim.rlim_max };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::debug!(from = lim.rlim_cur, to = target, "raised the open-file limit");
            lim.rlim_cur = target;
        }
    }
    usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
}

#[cfg(not(unix))]
fn raise_open_file_limit() -> usize {
    1024
}

/// The public listener's connection cap when none is configured: three
/// quarters of the open files left after [`RESERVED_FILES`] (a quarter of
/// them under a small limit).
pub fn derived_max_connections(open_files: usize) -> usize {
    (open_files.saturating_sub(reserved_files(open_files)) * 3 / 4).clamp(16, DERIVED_CAP_MAX)
}

fn reserved_files(open_files: usize) -> usize {
    RESERVED_FILES.min(open_files / 4)
}

/// How one listener treats connections.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_per_address: u32,
    pub header_read_timeout: Duration,
    /// Exempt from the per-address cap: behind a proxy every client shares its address.
    pub trusted_proxies: TrustedProxies,
}

impl Limits {
    /// The public listener's limits.
    pub fn public(config: &Config) -> Limits {
        let max_connections = match config.max_connections {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => derived_max_connections(open_file_limit()),
        };
        Limits {
            max_connections,
            max_per_address: config.max_connections_per_address,
            header_read_timeout: config.header_read_timeout,
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }

    /// The admin listener's limits: the public ones with a small total.
    pub fn admin(config: &Config) -> Limits {
        let max_connections = ADMIN_MAX_CONNECTIONS.min(reserved_files(open_file_limit()) / 2).max(4);
        Limits { max_connections, ..Limits::public(config) }
    }
}

/// One listener's open connections.
pub struct Connections {
    limits: Limits,
    slots: Arc<Semaphore>,
    by_address: Mutex<HashMap<IpAddr, u32>>,
    refused: AtomicU64,
}

impl Connections {
    pub fn new(limits: Limits) -> Arc<Connections> {
        Arc::new(Connections {
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
            by_address: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.limits.max_connections - self.slots.available_permits()
    }

    /// Connections closed on accepting because their address had its share.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Takes an address's place for a connection, unless it has its share
    /// (then the place in the total is handed back).
    fn admit(self: &Arc<Self>, peer: IpAddr, permit: OwnedSemaphorePermit) -> Result<Slot, OwnedSemaphorePermit> {
        if self.limits.trusted_proxies.trusts(peer) {
            return Ok(Slot { conns: self.clone(), address: None, _permit: permit });
        }
        let address = bucket(peer);
        let mut map = self.by_address.lock().expect("connections lock");
        let open = map.entry(address).or_insert(0);
        if *open >= self.limits.max_per_address {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(permit);
        }
        *open += 1;
        Ok(Slot { conns: self.clone(), address: Some(address), _permit: permit })
    }
}

/// A connection's place: given back when the connection ends.
struct Slot {
    conns: Arc<Connections>,
    address: Option<IpAddr>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(address) = self.address else { return };
        let mut map = self.conns.by_address.lock().expect("connections lock");
        if let Some(open) = map.get_mut(&address) {
            *open -= 1;
            if *open == 0 {
                map.remove(&address);
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true; then accepts no
/// more, lets in-flight requests finish (up to [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve(listener: TcpListener, router: Router, conns: Arc<Connections>, mut stop: watch::Receiver<bool>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(conns.limits.header_read_timeout).keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut last_accept_warning: Option<Instant> = None;
    loop {
        // At the cap, wait for a place before accepting: new connections
        // queue in the kernel's backlog instead of costing a file each.
        let permit = tokio::select! {
            p = conns.slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = stop.wait_for(|s| *s) => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_peer_error(&e) => continue,
            Err(e) => {
                // Out of files or memory: retrying at once would spin.
                if last_accept_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(error = %e, "accept failed; pausing before accepting again");
                    last_accept_warning = Some(Instant::now());
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let slot = match conns.admit(peer.ip(), permit) {
            Ok(slot) => slot,
            Err(permit) => {
                tracing::debug!(client = %peer.ip(), "connection turned away: the address has its share open");
                tokio::spawn(turn_away(stream, permit));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone().map_request(with_peer(peer)));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
}

/// Answers a connection over its address's share with 429 and closes it,
/// reading what the client sent meanwhile so that the close does not reset
/// the answer away; it keeps its place in the total for at most a second.
async fn turn_away(mut stream: TcpStream, _permit: OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(TURN_AWAY_TIME, async {
        stream.write_all(TOO_MANY_CONNECTIONS.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, io::Error>(())
    })
    .await;
}

/// Puts the peer's address where `ConnectInfo<SocketAddr>` finds it.
fn with_peer(peer: SocketAddr) -> impl Fn(hyper::Request<Incoming>) -> hyper::Request<Incoming> + Clone {
    move |mut req| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    }
}

/// Errors that concern one connection only; accepting again is right.
fn is_peer_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_address: u32, trusted: &str) -> Limits {
        Limits {
            max_connections: 100,
            max_per_address: per_address,
            header_read_timeout: Duration::from_secs(1),
            trusted_proxies: TrustedProxies::parse(trusted).unwrap(),
        }
    }

    fn permit(c: &Arc<Connections>) -> OwnedSemaphorePermit {
        c.slots.clone().try_acquire_owned().unwrap()
    }

    #[test]
    fn an_address_gets_its_share_and_gets_it_back() {
        let c = Connections::new(limits(2, ""));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let s1 = c.admit(a, permit(&c)).ok().unwrap();
        let _s2 = c.admit(a, permit(&c)).ok().unwrap();
        assert!(c.admit(a, permit(&c)).is_err());
        assert_eq!((c.open(), c.refused()), (2, 1));
        let _b = c.admit("10.0.0.2".parse().unwrap(), permit(&c)).ok().unwrap();
        drop(s1);
        let _a = c.admit(a, permit(&c)).ok().unwrap();
        // IPv6 counts by its /64.
        let _v6 = c.admit("2001:db8::1".parse().unwrap(), permit(&c)).ok().unwrap();
        let _v6b = c.admit("2001:db8::2".parse().unwrap(), permit(&c)).ok().unwrap();
        assert!(c.admit("2001:db8::3".parse().unwrap(), permit(&c)).is_err());
    }

    #[test]
    fn a_trusted_proxy_is_not_capped_per_address() {
        let c = Connections::new(limits(1, "127.0.0.1"));
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..10).map(|_| c.admit(proxy, permit(&c)).ok().unwrap()).collect();
        assert_eq!(c.open(), 10);
        drop(held);
        assert_eq!(c.open(), 0);
    }

    #[test]
    fn the_turn_away_answer_is_well_formed() {
        let (head, body) = TOO_MANY_CONNECTIONS.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"], "too_many_connections");
    }

    #[test]
    fn the_derived_cap_leaves_room_and_stays_sane() {
        assert_eq!(derived_max_connections(64), 36);
        assert_eq!(derived_max_connections(256), 144);
        assert_eq!(derived_max_connections(1024), 576);
        assert_eq!(derived_max_connections(1 << 20), DERIVED_CAP_MAX);
        assert!(open_file_limit() >= 16);
    }
}
