//! How fast the expression engine is: evaluations per second on one core, and the parse time of a
//! 10,000-character expression.
//!
//! `expr_evals_per_sec`: the default user mapping set of a generic SCIM 2.0 app (as Entra ships it,
//! with its name, e-mail and externalId mappings turned into the usual Join/ToLower expressions),
//! compiled once and evaluated for each of 100,000 demo users on one thread. Every attribute mapping
//! evaluated for one user counts as one evaluation. Best of three passes.
//!
//! `expr_parse_10k_chars_ms`: parsing (and, reported beside it, checking and compiling) one realistic
//! expression of just under 10,000 characters, a Switch over departments with Join/ToLower values;
//! median of 500 runs.
//!
//! Run with `cargo bench -p provisio --bench expressions` (`make bench BENCH=expr_evals_per_sec`).
//! `BENCH_USERS` overrides the number of users.

use chrono::{TimeZone, Utc};
use provisio::demo;
use provisio::expr::{compile, parse, FixedEnv, SourceSchema, Stop};
use provisio::mapping::{default_user_mapping, resolve, scim_user_schema, AttributeMapping, CompiledMapping, ObjectMapping, Phase};
use provisio::model::{User, UserId};
use std::hint::black_box;
use std::time::{Duration, Instant};

const DEFAULT_USERS: usize = 100_000;

/// The mapping set: Entra's default user mapping for a generic SCIM app (`default_user_mapping`), with
/// the work e-mail and externalId turned into ToLower/Join expressions and two more attributes
/// (userType by Switch, organization) as admins commonly add: 20 attribute mappings.
fn mapping_set() -> ObjectMapping {
    let mut m = default_user_mapping();
    for a in &mut m.attributes {
        if a.target == r#"emails[type eq "work"].value"# {
            *a = AttributeMapping::expression("ToLower([mail])", &a.target);
        } else if a.target == "externalId" {
            *a = AttributeMapping::expression(r#"ToLower(Join(".", [givenName], [surname]))"#, &a.target);
        }
    }
    m.attributes
        .push(AttributeMapping::expression(r#"Switch([employeeType], "Member", "Contractor", "Guest", "Vendor", "Guest")"#, "userType"));
    m.attributes.push(AttributeMapping::direct("companyName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization"));
    m
}

fn users(n: usize) -> Vec<User> {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    demo::users(n, "contoso.example")
        .into_iter()
        .enumerate()
        .map(|(i, (draft, _))| draft.to_user(UserId(uuid::Uuid::from_u128(i as u128 + 1)), at))
        .collect()
}

/// A Switch over `n` departments, each value a Join of lower-cased names: just under 10,000 characters.
fn long_expression() -> String {
    let mut text = String::from("Switch([department], \"Other\"");
    let mut i = 0;
    loop {
        let pair = format!(", \"Department {i}\", Join(\".\", ToLower([givenName]), ToLower([surname]), \"d{i}\")");
        if text.chars().count() + pair.len() + 1 > 10_000 {
            break;
        }
        text.push_str(&pair);
        i += 1;
    }
    text.push(')');
    text
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_USERS);
    let mapping = CompiledMapping::compile(&mapping_set(), &scim_user_schema()).unwrap_or_else(|e| panic!("{e:?}"));
    let set: Vec<_> = mapping.attributes().iter().filter_map(|a| a.expression()).collect();
    print!("generating {n} users… ");
    let people = users(n);
    println!("done");

    let mut env = FixedEnv::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());
    let mut best = Duration::MAX;
    let mut evals = 0u64;
    for pass in 0..3 {
        let start = Instant::now();
        let mut count = 0u64;
        for u in &people {
            for e in &set {
                match e.evaluate(u, &mut env) {
                    Ok(v) => {
                        black_box(v);
                    }
                    Err(Stop::IgnoreFlow) => {}
                    Err(err) => panic!("{}: {err}", e.text()),
                }
                count += 1;
            }
        }
        let took = start.elapsed();
        println!("pass {pass}: {count} evaluations in {:.1} ms", took.as_secs_f64() * 1e3);
        best = best.min(took);
        evals = count;
    }
    let rate = evals as f64 / best.as_secs_f64();

    // The whole resolve (explanations and the SCIM resource), for the readable output.
    let start = Instant::now();
    let mut resolved = Vec::with_capacity(people.len());
    for u in &people {
        resolved.push(resolve(u, &mapping, Phase::Create, &mut env));
    }
    let resolve_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for r in &resolved {
        black_box(r.to_scim_json());
    }
    let json_s = start.elapsed().as_secs_f64();
    drop(resolved);
    println!("resolve: {:.1} µs/user, SCIM JSON: {:.1} µs/user", resolve_s * 1e6 / n as f64, json_s * 1e6 / n as f64);
    let resolved_per_sec = n as f64 / (resolve_s + json_s);

    let text = long_expression();
    assert!(text.chars().count() <= 10_000 && text.chars().count() > 9_800, "{}", text.len());
    let mut parse_times = Vec::new();
    let mut compile_times = Vec::new();
    for _ in 0..20 {
        black_box(parse(&text).unwrap());
    }
    for _ in 0..500 {
        let t = Instant::now();
        black_box(parse(black_box(&text)).unwrap());
        parse_times.push(t.elapsed());
        let t = Instant::now();
        black_box(compile(black_box(&text), &SourceSchema::open()).unwrap());
        compile_times.push(t.elapsed());
    }
    let parse_ms = median(parse_times).as_secs_f64() * 1e3;
    let compile_ms = median(compile_times).as_secs_f64() * 1e3;

    println!();
    println!("{:<44} {:>14}", "figure", "value");
    println!("{:<44} {:>14.0}", format!("evaluations/s ({} attributes × {n} users)", set.len()), rate);
    println!("{:<44} {:>14.0}", "users resolved to SCIM JSON/s (explained)", resolved_per_sec);
    println!("{:<44} {:>14.3}", format!("parse {} chars (ms, median)", text.chars().count()), parse_ms);
    println!("{:<44} {:>14.3}", "parse + check + compile (ms, median)", compile_ms);
    println!("{{\"bench\": \"expr_evals_per_sec\", \"value\": {rate:.0}, \"unit\": \"evals/s\"}}");
    println!("{{\"bench\": \"expr_parse_10k_chars_ms\", \"value\": {parse_ms:.4}, \"unit\": \"ms\"}}");
}
