//! The property the fuzz target checks, here so that the regression tests (every file under
//! `fuzz/regressions/`) and `cargo fuzz` run the same code: any input either fails to parse with an
//! error whose span lies inside the text, or parses to a tree that prints to text that parses back to
//! the same tree, compiles (or fails to compile) without panicking, and evaluates without panicking.

use super::{compile, parse, pretty, print, FixedEnv, SourceSchema, Value};
use chrono::DateTime;

struct Empty;

impl super::Source for Empty {
    fn get(&self, name: &str) -> Value {
        match name.len() % 4 {
            0 => Value::Null,
            1 => Value::Str(name.to_string()),
            2 => Value::Multi(vec![name.to_string(), String::new()]),
            _ => Value::Int(name.len() as i64),
        }
    }
}

/// Checks one input; panics (which the fuzzer reports) when a property does not hold.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse(text) {
        Err(e) => {
            assert!(e.span.start <= e.span.end && e.span.end as usize <= text.len(), "error span outside the text: {e:?}");
            assert!(e.line >= 1 && e.column >= 1, "positions are 1-based: {e:?}");
        }
        Ok(tree) => {
            let printed = print(&tree);
            let again = parse(&printed).unwrap_or_else(|e| panic!("printed text does not parse: {printed:?}: {e}"));
            assert_eq!(again, tree, "print/parse changed the tree: {printed:?}");
            let p = pretty(&tree, 30);
            assert_eq!(parse(&p).ok().as_ref(), Some(&tree), "pretty/parse changed the tree: {p:?}");
            if let Ok(expr) = compile(text, &SourceSchema::open()) {
                let mut env = FixedEnv::at(DateTime::from_timestamp(1_600_000_000, 0).unwrap_or_default());
                let _ = expr.evaluate(&Empty, &mut env);
            }
        }
    }
}
