//! A web origin (`scheme://host[:port]`) the operator lets call the public
//! API from its pages (CORS): the seller's own website.

use super::DomainError;

/// At most this many origins in the list.
pub const MAX_ORIGINS: usize = 32;

/// An `http` or `https` origin as browsers send it in `Origin`: lower-case,
/// without a default port, path, query or credentials.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin(String);

impl Origin {
    /// `https://shop.example`, `http://localhost:8000`; a trailing `/` is
    /// forgiven, anything else after the host (a path, a query, `user@`) is refused.
    pub fn parse(s: &str) -> Result<Origin, DomainError> {
        let bad = |why: &str| DomainError::invalid("cors_origins", format!("'{s}' is not an origin ({why})"));
        let s_trimmed = s.trim();
        let Some((_, authority)) = s_trimmed.split_once("://") else {
            return Err(bad("write it as https://host or https://host:port"));
        };
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', '\\']) {
            return Err(bad("only scheme://host[:port], no path, query or user"));
        }
        let url = url::Url::parse(s_trimmed).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        Ok(Origin(url.origin().ascii_serialization()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The list as the operator gives it: each parsed, duplicates dropped, sorted.
pub fn parse_list(given: &[String]) -> Result<Vec<Origin>, DomainError> {
    if given.len() > MAX_ORIGINS {
        return Err(DomainError::invalid("cors_origins", format!("at most {MAX_ORIGINS} origins")));
    }
    let mut list = given.iter().map(|s| Origin::parse(s)).collect::<Result<Vec<_>, _>>()?;
    list.sort();
    list.dedup();
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        for (given, kept) in [
            ("https://shop.example", "https://shop.example"),
            ("https://Shop.Example/", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://localhost:8000", "http://localhost:8000"),
            ("http://127.0.0.1:5500", "http://127.0.0.1:5500"),
            (" https://xn--bcher-kva.example ", "https://xn--bcher-kva.example"),
            ("https://bücher.example", "https://xn--bcher-kva.example"),
        ] {
            assert_eq!(Origin::parse(given).map(|o| o.0), Ok(kept.to_string()), "{given}");
        }
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "",
            "*",
            "null",
            "shop.example",
            "https://",
            "https://shop.example/buy",
            "https://shop.example?x=1",
            "https://shop.example#top",
            "https://user@shop.example",
            "ftp://shop.example",
            "javascript://shop.example",
            "https://shop.example:99999",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn a_list_is_sorted_without_duplicates_and_bounded() {
        let given = ["https://b.example", "https://a.example", "https://B.example/"].map(String::from);
        let list: Vec<String> = parse_list(&given).unwrap().iter().map(|o| o.as_str().to_string()).collect();
        assert_eq!(list, ["https://a.example", "https://b.example"]);
        let many: Vec<String> = (0..=MAX_ORIGINS).map(|i| format!("https://s{i}.example")).collect();
        assert!(parse_list(&many).is_err());
    }
}
