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
    if indent + flat.chars().count() <= width || args.is_empty() {
        out.push_str(&flat);
        return;
    }
    out.push_str(name);
    out.push('(');
    for (i, a) in args.iter().enumerate() {
        out.push('\n');
        out.push_str(&"  ".repeat(indent + 1));
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
        let p = pretty(&e, 40);
        assert!(p.contains("\n  \"Engineering\",\n"), "{p}");
        assert_eq!(parse(&p).unwrap(), e);
        let r = parse(r#"Replace([x], , "re", , "", , )"#).unwrap();
        assert_eq!(parse(&pretty(&r, 5)).unwrap(), r);
    }
}
