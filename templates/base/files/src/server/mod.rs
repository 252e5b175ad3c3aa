//! Start-up: connect, migrate in development, build the router and serve until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::{Config, Environment};
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
    let state = AppState::new(config, pool);
    spawn_metrics_upkeep(&state);
    let router = http::router(state);

    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {}:{}", address.0, address.1))?;
    tracing::info!(
        "listening on http://{}, docs at /docs",
        listener.local_addr()?
    );
    serve_until(listener, router, shutdown_signal(), shutdown_timeout).await
}

/// Serves `router` until `shutdown` resolves, then gives in-flight requests
/// `grace` to finish so a stuck client cannot hold the process open.
pub async fn serve_until(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> anyhow::Result<()> {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    // The peer address feeds the rate limiter's client IP.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = started_tx.send(());
    });
    let deadline = async move {
        if started_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result.context("server error")?,
        () = deadline => tracing::warn!("in-flight requests did not finish within {grace:?}; stopping anyway"),
    }
    Ok(())
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
