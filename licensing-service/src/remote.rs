//! `keysat export` and `keysat import`: the operator's command line over a
//! running daemon's admin API (the same routes the StartOS actions and the
//! README's curl lines use), so they work while Keysat serves and go through
//! the same checks and fulfillment as any other change.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

/// Where the admin API is and how to prove the operator.
#[derive(Args, Debug)]
pub struct Remote {
    /// The admin API's base URL. Default: `KEYSAT_ADMIN_BIND`, else `KEYSAT_BIND`, on this machine.
    #[arg(long, env = "KEYSAT_ADMIN_URL")]
    url: Option<String>,
    /// The admin API key. Default: the key stored in the data directory.
    #[arg(long, env = "KEYSAT_ADMIN_API_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    #[arg(long, env = "KEYSAT_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    #[arg(long, env = "KEYSAT_BIND", default_value = "127.0.0.1:8080", hide = true)]
    bind: String,
    #[arg(long, env = "KEYSAT_ADMIN_BIND", hide = true)]
    admin_bind: Option<String>,
}

impl Remote {
    fn base(&self) -> String {
        if let Some(url) = &self.url {
            return url.trim_end_matches('/').to_string();
        }
        let bind = self.admin_bind.as_deref().unwrap_or(&self.bind);
        // A wildcard listener is reached on loopback.
        let bind = bind.replace("0.0.0.0:", "127.0.0.1:").replace("[::]:", "[::1]:");
        format!("http://{bind}")
    }

    async fn key(&self) -> anyhow::Result<String> {
        if let Some(k) = self.admin_key.as_deref().filter(|k| !k.is_empty()) {
            return Ok(k.to_string());
        }
        let db = crate_db(&self.data_dir).await?;
        let key = keysat::db::settings::get(&db.read, keysat::db::settings::ADMIN_API_KEY).await?;
        db.close().await;
        key.with_context(|| {
            format!(
                "no admin key: pass --admin-key or KEYSAT_ADMIN_API_KEY (none is stored in {})",
                self.data_dir.display()
            )
        })
    }

    async fn request(&self, method: reqwest::Method, path: &str) -> anyhow::Result<reqwest::RequestBuilder> {
        let url = format!("{}/v1/admin{path}", self.base());
        Ok(reqwest::Client::new().request(method, url).bearer_auth(self.key().await?))
    }
}

async fn crate_db(data_dir: &std::path::Path) -> anyhow::Result<keysat::db::Db> {
    if !data_dir.join("keysat.db").is_file() {
        bail!("no database in {} (is KEYSAT_DATA_DIR right?)", data_dir.display());
    }
    keysat::db::Db::open(data_dir).await
}

/// The daemon's error envelope as one line.
async fn failure(r: reqwest::Response) -> anyhow::Error {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or(text);
    anyhow::anyhow!("the admin API answered {status}: {message}")
}

/// `keysat export licenses.csv [--from T] [--to T] [-o FILE]`.
pub async fn export(
    remote: &Remote,
    file: &str,
    from: Option<String>,
    to: Option<String>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let query: Vec<(&str, String)> =
        [("from", from), ("to", to)].into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
    let r = remote
        .request(reqwest::Method::GET, &format!("/export/{file}"))
        .await?
        .query(&query)
        .send()
        .await
        .with_context(|| format!("cannot reach Keysat at {}", remote.base()))?;
    if !r.status().is_success() {
        return Err(failure(r).await);
    }
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut r = r;
    let mut bytes = 0usize;
    while let Some(chunk) = r.chunk().await.context("the export stopped part-way")? {
        bytes += chunk.len();
        sink.write_all(&chunk)?;
    }
    sink.flush()?;
    if let Some(path) = out {
        eprintln!("wrote {} ({bytes} bytes)", path.display());
    }
    Ok(())
}

/// `keysat import licenses FILE [--dry-run]`: prints the report; fails
/// (nothing imported) when any row is bad, naming each by its line.
pub async fn import(remote: &Remote, file: PathBuf, dry_run: bool) -> anyhow::Result<()> {
    let csv = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let r = remote
        .request(reqwest::Method::POST, "/import/licenses")
        .await?
        .query(&[("dry_run", dry_run)])
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .with_context(|| format!("cannot reach Keysat at {}", remote.base()))?;
    let status = r.status();
    if !status.is_success() && status != reqwest::StatusCode::UNPROCESSABLE_ENTITY {
        return Err(failure(r).await);
    }
    let report: Value = r.json().await.context("the admin API's answer is not JSON")?;
    for e in report["errors"].as_array().into_iter().flatten() {
        let field = e["field"].as_str().map(|f| format!("{f}: ")).unwrap_or_default();
        eprintln!("{}:{}: {field}{}", file.display(), e["line"], e["message"].as_str().unwrap_or(""));
    }
    if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
        bail!("{}", report["message"].as_str().unwrap_or("the file has bad rows; nothing was imported"));
    }
    let verb = if dry_run { "would create" } else { "created" };
    println!(
        "{} rows: {verb} {}, already imported {}, skipped (expired) {}{}",
        report["rows"],
        report["created"],
        report["already_imported"],
        report["skipped_expired"],
        if dry_run { " — a dry run: nothing was written" } else { "" }
    );
    let ignored: Vec<&str> =
        report["ignored_columns"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !ignored.is_empty() {
        println!("columns not read: {}", ignored.join(", "));
    }
    Ok(())
}
