//! The typed entries of an election's log. An entry's bytes (its leaf data) are its
//! compact JSON serialization, exactly as stored; `docs/protocol.md` section 12.1 lists the
//! fields. Every field is a validated type, so an entry that decodes is well formed: its
//! field elements canonical, its points valid, its keys the right length.

use crate::fields::{
    ContributorName, EncodedCiphertext, FieldElement, PublicKeyBytes, SetupParams, SetupProofBytes,
    VerifyingKeyBytes,
};
use crate::kind::EntryKind;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use zkvote_circuits::complete::CompleteBallot;
use zkvote_circuits::setup::SetupPhase;
use zkvote_core::{Element, Manifest};
use zkvote_tally::ceremony::verify_signature;
use zkvote_tally::labels::{SIG_COMPLAINT, SIG_DEALING};
use zkvote_tally::{Aggregate, CeremonyContext, Complaint, Dealing, PartialDecryption};

/// Declares the entries once: the enum, its kinds, and a decoder that reads `kind` first
/// and then the kind's fields straight from the JSON object (no buffering, so decoding
/// errors can name the field at fault).
macro_rules! entries {
    ($(
        $(#[doc = $vdoc:literal])*
        $variant:ident / $body:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? }
    )*) => {
        /// One log entry.
        #[derive(Clone, Debug, Serialize)]
        #[serde(tag = "kind", rename_all = "kebab-case")]
        pub enum Entry {
            $( $(#[doc = $vdoc])* $variant { $( $(#[$fmeta])* $field: $ty, )* }, )*
        }

        /// The fields of each kind, as decoded after the `kind` field.
        mod bodies {
            use super::*;
            $(
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                pub(super) struct $body { $( $(#[$fmeta])* pub(super) $field: $ty, )* }
            )*
        }

        impl Entry {
            /// The entry's kind, as in its `kind` field.
            pub fn kind(&self) -> EntryKind {
                match self { $( Entry::$variant { .. } => EntryKind::$variant, )* }
            }
        }

        /// Decodes the fields of an entry of `kind` given as a JSON object without `kind`.
        fn decode_object(kind: EntryKind, fields: serde_json::Value) -> Result<Entry, serde_json::Error> {
            Ok(match kind {
                $( EntryKind::$variant => {
                    let bodies::$body { $($field),* } = serde_json::from_value(fields)?;
                    Entry::$variant { $($field),* }
                } )*
            })
        }

        /// Decodes the fields that follow `kind` in an entry of that kind.
        fn decode_body<'de, A: MapAccess<'de>>(kind: EntryKind, map: A) -> Result<Entry, A::Error> {
            let de = MapAccessDeserializer::new(map);
            Ok(match kind {
                $( EntryKind::$variant => {
                    let bodies::$body { $($field),* } = bodies::$body::deserialize(de)?;
                    Entry::$variant { $($field),* }
                } )*
            })
        }
    };
}

entries! {
    /// Genesis: the manifest and, in protocol version 1, the eligibility verifying key
    /// (compressed, hex).
    Manifest / ManifestFields {
        /// The manifest.
        manifest: Manifest,
        /// The Groth16 verifying key of a version-1 manifest, whose hash must be the
        /// manifest's (check 2); absent in version 2 (the keys come from the setup
        /// ceremony).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groth16_vk: Option<VerifyingKeyBytes>,
    }
    /// A contribution to the setup ceremony of the eligibility keys (version 2).
    SetupContribution / SetupContributionFields {
        /// The phase contributed to (1 or 2).
        phase: SetupPhase,
        /// The contributor's name.
        contributor: ContributorName,
        /// The contributor's ed25519 key (a trustee contributes with its signing key).
        key: PublicKeyBytes,
        /// The new parameters.
        params: SetupParams,
        /// The proof of knowledge of the contributed secrets.
        proof: SetupProofBytes,
        /// The contributor's signature (`crate::setup::contribution_body`).
        #[serde(with = "zkvote_tally::ceremony::serde_sig")]
        signature: [u8; 64],
    }
    /// The setup ceremony is closed: the keys its transcript makes, pinned.
    SetupFinal / SetupFinalFields {
        /// The Groth16 verifying key.
        groth16_vk: VerifyingKeyBytes,
        /// The proving key's hash (`crate::setup::proving_key_hash`).
        #[serde(with = "zkvote_core::codec::serde_hex32")]
        proving_key_hash: [u8; 32],
    }
    /// A trustee's dealing.
    Dealing / DealingFields {
        /// The signed dealing.
        dealing: Dealing,
    }
    /// A trustee's complaint.
    Complaint / ComplaintFields {
        /// The signed complaint.
        complaint: Complaint,
    }
    /// A voter's credential commitment.
    Registration / RegistrationFields {
        /// The commitment.
        commitment: FieldElement,
    }
    /// The roll is frozen: its root and number of registrations.
    RollFrozen / RollFrozenFields {
        /// The roll's Merkle root.
        root: FieldElement,
        /// Number of registrations.
        count: u64,
    }
    /// Voting opens under the joint key from the ceremony.
    Open / OpenFields {
        /// The joint election key.
        joint_key: Element,
        /// Qualified dealers.
        qualified: Vec<u32>,
    }
    /// A ballot.
    Ballot / BallotFields {
        /// The complete ballot.
        ballot: CompleteBallot,
    }
    /// Voting closes.
    Close / CloseFields {}
    /// A trustee's partial decryption of the aggregate.
    PartialDecryption / PartialDecryptionFields {
        /// The signed partial decryption.
        partial: PartialDecryption,
    }
    /// The published result.
    Result / ResultFields {
        /// Number of ballots counted (those added into the aggregate).
        ballots_counted: u64,
        /// The decrypted aggregate: per contest and option, `hex(A || B)`.
        aggregate: Vec<Vec<EncodedCiphertext>>,
        /// Counts per contest and option.
        counts: Vec<Vec<u64>>,
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = Entry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an entry: a JSON object whose first field is \"kind\"")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
                let kind_of = |name: &str| {
                    EntryKind::from_name(name)
                        .ok_or_else(|| de::Error::custom(format!("unknown entry kind {name:?}")))
                };
                let first: Option<Cow<'de, str>> = map.next_key()?;
                match first.as_deref() {
                    None => Err(de::Error::missing_field("kind")),
                    // The canonical order: decoded as it streams by.
                    Some("kind") => {
                        let name: Cow<'de, str> = map.next_value()?;
                        decode_body(kind_of(&name)?, map)
                    }
                    // Any other order (never canonical bytes, but a JSON value built in
                    // memory): the object is read whole first.
                    Some(other) => {
                        let mut fields = serde_json::Map::new();
                        fields.insert(other.to_string(), map.next_value()?);
                        while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                            if fields.insert(k.clone(), v).is_some() {
                                return Err(de::Error::custom(format!("duplicate field `{k}`")));
                            }
                        }
                        let kind = match fields.remove("kind") {
                            Some(serde_json::Value::String(name)) => kind_of(&name)?,
                            _ => return Err(de::Error::missing_field("kind")),
                        };
                        decode_object(kind, fields.into()).map_err(de::Error::custom)
                    }
                }
            }
        }
        d.deserialize_map(EntryVisitor)
    }
}

/// An entry's bytes that are not a valid entry, naming the field (a path such as
/// `ballot.ballot.contests[0].selections[1].a`) when one is to blame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", .kind.map(|k| format!("{k} entry: ")).unwrap_or_default(), .field.as_ref().map(|f| format!("field {f}: ")).unwrap_or_default())]
pub struct EntryError {
    /// The kind the entry claims, if it names a known one.
    pub kind: Option<EntryKind>,
    /// The field at fault, if one is.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// An entry error at a position of the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("entry {index}: {error}")]
pub struct IndexedEntryError {
    /// The entry's index.
    pub index: u64,
    /// What is wrong with it.
    pub error: EntryError,
}

impl EntryError {
    /// The same error at entry `index`.
    pub fn at(self, index: u64) -> IndexedEntryError {
        IndexedEntryError { index, error: self }
    }
}

#[derive(Deserialize)]
struct KindOnly<'a> {
    #[serde(borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

impl Entry {
    /// The registration entry of `commitment`.
    pub fn registration(commitment: ark_bls12_381::Fr) -> Entry {
        Entry::Registration {
            commitment: FieldElement::new(commitment),
        }
    }

    /// The leaf hash of the registration entry of `commitment`: what a registration's
    /// receipt, and a board's start-up snapshot, are checked against.
    pub fn registration_leaf(commitment: ark_bls12_381::Fr) -> zkvote_core::log::Hash {
        zkvote_core::log::leaf_hash(&Entry::registration(commitment).to_bytes())
    }

    /// The entry's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("entries serialize")
    }

    /// Decodes an entry's bytes, accepting only its one canonical form: the bytes must be
    /// exactly [`Entry::to_bytes`] of what they decode to (compact JSON, fields in the
    /// order of `docs/protocol.md`, numbers in plain decimal, no duplicate keys).
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        let entry: Entry = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            Err(e) => return Err(Self::explain(bytes, e)),
        };
        if entry.to_bytes() != bytes {
            return Err(EntryError {
                kind: Some(entry.kind()),
                field: None,
                message: "not in its canonical encoding (compact JSON, fields in protocol \
                          order, plain decimal numbers)"
                    .into(),
            });
        }
        Ok(entry)
    }

    /// The error for bytes that do not decode: decoded again, slowly, to find the field.
    fn explain(bytes: &[u8], first: serde_json::Error) -> EntryError {
        let kind = serde_json::from_slice::<KindOnly>(bytes)
            .ok()
            .and_then(|k| k.kind.as_deref().and_then(EntryKind::from_name));
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let (field, message) = match serde_path_to_error::deserialize::<_, Entry>(&mut de) {
            Err(e) => {
                let path = e.path().to_string();
                let field = (path != "." && !path.is_empty()).then_some(path);
                (field, e.into_inner().to_string())
            }
            Ok(_) => (None, first.to_string()),
        };
        EntryError {
            kind,
            field,
            message,
        }
    }

    /// The key of which an election's log holds at most one entry (`docs/protocol.md`
    /// section 12.1): `dealing/<dealer>`, `complaint/<accuser>/<dealer>`,
    /// `partial-decryption/<trustee>`, `setup-contribution/<phase>/<key hex>`; `None` for
    /// the other kinds. Signed trustee messages
    /// are public, so anyone can re-post a copy: the board refuses it (in the appending
    /// transaction) and the verifier names it, so clients never see one author twice.
    pub fn unique_key(&self) -> Option<String> {
        match self {
            Entry::Dealing { dealing } => Some(format!("dealing/{}", dealing.dealer)),
            Entry::Complaint { complaint } => Some(format!(
                "complaint/{}/{}",
                complaint.accuser, complaint.dealer
            )),
            Entry::PartialDecryption { partial } => {
                Some(format!("partial-decryption/{}", partial.trustee))
            }
            Entry::SetupContribution { phase, key, .. } => Some(format!(
                "setup-contribution/{}/{}",
                u8::from(*phase),
                hex::encode(key.0)
            )),
            _ => None,
        }
    }
}

/// A trustee's ceremony message that is not its author's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthorError {
    /// The message names no trustee of the manifest.
    #[error("trustee {0} is not in the manifest")]
    UnknownTrustee(u32),
    /// The signature is not the named trustee's.
    #[error("not signed by trustee {0} of the manifest")]
    BadSignature(u32),
}

impl Entry {
    /// Checks who signed a ceremony message (`docs/protocol.md` section 10.1): a dealing is
    /// its dealer's, a complaint its accuser's, each signed under its own domain and the
    /// manifest hash by the trustee's key in the manifest. Returns the author, or `None`
    /// for entries that are not ceremony messages. The board checks it before appending,
    /// [`crate::ElectionState::apply`] on every entry it applies, and the verifier in
    /// check 3.
    pub fn check_author(&self, ceremony: &CeremonyContext) -> Result<Option<u32>, AuthorError> {
        let (author, domain, body, signature) = match self {
            Entry::Dealing { dealing } => (
                dealing.dealer,
                SIG_DEALING,
                dealing.body(),
                &dealing.signature,
            ),
            Entry::Complaint { complaint } => (
                complaint.accuser,
                SIG_COMPLAINT,
                complaint.body(),
                &complaint.signature,
            ),
            _ => return Ok(None),
        };
        let trustee = ceremony
            .trustee(author)
            .ok_or(AuthorError::UnknownTrustee(author))?;
        verify_signature(
            &trustee.signing_key,
            domain,
            &ceremony.manifest_hash,
            &body,
            signature,
        )
        .map_err(|_| AuthorError::BadSignature(author))?;
        Ok(Some(author))
    }
}

/// The aggregate as published in a result entry: per contest and option, `A || B`.
pub fn encode_aggregate(aggregate: &Aggregate) -> Vec<Vec<EncodedCiphertext>> {
    aggregate
        .contests
        .iter()
        .map(|row| row.iter().map(EncodedCiphertext::of).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_form_decodes() {
        let close = Entry::Close {};
        assert_eq!(close.to_bytes(), b"{\"kind\":\"close\"}");
        assert!(Entry::decode(b"{\"kind\":\"close\"}").is_ok());
        let e = Entry::decode(b"{\"kind\": \"close\"}").unwrap_err();
        assert_eq!(e.kind, Some(EntryKind::Close));
        assert!(Entry::decode(b"{\"kind\":\"close\",\"x\":1}").is_err());
        // Another field order decodes as JSON, but is not the canonical encoding.
        let reordered = b"{\"count\":0,\"kind\":\"roll-frozen\",\"root\":\"0000000000000000000000000000000000000000000000000000000000000000\"}";
        assert!(serde_json::from_slice::<Entry>(reordered).is_ok());
        assert!(Entry::decode(reordered).is_err());
        assert!(serde_json::from_slice::<Entry>(b"{\"count\":0}").is_err());
    }

    #[test]
    fn errors_name_the_kind_and_field() {
        let e =
            Entry::decode(b"{\"kind\":\"roll-frozen\",\"root\":\"zz\",\"count\":1}").unwrap_err();
        assert_eq!(e.kind, Some(EntryKind::RollFrozen));
        assert_eq!(e.field.as_deref(), Some("root"));
        let text = e.at(4).to_string();
        assert!(
            text.starts_with("entry 4: roll-frozen entry: field root: "),
            "{text}"
        );
        let e = Entry::decode(b"{\"kind\":\"vote\"}").unwrap_err();
        assert_eq!(e.kind, None);
    }

    #[test]
    fn registrations_hold_canonical_field_elements_only() {
        let r = format!(
            "{{\"kind\":\"registration\",\"commitment\":\"{}\"}}",
            "ff".repeat(32)
        );
        let e = Entry::decode(r.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("commitment"));
        let ok = format!(
            "{{\"kind\":\"registration\",\"commitment\":\"{}\"}}",
            "01".repeat(32)
        );
        assert!(matches!(
            Entry::decode(ok.as_bytes()),
            Ok(Entry::Registration { .. })
        ));
    }
}
