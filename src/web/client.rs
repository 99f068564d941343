//! Who is asking, as far as limits are concerned: the connection's peer, or, when that peer is a proxy the
//! operator trusts, the address it reports in `X-Forwarded-For`.
//!
//! Only trusted proxies are believed: anyone else could put any address in the header and get a fresh limit
//! with every request. The header is read from the right (the entry the nearest proxy appended) past every
//! trusted proxy, so a client cannot choose its address by sending a header of its own through the proxy.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The client's address for rate limits, as text (`unknown` when the connection has no peer address).
pub fn address(req: &HttpRequest, trusted: &[IpNet]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_string();
    };
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    resolve(peer, &forwarded, trusted).to_string()
}

/// The nearest address in the chain `forwarded…, peer` that is not a trusted proxy; a header whose entries do
/// not parse ends the walk at the last trusted hop, which is then taken as the client.
fn resolve(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = forwarded.iter().flat_map(|h| h.split(',')).rev();
    for hop in hops {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
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
