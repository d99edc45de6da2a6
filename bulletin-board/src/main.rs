//! `zkvote-board`: the bulletin-board server alone (`zkvote board` in the CLI is the same).

use clap::Parser;
use std::process::ExitCode;
use zkvote_board::server::{run, BoardCommand};

#[derive(Parser)]
#[command(name = "zkvote-board", version, about = "The zkvote bulletin board")]
struct Cli {
    #[command(subcommand)]
    command: BoardCommand,
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let result = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(run(command, "zkvote-board")),
        Err(e) => Err(zkvote_board::server::ServerError::Runtime(e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkvote-board: {e}");
            ExitCode::FAILURE
        }
    }
}
