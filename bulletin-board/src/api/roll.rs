//! Serving the frozen roll: whole (32 bytes per commitment), or one bucket of it with the
//! siblings above (`docs/protocol.md` section 9.4.1), so that a voter of a roll of millions
//! downloads kilobytes, not hundreds of megabytes.
//!
//! Buckets need the roll's tree from height `min(8, depth)` up ([`UpperLevels`]). The
//! freeze builds it (for the frozen root) and keeps its lowest level in the store (blob
//! `roll-levels`), so that a restarted or another board process reads it instead of
//! hashing millions of leaves again; what is read is checked against the frozen root.
//! Without that blob (a roll frozen by an older board), the tree is built once, off the
//! async executor, on the first bucket asked for.

use super::{election_id, ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::OnceCell;
use zkvote_circuits::merkle::bucket::{BucketId, UpperLevels};
use zkvote_protocol::api::BucketQuery;
use zkvote_protocol::voter::roll::decode_roll;
use zkvote_protocol::ErrorCode;

/// The blob holding the roll tree's lowest kept level.
const LEVELS_BLOB: &str = "roll-levels";

/// An election's roll tree from the bucket floor up, built or loaded on first use.
pub(crate) type RollTree = Arc<OnceCell<Arc<UpperLevels>>>;

fn not_frozen() -> ApiError {
    ApiError::new(ErrorCode::RollNotFrozen, "the voter roll is not frozen yet")
}

fn octets(bytes: impl Into<Bytes>) -> Response {
    ([("content-type", "application/octet-stream")], bytes.into()).into_response()
}

/// `GET /roll`: the whole frozen roll.
pub(super) async fn roll(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = b.election(&election_id(&id)?).await?;
    let s = e.lock().await;
    let bytes = s.roll_bytes.clone().ok_or_else(not_frozen)?;
    Ok(octets(bytes))
}

/// `GET /roll/buckets/{index}?bits=B`: the siblings above bucket `index` of `2^B` leaves
/// (lowest first), then its registered leaves; 32 bytes each.
pub(super) async fn bucket(
    State(b): State<AppState>,
    Path((id, index)): Path<(String, u64)>,
    Query(q): Query<BucketQuery>,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    let e = b.election(&eid).await?;
    let (roll, depth, root, tree) = {
        let s = e.lock().await;
        let roll = s.roll_bytes.clone().ok_or_else(not_frozen)?;
        let root = s.root().ok_or_else(not_frozen)?;
        (roll, s.manifest().roll_depth, root, s.roll_tree.clone())
    };
    let bucket = BucketId::new(depth, q.bits, index)
        .map_err(|e| ApiError::new(ErrorCode::BadBucket, e.to_string()))?;
    let tree = tree
        .get_or_try_init(|| load_or_build(&b, &eid, depth, root, roll.clone()))
        .await?;
    let leaves = bucket.leaf_range(roll.len() as u64 / 32);
    let leaves = &roll[leaves.start as usize * 32..leaves.end as usize * 32];
    Ok(octets(tree.answer(bucket, leaves)))
}

/// The roll tree from the store's `roll-levels` blob if it gives the frozen root, else
/// built from the roll and stored.
async fn load_or_build(
    b: &AppState,
    eid: &[u8; 32],
    depth: u8,
    root: ark_bls12_381::Fr,
    roll: Bytes,
) -> Result<Arc<UpperLevels>, ApiError> {
    let store = b.log.store();
    if let Some(floor) = store.blob(eid, LEVELS_BLOB).await? {
        let loaded = blocking(move || UpperLevels::from_floor_bytes(depth, &floor).ok()).await?;
        // Levels that do not give the frozen root are not used: the tree is rebuilt.
        if let Some(tree) = loaded.filter(|t| t.root() == root) {
            return Ok(Arc::new(tree));
        }
    }
    let tree = blocking(move || {
        let leaves = decode_roll(&roll).map_err(|e| ApiError::corrupt(e.to_string()))?;
        UpperLevels::build(depth, leaves).map_err(|e| ApiError::corrupt(e.to_string()))
    })
    .await??;
    if tree.root() != root {
        return Err(ApiError::corrupt(
            "the frozen roll does not give the frozen root",
        ));
    }
    store
        .put_blob(eid, LEVELS_BLOB, &tree.floor_bytes())
        .await?;
    Ok(Arc::new(tree))
}

/// Keeps the tree the freeze built for the roll: in the store, and in this process's
/// election, so that no bucket has to build it again.
pub(super) async fn keep_levels(
    b: &AppState,
    eid: &[u8; 32],
    tree: UpperLevels,
) -> Result<(), ApiError> {
    b.log
        .store()
        .put_blob(eid, LEVELS_BLOB, &tree.floor_bytes())
        .await?;
    let e = b.election(eid).await?;
    let cell = e.lock().await.roll_tree.clone();
    // A bucket request that came first has set it already, to the same tree.
    let _ = cell.set(Arc::new(tree));
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("a roll task failed: {e}")))
}
