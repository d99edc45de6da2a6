//! Running the board: its key file and the HTTP server (used by `zkvote board serve` and
//! the `zkvote-board` binary).

use crate::api::{router_with_limit, Board, BoardConfig, Creators};
use crate::{BoardLog, Store};
use ed25519_dalek::SigningKey;
use std::path::Path;
use std::sync::Arc;

/// Reads a board (or commission) key file: the ed25519 seed as 64 hex digits.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, String> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?,
    );
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    zkvote_core::codec::hex_exact(text.trim(), &mut seed[..]).map_err(|e| {
        format!(
            "key file {} is not a 64-hex-digit seed: {e}",
            path.display()
        )
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes a new file readable and writable by its owner only (mode 0600 on Unix), synced
/// to disk; an existing file is never overwritten.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Creates a new key file (mode 0600 on Unix); an existing file is never overwritten.
pub fn create_signing_key(path: &Path) -> Result<SigningKey, String> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let text = zeroize::Zeroizing::new(format!("{}\n", hex::encode(key.to_bytes())));
    write_private_file(path, text.as_bytes())?;
    Ok(key)
}

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
pub async fn run(command: BoardCommand, name: &str) -> Result<(), String> {
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
                            zkvote_core::codec::hex32(k).map_err(|e| {
                                format!(
                                    "--commission-key {k:?} is not 64 lowercase hex digits: {e}"
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                )
            };
            let config = BoardConfig::new(creators);
            let (addr, server) =
                bind(&db, &listen, read_signing_key(&key)?, rate_limit, config).await?;
            println!("{name} listening on http://{addr}");
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
        impl std::future::Future<Output = Result<(), String>>,
    ),
    String,
> {
    let store = Store::open(db)
        .await
        .map_err(|e| format!("cannot open database: {e}"))?;
    let log = Arc::new(BoardLog::new(store, key));
    let board = Board::load(log, config)
        .await
        .map_err(|e| format!("cannot load the log: {}", e.message()))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = router_with_limit(board, rate_limit, rate_limit.saturating_mul(2));
    let server = async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .map_err(|e| format!("server error: {e}"))
    };
    Ok((addr, server))
}
