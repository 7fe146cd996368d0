//! Network values the configuration names: client networks (CIDR) and service URLs.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A client network, `ADDRESS/PREFIX` (IPv4 or IPv6); a bare address is one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in this network. IPv4 clients seen through an IPv6 socket
    /// (`::ffff:a.b.c.d`) are matched as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
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

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let bad = || format!("`{s}` is not a network such as 127.0.0.1/32 or ::1/128");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u8>() {
                    Ok(n) if n <= max => n,
                    _ => return Err(format!("`{s}`: the prefix length must be 0 to {max}")),
                }
            }
            Some(_) => return Err(bad()),
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whether any of `allow` contains `ip`.
pub fn allowed(allow: &[Cidr], ip: IpAddr) -> bool {
    allow.iter().any(|n| n.contains(ip))
}

/// An `https://host[:port]/path` URL, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsUrl {
    pub host: String,
    pub port: u16,
    /// Starts with `/`.
    pub path: String,
}

/// Splits an `https://` URL; the message says what is wrong.
pub fn parse_https_url(url: &str) -> Result<HttpsUrl, String> {
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(format!("`{url}` is not an https:// URL"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') || path.contains(['#', ' ']) {
        return Err(format!(
            "`{url}`: no user, fragment or space allowed in the URL"
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse::<u16>() {
            Ok(p) if p > 0 => (h, p),
            _ => return Err(format!("`{url}`: `{p}` is not a port")),
        },
        _ => (authority, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    Ok(HttpsUrl {
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Cidr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn metrics_cidr_parsing() {
        assert_eq!(net("127.0.0.1/32").to_string(), "127.0.0.1/32");
        assert_eq!(net("::1/128").to_string(), "::1/128");
        assert_eq!(net("10.1.2.3").to_string(), "10.1.2.3/32");
        assert_eq!(net("fd00::").to_string(), "fd00::/128");
        assert_eq!(net(" 0.0.0.0/0 ").to_string(), "0.0.0.0/0");
        for bad in [
            "",
            "localhost",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/8/8",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn metrics_cidr_matching() {
        let v4 = net("10.0.0.0/8");
        assert!(v4.contains(ip("10.255.1.2")));
        assert!(!v4.contains(ip("11.0.0.1")));
        assert!(!v4.contains(ip("127.0.0.1")));
        // Host bits in the network are ignored.
        assert!(net("192.168.1.77/24").contains(ip("192.168.1.3")));
        assert!(!net("192.168.1.77/24").contains(ip("192.168.2.3")));
        assert!(net("127.0.0.1/32").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.1/32").contains(ip("127.0.0.2")));
        // An IPv4 client through a dual-stack socket.
        assert!(net("127.0.0.1/32").contains(ip("::ffff:127.0.0.1")));
        assert!(net("::1/128").contains(ip("::1")));
        assert!(!net("::1/128").contains(ip("127.0.0.1")));
        assert!(net("fd00::/8").contains(ip("fdab::1")));
        assert!(!net("fd00::/8").contains(ip("fe80::1")));
        // /0 is everyone of that family only.
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!net("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(net("::/0").contains(ip("2001:db8::1")));
        let allow = [net("127.0.0.1/32"), net("::1/128")];
        assert!(allowed(&allow, ip("127.0.0.1")));
        assert!(allowed(&allow, ip("::1")));
        assert!(!allowed(&allow, ip("10.0.0.1")));
        assert!(!allowed(&[], ip("127.0.0.1")));
    }

    #[test]
    fn https_urls_are_split_and_others_refused() {
        let u = parse_https_url("https://127.0.0.1:8443/pronote/v1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8443, "/pronote/v1")
        );
        let u = parse_https_url("https://pronote.example.invalid").unwrap();
        assert_eq!((u.port, u.path.as_str()), (443, "/"));
        assert!(parse_https_url("http://x/").is_err());
        assert!(parse_https_url("https://:80/").is_err());
        assert!(parse_https_url("https://x:http/").is_err());
        assert!(parse_https_url("https://user@x/").is_err());
    }
}
