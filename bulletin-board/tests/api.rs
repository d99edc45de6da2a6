//! A whole election through the HTTP API on loopback, with the refusals a board must make.

use base64::Engine;
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use std::sync::Arc;
use zkvote_board::api::{router, sign_request, Board, BoardConfig, Creators};
use zkvote_board::*;
use zkvote_circuits::complete::{build_complete_ballot, CompleteBallot};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::groth16::{key_to_bytes, setup, vk_hash};
use zkvote_circuits::merkle::bucket::{BucketId, RollBucket};
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::log::{leaf_hash, Checkpoint, MemoryTree, Receipt, BOARD_KEY_NAME};
use zkvote_core::manifest::ManifestDocument;
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::*;
use zkvote_protocol::voter::roll::check_registration;
use zkvote_tally::*;
use zkvote_testkit::now;

const DEPTH: u8 = 4;

mod common;
use common::serve_in_process as serve;

struct Client {
    http: reqwest::Client,
    base: String,
    commission: SigningKey,
}

impl Client {
    async fn signed(&self, path: &str, body: &Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        let signed = sign_request(&self.commission, "POST", path, &bytes, now());
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .headers(zkvote_board::api::header_map(&signed))
            .body(bytes)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn with_headers(
        &self,
        path: &str,
        body: Vec<u8>,
        headers: reqwest::header::HeaderMap,
    ) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_election_over_http() {
    let dir = std::env::temp_dir().join(format!("zkvote-api-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("board.db").display());
    let board_key = SigningKey::generate(&mut OsRng);
    let commission = SigningKey::generate(&mut OsRng);
    let base = serve(&url, &board_key).await;
    let c = Client {
        http: reqwest::Client::new(),
        base,
        commission: commission.clone(),
    };

    // The election: 3 trustees (threshold 2), a small roll.
    let (pk, _) = setup(DEPTH, &mut OsRng);
    let trustees: Vec<TrusteeKeys> = (1..=3)
        .map(|i| TrusteeKeys::generate(i, &mut OsRng))
        .collect();
    let mut id = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    let manifest = zkvote_testkit::TestManifest {
        election_id: id,
        commission: &commission.verifying_key(),
        board: &board_key.verifying_key(),
        eligibility: &pk,
        roll_depth: DEPTH,
        revote_policy: "reject",
        trustees: (&trustees, 2),
    }
    .build(&sample_manifest_toml());
    let e = format!("/v1/elections/{}", hex::encode(id));
    let create = serde_json::to_value(zkvote_testkit::create_election(&manifest, &pk)).unwrap();

    // Unsigned and wrongly signed commission requests are refused.
    let (s, v) = c
        .post("/v1/elections", serde_json::to_vec(&create).unwrap())
        .await;
    assert_eq!((s, code(&v)), (401, "bad-signature"));
    let impostor = Client {
        http: c.http.clone(),
        base: c.base.clone(),
        commission: SigningKey::generate(&mut OsRng),
    };
    let (s, v) = impostor.signed("/v1/elections", &create).await;
    assert_eq!((s, code(&v)), (401, "bad-signature"));
    let (s, v) = c.post("/v1/elections", b"{not json".to_vec()).await;
    assert_eq!((s, code(&v)), (400, "malformed-json"));

    let (s, v) = c.signed("/v1/elections", &create).await;
    assert_eq!(s, 201, "{v}");
    let vkey = board_key.verifying_key();
    serde_json::from_value::<Receipt>(v)
        .unwrap()
        .verify(&id, &vkey)
        .unwrap();
    let (s, v) = c.signed("/v1/elections", &create).await;
    assert_eq!((s, code(&v)), (409, "election-exists"));

    // A signed request is single-use: the exact same headers and body, sent again within
    // the timestamp window, are refused and issue nothing.
    let codes_path = format!("{e}/registration-codes");
    let body = serde_json::to_vec(&json!({ "count": 1 })).unwrap();
    let once = zkvote_board::api::header_map(&sign_request(
        &commission,
        "POST",
        &codes_path,
        &body,
        now(),
    ));
    let (s, v) = c
        .with_headers(&codes_path, body.clone(), once.clone())
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .with_headers(&codes_path, body.clone(), once.clone())
        .await;
    assert_eq!((s, code(&v)), (409, "replayed-request"), "{v}");
    // Timestamps in any form but canonical decimal are refused, without overflow.
    for ts in [
        format!("+{}", now()),
        format!("0{}", now()),
        format!("{}", i128::from(now()) - (1i128 << 63)),
        "-0".to_string(),
        format!("{}.0", now()),
        "99999999999999999999".to_string(),
    ] {
        let mut headers = once.clone();
        headers.insert("x-zkvote-timestamp", ts.parse().unwrap());
        let (s, v) = c.with_headers(&codes_path, body.clone(), headers).await;
        assert_eq!((s, code(&v)), (401, "bad-signature"), "{ts}: {v}");
    }
    // A nonce that is not 32 lowercase hex digits is refused.
    let mut headers = once.clone();
    headers.insert("x-zkvote-nonce", "ABCDEF".repeat(5).parse().unwrap());
    let (s, v) = c.with_headers(&codes_path, body.clone(), headers).await;
    assert_eq!((s, code(&v)), (401, "bad-signature"), "{v}");

    // Registration with one-time codes.
    let (s, v) = c
        .signed(&format!("{e}/registration-codes"), &json!({ "count": 4 }))
        .await;
    assert_eq!(s, 200);
    let codes: Vec<String> = serde_json::from_value(v["codes"].clone()).unwrap();
    let voters: Vec<Credential> = (0..4).map(|_| Credential::generate(&mut OsRng)).collect();
    for (v, code_) in voters.iter().zip(&codes) {
        let body =
            json!({ "code": code_, "commitment": hex::encode(fr_to_bytes(&v.commitment())) });
        let (s, r) = c
            .post(
                &format!("{e}/registrations"),
                serde_json::to_vec(&body).unwrap(),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    }
    let again = json!({ "code": codes[0], "commitment": hex::encode(fr_to_bytes(&Credential::generate(&mut OsRng).commitment())) });
    let (s, v) = c
        .post(
            &format!("{e}/registrations"),
            serde_json::to_vec(&again).unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (403, "bad-registration-code"));

    // Key ceremony over the board.
    let ctx = CeremonyContext::from_manifest(&manifest).unwrap();
    let (dealt, dealings): (Vec<_>, Vec<_>) = trustees
        .iter()
        .map(|k| {
            Trustee::new(k.clone(), ctx.clone())
                .unwrap()
                .deal(&mut OsRng)
        })
        .unzip();
    let mut forged = dealings[0].clone();
    forged.signature[0] ^= 1;
    let (s, v) = c
        .post(
            &format!("{e}/dealings"),
            serde_json::to_vec(&forged).unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (401, "bad-signature"));
    for d in &dealings {
        let (s, v) = c
            .post(&format!("{e}/dealings"), serde_json::to_vec(d).unwrap())
            .await;
        assert_eq!(s, 201, "{v}");
    }
    // A dealing is public: a copy re-posted by anyone is refused.
    let (s, v) = c
        .post(
            &format!("{e}/dealings"),
            serde_json::to_vec(&dealings[0]).unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "duplicate-dealing"), "{v}");
    let (_, st) = c.get(&e).await;
    assert_eq!(serde_json::from_str::<Value>(&st).unwrap()["dealings"], 3);
    let shares: Vec<TrusteeShare> = dealt
        .into_iter()
        .map(|t| {
            let (t, complaints) = t.check(&dealings, &mut OsRng);
            assert!(complaints.is_empty());
            t.finish(&dealings, &[], &mut OsRng).unwrap()
        })
        .collect();

    // Freeze, open.
    let (s, _) = c.signed(&format!("{e}/open"), &json!({})).await;
    assert_eq!(s, 409);
    let (s, body) = c.get(&format!("{e}/roll")).await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("roll-not-frozen"));
    let (s, v) = c.signed(&format!("{e}/freeze"), &json!({})).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.signed(&format!("{e}/open"), &json!({})).await;
    assert_eq!(s, 201, "{v}");
    let roll = VoterRoll::new(DEPTH, voters.iter().map(|v| v.commitment()).collect()).unwrap();
    // The frozen roll as served: every commitment, 32 bytes each, in registration order.
    let served = c
        .http
        .get(format!("{}{e}/roll", c.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let expected: Vec<u8> = voters
        .iter()
        .flat_map(|v| fr_to_bytes(&v.commitment()))
        .collect();
    assert_eq!(served.to_vec(), expected);
    let outcome = shares[0].outcome().clone();
    let ectx = ElectionContext::new(manifest.clone(), outcome.election_key());
    let vote = |i: usize, mayor: usize| -> CompleteBallot {
        let choices = Choices::from_indices(&manifest, &[vec![mayor], vec![i % 5]]).unwrap();
        build_complete_ballot(
            &ectx,
            &pk,
            &voters[i],
            &roll.path(i).unwrap(),
            &roll.root(),
            &choices,
            &mut OsRng,
        )
        .unwrap()
        .0
    };

    // Ballots.
    let (_, st) = c.get(&e).await;
    eprintln!("STATUS {st}");
    let mut ballots = Vec::new();
    for i in 0..3 {
        let b = vote(i, i % 2);
        let (s, v) = c
            .post(&format!("{e}/ballots"), serde_json::to_vec(&b).unwrap())
            .await;
        assert_eq!(s, 201, "{v}");
        serde_json::from_value::<Receipt>(v)
            .unwrap()
            .verify(&id, &vkey)
            .unwrap();
        ballots.push(b);
    }
    let (s, v) = c
        .post(
            &format!("{e}/ballots"),
            serde_json::to_vec(&vote(0, 3)).unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "already-voted"));
    let (s, v) = c
        .post(
            &format!("{e}/ballots"),
            serde_json::to_vec(&ballots[1]).unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "already-voted"));
    let mut other = vote(3, 1);
    other.ballot.election_id[0] ^= 1;
    let (s, v) = c
        .post(&format!("{e}/ballots"), serde_json::to_vec(&other).unwrap())
        .await;
    assert_eq!((s, code(&v)), (400, "invalid-ballot"));
    let fresh = vote(3, 1);
    let a_hex = hex::encode(fresh.ballot.contests[0].selections[0].a.as_bytes());
    let p_hex = format!("ed{}7f", "ff".repeat(30));
    let noncanonical = serde_json::to_string(&fresh)
        .unwrap()
        .replacen(&a_hex, &p_hex, 1);
    let (s, v) = c
        .post(&format!("{e}/ballots"), noncanonical.into_bytes())
        .await;
    assert_eq!((s, code(&v)), (400, "invalid-encoding"));
    let (s, v) = c.post(&format!("{e}/ballots"), vec![b'x'; 300 << 10]).await;
    assert_eq!((s, code(&v)), (413, "body-too-large"));

    let (s, v) = c
        .post(&format!("{e}/ballots"), b"{\"ballot\":".to_vec())
        .await;
    assert_eq!((s, code(&v)), (400, "malformed-json"));
    // By digest (tracker): a fresh receipt and an inclusion proof.
    let digest = ballots[2].ballot.digest(&manifest.hash());
    let (s, r) = c.get(&format!("{e}/ballots/{digest}")).await;
    assert_eq!(s, 200, "{r}");
    let by_digest: Receipt = serde_json::from_str(&r).unwrap();
    assert_eq!(by_digest.index, 12);
    by_digest.verify(&id, &vkey).unwrap();
    let (s, r) = c
        .get(&format!("{e}/proofs/inclusion?digest={digest}"))
        .await;
    assert_eq!(s, 200, "{r}");
    let inc: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(inc["index"], 12);
    let (s, r) = c.get(&format!("{e}/ballots/{}", "00".repeat(32))).await;
    assert_eq!(s, 404, "{r}");
    // A receipt fetched again later still verifies, against the newer checkpoint.
    let (s, r) = c.get(&format!("{e}/receipts/12")).await;
    assert_eq!(s, 200, "{r}");
    serde_json::from_str::<Receipt>(&r)
        .unwrap()
        .verify(&id, &vkey)
        .unwrap();

    // Close; a ballot after close is refused.
    let (s, v) = c.signed(&format!("{e}/close"), &json!({})).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = c
        .post(
            &format!("{e}/ballots"),
            serde_json::to_vec(&vote(3, 1)).unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "election-not-open"));

    // Trustees 1 and 3 decrypt; the commission publishes the result.
    let agg = aggregate(
        &manifest,
        &ballots.iter().map(|b| &b.ballot).collect::<Vec<_>>(),
    );
    let partials: Vec<PartialDecryption> = [0usize, 2]
        .iter()
        .map(|&i| partial_decrypt(&ctx, &trustees[i], &shares[i], &agg, &mut OsRng))
        .collect();
    for p in &partials {
        let (s, v) = c
            .post(
                &format!("{e}/partial-decryptions"),
                serde_json::to_vec(p).unwrap(),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = c
        .post(
            &format!("{e}/partial-decryptions"),
            serde_json::to_vec(&partials[0]).unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "duplicate-partial-decryption"), "{v}");
    let result = combine(
        &ctx,
        &outcome,
        &agg,
        &partials,
        &DlogTable::new(agg.ballots),
        &mut OsRng,
    )
    .unwrap();
    assert_eq!(result.counts[0], vec![2, 1, 0, 0]);
    let mut wrong = result.counts.clone();
    wrong[0][0] += 1;
    let (s, v) = c
        .signed(&format!("{e}/result"), &json!({ "counts": wrong }))
        .await;
    assert_eq!((s, code(&v)), (400, "wrong-result"));
    let (s, v) = c
        .signed(&format!("{e}/result"), &json!({ "counts": result.counts }))
        .await;
    assert_eq!(s, 201, "{v}");

    // The record: every entry's bytes hash to the signed root.
    let (s, record) = c.get(&format!("{e}/record")).await;
    assert_eq!(s, 200);
    let lines: Vec<Value> = record
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let note = lines.last().unwrap()["checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let cp = Checkpoint::verify(
        &note,
        &zkvote_core::log::origin_for(&id),
        BOARD_KEY_NAME,
        &vkey,
    )
    .unwrap();
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        entry: &'a serde_json::value::RawValue,
    }
    let raw: Vec<&str> = record.lines().collect();
    let tree = MemoryTree::from_leaf_hashes(raw[..raw.len() - 1].iter().map(|l| {
        leaf_hash(
            serde_json::from_str::<Line>(l)
                .unwrap()
                .entry
                .get()
                .as_bytes(),
        )
    }));
    assert_eq!((tree.size(), tree.root()), (cp.size, cp.root));
    assert_eq!(lines[0]["kind"], "manifest");
    assert_eq!(lines[lines.len() - 2]["kind"], "result");

    // A restarted board serves the same log and checkpoint.
    let base2 = serve(&url, &board_key).await;
    let c2 = Client {
        http: c.http.clone(),
        base: base2,
        commission,
    };
    let (_, cp1) = c.get(&format!("{e}/checkpoint")).await;
    let (_, cp2) = c2.get(&format!("{e}/checkpoint")).await;
    assert_eq!(cp1, cp2);
    let (s, v) = c2.get("/v1/elections/zz/manifest").await;
    assert_eq!(s, 400, "{v}");

    // Every refusal is JSON with a stable code, including the framework's own.
    let long = format!("/v1/elections/{}", "a".repeat(5000));
    for (method, path, status, expected) in [
        ("GET", "/v1/nowhere".to_string(), 404, "unknown-route"),
        ("GET", "/".to_string(), 404, "unknown-route"),
        ("DELETE", format!("{e}/ballots"), 405, "method-not-allowed"),
        ("GET", format!("{e}/ballots"), 405, "method-not-allowed"),
        ("GET", format!("{e}/receipts/abc"), 400, "bad-request"),
        ("GET", format!("{e}/entries?from=x"), 400, "bad-request"),
        (
            "GET",
            format!("{e}/proofs/inclusion?index=-1"),
            400,
            "bad-request",
        ),
        ("GET", long, 414, "uri-too-long"),
        // The largest index or size a client can send is refused, not a crash.
        (
            "GET",
            format!("{e}/receipts/{}", u64::MAX),
            400,
            "bad-proof-request",
        ),
        (
            "GET",
            format!("{e}/proofs/inclusion?index={0}&size={0}", u64::MAX),
            400,
            "bad-proof-request",
        ),
        (
            "GET",
            format!("{e}/proofs/consistency?old={0}&new={0}", u64::MAX),
            400,
            "bad-proof-request",
        ),
    ] {
        let r = c
            .http
            .request(method.parse().unwrap(), format!("{}{path}", c.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {path}");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/json",
            "{method} {path}"
        );
        if status == 405 {
            assert!(r.headers().contains_key("allow"), "{method} {path}");
        }
        let v: Value = r.json().await.unwrap();
        assert_eq!(code(&v), expected, "{method} {path}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operators_commissions_create_elections() {
    let dir = std::env::temp_dir().join(format!("zkvote-creators-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("board.db").display());
    let board_key = SigningKey::generate(&mut OsRng);
    let allowed = SigningKey::generate(&mut OsRng);
    let store = Store::open(&url).await.unwrap();
    let log = Arc::new(BoardLog::new(store.clone(), board_key.clone()));
    let config = BoardConfig::new(Creators::Only(vec![allowed.verifying_key().to_bytes()]));
    let board = Board::load(log, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(board)).await.unwrap() });
    let (pk, vk) = setup(DEPTH, &mut OsRng);
    let create = |commission: &SigningKey| {
        let mut id = [0u8; 32];
        OsRng.fill_bytes(&mut id);
        let mut doc = ManifestDocument::from(Manifest::from_toml(&sample_manifest_toml()).unwrap());
        doc.election_id = hex::encode(id);
        doc.commission_key = hex::encode(commission.verifying_key().to_bytes());
        doc.board_key = hex::encode(board_key.verifying_key().to_bytes());
        doc.eligibility.roll_depth = DEPTH;
        doc.eligibility.groth16_vk_hash = Some(hex::encode(vk_hash(&vk)));
        json!({
            "manifest": Manifest::try_from(doc).unwrap(),
            "groth16_vk": hex::encode(key_to_bytes(&vk)),
            "proving_key": base64::engine::general_purpose::STANDARD.encode(key_to_bytes(&pk)),
        })
    };
    let outsider = Client {
        http: reqwest::Client::new(),
        base: base.clone(),
        commission: SigningKey::generate(&mut OsRng),
    };
    let (s, v) = outsider
        .signed("/v1/elections", &create(&outsider.commission))
        .await;
    assert_eq!((s, code(&v)), (403, "commission-not-allowed"), "{v}");
    let insider = Client {
        http: reqwest::Client::new(),
        base,
        commission: allowed.clone(),
    };
    // Two elections with the same proving key: its 1.6 MB are stored once.
    let (s, v) = insider.signed("/v1/elections", &create(&allowed)).await;
    assert_eq!(s, 201, "{v}");
    let second = create(&allowed);
    let (s, v) = insider.signed("/v1/elections", &second).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(store.blob_contents().await.unwrap(), 1);
    let path = format!(
        "/v1/elections/{}/proving-key",
        second["manifest"]["election_id"].as_str().unwrap()
    );
    let served = reqwest::get(format!("{}{path}", insider.base))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.to_vec(), key_to_bytes(&pk));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_their_rate_are_refused() {
    let dir = std::env::temp_dir().join(format!("zkvote-rl-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = Arc::new(BoardLog::new(
        Store::open(&format!("sqlite://{}", dir.join("b.db").display()))
            .await
            .unwrap(),
        SigningKey::generate(&mut OsRng),
    ));
    let board = Board::load(log, BoardConfig::new(Creators::Anyone))
        .await
        .unwrap();
    let app = zkvote_board::api::router_with_limit(board, 1, 5);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = http
            .get(format!("http://{addr}/v1/health"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status().as_u16() == 429 {
            let v: Value = r.json().await.unwrap();
            assert_eq!(code(&v), "rate-limited");
        }
    }
    assert_eq!(&statuses[..5], &[200; 5]);
    assert!(statuses[5..].contains(&429), "{statuses:?}");
}

/// The OpenAPI description lists exactly the routes the router serves.
#[test]
fn openapi_lists_every_route() {
    let doc: Value = serde_json::from_str(zkvote_board::api::OPENAPI).unwrap();
    let mut documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    documented.sort();
    let source = include_str!("../src/api/mod.rs");
    // Every route's path is a literal on its own line or after `.route(`.
    let mut served: Vec<String> = source
        .lines()
        .map(|l| l.trim().trim_start_matches(".route("))
        .filter_map(|l| l.strip_prefix("\"/v1"))
        .map(|l| format!("/v1{}", l.split('"').next().unwrap()))
        .collect();
    served.sort();
    served.dedup();
    assert_eq!(documented, served);
}

/// A version-1 election on a fresh in-process board (SQLite) with voters registered.
struct Registered {
    c: Client,
    /// The board's database.
    url: String,
    board_key: SigningKey,
    manifest: Manifest,
    /// The election's path.
    e: String,
    id: [u8; 32],
    /// Per registration: its commitment (hex) and the board's answer.
    answers: Vec<(String, Value)>,
}

/// [`Registered`] with `voters` in a roll of `depth`.
async fn registered(voters: usize, depth: u8) -> Registered {
    let dir = std::env::temp_dir().join(format!("zkvote-api-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("board.db").display());
    let board_key = SigningKey::generate(&mut OsRng);
    let commission = SigningKey::generate(&mut OsRng);
    let c = Client {
        http: reqwest::Client::new(),
        base: serve(&url, &board_key).await,
        commission: commission.clone(),
    };
    let (pk, _) = setup(depth, &mut OsRng);
    let mut id = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    let mut doc = ManifestDocument::from(Manifest::from_toml(&sample_manifest_toml()).unwrap());
    doc.election_id = hex::encode(id);
    doc.commission_key = hex::encode(commission.verifying_key().to_bytes());
    doc.board_key = hex::encode(board_key.verifying_key().to_bytes());
    doc.eligibility.roll_depth = depth;
    doc.eligibility.groth16_vk_hash = Some(hex::encode(vk_hash(&pk.vk)));
    let manifest = Manifest::try_from(doc).unwrap();
    let e = format!("/v1/elections/{}", hex::encode(id));
    let create = json!({
        "manifest": manifest,
        "groth16_vk": hex::encode(key_to_bytes(&pk.vk)),
        "proving_key": base64::engine::general_purpose::STANDARD.encode(key_to_bytes(&pk)),
    });
    let (s, v) = c.signed("/v1/elections", &create).await;
    assert_eq!(s, 201, "{v}");
    let (_, v) = c
        .signed(
            &format!("{e}/registration-codes"),
            &json!({ "count": voters }),
        )
        .await;
    let codes: Vec<String> = serde_json::from_value(v["codes"].clone()).unwrap();
    let mut answers = Vec::new();
    for code_ in &codes {
        let commitment = Credential::generate(&mut OsRng).commitment();
        let body = json!({ "code": code_, "commitment": hex::encode(fr_to_bytes(&commitment)) });
        let (s, r) = c
            .post(
                &format!("{e}/registrations"),
                serde_json::to_vec(&body).unwrap(),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        answers.push((hex::encode(fr_to_bytes(&commitment)), r));
    }
    Registered {
        c,
        url,
        board_key,
        manifest,
        e,
        id,
        answers,
    }
}

/// A record longer than one page of the store is streamed whole: every entry once, in
/// order, hashing to the signed checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_record_is_streamed_whole() {
    const VOTERS: usize = 1_100;
    let Registered {
        c,
        board_key,
        e,
        id,
        ..
    } = registered(VOTERS, 11).await;
    let (s, text) = c.get(&format!("{e}/record")).await;
    assert_eq!(s, 200);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), VOTERS + 2);
    let mut leaves = Vec::new();
    for (i, line) in lines[..VOTERS + 1].iter().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["index"], i as u64);
        let raw = line
            .split_once(",\"entry\":")
            .unwrap()
            .1
            .strip_suffix('}')
            .unwrap();
        leaves.push(leaf_hash(raw.as_bytes()));
    }
    let note: Value = serde_json::from_str(lines[VOTERS + 1]).unwrap();
    let cp = Checkpoint::verify(
        note["checkpoint"].as_str().unwrap(),
        &zkvote_core::log::origin_for(&id),
        BOARD_KEY_NAME,
        &board_key.verifying_key(),
    )
    .unwrap();
    assert_eq!(cp.size, VOTERS as u64 + 1);
    assert_eq!(cp.root, MemoryTree::from_leaf_hashes(leaves).root());
}

/// The frozen roll by bucket (`docs/protocol.md` 9.4.1): each registration's answer
/// carries its receipt and its roll position; every bucket's answer gives the frozen root
/// and the whole roll's paths; a bucket outside the roll is refused; another board
/// process on the same database gives the same answers (from the stored levels).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frozen_roll_is_served_by_bucket() {
    const VOTERS: usize = 600;
    const DEPTH: u8 = 10;
    let r = registered(VOTERS, DEPTH).await;
    let (c, e) = (&r.c, &r.e);
    let mut commitments = Vec::new();
    for (i, (commitment, answer)) in r.answers.iter().enumerate() {
        assert_eq!(answer["roll_position"], i as u64, "{answer}");
        let receipt: Receipt = serde_json::from_value(answer["receipt"].clone()).unwrap();
        assert_eq!(receipt.index, i as u64 + 1);
        let bytes = zkvote_core::codec::hex32(commitment).unwrap();
        commitments.push(zkvote_circuits::field::fr_from_bytes(&bytes, "c").unwrap());
        // The voter's check of the answer: signed, included, and its own registration.
        let answer: zkvote_protocol::api::Registered =
            serde_json::from_value(answer.clone()).unwrap();
        check_registration(&r.manifest, commitments.last().unwrap(), &answer).unwrap();
        if i > 0 {
            let e = check_registration(&r.manifest, &commitments[0], &answer).unwrap_err();
            assert!(e.to_string().contains("not this registration"), "{e}");
        }
    }
    let (s, body) = c.get(&format!("{e}/roll/buckets/0?bits=8")).await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("roll-not-frozen"));
    let (s, v) = c.signed(&format!("{e}/freeze"), &json!({})).await;
    assert_eq!(s, 201, "{v}");
    // The freeze kept the tree it built: no bucket request has to build it again.
    let roll = VoterRoll::new(DEPTH, commitments.clone()).unwrap();
    let store = Store::open(&r.url).await.unwrap();
    let floor = store.blob(&r.id, "roll-levels").await.unwrap().unwrap();
    let kept = zkvote_circuits::merkle::bucket::UpperLevels::from_floor_bytes(DEPTH, &floor);
    assert_eq!(kept.unwrap().root(), roll.root());

    let fetch = |base: String, index: u64, bits: u8| {
        let http = c.http.clone();
        let path = format!("{base}{e}/roll/buckets/{index}?bits={bits}");
        async move {
            let r = http.get(path).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().to_vec()
        }
    };
    for bits in [8u8, 9, 10] {
        for index in 0..1u64 << (DEPTH - bits) {
            let id = BucketId::new(DEPTH, bits, index).unwrap();
            let bucket = RollBucket::decode(id, &fetch(c.base.clone(), index, bits).await).unwrap();
            assert_eq!(bucket.root(), roll.root(), "bits {bits} bucket {index}");
            let range = id.leaf_range(VOTERS as u64);
            let mine = &commitments[range.start as usize..range.end as usize];
            assert_eq!(bucket.leaves(), mine);
            for (p, leaf) in range.zip(mine) {
                assert_eq!(bucket.path(leaf), roll.path(p as usize));
            }
        }
    }
    for (query, expected) in [
        ("0?bits=7", "bad-bucket"),
        ("0?bits=11", "bad-bucket"),
        ("4?bits=8", "bad-bucket"),
        ("0", "bad-request"),
        ("x?bits=8", "bad-request"),
    ] {
        let (s, body) = c.get(&format!("{e}/roll/buckets/{query}")).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((s, code(&v)), (400, expected), "{query}: {body}");
    }
    let other = serve(&r.url, &r.board_key).await;
    for index in [0, 2] {
        assert_eq!(
            fetch(other.clone(), index, 8).await,
            fetch(c.base.clone(), index, 8).await
        );
    }
}

/// A booth on another origin may read and post: every answer allows any origin, and a
/// CORS preflight is answered; an `OPTIONS` request that is not a preflight is still a
/// method the API does not have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_origins_may_call_the_api() {
    let dir = std::env::temp_dir().join(format!("zkvote-cors-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("b.db").display());
    let base = common::serve_in_process(&url, &SigningKey::generate(&mut OsRng)).await;
    let http = reqwest::Client::new();
    let get = http
        .get(format!("{base}/v1/health"))
        .header("origin", "https://booth.example")
        .send()
        .await
        .unwrap();
    assert_eq!(get.headers()["access-control-allow-origin"], "*");
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/v1/elections/{}/ballots", "ab".repeat(32)),
        )
        .header("origin", "https://booth.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET, POST"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "content-type"
    );
    let options = http
        .request(reqwest::Method::OPTIONS, format!("{base}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status().as_u16(), 405);
    std::fs::remove_dir_all(&dir).ok();
}
