//! Who is asking, as far as limits are concerned: the connection's peer, or, when that peer is a proxy the
//! operator trusts, the address it reports in `X-Forwarded-For`.
//!
//! Only trusted proxies are believed: anyone else could put any address in the header and get a fresh limit
//! with every request. The header is read from the right (the entry the nearest proxy appended) past every
//! trusted proxy, so a client cannot choose its address by sending a header of its own through the proxy.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The client's key for rate limits (`unknown` when the connection has no peer address): see [`limit_key`].
pub fn address(req: &HttpRequest, trusted: &[IpNet]) -> String {
    // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`; canonical, they match IPv4 proxy networks.
    let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
        return "unknown".to_string();
    };
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    limit_key(resolve(peer, &forwarded, trusted))
}

/// What a limit counts under: an IPv4 address, or an IPv6 address's /64, since one subscriber or host is
/// commonly given a whole /64 and could otherwise take a fresh budget with every address in it.
fn limit_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let network = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{network}/64")
        }
        v4 => v4.to_string(),
    }
}

/// The nearest address in the chain `forwarded…, peer` that is not a trusted proxy; a header whose entries do
/// not parse ends the walk at the last trusted hop, which is then taken as the client.
fn resolve(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = forwarded.iter().flat_map(|h| h.split(',')).rev();
    for hop in hops {
        match parse_hop(hop.trim()) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// One `X-Forwarded-For` entry as proxies write them: `a.b.c.d`, `a.b.c.d:port`, `v6`, `[v6]` or `[v6]:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let got = resolve(ip("198.51.100.7"), &["203.0.113.1"], &nets(&["10.0.0.0/8"]));
        assert_eq!(got, ip("198.51.100.7"));
        assert_eq!(
            resolve(ip("10.0.0.2"), &["203.0.113.1"], &[]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn limits_count_an_ipv6_client_by_its_64_and_an_ipv4_one_by_its_address() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(limit_key(ip("198.51.100.7")), "198.51.100.7");
        assert_eq!(limit_key(ip("::ffff:198.51.100.7")), "198.51.100.7");
    }

    #[test]
    fn hops_with_ports_or_brackets_are_read_as_addresses() {
        let trusted = nets(&["10.0.0.0/8"]);
        for hop in ["198.51.100.7:5123", "[2001:db8::7]", "[2001:db8::7]:443"] {
            let got = resolve(ip("10.0.0.2"), &[hop], &trusted);
            assert_ne!(got, ip("10.0.0.2"), "{hop} was not read");
        }
        assert_eq!(
            resolve(ip("::ffff:10.0.0.2"), &["198.51.100.7"], &trusted),
            ip("198.51.100.7"),
            "an IPv4 proxy seen on a dual-stack listener is still trusted"
        );
    }

    #[test]
    fn a_trusted_proxy_is_believed_from_the_right() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client sent "1.1.1.1" itself; the proxy appended the address it saw.
        let got = resolve(ip("10.0.0.2"), &["1.1.1.1, 198.51.100.7"], &trusted);
        assert_eq!(got, ip("198.51.100.7"));
        let chained = resolve(ip("10.0.0.2"), &["198.51.100.7", "10.0.0.9"], &trusted);
        assert_eq!(chained, ip("198.51.100.7"));
    }

    #[test]
    fn a_garbled_header_stops_at_the_last_trusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("10.0.0.2"), &["nonsense"], &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(resolve(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
    }
}
