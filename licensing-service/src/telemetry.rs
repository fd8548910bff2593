//! Structured logs via tracing; `RUST_LOG` filters (default `info`).
//!
//! `RUST_LOG` is a comma-separated list of `level` and `target=level`
//! directives (`warn,keysat::delivery=debug`), parsed by tracing-subscriber's
//! `filter::Targets` (no regex engine in the binary). A value that is empty or
//! does not parse falls back to `info`.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter `RUST_LOG` asks for, or `info` when it is unset, empty or does not parse.
pub fn filter(rust_log: Option<&str>) -> Targets {
    rust_log
        .filter(|value| !value.trim().is_empty())
        .and_then(|value| value.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

pub fn init() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let layer = tracing_subscriber::fmt::layer().with_target(false).with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry().with(layer).with(filter(rust_log.as_deref())).try_init();
}

#[cfg(test)]
mod tests {
    use super::filter;
    use tracing::Level;

    #[test]
    fn rust_log_directives() {
        let f = filter(Some("warn,keysat::delivery::expiry=debug"));
        assert!(f.would_enable("keysat::delivery::expiry", &Level::DEBUG));
        assert!(!f.would_enable("keysat::delivery::expiry", &Level::TRACE));
        assert!(f.would_enable("keysat::http", &Level::WARN));
        assert!(!f.would_enable("keysat::http", &Level::INFO));
        assert!(!filter(Some("off")).would_enable("keysat", &Level::ERROR));
    }

    #[test]
    fn unset_or_unparsable_is_info() {
        for value in [None, Some(""), Some("keysat=loud")] {
            let f = filter(value);
            assert!(f.would_enable("keysat", &Level::INFO), "{value:?}");
            assert!(!f.would_enable("keysat", &Level::DEBUG), "{value:?}");
        }
    }
}
