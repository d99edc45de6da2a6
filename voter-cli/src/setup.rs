//! The setup ceremony of a version-2 election's eligibility keys, as its contributors and
//! the commission run it (`docs/protocol.md` section 9.8): the transcript rebuilt from the
//! board's log with every entry checked, a fresh contribution made on it, signed and
//! posted (and made again if another contribution landed first), and the close. Trustees
//! contribute to both phases (`zkvote trustee ceremony`); anyone else may while the
//! ceremony is open (`zkvote setup contribute`); the commission closes it (`zkvote
//! commission close-setup`).

use crate::client::{election_path, BoardClient};
use crate::CliError;
use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use std::time::{Duration, Instant};
use zkvote_circuits::setup::SetupPhase;
use zkvote_core::log::Receipt;
use zkvote_protocol::api::{EmptyBody, SetupContributionBody, SetupStatus};
use zkvote_protocol::fields::ContributorName;
use zkvote_protocol::setup::{contribution_entry, SetupState};
use zkvote_protocol::{ElectionState, Entry, EntryKind, ErrorCode};

/// A version-2 election's setup transcript as the board's log holds it, every entry
/// checked by the election state's rules (signatures, proofs of knowledge, updates, order).
/// Its checks and contributions run in place on the (multi-threaded) runtime's worker.
pub struct Transcript {
    election_id: [u8; 32],
    state: ElectionState,
    /// The first log index not yet read.
    next: u64,
}

impl Transcript {
    /// The election's transcript: its manifest (which must be version 2) and every setup
    /// entry logged so far, checked.
    pub async fn fetch(board: &BoardClient, election_id: &[u8; 32]) -> Result<Self, CliError> {
        let genesis = board
            .entries_of_kind_from(election_id, EntryKind::Manifest, 0)
            .await
            .map_err(|e| e.with_unknown_election(election_id))?;
        let Some((0, genesis)) = genesis.into_iter().next() else {
            return Err(CliError::msg(
                "the board's log does not start with a manifest",
            ));
        };
        let state = ElectionState::from_genesis(&genesis)
            .map_err(|e| CliError::msg(format!("the board's manifest is refused: {e}")))?;
        if &state.manifest().election_id != election_id {
            return Err(CliError::msg(
                "the board answered with another election's manifest",
            ));
        }
        if state.setup().is_none() {
            return Err(CliError::msg(
                "this is a version-1 election: it has no setup ceremony",
            ));
        }
        let mut t = Transcript {
            election_id: *election_id,
            state,
            next: 1,
        };
        t.sync(board).await?;
        Ok(t)
    }

    /// Reads and checks the setup entries logged since the last read. An entry that does
    /// not verify means the board appended what it must refuse: nothing is built on it.
    pub async fn sync(&mut self, board: &BoardClient) -> Result<(), CliError> {
        // The final entry first: once it exists, every contribution precedes it.
        let last = board
            .entries_of_kind_from(&self.election_id, EntryKind::SetupFinal, self.next)
            .await?;
        let mut new = board
            .entries_of_kind_from(&self.election_id, EntryKind::SetupContribution, self.next)
            .await?;
        new.extend(last);
        if new.is_empty() {
            return Ok(());
        }
        // The checks take seconds each: off the executor's other tasks.
        tokio::task::block_in_place(|| {
            for (index, entry) in &new {
                self.state.apply(entry).map_err(|e| {
                    CliError::msg(format!(
                        "the board's setup transcript does not verify at entry {index}: {e}"
                    ))
                })?;
                self.next = index + 1;
            }
            Ok(())
        })
    }

    /// The election's manifest.
    pub fn manifest(&self) -> &zkvote_core::Manifest {
        self.state.manifest()
    }

    /// The ceremony's state.
    pub fn setup(&self) -> &SetupState {
        self.state.setup().expect("a version-2 election")
    }

    /// Whether a `setup-final` entry has closed the ceremony.
    pub fn closed(&self) -> bool {
        self.state.proving_key_hash().is_some()
    }

    /// Whether `key` has contributed to `phase`.
    pub fn has_contributed(&self, key: &[u8; 32], phase: SetupPhase) -> bool {
        self.setup()
            .contributors()
            .iter()
            .any(|c| c.phase == phase && &c.key == key)
    }

    /// A fresh contribution to `phase` on the transcript as read, signed by `key`: the
    /// entry to post. The secrets are drawn from the OS and zeroized before this returns.
    async fn contribution(
        &self,
        key: &SigningKey,
        name: &ContributorName,
        phase: SetupPhase,
    ) -> Result<Entry, CliError> {
        let setup = self.setup();
        tokio::task::block_in_place(|| {
            let made = setup
                .ceremony()
                .contribute(phase, &mut OsRng)
                .map_err(|e| CliError::msg(format!("cannot contribute: {e}")))?;
            contribution_entry(
                key,
                &self.state.manifest().hash(),
                setup.ceremony().digest(),
                name.clone(),
                made,
            )
            .map_err(CliError::msg)
        })
    }
}

/// Contributes once to `phase` under `key`, named `name`, on the transcript as the board
/// holds it: made, posted, and made again on the new transcript whenever another
/// contribution landed first, until `deadline`. Returns the log index of the contribution,
/// or `None` if this key had already contributed to the phase.
pub async fn contribute(
    board: &BoardClient,
    t: &mut Transcript,
    key: &SigningKey,
    name: &ContributorName,
    phase: SetupPhase,
    deadline: Instant,
) -> Result<Option<u64>, CliError> {
    let path = format!("{}/setup/contributions", election_path(&t.election_id));
    loop {
        t.sync(board).await?;
        if t.has_contributed(&key.verifying_key().to_bytes(), phase) {
            return Ok(None);
        }
        if t.closed() {
            return Err(CliError::msg("the setup ceremony has closed"));
        }
        let waiting = phase == SetupPhase::Two
            && t.setup().ceremony().phase() == SetupPhase::One
            && !t.setup().missing_trustees(SetupPhase::One).is_empty();
        if !waiting {
            let entry = t.contribution(key, name, phase).await?;
            let body = SetupContributionBody::from_entry(entry).expect("a contribution");
            match board.post_json::<Receipt>(&path, &body).await {
                Ok(r) => return Ok(Some(r.index)),
                Err(e) if matches!(e.code(), Some(ErrorCode::SetupMovedOn)) => {
                    // Another contribution landed first: contribute again on the new
                    // transcript, unless the time is up.
                    if Instant::now() >= deadline {
                        return Err(CliError::msg(
                            "other contributions kept landing first until the time was up: try again",
                        ));
                    }
                    continue;
                }
                Err(e) if matches!(e.code(), Some(ErrorCode::SetupWaiting)) => {}
                Err(e) => return Err(e),
            }
        }
        if Instant::now() >= deadline {
            return Err(CliError::msg(format!(
                "phase 2 did not begin in time: trustees {:?} have not contributed to phase 1",
                t.setup().missing_trustees(SetupPhase::One)
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Refuses at once, on the board's word, to contribute to a closed ceremony (to `phase`,
/// or to any phase if `None`) under a key that has not contributed to it, before the
/// transcript is fetched and verified. Nothing is ever contributed on the board's word:
/// a contribution is made only on the verified transcript.
pub async fn refuse_if_closed(
    board: &BoardClient,
    election_id: &[u8; 32],
    key: &SigningKey,
    phase: Option<SetupPhase>,
) -> Result<(), CliError> {
    let s = status(board, election_id).await?;
    let mine = hex::encode(key.verifying_key().to_bytes());
    let contributed = s
        .contributors
        .iter()
        .any(|c| c.key == mine && phase.map_or(true, |p| c.phase == u8::from(p)));
    if s.closed && !contributed {
        return Err(CliError::msg("the setup ceremony has closed"));
    }
    Ok(())
}

/// The transcript's entries as the board serves them, with their log indices: the
/// manifest, then every setup entry in log order (for `zkvote setup verify`).
pub async fn transcript_entries(
    board: &BoardClient,
    election_id: &[u8; 32],
) -> Result<Vec<(u64, Entry)>, CliError> {
    let mut out = board
        .entries_of_kind_from(election_id, EntryKind::Manifest, 0)
        .await
        .map_err(|e| e.with_unknown_election(election_id))?;
    out.extend(
        board
            .entries_of_kind_from(election_id, EntryKind::SetupContribution, 0)
            .await?,
    );
    out.extend(
        board
            .entries_of_kind_from(election_id, EntryKind::SetupFinal, 0)
            .await?,
    );
    Ok(out)
}

/// Where the ceremony stands (`GET .../setup`).
pub async fn status(board: &BoardClient, election_id: &[u8; 32]) -> Result<SetupStatus, CliError> {
    board
        .get_json(&format!("{}/setup", election_path(election_id)))
        .await
        .map_err(|e| e.with_unknown_election(election_id))
}

/// The commission closes the ceremony once every trustee has contributed to phase 2
/// (waiting up to `wait` for that): the board computes the keys from the transcript and
/// appends the `setup-final` entry that pins them. Returns the closed ceremony's status.
pub async fn close(
    board: &BoardClient,
    key: &SigningKey,
    election_id: &[u8; 32],
    wait: Duration,
) -> Result<SetupStatus, CliError> {
    let start = Instant::now();
    loop {
        let s = status(board, election_id).await?;
        if s.closed {
            return Err(CliError::msg("the setup ceremony has already closed"));
        }
        let done = s.phase == 2 && s.missing_phase1.is_empty() && s.missing_phase2.is_empty();
        if done {
            break;
        }
        if start.elapsed() >= wait {
            return Err(CliError::msg(format!(
                "the ceremony cannot close yet: trustees {:?} have not contributed to phase 2",
                s.missing_phase2
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _: Receipt = board
        .post_signed(
            key,
            &format!("{}/setup/close", election_path(election_id)),
            &EmptyBody {},
        )
        .await?;
    status(board, election_id).await
}

/// Waits (until `deadline`) for the commission to close the ceremony.
pub async fn wait_closed(
    board: &BoardClient,
    election_id: &[u8; 32],
    deadline: Instant,
) -> Result<(), CliError> {
    loop {
        if status(board, election_id).await?.closed {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CliError::msg(
                "the commission did not close the setup ceremony in time",
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
