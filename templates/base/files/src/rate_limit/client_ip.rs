//! The client's IP (the socket peer, or what trusted proxies say it is) and the key it is
//! counted under.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use axum::http::header::FORWARDED;

use crate::config::{IpNet, ProxyHeader};

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The IP a request comes from.
///
/// The forwarding header is believed only when the socket peer is one of `trusted` proxies:
/// otherwise any client could claim another address and reset its own quota. Only the
/// `header` the proxies write is read, never another one a client may have sent through
/// them. Each trusted proxy appends the address it received from, so the chain is read
/// right to left and the first address that is not a trusted proxy is the client.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ProxyHeader,
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let chain = match header {
        ProxyHeader::XForwardedFor => forwarded_for(headers),
        ProxyHeader::Forwarded => forwarded(headers),
        ProxyHeader::None => Vec::new(),
    };
    let mut client = peer;
    for hop in chain.into_iter().rev() {
        // An unreadable hop ("unknown", an obfuscated name): the last readable one is the
        // best we know.
        let Some(ip) = hop else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// What a client is counted as: its IPv4 address, or its IPv6 network of `ipv6_prefix`
/// bits (`2001:db8:1:2::/64`), since one subscriber gets a whole /64 and could otherwise
/// use a fresh address, and a fresh quota, for every request.
pub fn client_key(ip: IpAddr, ipv6_prefix: u8) -> String {
    match ip.to_canonical() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => {
            let prefix = ipv6_prefix.clamp(1, 128);
            let mask = u128::MAX << (128 - u32::from(prefix));
            let network = Ipv6Addr::from(u128::from(ip) & mask);
            format!("{network}/{prefix}")
        }
    }
}

/// Every `X-Forwarded-For` entry, in order.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(parse_node)
        .collect()
}

/// Every `for=` of the RFC 7239 `Forwarded` header, in order.
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(FORWARDED)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value))
            })
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `"[2001:db8::1]:4711"`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let node = raw.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(address) = node.parse::<SocketAddr>() {
        return Some(address.ip().to_canonical());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        for header in [ProxyHeader::XForwardedFor, ProxyHeader::Forwarded] {
            let client = client_ip(Some(ip("203.0.113.9")), &spoofed, &proxies(), header);
            assert_eq!(client, Some(ip("203.0.113.9")));
        }
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.2.3")]);
        let client = client_ip(
            Some(ip("10.0.0.1")),
            &chain,
            &proxies(),
            ProxyHeader::XForwardedFor,
        );
        assert_eq!(client, Some(ip("198.51.100.7")));
    }

    #[test]
    fn the_forwarded_header_is_read_with_ports_and_brackets() {
        let chain = headers(&[(
            "forwarded",
            "for=\"[2001:db8::17]:4711\";proto=https, for=10.0.0.5",
        )]);
        let client = client_ip(
            Some(ip("fd00::1")),
            &chain,
            &proxies(),
            ProxyHeader::Forwarded,
        );
        assert_eq!(client, Some(ip("2001:db8::17")));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // The proxy writes `Forwarded` and passes the client's own `X-Forwarded-For` on.
        let both = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=198.51.100.7"),
        ]);
        let peer = Some(ip("10.0.0.1"));
        let forwarded = client_ip(peer, &both, &proxies(), ProxyHeader::Forwarded);
        assert_eq!(forwarded, Some(ip("198.51.100.7")));
        let x_forwarded_for = client_ip(peer, &both, &proxies(), ProxyHeader::XForwardedFor);
        assert_eq!(x_forwarded_for, Some(ip("6.6.6.6")));
        assert_eq!(client_ip(peer, &both, &proxies(), ProxyHeader::None), peer);
        // A `Forwarded` proxy that got no header: the client's XFF is not a fallback.
        let spoofed = headers(&[("x-forwarded-for", "6.6.6.6")]);
        let client = client_ip(peer, &spoofed, &proxies(), ProxyHeader::Forwarded);
        assert_eq!(client, peer);
    }

    #[test]
    fn ipv6_clients_are_counted_per_network() {
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa::1"), 64),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_key(ip("2001:db8:1:2:ffff::9"), 64),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_key(ip("2001:db8:1:2::1"), 128),
            "2001:db8:1:2::1/128"
        );
        assert_eq!(client_key(ip("2001:db8:1:2::1"), 48), "2001:db8:1::/48");
        assert_eq!(client_key(ip("::ffff:192.0.2.1"), 64), "192.0.2.1");
        assert_eq!(client_key(ip("192.0.2.1"), 64), "192.0.2.1");
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        let client = client_ip(
            Some(ip("10.0.0.1")),
            &HeaderMap::new(),
            &proxies(),
            ProxyHeader::XForwardedFor,
        );
        assert_eq!(client, Some(ip("10.0.0.1")));
    }
}
