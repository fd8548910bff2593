//! `KEYSAT_*` environment variables and `keysat serve` flags, read once into
//! one validated [`Config`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::domain::outbox::RetrySchedule;
use crate::domain::proxies::TrustedProxies;

/// Relays Keysat publishes to until the operator sets its own list.
pub const DEFAULT_NOSTR_RELAYS: &str =
    "wss://relay.damus.io,wss://nos.lol,wss://relay.primal.net,wss://relay.0xchat.com";
/// After each failed webhook attempt: 9 attempts over about 24 hours.
pub const DEFAULT_WEBHOOK_RETRY: &str = "1m,5m,30m,1h,2h,4h,8h,8h";
/// After each failed Nostr delivery: 14 attempts over about 3 days.
/// Delays between attempts to send an e-mail; then it is dead-lettered (`failed`).
pub const DEFAULT_EMAIL_RETRY: &str = "1m,5m,15m,1h,2h,4h,8h,12h,24h";
pub const DEFAULT_NOSTR_RETRY: &str = "30s,1m,2m,5m,10m,30m,1h,2h,4h,8h,12h,24h,24h";

/// Flags of `keysat serve`; every flag is also an environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address the public API and buyer pages listen on.
    #[arg(long, env = "KEYSAT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Directory holding keysat.db (created if missing).
    #[arg(long, env = "KEYSAT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Admin API key; generated and stored on first start when absent.
    #[arg(long, env = "KEYSAT_ADMIN_API_KEY", hide_env_values = true)]
    pub admin_api_key: Option<String>,
    /// Address buyers and applications reach this server at (https://…).
    #[arg(long, env = "KEYSAT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Operator (seller) name shown to buyers; overrides the stored setting.
    #[arg(long, env = "KEYSAT_OPERATOR_NAME")]
    pub operator_name: Option<String>,
    /// Comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed.
    #[arg(long, env = "KEYSAT_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// When set, /v1/admin/* is served only on this second listener.
    #[arg(long, env = "KEYSAT_ADMIN_BIND")]
    pub admin_bind: Option<String>,
    /// Validation requests allowed per client address per minute.
    #[arg(long, env = "KEYSAT_VALIDATE_RATE_PER_MINUTE", default_value_t = 600)]
    pub validate_rate_per_minute: u32,
    /// Discount-code previews and redemptions allowed per client address per minute.
    #[arg(long, env = "KEYSAT_CODE_RATE_PER_MINUTE", default_value_t = 30)]
    pub code_rate_per_minute: u32,
    /// Validation events kept (the oldest are pruned beyond this).
    #[arg(long, env = "KEYSAT_VALIDATION_LOG_MAX_ROWS", default_value_t = 1_000_000)]
    pub validation_log_max_rows: u64,
    /// Days of validation events kept.
    #[arg(long, env = "KEYSAT_VALIDATION_LOG_DAYS", default_value_t = 30)]
    pub validation_log_days: u32,
    /// Seconds the validation log folds a machine's (or a refusal's) calls
    /// into one row before writing it: rows are bounded by the distinct
    /// callers per interval, not by requests.
    #[arg(long, env = "KEYSAT_ACTIVITY_FOLD_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub activity_fold_seconds: u32,
    /// Seconds a seat's last-seen time may lag at most (written once it lags
    /// by three quarters of this, with the others due, every quarter);
    /// floating seats, which lapse on it, are written every second.
    #[arg(long, env = "KEYSAT_LAST_SEEN_RESOLUTION_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub last_seen_resolution_seconds: u32,
    /// Address Keysat calls BTCPay Server's API at, when it differs from the
    /// one the operator's browser uses (on StartOS: BTCPay's bridge address, e.g. http://10.0.3.1:49152).
    #[arg(long, env = "KEYSAT_BTCPAY_URL")]
    pub btcpay_url: Option<String>,
    /// Address BTCPay Server reaches Keysat at to deliver webhooks, when it differs
    /// from the public URL (on StartOS: Keysat's own bridge address, e.g. http://10.0.3.1:49180).
    #[arg(long, env = "KEYSAT_WEBHOOK_BASE_URL")]
    pub webhook_base_url: Option<String>,
    /// Stripe's API address (tests point it at a fake).
    #[arg(long, env = "KEYSAT_STRIPE_API_URL", default_value = "https://api.stripe.com")]
    pub stripe_api_url: String,
    /// Demo mode: a simulated payment provider with its own checkout page. No money moves.
    /// (KEYSAT_DEMO takes 1/0, true/false, yes/no, on/off.)
    #[arg(long, env = "KEYSAT_DEMO", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
    /// Comma-separated origins (https://shop.example) a purchase's redirect_url may point to, besides our own.
    #[arg(long, env = "KEYSAT_REDIRECT_ALLOWLIST", default_value = "")]
    pub redirect_allowlist: String,
    /// Purchases (and key recoveries) allowed per client address per minute.
    #[arg(long, env = "KEYSAT_PURCHASE_RATE_PER_MINUTE", default_value_t = 20)]
    pub purchase_rate_per_minute: u32,
    /// Seconds between reconciliation passes over pending invoices.
    #[arg(long, env = "KEYSAT_RECONCILE_INTERVAL_SECONDS", default_value_t = 60)]
    pub reconcile_interval_seconds: u64,
    /// A pending invoice is looked up at the provider once it is this many seconds old.
    #[arg(long, env = "KEYSAT_RECONCILE_MIN_AGE_SECONDS", default_value_t = 30)]
    pub reconcile_min_age_seconds: u64,
    /// Comma-separated relays used until the operator sets a list (PUT /v1/admin/nostr).
    #[arg(long, env = "KEYSAT_NOSTR_RELAYS", default_value = DEFAULT_NOSTR_RELAYS)]
    pub nostr_relays: String,
    /// Delays between attempts to deliver a Nostr DM (e.g. 30s,5m,1h); then it fails.
    #[arg(long, env = "KEYSAT_NOSTR_RETRY_SCHEDULE", default_value = DEFAULT_NOSTR_RETRY)]
    pub nostr_retry_schedule: String,
    /// Delays between attempts to deliver a webhook (e.g. 1m,5m,30m); then dead-letter.
    #[arg(long, env = "KEYSAT_WEBHOOK_RETRY_SCHEDULE", default_value = DEFAULT_WEBHOOK_RETRY)]
    pub webhook_retry_schedule: String,
    /// Delays between attempts to send an e-mail (e.g. 1m,5m,1h); then it fails.
    #[arg(long, env = "KEYSAT_EMAIL_RETRY_SCHEDULE", default_value = DEFAULT_EMAIL_RETRY)]
    pub email_retry_schedule: String,
    /// Recover-by-npub requests allowed per client address per hour.
    #[arg(long, env = "KEYSAT_RECOVER_RATE_PER_HOUR", default_value_t = 10)]
    pub recover_rate_per_hour: u32,
    /// Recovery DMs sent to one npub per hour at most.
    #[arg(long, env = "KEYSAT_RECOVER_PER_NPUB_PER_HOUR", default_value_t = 2)]
    pub recover_per_npub_per_hour: u32,
    /// Recovery e-mails sent to one address per hour at most.
    #[arg(long, env = "KEYSAT_RECOVER_PER_EMAIL_PER_HOUR", default_value_t = 2)]
    pub recover_per_email_per_hour: u32,
    /// Seconds an unpaid checkout holds a use of a limited code (a late payment still gets it).
    #[arg(long, env = "KEYSAT_CODE_HOLD_SECONDS", default_value_t = 900)]
    pub code_hold_seconds: u32,
    /// Unpaid invoices open at once, from all buyers; purchases beyond answer 503.
    #[arg(long, env = "KEYSAT_MAX_PENDING_INVOICES", default_value_t = 5000)]
    pub max_pending_invoices: u32,
    /// Unpaid invoices open at once from one client address.
    #[arg(long, env = "KEYSAT_MAX_PENDING_PER_ADDRESS", default_value_t = 5)]
    pub max_pending_per_address: u32,
    /// Seconds never-paid invoices, spent idempotency answers and released code holds are kept.
    #[arg(long, env = "KEYSAT_UNPAID_RETENTION_SECONDS", default_value_t = 7 * 86_400)]
    pub unpaid_retention_seconds: u64,
    /// Seconds freed seats, delivered webhook events and their attempts are kept
    /// (freed seats at least as long as the validation log, which names them).
    #[arg(long, env = "KEYSAT_HISTORY_RETENTION_SECONDS", default_value_t = 30 * 86_400)]
    pub history_retention_seconds: u64,
    /// Seconds a freed seat waits before it is told; taken again within them, nothing is.
    #[arg(long, env = "KEYSAT_SEAT_QUIET_SECONDS", default_value_t = 60)]
    pub seat_quiet_seconds: u32,
    /// Seats an application may take or free on one license per hour.
    #[arg(long, env = "KEYSAT_SEAT_CHANGES_PER_HOUR", default_value_t = 60)]
    pub seat_changes_per_hour: u32,
    /// Seconds between prunes of the tables above.
    #[arg(long, env = "KEYSAT_PRUNE_INTERVAL_SECONDS", default_value_t = 600)]
    pub prune_interval_seconds: u64,
    /// Purchases allowed per minute from all addresses together.
    #[arg(long, env = "KEYSAT_PURCHASE_GLOBAL_RATE_PER_MINUTE", default_value_t = 120)]
    pub purchase_global_rate_per_minute: u32,
    /// Code redemptions allowed per minute from all addresses together.
    #[arg(long, env = "KEYSAT_REDEEM_GLOBAL_RATE_PER_MINUTE", default_value_t = 120)]
    pub redeem_global_rate_per_minute: u32,
    /// Recover-by-npub requests allowed per hour from all addresses together.
    #[arg(long, env = "KEYSAT_RECOVER_GLOBAL_RATE_PER_HOUR", default_value_t = 300)]
    pub recover_global_rate_per_hour: u32,
    /// Failed admin authentications per client address per minute before it is refused outright.
    #[arg(long, env = "KEYSAT_ADMIN_AUTH_FAILURES_PER_MINUTE", default_value_t = 10)]
    pub admin_auth_failures_per_minute: u32,
    /// Seconds a connection has to send a complete request head (also the idle keep-alive limit).
    #[arg(long, env = "KEYSAT_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_read_timeout_seconds: u64,
    /// Open connections per listener at most; 0 derives it from the open-file limit.
    #[arg(long, env = "KEYSAT_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: u32,
    /// Open connections per client address at most (trusted proxies are exempt).
    #[arg(long, env = "KEYSAT_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64)]
    pub max_connections_per_address: u32,
    /// Hour of the day (UTC, 0-23) of the daily backup into <data dir>/backups/; `off` for none.
    #[arg(long, env = "KEYSAT_BACKUP_HOUR", default_value = "3")]
    pub backup_hour: String,
    /// Backups kept: the newest of each of the last N days, weeks and months.
    #[arg(long, env = "KEYSAT_BACKUP_KEEP", default_value = "7d,4w,6m")]
    pub backup_keep: String,
}

/// The validated configuration the daemon runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub admin_bind: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub admin_api_key: Option<String>,
    pub public_url: Option<String>,
    pub operator_name: Option<String>,
    pub trusted_proxies: TrustedProxies,
    pub validate_rate_per_minute: u32,
    pub code_rate_per_minute: u32,
    pub validation_log_max_rows: u64,
    pub validation_log_days: u32,
    pub btcpay_url: Option<url::Url>,
    /// Base URL for the webhook BTCPay calls (no trailing slash); the public URL when `None`.
    pub webhook_base_url: Option<String>,
    /// Stripe's API address (`KEYSAT_STRIPE_API_URL`).
    pub stripe_api_url: url::Url,
    pub demo: bool,
    /// Demo mode asked for by the command-line flag `serve --demo` (what
    /// `make demo` runs): an empty data directory gets the example shop
    /// (`services::demo_shop`). `KEYSAT_DEMO` alone (as StartOS sets it on an
    /// operator's real data) opens none.
    pub demo_shop: bool,
    /// Origins (scheme://host[:port]) allowed as purchase redirects.
    pub redirect_allowlist: Vec<String>,
    pub purchase_rate_per_minute: u32,
    pub reconcile_interval_seconds: u64,
    pub reconcile_min_age_seconds: u64,
    /// Relays to start with when none are stored.
    pub nostr_relays: Vec<String>,
    pub nostr_retry: RetrySchedule,
    pub webhook_retry: RetrySchedule,
    pub email_retry: RetrySchedule,
    pub recover_rate_per_hour: u32,
    pub recover_per_npub_per_hour: u32,
    pub recover_per_email_per_hour: u32,
    pub code_hold_seconds: i64,
    pub seat_quiet_seconds: i64,
    pub seat_changes_per_hour: u32,
    /// See [`ServeArgs::activity_fold_seconds`] and [`ServeArgs::last_seen_resolution_seconds`].
    pub activity: Cadence,
    pub max_pending_invoices: i64,
    pub max_pending_per_address: i64,
    pub retention: Retention,
    pub purchase_global_rate_per_minute: u32,
    pub redeem_global_rate_per_minute: u32,
    pub recover_global_rate_per_hour: u32,
    pub admin_auth_failures_per_minute: u32,
    /// How long a connection may take to send a request head, and stay idle between requests.
    pub header_read_timeout: Duration,
    /// Open connections per listener; `None` derives it from the open-file limit.
    pub max_connections: Option<u32>,
    pub max_connections_per_address: u32,
    /// Hour (UTC) of the daily backup; `None`: no scheduled backups.
    pub backup_hour: Option<u8>,
    pub backup_keep: crate::backup::Keep,
}

/// How long rows that only history needs are kept (seconds).
/// How often the hot path's activity reaches the database.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    /// Seconds a caller's validations are folded into one row of the log.
    pub fold_seconds: u32,
    /// Seconds a held (not floating) seat's last-seen time may lag.
    pub last_seen_resolution_seconds: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub unpaid_seconds: i64,
    pub history_seconds: i64,
    pub interval_seconds: u64,
}

/// A configuration error: names the variable and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

fn parse_addr(var: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| err(var, format!("'{value}' is not a socket address such as 127.0.0.1:8080")))
}

/// An optional base URL (BTCPay's address, the webhook base).
fn base_url(var: &'static str, given: Option<&str>) -> Result<Option<url::Url>, ConfigError> {
    match given.map(str::trim) {
        None | Some("") => Ok(None),
        Some(u) => crate::payment::btcpay::connect::parse_base_url(u).map(Some).map_err(|m| err(var, m)),
    }
}

/// `KEYSAT_NOSTR_RELAYS`: comma-separated, duplicates dropped, at most `MAX_RELAYS`.
fn relays(given: &str) -> Result<Vec<String>, ConfigError> {
    use crate::delivery::nostr::{parse_relay, MAX_RELAYS};
    let mut out: Vec<String> = Vec::new();
    for r in given.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let url = parse_relay(r).map_err(|m| err("KEYSAT_NOSTR_RELAYS", m))?.to_string();
        if !out.contains(&url) {
            out.push(url);
        }
    }
    if out.len() > MAX_RELAYS {
        return Err(err("KEYSAT_NOSTR_RELAYS", format!("at most {MAX_RELAYS} relays")));
    }
    Ok(out)
}

/// `KEYSAT_BIND` and the optional, different `KEYSAT_ADMIN_BIND`.
fn listeners(bind: &str, admin: Option<&str>) -> Result<(SocketAddr, Option<SocketAddr>), ConfigError> {
    let bind = parse_addr("KEYSAT_BIND", bind)?;
    let admin_bind = match admin.map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(parse_addr("KEYSAT_ADMIN_BIND", v)?),
    };
    if admin_bind == Some(bind) {
        return Err(err("KEYSAT_ADMIN_BIND", "must differ from KEYSAT_BIND (leave it unset to share one listener)"));
    }
    Ok((bind, admin_bind))
}

/// `KEYSAT_ADMIN_API_KEY`: unset or blank means "use the stored one".
fn admin_key(given: Option<&str>) -> Result<Option<String>, ConfigError> {
    let Some(k) = given.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    if k.len() < 16 || k.len() > 256 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(err("KEYSAT_ADMIN_API_KEY", "must be 16 to 256 printable ASCII characters without spaces"));
    }
    Ok(Some(k.to_string()))
}

/// `KEYSAT_BACKUP_HOUR`: 0-23, or `off`.
fn backup_hour(v: &str) -> Result<Option<u8>, ConfigError> {
    match v.trim() {
        "off" | "" => Ok(None),
        h => h
            .parse::<u8>()
            .ok()
            .filter(|h| *h < 24)
            .map(Some)
            .ok_or_else(|| err("KEYSAT_BACKUP_HOUR", format!("'{h}' is not an hour 0-23 or off"))),
    }
}

impl ServeArgs {
    /// The numeric limits: rates and caps at least 1, retention at most ten
    /// years, the header timeout 1 to 300 seconds.
    fn check_numbers(&self) -> Result<(), ConfigError> {
        for (var, v) in [
            ("KEYSAT_VALIDATE_RATE_PER_MINUTE", self.validate_rate_per_minute),
            ("KEYSAT_CODE_RATE_PER_MINUTE", self.code_rate_per_minute),
            ("KEYSAT_PURCHASE_RATE_PER_MINUTE", self.purchase_rate_per_minute),
            ("KEYSAT_RECOVER_RATE_PER_HOUR", self.recover_rate_per_hour),
            ("KEYSAT_RECOVER_PER_NPUB_PER_HOUR", self.recover_per_npub_per_hour),
            ("KEYSAT_RECOVER_PER_EMAIL_PER_HOUR", self.recover_per_email_per_hour),
            ("KEYSAT_MAX_PENDING_INVOICES", self.max_pending_invoices),
            ("KEYSAT_MAX_PENDING_PER_ADDRESS", self.max_pending_per_address),
            ("KEYSAT_SEAT_CHANGES_PER_HOUR", self.seat_changes_per_hour),
            ("KEYSAT_PURCHASE_GLOBAL_RATE_PER_MINUTE", self.purchase_global_rate_per_minute),
            ("KEYSAT_REDEEM_GLOBAL_RATE_PER_MINUTE", self.redeem_global_rate_per_minute),
            ("KEYSAT_RECOVER_GLOBAL_RATE_PER_HOUR", self.recover_global_rate_per_hour),
            ("KEYSAT_ADMIN_AUTH_FAILURES_PER_MINUTE", self.admin_auth_failures_per_minute),
            ("KEYSAT_MAX_CONNECTIONS_PER_ADDRESS", self.max_connections_per_address),
        ] {
            if v == 0 {
                return Err(err(var, "must be at least 1"));
            }
        }
        for (var, v) in [
            ("KEYSAT_RECONCILE_INTERVAL_SECONDS", self.reconcile_interval_seconds),
            ("KEYSAT_PRUNE_INTERVAL_SECONDS", self.prune_interval_seconds),
        ] {
            if v == 0 {
                return Err(err(var, "must be at least 1"));
            }
        }
        if self.validation_log_max_rows < 1000 {
            return Err(err("KEYSAT_VALIDATION_LOG_MAX_ROWS", "must be at least 1000"));
        }
        let ten_years = 10 * 365 * 86_400;
        for (var, v) in [
            ("KEYSAT_UNPAID_RETENTION_SECONDS", self.unpaid_retention_seconds),
            ("KEYSAT_HISTORY_RETENTION_SECONDS", self.history_retention_seconds),
        ] {
            if v > ten_years {
                return Err(err(var, "must be at most ten years"));
            }
        }
        if !(1..=300).contains(&self.header_read_timeout_seconds) {
            return Err(err("KEYSAT_HEADER_READ_TIMEOUT_SECONDS", "must be 1 to 300"));
        }
        Ok(())
    }

    fn cadence(&self) -> Cadence {
        Cadence {
            fold_seconds: self.activity_fold_seconds,
            last_seen_resolution_seconds: i64::from(self.last_seen_resolution_seconds),
        }
    }

    /// Validates every value; the first bad one is reported by its variable name.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        self.check_numbers()?;
        let activity = self.cadence();
        let (bind, admin_bind) = listeners(&self.bind, self.admin_bind.as_deref())?;
        let admin_api_key = admin_key(self.admin_api_key.as_deref())?;
        let public_url = match self.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => Some(normalize_public_url(u)?),
        };
        let operator_name = self.operator_name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if operator_name.as_ref().is_some_and(|n| n.chars().count() > 120) {
            return Err(err("KEYSAT_OPERATOR_NAME", "must be at most 120 characters"));
        }
        let trusted_proxies =
            TrustedProxies::parse(&self.trusted_proxies).map_err(|m| err("KEYSAT_TRUSTED_PROXIES", m))?;
        let btcpay_url = base_url("KEYSAT_BTCPAY_URL", self.btcpay_url.as_deref())?;
        let webhook_base_url = base_url("KEYSAT_WEBHOOK_BASE_URL", self.webhook_base_url.as_deref())?
            .map(|u| u.as_str().trim_end_matches('/').to_string());
        let stripe_api_url = base_url("KEYSAT_STRIPE_API_URL", Some(&self.stripe_api_url))?
            .ok_or_else(|| err("KEYSAT_STRIPE_API_URL", "must not be empty"))?;
        let redirect_allowlist = origins(&self.redirect_allowlist)?;
        let nostr_relays = relays(&self.nostr_relays)?;
        let retry = |var, v: &str| RetrySchedule::parse(v).map_err(|m| err(var, m));
        let nostr_retry = retry("KEYSAT_NOSTR_RETRY_SCHEDULE", &self.nostr_retry_schedule)?;
        let webhook_retry = retry("KEYSAT_WEBHOOK_RETRY_SCHEDULE", &self.webhook_retry_schedule)?;
        let email_retry = retry("KEYSAT_EMAIL_RETRY_SCHEDULE", &self.email_retry_schedule)?;
        Ok(Config {
            backup_hour: backup_hour(&self.backup_hour)?,
            backup_keep: self.backup_keep.parse().map_err(|m| err("KEYSAT_BACKUP_KEEP", m))?,
            code_hold_seconds: i64::from(self.code_hold_seconds),
            seat_quiet_seconds: i64::from(self.seat_quiet_seconds),
            seat_changes_per_hour: self.seat_changes_per_hour,
            activity,
            max_pending_invoices: i64::from(self.max_pending_invoices),
            max_pending_per_address: i64::from(self.max_pending_per_address),
            retention: Retention {
                unpaid_seconds: self.unpaid_retention_seconds as i64,
                history_seconds: self.history_retention_seconds as i64,
                interval_seconds: self.prune_interval_seconds,
            },
            btcpay_url,
            webhook_base_url,
            stripe_api_url,
            demo: self.demo,
            // Only the command-line flag opens the shop (see `main.rs`).
            demo_shop: false,
            redirect_allowlist,
            purchase_rate_per_minute: self.purchase_rate_per_minute,
            reconcile_interval_seconds: self.reconcile_interval_seconds,
            reconcile_min_age_seconds: self.reconcile_min_age_seconds,
            bind,
            admin_bind,
            data_dir: self.data_dir,
            admin_api_key,
            public_url,
            operator_name,
            trusted_proxies,
            validate_rate_per_minute: self.validate_rate_per_minute,
            code_rate_per_minute: self.code_rate_per_minute,
            validation_log_max_rows: self.validation_log_max_rows,
            validation_log_days: self.validation_log_days,
            nostr_relays,
            nostr_retry,
            webhook_retry,
            email_retry,
            recover_rate_per_hour: self.recover_rate_per_hour,
            recover_per_npub_per_hour: self.recover_per_npub_per_hour,
            recover_per_email_per_hour: self.recover_per_email_per_hour,
            purchase_global_rate_per_minute: self.purchase_global_rate_per_minute,
            redeem_global_rate_per_minute: self.redeem_global_rate_per_minute,
            recover_global_rate_per_hour: self.recover_global_rate_per_hour,
            admin_auth_failures_per_minute: self.admin_auth_failures_per_minute,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            max_connections: Some(self.max_connections).filter(|n| *n > 0),
            max_connections_per_address: self.max_connections_per_address,
        })
    }
}

/// `KEYSAT_REDIRECT_ALLOWLIST`: comma-separated http(s) origins.
fn origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            origin_of(o).ok_or_else(|| err("KEYSAT_REDIRECT_ALLOWLIST", format!("'{o}' is not an http(s) origin")))
        })
        .collect()
}

fn normalize_public_url(u: &str) -> Result<String, ConfigError> {
    let var = "KEYSAT_PUBLIC_URL";
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| err(var, format!("'{u}' must start with http:// or https://")))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(err(var, format!("'{u}' has no host")));
    }
    Ok(u.trim_end_matches('/').to_string())
}

/// `scheme://host[:port]` of an http(s) URL.
pub fn origin_of(u: &str) -> Option<String> {
    let url = url::Url::parse(u).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    match url.origin() {
        o @ url::Origin::Tuple(..) => Some(o.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

impl Config {
    /// A configuration for tests and embedding: defaults everywhere.
    pub fn for_data_dir(data_dir: PathBuf) -> Config {
        Config {
            bind: "127.0.0.1:0".parse().expect("literal address"),
            admin_bind: None,
            data_dir,
            admin_api_key: None,
            public_url: None,
            operator_name: None,
            trusted_proxies: TrustedProxies::default(),
            validate_rate_per_minute: 600,
            code_rate_per_minute: 30,
            validation_log_max_rows: 1_000_000,
            validation_log_days: 30,
            btcpay_url: None,
            webhook_base_url: None,
            stripe_api_url: url::Url::parse("https://api.stripe.com").expect("literal URL"),
            demo: false,
            demo_shop: false,
            redirect_allowlist: Vec::new(),
            purchase_rate_per_minute: 20,
            reconcile_interval_seconds: 60,
            reconcile_min_age_seconds: 30,
            // No relays: a test or an embedding sets its own (nothing leaves the machine).
            nostr_relays: Vec::new(),
            nostr_retry: RetrySchedule::parse(DEFAULT_NOSTR_RETRY).expect("valid default"),
            webhook_retry: RetrySchedule::parse(DEFAULT_WEBHOOK_RETRY).expect("valid default"),
            email_retry: RetrySchedule::parse(DEFAULT_EMAIL_RETRY).expect("valid default"),
            recover_rate_per_hour: 10,
            recover_per_npub_per_hour: 2,
            recover_per_email_per_hour: 2,
            code_hold_seconds: 900,
            seat_quiet_seconds: 60,
            seat_changes_per_hour: 60,
            // Activity written every second: what a test validates shows at once.
            activity: Cadence { fold_seconds: 1, last_seen_resolution_seconds: 1 },
            max_pending_invoices: 5000,
            max_pending_per_address: 5,
            retention: Retention { unpaid_seconds: 7 * 86_400, history_seconds: 30 * 86_400, interval_seconds: 600 },
            // Tests take backups when they ask for one.
            backup_hour: None,
            backup_keep: crate::backup::Keep::default(),
            purchase_global_rate_per_minute: 120,
            redeem_global_rate_per_minute: 120,
            recover_global_rate_per_hour: 300,
            admin_auth_failures_per_minute: 10,
            header_read_timeout: Duration::from_secs(10),
            max_connections: None,
            max_connections_per_address: 64,
        }
    }

    /// The base URL buyers and applications use.
    pub fn public_base_url(&self, actual_bind: SocketAddr) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{actual_bind}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["keysat"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().args.into_config()
    }

    #[test]
    fn bad_values_name_their_variable() {
        let e = parse(&["--bind", "nope"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_BIND");
        let e = parse(&["--admin-bind", "127.0.0.1:8080"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_ADMIN_BIND");
        let e = parse(&["--public-url", "ftp://x"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_PUBLIC_URL");
        let e = parse(&["--admin-api-key", "short"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_ADMIN_API_KEY");
        let e = parse(&["--trusted-proxies", "10.0.0.0/99"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_TRUSTED_PROXIES");
        let e = parse(&["--btcpay-url", "btcpay"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_BTCPAY_URL");
        let e = parse(&["--webhook-base-url", "keysat.internal"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_WEBHOOK_BASE_URL");
        let e = parse(&["--redirect-allowlist", "https://ok.example,javascript:alert(1)"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_REDIRECT_ALLOWLIST");
        let e = parse(&["--nostr-relays", "https://relay.example"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_NOSTR_RELAYS");
        let e = parse(&["--webhook-retry-schedule", "1m,soon"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_WEBHOOK_RETRY_SCHEDULE");
        let e = parse(&["--nostr-retry-schedule", ""]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_NOSTR_RETRY_SCHEDULE");
        let e = parse(&["--purchase-global-rate-per-minute", "0"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_PURCHASE_GLOBAL_RATE_PER_MINUTE");
        let e = parse(&["--max-connections-per-address", "0"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_MAX_CONNECTIONS_PER_ADDRESS");
        let e = parse(&["--header-read-timeout-seconds", "0"]).unwrap_err();
        assert_eq!(e.var, "KEYSAT_HEADER_READ_TIMEOUT_SECONDS");
    }

    #[test]
    fn defaults_are_valid() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.admin_bind.is_none());
        assert_eq!(c.nostr_relays.len(), 4);
        assert_eq!(c.webhook_retry.max_attempts(), 9);
        let c = parse(&["--public-url", "https://shop.example/"]).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://shop.example"));
    }
}
