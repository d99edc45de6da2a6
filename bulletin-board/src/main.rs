//! `zkvote-board`: the bulletin-board server alone (`zkvote board` in the CLI is the same).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use zkvote_board::server::{bind, create_signing_key, read_signing_key};

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

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Keygen { key } => create_signing_key(&key)
            .map(|k| println!("{}", hex::encode(k.verifying_key().to_bytes()))),
        Command::Serve {
            db,
            listen,
            key,
            rate_limit,
        } => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(async {
                let (addr, server) =
                    bind(&db, &listen, read_signing_key(&key)?, rate_limit).await?;
                println!("zkvote-board listening on http://{addr}");
                server.await
            }),
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
