//! The caller's address and user agent, for the audit log and per-IP throttles.
//!
//! Behind a load balancer every connection comes from the balancer, so per-IP throttles would
//! lump all users together. When the connecting peer is one of `ASSETPORT_TRUSTED_PROXIES`,
//! the address is taken from `X-Forwarded-For`, read from the right and skipping further
//! trusted hops: the first untrusted address is the one a trusted proxy saw. Entries to its
//! left were written by the client and are never believed.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Extensions, HeaderMap};
use ipnet::IpNet;

#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

/// The proxies whose `X-Forwarded-For` is believed; carried to handlers as a request extension.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// Parses a comma- or space-separated list of addresses and CIDR ranges.
    pub fn parse(list: &str) -> anyhow::Result<TrustedProxies> {
        let mut nets = Vec::new();
        for item in list.split([',', ' ']).filter(|s| !s.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => IpNet::from(item.parse::<IpAddr>().map_err(|_| {
                    anyhow::anyhow!(
                        "ASSETPORT_TRUSTED_PROXIES: {item:?} is not an address or CIDR range"
                    )
                })?),
            };
            nets.push(net);
        }
        Ok(TrustedProxies(Arc::new(nets)))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address given the connecting peer and the request headers.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut current = peer.to_canonical();
        if !self.trusts(current) {
            return current;
        }
        // All X-Forwarded-For headers form one list, in order; walk it from the right.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    current = ip.to_canonical();
                    if !self.trusts(current) {
                        return current;
                    }
                }
                // Garbage from here leftwards: the last address a trusted hop vouched for.
                Err(_) => return current,
            }
        }
        current
    }
}

impl ClientInfo {
    /// The portal itself, for what it does on its own (a closing availability window).
    pub fn system() -> ClientInfo {
        ClientInfo {
            ip: String::new(),
            user_agent: "assetport".into(),
        }
    }

    /// The client address of a whole request (for middleware, which has no `Parts`).
    pub fn ip_of<B>(req: &axum::http::Request<B>) -> String {
        ip_from(req.extensions(), req.headers())
    }
}

fn ip_from(extensions: &Extensions, headers: &HeaderMap) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| {
            let peer = c.0.ip();
            match extensions.get::<TrustedProxies>() {
                Some(trusted) => trusted.client_ip(peer, headers),
                None => peer,
            }
            .to_string()
        })
        .unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = ip_from(&parts.extensions, &parts.headers);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect())
            .unwrap_or_default();
        Ok(ClientInfo { ip, user_agent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word_only_for_themselves() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = xff(&["1.2.3.4"]);
        assert_eq!(t.client_ip(ip("192.0.2.9"), &h), ip("192.0.2.9"));
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        // The client forged "6.6.6.6"; the proxy appended the real address.
        let h = xff(&["6.6.6.6, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(t.client_ip(ip("127.0.0.1"), &h), ip("203.0.113.7"));
        // Only trusted hops: the leftmost one.
        let h = xff(&["10.9.9.9"]);
        assert_eq!(t.client_ip(ip("127.0.0.1"), &h), ip("10.9.9.9"));
        // No header at all: the proxy itself.
        assert_eq!(
            t.client_ip(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        // Garbage stops the walk at the last vouched-for address.
        let h = xff(&["junk, 10.0.0.5"]);
        assert_eq!(t.client_ip(ip("127.0.0.1"), &h), ip("10.0.0.5"));
        // IPv4-mapped IPv6 peers match IPv4 ranges.
        let h = xff(&["2001:db8::1"]);
        assert_eq!(t.client_ip(ip("::ffff:10.0.0.1"), &h), ip("2001:db8::1"));
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
    }
}
