//! Running the board: its key file and the HTTP server (used by `zkvote board serve` and
//! the `zkvote-board` binary).

use crate::api::{router_with_limit, Board, BoardConfig, Creators};
use crate::{BoardLog, Store};
use ed25519_dalek::SigningKey;
use std::sync::Arc;

/// Why the board could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A key file could not be read, is not a key, or could not be created.
    #[error(transparent)]
    KeyFile(#[from] zkvote_core::keyfile::KeyFileError),
    /// A `--commission-key` value is not 64 lowercase hex digits.
    #[error("--commission-key {0:?} is not 64 lowercase hex digits")]
    CommissionKey(String),
    /// The store could not be opened.
    #[error("cannot open database: {0}")]
    Database(#[from] crate::store::StoreError),
    /// The log could not be replayed.
    #[error("cannot load the log: {0}")]
    Load(String),
    /// The listening address could not be bound.
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
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

pub use zkvote_core::keyfile::{create_signing_key, read_signing_key};

/// The board's commands: `zkvote board ...` and the `zkvote-board` binary.
#[derive(clap::Subcommand)]
pub enum BoardCommand {
    /// Create the board's signing key file (hex ed25519 seed, mode 0600) and print its
    /// public key.
    Keygen {
        /// Key file to create (never overwritten).
        #[arg(long)]
        key: std::path::PathBuf,
    },
    /// Serve the board's HTTP API.
    Serve {
        /// Database: sqlite://PATH (embedded) or postgres://URL.
        #[arg(long)]
        db: String,
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
        #[arg(long)]
        listen: String,
        /// The board's key file.
        #[arg(long)]
        key: std::path::PathBuf,
        /// Requests per second allowed per client address (bursts of twice that).
        #[arg(long, default_value_t = 200)]
        rate_limit: u32,
        /// A commission public key (64 hex digits) allowed to create elections on this
        /// board; repeat for several. Other keys are refused.
        #[arg(
            long = "commission-key",
            value_name = "HEX",
            required_unless_present = "any_commission"
        )]
        commission_keys: Vec<String>,
        /// Let any commission key create elections (a private or test board).
        #[arg(long, conflicts_with = "commission_keys")]
        any_commission: bool,
    },
}

/// Runs a board command; `serve` prints `<name> listening on http://ADDR` once bound and
/// serves until the process ends.
pub async fn run(command: BoardCommand, name: &str) -> Result<(), ServerError> {
    match command {
        BoardCommand::Keygen { key } => {
            let k = create_signing_key(&key)?;
            println!("{}", hex::encode(k.verifying_key().to_bytes()));
            Ok(())
        }
        BoardCommand::Serve {
            db,
            listen,
            key,
            rate_limit,
            commission_keys,
            any_commission,
        } => {
            let creators = if any_commission {
                Creators::Anyone
            } else {
                Creators::Only(
                    commission_keys
                        .iter()
                        .map(|k| {
                            zkvote_core::codec::hex32(k)
                                .map_err(|_| ServerError::CommissionKey(k.clone()))
                        })
                        .collect::<Result<_, _>>()?,
                )
            };
            let config = BoardConfig::new(creators);
            let (addr, server) =
                bind(&db, &listen, read_signing_key(&key)?, rate_limit, config).await?;
            println!("{name} listening on http://{addr}");
            #[cfg(feature = "booth")]
            println!("web booth at http://{addr}/booth/");
            server.await
        }
    }
}

/// Opens the store, loads every election and binds `listen`; returns the bound address
/// and the server future (run it to serve).
pub async fn bind(
    db: &str,
    listen: &str,
    key: SigningKey,
    rate_limit: u32,
    config: BoardConfig,
) -> Result<
    (
        std::net::SocketAddr,
        impl std::future::Future<Output = Result<(), ServerError>>,
    ),
    ServerError,
> {
    let store = Store::open(db).await?;
    let log = Arc::new(BoardLog::new(store, key));
    let board = Board::load(log, config)
        .await
        .map_err(|e| ServerError::Load(e.message().to_string()))?;
    let listen_error = |source| ServerError::Listen {
        address: listen.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let app = router_with_limit(board, rate_limit, rate_limit.saturating_mul(2));
    #[cfg(feature = "booth")]
    let app = app.merge(crate::booth::router());
    let server = async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .map_err(ServerError::Serve)
    };
    Ok((addr, server))
}
