//! Attacks on the listener itself: pages that rebind their own name to the server (DNS
//! rebinding), and clients that send their request too slowly to ever finish.

use super::Case;
use std::time::{Duration, Instant};
use testkit::{count_all_messages, Stack, Visitor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_SECS: u64 = 2;
const BODY_SECS: u64 = 2;

pub async fn cases() -> Vec<Case> {
    let header = HEADER_SECS.to_string();
    let body = BODY_SECS.to_string();
    let stack = Stack::start(&[
        ("HEADER_READ_TIMEOUT_SECS", header.as_str()),
        ("BODY_READ_TIMEOUT_SECS", body.as_str()),
    ])
    .await;
    vec![
        rebinding_hosts(&stack).await,
        slow_headers(&stack).await,
        slow_body(&stack).await,
    ]
}

fn address(stack: &Stack) -> String {
    stack.server.url.trim_start_matches("http://").to_string()
}

/// Sends `request` on a new connection and reads the response until the server closes it.
async fn raw(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// An ordinary visitor's page load and turn, alongside an attack.
async fn ordinary_turn(stack: &Stack, case: &mut Case, text: &str) {
    let mut visitor = Visitor::new(&stack.server);
    let page = visitor.get("/").await;
    let sent = visitor.send(text, "gemma").await;
    case.ordinary(page.status == 200 && sent.status == 200, || {
        format!(
            "ordinary visitor: page {}, send {}",
            page.status, sent.status
        )
    });
}

/// A page on `attacker.example`, its name re-pointed at the server's address, drives it with
/// the browser's same-origin blessing; the requests name the attacker's host.
async fn rebinding_hosts(stack: &Stack) -> Case {
    let mut case = Case::new("rebinding Hosts (page, send, export)");
    let addr = address(stack);
    let port = addr.rsplit(':').next().unwrap_or("");
    let stored = count_all_messages(&stack.server.sqlite_path());
    let calls = stack.model.requests("gemma").len();
    let form = "message=hi&model=gemma&max_tokens=64&temperature=0.7";
    for host in [
        "attacker.example".to_string(),
        format!("attacker.example:{port}"),
        format!("localhost.attacker.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        for request in [
            format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            format!("GET /export/all.json HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            format!(
                "POST /api/send HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
                form.len()
            ),
        ] {
            let response = raw(&addr, &request).await;
            let refused = status(&response) == 421 && !response.contains("set-cookie");
            case.attempt(refused, || {
                format!("Host {host}: {}", response.lines().next().unwrap_or("no answer"))
            });
        }
    }
    case.require(
        count_all_messages(&stack.server.sqlite_path()) == stored
            && stack.model.requests("gemma").len() == calls,
        || "a rebinding request stored something or called a model".into(),
    );
    // The kubelet's probes name the pod's address.
    let probe = raw(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: 10.8.0.17:8080\r\nConnection: close\r\n\r\n",
    )
    .await;
    case.require(status(&probe) == 200, || {
        format!("probe by pod IP: {probe}")
    });
    ordinary_turn(stack, &mut case, "an ordinary turn beside a rebinding page").await;
    case.cost = "nothing: 421 before any handler".into();
    case
}

/// Clients that send their headers a line at a time and never finish (slowloris).
async fn slow_headers(stack: &Stack) -> Case {
    let mut case = Case::new("slow headers (40 connections)");
    let addr = address(stack);
    let started = Instant::now();
    let attackers: Vec<_> = (0..40)
        .map(|i| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let opened = Instant::now();
                let Ok(mut stream) = TcpStream::connect(&addr).await else {
                    return Some(Duration::ZERO);
                };
                let head = format!("GET /?slow={i} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return Some(opened.elapsed());
                }
                // A header line every half second, for up to 15 s; the server should hang up.
                let mut buf = [0u8; 256];
                for _ in 0..30 {
                    if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                        return Some(opened.elapsed());
                    }
                    // Anything read (a 408, say) before it hangs up: read on.
                    let read =
                        tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf));
                    if let Ok(Ok(0) | Err(_)) = read.await {
                        return Some(opened.elapsed());
                    }
                }
                None
            })
        })
        .collect();
    ordinary_turn(stack, &mut case, "an ordinary turn beside slow clients").await;
    let mut longest = Duration::ZERO;
    for attacker in attackers {
        let held = attacker.await.ok().flatten();
        let bound = Duration::from_secs(HEADER_SECS + 3);
        case.attempt(held.is_some_and(|h| h <= bound), || {
            format!("a slow-header connection was held {held:?} (bound {bound:?})")
        });
        longest = longest.max(held.unwrap_or(started.elapsed()));
    }
    case.cost = format!(
        "each connection held ≤ {:.1} s (HEADER_READ_TIMEOUT_SECS={HEADER_SECS})",
        longest.as_secs_f64()
    );
    case
}

/// Clients that announce a body and send it a few bytes at a time.
async fn slow_body(stack: &Stack) -> Case {
    let mut case = Case::new("slow bodies (20 sends)");
    let addr = address(stack);
    let stored = count_all_messages(&stack.server.sqlite_path());
    let attackers: Vec<_> = (0..20)
        .map(|_| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let opened = Instant::now();
                let mut stream = TcpStream::connect(&addr).await.ok()?;
                let head = "POST /api/send HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
                            Content-Type: application/x-www-form-urlencoded\r\n\
                            Content-Length: 4000\r\n\r\nmessage=";
                stream.write_all(head.as_bytes()).await.ok()?;
                let mut out = Vec::new();
                let mut buf = [0u8; 1024];
                for _ in 0..30 {
                    if stream.write_all(b"aaaaaaaaaa").await.is_err() {
                        break;
                    }
                    match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf))
                        .await
                    {
                        Ok(Ok(0) | Err(_)) => break,
                        Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
                        Err(_) => {}
                    }
                }
                let answer = String::from_utf8_lossy(&out).into_owned();
                Some((status(&answer), opened.elapsed()))
            })
        })
        .collect();
    ordinary_turn(stack, &mut case, "an ordinary turn beside slow bodies").await;
    let mut longest = Duration::ZERO;
    for attacker in attackers {
        let outcome = attacker.await.ok().flatten();
        let bound = Duration::from_secs(BODY_SECS + 3);
        case.attempt(
            outcome.is_some_and(|(status, held)| status == 408 && held <= bound),
            || format!("a slow body got {outcome:?} (408 within {bound:?} expected)"),
        );
        if let Some((_, held)) = outcome {
            longest = longest.max(held);
        }
    }
    case.require(
        count_all_messages(&stack.server.sqlite_path()) == stored + 2,
        || "a slow body stored something".into(),
    );
    case.cost = format!(
        "each send held ≤ {:.1} s, then 408 (BODY_READ_TIMEOUT_SECS={BODY_SECS})",
        longest.as_secs_f64()
    );
    case
}
