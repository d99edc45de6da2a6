//! The setup ceremony of a version-2 election's eligibility keys (`docs/protocol.md`
//! sections 9.8 and 12.1): its status, contributions (checked against the transcript in
//! the append transaction, so two racing contributions never both land on one digest),
//! and the commission's close, which pins the transcript's keys.

use super::auth::commission_summary;
use super::board::Board;
use super::{created, election_body, election_id, ApiError, AppState};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::Json;
use zkvote_circuits::groth16::proving_key_to_pinned_bytes;
use zkvote_circuits::setup::SetupPhase;
use zkvote_protocol::api::{ContributorView, SetupContributionBody, SetupStatus, MAX_BODY};
use zkvote_protocol::setup::SetupRuleError;
use zkvote_protocol::{ApplyError, ElectionState, EntryKind, ErrorCode};

/// The refusal of a setup entry the election state refuses.
fn refusal(e: ApplyError) -> ApiError {
    match e {
        ApplyError::Transition(_) => super::error::wrong_phase(EntryKind::SetupContribution),
        ApplyError::NoSetup => ApiError::new(
            ErrorCode::SetupClosed,
            "this election's keys are pinned by its manifest: it has no setup ceremony",
        ),
        ApplyError::Duplicate(k) => ApiError::new(
            ErrorCode::DuplicateEntry,
            format!("the log already holds {k}"),
        ),
        ApplyError::Setup(SetupRuleError::Signature) => ApiError::unauthorized(e.to_string()),
        ApplyError::Setup(SetupRuleError::Stale) => {
            ApiError::new(ErrorCode::SetupMovedOn, e.to_string())
        }
        ApplyError::Setup(SetupRuleError::TrusteesMissing { .. }) => {
            ApiError::new(ErrorCode::SetupWaiting, e.to_string())
        }
        other => ApiError::new(ErrorCode::BadContribution, other.to_string()),
    }
}

fn setup_of(s: &ElectionState) -> Result<&zkvote_protocol::setup::SetupState, ApiError> {
    s.setup().ok_or_else(|| refusal(ApplyError::NoSetup))
}

pub(super) async fn status(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SetupStatus>, ApiError> {
    let e = b.election(&election_id(&id)?).await?;
    let s = e.lock().await;
    let setup = setup_of(&s)?;
    let ceremony = setup.ceremony();
    Ok(Json(SetupStatus {
        phase: ceremony.phase().into(),
        closed: s.proving_key_hash().is_some(),
        digest: hex::encode(ceremony.digest().as_bytes()),
        contributors: setup
            .contributors()
            .iter()
            .map(|c| ContributorView {
                phase: c.phase.into(),
                contributor: c.name.clone(),
                key: hex::encode(c.key),
                trustee: c.trustee,
            })
            .collect(),
        missing_phase1: setup.missing_trustees(SetupPhase::One),
        missing_phase2: setup.missing_trustees(SetupPhase::Two),
        proving_key_hash: s.proving_key_hash().map(hex::encode),
    }))
}

/// Appends a contribution that verifies against the transcript as the log holds it inside
/// the append transaction (about 2 s for phase 1 at depth 20, under the election's lock).
pub(super) async fn contribute(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (eid, body): (_, SetupContributionBody) = election_body(&id, req, MAX_BODY).await?;
    let entry = body.into_entry();
    let e = b.election(&eid).await?;
    let mut s = e.lock().await;
    let receipt = b
        .append_summary(&eid, &mut s, EntryKind::SetupContribution, |state| {
            tokio::task::block_in_place(|| state.check_setup_contribution(&entry))
                .map_err(refusal)?;
            Ok(entry)
        })
        .await?;
    Ok(created(receipt))
}

/// The commission closes the ceremony: the board computes the transcript's keys (the
/// transition of section 9.8.5, once) and appends the `setup-final` entry that pins them.
pub(super) async fn close(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    commission_summary(&b, &id, req, EntryKind::SetupFinal, |s| {
        let setup = setup_of(s)?;
        let (entry, _) = tokio::task::block_in_place(|| setup.final_entry())
            .map_err(|e| refusal(ApplyError::Setup(e)))?;
        Ok(entry)
    })
    .await
}

/// Stores and returns the proving key of a version-2 election whose ceremony has closed,
/// made from the transcript the election state keeps (the `proving-key` blob of a
/// version-1 election is stored when it is created; without one this is a 404).
pub(super) async fn store_proving_key(b: &Board, eid: &[u8; 32]) -> Result<Vec<u8>, ApiError> {
    let bytes = {
        let e = b.election(eid).await?;
        let s = e.lock().await;
        let Some(setup) = s.setup() else {
            return Err(ApiError::not_found());
        };
        if s.proving_key_hash().is_none() {
            return Err(ApiError::new(
                ErrorCode::SetupNotClosed,
                "the setup ceremony of the eligibility keys has not closed yet",
            ));
        }
        let pk = tokio::task::block_in_place(|| setup.proving_key())
            .map_err(|e| refusal(ApplyError::Setup(e)))?;
        proving_key_to_pinned_bytes(&pk)
    };
    b.log.store().put_blob(eid, "proving-key", &bytes).await?;
    Ok(bytes)
}
