//! Start-up: open the database, load or create the keys, bind the listeners,
//! and the one router that lists every route.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use ed25519_dalek::SigningKey;
use keysat_client::PublicKey;
use rand::rngs::OsRng;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};

use crate::config::Config;
use crate::db::{self, Db};
use crate::delivery::nostr::NostrService;
use crate::delivery::Delivery;
use crate::domain::now_unix;
use crate::http::admin::auth::AdminAuth;
use crate::http::extract::MAX_BODY_BYTES;
use crate::http::{admin, demo, error, pages, public, webhooks};
use crate::jobs::Jobs;
use crate::licensing::events::EventQueue;
use crate::licensing::Licensing;
use crate::payment::simulated::Simulated;
use crate::payment::{PaymentProvider, Payments};
use crate::ratelimit::{GlobalLimits, RateLimiter};
use crate::server::{self, Connections, Limits};

/// Shared by every handler: one pointer, so a request clones one counter.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// What the daemon holds while it runs.
pub struct AppInner {
    pub config: Arc<Config>,
    pub db: Db,
    pub signer: Arc<SigningKey>,
    pub public_key_pem: Arc<str>,
    pub admin_api_key: Arc<str>,
    pub licensing: Arc<Licensing>,
    pub validate_limiter: Arc<RateLimiter>,
    /// Code previews and redemptions per client address.
    pub code_limiter: Arc<RateLimiter>,
    pub operator_name: Arc<RwLock<Option<String>>>,
    /// Base URL buyers and applications use (no trailing slash).
    pub public_url: Arc<str>,
    /// The connected payment provider and reconciliation state.
    pub payments: Arc<Payments>,
    /// The simulated provider, in demo mode only.
    pub demo: Option<Arc<Simulated>>,
    /// Purchases per client address.
    pub purchase_limiter: Arc<RateLimiter>,
    /// Nostr identity and relays, webhook sender.
    pub delivery: Arc<Delivery>,
    /// Recover-by-npub requests per client address.
    pub recover_limiter: Arc<RateLimiter>,
    /// Purchases, redemptions and recoveries from all addresses together.
    pub global_limits: GlobalLimits,
    /// Checks the admin key; counts and logs failures.
    pub admin_auth: AdminAuth,
    /// The public listener's open connections.
    pub connections: Arc<Connections>,
}

impl AppInner {
    pub fn operator_name(&self) -> Option<String> {
        self.operator_name.read().expect("operator name lock").clone()
    }
}

/// Every public route: the buyer pages (whose errors browsers see as pages),
/// then service info, catalogue, validation, machines, purchases — the API,
/// kept free of page middleware so the hot path pays nothing for it.
fn public_routes(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(public::service::root))
        .route("/buy/{slug}", get(pages::buy::page).post(pages::buy::submit))
        .route("/thank-you", get(pages::thank_you::page))
        .route("/thank-you/key.lic", get(pages::thank_you::key_file))
        .route("/redeem", get(pages::redeem::page).post(pages::redeem::submit))
        .route("/recover", get(pages::recover::page).post(pages::recover::submit))
        .route("/recover/npub", post(pages::recover::submit_npub))
        .route("/static/{name}", get(pages::assets::serve))
        .route("/favicon.ico", get(pages::assets::favicon))
        .route("/demo/checkout/{id}", get(demo::checkout_page))
        .route("/demo/checkout/{id}/{action}", post(demo::resolve))
        // BTCPay's authorize page posts here and the operator sees the answer page.
        .route("/v1/btcpay/connect/callback", post(webhooks::btcpay_connect_callback))
        .layer(middleware::from_fn_with_state(state.clone(), pages::errors::html_errors));
    let pages = pages::security::with_headers(pages);
    Router::new()
        .route("/healthz", get(public::service::healthz))
        .route("/v1/pubkey", get(public::service::pubkey))
        .route("/v1/products", get(public::catalog::list_products))
        .route("/v1/products/{slug}", get(public::catalog::get_product))
        .route("/v1/products/{slug}/policies", get(public::catalog::list_policies))
        .route("/v1/discount-codes/preview", post(public::codes::preview))
        .route("/v1/validate", post(public::validate::validate))
        .route("/v1/machines/activate", post(public::machines::activate))
        .route("/v1/machines/heartbeat", post(public::machines::heartbeat))
        .route("/v1/machines/deactivate", post(public::machines::deactivate))
        .route("/v1/purchase", post(public::purchase::create))
        .route("/v1/redeem", post(public::redeem::redeem))
        .route("/v1/purchase/{invoice_id}", get(public::purchase::get))
        .route("/v1/btcpay/webhook", post(webhooks::btcpay_webhook))
        .route("/v1/recover/npub", post(public::recover::npub))
        .merge(pages)
}

/// Every admin route (the one table in `http::admin::routes`), under
/// `/v1/admin`, each behind the admin-key check.
fn admin_routes(state: &AppState) -> Router<AppState> {
    let routes = admin::routes::router()
        .route_layer(middleware::from_fn_with_state(state.clone(), admin::auth::require_admin_key));
    Router::new().nest("/v1/admin", routes)
}

fn finish(router: Router<AppState>, state: AppState) -> Router {
    // Unknown addresses: a page for browsers, the JSON envelope for programs.
    let not_found = pages::security::with_headers(
        Router::new()
            .fallback(error::not_found_fallback)
            .layer(middleware::from_fn_with_state(state.clone(), pages::errors::html_errors)),
    );
    router
        .fallback_service(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A request span at INFO (method, path) so every error logged while
        // serving carries its request; a 5xx is logged with its status.
        .layer(TraceLayer::new_for_http().make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO)))
        .with_state(state)
}

/// A bound, ready daemon.
pub struct Application {
    pub state: AppState,
    public: TcpListener,
    admin: Option<TcpListener>,
    pub public_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    /// The admin key, when this start generated it (print it once).
    pub generated_admin_key: Option<String>,
    admin_connections: Option<Arc<Connections>>,
    shutdown: watch::Sender<bool>,
    writer: JoinHandle<()>,
    jobs: Jobs,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let db = Db::open(&config.data_dir).await?;
        let signer = load_or_create_signing_key(&db).await?;
        let public_key = PublicKey::from(signer.verifying_key());
        let (admin_api_key, generated_admin_key) = admin_key(&db, &config).await?;
        if let Some(name) = &config.operator_name {
            db::settings::set(&db.write, db::settings::OPERATOR_NAME, name).await?;
        }
        let operator_name = db::settings::get(&db.read, db::settings::OPERATOR_NAME).await?;

        let public = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("KEYSAT_BIND: cannot listen on {}", config.bind))?;
        let admin = match config.admin_bind {
            Some(addr) => Some(
                TcpListener::bind(addr).await.with_context(|| format!("KEYSAT_ADMIN_BIND: cannot listen on {addr}"))?,
            ),
            None => None,
        };
        let public_addr = public.local_addr()?;
        let admin_addr = admin.as_ref().map(|l| l.local_addr()).transpose()?;

        let delivery = Arc::new(Delivery::new(NostrService::start(&db, &config.nostr_relays).await?)?);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (events, writer) = EventQueue::start(db.clone(), shutdown_rx);
        let public_url = config.public_base_url(public_addr);
        let payments = Arc::new(Payments::default());
        let demo = config.demo.then(|| Arc::new(Simulated::new(&public_url)));
        match &demo {
            Some(sim) => {
                tracing::warn!("demo mode: payments are simulated, no money moves");
                payments.set(Some(sim.clone() as Arc<dyn PaymentProvider>));
            }
            None => payments.set(admin::btcpay::provider_from_store(&db, &config).await?),
        }
        let state = AppState(Arc::new(AppInner {
            purchase_limiter: Arc::new(RateLimiter::new(config.purchase_rate_per_minute, Duration::from_secs(60))),
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
            validate_limiter: Arc::new(RateLimiter::new(config.validate_rate_per_minute, Duration::from_secs(60))),
            code_limiter: Arc::new(RateLimiter::new(config.code_rate_per_minute, Duration::from_secs(60))),
            recover_limiter: Arc::new(RateLimiter::new(config.recover_rate_per_hour, Duration::from_secs(3600))),
            delivery,
            public_key_pem: public_key.to_pem().into(),
            signer: Arc::new(signer),
            admin_auth: AdminAuth::new(&admin_api_key, config.admin_auth_failures_per_minute),
            admin_api_key: admin_api_key.into(),
            global_limits: GlobalLimits::new(
                config.purchase_global_rate_per_minute,
                config.redeem_global_rate_per_minute,
                config.recover_global_rate_per_hour,
            ),
            connections: Connections::new(Limits::public(&config)),
            operator_name: Arc::new(RwLock::new(operator_name)),
            config: Arc::new(config),
            db,
        }));
        let admin_connections = admin.as_ref().map(|_| Connections::new(Limits::admin(&state.config)));
        let jobs = Jobs::start(state.clone()).await?;
        Ok(Application {
            state,
            public,
            admin,
            public_addr,
            admin_addr,
            generated_admin_key,
            admin_connections,
            shutdown,
            writer,
            jobs,
        })
    }

    /// A handle that stops the daemon gracefully when sent `true`.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Serves until shutdown is signalled, then lets in-flight requests
    /// finish, flushes queued writes and closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application { state, public, admin, admin_connections, shutdown, writer, mut jobs, .. } = self;
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
        tracing::info!("stopped");
        Ok(())
    }
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
