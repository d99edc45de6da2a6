//! Manifests in TOML (section 2.1): what parses survives a round trip, hash included.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_core::Manifest;

fuzz_target!(|data: &[u8]| {
    let Some(text) = zkvote_fuzz::text(data) else {
        return;
    };
    if let Ok(m) = Manifest::from_toml(text) {
        let again = Manifest::from_toml(&m.to_toml()).unwrap();
        assert_eq!(again.hash(), m.hash());
    }
});
