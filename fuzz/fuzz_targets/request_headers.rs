//! Signed commission requests (section 12.4): the three headers, as the board receives
//! them, checked by `verify_request`; whatever the text, it never panics, and only the
//! canonical timestamp form is read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_protocol::request::{parse_timestamp, verify_request, RequestHeaders};

fuzz_target!(|data: &[u8]| {
    let Some(text) = zkvote_fuzz::text(data) else {
        return;
    };
    let mut parts = text.splitn(4, '\n');
    let (timestamp, nonce, signature, body) =
        (parts.next(), parts.next(), parts.next(), parts.next().unwrap_or(""));
    if let Some(t) = timestamp.and_then(parse_timestamp) {
        assert_eq!(t.to_string(), timestamp.unwrap_or_default());
    }
    let headers = RequestHeaders {
        timestamp,
        nonce,
        signature,
    };
    let key = [7u8; 32];
    let _ = verify_request(&key, "POST", "/v1/elections", body.as_bytes(), headers, 1_700_000_000);
});
