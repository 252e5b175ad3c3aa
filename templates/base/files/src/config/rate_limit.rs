//! Rate-limit policies and the proxies whose forwarding headers are trusted.

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

/// How requests are limited (`RATE_LIMIT_*`, `TRUSTED_PROXIES`).
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_ENABLED`; `false` turns the limiter off entirely (benchmarks, or a
    /// gateway that already limits).
    pub enabled: bool,
    /// `RATE_LIMIT_PUBLIC`: per client IP on public routes.
    pub public: Quota,
    /// `RATE_LIMIT_USER`: per user on authenticated routes.
    pub user: Quota,
    /// `RATE_LIMIT_AUTH`: per client IP on sign-in, sign-up and token refresh.
    pub auth: Quota,
    /// `TRUSTED_PROXIES`: peers whose `X-Forwarded-For`/`Forwarded` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
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
        Self {
            enabled: env.parse("RATE_LIMIT_ENABLED", true),
            public: env.parse("RATE_LIMIT_PUBLIC", Quota::per_minute(120)),
            user: env.parse("RATE_LIMIT_USER", Quota::per_minute(600)),
            auth: env.parse("RATE_LIMIT_AUTH", Quota::per_minute(10)),
            trusted_proxies,
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
}
