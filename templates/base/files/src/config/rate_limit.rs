//! Rate-limit policies, the proxies whose forwarding header is trusted, and how IPv6 clients
//! are grouped.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use super::reader::EnvReader;

/// `limit` requests per `period`, written `120/1m` (units: `s`, `m`, `h`; none means seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed per period, all of them at once if the client was idle.
    pub limit: u32,
    /// The period over which `limit` applies.
    pub period: Duration,
}

impl Quota {
    /// `limit` requests per minute.
    pub const fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            period: Duration::from_secs(60),
        }
    }
}

impl FromStr for Quota {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let (limit, period) = raw
            .split_once('/')
            .ok_or("expected <requests>/<period>, e.g. 120/1m")?;
        let limit: u32 = limit.trim().parse().map_err(|_| "bad request count")?;
        let period = period.trim();
        let (number, unit) = period.split_at(
            period
                .find(|c: char| c.is_alphabetic())
                .unwrap_or(period.len()),
        );
        let number: u64 = number.parse().map_err(|_| "bad period")?;
        let seconds = match unit {
            "" | "s" => number,
            "m" => number * 60,
            "h" => number * 3600,
            _ => return Err("period unit must be s, m or h".into()),
        };
        if limit == 0 || seconds == 0 {
            return Err("requests and period must be greater than 0".into());
        }
        Ok(Self {
            limit,
            period: Duration::from_secs(seconds),
        })
    }
}

/// An address or a CIDR block (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is inside this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = raw
            .split_once('/')
            .map_or((raw, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = address.parse().map_err(|_| "not an IP address")?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse()
                .ok()
                .filter(|prefix| *prefix <= max)
                .ok_or("bad prefix length")?,
        };
        Ok(Self { network, prefix })
    }
}

/// The one forwarding header trusted proxies write the client's address into
/// (`TRUSTED_PROXY_HEADER`). Only that header is read: a proxy that writes one header
/// usually passes the other through from the client untouched, so reading whichever is
/// present would let the client pick its own address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyHeader {
    /// `X-Forwarded-For` (nginx, HAProxy, AWS and Google load balancers).
    XForwardedFor,
    /// RFC 7239 `Forwarded`, its `for=` parameters.
    Forwarded,
    /// No header: the socket peer is the client even when it is a trusted proxy.
    None,
}

impl FromStr for ProxyHeader {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            "none" => Ok(Self::None),
            _ => Err("expected x-forwarded-for, forwarded or none".into()),
        }
    }
}

/// How requests are limited (`RATE_LIMIT_*`, `TRUSTED_PROXIES`, `TRUSTED_PROXY_HEADER`).
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_ENABLED`; `false` turns the limiter off entirely (benchmarks, or a
    /// gateway that already limits).
    pub enabled: bool,
    /// `RATE_LIMIT_PUBLIC`: per client IP on public routes.
    pub public: Quota,
    /// `RATE_LIMIT_USER`: per user on authenticated routes.
    pub user: Quota,
    /// `RATE_LIMIT_AUTH`: per client IP on sign-in and sign-up.
    pub auth: Quota,
    /// `RATE_LIMIT_REFRESH`: per client IP on token refresh.
    pub refresh: Quota,
    /// `RATE_LIMIT_IPV6_PREFIX`: IPv6 clients are counted per network of this many bits
    /// (one subscriber usually holds a whole /64).
    pub ipv6_prefix: u8,
    /// `TRUSTED_PROXIES`: peers whose forwarding header is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `TRUSTED_PROXY_HEADER`: the header they write the client's address into.
    pub proxy_header: ProxyHeader,
}

impl RateLimitConfig {
    pub(crate) fn load(env: &mut EnvReader<'_>) -> Self {
        let mut trusted_proxies = Vec::new();
        for entry in env.get("TRUSTED_PROXIES").unwrap_or_default().split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            match entry.parse() {
                Ok(net) => trusted_proxies.push(net),
                Err(error) => env.problem(format!("TRUSTED_PROXIES entry {entry:?}: {error}")),
            }
        }
        let ipv6_prefix: u8 = env.parse("RATE_LIMIT_IPV6_PREFIX", 64);
        if !(1..=128).contains(&ipv6_prefix) {
            env.problem("RATE_LIMIT_IPV6_PREFIX must be between 1 and 128");
        }
        Self {
            enabled: env.parse("RATE_LIMIT_ENABLED", true),
            public: env.parse("RATE_LIMIT_PUBLIC", Quota::per_minute(120)),
            user: env.parse("RATE_LIMIT_USER", Quota::per_minute(600)),
            auth: env.parse("RATE_LIMIT_AUTH", Quota::per_minute(10)),
            refresh: env.parse("RATE_LIMIT_REFRESH", Quota::per_minute(120)),
            ipv6_prefix: ipv6_prefix.clamp(1, 128),
            trusted_proxies,
            proxy_header: env.parse("TRUSTED_PROXY_HEADER", ProxyHeader::XForwardedFor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_read_requests_per_period_with_a_unit() {
        let quota: Quota = "120/1m".parse().unwrap();
        assert_eq!(quota, Quota::per_minute(120));
        let quota: Quota = "5/30".parse().unwrap();
        assert_eq!(quota.period, Duration::from_secs(30));
        assert_eq!(
            "3/2h".parse::<Quota>().unwrap().period,
            Duration::from_secs(7200)
        );
        for bad in ["120", "0/1m", "10/0s", "10/1d", "ten/1m"] {
            assert!(bad.parse::<Quota>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn networks_match_their_addresses_only() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.200.1.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let host: IpNet = "2001:db8::1".parse().unwrap();
        assert!(host.contains("2001:db8::1".parse().unwrap()));
        assert!(!host.contains("2001:db8::2".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("example.com".parse::<IpNet>().is_err());
    }

    #[test]
    fn the_proxy_header_is_one_of_three_names() {
        assert_eq!(
            "Forwarded".parse::<ProxyHeader>(),
            Ok(ProxyHeader::Forwarded)
        );
        assert_eq!(
            "x-forwarded-for".parse::<ProxyHeader>(),
            Ok(ProxyHeader::XForwardedFor)
        );
        assert_eq!("none".parse::<ProxyHeader>(), Ok(ProxyHeader::None));
        assert!("x-real-ip".parse::<ProxyHeader>().is_err());
    }
}
