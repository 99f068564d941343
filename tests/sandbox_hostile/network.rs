//! A learner's service tries the host and another run from inside the sandbox.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::sandbox::{connect_from, setup, start_healthy};
use gauntlet::sandbox::{base_url, StartSpec, BRIDGE_PREFIX};

fn hostile() -> StartSpec {
    StartSpec {
        env: vec![("TESTSVC_HOSTILE".into(), "1".into())],
        ..StartSpec::default()
    }
}

/// This machine's own addresses (every interface but loopback, whose addresses inside a container are the
/// container's own), with the interface each is on.
fn host_addresses() -> Vec<(String, IpAddr)> {
    let out = std::process::Command::new("ip")
        .args(["-o", "addr", "show"])
        .output()
        .expect("ip addr (iproute2) runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let iface = words.get(1)?.to_string();
            let addr = words.get(3)?.split('/').next()?.parse::<IpAddr>().ok()?;
            (!addr.is_loopback()).then_some((iface, addr))
        })
        .collect()
}

/// A listener of the test's own on every host address, counting the connections it accepts.
async fn host_listener() -> (u16, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = match tokio::net::TcpListener::bind("[::]:0").await {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind("0.0.0.0:0")
            .await
            .expect("listener"),
    };
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, accepted, task)
}

fn target(addr: IpAddr, port: u16) -> String {
    SocketAddr::new(addr, port).to_string()
}

#[tokio::test]
async fn a_service_reaches_no_address_of_the_host_and_no_other_run() {
    let (sandbox, run, _guard) = setup("hostile-net").await;
    let (other_sandbox, other_run, _other_guard) = setup("hostile-net-other").await;
    let running = start_healthy(&sandbox, &run, &hostile()).await;
    let other = start_healthy(&other_sandbox, &other_run, &hostile()).await;
    let base = running.base_url().expect("address");
    let own = running.ip.expect("own address");
    let (port, accepted, listener) = host_listener().await;

    // The probe works: the service reaches its own network, and a closed port there is told apart.
    assert_eq!(
        connect_from(&base, &target(own, running.port), None).await,
        "connected"
    );
    assert_eq!(connect_from(&base, &target(own, 1), None).await, "refused");

    let network = sandbox
        .docker()
        .inspect_network(&running.network, None)
        .await
        .expect("network");
    let gateway: IpAddr = network
        .ipam
        .and_then(|i| i.config)
        .and_then(|c| c.into_iter().find_map(|c| c.gateway))
        .and_then(|g| g.parse().ok())
        .expect("the run network's gateway");
    let mut targets: Vec<(String, Option<String>)> = vec![
        (target(gateway, port), None),
        // The engine's API and SSH are the usual prizes; a refusal would show the host answered.
        (target(gateway, 2375), None),
        (target(gateway, 22), None),
        (
            target(other.ip.expect("other run's address"), other.port),
            None,
        ),
    ];
    for (iface, addr) in host_addresses() {
        // A link-local address is only reachable on its own link: the run's bridge, seen as eth0 inside.
        let scope = match addr {
            IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => {
                if !iface.starts_with(BRIDGE_PREFIX) {
                    continue;
                }
                Some("eth0".to_string())
            }
            _ => None,
        };
        targets.push((target(addr, port), scope));
    }
    let tries = targets.iter().map(|(to, scope)| {
        let base = base.clone();
        async move {
            let result = connect_from(&base, to, scope.as_deref()).await;
            (to.clone(), result)
        }
    });
    let results = futures_util::future::join_all(tries).await;
    let reached: Vec<&(String, String)> = results
        .iter()
        .filter(|(_, result)| result == "connected" || result == "refused")
        .collect();
    assert!(
        reached.is_empty(),
        "the service reached {reached:?} (all tried: {results:?})"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the host's listener was reached"
    );
    listener.abort();

    // And the checks still reach the service, as they must.
    let healthz = reqwest::get(format!(
        "{}/healthz",
        base_url(SocketAddr::new(own, running.port))
    ))
    .await
    .expect("the grader reaches the service");
    assert!(healthz.status().is_success());
}
