//! `zkvote demo`: a whole election on a board served over loopback HTTP, with two
//! witnesses that cosign every checkpoint and a mirror that keeps its own verified copy
//! of the record, through the same client code the role
//! commands use: creation, the setup ceremony of the eligibility
//! keys, the trustees' key ceremony, registration, voting (with a Benaloh audit and a
//! refused second vote), close, threshold decryption, publication and verification of the
//! record. The demo's trustees, being one process, share one checked copy of the setup
//! transcript (each `zkvote trustee ceremony` process checks its own).

use crate::client::BoardClient;
use crate::commission::{self, AUTO};
use crate::ui::{bar, result_table};
use crate::{setup, trustee, voter, CliError};
use rand::Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::setup::SetupPhase;
use zkvote_core::manifest::{ManifestDocument, WitnessDocument, WitnessesDocument};
use zkvote_core::{sample::sample_manifest_toml, Choices, Manifest, RevotePolicy};
use zkvote_protocol::ErrorCode;
use zkvote_tally::TrusteeKeys;
use zkvote_verifier::{verify, Record};

/// Demo parameters.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Number of voters.
    pub voters: usize,
    /// Number of trustees.
    pub trustees: u32,
    /// Decryption threshold.
    pub threshold: u32,
    /// Board database URL (default: SQLite in a temporary folder).
    pub db: Option<String>,
    /// Where to write the election record.
    pub record_out: Option<PathBuf>,
    /// Draw progress bars.
    pub progress: bool,
    /// Revote policy: `reject` (a second ballot is refused) or `last-ballot-counts`.
    pub revote_policy: String,
    /// Depth of the voter roll's Merkle tree (the eligibility circuit's size, and with it
    /// the setup ceremony's cost).
    pub roll_depth: u8,
    /// Keep the board and its web booth up for a person to register and vote in a
    /// browser (`--web`): wait after registration and again after voting.
    pub web: bool,
}

/// Registration codes left for people voting in the browser under `--web`.
const WEB_CODES: u32 = 5;

/// Waits for the person running the demo: a line on standard input or Ctrl-C.
async fn wait_for_go() -> Result<(), CliError> {
    use tokio::io::AsyncBufReadExt;
    let mut line = String::new();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(|e| CliError::msg(format!("cannot wait for Ctrl-C: {e}"))),
        _ = stdin.read_line(&mut line) => Ok(()),
    }
}

/// Refuses `--web` in a build without the web booth.
fn check_web_build(web: bool) -> Result<(), CliError> {
    if web && !cfg!(feature = "booth") {
        return Err(CliError::msg(
            "this zkvote was built without the web booth: run scripts/build-booth.sh, then \
             build with `--features booth`",
        ));
    }
    Ok(())
}

/// Prints each step's line with the seconds it took, so that a run shows where its time
/// goes.
struct Steps(Instant);

impl Steps {
    fn phase(&mut self, n: u32, name: &str, text: impl AsRef<str>) {
        let took = self.0.elapsed().as_secs_f64();
        self.0 = Instant::now();
        println!("[{n}/9] {name:<13} {took:>5.1} s  {}", text.as_ref());
    }
}

/// The demo's witnesses: this many, all of whom must cosign every checkpoint.
const DEMO_WITNESSES: u32 = 2;

/// Starts the demo's witnesses on loopback, each with its own key and SQLite file in
/// `dir`, trusting `board`; returns their manifest entries.
async fn start_witnesses(
    dir: &std::path::Path,
    board: ed25519_dalek::VerifyingKey,
) -> Result<Vec<WitnessDocument>, CliError> {
    let mut members = Vec::new();
    for i in 1..=DEMO_WITNESSES {
        let name = format!("witness-{i}.demo.zkvote");
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        let public_key = hex::encode(key.verifying_key().as_bytes());
        let db = dir.join(format!("witness-{i}.db")).display().to_string();
        let (addr, server) =
            zkvote_witness::server::bind(&db, "127.0.0.1:0", &name, key, vec![board])
                .await
                .map_err(|e| CliError::msg(e.to_string()))?;
        tokio::spawn(server);
        members.push(WitnessDocument {
            name,
            public_key,
            url: format!("http://{addr}"),
        });
    }
    Ok(members)
}

/// Starts the demo's mirror on loopback (its own SQLite file in `dir`), following the
/// election of `manifest` (pinned by its hash) on the board at `board`; returns a client
/// of it.
async fn start_mirror(
    dir: &std::path::Path,
    board: &str,
    manifest: &Manifest,
) -> Result<BoardClient, CliError> {
    let election = zkvote_mirror::Election {
        id: manifest.election_id,
        manifest_hash: Some(manifest.hash()),
    };
    let db = dir.join("mirror.db").display().to_string();
    let (addr, server) = zkvote_mirror::server::bind(
        &db,
        "127.0.0.1:0",
        board,
        &[election],
        Duration::from_millis(200),
    )
    .await
    .map_err(|e| CliError::msg(e.to_string()))?;
    tokio::spawn(server);
    BoardClient::new(&format!("http://{addr}"))
}

/// The record as the mirror holds it, once it holds the board's latest checkpoint and
/// its own verification of the whole record passed; it must be the board's, byte for
/// byte.
async fn mirrored_record(
    board: &BoardClient,
    mirror: &BoardClient,
    eid: &[u8; 32],
) -> Result<String, CliError> {
    let path = crate::client::election_path(eid);
    let latest: zkvote_protocol::api::CheckpointView =
        board.get_json(&format!("{path}/checkpoint")).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        let s: serde_json::Value = mirror.get_json(&format!("{path}/mirror")).await?;
        if s["state"] == "forked" {
            return Err(CliError::msg(format!(
                "the mirror saw a fork: {}",
                s["fork"]
            )));
        }
        if s["checkpoint"]["size"] == latest.size && !s["report"].is_null() {
            break s;
        }
        if Instant::now() > deadline {
            return Err(CliError::msg(format!(
                "the mirror did not catch up with the board in 120 s: {s}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let own_checks_pass = status["report"]["checks"]
        .as_array()
        .is_some_and(|c| c.iter().all(|c| c["status"] != "fail"));
    if !own_checks_pass || status["findings"] != serde_json::json!([]) {
        return Err(CliError::msg(format!(
            "the mirror's own verification failed: {status}"
        )));
    }
    let text = mirror.record(eid).await?;
    if text != board.record(eid).await? {
        return Err(CliError::msg("the mirror's record is not the board's"));
    }
    Ok(text)
}

/// The demo manifest (version 2): the sample's two contests, these trustees and
/// witnesses, everything else filled in at creation.
fn demo_manifest(
    trustees: &[TrusteeKeys],
    witnesses: Vec<WitnessDocument>,
    opts: &DemoOptions,
) -> Result<String, CliError> {
    let sample = Manifest::from_toml(&sample_manifest_toml())
        .map_err(|e| CliError::msg(format!("sample manifest: {e}")))?;
    let mut doc = ManifestDocument::from(sample);
    doc.election_id = AUTO.into();
    doc.commission_key = AUTO.into();
    doc.board_key = AUTO.into();
    doc.version = 2;
    doc.eligibility.groth16_vk_hash = None;
    doc.eligibility.roll_depth = opts.roll_depth;
    doc.trustees.threshold = opts.threshold;
    doc.revote_policy = opts.revote_policy.clone();
    doc.trustees.members = trustees
        .iter()
        .map(|k| k.document(format!("Trustee {}", k.index())))
        .collect();
    doc.witnesses = Some(WitnessesDocument {
        threshold: DEMO_WITNESSES,
        members: witnesses,
    });
    toml::to_string(&doc).map_err(|e| CliError::msg(e.to_string()))
}

/// Random valid choices: one mayor, any subset of the park projects within the bounds.
fn random_choices(manifest: &Manifest, rng: &mut impl Rng) -> Result<Choices, CliError> {
    let picks: Vec<Vec<usize>> = manifest
        .contests
        .iter()
        .map(|c| {
            let n = c.options.len();
            let k = rng.gen_range(c.min_selections as usize..=(c.max_selections as usize).min(n));
            rand::seq::index::sample(rng, n, k).into_vec()
        })
        .collect();
    Choices::from_indices(manifest, &picks).map_err(|e| CliError::msg(e.to_string()))
}

/// Runs the demo; returns an error if any step (or the final verification) fails.
pub async fn run(opts: DemoOptions) -> Result<(), CliError> {
    let started = Instant::now();
    let mut steps = Steps(started);
    if opts.voters < 2 {
        return Err(CliError::msg("the demo needs at least 2 voters"));
    }
    if opts.voters as u64 > 1u64 << opts.roll_depth.min(63) {
        return Err(CliError::msg(format!(
            "a voter roll of depth {} holds at most {} voters",
            opts.roll_depth,
            1u64 << opts.roll_depth
        )));
    }
    if opts.threshold == 0 || opts.threshold > opts.trustees {
        return Err(CliError::msg(
            "the threshold must be between 1 and the number of trustees",
        ));
    }
    check_web_build(opts.web)?;
    let mut rng = rand::thread_rng();

    // 1. The board.
    let dir = std::env::temp_dir().join(format!("zkvote-demo-{:016x}", rng.gen::<u64>()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::msg(format!("cannot create {}: {e}", dir.display())))?;
    let db = opts
        .db
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("board.db").display()));
    let board_key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let witnesses = start_witnesses(&dir, board_key.verifying_key()).await?;
    let witness_urls: Vec<String> = witnesses.iter().map(|w| w.url.clone()).collect();
    let commission = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let config =
        zkvote_board::api::BoardConfig::new(zkvote_board::api::Creators::Only(vec![commission
            .verifying_key()
            .to_bytes()]));
    let (addr, server) = zkvote_board::server::bind(&db, "127.0.0.1:0", board_key, 100_000, config)
        .await
        .map_err(|e| CliError::msg(e.to_string()))?;
    tokio::spawn(server);
    let board = BoardClient::new(&format!("http://{addr}"))?;
    steps.phase(
        1,
        "board",
        format!(
            "listening on http://{addr}, storage {}; witnesses at {} (both cosign every checkpoint)",
            db.split("://").next().unwrap_or("?"),
            witness_urls.join(", ")
        ),
    );

    // 2. The commission (the only one this board allows) creates the election.
    let trustee_keys: Vec<TrusteeKeys> = (1..=opts.trustees)
        .map(|i| TrusteeKeys::generate(i, &mut rand_core::OsRng))
        .collect();
    let manifest = commission::create_election(
        &board,
        &commission,
        &demo_manifest(&trustee_keys, witnesses, &opts)?,
    )
    .await?;
    let eid = manifest.election_id;
    let mirror = start_mirror(&dir, board.base(), &manifest).await?;
    steps.phase(
        2,
        "election",
        format!(
            "{} created: {:?}, {} contests, a voter roll of up to 2^{}; mirrored at {}",
            hex::encode(eid),
            manifest.title,
            manifest.contests.len(),
            manifest.roll_depth,
            mirror.base()
        ),
    );

    // 3. The setup ceremony of the eligibility keys: each trustee contributes to phase 1,
    // then to phase 2; the commission closes it and the board pins the keys.
    let setup_started = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut transcript = setup::Transcript::fetch(&board, &eid).await?;
    for step in [SetupPhase::One, SetupPhase::Two] {
        for k in &trustee_keys {
            trustee::contribute_to_setup(&board, &mut transcript, k, step, deadline).await?;
        }
    }
    let closed = setup::close(&board, &commission, &eid, Duration::ZERO).await?;
    steps.phase(
        3,
        "setup",
        format!(
            "{} trustees contributed to both phases of the eligibility keys' ceremony in {:.1} s; proving-key hash {}",
            trustee_keys.len(),
            setup_started.elapsed().as_secs_f64(),
            closed.proving_key_hash.as_deref().unwrap_or("?")
        ),
    );

    // Key ceremony, part one: every trustee deals.
    let mut dealt = Vec::new();
    for k in &trustee_keys {
        dealt.push(trustee::deal(&board, &eid, k.clone()).await?);
    }
    let n = trustee_keys.len();
    let mut finishing = Vec::new();
    for d in dealt {
        let b = board.clone();
        finishing.push(tokio::spawn(async move {
            trustee::complete(&b, &eid, d, n, Duration::from_secs(300)).await
        }));
    }

    // 4. Voters register with one-time codes; the roll is frozen.
    let web_codes = if opts.web { WEB_CODES } else { 0 };
    let mut codes =
        commission::issue_codes(&board, &commission, &eid, opts.voters as u32 + web_codes).await?;
    let spare = codes.split_off(opts.voters);
    let credentials: Vec<Credential> = (0..opts.voters)
        .map(|_| Credential::generate(&mut rand_core::OsRng))
        .collect();
    let pb = bar(opts.voters as u64, "registering voters", opts.progress);
    let mut registrations = Vec::with_capacity(opts.voters);
    for (code, c) in codes.iter().zip(&credentials) {
        registrations.push(voter::register(&board, &eid, code, c).await?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let booth = format!("http://{addr}/booth/#/{}", hex::encode(eid));
    if opts.web {
        println!("web booth: {booth}");
        println!(
            "unused registration codes for the booth: {}",
            spare.join(" ")
        );
        println!("register in the browser, then press Enter (or Ctrl-C) to freeze the roll and open voting");
        wait_for_go().await?;
        steps.0 = Instant::now();
    }
    commission::step(&board, &commission, &eid, "freeze").await?;
    steps.phase(
        4,
        "registration",
        format!(
            "{} voters registered with one-time codes; roll frozen",
            opts.voters
        ),
    );

    // Key ceremony, part two: shares checked, voting opens under the joint key.
    commission::wait_for_dealings(
        &board,
        &eid,
        n,
        Duration::from_secs(60),
        Duration::from_millis(500),
    )
    .await?;
    commission::step(&board, &commission, &eid, "open").await?;
    let mut shares = Vec::new();
    for f in finishing {
        shares.push(
            f.await
                .map_err(|e| CliError::msg(format!("trustee task failed: {e}")))??,
        );
    }
    let status = board.status(&eid).await?;
    steps.phase(
        5,
        "key ceremony",
        format!(
            "{n} trustees dealt, {} complaints, threshold {}; joint key {}",
            status.complaints,
            opts.threshold,
            status.joint_key.as_deref().unwrap_or("?")
        ),
    );

    // 6. Voting. The auditing voter downloads the whole roll; every voter then fetches only
    // the bucket of the roll that holds its registration.
    let session = voter::prepare(&board, &eid, None).await?;
    let mut expected: Vec<Vec<u64>> = manifest
        .contests
        .iter()
        .map(|c| vec![0; c.options.len()])
        .collect();
    // Voter 1 audits a ballot first (Benaloh's challenge), then votes for real.
    let audit_choices = random_choices(&manifest, &mut rng)?;
    let (audited, secrets) = voter::build(&session, &credentials[0], audit_choices).await?;
    let tracker = hex::encode(
        audited
            .ballot
            .digest(session.ctx.manifest_hash())
            .as_bytes(),
    );
    voter::audit(&session, &audited, secrets)?;
    let pb = bar(opts.voters as u64, "casting ballots", opts.progress);
    let mut second = String::new();
    let count = |expected: &mut Vec<Vec<u64>>, choices: &Choices, add: bool| {
        for (row, picks) in expected.iter_mut().zip(choices.selected_indices()) {
            for p in picks {
                if add {
                    row[p] += 1;
                } else {
                    row[p] -= 1;
                }
            }
        }
    };
    for (i, (c, registration)) in credentials.iter().zip(&registrations).enumerate() {
        let bucket = voter::BucketOf {
            registration,
            credential: c,
            bits: zkvote_protocol::voter::roll::DEFAULT_BUCKET_BITS,
        };
        let session = voter::with_roll(&board, &session, Some(&bucket)).await?;
        let choices = random_choices(&manifest, &mut rng)?;
        count(&mut expected, &choices, true);
        let (ballot, _) = voter::build(&session, c, choices.clone()).await?;
        voter::cast(&board, &session, &ballot).await?;
        if i == 1 {
            // Voter 2 votes a second time.
            let again = random_choices(&manifest, &mut rng)?;
            let (ballot2, _) = voter::build(&session, c, again.clone()).await?;
            match (
                voter::cast(&board, &session, &ballot2).await,
                manifest.revote_policy,
            ) {
                (Err(e), RevotePolicy::Reject) if e.code() == Some(ErrorCode::AlreadyVoted) => {
                    second = format!("refused: {e}");
                }
                (Ok(r), RevotePolicy::LastBallotCounts) => {
                    count(&mut expected, &choices, false);
                    count(&mut expected, &again, true);
                    second = format!(
                        "accepted as entry {}; it supersedes the first (last ballot counts)",
                        r.receipt.index
                    );
                }
                (Err(e), _) => return Err(e),
                (Ok(_), RevotePolicy::Reject) => {
                    return Err(CliError::msg(
                        "a second ballot from the same voter was accepted",
                    ))
                }
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    steps.phase(
        6,
        "voting",
        format!("{} ballots cast and receipted", opts.voters),
    );
    println!("                voter 1 audited a ballot first (tracker {tracker}): it encrypts the choices made, and was not cast");
    println!("                voter 2 voted a second time: {second}");
    if opts.web {
        println!("voting is open: vote at {booth}");
        println!("press Enter (or Ctrl-C) to close the election, tally and verify");
        wait_for_go().await?;
        steps.0 = Instant::now();
    }

    // 7. Close.
    commission::step(&board, &commission, &eid, "close").await?;
    steps.phase(7, "close", "voting closed");

    // 8. Threshold decryption by the first t trustees, combination, publication.
    for (k, s) in trustee_keys
        .iter()
        .zip(&shares)
        .take(opts.threshold as usize)
    {
        trustee::decrypt(&board, &eid, k, s).await?;
    }
    let (_, counts) = commission::tally(&board, &commission, &eid, Duration::from_secs(30)).await?;
    steps.phase(
        8,
        "tally",
        format!(
            "{} of {n} trustees decrypted the aggregate; result published",
            opts.threshold
        ),
    );
    print!("{}", result_table(&manifest, &counts));
    // Under --web, ballots cast in the browser come on top of the demo's own.
    let includes_expected = counts
        .iter()
        .flatten()
        .zip(expected.iter().flatten())
        .all(|(c, e)| c >= e);
    if (opts.web && !includes_expected) || (!opts.web && counts != expected) {
        return Err(CliError::msg(
            "the published result is not the count of the ballots cast",
        ));
    }

    // 9. Anyone can verify the record: here, the copy the mirror holds.
    let text = mirrored_record(&board, &mirror, &eid).await?;
    if let Some(path) = &opts.record_out {
        crate::files::write_public(path, text.as_bytes())?;
    }
    let record = Record::parse(&text).map_err(|e| CliError::msg(e.to_string()))?;
    let report = verify(&record);
    steps.phase(
        9,
        "verification",
        format!(
            "record of {} entries checked, as the mirror holds it (the board's, byte for byte; the mirror's own checks, run as the entries came, passed)",
            record.entries.len()
        ),
    );
    println!("{report}");
    if let Some(path) = &opts.record_out {
        println!("record written to {}", path.display());
    }
    println!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    if opts.web {
        println!("results: {booth}/results");
        println!("press Enter (or Ctrl-C) to stop the board");
        wait_for_go().await?;
    }
    if opts.db.is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
    if report.ok() {
        Ok(())
    } else {
        Err(CliError::msg("the election record does not verify"))
    }
}
