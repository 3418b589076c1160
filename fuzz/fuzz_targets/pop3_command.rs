#![no_main]
//! Arbitrary bytes through the command parser; whatever parses must encode
//! and parse back to the same command.

use libfuzzer_sys::fuzz_target;
use postroom_pop3::{Parsed, parse_command};

fuzz_target!(|data: &[u8]| {
    if let Ok(Parsed::Complete { value, consumed }) = parse_command(data) {
        assert!(consumed <= data.len());
        // Lines over 255 octets are refused by the encoder.
        if let Ok(wire) = value.to_bytes() {
            match parse_command(&wire) {
                Ok(Parsed::Complete { value: again, .. }) => assert_eq!(again, value),
                other => panic!("re-encoded command did not parse: {other:?}"),
            }
        }
    }
});
