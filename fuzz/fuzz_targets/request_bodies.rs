//! The request body of every endpoint that takes one; the first byte picks the endpoint.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_protocol::api::{CreateElection, IssueCodes, PostResult, Register, SetupContributionBody};
use zkvote_circuits::complete::CompleteBallot;
use zkvote_tally::{Complaint, Dealing, PartialDecryption};

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let _ = match which % 9 {
        0 => serde_json::from_slice::<CreateElection>(body).is_ok(),
        1 => serde_json::from_slice::<IssueCodes>(body).is_ok(),
        2 => serde_json::from_slice::<Register>(body).is_ok(),
        3 => serde_json::from_slice::<Dealing>(body).is_ok(),
        4 => serde_json::from_slice::<Complaint>(body).is_ok(),
        5 => serde_json::from_slice::<PartialDecryption>(body).is_ok(),
        6 => serde_json::from_slice::<PostResult>(body).is_ok(),
        7 => serde_json::from_slice::<SetupContributionBody>(body).is_ok(),
        _ => serde_json::from_slice::<CompleteBallot>(body).is_ok(),
    };
});
