//! Tree to text: the canonical one-line form and an indented form for long expressions. Both parse
//! back to the same tree (see the property test in `tests`).

use super::ast::{Expr, ExprKind};
use std::fmt::Write;

/// The canonical one-line text of an expression: `Join(" ", [givenName], [surname])`.
pub fn print(e: &Expr) -> String {
    let mut out = String::new();
    write_flat(e, &mut out);
    out
}

/// The text of an expression with calls that do not fit in `width` characters broken over lines,
/// one argument per line, indented by two spaces per level.
pub fn pretty(e: &Expr, width: usize) -> String {
    let mut out = String::new();
    write_pretty(e, 0, width, &mut out);
    out
}

/// A string constant as written in an expression: quoted, with `"` and `\` escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn write_flat(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Attr(n) => {
            out.push('[');
            out.push_str(n);
            out.push(']');
        }
        ExprKind::Str(s) => out.push_str(&quote(s)),
        ExprKind::Int(i) => {
            let _ = write!(out, "{i}");
        }
        ExprKind::Call { name, args, .. } => {
            out.push_str(name);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                // An empty argument prints as nothing between its commas: "F(a, , b)", "F(a, )".
                if let Some(a) = a {
                    write_flat(a, out);
                }
            }
            out.push(')');
        }
        ExprKind::Compare { op, left, right } => {
            write_flat(left, out);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            write_flat(right, out);
        }
    }
}

fn write_pretty(e: &Expr, indent: usize, width: usize, out: &mut String) {
    let flat = print(e);
    let ExprKind::Call { name, args, .. } = &e.kind else {
        out.push_str(&flat);
        return;
    };
    if 2 * indent + flat.chars().count() <= width || args.is_empty() {
        out.push_str(&flat);
        return;
    }
    out.push_str(name);
    out.push('(');
    // Switch reads as a table: its key, value pairs share a line.
    let paired = name == "Switch" && args.len() >= 4;
    for (i, a) in args.iter().enumerate() {
        if paired && i >= 3 && i % 2 == 1 {
            out.push(' ');
        } else {
            out.push('\n');
            out.push_str(&"  ".repeat(indent + 1));
        }
        if let Some(a) = a {
            write_pretty(a, indent + 1, width, out);
        }
        if i + 1 < args.len() {
            out.push(',');
        }
    }
    out.push('\n');
    out.push_str(&"  ".repeat(indent));
    out.push(')');
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;

    #[test]
    fn prints_canonical_text() {
        for (text, want) in [
            (r#"Join(".",[givenName],[surname])"#, r#"Join(".", [givenName], [surname])"#),
            (r#"Replace([x], , "re", , "", , )"#, r#"Replace([x], , "re", , "", , )"#),
            (r#"IIF([c]="US",&HF,-2)"#, r#"IIF([c] = "US", 15, -2)"#),
            (r#""a\"b\\c""#, r#""a\"b\\c""#),
            ("Now( )", "Now()"),
        ] {
            assert_eq!(print(&parse(text).unwrap()), want);
        }
    }

    #[test]
    fn pretty_breaks_long_calls_and_parses_back() {
        let t = r#"Switch([department], "Other", "Engineering", Join(".", ToLower([givenName]), ToLower([surname])), "Sales", "s")"#;
        let e = parse(t).unwrap();
        let p = pretty(&e, 80);
        assert_eq!(
            p,
            "Switch(\n  [department],\n  \"Other\",\n  \"Engineering\", Join(\".\", ToLower([givenName]), ToLower([surname])),\n  \"Sales\", \"s\"\n)"
        );
        assert_eq!(parse(&p).unwrap(), e);
        let r = parse(r#"Replace([x], , "re", , "", , )"#).unwrap();
        assert_eq!(parse(&pretty(&r, 5)).unwrap(), r);
    }

    mod round_trip {
        use super::super::super::ast::{CompareOp, Expr, ExprKind};
        use super::super::super::span::Span;
        use super::super::super::{fuzz, parse};
        use super::super::{pretty, print};
        use proptest::prelude::*;

        fn node(kind: ExprKind) -> Expr {
            Expr { kind, span: Span::default() }
        }

        fn leaf() -> impl Strategy<Value = Expr> {
            prop_oneof![
                "[A-Za-z_][A-Za-z0-9_.:-]{0,20}".prop_map(|n| node(ExprKind::Attr(n))),
                any::<String>().prop_map(|s| node(ExprKind::Str(s))),
                "[ -~]{0,12}".prop_map(|s| node(ExprKind::Str(s))),
                any::<i64>().prop_map(|i| node(ExprKind::Int(i))),
            ]
        }

        fn op() -> impl Strategy<Value = CompareOp> {
            prop_oneof![
                Just(CompareOp::Eq),
                Just(CompareOp::Ne),
                Just(CompareOp::Gt),
                Just(CompareOp::Ge),
                Just(CompareOp::Lt),
                Just(CompareOp::Le)
            ]
        }

        /// A comparison cannot be an operand of a comparison (the grammar allows one per argument), so
        /// such operands are wrapped in a call.
        fn operand(e: Expr) -> Box<Expr> {
            match e.kind {
                ExprKind::Compare { .. } => {
                    Box::new(node(ExprKind::Call { name: "F".into(), name_span: Span::default(), args: vec![Some(e)] }))
                }
                _ => Box::new(e),
            }
        }

        fn tree() -> impl Strategy<Value = Expr> {
            leaf().prop_recursive(5, 48, 6, |inner| {
                prop_oneof![
                    ("[A-Z][A-Za-z0-9_]{0,12}", prop::collection::vec(prop::option::weighted(0.8, inner.clone()), 0..6)).prop_map(
                        |(name, mut args)| {
                            // "F()" has no arguments: a single empty argument cannot be written.
                            if args.len() == 1 && args[0].is_none() {
                                args.clear();
                            }
                            node(ExprKind::Call { name, name_span: Span::default(), args })
                        }
                    ),
                    (inner.clone(), op(), inner).prop_map(|(l, op, r)| node(ExprKind::Compare { op, left: operand(l), right: operand(r) })),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            #[test]
            fn print_then_parse_gives_the_same_tree(e in tree()) {
                let text = print(&e);
                let back = parse(&text).map_err(|err| TestCaseError::fail(format!("{text:?}: {err}")))?;
                prop_assert_eq!(&back, &e);
                let p = pretty(&e, 24);
                prop_assert_eq!(parse(&p).map_err(|err| TestCaseError::fail(format!("{p:?}: {err}")))?, e);
            }

            #[test]
            fn any_text_parses_or_fails_cleanly(s in any::<String>()) {
                fuzz::check(s.as_bytes());
            }

            #[test]
            fn expression_like_text_parses_or_fails_cleanly(s in r#"[A-Za-z\[\]"(), =<>&\-0-9\\ ]{0,60}"#) {
                fuzz::check(s.as_bytes());
            }
        }
    }
}
