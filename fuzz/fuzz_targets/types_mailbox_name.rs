//! Modified UTF-7 decoding and encoding on arbitrary input.
//!
//! Invariants: decoding never panics; whatever decodes re-encodes to the
//! same wire form (the decoder is strict, so each name has one encoding);
//! encoding any text yields printable ASCII that decodes back to the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_types::{MailboxName, decode_modified_utf7, encode_modified_utf7};

fuzz_target!(|data: &[u8]| {
    if let Ok(wire) = std::str::from_utf8(data) {
        if let Ok(text) = decode_modified_utf7(wire) {
            assert_eq!(encode_modified_utf7(&text), wire);
        }
        let encoded = encode_modified_utf7(wire);
        assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        assert_eq!(decode_modified_utf7(&encoded).as_deref(), Ok(wire));
        let name = MailboxName::new(wire);
        let _ = name.levels('.').count();
        let _ = name.with_inbox_prefix_normalized('.');
    }
});
