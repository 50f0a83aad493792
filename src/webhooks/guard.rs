//! Where webhooks may go: public addresses only, unless `ASSETPORT_WEBHOOKS_ALLOW_PRIVATE=true`.
//! An admin's endpoint must not become a way into the portal's own network (a cloud metadata
//! service at 169.254.169.254, a database on 10.x, the portal itself on 127.0.0.1).
//!
//! Two checks: a URL whose host is a literal address is refused when it is registered and again
//! at every attempt (`check_url`); a host name is checked where it is resolved, by the HTTP
//! client's resolver (`Resolver`), at every connection. The addresses checked are the addresses
//! connected to, so a name that answers with a public address at registration and a private one
//! later (DNS rebinding) is refused then.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Longest accepted endpoint URL.
pub const MAX_URL: usize = 2000;

/// An attempt refused because of where it would go; its text is what the delivery log shows.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// IPv4 ranges that are not public unicast, and what they are.
const NON_PUBLIC_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "“this network”"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "shared (CGNAT)"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "IETF protocol assignments"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4 relay"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved or broadcast"),
];

/// IPv6 ranges that are not public unicast. Ranges that carry an IPv4 address (mapped,
/// compatible, NAT64, 6to4) are judged by that address instead (`embedded_v4`).
const NON_PUBLIC_V6: &[(Ipv6Addr, u8, &str)] = &[
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 128, "unspecified"),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1), 128, "loopback"),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        "local NAT64",
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
        "discard-only",
    ),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, "Teredo"),
    (
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0),
        48,
        "benchmarking",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation",
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        "unique local (ULA)",
    ),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
];

fn in_v4(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0; 6] && ip.to_bits() > 1 {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Why `ip` is not a public unicast address, or `None` when it is one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => NON_PUBLIC_V4
            .iter()
            .find(|(net, len, _)| in_v4(v4, *net, *len))
            .map(|(_, _, what)| *what),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return non_public(IpAddr::V4(v4));
            }
            NON_PUBLIC_V6
                .iter()
                .find(|(net, len, _)| in_v6(v6, *net, *len))
                .map(|(_, _, what)| *what)
        }
    }
}

fn refusal(ip: IpAddr, what: &str) -> Refused {
    Refused(format!(
        "{ip} is not public ({what}); webhooks go only to public addresses \
         unless ASSETPORT_WEBHOOKS_ALLOW_PRIVATE=true"
    ))
}

/// The URL's host as an address, when it is one (`http://10.0.0.1/`, `http://[::1]/`, and the
/// spellings URL parsing turns into one, such as `http://2130706433/`).
fn literal_ip(url: &Url) -> Option<IpAddr> {
    // The parser has already normalised the host: IPv4 in dotted form, IPv6 in brackets.
    let host = url.host_str()?;
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// Checks an endpoint URL as given by an admin: http(s), a host, no credentials, not too long,
/// and, unless private addresses are allowed, not a literal non-public address. The error is
/// a sentence for the admin.
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("give the endpoint's URL (https://…)".into());
    }
    if raw.len() > MAX_URL {
        return Err(format!("the URL is longer than {MAX_URL} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("the URL is not valid ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("a webhook URL starts with https:// or http://".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL may not carry a user name or password: receivers check the signature".into(),
        );
    }
    check_literal(&url, allow_private).map_err(|r| r.0)?;
    Ok(url)
}

/// Refuses a URL whose host is a literal non-public address (unless allowed). Host names pass
/// here; the resolver checks what they resolve to.
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), Refused> {
    if allow_private {
        return Ok(());
    }
    match literal_ip(url) {
        Some(ip) => match non_public(ip) {
            Some(what) => Err(refusal(ip, what)),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// The webhook client's resolver: the system's (`getaddrinfo`), then every address must be
/// public unless private addresses are allowed. One non-public answer refuses the name: a
/// public name has no business answering with a private address.
pub struct Resolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                for a in &addrs {
                    if let Some(what) = non_public(a.ip()) {
                        let r = refusal(a.ip(), what);
                        return Err(Box::new(Refused(format!("{host} resolves to {}", r.0)))
                            as Box<dyn std::error::Error + Send + Sync>);
                    }
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_unicast_addresses_pass() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(non_public(ip(public)), None, "{public}");
        }
        for (private, what) in [
            ("0.0.0.0", "“this network”"),
            ("10.20.30.40", "private"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("169.254.169.254", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved or broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fd12:3456::1", "unique local (ULA)"),
            ("fc00::1", "unique local (ULA)"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("2002:c0a8:0101::1", "private"),
            ("2001:db8::1", "documentation"),
            ("2001:0:4136:e378::1", "Teredo"),
        ] {
            assert_eq!(non_public(ip(private)), Some(what), "{private}");
        }
    }

    #[test]
    fn urls_are_checked_when_registered() {
        let ok = |u: &str| check_url(u, false).map(|u| u.to_string());
        assert_eq!(
            ok("https://hooks.example.com/a?b=1").unwrap(),
            "https://hooks.example.com/a?b=1"
        );
        assert!(ok("http://8.8.8.8:8080/x").is_ok());
        // Names pass here (the resolver checks them at each attempt).
        assert!(ok("http://localhost:9000/hook").is_ok());
        for bad in [
            "",
            "hooks.example.com/a",
            "ftp://hooks.example.com/a",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://user:pw@hooks.example.com/",
            "https://user@hooks.example.com/",
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:192.168.0.1]/",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://a.example/{}", "x".repeat(MAX_URL)), false).is_err());
        // Allowed by configuration, a private literal passes.
        assert!(check_url("http://127.0.0.1:8080/", true).is_ok());
        assert!(check_url("ftp://127.0.0.1/", true).is_err());
    }
}
