//! Running a mirror: `zkvote mirror serve`.

use crate::api::{router, Mirror};
use crate::follow::{Election, Follower};
use crate::store::{MirrorStore, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Why the mirror could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened.
    #[error("cannot open the mirror store: {0}")]
    Store(#[from] StoreError),
    /// An election could not be opened from the store.
    #[error("election {election}: {why}")]
    Open {
        /// The election id, hex.
        election: String,
        /// Why.
        why: String,
    },
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// The mirror's commands.
#[derive(clap::Subcommand)]
pub enum MirrorCommand {
    /// Keep a verified copy of elections' records pulled from their board, and serve it
    /// read-only (the board's read routes, and /v1/elections/{id}/mirror: where the
    /// mirror stands).
    Serve {
        /// The mirror's SQLite file (created if missing).
        #[arg(long)]
        db: String,
        /// Address to listen on, e.g. 127.0.0.1:8070 (port 0: any free port).
        #[arg(long)]
        listen: String,
        /// The board's URL, e.g. https://board.example.org.
        #[arg(long)]
        board: String,
        /// An election to follow: its id, or ID:MANIFEST_HASH to accept only the
        /// manifest with that hash (64 hex digits each); repeat for several.
        #[arg(long = "election", value_name = "ID[:MANIFEST_HASH]", required = true)]
        elections: Vec<Election>,
        /// Milliseconds between two rounds of asking the board for its checkpoint.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
}

/// Runs a mirror command; `serve` prints `<label> listening on http://ADDR` once bound
/// and serves until the process ends.
pub async fn run(command: MirrorCommand, label: &str) -> Result<(), ServerError> {
    let MirrorCommand::Serve {
        db,
        listen,
        board,
        elections,
        interval_ms,
    } = command;
    let (addr, server) = bind(
        &db,
        &listen,
        &board,
        &elections,
        Duration::from_millis(interval_ms),
    )
    .await?;
    println!("{label} listening on http://{addr}");
    server.await
}

/// Opens the store and every election in it (verifying again what it holds), starts
/// following the board, and binds `listen`; returns the bound address and the server
/// future (run it to serve; the followers run on the current runtime).
pub async fn bind(
    db: &str,
    listen: &str,
    board: &str,
    elections: &[Election],
    interval: Duration,
) -> Result<
    (
        std::net::SocketAddr,
        impl std::future::Future<Output = Result<(), ServerError>>,
    ),
    ServerError,
> {
    let store = MirrorStore::open(db).await?;
    let mut followed = BTreeMap::new();
    let mut followers = Vec::new();
    for election in elections {
        let f = Follower::open(store.clone(), board, *election)
            .await
            .map_err(|why| ServerError::Open {
                election: hex::encode(election.id),
                why,
            })?;
        followed.insert(election.id, f.shared());
        followers.push(f);
    }
    let listen_error = |source| ServerError::Listen {
        address: listen.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    for f in followers {
        tokio::spawn(f.run(interval));
    }
    let mirror = Arc::new(Mirror {
        store,
        elections: followed,
    });
    let server = async move {
        axum::serve(listener, router(mirror))
            .await
            .map_err(ServerError::Serve)
    };
    Ok((addr, server))
}
