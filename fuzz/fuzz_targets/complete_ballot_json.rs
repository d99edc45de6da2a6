//! The JSON complete ballot, as posted to `POST /v1/elections/{id}/ballots`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_circuits::complete::CompleteBallot;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = serde_json::from_slice::<CompleteBallot>(data) {
        let again: CompleteBallot =
            serde_json::from_slice(&serde_json::to_vec(&b).unwrap()).unwrap();
        assert_eq!(again, b);
    }
});
