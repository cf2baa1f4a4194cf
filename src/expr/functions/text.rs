//! String functions.

use super::{opt, rep, req, text_arg, FnSpec, Stop};
use crate::expr::eval::{Cx, Node};
use crate::expr::value::{Type, Value};

/// This family's functions.
pub(super) static FUNCTIONS: &[FnSpec] = &[
    FnSpec {
        name: "Append",
        params: &[req("source", Type::String), req("suffix", Type::String)],
        returns: Type::String,
        summary: "source with suffix added to its end",
        imp: append,
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "Join",
        params: &[req("separator", Type::String), rep("source", Type::Multi)],
        returns: Type::String,
        summary: "all the sources' values (multi-valued ones flattened) joined by separator",
        imp: join,
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "ToLower",
        params: &[req("source", Type::String), opt("culture", Type::String)],
        returns: Type::String,
        summary: "source in lower case",
        imp: to_lower,
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "ToUpper",
        params: &[req("source", Type::String), opt("culture", Type::String)],
        returns: Type::String,
        summary: "source in upper case",
        imp: to_upper,
        rule: None,
        top_level_only: false,
    },
];

fn append(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let src = text_arg(cx, args, 0)?;
    let suffix = text_arg(cx, args, 1)?;
    Ok(match (src, suffix) {
        (None, None) => Value::Null,
        (s, x) => Value::Str(s.unwrap_or_default() + x.as_deref().unwrap_or("")),
    })
}

fn join(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let sep = text_arg(cx, args, 0)?.unwrap_or_default();
    let mut out = String::new();
    let mut first = true;
    for i in 1..args.len() {
        let v = cx.arg(args, i)?;
        for e in v.entries() {
            if !first {
                out.push_str(&sep);
            }
            first = false;
            out.push_str(&e);
        }
    }
    Ok(Value::Str(out))
}

fn to_lower(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(text_arg(cx, args, 0)?.map_or(Value::Null, |s| Value::Str(s.to_lowercase())))
}

fn to_upper(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(text_arg(cx, args, 0)?.map_or(Value::Null, |s| Value::Str(s.to_uppercase())))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::expr::Value;

    #[test]
    fn append_and_join() {
        let o = obj(&[("userPrincipalName", "John.Doe@contoso.com"), ("givenName", "John"), ("surname", "Doe")]);
        assert_eq!(ev(r#"Append([userPrincipalName], ".test")"#, &o), "John.Doe@contoso.com.test");
        assert_eq!(ev(r#"Join(".", [givenName], [surname])"#, &o), "John.Doe");
        let mut m = obj(&[("givenName", "A")]);
        m.0.insert("otherMails".into(), Value::Multi(vec!["x@a".into(), "y@a".into()]));
        assert_eq!(ev(r#"Join(";", [otherMails], [givenName])"#, &m), "x@a;y@a;A");
    }

    #[test]
    fn case() {
        let o = obj(&[("givenName", "JoHn")]);
        assert_eq!(ev("ToLower([givenName])", &o), "john");
        assert_eq!(ev("ToUpper([givenName])", &o), "JOHN");
        assert_eq!(ev("ToLower([missing])", &o), "NULL");
    }
}
