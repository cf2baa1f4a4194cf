//! Replays every input under `fuzz/regressions/` (crashes the fuzzer once found, and hand-written
//! edge cases) through the same property the fuzz target checks.

use std::path::Path;

#[test]
fn every_fuzz_regression_still_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).expect("readable file");
        let outcome = std::panic::catch_unwind(|| provisio::expr::fuzz::check(&data));
        assert!(outcome.is_ok(), "{} broke the expression engine again", path.display());
        n += 1;
    }
    assert!(n >= 4, "expected the regression inputs, found {n}");
}

#[test]
fn every_fuzz_seed_is_a_valid_expression() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for entry in std::fs::read_dir(&dir).expect("fuzz/seeds exists") {
        let path = entry.expect("readable entry").path();
        let text = std::fs::read_to_string(&path).expect("utf-8 seed");
        provisio::expr::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        provisio::expr::fuzz::check(text.as_bytes());
    }
}
