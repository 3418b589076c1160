//! Quota known answers: `maildirsize` files as Courier and Dovecot write
//! them, recalculation after manual edits, and RFC 2087/9208 semantics.

use postroom_access::maildirsize::{
    ListedFile, MaildirQuotaCheck, Maildirsize, QuotaDefinition, RecalcSettings, RecalculateReason,
    Totals, Writer, delta_line, print_file, recalculate,
};
use postroom_access::quota::{
    KibRounding, QuotaDecision, QuotaError, QuotaRoot, Usage, get_quota, get_quota_root,
    limits_from_definition,
};
use postroom_types::{QuotaLimit, QuotaUsage, Resource};
use proptest::prelude::*;

fn lim(resource: Resource, limit: u64) -> QuotaLimit {
    QuotaLimit { resource, limit }
}

fn usage(resource: Resource, usage: u64, limit: u64) -> QuotaUsage {
    QuotaUsage {
        resource,
        usage,
        limit,
    }
}

/// Dovecot 2.3 after `quota_rule = *:storage=1K:messages=3` and three
/// 314-byte deliveries; the fourth 300-byte APPEND gets
/// `NO [OVERQUOTA] Quota exceeded (mailbox for user is full)`.
#[test]
fn dovecot_written_file() {
    let file = b"1024S,3C\n0 0\n314 1\n314 1\n314 1\n";
    let f = Maildirsize::parse(file);
    assert_eq!(
        f.definition,
        QuotaDefinition {
            bytes: 1024,
            messages: 3
        }
    );
    assert_eq!((f.bytes, f.messages, f.delta_lines), (942, 3, 4));
    assert_eq!(f.recalculate, None);

    // `* QUOTA "User quota" (STORAGE 1 1 MESSAGE 3 3)`: Dovecot rounds up.
    let root = QuotaRoot::with_limits(
        "User quota",
        limits_from_definition(f.definition, KibRounding::Up),
    )
    .unwrap();
    let now = Usage {
        storage_bytes: 942,
        messages: 3,
        mailboxes: 1,
    };
    assert_eq!(
        root.usage_response(&now, KibRounding::Up),
        [
            usage(Resource::Storage, 1, 1),
            usage(Resource::Message, 3, 3)
        ]
    );

    // The fourth append: over quota; the file has several lines, so
    // recalculate first, then refuse.
    assert_eq!(f.check(300, 1, 0), MaildirQuotaCheck::Recalculate);
    let names = [
        "1795634785.M866944P22988.vm,S=314,W=317:2,",
        "1795634786.M1P22989.vm,S=314,W=317:2,S",
        "1795634787.M2P22990.vm,S=314,W=317",
    ];
    let listing = names.iter().map(|n| ListedFile {
        folder: "",
        name: n,
        stat_size: None,
    });
    let totals = recalculate(listing, RecalcSettings::DOVECOT);
    assert_eq!(
        totals,
        Totals {
            bytes: 942,
            messages: 3
        }
    );
    assert_eq!(f.definition.evaluate(942 + 300, 3 + 1), (true, 100));
    let addition = Usage {
        storage_bytes: 300,
        messages: 1,
        mailboxes: 0,
    };
    assert_eq!(
        root.check(&now, &addition, None),
        QuotaDecision::OverQuota(Resource::Storage)
    );
    // Dovecot's rewrite of the file.
    assert_eq!(
        print_file(f.definition, totals, Writer::Dovecot),
        b"1024S,3C\n942 3\n"
    );
    assert_eq!(delta_line(314, 1, Writer::Dovecot), "314 1\n");
}

/// A file as Courier's deliverquota writes it: the definition, the
/// recalculated totals padded `%12s %12s\n`, then appended deltas.
#[test]
fn courier_written_file() {
    let mut file = print_file(
        QuotaDefinition {
            bytes: 10_000_000,
            messages: 1000,
        },
        Totals {
            bytes: 5000,
            messages: 3,
        },
        Writer::Courier,
    );
    assert_eq!(
        file,
        b"10000000S,1000C\n        5000            3\n".to_vec()
    );
    let f = Maildirsize::parse(&file);
    assert_eq!((f.bytes, f.messages, f.delta_lines), (5000, 3, 1));
    assert_eq!(f.check(100, 1, 0), MaildirQuotaCheck::Within { percent: 0 });

    file.extend_from_slice(delta_line(1234, 1, Writer::Courier).as_bytes());
    file.extend_from_slice(delta_line(-5000, -3, Writer::Courier).as_bytes());
    assert_eq!(&file[file.len() - 26..], b"       -5000           -3\n");
    let f = Maildirsize::parse(&file);
    assert_eq!((f.bytes, f.messages, f.delta_lines), (1234, 1, 3));
    assert_eq!(f.recalculate, None);

    // Courier with only a count limit and no limits at all.
    let only_count = print_file(
        QuotaDefinition {
            bytes: 0,
            messages: 50,
        },
        Totals::default(),
        Writer::Courier,
    );
    assert_eq!(only_count, b"50C\n           0            0\n");
    assert!(Maildirsize::parse(b"\n0 0\n").definition.is_unlimited());
}

#[test]
fn when_to_recalculate() {
    let def = "1000S,10C\n";
    // Under quota: no recalculation whatever the age or line count.
    let f = Maildirsize::parse(format!("{def}100 1\n100 1\n").as_bytes());
    assert_eq!(
        f.check(10, 1, 10_000),
        MaildirQuotaCheck::Within { percent: 30 }
    );
    // Over with one line, fresh: refuse without recalculating.
    let f = Maildirsize::parse(format!("{def}990 9\n").as_bytes());
    assert_eq!(f.check(100, 1, 899), MaildirQuotaCheck::Over);
    // ... 15 minutes old or more: recalculate.
    assert_eq!(f.check(100, 1, 900), MaildirQuotaCheck::Recalculate);
    // Over with more than one line: recalculate.
    let f = Maildirsize::parse(format!("{def}900 8\n90 1\n").as_bytes());
    assert_eq!(f.check(100, 1, 0), MaildirQuotaCheck::Recalculate);
    // Reaching the limit exactly is allowed.
    assert_eq!(
        f.check(10, 1, 0),
        MaildirQuotaCheck::Within { percent: 100 }
    );
    // Negative totals.
    let f = Maildirsize::parse(format!("{def}100 1\n-300 -2\n").as_bytes());
    assert_eq!(f.recalculate, Some(RecalculateReason::NegativeTotal));
    assert_eq!(f.check(0, 0, 0), MaildirQuotaCheck::Recalculate);
    // 5120 bytes or more: recalculate, keep the definition.
    let mut big = def.as_bytes().to_vec();
    while big.len() < 5120 {
        big.extend_from_slice(b"1 1\n");
    }
    let f = Maildirsize::parse(&big);
    assert_eq!(f.recalculate, Some(RecalculateReason::TooLarge));
    assert_eq!(f.definition.bytes, 1000);
    // Just under 5120 is fine.
    let f = Maildirsize::parse(&big[..5114]);
    assert_eq!(f.recalculate, None);
    // A malformed line or an unterminated last line.
    let f = Maildirsize::parse(format!("{def}100 1\nxyz\n").as_bytes());
    assert_eq!(
        f.recalculate,
        Some(RecalculateReason::MalformedLine {
            line: 3,
            offset: 16
        })
    );
    let f = Maildirsize::parse(format!("{def}100 1\n100").as_bytes());
    assert_eq!(f.recalculate, Some(RecalculateReason::Unterminated));
    // Unlimited quota: always within.
    let f = Maildirsize::parse(b"0S\n999999 9999\n");
    assert_eq!(
        f.check(1 << 40, 1, 0),
        MaildirQuotaCheck::Within { percent: 0 }
    );
}

/// Recalculation after the Maildir was edited by hand: messages deleted,
/// moved to Trash, flagged `T`, dropped in without `S=`.
#[test]
fn recalculation_after_manual_edits() {
    let files = [
        ListedFile {
            folder: "",
            name: "1.a,S=1000:2,S",
            stat_size: None,
        },
        ListedFile {
            folder: "",
            name: "2.a,S=500:2,ST",
            stat_size: None,
        },
        ListedFile {
            folder: "",
            name: "3.a",
            stat_size: Some(250),
        },
        ListedFile {
            folder: "",
            name: "4.a",
            stat_size: None,
        },
        ListedFile {
            folder: "",
            name: ".hidden,S=7",
            stat_size: None,
        },
        ListedFile {
            folder: ".Trash",
            name: "5.a,S=4000:2,S",
            stat_size: None,
        },
        ListedFile {
            folder: ".Trash.Old",
            name: "6.a,S=30:2,",
            stat_size: None,
        },
        ListedFile {
            folder: ".Sent",
            name: "7.a,S=20",
            stat_size: Some(99),
        },
    ];
    assert_eq!(
        recalculate(files, RecalcSettings::COURIER),
        Totals {
            bytes: 1000 + 250 + 30 + 20,
            messages: 4
        }
    );
    assert_eq!(
        recalculate(files, RecalcSettings::DOVECOT),
        Totals {
            bytes: 1000 + 500 + 250 + 4000 + 30 + 20,
            messages: 6
        }
    );
    let trash_only = RecalcSettings {
        count_trash: true,
        count_deleted: false,
    };
    assert_eq!(recalculate(files, trash_only).messages, 5);
}

#[test]
fn setquota_replaces_all_limits() {
    let mut root = QuotaRoot::new("");
    root.set_limits(
        vec![lim(Resource::Storage, 512), lim(Resource::Message, 10)],
        true,
    )
    .unwrap();
    // `A001 SETQUOTA "" (STORAGE 512)` -> `* QUOTA "" (STORAGE 10 512)`.
    root.set_limits(vec![lim(Resource::Storage, 512)], true)
        .unwrap();
    let now = Usage {
        storage_bytes: 10 * 1024,
        messages: 99,
        mailboxes: 3,
    };
    assert_eq!(
        root.usage_response(&now, KibRounding::Down),
        [usage(Resource::Storage, 10, 512)]
    );
    assert_eq!(root.limit(&Resource::Message), None);
    // Only administrators; bad requests change nothing.
    assert_eq!(
        root.set_limits(vec![], false),
        Err(QuotaError::NotAdministrator)
    );
    assert_eq!(
        root.set_limits(vec![lim(Resource::AnnotationStorage, 1)], true),
        Err(QuotaError::UnsupportedResource(Resource::AnnotationStorage))
    );
    assert_eq!(
        root.set_limits(
            vec![lim(Resource::Message, 1), lim(Resource::Message, 2)],
            true
        ),
        Err(QuotaError::DuplicateResource(Resource::Message))
    );
    assert_eq!(root.limits(), [lim(Resource::Storage, 512)]);
    // An empty list removes every limit: `* QUOTA "" ()`.
    root.set_limits(vec![], true).unwrap();
    assert!(root.usage_response(&now, KibRounding::Up).is_empty());
}

#[test]
fn getquotaroot_and_getquota() {
    let root = QuotaRoot::new("ROOT");
    let ok = get_quota_root("INBOX", Some("lr".parse().unwrap()), false, &[&root]).unwrap();
    assert_eq!(ok.mailbox, "INBOX");
    assert_eq!(ok.roots, ["ROOT"]);
    // `* QUOTAROOT comp.mail.mime` for a mailbox without roots.
    let none = get_quota_root("comp.mail.mime", Some("lr".parse().unwrap()), false, &[]).unwrap();
    assert!(none.roots.is_empty());
    assert_eq!(
        get_quota_root("nosuch", None, false, &[&root]),
        Err(QuotaError::NoSuchMailbox)
    );
    assert_eq!(
        get_quota_root("x", Some("i".parse().unwrap()), false, &[&root]),
        Err(QuotaError::NoSuchMailbox)
    );
    assert_eq!(
        get_quota_root("x", Some("l".parse().unwrap()), false, &[&root]),
        Err(QuotaError::PermissionDenied)
    );
    assert!(get_quota_root("x", Some("l".parse().unwrap()), true, &[&root]).is_ok());
    let roots = [root];
    assert_eq!(get_quota("ROOT", &roots).unwrap().name, "ROOT");
    assert_eq!(
        get_quota("", &roots),
        Err(QuotaError::NoSuchRoot(String::new()))
    );
}

#[test]
fn over_quota_and_soft_warning() {
    let root = QuotaRoot::with_limits(
        "",
        vec![
            lim(Resource::Storage, 100),
            lim(Resource::Message, 10),
            lim(Resource::Mailbox, 5),
        ],
    )
    .unwrap();
    let now = Usage {
        storage_bytes: 80 * 1024,
        messages: 5,
        mailboxes: 5,
    };
    let msg = |bytes| Usage {
        storage_bytes: bytes,
        messages: 1,
        mailboxes: 0,
    };
    assert_eq!(root.check(&now, &msg(1024), None), QuotaDecision::Allowed);
    assert_eq!(
        root.check(&now, &msg(1024), Some(80)),
        QuotaDecision::SoftLimitWarning(Resource::Storage)
    );
    assert_eq!(
        root.check(&now, &msg(20 * 1024), None),
        QuotaDecision::Allowed
    );
    assert_eq!(
        root.check(&now, &msg(20 * 1024 + 1), None),
        QuotaDecision::OverQuota(Resource::Storage)
    );
    let create = Usage {
        storage_bytes: 0,
        messages: 0,
        mailboxes: 1,
    };
    assert_eq!(
        root.check(&now, &create, None),
        QuotaDecision::OverQuota(Resource::Mailbox)
    );
    // Removing or adding nothing never fails, even when already over.
    let over = Usage {
        storage_bytes: 1 << 30,
        messages: 100,
        mailboxes: 50,
    };
    assert_eq!(
        root.check(&over, &Usage::default(), None),
        QuotaDecision::Allowed
    );
}

#[test]
fn courier_without_quota() {
    // Courier 5.0.13 without quota: `* QUOTAROOT "INBOX" "ROOT"` then
    // `* QUOTA "ROOT"` with no list: a root without limits.
    let root = QuotaRoot::new("ROOT");
    assert!(
        root.usage_response(&Usage::default(), KibRounding::Up)
            .is_empty()
    );
    assert_eq!(
        root.check(
            &Usage::default(),
            &Usage {
                storage_bytes: u64::MAX,
                messages: 1,
                mailboxes: 1
            },
            Some(1)
        ),
        QuotaDecision::Allowed
    );
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let f = Maildirsize::parse(&bytes);
        let _ = f.check(1, 1, 0);
    }

    #[test]
    fn printed_files_read_back(
        bytes in 0u64..1 << 40, messages in 0u64..1 << 20,
        lim_b in 0u64..1 << 40, lim_m in 0u64..1 << 20,
        deltas in prop::collection::vec((-100_000i64..100_000, -5i64..5), 0..20),
        dovecot in any::<bool>(),
    ) {
        let writer = if dovecot { Writer::Dovecot } else { Writer::Courier };
        let def = QuotaDefinition { bytes: lim_b, messages: lim_m };
        let mut file = print_file(def, Totals { bytes, messages }, writer);
        let (mut eb, mut em) = (bytes as i64, messages as i64);
        for (b, m) in &deltas {
            file.extend_from_slice(delta_line(*b, *m, writer).as_bytes());
            eb += b;
            em += m;
        }
        prop_assume!(file.len() < 5120);
        let f = Maildirsize::parse(&file);
        prop_assert_eq!(f.definition, def);
        prop_assert_eq!((f.bytes, f.messages), (eb, em));
        prop_assert_eq!(f.delta_lines, deltas.len() + 1);
        if eb >= 0 && em >= 0 {
            prop_assert_eq!(f.recalculate, None);
        } else {
            prop_assert_eq!(f.recalculate, Some(RecalculateReason::NegativeTotal));
        }
    }
}
