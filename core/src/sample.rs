//! A sample election manifest (two contests, three trustees) with deterministic keys, for
//! examples, tests and benchmarks. Its keys come from fixed seeds: never use it for a
//! real election.

use crate::elgamal::mul_base;
use curve25519_dalek::scalar::Scalar;

/// Deterministic ed25519 public key `i` of the sample (`seed = [i; 32]`).
pub fn sample_signing_key(i: u8) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&[i; 32])
        .verifying_key()
        .to_bytes()
}

/// Deterministic Ristretto255 public key `i` of the sample (`(i + 1) * G`).
pub fn sample_encryption_key(i: u8) -> [u8; 32] {
    mul_base(&Scalar::from(i as u64 + 1)).compress().to_bytes()
}

/// The sample manifest as TOML: a choose-1-of-4 contest and an approval contest over 5
/// options, 3 trustees with threshold 2, voter-roll depth 20.
pub fn sample_manifest_toml() -> String {
    let mut trustees = String::new();
    for (i, name) in ["Trustee One", "Trustee Two", "Trustee Three"]
        .iter()
        .enumerate()
    {
        let i = i as u8 + 1;
        trustees.push_str(&format!(
            "\n[[trustees.members]]\nindex = {i}\nname = \"{name}\"\nsigning_key = \"{}\"\nencryption_key = \"{}\"\n",
            hex::encode(sample_signing_key(10 + i)),
            hex::encode(sample_encryption_key(i)),
        ));
    }
    format!(
        r#"version = 1
election_id = "5a4b564f5445000000000000000000000000000000000000000000000000beef"
title = "City of Example: 2027 municipal election"
opens_at = "2027-03-01T07:00:00Z"
closes_at = "2027-03-01T20:00:00Z"
revote_policy = "reject"
commission_key = "{commission}"
board_key = "{board}"

[eligibility]
roll_depth = 20
groth16_vk_hash = "{vk}"

[trustees]
threshold = 2
{trustees}
[[contests]]
id = "mayor"
title = "Mayor"
min_selections = 1
max_selections = 1

[[contests.options]]
id = "ada"
label = "Ada Lovelace"

[[contests.options]]
id = "bo"
label = "Bo Diddley"

[[contests.options]]
id = "cy"
label = "Cy Young"

[[contests.options]]
id = "dee"
label = "Dee Dee Ramone"

[[contests]]
id = "parks"
title = "Which park projects should be funded?"
min_selections = 0
max_selections = 5

[[contests.options]]
id = "river-walk"
label = "River walk"

[[contests.options]]
id = "playground"
label = "North playground"

[[contests.options]]
id = "trees"
label = "1000 street trees"

[[contests.options]]
id = "pool"
label = "Open-air pool"

[[contests.options]]
id = "skatepark"
label = "Skate park"
"#,
        commission = hex::encode(sample_signing_key(1)),
        board = hex::encode(sample_signing_key(2)),
        vk = "11".repeat(32),
    )
}

/// A manifest with one contest of `options` options, choose exactly one, and otherwise
/// the sample's settings (used by the benchmarks).
pub fn single_contest_manifest_toml(options: usize) -> String {
    let base = sample_manifest_toml();
    let head = &base[..base.find("[[contests]]").expect("sample has contests")];
    let mut out = head.to_string();
    out.push_str(
        "[[contests]]\nid = \"c\"\ntitle = \"Contest\"\nmin_selections = 1\nmax_selections = 1\n",
    );
    for i in 0..options {
        out.push_str(&format!(
            "\n[[contests.options]]\nid = \"o{i}\"\nlabel = \"Option {i}\"\n"
        ));
    }
    out
}
