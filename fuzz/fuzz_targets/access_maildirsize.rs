//! Maildir++ `maildirsize` files from arbitrary bytes.
//!
//! Invariants: reading and checking never panic; a file without problems,
//! rewritten from its definition and totals, reads back to the same
//! definition and totals; file-name helpers never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_access::maildirsize::{
    Maildirsize, Totals, Writer, is_deleted_name, print_file, size_from_name,
};

fuzz_target!(|data: &[u8]| {
    let f = Maildirsize::parse(data);
    let _ = f.check(1, 1, 0);
    let _ = f.check(i64::MAX, i64::MIN, u64::MAX);
    if f.recalculate.is_none() {
        assert!(f.bytes >= 0 && f.messages >= 0);
        let totals = Totals {
            bytes: f.bytes as u64,
            messages: f.messages as u64,
        };
        for writer in [Writer::Courier, Writer::Dovecot] {
            let again = Maildirsize::parse(&print_file(f.definition, totals, writer));
            assert_eq!(again.definition, f.definition);
            assert_eq!((again.bytes, again.messages), (f.bytes, f.messages));
            assert_eq!(again.recalculate, None);
        }
    }
    if let Ok(name) = std::str::from_utf8(data) {
        let _ = size_from_name(name);
        let _ = is_deleted_name(name);
    }
});
