//! Arbitrary bytes as the UID, keyword, subscription and POP3 list files a
//! Maildir may hold (Courier's and Dovecot's).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_mailbox::maildir::keywords::{CourierKeywords, parse_dovecot_keywords};
use postroom_mailbox::maildir::pop3list::parse_courier_pop3_list;
use postroom_mailbox::maildir::subscriptions::{
    courier_subscriptions_bytes, parse_courier_subscriptions, parse_dovecot_subscriptions,
};
use postroom_mailbox::maildir::uiddb::UidDb;

fuzz_target!(|data: &[u8]| {
    if let Ok(db) = UidDb::parse_courier(data) {
        // What we write reads back the same.
        assert_eq!(UidDb::parse_courier(&db.to_courier_bytes()).ok(), Some(db));
    }
    let _ = UidDb::parse_dovecot(data);
    let mut kw = CourierKeywords::parse_list(data);
    kw.apply_updates(&[(".1.x".to_owned(), data.to_vec())]);
    let again = CourierKeywords::parse_list(&kw.to_list_bytes());
    assert_eq!(again, kw);
    let _ = parse_dovecot_keywords(data);
    let subs = parse_courier_subscriptions(data);
    assert_eq!(parse_courier_subscriptions(&courier_subscriptions_bytes(&subs)), subs);
    let _ = parse_dovecot_subscriptions(data);
    for e in parse_courier_pop3_list(data) {
        assert!(e.uidl.starts_with("UID") && e.uidl.len() <= 70);
    }
});
