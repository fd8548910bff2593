//! The `keysat` command: `keysat serve` runs the daemon; the other
//! subcommands help an operator on the machine itself.

use std::path::PathBuf;
use std::process::ExitCode;

mod remote;

use clap::{Parser, Subcommand, ValueEnum};
use keysat::app::Application;
use keysat::config::ServeArgs;

/// mimalloc instead of the C library's allocator: the shipped binary is
/// static on musl, whose allocator is slow under many threads, and glibc's
/// keeps per-thread arenas that hold memory (measured in bench/scale).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc commits its arena eagerly and asks the kernel for transparent
/// huge pages on it; where THP is on (`madvise`, as on Debian 12), every
/// 2 MiB touched then counts whole in RSS (18 MB more at idle, measured).
/// Keysat's heap is many small objects, so the process opts out of THP.
fn no_huge_pages() {
    // SAFETY: prctl with integer arguments only changes this process's THP flag.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

/// `mi_option_purge_delay` in `mimalloc.h`'s `mi_option_e` (mimalloc 2 and
/// 3; `libmimalloc-sys` names only some of the options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc 3 (what the `mimalloc` crate builds) keeps memory it has freed
/// for a second before it gives it back to the kernel (`purge_delay`,
/// 1,000 ms; mimalloc 2's was 10). A burst of first activations frees and
/// allocates much within a second (seat lists replaced, tallies written), so
/// the peak RSS held a second of that churn. At 10 ms, in a walk of new
/// machines on 100,000 licenses then a warm run (3 alternated pairs, the
/// daemon on its own CPU), the peak was 149, 143 and 151 MB against 162, 156
/// and 166, and the daemon's CPU a request was unchanged (cold 41–46 µs
/// against 43–46, warm 12.2–12.6 against 12.2–14.1). The environment's
/// `MIMALLOC_PURGE_DELAY`, when set, still decides.
fn purge_freed_memory_soon() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's options, which it reads at each purge.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10) };
    }
}

#[derive(Parser)]
#[command(name = "keysat", version, about = "Self-hosted, Bitcoin-first software licensing")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (public API, buyer pages, admin API).
    Serve(Box<ServeArgs>),
    /// Print the stored admin API key (when it was generated, not configured).
    AdminKey {
        #[arg(long, env = "KEYSAT_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Write a consistent copy of the database to DEST (safe while the daemon runs; used for backups).
    Snapshot {
        #[arg(long, env = "KEYSAT_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        /// File to write; an existing one is replaced only once the new copy is complete.
        dest: PathBuf,
    },
    /// Replace the database with a backup (stop Keysat first): a damaged or foreign file is refused,
    /// and the current database is kept aside in <data dir>/before-restore-<time>/.
    Restore {
        #[arg(long, env = "KEYSAT_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        /// The backup, e.g. <data dir>/backups/keysat-20261202T030000Z.db or a `keysat snapshot` file.
        file: PathBuf,
    },
    /// Download an export from the running daemon: licenses, invoices, customers, machines or audit, as .csv or .jsonl.
    Export {
        /// What to export, e.g. `licenses.csv` or `audit.jsonl`.
        file: String,
        /// Only what was created from this time (RFC 3339, YYYY-MM-DD or unix seconds).
        #[arg(long)]
        from: Option<String>,
        /// Only what was created before this time.
        #[arg(long)]
        to: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Import licenses from a CSV into the running daemon (check first with --dry-run).
    Import {
        what: Importable,
        /// The CSV (columns: product, tier, email, npub, expires_at, seats, note, status, external_id).
        file: PathBuf,
        /// Check every row and report what would happen; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Print every admin route as JSON lines: method, path under /v1/admin, and the scope a key needs.
    Routes,
}

#[derive(Clone, Copy, ValueEnum)]
enum Importable {
    Licenses,
}

/// The admin routes table, one JSON object a line (the StartOS package's tests read it).
fn print_routes() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for (method, path, scope) in keysat::app::admin_routes_table() {
        let line = serde_json::json!({ "method": method, "path": path, "scope": scope });
        // A closed pipe (`| head`) ends the listing quietly.
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    no_huge_pages();
    purge_freed_memory_soon();
    keysat::telemetry::init();
    // Before anything opens SQLite (its configuration is fixed from then on).
    keysat::db::sqlmem::install();
    keysat::db::pcache::install();
    keysat::db::walfile::install();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::AdminKey { data_dir } => print_admin_key(data_dir).await,
        Command::Snapshot { data_dir, dest } => snapshot(data_dir, dest).await,
        Command::Restore { data_dir, file } => restore(data_dir, file).await,
        Command::Export { file, from, to, out, remote } => remote::export(&remote, &file, from, to, out).await,
        Command::Import { what: Importable::Licenses, file, dry_run, remote } => {
            remote::import(&remote, file, dry_run).await
        }
        Command::Routes => {
            print_routes();
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line; configuration errors name their variable.
            eprintln!("keysat: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.into_config()?;
    // `--demo` typed on the command line (`make demo`), not `KEYSAT_DEMO`
    // from an environment: only then does an empty data directory get the example shop.
    config.demo_shop = config.demo && std::env::args().any(|a| a == "--demo");
    let app = Application::build(config).await?;
    print_banner(&app);
    let stop = app.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop.send(true);
    });
    app.run_until_stopped().await
}

fn print_banner(app: &Application) {
    let s = app.handle();
    let admin = match app.admin_addr {
        Some(a) => format!("http://{a}/v1/admin"),
        None => format!("http://{}/v1/admin", app.public_addr),
    };
    println!("Keysat {} is running.", env!("CARGO_PKG_VERSION"));
    println!("  Public URL:     {}", s.public_url);
    println!("  Listening on:   http://{}", app.public_addr);
    println!("  Admin API:      {admin}");
    println!("  Data directory: {}", s.config.data_dir.display());
    match &app.generated_admin_key {
        Some(key) => {
            println!("  Admin API key:  {key}");
            println!("  (generated now and stored; shown only this once — `keysat admin-key` prints it again)");
        }
        None => println!("  Admin API key:  configured or stored earlier (`keysat admin-key` prints a stored one)"),
    }
    if let Some(key) = &app.demo_admin_key {
        println!("Demo shop{}:", if app.demo_shop { " (example product seeded now)" } else { "" });
        println!("  Storefront:     {}/", s.public_url.trim_end_matches('/'));
        println!("  Admin API key:  {key}");
        println!("  Payments are simulated: no money moves.");
    }
    println!("Try: curl -H 'Authorization: Bearer <admin key>' {admin}/products");
}

async fn print_admin_key(data_dir: PathBuf) -> anyhow::Result<()> {
    let db = keysat::db::Db::open(&data_dir).await?;
    let key = keysat::db::settings::get(&db.read, keysat::db::settings::ADMIN_API_KEY).await?;
    db.close().await;
    match key {
        Some(k) => {
            println!("{k}");
            Ok(())
        }
        None => {
            anyhow::bail!("no admin key is stored in {} (it is configured by KEYSAT_ADMIN_API_KEY)", data_dir.display())
        }
    }
}

async fn snapshot(data_dir: PathBuf, dest: PathBuf) -> anyhow::Result<()> {
    let s = keysat::snapshot::write_snapshot(&data_dir, &dest).await?;
    println!("snapshot written: {} ({} bytes)", s.path.display(), s.bytes);
    Ok(())
}

async fn restore(data_dir: PathBuf, file: PathBuf) -> anyhow::Result<()> {
    let done = keysat::backup::restore(&data_dir, &file, keysat::domain::now_unix()).await?;
    println!("restored {} into {}", file.display(), data_dir.display());
    if let Some(aside) = done.kept_aside {
        println!("the database it replaced is kept in {}", aside.display());
    }
    println!("start Keysat again to run on it");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use libmimalloc_sys::mi_option_get;

    use super::*;

    /// The option set is mimalloc's purge delay: before, it holds mimalloc
    /// 3's default for that option (1,000 ms, its options table in
    /// `options.c`), which a wrong index (or a mimalloc whose options were
    /// renumbered) would not; after, 10 ms.
    /// Run without `MIMALLOC_PURGE_DELAY` in the environment, as `make test` does.
    #[test]
    fn freed_memory_is_given_back_after_ten_milliseconds() {
        assert!(std::env::var_os("MIMALLOC_PURGE_DELAY").is_none(), "unset MIMALLOC_PURGE_DELAY to run this test");
        // SAFETY: reads one of mimalloc's options.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, 1000);
        purge_freed_memory_soon();
        // SAFETY: as above.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, 10);
    }
}
