//! The `healthcheck` subcommand: asks the running server's `/health/live` over plain TCP, so
//! a container image needs no curl or wget for its health check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Well under the container runtime's own health-check timeout, so a hung server is reported
/// by this probe rather than killed by the runtime.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The status line is all the probe reads; a server sending more before it is not ours.
const MAX_STATUS_LINE: usize = 1024;

/// Where a server bound to `host:port` answers on this machine: a wildcard bind address
/// (`0.0.0.0`, `::`) is reached through the loopback address of its family.
pub fn target(host: IpAddr, port: u16) -> SocketAddr {
    let ip = match host {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, port)
}

/// Succeeds when `GET /health/live` at `address` answers 200 within the timeout.
pub async fn probe(address: SocketAddr) -> anyhow::Result<()> {
    tokio::time::timeout(TIMEOUT, status(address))
        .await
        .with_context(|| format!("http://{address}/health/live did not answer within {TIMEOUT:?}"))?
        .and_then(|code| match code {
            200 => Ok(()),
            code => bail!("http://{address}/health/live answered {code}"),
        })
}

/// The status code of `GET /health/live` on a fresh connection.
async fn status(address: SocketAddr) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .context("sending the request")?;
    let mut head = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        if head.len() > MAX_STATUS_LINE {
            bail!("{address} sent no HTTP status line");
        }
        let read = stream
            .read(&mut buf)
            .await
            .context("reading the response")?;
        if read == 0 {
            bail!("{address} closed the connection without answering");
        }
        head.extend_from_slice(&buf[..read]);
    }
    parse_status(&head).with_context(|| format!("{address} sent no HTTP status line"))
}

/// The code of an `HTTP/1.x NNN ...` status line at the start of `head`.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A one-shot server that answers the first connection with `response`.
    async fn answering(response: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut request = [0u8; 512];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(response).await;
        });
        address
    }

    #[test]
    fn a_wildcard_bind_address_is_probed_on_loopback() {
        assert_eq!(
            target(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            target(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 8080),
            "[::1]:8080".parse().unwrap()
        );
        assert_eq!(
            target("10.1.2.3".parse().unwrap(), 9000),
            "10.1.2.3:9000".parse().unwrap()
        );
    }

    #[test]
    fn status_lines_are_parsed_and_anything_else_is_refused() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 abc\r\n"), None);
    }

    #[tokio::test]
    async fn a_200_is_healthy() {
        let address = answering(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        probe(address).await.expect("healthy");
    }

    #[tokio::test]
    async fn a_503_is_unhealthy() {
        let address = answering(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        let error = probe(address).await.expect_err("unhealthy");
        assert!(error.to_string().contains("503"), "{error:#}");
    }

    #[tokio::test]
    async fn a_connection_closed_without_an_answer_is_unhealthy() {
        let address = answering(b"").await;
        assert!(probe(address).await.is_err());
    }

    #[tokio::test]
    async fn a_closed_port_is_unhealthy() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        assert!(probe(address).await.is_err());
    }
}
