//! Start-up: open the database, load or create the keys, bind the listeners,
//! and the one router that lists every route.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use ed25519_dalek::SigningKey;
use keysat_client::PublicKey;
use rand::rngs::OsRng;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::db::{self, Db};
use crate::delivery::nostr::NostrService;
use crate::delivery::{Delivery, DeliverySettings};
use crate::domain::now_unix;
use crate::http::admin::auth::AdminAuth;
use crate::http::public;
use crate::http::router::{admin_routes, finish, public_routes};
use crate::http::state::AppState;
use crate::jobs::Jobs;
use crate::licensing::events::EventQueue;
use crate::licensing::Licensing;
use crate::payment::simulated::Simulated;
use crate::payment::{PaymentProvider, Payments};
use crate::server::{self, Connections};
use crate::services::{self, Core, CoreInner};

/// What a caller outside the daemon (the integration tests, `main`) may
/// hold of a running daemon: its storage, signing key and configuration,
/// and the public listener's connection counts.
#[derive(Clone)]
pub struct Handle {
    pub db: Db,
    pub signer: Arc<SigningKey>,
    pub config: Arc<Config>,
    pub public_url: Arc<str>,
    connections: Arc<Connections>,
}

impl Handle {
    /// Connections open on the public listener now.
    pub fn connections_open(&self) -> usize {
        self.connections.open()
    }

    /// Connections refused so far for exceeding the per-address cap.
    pub fn connections_refused(&self) -> u64 {
        self.connections.refused()
    }
}

/// The admin routes, (method, path), as the router serves them.
pub fn admin_routes_table() -> Vec<(&'static str, &'static str, &'static str)> {
    crate::http::admin::routes::ROUTES.iter().map(|(m, p, s)| (*m, *p, s.as_str())).collect()
}

/// A bound, ready daemon.
pub struct Application {
    state: AppState,
    public: TcpListener,
    admin: Option<TcpListener>,
    pub public_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    /// The admin key, when this start generated it (print it once).
    pub generated_admin_key: Option<String>,
    /// Demo mode seeded the example shop at this start.
    pub demo_shop: bool,
    /// Demo mode: the data directory's admin key, printed with the storefront's address.
    pub demo_admin_key: Option<String>,
    admin_connections: Option<Arc<Connections>>,
    shutdown: watch::Sender<bool>,
    writer: JoinHandle<()>,
    jobs: Jobs,
    /// Held until the daemon has stopped: one Keysat per data directory.
    lock: crate::backup::DataDirLock,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let lock = crate::backup::DataDirLock::acquire(&config.data_dir)?;
        let db = Db::open(&config.data_dir).await?;
        let signer = load_or_create_signing_key(&db).await?;
        let public_key = PublicKey::from(signer.verifying_key());
        let (admin_api_key, generated_admin_key) = admin_key(&db, &config).await?;
        if let Some(name) = &config.operator_name {
            db::settings::set(&db.write, db::settings::OPERATOR_NAME, name).await?;
        }
        let operator_name = db::settings::get(&db.read, db::settings::OPERATOR_NAME).await?;
        let seller = db::settings::get_json(&db.read, db::settings::SELLER_IDENTITY).await?.unwrap_or_default();

        let (public, admin) = listen(&config).await?;
        let public_addr = public.local_addr()?;
        let admin_addr = admin.as_ref().map(|l| l.local_addr()).transpose()?;

        let public_url = config.public_base_url(public_addr);
        let delivery = Arc::new(Delivery::new(
            db.clone(),
            NostrService::start(&db, &config.nostr_relays).await?,
            DeliverySettings {
                public_url: public_url.clone(),
                operator_name,
                seller,
                nostr_retry: config.nostr_retry.clone(),
                webhook_retry: config.webhook_retry.clone(),
                email_retry: config.email_retry.clone(),
            },
        )?);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (events, writer) = EventQueue::start(db.clone(), config.activity, shutdown_rx);
        let demo = config.demo.then(|| Arc::new(Simulated::new(&public_url)));
        let payments = payments(&db, &config, demo.as_ref()).await?;
        let cors_origins = services::cors::CorsOrigins::load(&db).await?;
        let core = Core::new(CoreInner {
            limits: services::Limits::new(&config),
            payments,
            demo,
            public_url: public_url.into(),
            licensing: Arc::new(Licensing::new(
                db.clone(),
                public_key,
                events,
                config.seat_quiet_seconds,
                config.seat_changes_per_hour,
            )),
            delivery,
            public_key_pem: public_key.to_pem().into(),
            signer: Arc::new(signer),
            config: Arc::new(config),
            writer: services::writer::Writer::start(db.clone()),
            db,
            cors_origins,
            export_links: Default::default(),
            catalogue: Default::default(),
        });
        let state = AppState::new(
            core.clone(),
            AdminAuth::new(&admin_api_key),
            Connections::new(server::Limits::public(&core.config)),
        );
        let admin_connections = admin.as_ref().map(|_| Connections::new(server::Limits::admin(&state.config)));
        let demo_shop = services::demo_shop::open(&core).await?;
        let demo_admin_key = core.config.demo.then(|| admin_api_key.clone());
        warm_in_background(core.licensing.clone());
        let jobs = Jobs::start(core).await?;
        Ok(Application {
            state,
            public,
            admin,
            public_addr,
            admin_addr,
            generated_admin_key,
            demo_shop,
            demo_admin_key,
            admin_connections,
            shutdown,
            writer,
            jobs,
            lock,
        })
    }

    /// The running daemon's storage, key, configuration and counters.
    pub fn handle(&self) -> Handle {
        Handle {
            db: self.state.db.clone(),
            signer: self.state.signer.clone(),
            config: self.state.config.clone(),
            public_url: self.state.public_url.clone(),
            connections: self.state.connections.clone(),
        }
    }

    /// A handle that stops the daemon gracefully when sent `true`.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Serves until shutdown is signalled, then lets in-flight requests
    /// finish, flushes queued writes and closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application { state, public, admin, admin_connections, shutdown, writer, mut jobs, lock, .. } = self;
        let public_router = match admin {
            Some(_) => finish(public_routes(&state), state.clone()),
            None => finish(public_routes(&state).merge(admin_routes(&state)), state.clone()),
        };
        let mut servers =
            vec![tokio::spawn(server::serve(public, public_router, state.connections.clone(), shutdown.subscribe()))];
        if let (Some(admin), Some(conns)) = (admin, admin_connections) {
            let router = finish(admin_routes(&state).route("/healthz", get(public::service::healthz)), state.clone());
            servers.push(tokio::spawn(server::serve(admin, router, conns, shutdown.subscribe())));
        }
        for s in servers {
            s.await.context("server task")?;
        }
        let _ = shutdown.send(true);
        jobs.stop().await;
        state.delivery.nostr.shutdown().await;
        writer.await.context("event writer")?;
        state.db.close().await;
        drop(lock);
        tracing::info!("stopped");
        Ok(())
    }
}

/// The public listener and, when configured, the admin one.
async fn listen(config: &Config) -> anyhow::Result<(TcpListener, Option<TcpListener>)> {
    let public = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("KEYSAT_BIND: cannot listen on {}", config.bind))?;
    let admin = match config.admin_bind {
        Some(addr) => {
            Some(TcpListener::bind(addr).await.with_context(|| format!("KEYSAT_ADMIN_BIND: cannot listen on {addr}"))?)
        }
        None => None,
    };
    Ok((public, admin))
}

/// The payment rails: bitcoin (the demo's simulated provider, or the stored
/// BTCPay connection) and card (the stored Stripe connection).
async fn payments(db: &Db, config: &Config, demo: Option<&Arc<Simulated>>) -> anyhow::Result<Arc<Payments>> {
    let payments = Arc::new(Payments::default());
    match demo {
        Some(sim) => {
            tracing::warn!("demo mode: payments are simulated, no money moves");
            payments.set(Some(sim.clone() as Arc<dyn PaymentProvider>));
        }
        None => payments.set(services::btcpay::provider_from_store(db, config).await?),
    }
    payments.set_stripe(services::stripe::provider_from_store(db, config).await?);
    Ok(payments)
}

async fn load_or_create_signing_key(db: &Db) -> anyhow::Result<SigningKey> {
    if let Some(bytes) = db::settings::signing_key(&db.write).await? {
        let secret: [u8; 32] =
            bytes.try_into().map_err(|_| anyhow::anyhow!("stored signing key has the wrong length"))?;
        return Ok(SigningKey::from_bytes(&secret));
    }
    let key = SigningKey::generate(&mut OsRng);
    db::settings::insert_signing_key(&db.write, &key.to_bytes(), key.verifying_key().as_bytes(), now_unix()).await?;
    tracing::info!("created a new Ed25519 signing key");
    Ok(key)
}

/// The configured key wins; else the stored one; else a new one is stored
/// and returned as generated.
async fn admin_key(db: &Db, config: &Config) -> anyhow::Result<(String, Option<String>)> {
    if let Some(k) = &config.admin_api_key {
        return Ok((k.clone(), None));
    }
    if let Some(k) = db::settings::get(&db.write, db::settings::ADMIN_API_KEY).await? {
        return Ok((k, None));
    }
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    let key = format!("ksa_{}", data_encoding::BASE32_NOPAD.encode(&raw).to_ascii_lowercase());
    db::settings::set(&db.write, db::settings::ADMIN_API_KEY, &key).await?;
    Ok((key.clone(), Some(key)))
}

/// Fills the validation caches in the background: the daemon answers at once.
fn warm_in_background(licensing: Arc<crate::licensing::Licensing>) {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match licensing.warm().await {
            Ok(n) => tracing::info!(licenses = n, millis = started.elapsed().as_millis() as u64, "caches warmed"),
            Err(e) => tracing::warn!(error = %e, "warming the caches failed"),
        }
    });
}
