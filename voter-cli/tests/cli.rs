//! The real `zkvote` binary against a real board process (`zkvote board serve`): a small
//! election end to end, a refused double vote, a refused vote after close, a receipt
//! checked after more ballots arrived, and user mistakes that must end with one line on
//! stderr and a non-zero exit status.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_zkvote");

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("zkvote-cli-{name}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn zkvote(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = zkvote(args);
    assert!(
        out.status.success(),
        "zkvote {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail; returns its single stderr line.
fn refused(args: &[&str]) -> String {
    let out = zkvote(args);
    assert!(!out.status.success(), "zkvote {args:?} should have failed");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line on stderr, got {err:?}");
    assert!(err.starts_with("zkvote: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

struct Board {
    child: Child,
    url: String,
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_board(dir: &Path) -> Board {
    let key = dir.join("board.key");
    ok(&["board", "keygen", "--key", key.to_str().unwrap()]);
    let mut child = Command::new(BIN)
        .args([
            "board",
            "serve",
            "--any-commission",
            "--listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(format!("sqlite://{}", dir.join("board.db").display()))
        .arg("--key")
        .arg(&key)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .last()
        .expect("the board prints its address")
        .to_string();
    Board { child, url }
}

/// The example manifest with a small roll (depth 9: two buckets of 2^8 leaves) and one
/// trustee (threshold 1), written to `dir`.
fn manifest(dir: &Path, trustee_key: &Path) -> PathBuf {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/election.toml"
    ))
    .unwrap();
    let mut text = template
        .replace("roll_depth = 20", "roll_depth = 9")
        .replace("threshold = 2", "threshold = 1");
    text.push_str(&ok(&[
        "trustee",
        "keygen",
        "--index",
        "1",
        "--name",
        "Only Trustee",
        "--key",
        trustee_key.to_str().unwrap(),
    ]));
    let path = dir.join("election.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn whole_election_through_the_cli() {
    let dir = temp_dir("election");
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let board = start_board(&dir);
    ok(&["commission", "keygen", "--key", &p("commission.key")]);
    let manifest = manifest(&dir, &dir.join("trustee1.key"));
    let eid = ok(&[
        "commission",
        "create",
        "--board",
        &board.url,
        "--key",
        &p("commission.key"),
        "--manifest",
        manifest.to_str().unwrap(),
    ])
    .trim()
    .to_string();
    assert_eq!(eid.len(), 64);
    let at = ["--board", board.url.as_str(), "--election", eid.as_str()];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|s| s.to_string())
            .chain(at.iter().map(|s| s.to_string()))
            .collect()
    };
    let run_ok = |args: &[&str]| {
        let v = with(args);
        ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let run_refused = |args: &[&str]| {
        let v = with(args);
        refused(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // Voting before the election is open is refused.
    ok(&["voter", "keygen", "--credential", &p("v1.cred")]);
    ok(&["voter", "keygen", "--credential", &p("v2.cred")]);
    ok(&["voter", "keygen", "--credential", &p("outsider.cred")]);
    let e = run_refused(&[
        "vote",
        "--credential",
        &p("v1.cred"),
        "--choice",
        "mayor=ada",
    ]);
    assert!(e.contains("not open"), "{e}");

    let mut ceremony = Command::new(BIN)
        .args(with(&[
            "trustee",
            "ceremony",
            "--key",
            &p("trustee1.key"),
            "--share-out",
            &p("share1.json"),
        ]))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    // The setup ceremony: an outside party contributes to phase 2 under its own key (it
    // waits for the trustee's phase 1), the commission closes the ceremony once the
    // trustee has contributed to both phases, and anyone checks the transcript.
    ok(&["setup", "keygen", "--key", &p("civic.key")]);
    let contribute = |key: &str, phase: &str| {
        with(&[
            "setup",
            "contribute",
            "--key",
            key,
            "--name",
            "Civic Watch",
            "--phase",
            phase,
            "--timeout",
            "300",
        ])
    };
    let args = contribute(&p("civic.key"), "2");
    let out = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("appended as log entry"), "{out}");
    let again = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(again.contains("already contributed to phase 2"), "{again}");
    // Codes may be issued during the ceremony; registration waits for its close.
    let early = run_ok(&[
        "commission",
        "codes",
        "--key",
        &p("commission.key"),
        "--count",
        "1",
    ]);
    let e = run_refused(&[
        "voter",
        "register",
        "--credential",
        &p("v1.cred"),
        "--code",
        early.trim(),
    ]);
    assert!(
        e.contains("setup-not-closed"),
        "registration before the close: {e}"
    );
    let closed = run_ok(&[
        "commission",
        "close-setup",
        "--key",
        &p("commission.key"),
        "--wait",
        "300",
    ]);
    assert!(closed.contains("setup ceremony closed"), "{closed}");
    let e = run_refused(&["commission", "close-setup", "--key", &p("commission.key")]);
    assert!(e.contains("already closed"), "{e}");
    ok(&["setup", "keygen", "--key", &p("late.key")]);
    let late = contribute(&p("late.key"), "2");
    let e = refused(&late.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(e.contains("has closed"), "{e}");
    let transcript = run_ok(&["setup", "verify"]);
    for expected in [
        "phase 1: 1 contributions",
        "phase 2: 2 contributions",
        "Only Trustee (trustee 1,",
        "Civic Watch (outside contributor,",
        "closed: the setup-final entry pins exactly the transcript's keys",
        "the transcript verifies",
    ] {
        assert!(transcript.contains(expected), "{expected}: {transcript}");
    }
    let status: serde_json::Value = serde_json::from_str(&run_ok(&["setup", "status"])).unwrap();
    assert_eq!(status["closed"], true);

    run_ok(&[
        "commission",
        "codes",
        "--key",
        &p("commission.key"),
        "--count",
        "3",
        "--out",
        &p("codes.txt"),
    ]);
    let codes: Vec<String> = std::fs::read_to_string(dir.join("codes.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 3);
    let registered = run_ok(&[
        "voter",
        "register",
        "--credential",
        &p("v1.cred"),
        "--code",
        &codes[0],
        "--registration-out",
        &p("reg1.json"),
    ]);
    assert!(registered.contains("roll position 0"), "{registered}");
    let e = run_refused(&[
        "voter",
        "register",
        "--credential",
        &p("v2.cred"),
        "--code",
        &codes[0],
        "--registration-out",
        &p("reg2.json"),
    ]);
    assert!(e.contains("registration code"), "{e}");
    let registered = run_ok(&[
        "voter",
        "register",
        "--credential",
        &p("v2.cred"),
        "--code",
        &codes[1],
        "--registration-out",
        &p("reg2.json"),
    ]);
    assert!(registered.contains("roll position 1"), "{registered}");
    run_ok(&["commission", "freeze", "--key", &p("commission.key")]);
    run_ok(&[
        "commission",
        "open",
        "--key",
        &p("commission.key"),
        "--wait-dealings",
        "120",
        "--complaint-window",
        "1",
    ]);
    assert!(ceremony.wait().unwrap().success());

    // Mistakes while the election is open.
    let e = run_refused(&[
        "vote",
        "--credential",
        &p("outsider.cred"),
        "--choice",
        "mayor=ada",
    ]);
    assert!(e.contains("not in the voter roll"), "{e}");
    let e = run_refused(&[
        "vote",
        "--credential",
        &p("v1.cred"),
        "--choice",
        "mayor=ada,bo",
    ]);
    assert!(e.contains("wrong choices"), "{e}");
    let e = run_refused(&[
        "vote",
        "--credential",
        &p("v1.cred"),
        "--choice",
        "mayor=zed",
    ]);
    assert!(e.contains("wrong choices"), "{e}");

    // An audited ballot is not cast; then both voters vote.
    let audit = run_ok(&[
        "vote",
        "--credential",
        &p("v1.cred"),
        "--choice",
        "mayor=cy",
        "--choice",
        "parks=pool,trees",
        "--audit",
    ]);
    assert!(audit.contains("audit passed"), "{audit}");
    assert!(audit.contains("mayor: cy"), "{audit}");
    // A registration file whose position lies in the other bucket (as if the board had
    // given a wrong one): the bucket does not hold the credential, and the CLI says so and
    // falls back to the whole roll.
    let mut moved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reg1.json")).unwrap()).unwrap();
    moved["roll_position"] = 300.into();
    std::fs::write(dir.join("reg1-moved.json"), moved.to_string()).unwrap();
    let args = with(&[
        "vote",
        "--credential",
        &p("v1.cred"),
        "--registration",
        &p("reg1-moved.json"),
        "--bucket-bits",
        "8",
        "--choice",
        "mayor=ada",
        "--choice",
        "parks=pool,trees",
        "--receipt-out",
        &p("r1.json"),
    ]);
    let out = zkvote(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("downloading the whole roll"), "{err}");
    // The receipt checks now, and again after another ballot arrived.
    let check = ok(&["receipt", "check", "--receipt", &p("r1.json")]);
    assert!(check.contains("receipt valid"), "{check}");
    // Voter 2 fetches only its bucket of the roll; another voter's registration file
    // does not fit its credential.
    let e = run_refused(&[
        "vote",
        "--credential",
        &p("v2.cred"),
        "--registration",
        &p("reg1.json"),
        "--choice",
        "mayor=ada",
    ]);
    assert!(e.contains("for another credential"), "{e}");
    run_ok(&[
        "vote",
        "--credential",
        &p("v2.cred"),
        "--registration",
        &p("reg2.json"),
        "--bucket-bits",
        "8",
        "--choice",
        "mayor=ada",
        "--receipt-out",
        &p("r2.json"),
    ]);
    let check = ok(&["receipt", "check", "--receipt", &p("r1.json")]);
    let r1: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r1.json")).unwrap()).unwrap();
    let size_then = r1["receipt"]["index"].as_u64().unwrap() + 1;
    assert!(
        check.contains(&format!("latest checkpoint (size {})", size_then + 1)),
        "{check}"
    );
    // A double vote is refused with its message.
    let e = run_refused(&[
        "vote",
        "--credential",
        &p("v1.cred"),
        "--choice",
        "mayor=bo",
        "--receipt-out",
        &p("again.json"),
    ]);
    assert!(e.contains("already voted"), "{e}");

    // Decrypting or tallying before the close is refused.
    let e = run_refused(&[
        "trustee",
        "decrypt",
        "--key",
        &p("trustee1.key"),
        "--share",
        &p("share1.json"),
    ]);
    assert!(e.contains("not closed"), "{e}");
    let e = run_refused(&["commission", "tally", "--key", &p("commission.key")]);
    assert!(e.contains("not closed"), "{e}");

    run_ok(&["commission", "close", "--key", &p("commission.key")]);
    // A vote after close is refused.
    let e = run_refused(&[
        "vote",
        "--credential",
        &p("v2.cred"),
        "--choice",
        "mayor=bo",
    ]);
    assert!(e.contains("not open"), "{e}");
    let e = run_refused(&["commission", "tally", "--key", &p("commission.key")]);
    assert!(e.contains("threshold"), "{e}");
    run_ok(&[
        "trustee",
        "decrypt",
        "--key",
        &p("trustee1.key"),
        "--share",
        &p("share1.json"),
    ]);
    let result = run_ok(&["commission", "tally", "--key", &p("commission.key")]);
    let ada = result
        .lines()
        .find(|l| l.contains("Ada Lovelace"))
        .unwrap()
        .to_string();
    assert!(ada.trim().ends_with(" 2"), "{result}");
    let pool = result
        .lines()
        .find(|l| l.contains("Open-air pool"))
        .unwrap()
        .to_string();
    assert!(pool.trim().ends_with(" 1"), "{result}");

    run_ok(&["record", "export", "--out", &p("record.jsonl")]);
    let report = ok(&["verify", "--record", &p("record.jsonl")]);
    assert!(report.contains("every check passed"), "{report}");
    // The transcript alone, from the exported record.
    let transcript = ok(&["setup", "verify", "--record", &p("record.jsonl")]);
    assert!(
        transcript.contains("the transcript verifies"),
        "{transcript}"
    );
    let json = run_ok(&["verify", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["checks"][4]["counts"]["counted"], 2);

    // A tampered record fails verification with a non-zero status.
    let text = std::fs::read_to_string(dir.join("record.jsonl")).unwrap();
    let tampered = text.replacen("\"mayor\"", "\"mayoR\"", 1);
    std::fs::write(dir.join("tampered.jsonl"), tampered).unwrap();
    let out = zkvote(&["verify", "--record", &p("tampered.jsonl")]);
    assert!(!out.status.success());
    drop(board);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mistakes_get_one_clear_line() {
    let dir = temp_dir("mistakes");
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let board = start_board(&dir);

    // Board unreachable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{port}");
    let e = refused(&[
        "status",
        "--board",
        &nowhere,
        "--election",
        &"ab".repeat(32),
    ]);
    assert!(e.contains("board unreachable"), "{e}");
    // Wrong election ids.
    let e = refused(&["status", "--board", &board.url, "--election", "1234"]);
    assert!(e.contains("wrong election id"), "{e}");
    let e = refused(&[
        "status",
        "--board",
        &board.url,
        "--election",
        &"ab".repeat(32),
    ]);
    assert!(e.contains("wrong election id"), "{e}");
    // Unreadable credential files.
    std::fs::write(dir.join("garbage.cred"), "not a credential").unwrap();
    for cred in [p("missing.cred"), p("garbage.cred")] {
        let e = refused(&[
            "voter",
            "register",
            "--board",
            &board.url,
            "--election",
            &"ab".repeat(32),
            "--code",
            "x",
            "--credential",
            &cred,
        ]);
        assert!(e.contains("unreadable credential file"), "{e}");
    }
    // A credential file is never overwritten.
    ok(&["voter", "keygen", "--credential", &p("v.cred")]);
    let e = refused(&["voter", "keygen", "--credential", &p("v.cred")]);
    assert!(e.contains("v.cred"), "{e}");
    // Bad manifests.
    ok(&["commission", "keygen", "--key", &p("commission.key")]);
    let good = manifest(&dir, &dir.join("trustee1.key"));
    let text = std::fs::read_to_string(&good).unwrap();
    for (name, bad) in [
        ("syntax", text.replace("title = ", "title == ")),
        (
            "bounds",
            text.replace("max_selections = 1", "max_selections = 9"),
        ),
        (
            "commission",
            text.replace(
                "commission_key = \"auto\"",
                &format!("commission_key = \"{}\"", "11".repeat(32)),
            ),
        ),
    ] {
        let path = dir.join(format!("bad-{name}.toml"));
        std::fs::write(&path, bad).unwrap();
        let e = refused(&[
            "commission",
            "create",
            "--board",
            &board.url,
            "--key",
            &p("commission.key"),
            "--manifest",
            path.to_str().unwrap(),
        ]);
        assert!(e.contains("bad manifest"), "{name}: {e}");
    }
    // Verify without a record.
    let e = refused(&["verify", "--record", &p("missing.jsonl")]);
    assert!(e.contains("cannot read record"), "{e}");
    // A record that is not in the record's form still gets a report: check 1 fails and
    // names the line (or the missing checkpoint line), and the exit status is 1.
    for (name, text, expected) in [
        ("empty", "", "no checkpoint line"),
        (
            "float-index",
            "{\"index\":0.0,\"kind\":\"close\",\"entry\":{\"kind\":\"close\"}}\n",
            "record line 1",
        ),
    ] {
        let path = dir.join(format!("{name}.jsonl"));
        std::fs::write(&path, text).unwrap();
        let out = zkvote(&["verify", "--json", "--record", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["checks"][0]["status"], "fail", "{name}");
        let failures = report["checks"][0]["failures"].to_string();
        assert!(failures.contains(expected), "{name}: {failures}");
    }
    drop(board);
    std::fs::remove_dir_all(&dir).ok();
}
