//! A version-2 election's setup ceremony through the HTTP API: contributions are checked
//! and appended in order, copies and early or late steps are refused with their stable
//! codes, and the commission's close pins the keys the board then serves.

use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zkvote_board::api::{header_map, sign_request};
use zkvote_circuits::groth16::{proving_key_from_pinned_bytes, vk_hash};
use zkvote_circuits::setup::{Ceremony, Contribution, SetupDigest, SetupPhase};
use zkvote_core::manifest::ManifestDocument;
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::Manifest;
use zkvote_protocol::api::{CreateElection, LoggedEntry, SetupContributionBody, SetupStatus};
use zkvote_protocol::fields::ContributorName;
use zkvote_protocol::setup::{contribution_entry, proving_key_hash};
use zkvote_protocol::{Entry, ErrorBody};
use zkvote_tally::TrusteeKeys;
use zkvote_testkit::now;
use zkvote_verifier::transcript::{read_transcript, verify_transcript};

mod common;
use common::serve_in_process;

struct Client {
    http: reqwest::Client,
    base: String,
    commission: SigningKey,
    path: String,
}

impl Client {
    async fn post(&self, path: &str, body: &impl serde::Serialize, signed: bool) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        let mut r = self.http.post(format!("{}{path}", self.base));
        if signed {
            let s = sign_request(&self.commission, "POST", path, &bytes, now());
            r = r.headers(header_map(&s));
        }
        let r = r.body(bytes).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// GET of the election's route `rest` (`/setup`, `/record`, ...).
    async fn get(&self, rest: &str) -> reqwest::Response {
        let url = format!("{}{}{rest}", self.base, self.path);
        self.http.get(url).send().await.unwrap()
    }

    async fn status(&self) -> SetupStatus {
        self.get("/setup").await.json().await.unwrap()
    }

    fn code(answer: &(u16, Value)) -> (u16, String) {
        let body: ErrorBody = serde_json::from_value(answer.1.clone()).unwrap();
        (answer.0, body.error.code.as_str().to_string())
    }
}

/// Rebuilds the transcript from the log's setup entries (as a contributor does) and signs
/// a fresh contribution to `phase`.
async fn contribute(
    c: &Client,
    m: &Manifest,
    who: &SigningKey,
    phase: SetupPhase,
) -> SetupContributionBody {
    let text = c
        .get("/entries?from=0&limit=100&kind=setup-contribution")
        .await
        .text()
        .await
        .unwrap();
    let page: Vec<LoggedEntry> = serde_json::from_str(&text).unwrap();
    let mut ceremony = Ceremony::new(&m.hash(), m.roll_depth);
    for line in page {
        if let Entry::SetupContribution {
            phase,
            params,
            proof,
            ..
        } = line.entry
        {
            let contribution = Contribution {
                phase,
                params: params.as_bytes().to_vec(),
                proof: proof.as_bytes().to_vec(),
            };
            ceremony.vartime_apply(&contribution, &mut OsRng).unwrap();
        }
    }
    let made = ceremony.contribute(phase, &mut OsRng).unwrap();
    let digest = SetupDigest::from_bytes(*ceremony.digest().as_bytes());
    let name = ContributorName::new(format!(
        "key {}",
        hex::encode(&who.verifying_key().to_bytes()[..4])
    ))
    .unwrap();
    SetupContributionBody::from_entry(
        contribution_entry(who, &m.hash(), &digest, name, made).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_ceremony_through_the_api() {
    let dir = std::env::temp_dir().join(format!("zkvote-setup-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("board.db").display());
    let board_key = SigningKey::generate(&mut OsRng);
    let base = serve_in_process(&url, &board_key).await;
    let commission = SigningKey::generate(&mut OsRng);
    let trustees: Vec<TrusteeKeys> = (1..=2)
        .map(|i| TrusteeKeys::generate(i, &mut OsRng))
        .collect();
    let mut doc = ManifestDocument::from(Manifest::from_toml(&sample_manifest_toml()).unwrap());
    doc.version = 2;
    doc.eligibility.groth16_vk_hash = None;
    doc.eligibility.roll_depth = 2;
    doc.commission_key = hex::encode(commission.verifying_key().to_bytes());
    doc.board_key = hex::encode(board_key.verifying_key().to_bytes());
    doc.trustees.threshold = 1;
    doc.trustees.members = trustees
        .iter()
        .map(|k| k.document(format!("T{}", k.index())))
        .collect();
    let m = Manifest::try_from(doc).unwrap();
    let c = Client {
        http: reqwest::Client::new(),
        base,
        commission,
        path: format!("/v1/elections/{}", hex::encode(m.election_id)),
    };
    let create = CreateElection {
        manifest: m.clone(),
        groth16_vk: None,
        proving_key: None,
    };
    assert_eq!(c.post("/v1/elections", &create, true).await.0, 201);
    let keys: Vec<SigningKey> = trustees
        .iter()
        .map(|t| SigningKey::from_bytes(&t.signing_seed()))
        .collect();
    let contributions = format!("{}/setup/contributions", c.path);

    // Before the ceremony closes there are no keys to serve, nor registrations.
    assert_eq!(c.get("/groth16-vk").await.status().as_u16(), 409);
    let first = contribute(&c, &m, &keys[0], SetupPhase::One).await;
    let answer = c.post(&contributions, &first, false).await;
    assert_eq!(answer.0, 201, "{answer:?}");
    // A copy is refused; so is a contribution made on the transcript before it.
    let again = c.post(&contributions, &first, false).await;
    assert_eq!(Client::code(&again), (409, "duplicate-entry".into()));
    // Phase 2 waits for trustee 2.
    let early = contribute(&c, &m, &keys[0], SetupPhase::Two).await;
    assert_eq!(
        Client::code(&c.post(&contributions, &early, false).await),
        (409, "setup-waiting".into())
    );
    let second = contribute(&c, &m, &keys[1], SetupPhase::One).await;
    let stale = contribute(&c, &m, &SigningKey::generate(&mut OsRng), SetupPhase::One).await;
    assert_eq!(c.post(&contributions, &second, false).await.0, 201);
    assert_eq!(
        Client::code(&c.post(&contributions, &stale, false).await),
        (409, "setup-moved-on".into())
    );
    for key in &keys {
        let p2 = contribute(&c, &m, key, SetupPhase::Two).await;
        if key == &keys[0] {
            // Not yet closable: trustee 2 has no phase-2 contribution.
            assert_eq!(
                Client::code(
                    &c.post(
                        &format!("{}/setup/close", c.path),
                        &serde_json::json!({}),
                        true
                    )
                    .await
                ),
                (409, "setup-waiting".into())
            );
        }
        assert_eq!(c.post(&contributions, &p2, false).await.0, 201);
    }
    let status = c.status().await;
    assert_eq!(
        (status.phase, status.closed, status.contributors.len()),
        (2, false, 4)
    );
    assert!(status.missing_phase1.is_empty() && status.missing_phase2.is_empty());

    // The commission closes it; the board serves exactly the pinned keys.
    assert_eq!(
        c.post(
            &format!("{}/setup/close", c.path),
            &serde_json::json!({}),
            true
        )
        .await
        .0,
        201
    );
    let status = c.status().await;
    assert!(status.closed);
    let pk_bytes = c.get("/proving-key").await.bytes().await.unwrap();
    let pk = proving_key_from_pinned_bytes(&pk_bytes).unwrap();
    assert_eq!(
        status.proving_key_hash,
        Some(hex::encode(proving_key_hash(&pk)))
    );
    let mut h = Sha256::new();
    h.update(zkvote_protocol::setup::PK_HASH_DOMAIN);
    h.update(&pk_bytes);
    assert_eq!(
        hex::encode(h.finalize()),
        status.proving_key_hash.clone().unwrap()
    );
    let vk: Value = c.get("/groth16-vk").await.json().await.unwrap();
    let vk_bytes = hex::decode(vk["groth16_vk"].as_str().unwrap()).unwrap();
    assert_eq!(
        vk_hash(&zkvote_circuits::groth16::verifying_key_from_bytes(&vk_bytes).unwrap()),
        vk_hash(&pk.vk)
    );
    // Nothing of the ceremony after it closed.
    let late = stale;
    assert_eq!(
        Client::code(&c.post(&contributions, &late, false).await),
        (409, "setup-closed".into())
    );
    // The record verifies, its ceremony checked and every contributor named (check 9).
    let record = c.get("/record").await.bytes().await.unwrap();
    let verify = |record: Vec<u8>| {
        tokio::task::spawn_blocking(move || {
            zkvote_verifier::verify_reader(&record[..], None).unwrap().0
        })
    };
    // A contribution whose contributor's name was changed no longer carries its
    // contributor's signature: check 9 names it.
    let text = String::from_utf8(record.to_vec()).unwrap();
    let tampered = text.replacen("\"contributor\":\"key ", "\"contributor\":\"kez ", 1);
    assert_ne!(tampered, text);
    let bad = verify(tampered.clone().into_bytes()).await.unwrap();
    assert_eq!(bad.check(9).status, zkvote_verifier::Status::Fail);
    assert!(bad.check(9).names(1), "{bad}");
    // The transcript alone (`zkvote setup verify`): it verifies, names every contributor
    // and the pinned keys, and the tampered one names the same entry.
    let transcript = |text: String| {
        tokio::task::spawn_blocking(move || {
            let entries = read_transcript(text.as_bytes()).unwrap();
            verify_transcript(&entries).unwrap()
        })
    };
    let alone = transcript(text.clone()).await.unwrap();
    assert!(alone.ok(), "{alone}");
    assert_eq!(alone.contributors.len(), 4);
    assert_eq!(
        alone.keys.as_ref().map(|k| hex::encode(k.pk_hash)),
        status.proving_key_hash
    );
    let refused = transcript(tampered).await.unwrap();
    assert!(!refused.ok());
    assert_eq!(refused.refused[0].0, 1, "{refused}");
    assert!(refused.to_string().contains("does NOT verify"));
    let report = verify(record.to_vec()).await.unwrap();
    assert!(report.ok(), "{report}");
    let setup = report.check(9);
    assert_eq!(setup.status, zkvote_verifier::Status::Pass, "{report}");
    assert_eq!(setup.counts["phase-1 contributions"], 2);
    assert_eq!(setup.counts["phase-2 contributions"], 2);
    let note = setup.note.as_deref().unwrap();
    assert!(
        note.contains("(trustee 1)") && note.contains("(trustee 2)"),
        "{note}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
