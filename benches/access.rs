//! postroom-access: ACL evaluation and the two file parsers.
//!
//! Inputs (built in memory, no I/O):
//! - `rights_of/64_entries`: effective rights of a user in 8 groups against
//!   a 64-entry ACL (users, groups, negatives); throughput in entries.
//! - `parse_acl_file/64_lines`: a 64-line `courierimapacl` file; bytes.
//! - `maildirsize/parse_5k`: a 5,100-byte `maildirsize` in Courier's padded
//!   format (the largest Courier keeps); bytes.
//! - `maildirsize/recalculate_10k`: totals over a listing of 10,000 file
//!   names with `S=` and flags; files.

// criterion_group! defines an undocumented function.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use postroom::access::aclfile::{parse_acl_file, print_acl_file};
use postroom::access::maildirsize::{
    ListedFile, Maildirsize, QuotaDefinition, RecalcSettings, Totals, Writer, delta_line,
    print_file, recalculate,
};
use postroom::access::{Acl, Identifier, Principal};

fn acl_64() -> Acl {
    let mut acl = Acl::new();
    for i in 0..64 {
        let id = match i % 4 {
            0 => format!("user=user{i}"),
            1 => format!("group=group{i}"),
            2 => format!("-user=user{}", i - 1),
            _ => format!("-group=group{}", i - 2),
        };
        acl.set_unchecked(Identifier::parse(&id).unwrap(), "lrswi".parse().unwrap());
    }
    acl.set_unchecked(Identifier::OWNER, "lrswipkxtea".parse().unwrap());
    acl
}

fn bench(c: &mut Criterion) {
    let acl = acl_64();
    let who = Principal::with_groups("user8", (0..8).map(|i| format!("group{}", i * 8 + 1)));
    let mut g = c.benchmark_group("rights_of");
    g.throughput(Throughput::Elements(acl.len() as u64));
    g.bench_function("64_entries", |b| {
        b.iter(|| black_box(&acl).rights_of(black_box(&who), Some("owner1")))
    });
    g.finish();

    let file = print_acl_file(&acl);
    let mut g = c.benchmark_group("parse_acl_file");
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("64_lines", |b| b.iter(|| parse_acl_file(black_box(&file))));
    g.finish();

    let def = QuotaDefinition {
        bytes: 10_000_000,
        messages: 1000,
    };
    let mut mds = print_file(
        def,
        Totals {
            bytes: 5_000_000,
            messages: 300,
        },
        Writer::Courier,
    );
    while mds.len() + 26 < 5100 {
        mds.extend_from_slice(delta_line(123_456, 1, Writer::Courier).as_bytes());
    }
    let names: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                "17000{i:05}.M{i}P1.host,S={}:2,{}",
                1000 + i,
                if i % 7 == 0 { "ST" } else { "S" }
            )
        })
        .collect();
    let mut g = c.benchmark_group("maildirsize");
    g.throughput(Throughput::Bytes(mds.len() as u64));
    g.bench_function("parse_5k", |b| {
        b.iter(|| Maildirsize::parse(black_box(&mds)))
    });
    g.throughput(Throughput::Elements(names.len() as u64));
    g.bench_function("recalculate_10k", |b| {
        b.iter(|| {
            recalculate(
                names.iter().map(|n| ListedFile {
                    folder: "",
                    name: n,
                    stat_size: None,
                }),
                RecalcSettings::COURIER,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
