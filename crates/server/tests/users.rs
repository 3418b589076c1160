//! Known-answer tests against hashes written by Dovecot's `doveadm pw`
//! (tests/fixtures/users.passwd), and the file helpers.

use std::path::Path;

use postroom_server::users::{
    self, LoadError, ParseError, Scheme, StoredPassword, UserDb, UserEntry,
};

fn fixture() -> UserDb {
    users::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/users.passwd"))
        .expect("fixture parses")
}

#[test]
fn doveadm_hashes_verify() {
    let db = fixture();
    let cases = [
        ("plain", Scheme::Plain),
        ("sha512@example.org", Scheme::Sha512Crypt),
        ("sha512rounds", Scheme::Sha512Crypt),
        ("sha256", Scheme::Sha256Crypt),
        ("argon2id", Scheme::Argon2id),
        ("argon2i", Scheme::Argon2i),
        ("crypt6", Scheme::Sha512Crypt),
        ("bare5", Scheme::Sha256Crypt),
    ];
    for (user, scheme) in cases {
        let entry = db.get(user).unwrap_or_else(|| panic!("{user} missing"));
        assert_eq!(entry.password().map(StoredPassword::scheme), Some(scheme));
        assert!(db.verify(user, b"correct horse").is_some(), "{user}");
        assert!(db.verify(user, b"correct horsE").is_none(), "{user}");
        // Argon2 with Dovecot's 64 MiB cost is slow in unoptimised test
        // builds: one wrong password is enough for those.
        if !matches!(scheme, Scheme::Argon2id | Scheme::Argon2i) {
            assert!(db.verify(user, b"").is_none(), "{user}");
        }
    }
    assert!(db.verify("utf8", "pässwörd".as_bytes()).is_some());
    assert!(db.verify("utf8", b"passwort").is_none());
    assert!(db.verify("empty", b"").is_some());
    assert!(db.verify("empty", b" ").is_none());
    assert!(db.verify("nopass", b"").is_none());
    assert!(db.verify("nobody", b"correct horse").is_none());
}

#[test]
fn fixture_fields() {
    let db = fixture();
    assert_eq!(db.len(), 11);
    let sha = db.get("sha512@example.org").unwrap();
    assert_eq!(sha.uid(), Some("1000"));
    assert_eq!(sha.gecos(), "Sha Five-Twelve");
    assert_eq!(sha.home(), Some(Path::new("/srv/mail/example.org/sha512")));
    assert_eq!(sha.shell(), Some("/bin/false"));
    let admin = db.get("argon2id").unwrap();
    assert_eq!(admin.groups(), ["administrators", "staff"]);
    assert_eq!(
        admin.extra_field("userdb_quota_rule"),
        Some(Some("*:storage=1G"))
    );
    assert_eq!(db.get("utf8").unwrap().groups(), ["staff"]);
    assert_eq!(db.plaintext_secret("plain"), Some("correct horse"));
    assert_eq!(db.plaintext_secret("sha256"), None);
    assert_eq!(db.plaintext_secret("nobody"), None);
    // Writing the database and reading it back keeps every user.
    let again = UserDb::parse(&db.to_bytes()).unwrap();
    for user in db.iter() {
        assert_eq!(again.get(user.name()), Some(user));
    }
}

#[test]
fn useradd_default_hash_then_login() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    std::fs::write(&path, "# existing\nalice:{PLAIN}a").unwrap();
    let hashed = StoredPassword::hash(Scheme::Argon2id, b"n3w pass").unwrap();
    assert!(hashed.to_field().starts_with("{ARGON2ID}$argon2id$v=19$"));
    let entry = UserEntry::new("newbie@example.org", Some(hashed))
        .unwrap()
        .with_home(dir.path().join("newbie"))
        .unwrap();
    users::append_user(&path, &entry).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# existing\nalice:{PLAIN}a\nnewbie@example.org:{ARGON2ID}"));
    let db = users::load(&path).unwrap();
    assert!(db.verify("alice", b"a").is_some());
    assert!(db.verify("newbie@example.org", b"n3w pass").is_some());
    assert!(db.verify("newbie@example.org", b"n3w pas").is_none());
    // A second add of the same name is refused and leaves the file alone.
    assert!(matches!(
        users::append_user(&path, &entry),
        Err(LoadError::Duplicate(_))
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn save_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    std::fs::write(&path, "# old\nalice:{PLAIN}a\n").unwrap();
    let mut db = users::load(&path).unwrap();
    db.insert(UserEntry::new("bob", StoredPassword::parse("{PLAIN}b").ok()).unwrap())
        .unwrap();
    users::save(&path, &db).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "alice:{PLAIN}a\nbob:{PLAIN}b\n"
    );
    // Nothing is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
    }
    // A failed save (no such directory) reports the path.
    let missing = dir.path().join("no/such/dir/users");
    assert!(matches!(
        users::save(&missing, &db),
        Err(LoadError::Io { .. })
    ));
}

#[test]
fn load_reports_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    std::fs::write(&path, "ok:{PLAIN}x\nbroken:{SHA512-CRYPT}nothash\n").unwrap();
    match users::load(&path) {
        Err(LoadError::Parse { source, .. }) => {
            assert_eq!(source.line(), 2);
            assert!(matches!(source, ParseError::Line { .. }));
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(matches!(
        users::load(dir.path().join("missing")),
        Err(LoadError::Io { .. })
    ));
}

mod round_trip {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9._+-]{0,20}(@[a-z0-9-]{1,10}\\.[a-z]{2,4})?"
            .prop_filter("no `..`", |s| !s.contains(".."))
    }

    fn field() -> impl Strategy<Value = String> {
        "[^:\r\n]{0,12}"
    }

    fn extra() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-z_]{1,8}(=[^:\\s]{0,8})?", 0..4).prop_map(|v| v.join(" "))
    }

    proptest! {
        /// Any line of the format, written back by `to_bytes`, parses to the
        /// same entry.
        #[test]
        fn lines_round_trip(
            name in name(),
            password in "[^:\r\n]{0,16}",
            uid in "[0-9]{0,5}",
            gid in "[0-9]{0,5}",
            gecos in field(),
            home in "(/[a-z0-9.]{1,8}){0,3}",
            shell in field(),
            groups in prop::collection::vec("[a-z]{1,8}", 0..3),
            extra in extra(),
        ) {
            let mut extra = extra;
            if !groups.is_empty() {
                extra = format!("acl_groups={} {extra}", groups.join(","));
            }
            let line = format!("{name}:{{PLAIN}}{password}:{uid}:{gid}:{gecos}:{home}:{shell}:{extra}\n");
            let db = UserDb::parse(line.as_bytes()).unwrap();
            let entry = db.get(&name).unwrap();
            prop_assert_eq!(entry.groups(), groups.as_slice());
            prop_assert_eq!(db.plaintext_secret(&name), Some(password.as_str()));
            prop_assert_eq!(entry.home().map(|h| h.to_str().unwrap()), (!home.is_empty()).then_some(home.as_str()));
            let again = UserDb::parse(&db.to_bytes()).unwrap();
            prop_assert_eq!(again.get(&name), Some(entry));
        }

        /// Arbitrary input never panics, and whatever parses writes back to
        /// an equal database.
        #[test]
        fn arbitrary_input(input in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(db) = UserDb::parse(&input) {
                let again = UserDb::parse(&db.to_bytes()).unwrap();
                prop_assert_eq!(again.len(), db.len());
                for e in db.iter() {
                    prop_assert_eq!(again.get(e.name()), Some(e));
                }
            }
        }
    }
}
