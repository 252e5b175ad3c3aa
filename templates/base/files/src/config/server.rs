//! Limits of the HTTP server's connections, against clients that hold connections open.

use std::time::Duration;

use super::reader::EnvReader;

/// How long connections may take and how many may be open (`HEADER_READ_TIMEOUT_SECS`,
/// `KEEP_ALIVE_TIMEOUT_SECS`, `MAX_CONNECTIONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From the first byte of a request to the end of its headers; a client trickling its
    /// headers is disconnected after this.
    pub header_read_timeout: Duration,
    /// How long a connection may sit without a request (kept alive, or just opened)
    /// before it is closed. Keep it above your load balancer's idle timeout (60 s on AWS),
    /// or the balancer may reuse a connection the app is closing and answer 502.
    pub keep_alive_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub(crate) fn load(env: &mut EnvReader<'_>) -> Self {
        let max_connections = env.parse("MAX_CONNECTIONS", 4096);
        if max_connections == 0 {
            env.problem("MAX_CONNECTIONS must be greater than 0");
        }
        Self {
            header_read_timeout: env.seconds("HEADER_READ_TIMEOUT_SECS", 10),
            keep_alive_timeout: env.seconds("KEEP_ALIVE_TIMEOUT_SECS", 75),
            max_connections: max_connections.max(1),
        }
    }
}
