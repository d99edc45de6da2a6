//! Record lines (section 12.3): only the one form parses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zkvote_protocol::record::{checkpoint_line, entry_line, parse_line, Line};

fuzz_target!(|data: &[u8]| {
    let Some(text) = zkvote_fuzz::text(data) else {
        return;
    };
    match parse_line(text) {
        Ok(Line::Entry(e)) => assert_eq!(entry_line(e.index, &e.kind, &e.data), text),
        Ok(Line::Checkpoint(c)) => assert_eq!(checkpoint_line(&c), text),
        Err(_) => {}
    }
});
