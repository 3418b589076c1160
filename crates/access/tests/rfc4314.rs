//! RFC 4314 known answers: every row of the §4 table, the §2.1.1 examples,
//! the §4 COPY example, the §5.2 READ-ONLY examples, and properties.

use postroom_access::policy::{
    CloseAction, FlagKind, FlagKinds, Need, Operation, SelectAccess, Target, Verdict, authorize,
    close_action, fetch_may_set_seen, filter_flags, list_rights, myrights, nearest_existing_parent,
    requirements, select_access,
};
use postroom_access::{
    Acl, AclPolicy, Identifier, LegacyMapping, Principal, RightsModification, parse_rights,
    tie_virtual_rights,
};
use postroom_types::{Flag, Right, Rights};
use proptest::prelude::*;

fn r(s: &str) -> Rights {
    s.parse().unwrap()
}

/// Decides `op` when the user holds `rights` on every target.
fn with(op: Operation, rights: &str) -> Verdict {
    let rights = r(rights);
    authorize(&op, |_| Some(rights))
}

fn allowed(op: Operation, rights: &str) -> bool {
    with(op, rights) == Verdict::Allowed
}

/// One row of the §4 table: the rights that must be present (all of them),
/// and a set that lacks exactly what is needed but keeps `l`.
#[test]
fn section4_table_single_right_rows() {
    let rows: &[(Operation, char)] = &[
        (Operation::Subscribe, 'l'),
        (Operation::Delete, 'x'),
        (Operation::Select, 'r'),
        (Operation::Examine, 'r'),
        (Operation::Status, 'r'),
        (Operation::SetAcl, 'a'),
        (Operation::DeleteAcl, 'a'),
        (Operation::GetAcl, 'a'),
        (Operation::ListRights, 'a'),
        (Operation::Append, 'i'),
        (Operation::Copy, 'i'),
        (Operation::Expunge, 'e'),
        (Operation::Create, 'k'),
    ];
    for &(op, right) in rows {
        let all = "lrswipkxtea";
        let without: String = all.chars().filter(|&c| c != right).collect();
        assert!(allowed(op, all), "{op:?} with all rights");
        assert!(allowed(op, &format!("l{right}")), "{op:?} with l{right}");
        let verdict = with(op, &without);
        if right == 'l' {
            // Without `l` the mailbox is hidden, as if it did not exist.
            assert!(
                matches!(verdict, Verdict::NoSuchMailbox { .. }),
                "{op:?}: {verdict:?}"
            );
        } else {
            assert!(
                matches!(verdict, Verdict::Denied { need: Need::All(n), .. } if n == Rights::from(Right::from_letter(right).unwrap())),
                "{op:?} without {right}: {verdict:?}"
            );
        }
    }
}

#[test]
fn list_and_lsub_never_fail() {
    for op in [Operation::List, Operation::Lsub] {
        assert_eq!(with(op, "l"), Verdict::Allowed);
        assert_eq!(with(op, "rswipkxtea"), Verdict::Hidden);
        assert_eq!(authorize(&op, |_| None), Verdict::Hidden);
    }
}

#[test]
fn list_child_visible_when_parent_is_not() {
    // "If the user has `l` on A/B but not on A, list A/B as if A did not
    // exist": each mailbox is decided on its own rights.
    let rights_of = |name: &str| if name == "A" { r("r") } else { r("lr") };
    assert_eq!(
        authorize(&Operation::List, |_| Some(rights_of("A"))),
        Verdict::Hidden
    );
    assert_eq!(
        authorize(&Operation::List, |_| Some(rights_of("A/B"))),
        Verdict::Allowed
    );
}

#[test]
fn unsubscribe_close_fetch_search_need_nothing() {
    for op in [
        Operation::Unsubscribe,
        Operation::Close,
        Operation::Fetch,
        Operation::Search,
    ] {
        assert!(requirements(&op).is_empty(), "{op:?}");
        assert_eq!(with(op, ""), Verdict::Allowed, "{op:?}");
    }
}

#[test]
fn create_needs_k_on_nearest_existing_parent() {
    let existing = ["A", "A/B"];
    let parent = nearest_existing_parent("A/B/C/D", '/', |n| existing.contains(&n));
    assert_eq!(parent, Some("A/B"));
    let rights_on = |name: &str| if name == "A/B" { r("lk") } else { r("lr") };
    let verdict = authorize(&Operation::Create, |t| {
        assert_eq!(t, Target::Parent);
        parent.map(rights_on)
    });
    assert_eq!(verdict, Verdict::Allowed);
    // Without k on the parent: a plain NO, even without `l` there (the
    // parent is not the mailbox the client named).
    assert_eq!(
        authorize(&Operation::Create, |_| Some(r("r"))),
        Verdict::Denied {
            target: Target::Parent,
            need: Need::All(r("k"))
        }
    );
}

#[test]
fn rename_needs_x_on_old_and_k_on_new_parent() {
    // RFC 4314 §4: A/B/C -> D/E needs x on A/B/C and k on D.
    let decide = |old: &str, new_parent: &str| {
        authorize(&Operation::Rename, |t| match t {
            Target::Mailbox => Some(r(old)),
            Target::Parent => Some(r(new_parent)),
            other => panic!("unexpected target {other:?}"),
        })
    };
    assert_eq!(decide("lx", "lk"), Verdict::Allowed);
    assert_eq!(
        decide("lr", "lk"),
        Verdict::Denied {
            target: Target::Mailbox,
            need: Need::All(r("x"))
        }
    );
    assert_eq!(
        decide("lx", "lr"),
        Verdict::Denied {
            target: Target::Parent,
            need: Need::All(r("k"))
        }
    );
}

#[test]
fn myrights_needs_any_of_lrikxa() {
    for c in "lrikxa".chars() {
        assert!(allowed(Operation::MyRights, &c.to_string()), "{c}");
    }
    assert!(matches!(
        with(Operation::MyRights, "swtep"),
        Verdict::NoSuchMailbox { .. }
    ));
}

#[test]
fn getacl_is_not_allowed_with_r_alone() {
    // RFC 4314 Appendix A.
    assert_eq!(
        with(Operation::GetAcl, "lr"),
        Verdict::Denied {
            target: Target::Mailbox,
            need: Need::All(r("a"))
        }
    );
}

#[test]
fn copy_and_move_targets() {
    let v = authorize(&Operation::Copy, |t| match t {
        Target::Destination => Some(r("lr")),
        _ => Some(r("lrswipkxtea")),
    });
    assert_eq!(
        v,
        Verdict::Denied {
            target: Target::Destination,
            need: Need::All(r("i"))
        }
    );
    let v = authorize(&Operation::Move, |t| match t {
        Target::Destination => Some(r("li")),
        Target::Source => Some(r("lrt")),
        _ => None,
    });
    assert_eq!(
        v,
        Verdict::Denied {
            target: Target::Source,
            need: Need::All(r("te"))
        }
    );
    assert_eq!(
        authorize(&Operation::Copy, |_| None),
        Verdict::NoSuchMailbox {
            target: Target::Destination
        }
    );
}

#[test]
fn expunge_and_close() {
    assert!(allowed(Operation::Expunge, "lre"));
    assert!(!allowed(Operation::Expunge, "lrt"));
    assert_eq!(close_action(r("lre")), CloseAction::ExpungeAndClose);
    assert_eq!(close_action(r("lrt")), CloseAction::CloseWithoutExpunge);
    assert_eq!(with(Operation::Close, "r"), Verdict::Allowed);
}

#[test]
fn fetch_sets_seen_only_with_s() {
    assert!(fetch_may_set_seen(r("rs")));
    assert!(!fetch_may_set_seen(r("r")));
}

#[test]
fn store_rows() {
    let seen = FlagKinds::of([FlagKind::Seen]);
    let deleted = FlagKinds::of([FlagKind::Deleted]);
    let other = FlagKinds::of([FlagKind::Other]);
    assert!(allowed(Operation::Store(seen), "lrs"));
    assert!(!allowed(Operation::Store(seen), "lrtw"));
    assert!(allowed(Operation::Store(deleted), "lrt"));
    assert!(!allowed(Operation::Store(deleted), "lrsw"));
    assert!(allowed(Operation::Store(other), "lrw"));
    assert!(!allowed(Operation::Store(other), "lrst"));
    // At least one requested flag allowed: go ahead.
    let mixed = FlagKinds::of([FlagKind::Seen, FlagKind::Other]);
    assert!(allowed(Operation::Store(mixed), "lrs"));
}

#[test]
fn selected_mailbox_is_never_hidden() {
    // EXPUNGE and STORE act on the selected mailbox: a plain NO.
    assert!(matches!(
        with(Operation::Expunge, "r"),
        Verdict::Denied { .. }
    ));
    assert!(matches!(
        with(Operation::Store(FlagKinds::of([FlagKind::Seen])), "r"),
        Verdict::Denied { .. }
    ));
    let v = authorize(&Operation::Move, |t| match t {
        Target::Destination => Some(r("li")),
        _ => Some(r("r")),
    });
    assert!(matches!(
        v,
        Verdict::Denied {
            target: Target::Source,
            ..
        }
    ));
}

#[test]
fn information_hiding() {
    // No `l`: exactly as if the mailbox did not exist (RFC 4314 §6).
    let hidden = with(Operation::Select, "i");
    let missing = authorize(&Operation::Select, |_| None);
    assert_eq!(hidden, missing);
    assert_eq!(
        hidden,
        Verdict::NoSuchMailbox {
            target: Target::Mailbox
        }
    );
    // With `l`: an honest NO.
    assert!(matches!(
        with(Operation::Select, "l"),
        Verdict::Denied { .. }
    ));
    for op in [
        Operation::SetAcl,
        Operation::DeleteAcl,
        Operation::GetAcl,
        Operation::ListRights,
    ] {
        assert_eq!(with(op, "r"), missing, "{op:?}");
    }
}

/// RFC 4314 §4 COPY example: MYRIGHTS on the target `rwis`, then `rsti`.
#[test]
fn section4_copy_flag_example() {
    let sources: [&[&str]; 3] = [
        &["\\Draft", "\\Deleted"],
        &["\\Answered"],
        &["$Forwarded", "\\Seen"],
    ];
    let copy = |rights: &str| -> Vec<Vec<&str>> {
        sources
            .iter()
            .map(|flags| filter_flags(flags.iter().copied(), r(rights), |f| FlagKind::of_name(f)))
            .collect()
    };
    assert!(allowed(Operation::Copy, "rwis"));
    assert_eq!(
        copy("rwis"),
        vec![
            vec!["\\Draft"],
            vec!["\\Answered"],
            vec!["$Forwarded", "\\Seen"]
        ]
    );
    assert_eq!(
        copy("rsti"),
        vec![vec!["\\Deleted"], vec![], vec!["\\Seen"]]
    );
    // The same with the shared flag type.
    let typed = |rights: &str| -> Vec<Vec<String>> {
        sources
            .iter()
            .map(|flags| {
                let flags: Vec<Flag> = flags.iter().map(|f| f.parse().unwrap()).collect();
                filter_flags(flags, r(rights), FlagKind::of_flag)
                    .iter()
                    .map(|f| f.to_string())
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        typed("rwis"),
        vec![
            vec!["\\Draft"],
            vec!["\\Answered"],
            vec!["$Forwarded", "\\Seen"]
        ]
    );
    assert_eq!(
        typed("rsti"),
        vec![vec!["\\Deleted"], vec![], vec!["\\Seen"]]
    );
}

/// RFC 4314 §5.2 examples (a server where `\Seen` is per user).
#[test]
fn section5_2_read_only_examples() {
    let shared = r("tw");
    assert_eq!(select_access(r("lrs"), shared), SelectAccess::ReadOnly);
    assert_eq!(select_access(r("rit"), shared), SelectAccess::ReadWrite);
    assert_eq!(select_access(r("rset"), shared), SelectAccess::ReadWrite);
    // In a Maildir every flag is shared, so `s` alone makes it writable.
    use postroom_access::policy::MAILDIR_SHARED_FLAG_RIGHTS;
    assert_eq!(
        select_access(r("lrs"), MAILDIR_SHARED_FLAG_RIGHTS),
        SelectAccess::ReadWrite
    );
    assert_eq!(
        select_access(r("lr"), MAILDIR_SHARED_FLAG_RIGHTS),
        SelectAccess::ReadOnly
    );
}

/// RFC 4314 §2.1.1 SETACL examples, on a server whose "delete" is `et`
/// (the `c`-deletes convention).
#[test]
fn section2_1_1_setacl_examples() {
    let m = LegacyMapping::DeleteIsC;
    let policy = AclPolicy {
        mapping: m,
        ..AclPolicy::RFC4314
    };
    let mut acl = Acl::new();
    // Fred's entry as the example's ACL response shows it: `x` without
    // `k`, so `c` is displayed because `x` is a member of "create" here.
    acl.set_unchecked(Identifier::user("Fred"), r("rwipslxtea"));
    acl.set(
        Identifier::user("David"),
        parse_rights("lrswida", m).unwrap(),
        Some("Fred"),
        &policy,
    )
    .unwrap();
    let shown = acl.to_getacl_entries(m);
    assert_eq!(shown[0].identifier, "Fred");
    assert_eq!(shown[0].rights, r("rwipslxcetda"));
    assert_eq!(shown[1].identifier, "David");
    assert_eq!(shown[1].rights, r("lrswideta"));
    acl.set(
        Identifier::user("Byron"),
        parse_rights("lrswikda", m).unwrap(),
        Some("Fred"),
        &policy,
    )
    .unwrap();
    let byron = &acl.to_getacl_entries(m)[2];
    assert_eq!(byron.rights, r("lrswikcdeta"));
}

fn groups(list: &[&str]) -> Vec<Rights> {
    list.iter().map(|g| r(g)).collect()
}

fn sorted(mut v: Vec<Rights>) -> Vec<String> {
    let mut s: Vec<String> = v.drain(..).map(|g| g.to_string()).collect();
    s.sort();
    s
}

/// RFC 4314 §2.1.1 LISTRIGHTS examples.
#[test]
fn section2_1_1_listrights_examples() {
    let d = LegacyMapping::DeleteIsD;
    let c = LegacyMapping::DeleteIsC;
    let cases: &[(LegacyMapping, &[&str], &[&str])] = &[
        (
            d,
            &["lr", "s", "w", "i", "p", "k", "x", "t"],
            &["lr", "s", "w", "i", "p", "k", "x", "t", "c", "d"],
        ),
        (
            d,
            &["lr", "s", "w", "i", "p", "k", "xte"],
            &["lr", "s", "w", "i", "p", "k", "xte", "c", "d"],
        ),
        (
            d,
            &["lr", "s", "w", "i", "p", "k", "x", "te"],
            &["lr", "s", "w", "i", "p", "k", "c", "x", "te", "d"],
        ),
        (
            c,
            &["lr", "swte", "i", "p", "k", "x"],
            &["lr", "swted", "i", "p", "k", "x", "c"],
        ),
    ];
    for (mapping, input, expected) in cases {
        let (required, out) = tie_virtual_rights(Rights::EMPTY, &groups(input), *mapping);
        assert_eq!(required, Rights::EMPTY);
        assert_eq!(sorted(out), sorted(groups(expected)), "{input:?}");
    }
}

/// RFC 4314 §3.7 example: `* LISTRIGHTS ~/Mail/saved smith la r swicdkxte`.
#[test]
fn section3_7_listrights_example() {
    let (required, out) = tie_virtual_rights(
        r("la"),
        &groups(&["r", "swikxte"]),
        LegacyMapping::DeleteIsD,
    );
    assert_eq!(required, r("la"));
    assert_eq!(out, groups(&["r", "swicdkxte"]));
}

#[test]
fn listrights_echoes_identifier_and_lists_every_right_once() {
    let policy = AclPolicy::COURIER;
    let answer = list_rights("Smith", Some("alice"), &policy).unwrap();
    assert_eq!(answer.identifier, "Smith");
    assert_eq!(answer.required, Rights::EMPTY);
    let strings = answer.rights_strings();
    assert_eq!(
        strings,
        [
            "", "l", "r", "s", "w", "i", "p", "k", "x", "t", "e", "a", "c", "d"
        ]
    );
    // The owner always holds l and a under Courier's policy.
    let owner = list_rights("owner", Some("alice"), &policy).unwrap();
    assert_eq!(owner.required, r("la"));
    assert!(!owner.optional.iter().any(|g| g.contains(Right::Lookup)));
    let by_name = list_rights("alice", Some("alice"), &policy).unwrap();
    assert_eq!(by_name.required, r("la"));
    // A negative for the owner cannot take l or a.
    let neg = list_rights("-owner", Some("alice"), &policy).unwrap();
    assert_eq!(neg.required, Rights::EMPTY);
    assert!(!neg.optional.iter().any(|g| g.contains(Right::Administer)));
    // A negative for everyone cannot take what the owner and the
    // administrators must keep.
    let neg_anyone = list_rights("-anyone", Some("alice"), &policy).unwrap();
    let offered = neg_anyone
        .optional
        .iter()
        .fold(Rights::EMPTY, |a, g| a.union(*g));
    // Under Courier's policy only `p` is left to deny (no member of
    // "create" or "delete" is grantable, so no `c` or `d` either).
    assert_eq!(offered, r("p"));
    let neg_fred = list_rights("-fred", Some("alice"), &policy).unwrap();
    assert_eq!(neg_fred.optional.len(), 13);
    // Every right appears at most once.
    for ans in [&answer, &owner, &neg, &neg_anyone, &neg_fred] {
        let mut seen = Rights::EMPTY;
        for g in std::iter::once(ans.required).chain(ans.optional.iter().copied()) {
            assert!(seen.intersection(g).is_empty(), "{ans:?}");
            seen = seen.union(g);
        }
    }
    assert!(list_rights("", None, &policy).is_err());
}

#[test]
fn myrights_shows_virtual_rights() {
    assert_eq!(
        myrights(r("lrxte"), LegacyMapping::DeleteIsD),
        r("lrxtecd").difference(r("c"))
    );
    assert_eq!(myrights(r("lrk"), LegacyMapping::DeleteIsD), r("lrkc"));
}

fn arb_identifier() -> impl Strategy<Value = Identifier> {
    let names = prop::sample::select(vec!["fred", "bob", "alice", "staff", "interns"]);
    (any::<bool>(), 0..7u8, names).prop_map(|(neg, kind, name)| {
        let text = match kind {
            0 => "anyone".to_owned(),
            1 => "authuser".to_owned(),
            2 => "owner".to_owned(),
            3 => "administrators".to_owned(),
            4 => format!("group={name}"),
            5 => format!("user={name}"),
            _ => name.to_owned(),
        };
        let text = if neg { format!("-{text}") } else { text };
        Identifier::parse(&text).unwrap()
    })
}

fn arb_rights() -> impl Strategy<Value = Rights> {
    "[lrswipkxtea]{0,11}".prop_map(|s| s.parse().unwrap())
}

fn arb_acl() -> impl Strategy<Value = Acl> {
    prop::collection::vec((arb_identifier(), arb_rights()), 0..8).prop_map(Acl::from_entries)
}

fn arb_principal() -> impl Strategy<Value = Principal> {
    let names = prop::sample::select(vec!["fred", "bob", "alice"]);
    let groups = prop::sample::subsequence(vec!["staff", "interns", "administrators"], 0..3);
    (names, groups, any::<bool>()).prop_map(|(n, g, anon)| {
        if anon {
            Principal::anonymous()
        } else {
            Principal::with_groups(n, g)
        }
    })
}

proptest! {
    #[test]
    fn a_negative_entry_always_wins(acl in arb_acl(), who in arb_principal(), denied in arb_rights()) {
        let mut acl = acl;
        acl.set_unchecked("-anyone".parse().unwrap(), denied);
        let got = acl.rights_of(&who, Some("alice"));
        let mut expected_gone = denied;
        if who.is_owner(Some("alice")) {
            expected_gone.remove(Right::Administer);
        }
        prop_assert!(got.intersection(expected_gone).is_empty());
        if !who.anonymous {
            let mut acl2 = acl.clone();
            acl2.set_unchecked(Identifier::user(who.user.clone()).negated(), denied);
            let got2 = acl2.rights_of(&who, Some("alice"));
            prop_assert!(got2.intersection(expected_gone).is_empty());
        }
    }

    #[test]
    fn adding_a_positive_entry_never_removes_a_right(
        acl in arb_acl(), who in arb_principal(), id in arb_identifier(), add in arb_rights()
    ) {
        let id = id.positive_form();
        let before = acl.rights_of(&who, Some("alice"));
        let mut after_acl = acl.clone();
        let _ = after_acl.modify(id, RightsModification::Add(add), Some("alice"), &AclPolicy::RFC4314);
        let after = after_acl.rights_of(&who, Some("alice"));
        prop_assert!(before.is_subset(after));
    }

    #[test]
    fn d_in_equals_xte(s in "[lrswipkxtea]{0,11}") {
        let m = LegacyMapping::DeleteIsD;
        let with_d = parse_rights(&format!("{s}d"), m).unwrap();
        let with_members = parse_rights(&format!("{s}xte"), m).unwrap();
        prop_assert_eq!(with_d, with_members);
        prop_assert!(!with_d.contains(Right::LegacyDelete));
    }

    #[test]
    fn owner_always_has_a(acl in arb_acl(), groups in prop::sample::subsequence(vec!["staff", "interns", "administrators"], 0..3)) {
        let owner = Principal::with_groups("alice", groups);
        prop_assert!(acl.rights_of(&owner, Some("alice")).contains(Right::Administer));
    }

    #[test]
    fn refused_changes_leave_acl_unchanged(acl in arb_acl(), id in arb_identifier(), rights in arb_rights()) {
        let mut changed = acl.clone();
        if changed.set(id, rights, Some("alice"), &AclPolicy::COURIER).is_err() {
            prop_assert_eq!(changed, acl);
        }
    }
}
