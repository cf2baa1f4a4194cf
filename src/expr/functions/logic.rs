//! Conditions and null handling: IIF, Switch, Coalesce, IgnoreFlowIfNullOrEmpty, Not, CBool, BitAnd,
//! IsNull, IsNullOrEmpty, IsPresent, IsString.
// In the check-only build (no `eval` feature) the table points at no implementation.
#![cfg_attr(not(feature = "eval"), allow(dead_code, unused_imports))]

use super::{int_arg, literal, opt, rep, req, FnSpec, Stop};
use crate::expr::ast::Expr;
use crate::expr::eval::{Cx, Node};
use crate::expr::value::{Type, Value};

/// This family's functions.
pub(super) static FUNCTIONS: &[FnSpec] = &[
    FnSpec {
        name: "IIF",
        params: &[req("condition", Type::Boolean), opt("valueIfTrue", Type::Any), opt("valueIfFalse", Type::Any)],
        returns: Type::Any,
        summary: "valueIfTrue when the condition holds, else valueIfFalse (a null in the condition makes it false)",
        imp: imp!(iif),
        rule: Some(iif_rule),
        top_level_only: false,
    },
    FnSpec {
        name: "Switch",
        params: &[req("source", Type::String), opt("defaultValue", Type::Any), rep("key, value", Type::Any)],
        returns: Type::Any,
        summary: "the value paired with the first key equal to source (case-sensitive), else defaultValue",
        imp: imp!(switch),
        rule: Some(switch_rule),
        top_level_only: false,
    },
    FnSpec {
        name: "Coalesce",
        params: &[rep("source", Type::Any)],
        returns: Type::Any,
        summary: "the first argument that is not null (write the default last)",
        imp: imp!(coalesce),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "IgnoreFlowIfNullOrEmpty",
        params: &[req("expression", Type::Any)],
        returns: Type::Any,
        summary: "leaves the attribute out of the flow when the expression is null or empty",
        imp: imp!(ignore_flow),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "Not",
        params: &[req("source", Type::Boolean)],
        returns: Type::Boolean,
        summary: "flips \"True\" and \"False\"",
        imp: imp!(not),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "CBool",
        params: &[req("expression", Type::Any)],
        returns: Type::Boolean,
        summary: "True when the expression is true or a non-zero number, else False",
        imp: imp!(cbool),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "BitAnd",
        params: &[req("value1", Type::Integer), req("value2", Type::Integer)],
        returns: Type::Integer,
        summary: "the bitwise AND of two numbers (&H for hexadecimal)",
        imp: imp!(bit_and),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "IsNull",
        params: &[req("expression", Type::Any)],
        returns: Type::Boolean,
        summary: "True when the expression is null (an attribute that is not present)",
        imp: imp!(is_null),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "IsNullOrEmpty",
        params: &[req("expression", Type::Any)],
        returns: Type::Boolean,
        summary: "True when the expression is null or an empty string",
        imp: imp!(is_null_or_empty),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "IsPresent",
        params: &[req("expression", Type::Any)],
        returns: Type::Boolean,
        summary: "True when the expression is neither null nor empty (the inverse of IsNullOrEmpty)",
        imp: imp!(is_present),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "IsString",
        params: &[req("expression", Type::Any)],
        returns: Type::Boolean,
        summary: "True when the expression evaluates to a string",
        imp: imp!(is_string),
        rule: None,
        top_level_only: false,
    },
];

fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

fn iif(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let cond = cx.arg(args, 0)?;
    cx.arg(args, if truthy(&cond) { 1 } else { 2 })
}

fn iif_rule(args: &[Option<Expr>]) -> Result<(), (Option<usize>, String)> {
    if args.len() != 3 {
        return Err((None, format!("IIF expects 3 arguments (condition, valueIfTrue, valueIfFalse), got {}", args.len())));
    }
    Ok(())
}

// Switch: keys compare case-sensitively as text (documented). Known Entra bug (E:functions-for-
// customizing-application-data, Switch): when the source attribute is unchanged while another attribute
// changes, Entra evaluates the Switch to null; Provisio evaluates against the full object, so it does
// not reproduce that bug (the documented workaround, IIF, gives the same result in both).
fn switch(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let src = cx.arg(args, 0)?;
    let src = src.text_or_empty().into_owned();
    let mut i = 2;
    while i + 1 < args.len() {
        let key = cx.arg(args, i)?;
        if key.text_or_empty() == src {
            return cx.arg(args, i + 1);
        }
        i += 2;
    }
    cx.arg(args, 1)
}

fn switch_rule(args: &[Option<Expr>]) -> Result<(), (Option<usize>, String)> {
    let after = args.len().saturating_sub(1);
    if after.is_multiple_of(2) {
        return Err((None, format!("Switch expects an odd number of arguments after the source, got {after}")));
    }
    let mut seen: Vec<&str> = Vec::new();
    for i in (2..args.len()).step_by(2) {
        if let Some(k) = literal(&args[i]) {
            if seen.contains(&k) {
                return Err((Some(i), format!("Switch has the key \"{k}\" twice; only the first can ever match")));
            }
            seen.push(k);
        }
    }
    Ok(())
}

fn coalesce(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    for i in 0..args.len() {
        let v = cx.arg(args, i)?;
        if !v.is_null() {
            return Ok(v);
        }
    }
    Ok(Value::Null)
}

fn ignore_flow(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let v = cx.arg(args, 0)?;
    if v.is_null_or_empty() {
        Err(Stop::IgnoreFlow)
    } else {
        Ok(v)
    }
}

fn not(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let v = cx.arg(args, 0)?;
    if v.is_null() {
        return Ok(Value::Null);
    }
    match v.as_bool() {
        Some(b) => Ok(Value::Bool(!b)),
        None => Err(Stop::failed("Not", format!("'{}' is not \"True\" or \"False\"", v.text_or_empty()))),
    }
}

fn cbool(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let v = cx.arg(args, 0)?;
    Ok(Value::Bool(truthy(&v)))
}

fn bit_and(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let (Some(a), Some(b)) = (int_arg(cx, args, 0, "BitAnd")?, int_arg(cx, args, 1, "BitAnd")?) else {
        return Ok(Value::Null);
    };
    Ok(Value::Int(a & b))
}

fn is_null(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(Value::Bool(cx.arg(args, 0)?.is_null()))
}

fn is_null_or_empty(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(Value::Bool(cx.arg(args, 0)?.is_null_or_empty()))
}

fn is_present(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(Value::Bool(!cx.arg(args, 0)?.is_null_or_empty()))
}

fn is_string(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(Value::Bool(matches!(cx.arg(args, 0)?, Value::Str(_))))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::expr::{Stop, Value};

    #[test]
    fn iif_from_the_docs() {
        let usa = obj(&[("country", "USA"), ("department", "Sales")]);
        let fr = obj(&[("country", "FR"), ("department", "Sales")]);
        let e = r#"IIF([country]="USA",[country],[department])"#;
        assert_eq!(ev(e, &usa), "USA");
        assert_eq!(ev(e, &fr), "Sales");
        // A null source makes the condition fail, for <> too.
        assert_eq!(ev(r#"IIF([missing]<>"x", "yes", "no")"#, &usa), "no");
        assert_eq!(ev(r#"IIF(IsPresent([country]), "yes", "no")"#, &usa), "yes");
    }

    #[test]
    fn switch_matches_case_sensitively_with_default() {
        let e = r#"Switch([department], "default", "Sales", "sales-team", "Engineering", "eng-team")"#;
        assert_eq!(ev(e, &obj(&[("department", "Engineering")])), "eng-team");
        assert_eq!(ev(e, &obj(&[("department", "engineering")])), "default");
        assert_eq!(ev(e, &obj(&[])), "default");
        // An empty key matches an empty or missing source (the documented alternative to IsPresent).
        assert_eq!(ev(r#"Switch([x], "set", "", "empty")"#, &obj(&[])), "empty");
        // An empty default gives null.
        assert_eq!(ev(r#"Switch([x], , "1", "one")"#, &obj(&[("x", "2")])), "NULL");
        assert!(check_err(r#"Switch([x], "d", "a", "1", "a", "2")"#).contains("twice"));
    }

    #[test]
    fn coalesce_and_ignore_flow() {
        let o = obj(&[("userPrincipalName", "John.Doe@contoso.com")]);
        assert_eq!(ev("Coalesce([mail],[userPrincipalName])", &o), "John.Doe@contoso.com");
        assert_eq!(ev("Coalesce([mail],[other])", &o), "NULL");
        assert_eq!(ev(r#"Coalesce([mail], "")"#, &o), "");
        assert_eq!(eval_with("IgnoreFlowIfNullOrEmpty([mail])", &o), Err(Stop::IgnoreFlow));
        assert_eq!(eval_with("IgnoreFlowIfNullOrEmpty([userPrincipalName])", &o).unwrap(), Value::str("John.Doe@contoso.com"));
        // Only the branch taken is evaluated.
        assert_eq!(ev(r#"IIF("True", "a", IgnoreFlowIfNullOrEmpty([mail]))"#, &o), "a");
    }

    #[test]
    fn booleans_and_bits() {
        let o = obj(&[("a", "x"), ("b", "x"), ("flags", "514")]);
        assert_eq!(ev("CBool([a] = [b])", &o), "True");
        assert_eq!(ev(r#"CBool("0")"#, &o), "False");
        assert_eq!(ev(r#"Not("True")"#, &o), "False");
        assert_eq!(ev(r#"Not(CBool([a] = "y"))"#, &o), "True");
        assert_eq!(ev("BitAnd(&HF, &HF7)", &o), "7");
        assert_eq!(ev("BitAnd([flags], 2)", &o), "2");
        assert_eq!(ev("IsNull([missing])", &o), "True");
        assert_eq!(ev(r#"IsNullOrEmpty("")"#, &o), "True");
        assert_eq!(ev("IsPresent([a])", &o), "True");
        assert_eq!(ev("IsString([a])", &o), "True");
        assert_eq!(ev("IsString(BitAnd(1, 1))", &o), "False");
    }
}
