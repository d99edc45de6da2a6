//! `zkvote-board`: the bulletin-board server (until the `zkvote` CLI embeds it as
//! `zkvote board serve`).

use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use zkvote_board::api::{router_with_limit, Board};
use zkvote_board::{BallotBoxConfig, BoardLog, Store};

#[derive(Parser)]
#[command(name = "zkvote-board", version, about = "The zkvote bulletin board")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a board signing key file (hex ed25519 seed, mode 0600) and print its public key.
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        key: PathBuf,
    },
    /// Serve the board's HTTP API.
    Serve {
        /// Database: sqlite://PATH (embedded) or postgres://URL.
        #[arg(long)]
        db: String,
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: String,
        /// The board's key file (from `keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Requests per second allowed per client address (bursts of twice that).
        #[arg(long, default_value_t = 200)]
        rate_limit: u32,
    },
}

fn read_key(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
    let mut seed = [0u8; 32];
    zkvote_core::codec::hex_exact(text.trim(), &mut seed).map_err(|e| {
        format!(
            "key file {} is not a 64-hex-digit seed: {e}",
            path.display()
        )
    })?;
    let key = SigningKey::from_bytes(&seed);
    zeroize::Zeroize::zeroize(&mut seed);
    Ok(key)
}

fn write_key(path: &Path) -> Result<SigningKey, String> {
    use std::io::Write;
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| format!("cannot create key file {}: {e}", path.display()))?;
    let hex_seed = zeroize::Zeroizing::new(hex::encode(key.to_bytes()));
    f.write_all(hex_seed.as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write key file {}: {e}", path.display()))?;
    Ok(key)
}

async fn serve(db: &str, listen: &str, key: &Path, rate_limit: u32) -> Result<(), String> {
    let key = read_key(key)?;
    let store = Store::open(db)
        .await
        .map_err(|e| format!("cannot open database: {e}"))?;
    let log = Arc::new(BoardLog::new(store, key));
    let board = Board::load(log, BallotBoxConfig::default())
        .await
        .map_err(|e| format!("cannot load the log: {e:?}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("zkvote-board listening on http://{addr}");
    let app = router_with_limit(board, rate_limit, rate_limit.saturating_mul(2));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
    .map_err(|e| format!("server error: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { key } => {
            write_key(&key).map(|k| println!("{}", hex::encode(k.verifying_key().to_bytes())))
        }
        Command::Serve {
            db,
            listen,
            key,
            rate_limit,
        } => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(serve(&db, &listen, &key, rate_limit)),
            Err(e) => Err(format!("cannot start the runtime: {e}")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkvote-board: {e}");
            ExitCode::FAILURE
        }
    }
}
