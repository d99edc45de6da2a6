//! A trustee: contribute to the setup ceremony of the eligibility keys (version-2
//! elections), take part in the key ceremony over the board, and publish a partial
//! decryption of the aggregate once voting is closed.

use crate::client::{election_path, BoardClient};
use crate::commission::verified_tally_inputs;
use crate::setup::{self, Transcript};
use crate::CliError;
use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use serde_json::Value;
use std::time::{Duration, Instant};
use zkvote_circuits::setup::SetupPhase;
use zkvote_protocol::fields::ContributorName;
use zkvote_protocol::{Entry, EntryKind, Phase};
use zkvote_tally::{
    partial_decrypt, CeremonyContext, Complaint, Dealing, Trustee, TrusteeKeys, TrusteeShare,
};

/// The logged dealings, the first one per dealer in log order: a copy re-posted by anyone
/// (which a board must refuse) never counts as a second trustee.
pub async fn dealings(
    board: &BoardClient,
    election_id: &[u8; 32],
) -> Result<Vec<Dealing>, CliError> {
    Ok(first_per_dealer(
        board
            .entries_of_kind(election_id, EntryKind::Dealing)
            .await?
            .into_iter()
            .filter_map(|e| match e {
                Entry::Dealing { dealing } => Some(dealing),
                _ => None,
            }),
    ))
}

/// The first dealing of each dealer, in order: trustees are counted, not messages.
pub fn first_per_dealer(dealings: impl IntoIterator<Item = Dealing>) -> Vec<Dealing> {
    let mut seen = std::collections::BTreeSet::new();
    dealings
        .into_iter()
        .filter(|d| seen.insert(d.dealer))
        .collect()
}

async fn complaints(
    board: &BoardClient,
    election_id: &[u8; 32],
) -> Result<Vec<Complaint>, CliError> {
    Ok(board
        .entries_of_kind(election_id, EntryKind::Complaint)
        .await?
        .into_iter()
        .filter_map(|e| match e {
            Entry::Complaint { complaint } => Some(complaint),
            _ => None,
        })
        .collect())
}

/// This trustee's contribution to `phase` of the setup ceremony, made in the order of
/// trustee indices: it waits (until `deadline`) for the trustees before it to contribute
/// to the phase, so that no trustee's work is made on a transcript that then moves on
/// (the ceremony cannot close without every trustee anyway). Signed with the trustee's
/// manifest signing key, under its manifest name. Nothing is done again if the log holds
/// this trustee's contribution; returns whether one was made.
pub async fn contribute_to_setup(
    board: &BoardClient,
    t: &mut Transcript,
    keys: &TrusteeKeys,
    phase: SetupPhase,
    deadline: Instant,
) -> Result<bool, CliError> {
    let index = keys.index();
    let name = match t.manifest().trustees.iter().find(|m| m.index == index) {
        Some(m) if m.signing_key == keys.signing_public() => ContributorName::new(m.name.clone())
            .map_err(|e| {
            CliError::msg(format!("the manifest's name for trustee {index}: {e}"))
        })?,
        _ => {
            return Err(CliError::msg(format!(
                "this key file is not trustee {index} of the election's manifest"
            )))
        }
    };
    let key = SigningKey::from_bytes(&keys.signing_seed());
    loop {
        t.sync(board).await?;
        let before: Vec<u32> = t
            .setup()
            .missing_trustees(phase)
            .into_iter()
            .filter(|&i| i < index)
            .collect();
        if before.is_empty() || t.has_contributed(&keys.signing_public(), phase) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(CliError::msg(format!(
                "trustees {before:?} did not contribute to phase {} of the setup ceremony in time",
                u8::from(phase)
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(setup::contribute(board, t, &key, &name, phase, deadline)
        .await?
        .is_some())
}

/// A trustee's whole part in the setup ceremony of a version-2 election: a contribution
/// to each phase, then the wait for the commission to close it. Nothing for version 1.
pub async fn setup_ceremony(
    board: &BoardClient,
    election_id: &[u8; 32],
    keys: &TrusteeKeys,
    deadline: Instant,
) -> Result<(), CliError> {
    if board.manifest(election_id).await?.version() < 2 {
        return Ok(());
    }
    let mut t = Transcript::fetch(board, election_id).await?;
    if !t.closed() {
        for phase in [SetupPhase::One, SetupPhase::Two] {
            contribute_to_setup(board, &mut t, keys, phase, deadline).await?;
        }
    }
    setup::wait_closed(board, election_id, deadline).await
}

/// Deals and posts this trustee's dealing. Refuses if the trustee already dealt: a
/// second, different dealing would disqualify it.
pub async fn deal(
    board: &BoardClient,
    election_id: &[u8; 32],
    keys: TrusteeKeys,
) -> Result<Trustee<zkvote_tally::ceremony::Dealt>, CliError> {
    let manifest = board.manifest(election_id).await?;
    let ctx =
        CeremonyContext::from_manifest(&manifest).map_err(|e| CliError::msg(e.to_string()))?;
    let index = keys.index();
    match ctx.trustee(index) {
        Some(t) if t.signing_key.to_bytes() == keys.signing_public() => {}
        _ => {
            return Err(CliError::msg(format!(
                "this key file is not trustee {index} of the election's manifest"
            )))
        }
    }
    if dealings(board, election_id)
        .await?
        .iter()
        .any(|d| d.dealer == index)
    {
        return Err(CliError::msg(format!(
            "trustee {index} has already dealt in this election; a ceremony cannot be restarted"
        )));
    }
    let (dealt, dealing) = Trustee::new(keys, ctx)
        .map_err(|e| CliError::msg(e.to_string()))?
        .deal(&mut OsRng);
    let _: Value = board
        .post_json(
            &format!("{}/dealings", election_path(election_id)),
            &dealing,
        )
        .await?;
    Ok(dealt)
}

/// The rest of the ceremony after dealing: waits for a dealing from every trustee (or for
/// voting to open without some), checks its own shares and posts complaints, waits for
/// voting to open, and derives its key share from the dealings and complaints logged
/// before the open (checked against the joint key the board opened with).
pub async fn complete(
    board: &BoardClient,
    election_id: &[u8; 32],
    dealt: Trustee<zkvote_tally::ceremony::Dealt>,
    trustees: usize,
    timeout: Duration,
) -> Result<TrusteeShare, CliError> {
    let start = Instant::now();
    let all = loop {
        let d = dealings(board, election_id).await?;
        if d.len() >= trustees || board.status(election_id).await?.joint_key.is_some() {
            break d;
        }
        if start.elapsed() > timeout {
            return Err(CliError::msg(format!(
                "only {} of {trustees} trustees dealt in time",
                d.len()
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let (checked, mine) = dealt.check(&all, &mut OsRng);
    for c in &mine {
        let _: Value = board
            .post_json(&format!("{}/complaints", election_path(election_id)), c)
            .await?;
    }
    let joint_key = loop {
        let s = board.status(election_id).await?;
        if let Some(k) = s.joint_key {
            break k;
        }
        if start.elapsed() > timeout {
            return Err(CliError::msg(
                "voting did not open in time: the commission opens once the ceremony is over",
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // Nothing is appended to the ceremony after the open: these are its final messages.
    let share = checked
        .finish(
            &dealings(board, election_id).await?,
            &complaints(board, election_id).await?,
            &mut OsRng,
        )
        .map_err(|e| CliError::msg(format!("the ceremony failed: {e}")))?;
    if hex::encode(share.outcome().joint_key.as_bytes()) != joint_key {
        return Err(CliError::msg(
            "the board opened the election under a joint key that is not the ceremony's",
        ));
    }
    Ok(share)
}

/// Verifies the record (checks 1 to 5), decrypts this trustee's part of the aggregate of
/// the counted ballots, and publishes it with its proofs.
pub async fn decrypt(
    board: &BoardClient,
    election_id: &[u8; 32],
    keys: &TrusteeKeys,
    share: &TrusteeShare,
) -> Result<(), CliError> {
    let status = board.status(election_id).await?;
    if status.phase != Phase::Closed {
        return Err(CliError::msg(format!(
            "the election is not closed (phase {}): trustees decrypt after the close",
            status.phase
        )));
    }
    let t = verified_tally_inputs(board, election_id).await?;
    if t.outcome != *share.outcome() {
        return Err(CliError::msg(
            "the record's ceremony outcome is not the one this share came from",
        ));
    }
    let pd = partial_decrypt(&t.ceremony, keys, share, &t.aggregate, &mut OsRng);
    let _: Value = board
        .post_json(
            &format!("{}/partial-decryptions", election_path(election_id)),
            &pd,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dealing(dealer: u32, mark: u8) -> Dealing {
        Dealing {
            dealer,
            commitments: Vec::new(),
            proofs: Vec::new(),
            shares: Vec::new(),
            signature: [mark; 64],
        }
    }

    #[test]
    fn copies_of_a_dealing_count_as_one_trustee() {
        // Trustee 1's dealing re-posted twice (and once altered) before trustee 2 dealt.
        let logged = vec![dealing(1, 0), dealing(1, 0), dealing(1, 7), dealing(2, 0)];
        let kept = first_per_dealer(logged);
        assert_eq!(
            kept.iter().map(|d| d.dealer).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(kept[0].signature, [0; 64]);
    }
}
