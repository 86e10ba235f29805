//! Which addresses a URL given by a user may reach: public ones, and private ones only where
//! the operator's allow-list (`OUTBOUND_ALLOWLIST`) names the host or the address. Checked
//! when the URL is added and again at every connection, so a name that later resolves
//! inside (DNS rebinding, a changed record) is refused too.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What the allow-list names: hosts (`sink.internal`, `localhost`), addresses
/// (`127.0.0.1`, `::1`) and ranges (`10.1.0.0/16`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allowlist {
    hosts: Vec<String>,
    ranges: Vec<(IpAddr, u8)>,
}

impl Allowlist {
    /// Comma-separated; blanks ignored. The error names the entry that is none of the three.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut allowlist = Allowlist::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (address, prefix) = match entry.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (entry, None),
            };
            match (address.parse::<IpAddr>(), prefix) {
                (Ok(ip), None) => allowlist.ranges.push((ip, max_prefix(ip))),
                (Ok(ip), Some(prefix)) => match prefix.parse::<u8>() {
                    Ok(bits) if bits <= max_prefix(ip) => allowlist.ranges.push((ip, bits)),
                    _ => return Err(format!("{entry:?}: the prefix length is not valid")),
                },
                (Err(_), None) if valid_host(entry) => {
                    allowlist.hosts.push(entry.to_ascii_lowercase())
                }
                _ => {
                    return Err(format!(
                        "{entry:?} is not a host name, an IP address or a range (10.0.0.0/8)"
                    ))
                }
            }
        }
        Ok(allowlist)
    }

    fn names_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    fn names_address(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.ranges
            .iter()
            .any(|&(range, bits)| in_range(ip, canonical(range), bits))
    }

    /// Whether a connection to `ip`, reached through the name `host`, is allowed.
    pub fn allows(&self, host: &str, ip: IpAddr) -> bool {
        is_public(ip) || self.names_host(host) || self.names_address(ip)
    }
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn max_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn in_range(ip: IpAddr, range: IpAddr, bits: u8) -> bool {
    match (ip, range) {
        (IpAddr::V4(ip), IpAddr::V4(range)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(range) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(range)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(range) & mask
        }
        _ => false,
    }
}

/// Whether `ip` is on the public internet: not loopback, private, link-local (cloud
/// metadata services live there: 169.254.169.254, fd00:ec2::254), shared (CGNAT, where
/// some clouds put theirs), unspecified, broadcast, multicast, documentation or reserved.
/// IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by it.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let embedded_v4 =
        |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    match segments {
        // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => public_v4(embedded_v4(high, low)),
        [0x2002, high, low, ..] => public_v4(embedded_v4(high, low)),
        _ => {
            !(ip.is_unspecified()
                || ip.is_loopback()
                || ip.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00
                || (segments[0] & 0xffc0) == 0xfe80
                || (segments[0] == 0x2001 && segments[1] == 0x0db8)
                // IPv4-compatible (::a.b.c.d, deprecated) carries one too.
                || (segments[..6] == [0; 6] && !public_v4(embedded_v4(segments[6], segments[7]))))
        }
    }
}

/// Resolves a host name to addresses (the system's resolver in production).
pub trait Lookup: Send + Sync + 'static {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The operating system's resolver.
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|addr| addr.ip())
                .collect())
        })
    }
}

/// How long a check waits for the name to resolve; one that does not resolve by then
/// passes, as one that does not resolve at all.
const CHECK_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// A URL's host is or resolves to an address the allow-list does not open.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host} resolves to {address}, a private, loopback or link-local address; name it in OUTBOUND_ALLOWLIST to allow it")]
pub struct Refused {
    pub host: String,
    pub address: IpAddr,
}

/// The addresses one host may be reached at.
#[derive(Clone)]
pub struct Guard {
    allowlist: Arc<Allowlist>,
    lookup: Arc<dyn Lookup>,
}

impl Guard {
    pub fn new(allowlist: Allowlist, lookup: Arc<dyn Lookup>) -> Self {
        Guard {
            allowlist: Arc::new(allowlist),
            lookup,
        }
    }

    /// Checks a URL's host as it resolves now. A name that does not resolve passes (DNS can
    /// change; every connection is checked again); one that resolves to any refused
    /// address does not.
    pub async fn check(&self, url: &reqwest::Url) -> Result<(), Refused> {
        let Some(host) = url.host() else {
            return Ok(());
        };
        let name = match host {
            url::Host::Ipv4(ip) => return self.check_literal(&ip.to_string(), ip.into()),
            url::Host::Ipv6(ip) => return self.check_literal(&ip.to_string(), ip.into()),
            url::Host::Domain(name) => name.to_owned(),
        };
        if self.allowlist.names_host(&name) {
            return Ok(());
        }
        let addresses = tokio::time::timeout(CHECK_WITHIN, self.lookup.lookup(name.clone()))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        match addresses
            .into_iter()
            .find(|&ip| !self.allowlist.allows(&name, ip))
        {
            Some(address) => Err(Refused {
                host: name,
                address,
            }),
            None => Ok(()),
        }
    }

    /// An address written in the URL: no resolver sees it, so it is checked here.
    pub fn check_literal(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        match self.allowlist.allows(host, ip) {
            true => Ok(()),
            false => Err(Refused {
                host: host.to_owned(),
                address: ip,
            }),
        }
    }
}

/// The resolver of a guarded client: only allowed addresses are handed to the connector.
impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = guard.lookup.lookup(host.clone()).await?;
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addresses
                .into_iter()
                .filter(|&ip| match guard.allowlist.allows(&host, ip) {
                    true => true,
                    false => {
                        refused.get_or_insert(ip);
                        false
                    }
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(address)) => Err(Box::new(Refused { host, address }) as _),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
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
    fn only_public_addresses_are_public() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
        ] {
            assert!(!is_public(ip(inside)), "{inside}");
        }
        for outside in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn the_allowlist_opens_hosts_addresses_and_ranges() {
        let allow = Allowlist::parse("sink.internal, 127.0.0.1, 10.1.0.0/16, ::1").unwrap();
        assert!(allow.allows("SINK.internal", ip("10.9.9.9")));
        assert!(allow.allows("x", ip("127.0.0.1")));
        assert!(allow.allows("x", ip("::ffff:127.0.0.1")));
        assert!(allow.allows("x", ip("10.1.200.3")));
        assert!(allow.allows("x", ip("::1")));
        assert!(!allow.allows("x", ip("127.0.0.2")));
        assert!(!allow.allows("x", ip("10.2.0.1")));
        assert!(!allow.allows("sink.internal.evil", ip("10.9.9.9")));
        assert!(Allowlist::parse("10.0.0.0/33").is_err());
        assert!(Allowlist::parse("http://x").is_err());
        assert_eq!(Allowlist::parse(" , ").unwrap(), Allowlist::default());
    }
}
