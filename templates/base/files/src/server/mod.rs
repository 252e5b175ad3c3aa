//! Start-up: connect, migrate in development, build the router and serve until shutdown.

mod connection;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::config::{Config, ConnectionLimits, Environment};
use crate::{AppState, db, http};

/// Runs the HTTP server until SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let pool = db::connect(&config.database)
        .await
        .context("cannot connect to the database")?;
    if config.environment == Environment::Development {
        db::migrate(&pool).await.context("migrations failed")?;
    }
    let address = (config.host, config.port);
    let shutdown_timeout = config.shutdown_timeout;
    let limits = config.connections;
    let docs = if config.docs_enabled {
        ", docs at /docs"
    } else {
        ""
    };
    let state = AppState::new(config, pool);
    spawn_metrics_upkeep(&state);
    let router = http::router(state);

    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {}:{}", address.0, address.1))?;
    tracing::info!("listening on http://{}{docs}", listener.local_addr()?);
    serve_until(
        listener,
        router,
        limits,
        shutdown_signal(),
        shutdown_timeout,
    )
    .await
}

/// Serves `router` within `limits` until `shutdown` resolves, then gives in-flight
/// requests `grace` to finish so a stuck client cannot hold the process open.
///
/// `axum::serve` is not used: it cannot bound connections, and without a timer hyper
/// never times out a client that sends its headers slowly.
pub async fn serve_until(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // At the limit, accepting waits for a connection to close: new clients queue in
        // the listen backlog instead of costing memory and a task each.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.context("connection slots closed")?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let stopping = stopping.clone();
        connections.spawn(async move {
            connection::serve(stream, peer, router, limits, stopping).await;
            drop(slot);
        });
        // Reap finished connections so the set does not grow with every one served.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tracing::info!("shutting down");
    let _ = stop.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("in-flight requests did not finish within {grace:?}; stopping anyway");
    }
    Ok(())
}

/// Most accept errors concern one connection; running out of file descriptors does not
/// go away at once, so wait a little instead of spinning.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Resolves on Ctrl-C or SIGTERM (what orchestrators send before killing a process).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Histograms are aggregated lazily; upkeep keeps their memory flat between scrapes.
fn spawn_metrics_upkeep(state: &AppState) {
    let handle = state.metrics.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(5));
        loop {
            interval.tick().await;
            handle.run_upkeep();
        }
    });
}
