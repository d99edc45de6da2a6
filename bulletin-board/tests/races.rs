//! Phase-changing entries racing other appends, with two board processes on one
//! PostgreSQL database: registrations sent to both boards while one of them freezes the
//! roll, and a trustee's dealing sent to one board while the other opens voting. The
//! frozen roll and the joint key must always cover exactly the entries logged before
//! them (the record verifies), and a loser of a race gets a 409 with a stable code, never
//! a 5xx. A signed commission request is carried out once, by one of the boards. Needs
//! `ZKVOTE_TEST_POSTGRES_URL` (`scripts/test.sh` starts a throwaway cluster).

mod common;

use common::*;
use rand::rngs::OsRng;
use serde_json::Value;
use std::time::Duration;
use zkvote_circuits::credential::Credential;
use zkvote_tally::{CeremonyContext, Trustee};
use zkvote_testkit::now;
use zkvote_verifier::{verify, Record, Status};

const ITERATIONS: usize = 6;
const VOTERS: usize = 48;

async fn post_status(http: &reqwest::Client, url: String, body: Vec<u8>) -> (u16, Value) {
    let r = http.post(url).body(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn signed_status(
    http: &reqwest::Client,
    base: &str,
    key: &ed25519_dalek::SigningKey,
    path: &str,
) -> (u16, Value) {
    let body = b"{}".to_vec();
    let headers = zkvote_board::api::header_map(&zkvote_board::api::sign_request(
        key,
        "POST",
        path,
        &body,
        now(),
    ));
    let r = http
        .post(format!("{base}{path}"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_entries_never_miss_a_racing_append() {
    let http = reqwest::Client::new();
    let boards = TwoBoards::start(&http, "races").await;
    let (bases, board_vk) = (&boards.bases, boards.key);
    let (mut frozen_out, mut late_dealings) = (0, 0);
    for iteration in 0..ITERATIONS {
        let e =
            NewElection::create(&http, &bases[0], &board_vk, (VOTERS, 6), (3, 2), "reject").await;
        // A signed request carried out by one board is refused by the other.
        let codes_path = format!("{}/registration-codes", e.path);
        let body = br#"{"count":1}"#.to_vec();
        let once = zkvote_board::api::header_map(&zkvote_board::api::sign_request(
            &e.commission,
            "POST",
            &codes_path,
            &body,
            now(),
        ));
        for (base, expected) in [(&bases[0], 200), (&bases[1], 409), (&bases[0], 409)] {
            let r = http
                .post(format!("{base}{codes_path}"))
                .headers(once.clone())
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), expected);
        }
        let ctx = CeremonyContext::from_manifest(&e.manifest).unwrap();
        let dealings: Vec<_> = e
            .trustees
            .iter()
            .map(|k| {
                Trustee::new(k.clone(), ctx.clone())
                    .unwrap()
                    .deal(&mut OsRng)
                    .1
            })
            .collect();
        for d in &dealings[..1] {
            post(
                &http,
                &bases[0],
                &format!("{}/dealings", e.path),
                serde_json::to_vec(d).unwrap(),
            )
            .await;
        }

        // Registrations to both boards while board B freezes the roll.
        let mut tasks = Vec::new();
        for i in 0..VOTERS {
            let url = format!("{}{}/registrations", bases[i % 2], e.path);
            let body = e.registration(i, &Credential::generate(&mut OsRng));
            let http = http.clone();
            tasks.push(tokio::spawn(
                async move { post_status(&http, url, body).await },
            ));
        }
        tokio::time::sleep(Duration::from_millis(5 + 3 * iteration as u64)).await;
        let (s, v) = signed_status(
            &http,
            &bases[1],
            &e.commission,
            &format!("{}/freeze", e.path),
        )
        .await;
        assert_eq!(s, 201, "freeze: {v}");
        for t in tasks {
            let (s, v) = t.await.unwrap();
            match s {
                201 => {}
                409 => {
                    assert_eq!(v["error"]["code"], "roll-frozen", "{v}");
                    frozen_out += 1;
                }
                other => panic!("registration racing the freeze got {other}: {v}"),
            }
        }

        // With one dealing of a threshold of two, nobody could decrypt: opening is refused.
        let (s, v) =
            signed_status(&http, &bases[0], &e.commission, &format!("{}/open", e.path)).await;
        assert_eq!(
            (s, &v["error"]["code"]),
            (409, &Value::from("ceremony-failed"))
        );
        post(
            &http,
            &bases[1],
            &format!("{}/dealings", e.path),
            serde_json::to_vec(&dealings[1]).unwrap(),
        )
        .await;

        // Trustee 3's dealing to board A while board B opens voting.
        let url = format!("{}{}/dealings", bases[0], e.path);
        let body = serde_json::to_vec(&dealings[2]).unwrap();
        let dealing = {
            let http = http.clone();
            tokio::spawn(async move { post_status(&http, url, body).await })
        };
        tokio::time::sleep(Duration::from_millis(iteration as u64)).await;
        let (s, v) =
            signed_status(&http, &bases[1], &e.commission, &format!("{}/open", e.path)).await;
        assert_eq!(s, 201, "open: {v}");
        match dealing.await.unwrap() {
            (201, _) => {}
            (409, v) => {
                assert_eq!(v["error"]["code"], "ceremony-over", "{v}");
                late_dealings += 1;
            }
            (other, v) => panic!("a dealing racing the open got {other}: {v}"),
        }

        // The record verifies: the frozen roll is exactly the registrations before it, and
        // the open entry's key is exactly the dealings before it.
        let text = get_text(&http, format!("{}{}/record", bases[0], e.path)).await;
        let report = verify(&Record::parse(&text).unwrap());
        for n in 1..=4u8 {
            assert_ne!(report.check(n).status, Status::Fail, "{report}");
        }
        let status: Value =
            serde_json::from_str(&get_text(&http, format!("{}{}", bases[1], e.path)).await)
                .unwrap();
        assert_eq!(status["phase"], "open");
    }
    println!(
        "{frozen_out} registrations refused by the freeze, {late_dealings} dealings by the open, over {ITERATIONS} races"
    );
    drop(boards);
}
