//! The outbound guard: which URLs and addresses the connectors may reach.
//!
//! A Tenant URL is typed by an admin, so it is a server-side request forgery vector: it could point at
//! the cloud metadata service (`169.254.169.254`), at a database on the loopback interface or at the
//! office network. The guard allows only `http`/`https` URLs without credentials in them, resolves the
//! host itself and refuses every address that is not globally routable (unless the server allows
//! private targets), and hands the vetted addresses to the HTTP client through [`GuardedResolver`], so
//! the addresses checked are the addresses connected to (no DNS rebinding between check and connect).
//! The client never follows redirects ([`build_client`]) and reads bodies up to a cap ([`read_capped`]).

// `ConnectorError` is the connectors' shared error type (168 bytes); see `scim`.
#![allow(clippy::result_large_err)]

use super::{ConnectorError, ErrorKind};
use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The largest response body a connector reads (16 MiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The environment variable (and setting) that allows private targets, named in refusals.
pub const ALLOW_PRIVATE_SETTING: &str = "PROVISIO_ALLOW_PRIVATE_TARGETS";

/// What kind of address an IP is, as far as the guard is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// A globally routable address: always allowed.
    Global,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `169.254/16` (including the cloud metadata address `169.254.169.254`), `fe80::/10`.
    LinkLocal,
    /// IPv6 unique local addresses, `fc00::/7`.
    UniqueLocal,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// Carrier-grade NAT shared space, `100.64/10`.
    SharedCgnat,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Other ranges that are never a real service: `240/4` (reserved), `192.0.0/24` (IETF protocol
    /// assignments), `198.18/15` (benchmarking), documentation ranges, IPv6 site-local `fec0::/10`.
    Reserved,
}

impl AddressClass {
    /// Whether the address is globally routable.
    pub fn is_global(self) -> bool {
        self == AddressClass::Global
    }

    /// The class in words, as used in refusals ("a loopback address").
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Global => "a public address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private (RFC 1918) address",
            AddressClass::LinkLocal => "a link-local address (this range holds cloud metadata services)",
            AddressClass::UniqueLocal => "a unique local (private IPv6) address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::SharedCgnat => "a carrier-grade NAT (100.64.0.0/10) address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

/// Classifies an address. IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible and NAT64 (`64:ff9b::/96`)
/// IPv6 addresses are classified by the IPv4 address inside them.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_broadcast() {
        AddressClass::Broadcast
    } else if a == 0 {
        AddressClass::Unspecified
    } else if a == 127 {
        AddressClass::Loopback
    } else if a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168) {
        AddressClass::Private
    } else if a == 169 && b == 254 {
        AddressClass::LinkLocal
    } else if a == 100 && (64..=127).contains(&b) {
        AddressClass::SharedCgnat
    } else if (224..=239).contains(&a) {
        AddressClass::Multicast
    } else if a >= 240
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && (18..=19).contains(&b))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        AddressClass::Reserved
    } else {
        AddressClass::Global
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let seg = ip.segments();
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated) and 64:ff9b::a.b.c.d (NAT64).
    let embedded = seg[0..5] == [0, 0, 0, 0, 0] && (seg[5] == 0xffff || seg[5] == 0) || seg[0..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if embedded {
        let [.., a, b, c, d] = ip.octets();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    match seg[0] {
        s if s & 0xff00 == 0xff00 => AddressClass::Multicast,
        s if s & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        s if s & 0xffc0 == 0xfec0 => AddressClass::Reserved,
        s if s & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
        0x2001 if seg[1] == 0x0db8 => AddressClass::Reserved,
        _ => AddressClass::Global,
    }
}

/// Why the guard stopped a request. Travels through the HTTP client's error chain (from
/// [`GuardedResolver`]) and is found again with [`find_guard_error`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuardError {
    /// The address (or URL) is not allowed; the message says which and why.
    Refused(String),
    /// The host name did not resolve; the message names the host.
    Dns(String),
}

impl GuardError {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            GuardError::Refused(m) | GuardError::Dns(m) => m,
        }
    }

    /// As a connector error: [`ErrorKind::Refused`] or [`ErrorKind::Network`].
    pub fn to_connector_error(&self) -> ConnectorError {
        match self {
            GuardError::Refused(m) => ConnectorError::new(ErrorKind::Refused, m.clone()),
            GuardError::Dns(m) => ConnectorError::new(ErrorKind::Network, m.clone()),
        }
    }
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl StdError for GuardError {}

/// Finds a [`GuardError`] in an error's source chain (the HTTP client wraps resolver errors).
pub fn find_guard_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a GuardError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(g) = e.downcast_ref::<GuardError>() {
            return Some(g);
        }
        cur = e.source();
    }
    None
}

/// Checks one address. `host` is the name it was resolved from (or the address itself).
pub fn check_ip(host: &str, ip: IpAddr, allow_private: bool) -> Result<(), GuardError> {
    let class = classify(ip);
    if class.is_global() || allow_private {
        return Ok(());
    }
    let what = if host.trim_matches(['[', ']']) == ip.to_string() {
        format!("{ip} is {}", class.describe())
    } else {
        format!("{host} resolves to {ip}, {}", class.describe())
    };
    Err(GuardError::Refused(format!("{what}; private targets are not allowed on this server ({ALLOW_PRIVATE_SETTING})")))
}

/// Checks a URL's form: `http`/`https`, a host, no user name or password, no fragment. Returns the
/// parsed URL. `what` names it in messages ("the Tenant URL").
pub fn check_url(what: &str, url: &str) -> Result<reqwest::Url, GuardError> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| GuardError::Refused(format!("{what} '{url}' is not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(GuardError::Refused(format!("{what} must start with https:// (or http://), not {}://", parsed.scheme())));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(GuardError::Refused(format!(
            "{what} must not contain a user name or password; use the secret token or OAuth credentials"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(GuardError::Refused(format!("{what} has no host name")));
    }
    if parsed.fragment().is_some() {
        return Err(GuardError::Refused(format!("{what} must not contain a fragment (#…)")));
    }
    Ok(parsed)
}

/// Checks a URL's host when it is an IP literal (the HTTP client connects to literals without
/// resolving them, so [`GuardedResolver`] never sees them). Host names are checked by the resolver.
pub fn check_literal_host(url: &reqwest::Url, allow_private: bool) -> Result<(), GuardError> {
    let host = url.host_str().unwrap_or("");
    let bare = host.trim_matches(['[', ']']);
    match bare.parse::<IpAddr>() {
        Ok(ip) => check_ip(bare, ip, allow_private),
        Err(_) => Ok(()),
    }
}

/// A DNS resolver for the HTTP client that refuses names resolving to addresses the guard does not
/// allow. The client connects only to the addresses it returns, so the check and the connection use
/// the same addresses.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    allow_private: bool,
}

impl GuardedResolver {
    /// A resolver; `allow_private` lets private, loopback and link-local addresses through.
    pub fn new(allow_private: bool) -> GuardedResolver {
        GuardedResolver { allow_private }
    }

    /// Resolves `host` and checks every address; any refused address refuses the host.
    pub async fn resolve_checked(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, GuardError> {
        let bare = host.trim_matches(['[', ']']);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            check_ip(bare, ip, allow_private)?;
            return Ok(vec![SocketAddr::new(ip, 0)]);
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, 0))
            .await
            .map_err(|e| GuardError::Dns(format!("could not resolve host {bare} ({e})")))?
            .collect();
        if addrs.is_empty() {
            return Err(GuardError::Dns(format!("could not resolve host {bare} (no addresses)")));
        }
        for a in &addrs {
            check_ip(bare, a.ip(), allow_private)?;
        }
        Ok(addrs)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let allow = self.allow_private;
        Box::pin(async move {
            let addrs = GuardedResolver::resolve_checked(&host, allow).await?;
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

/// The one HTTP client of a connector: HTTP/1.1 with keep-alive pooling, the guarded resolver, no
/// redirects, no proxies (a proxy would resolve the name itself), and the timeout.
pub fn build_client(timeout: Duration, allow_private: bool, max_idle: usize) -> Result<reqwest::Client, ConnectorError> {
    reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver::new(allow_private)))
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(max_idle.max(1))
        .tcp_keepalive(Duration::from_secs(30))
        .user_agent(concat!("Provisio/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConnectorError::new(ErrorKind::Network, format!("could not set up the HTTP client: {e}")))
}

/// Why reading a body failed.
#[derive(Debug)]
pub enum BodyError {
    /// The body is larger than the cap.
    TooLarge(usize),
    /// The connection failed while reading (reset, closed early, timeout).
    Read(reqwest::Error),
}

/// Reads a response body, streamed, refusing bodies larger than `limit` bytes.
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if let Some(len) = resp.content_length() {
        if len > limit as u64 {
            return Err(BodyError::TooLarge(limit));
        }
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Read)? {
        if buf.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn classifies_v4() {
        use AddressClass::*;
        for (ip, c) in [
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Global),
            ("172.15.0.1", Global),
            ("192.168.1.1", Private),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.1", Global),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("198.18.0.1", Reserved),
            ("8.8.8.8", Global),
            ("1.1.1.1", Global),
            ("20.190.128.1", Global),
        ] {
            assert_eq!(class(ip), c, "{ip}");
        }
    }

    #[test]
    fn classifies_v6() {
        use AddressClass::*;
        for (ip, c) in [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("ff02::1", Multicast),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:8.8.8.8", Global),
            ("64:ff9b::a00:1", Private),
            ("2001:db8::1", Reserved),
            ("2606:4700:4700::1111", Global),
            ("2a00:1450:4001::200e", Global),
        ] {
            assert_eq!(class(ip), c, "{ip}");
        }
    }

    #[test]
    fn refusals_name_the_address_and_why() {
        let e = check_ip("127.0.0.1", "127.0.0.1".parse().unwrap(), false).unwrap_err();
        assert_eq!(
            e.message(),
            "127.0.0.1 is a loopback address; private targets are not allowed on this server (PROVISIO_ALLOW_PRIVATE_TARGETS)"
        );
        let e = check_ip("metadata.internal", "169.254.169.254".parse().unwrap(), false).unwrap_err();
        assert!(e.message().starts_with("metadata.internal resolves to 169.254.169.254, a link-local address"), "{e}");
        assert!(check_ip("x", "10.0.0.1".parse().unwrap(), true).is_ok());
        assert!(check_ip("x", "8.8.8.8".parse().unwrap(), false).is_ok());
        let e = check_ip("[::1]", "::1".parse().unwrap(), false).unwrap_err();
        assert!(e.message().starts_with("::1 is a loopback address"), "{e}");
    }

    #[test]
    fn url_checks() {
        assert!(check_url("the Tenant URL", "https://scim.example.com/v2").is_ok());
        assert!(check_url("the Tenant URL", "http://scim.example.com/v2?aadOptscim062020").is_ok());
        let m = |u: &str| check_url("the Tenant URL", u).unwrap_err().message().to_string();
        assert_eq!(m("ftp://x/"), "the Tenant URL must start with https:// (or http://), not ftp://");
        assert_eq!(m("file:///etc/passwd"), "the Tenant URL must start with https:// (or http://), not file://");
        assert!(m("https://user:pw@host/").contains("must not contain a user name or password"));
        assert!(m("https://user@host/").contains("must not contain a user name or password"));
        assert!(m("https://host/#x").contains("fragment"));
        assert!(m("not a url").contains("is not a valid URL"));
        let lit = |u: &str, allow| check_literal_host(&reqwest::Url::parse(u).unwrap(), allow);
        assert!(lit("http://127.0.0.1:8080/scim", false).unwrap_err().message().starts_with("127.0.0.1 is a loopback address"));
        assert!(lit("http://[::1]/scim", false).unwrap_err().message().starts_with("::1 is a loopback address"));
        assert!(lit("http://169.254.169.254/latest", false).is_err());
        assert!(lit("http://127.0.0.1:8080/scim", true).is_ok());
        assert!(lit("https://scim.example.com/", false).is_ok());
    }

    #[tokio::test]
    async fn resolver_refuses_localhost_and_reports_dns_failures() {
        let e = GuardedResolver::resolve_checked("localhost", false).await.unwrap_err();
        assert!(matches!(e, GuardError::Refused(_)), "{e:?}");
        assert!(e.message().starts_with("localhost resolves to "), "{e}");
        assert!(GuardedResolver::resolve_checked("localhost", true).await.is_ok());
        let e = GuardedResolver::resolve_checked("no-such-host.invalid", false).await.unwrap_err();
        assert!(matches!(&e, GuardError::Dns(m) if m.starts_with("could not resolve host no-such-host.invalid")), "{e:?}");
    }
}
