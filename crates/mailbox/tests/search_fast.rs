//! SEARCH TEXT / BODY answers are the same whether a message is matched
//! on its bytes (the fast path) or decoded, over tricky messages, on both
//! backends and with enough messages to use several threads.

mod common;

use std::sync::Arc;

use postroom_mailbox::{FlagSet, MaildirStore, MemoryStore, Session, Store};
use postroom_types::{MailboxName, SearchKey};

const MESSAGES: &[&[u8]] = &[
    // 0: plain, LF line ends
    b"Subject: lunch plans\nFrom: a@example.org\n\nThe Xylophone is here\n",
    // 1: encoded-word subject only
    b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_xylophone?=\n\nnothing\n",
    // 2: base64 text body
    b"Subject: b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\neHlsb3Bob25lIGluIGJhc2U2NA==\n",
    // 3: the word only inside a base64 attachment's bytes (raw)
    b"Subject: c\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nhello\n--x\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAAA\n--x--\n",
    // 4: quoted-printable soft break inside the word
    b"Subject: d\nContent-Transfer-Encoding: quoted-printable\n\nxylo=\nphone\n",
    // 5: Latin-1 body
    b"Subject: e\nContent-Type: text/plain; charset=iso-8859-1\n\nXYLOPHONE \xe9t\xe9\n",
    // 6: nothing
    b"Subject: f\n\nno match here\n",
    // 7: word in a header name-ish place
    b"X-Xylophone: yes\nSubject: g\n\nbody\n",
    // 8: raw header contains an encoded form of the word, decoded does not
    b"Subject: =?UTF-8?B?eHlsb3Bob25l?=\n\nplain\n",
];

fn fill(store: &dyn Store, copies: usize) -> Session {
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    for _ in 0..copies {
        for m in MESSAGES {
            inbox.append(m, &FlagSet::default(), None).unwrap();
        }
    }
    Session::open(Arc::clone(&inbox), true).unwrap()
}

fn check(store: &dyn Store, copies: usize) {
    let s = fill(store, copies);
    let n = MESSAGES.len() as u32;
    let expect = |per: &[u32]| -> Vec<u32> {
        (0..copies as u32)
            .flat_map(|c| per.iter().map(move |i| c * n + i + 1))
            .collect()
    };
    assert_eq!(
        common::seqs(&s, SearchKey::Text("xylophone".into())),
        expect(&[0, 1, 2, 4, 5, 7, 8])
    );
    assert_eq!(
        common::seqs(&s, SearchKey::Body("XYLOPHONE".into())),
        expect(&[0, 2, 4, 5])
    );
    assert_eq!(
        common::seqs(&s, SearchKey::Text("lunch plans".into())),
        expect(&[0])
    );
    assert_eq!(
        common::seqs(&s, SearchKey::Text("AAAA".into())),
        Vec::<u32>::new()
    );
    assert_eq!(
        common::seqs(&s, SearchKey::Body("été".into())),
        expect(&[5])
    );
}

#[test]
fn memory_store_few_and_many() {
    check(&MemoryStore::new(), 1);
    check(&MemoryStore::new(), 40);
}

#[test]
fn maildir_store_few_and_many() {
    let a = tempfile::tempdir().unwrap();
    check(&MaildirStore::new(a.path()).unwrap(), 1);
    let b = tempfile::tempdir().unwrap();
    check(&MaildirStore::new(b.path()).unwrap(), 40);
}
