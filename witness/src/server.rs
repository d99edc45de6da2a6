//! Running a witness: `zkvote witness keygen` and `zkvote witness serve`.

use crate::store::{StoreError, WitnessStore};
use crate::witness::{valid_name, Witness};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::path::PathBuf;
use std::sync::Arc;
use zkvote_core::keyfile::{create_signing_key, read_signing_key, KeyFileError};

/// Why the witness could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The key file could not be read or created.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// A `--board-key` that is not an Ed25519 public key in 64 lowercase hex digits.
    #[error("--board-key {0:?} is not an Ed25519 public key (64 lowercase hex digits)")]
    BoardKey(String),
    /// A `--name` that cannot be a signed-note key name.
    #[error(
        "--name {0:?} must be non-empty, without spaces or '+' (e.g. witness.example.org/zkvote)"
    )]
    Name(String),
    /// The store could not be opened.
    #[error("cannot open the witness store: {0}")]
    Store(#[from] StoreError),
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

/// The witness's commands.
#[derive(clap::Subcommand)]
pub enum WitnessCommand {
    /// Create the witness's signing key file (hex Ed25519 seed, mode 0600) and print its
    /// public key.
    Keygen {
        /// Key file to create (never overwritten).
        #[arg(long)]
        key: PathBuf,
    },
    /// Serve the witness's HTTP API (C2SP tlog-witness `POST /add-checkpoint`).
    Serve {
        /// The witness's SQLite file (created if missing).
        #[arg(long)]
        db: String,
        /// Address to listen on, e.g. 127.0.0.1:8090 (port 0: any free port).
        #[arg(long)]
        listen: String,
        /// The witness's key file.
        #[arg(long)]
        key: PathBuf,
        /// The witness's name in its cosignatures, e.g. witness.example.org/zkvote.
        #[arg(long)]
        name: String,
        /// A board public key (64 hex digits) whose elections this witness cosigns;
        /// repeat for several.
        #[arg(long = "board-key", value_name = "HEX", required = true)]
        board_keys: Vec<String>,
    },
}

fn board_key(text: &str) -> Result<VerifyingKey, ServerError> {
    zkvote_core::codec::hex32(text)
        .ok()
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| ServerError::BoardKey(text.to_string()))
}

/// Runs a witness command; `serve` prints `<label> NAME KEY listening on http://ADDR`
/// once bound and serves until the process ends.
pub async fn run(command: WitnessCommand, label: &str) -> Result<(), ServerError> {
    match command {
        WitnessCommand::Keygen { key } => {
            let k = create_signing_key(&key)?;
            println!("{}", hex::encode(k.verifying_key().to_bytes()));
            Ok(())
        }
        WitnessCommand::Serve {
            db,
            listen,
            key,
            name,
            board_keys,
        } => {
            let boards = board_keys
                .iter()
                .map(|k| board_key(k))
                .collect::<Result<_, _>>()?;
            let key = read_signing_key(&key)?;
            let public = hex::encode(key.verifying_key().as_bytes());
            let (addr, server) = bind(&db, &listen, &name, key, boards).await?;
            println!("{label} {name} {public} listening on http://{addr}");
            server.await
        }
    }
}

/// Opens the witness's store and binds `listen`; returns the bound address and the server
/// future (run it to serve).
pub async fn bind(
    db: &str,
    listen: &str,
    name: &str,
    key: SigningKey,
    boards: Vec<VerifyingKey>,
) -> Result<
    (
        std::net::SocketAddr,
        impl std::future::Future<Output = Result<(), ServerError>>,
    ),
    ServerError,
> {
    if !valid_name(name) {
        return Err(ServerError::Name(name.to_string()));
    }
    let witness = Arc::new(Witness::new(
        name,
        key,
        boards,
        WitnessStore::open(db).await?,
    ));
    let listen_error = |source| ServerError::Listen {
        address: listen.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let server = async move {
        axum::serve(listener, crate::api::router(witness))
            .await
            .map_err(ServerError::Serve)
    };
    Ok((addr, server))
}
