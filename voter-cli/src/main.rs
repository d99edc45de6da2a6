//! `zkvote`: the demo, the board server, and the commission, trustee, voter and verifier
//! commands. Every user mistake ends with one line on stderr and a non-zero exit status.
//! Built without the default `server` feature, it is a client only: no `demo`, no
//! `board`, and no server or database code in the binary.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::setup::SetupPhase;
use zkvote_cli::client::{parse_election_id, BoardClient};
#[cfg(feature = "server")]
use zkvote_cli::demo;
use zkvote_cli::files;
use zkvote_cli::ui::{progress_enabled, result_table};
use zkvote_cli::verify::{self, Job};
use zkvote_cli::{commission, setup, trustee, voter, CliError};
use zkvote_protocol::fields::ContributorName;
use zkvote_verifier::split::EntryRange;
use zkvote_verifier::transcript::{read_transcript, verify_transcript};

#[derive(Parser)]
#[command(
    name = "zkvote",
    version,
    about = "End-to-end verifiable elections: board, commission, trustees, voters, verifiers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a whole election on a local board (SQLite in a temporary folder) and verify it.
    #[cfg(feature = "server")]
    Demo {
        /// Number of voters.
        #[arg(long, default_value_t = 50)]
        voters: usize,
        /// Number of trustees.
        #[arg(long, default_value_t = 3)]
        trustees: u32,
        /// Trustees needed to decrypt.
        #[arg(long, default_value_t = 2)]
        threshold: u32,
        /// Board database (sqlite://PATH or postgres://URL) instead of a temporary SQLite.
        #[arg(long)]
        db: Option<String>,
        /// Write the election record (JSON Lines) to this file.
        #[arg(long)]
        record_out: Option<PathBuf>,
        /// No progress bars.
        #[arg(long)]
        quiet: bool,
        /// Revote policy of the demo election: reject (a second ballot is refused) or
        /// last-ballot-counts (it supersedes the first).
        #[arg(long, default_value = "reject")]
        revote: String,
        /// Depth of the voter roll's Merkle tree: up to 2^DEPTH voters. It sets the
        /// eligibility circuit's size and so the setup ceremony's cost (most of the
        /// demo's time at the production depth of 20).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(2..=32))]
        roll_depth: u8,
        /// Keep the board and its web booth up on loopback: print the booth's address and
        /// unused registration codes, wait (Enter or Ctrl-C) while people register in a
        /// browser, open voting, wait again while they vote, then close, tally and
        /// verify. Needs a build with `--features booth`.
        #[arg(long)]
        web: bool,
    },
    /// The bulletin board server.
    #[cfg(feature = "server")]
    #[command(subcommand)]
    Board(zkvote_board::server::BoardCommand),
    /// A witness: cosigns each new checkpoint of the elections of the boards it trusts
    /// once it has checked that it extends the last one it cosigned.
    #[cfg(feature = "server")]
    #[command(subcommand)]
    Witness(zkvote_witness::server::WitnessCommand),
    /// A mirror: keeps its own verified copy of elections' records, pulled from their
    /// board, and serves it read-only; stops on a fork and reports it.
    #[cfg(feature = "server")]
    #[command(subcommand)]
    Mirror(zkvote_mirror::server::MirrorCommand),
    /// The web booth embedded in this binary.
    #[cfg(feature = "booth")]
    #[command(subcommand)]
    Booth(BoothCommand),
    /// Election commission commands.
    #[command(subcommand)]
    Commission(CommissionCommand),
    /// Trustee commands.
    #[command(subcommand)]
    Trustee(TrusteeCommand),
    /// The setup ceremony of a version-2 election's eligibility keys: contribute, watch,
    /// verify a transcript.
    #[command(subcommand)]
    Setup(SetupCommand),
    /// Voter credential and registration commands.
    #[command(subcommand)]
    Voter(VoterCommand),
    /// Cast a ballot (or audit one with --audit).
    Vote {
        #[command(flatten)]
        at: ElectionAt,
        /// The voter's credential file.
        #[arg(long)]
        credential: PathBuf,
        /// A choice, contest=option or contest=option1,option2 (repeat per contest);
        /// asked on the terminal when absent.
        #[arg(long = "choice")]
        choices: Vec<String>,
        /// Benaloh's challenge: build a ballot, reveal and check its encryption, do not cast.
        #[arg(long)]
        audit: bool,
        /// Where to save the receipt.
        #[arg(long, default_value = "receipt.json")]
        receipt_out: PathBuf,
        /// The saved registration (`zkvote voter register` wrote it): fetch only the
        /// bucket of the frozen roll that holds it, instead of the whole roll. The board
        /// then learns the bucket (docs/protocol.md section 9.4.1).
        #[arg(long)]
        registration: Option<PathBuf>,
        /// With --registration: leaves per bucket, as a power of two (clamped to
        /// 8..=the roll's depth). More bits: a larger anonymity set, a larger download.
        #[arg(long, default_value_t = zkvote_protocol::voter::roll::DEFAULT_BUCKET_BITS, requires = "registration")]
        bucket_bits: u8,
    },
    /// Receipts.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Election records.
    #[command(subcommand)]
    Record(RecordCommand),
    /// Verify a whole election record: exit status 0 only if every check passes. With
    /// --range, verify only that range's ballots into a part; with --merge, verify the
    /// record taking the ballots' verdicts from parts (a verification split across
    /// machines).
    Verify {
        #[command(flatten)]
        from: RecordSource,
        /// Machine-readable JSON report.
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Verify only the ballots of entries FROM..TO (TO excluded) or FROM.. (to the
        /// end), writing their verdicts to --part-out for a later --merge.
        #[arg(long, requires = "part_out", conflicts_with_all = ["merge", "json"])]
        range: Option<EntryRange>,
        /// Where --range writes its part.
        #[arg(long, requires = "range")]
        part_out: Option<PathBuf>,
        /// Part files made with --range whose ranges together cover the record.
        #[arg(long, num_args = 1..)]
        merge: Vec<PathBuf>,
    },
    /// An election's phase and counts.
    Status {
        #[command(flatten)]
        at: ElectionAt,
    },
}

/// Which board and election.
#[derive(Args)]
struct ElectionAt {
    /// The board's URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    board: String,
    /// The election id (64 hex digits).
    #[arg(long)]
    election: String,
}

/// Where a record comes from: a file, or a board and an election.
#[derive(Args)]
struct RecordSource {
    /// A record file (from `zkvote record export` or `demo --record-out`).
    #[arg(long, conflicts_with_all = ["board", "election"])]
    record: Option<PathBuf>,
    /// The board to fetch it from.
    #[arg(long, requires = "election")]
    board: Option<String>,
    /// The election id (with --board).
    #[arg(long, requires = "board")]
    election: Option<String>,
}

/// A [`RecordSource`] checked.
enum Source {
    File(PathBuf),
    Board(BoardClient, [u8; 32]),
}

impl RecordSource {
    fn open(self) -> Result<Source, CliError> {
        match (self.record, self.board, self.election) {
            (Some(path), _, _) => Ok(Source::File(path)),
            (None, Some(board), Some(election)) => Ok(Source::Board(
                BoardClient::new(&board)?,
                parse_election_id(&election)?,
            )),
            _ => Err(CliError::msg(
                "give --record FILE, or --board URL and --election ID",
            )),
        }
    }
}

impl ElectionAt {
    fn open(&self) -> Result<(BoardClient, [u8; 32]), CliError> {
        Ok((
            BoardClient::new(&self.board)?,
            parse_election_id(&self.election)?,
        ))
    }
}

#[derive(Subcommand)]
enum CommissionCommand {
    /// Create the commission's signing key file and print its public key.
    Keygen {
        /// Key file to create (never overwritten).
        #[arg(long)]
        key: PathBuf,
    },
    /// Create an election from a manifest TOML ("auto" fields are filled in); prints its id.
    Create {
        /// The board's URL.
        #[arg(long)]
        board: String,
        /// The commission's key file.
        #[arg(long)]
        key: PathBuf,
        /// The manifest (TOML).
        #[arg(long)]
        manifest: PathBuf,
    },
    /// Close the setup ceremony once every trustee has contributed to both phases: the
    /// board computes the eligibility keys from the transcript and pins them in the log.
    CloseSetup {
        #[command(flatten)]
        at: ElectionAt,
        /// The commission's key file.
        #[arg(long)]
        key: PathBuf,
        /// Wait up to this many seconds for the trustees' contributions first.
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// Issue one-time voter registration codes (printed one per line, or written to --out).
    Codes {
        #[command(flatten)]
        at: ElectionAt,
        /// The commission's key file.
        #[arg(long)]
        key: PathBuf,
        /// How many codes.
        #[arg(long)]
        count: u32,
        /// Write the codes to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Freeze the voter roll.
    Freeze {
        #[command(flatten)]
        at: ElectionAt,
        /// The commission's key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Open voting once the key ceremony is over.
    Open {
        #[command(flatten)]
        at: ElectionAt,
        /// The commission's key file.
        #[arg(long)]
        key: PathBuf,
        /// Wait up to this many seconds for every trustee's dealing first.
        #[arg(long, default_value_t = 0)]
        wait_dealings: u64,
        /// After the last dealing, wait this many seconds for complaints.
        #[arg(long, default_value_t = 2)]
        complaint_window: u64,
    },
    /// Close voting.
    Close {
        #[command(flatten)]
        at: ElectionAt,
        /// The commission's key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Verify the record, combine the trustees' partial decryptions, publish the result.
    Tally {
        #[command(flatten)]
        at: ElectionAt,
        /// The commission's key file.
        #[arg(long)]
        key: PathBuf,
        /// Wait up to this many seconds for enough partial decryptions.
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
}

#[derive(Subcommand)]
enum TrusteeCommand {
    /// Create a trustee key file; prints the manifest entry for this trustee.
    Keygen {
        /// Trustee index (1..=n).
        #[arg(long)]
        index: u32,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Key file to create (never overwritten).
        #[arg(long)]
        key: PathBuf,
    },
    /// Take part in the ceremonies: contribute to both phases of the setup ceremony (a
    /// version-2 election) and wait for its close, then deal, check, complain, and save the
    /// key share once voting opens.
    Ceremony {
        #[command(flatten)]
        at: ElectionAt,
        /// The trustee's key file.
        #[arg(long)]
        key: PathBuf,
        /// Where to save the key share (never overwritten).
        #[arg(long)]
        share_out: PathBuf,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Verify the record and publish this trustee's partial decryption of the tally.
    Decrypt {
        #[command(flatten)]
        at: ElectionAt,
        /// The trustee's key file.
        #[arg(long)]
        key: PathBuf,
        /// The trustee's key share (from `ceremony`).
        #[arg(long)]
        share: PathBuf,
    },
}

#[derive(Subcommand)]
enum SetupCommand {
    /// Create a contributor's signing key file (ed25519) and print its public key.
    Keygen {
        /// Key file to create (never overwritten).
        #[arg(long)]
        key: PathBuf,
    },
    /// Contribute to the open setup ceremony of an election under your own key: fresh
    /// secrets from the OS, zeroized once the contribution is made.
    Contribute {
        #[command(flatten)]
        at: ElectionAt,
        /// The contributor's key file (from `zkvote setup keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The name the log gives this contribution (e.g. an organization).
        #[arg(long)]
        name: String,
        /// The phase (1 or 2; default: the one the transcript is in).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        phase: Option<u8>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Where an election's setup ceremony stands (JSON).
    Status {
        #[command(flatten)]
        at: ElectionAt,
    },
    /// Verify a setup ceremony's transcript alone: every contribution from the initial
    /// parameters to the pinned keys, naming every contributor (exit status 0 only if it
    /// verifies).
    Verify {
        #[command(flatten)]
        from: RecordSource,
    },
}

#[derive(Subcommand)]
enum VoterCommand {
    /// Create a voter credential file (mode 0600, never overwritten).
    Keygen {
        /// Credential file to create.
        #[arg(long)]
        credential: PathBuf,
    },
    /// Register the credential with a one-time registration code.
    Register {
        #[command(flatten)]
        at: ElectionAt,
        /// The registration code.
        #[arg(long)]
        code: String,
        /// The credential file.
        #[arg(long)]
        credential: PathBuf,
        /// Where to save the registration (its roll position, for `zkvote vote
        /// --registration`, and the board's receipt).
        #[arg(long, default_value = "registration.json")]
        registration_out: PathBuf,
    },
}

/// `zkvote booth ...`.
#[cfg(feature = "booth")]
#[derive(Subcommand)]
enum BoothCommand {
    /// Print the SHA-256 of the embedded booth bundle (the page's footer shows the same;
    /// compare it with a build from source: scripts/build-booth.sh prints it last).
    Hash,
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Check a receipt: inclusion in its checkpoint, and consistency with the board's latest.
    Check {
        /// The receipt file.
        #[arg(long)]
        receipt: PathBuf,
        /// The board, or a mirror of it (default: the board in the receipt).
        #[arg(long)]
        board: Option<String>,
    },
}

#[derive(Subcommand)]
enum RecordCommand {
    /// Download an election's whole record (JSON Lines).
    Export {
        #[command(flatten)]
        at: ElectionAt,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Says which of the election's witnesses cosigned a receipt's checkpoint (nothing for an
/// election without witnesses).
fn print_cosigners(names: &[String]) {
    if !names.is_empty() {
        println!("cosigned by the election's witnesses {}", names.join(", "));
    }
}

fn load_credential(path: &std::path::Path) -> Result<Credential, CliError> {
    files::load_credential(path)
}

/// Creates an ed25519 signing key file (never overwritten) and prints its public key.
fn create_signing_key(path: &std::path::Path) -> Result<(), CliError> {
    let k =
        zkvote_core::keyfile::create_signing_key(path).map_err(|e| CliError::msg(e.to_string()))?;
    println!("{}", hex::encode(k.verifying_key().to_bytes()));
    Ok(())
}

fn signing_key(path: &std::path::Path) -> Result<ed25519_dalek::SigningKey, CliError> {
    zkvote_core::keyfile::read_signing_key(path).map_err(|e| CliError::msg(e.to_string()))
}

async fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        #[cfg(feature = "server")]
        Command::Demo {
            voters,
            trustees,
            threshold,
            db,
            record_out,
            quiet,
            revote,
            roll_depth,
            web,
        } => {
            demo::run(demo::DemoOptions {
                roll_depth,
                web,
                voters,
                trustees,
                threshold,
                db,
                record_out,
                progress: progress_enabled(quiet),
                revote_policy: revote,
            })
            .await?
        }
        #[cfg(feature = "server")]
        Command::Board(c) => zkvote_board::server::run(c, "zkvote board")
            .await
            .map_err(|e| CliError::msg(e.to_string()))?,
        #[cfg(feature = "server")]
        Command::Witness(c) => zkvote_witness::server::run(c, "zkvote witness")
            .await
            .map_err(|e| CliError::msg(e.to_string()))?,
        #[cfg(feature = "server")]
        Command::Mirror(c) => zkvote_mirror::server::run(c, "zkvote mirror")
            .await
            .map_err(|e| CliError::msg(e.to_string()))?,
        Command::Commission(c) => commission_command(c).await?,
        Command::Trustee(t) => trustee_command(t).await?,
        Command::Setup(c) => return setup_command(c).await,
        Command::Voter(VoterCommand::Keygen { credential }) => {
            files::save_credential(&credential, &Credential::generate(&mut rand_core::OsRng))?;
            println!("credential written to {}", credential.display());
        }
        Command::Voter(VoterCommand::Register {
            at,
            code,
            credential,
            registration_out,
        }) => {
            let (board, eid) = at.open()?;
            let c = load_credential(&credential)?;
            let r = voter::register(&board, &eid, &code, &c).await?;
            files::save_registration(&r, &registration_out)?;
            println!(
                "registered (log entry {}, roll position {}); saved to {}",
                r.receipt.index,
                r.roll_position,
                registration_out.display()
            );
        }
        Command::Vote {
            at,
            credential,
            choices,
            audit,
            receipt_out,
            registration,
            bucket_bits,
        } => {
            let (board, eid) = at.open()?;
            let c = load_credential(&credential)?;
            let registration = registration
                .map(|p| files::load_registration(&p))
                .transpose()?;
            let bucket = registration.as_ref().map(|r| voter::BucketOf {
                registration: r,
                credential: &c,
                bits: bucket_bits,
            });
            let mut session = voter::prepare(&board, &eid, bucket.as_ref()).await?;
            if bucket.is_some() && session.path_for(&c).is_err() {
                eprintln!("warning: the bucket of the roll at your registration's position does not hold your credential (the board gave a wrong position?); downloading the whole roll");
                session = voter::with_roll(&board, &session, None).await?;
            }
            session.path_for(&c)?;
            let manifest = session.ctx.manifest().clone();
            let choices = if choices.is_empty() {
                use std::io::IsTerminal;
                if !std::io::stdin().is_terminal() {
                    return Err(CliError::msg("no --choice given and no terminal to ask on"));
                }
                voter::ask_choices(&manifest)?
            } else {
                voter::parse_choices(&manifest, &choices)?
            };
            let (ballot, secrets) = voter::build(&session, &c, choices).await?;
            let tracker = hex::encode(ballot.ballot.digest(session.ctx.manifest_hash()).as_bytes());
            if audit {
                let found = voter::audit(&session, &ballot, secrets)?;
                println!("tracker {tracker}");
                for (contest, picks) in manifest.contests.iter().zip(found) {
                    let names: Vec<&str> = picks
                        .iter()
                        .map(|&p| contest.options[p].id.as_str())
                        .collect();
                    println!("  {}: {}", contest.id, names.join(", "));
                }
                println!("audit passed: this ballot encrypts the choices above. It was NOT cast; run `zkvote vote` again to cast a fresh ballot.");
            } else {
                let receipt = voter::cast(&board, &session, &ballot).await?;
                files::save_receipt(&receipt, &receipt_out)?;
                println!(
                    "ballot cast: tracker {tracker}, log entry {}",
                    receipt.receipt.index
                );
                print_cosigners(&voter::cosigned_by(&manifest, &receipt.receipt)?);
                println!("receipt saved to {}", receipt_out.display());
            }
        }
        #[cfg(feature = "booth")]
        Command::Booth(BoothCommand::Hash) => {
            let hash = zkvote_board::booth::bundle_hash();
            if zkvote_board::booth::stated_bundle_hash().as_deref() != Some(hash.as_str()) {
                return Err(CliError::msg(format!(
                    "the embedded booth's bundle.json does not state its hash {hash}"
                )));
            }
            println!("{hash}");
        }
        Command::Receipt(ReceiptCommand::Check { receipt, board }) => {
            let file = files::load_receipt(&receipt)?;
            let board = BoardClient::new(board.as_deref().unwrap_or(&file.board))?;
            let (old, new) = voter::check_receipt(&board, &file).await?;
            println!(
                "receipt valid: tracker {} is entry {} of the log signed at size {}",
                file.tracker, file.receipt.index, old.size
            );
            println!(
                "the board's latest checkpoint (size {}) extends it: the ballot is still there",
                new.size
            );
            let manifest = board
                .manifest(&parse_election_id(&file.election_id)?)
                .await?;
            print_cosigners(&voter::cosigned_by(&manifest, &file.receipt)?);
        }
        Command::Record(RecordCommand::Export { at, out }) => {
            let (board, eid) = at.open()?;
            let size = board.download_record(&eid, &out).await?;
            println!("record ({size} bytes) written to {}", out.display());
        }
        Command::Verify {
            from,
            json,
            quiet,
            range,
            part_out,
            merge,
        } => {
            let job = match (range, part_out) {
                (Some(range), Some(out)) => Job::Part { range, out },
                _ if !merge.is_empty() => Job::Merge(merge),
                _ => Job::Whole,
            };
            return verify_command(from, job, json, quiet).await;
        }
        Command::Status { at } => {
            let (board, eid) = at.open()?;
            let s = board.status(&eid).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&s).map_err(|e| CliError::msg(e.to_string()))?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify_command(
    from: RecordSource,
    job: Job,
    json: bool,
    quiet: bool,
) -> Result<ExitCode, CliError> {
    let (path, temporary) = match from.open()? {
        Source::File(path) => (path, false),
        Source::Board(board, eid) => {
            let path = std::env::temp_dir().join(format!(
                "zkvote-verify-{}-{}.jsonl",
                hex::encode(&eid[..8]),
                std::process::id()
            ));
            board.download_record(&eid, &path).await?;
            (path, true)
        }
    };
    let result = verify::run(&path, job, progress_enabled(quiet || json)).await;
    if temporary {
        std::fs::remove_file(&path).ok();
    }
    let report = match result? {
        verify::Outcome::Part(end) => {
            println!(
                "part written: {} entries, {} ballots, {} valid",
                end.entries, end.ballots, end.valid
            );
            return Ok(ExitCode::SUCCESS);
        }
        verify::Outcome::Report(report) => report,
    };
    if json {
        println!("{}", report.to_json());
    } else {
        println!("{report}");
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn commission_command(c: CommissionCommand) -> Result<(), CliError> {
    match c {
        CommissionCommand::Keygen { key } => create_signing_key(&key)?,
        CommissionCommand::Create {
            board,
            key,
            manifest,
        } => {
            let board = BoardClient::new(&board)?;
            let text = files::read_text(&manifest, "manifest")?;
            let m = commission::create_election(&board, &signing_key(&key)?, &text).await?;
            println!("{}", hex::encode(m.election_id));
        }
        CommissionCommand::CloseSetup { at, key, wait } => {
            let (board, eid) = at.open()?;
            let s =
                setup::close(&board, &signing_key(&key)?, &eid, Duration::from_secs(wait)).await?;
            println!(
                "setup ceremony closed after {} contributions; proving-key hash {}",
                s.contributors.len(),
                s.proving_key_hash.as_deref().unwrap_or("?")
            );
        }
        CommissionCommand::Codes {
            at,
            key,
            count,
            out,
        } => {
            let (board, eid) = at.open()?;
            let codes = commission::issue_codes(&board, &signing_key(&key)?, &eid, count).await?;
            let mut text = codes.join("\n");
            text.push('\n');
            match out {
                Some(path) => {
                    files::write_private(&path, text.as_bytes())?;
                    println!("{} codes written to {}", codes.len(), path.display());
                }
                None => print!("{text}"),
            }
        }
        CommissionCommand::Freeze { at, key } => {
            let (board, eid) = at.open()?;
            commission::step(&board, &signing_key(&key)?, &eid, "freeze").await?;
            println!("voter roll frozen");
        }
        CommissionCommand::Open {
            at,
            key,
            wait_dealings,
            complaint_window,
        } => {
            let (board, eid) = at.open()?;
            let key = signing_key(&key)?;
            if wait_dealings > 0 {
                let m = board.manifest(&eid).await?;
                commission::wait_for_dealings(
                    &board,
                    &eid,
                    m.trustees.len(),
                    Duration::from_secs(wait_dealings),
                    Duration::from_secs(complaint_window),
                )
                .await?;
            }
            commission::step(&board, &key, &eid, "open").await?;
            println!("voting is open");
        }
        CommissionCommand::Close { at, key } => {
            let (board, eid) = at.open()?;
            commission::step(&board, &signing_key(&key)?, &eid, "close").await?;
            println!("voting is closed");
        }
        CommissionCommand::Tally { at, key, wait } => {
            let (board, eid) = at.open()?;
            let (manifest, counts) =
                commission::tally(&board, &signing_key(&key)?, &eid, Duration::from_secs(wait))
                    .await?;
            println!("result published");
            print!("{}", result_table(&manifest, &counts));
        }
    }
    Ok(())
}

async fn trustee_command(t: TrusteeCommand) -> Result<(), CliError> {
    match t {
        TrusteeCommand::Keygen { index, name, key } => {
            let id = files::create_trustee_keys(&key, index, &name)?;
            print!("{}", id.manifest_snippet());
        }
        TrusteeCommand::Ceremony {
            at,
            key,
            share_out,
            timeout,
        } => {
            let (board, eid) = at.open()?;
            if share_out.exists() {
                return Err(CliError::msg(format!(
                    "{} exists: a share file is never overwritten",
                    share_out.display()
                )));
            }
            let id = files::load_trustee_keys(&key)?;
            let n = board.manifest(&eid).await?.trustees.len();
            let deadline = Instant::now() + Duration::from_secs(timeout);
            trustee::setup_ceremony(&board, &eid, &id.keys, deadline).await?;
            let dealt = trustee::deal(&board, &eid, id.keys.clone()).await?;
            println!(
                "trustee {}: dealing posted; waiting for the others",
                id.keys.index()
            );
            let share =
                trustee::complete(&board, &eid, dealt, n, Duration::from_secs(timeout)).await?;
            files::save_share(&share_out, &eid, &share)?;
            println!(
                "trustee {}: ceremony complete; key share saved to {}",
                id.keys.index(),
                share_out.display()
            );
        }
        TrusteeCommand::Decrypt { at, key, share } => {
            let (board, eid) = at.open()?;
            let id = files::load_trustee_keys(&key)?;
            let s = files::load_share(&share, &eid)?;
            trustee::decrypt(&board, &eid, &id.keys, &s).await?;
            println!("trustee {}: partial decryption published", id.keys.index());
        }
    }
    Ok(())
}

async fn setup_command(c: SetupCommand) -> Result<ExitCode, CliError> {
    match c {
        SetupCommand::Keygen { key } => create_signing_key(&key)?,
        SetupCommand::Contribute {
            at,
            key,
            name,
            phase,
            timeout,
        } => {
            let (board, eid) = at.open()?;
            let key = signing_key(&key)?;
            let name = ContributorName::new(name)
                .map_err(|e| CliError::msg(format!("bad --name: {e}")))?;
            let asked = phase.map(|p| match p {
                1 => SetupPhase::One,
                _ => SetupPhase::Two,
            });
            setup::refuse_if_closed(&board, &eid, &key, asked).await?;
            let mut t = setup::Transcript::fetch(&board, &eid).await?;
            let phase = asked.unwrap_or_else(|| t.setup().ceremony().phase());
            let deadline = Instant::now() + Duration::from_secs(timeout);
            match setup::contribute(&board, &mut t, &key, &name, phase, deadline).await? {
                Some(index) => println!(
                    "contribution to phase {} appended as log entry {index}",
                    u8::from(phase)
                ),
                None => println!(
                    "this key has already contributed to phase {}",
                    u8::from(phase)
                ),
            }
        }
        SetupCommand::Status { at } => {
            let (board, eid) = at.open()?;
            let s = setup::status(&board, &eid).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&s).map_err(|e| CliError::msg(e.to_string()))?
            );
        }
        SetupCommand::Verify { from } => {
            let (entries, asked) = match from.open()? {
                Source::File(path) => {
                    let file = std::fs::File::open(&path).map_err(|e| {
                        CliError::msg(format!("cannot read record {}: {e}", path.display()))
                    })?;
                    let entries = read_transcript(std::io::BufReader::with_capacity(1 << 20, file))
                        .map_err(|e| CliError::msg(e.to_string()))?;
                    (entries, None)
                }
                Source::Board(board, eid) => {
                    (setup::transcript_entries(&board, &eid).await?, Some(eid))
                }
            };
            let report = tokio::task::spawn_blocking(move || verify_transcript(&entries))
                .await
                .map_err(|e| CliError::msg(e.to_string()))?
                .map_err(|e| CliError::msg(e.to_string()))?;
            if asked.is_some_and(|eid| eid != report.election_id) {
                return Err(CliError::msg(
                    "the board answered with another election's manifest",
                ));
            }
            println!("{report}");
            return Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("zkvote: internal error: {info}");
    }));
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zkvote: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            // One line, whatever the error's own formatting.
            let text: Vec<String> = e
                .to_string()
                .lines()
                .map(|l| l.trim().to_string())
                .collect();
            eprintln!("zkvote: {}", text.join(" "));
            ExitCode::FAILURE
        }
    }
}
