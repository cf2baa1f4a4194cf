//! Generated values, uniqueness and app roles: Guid, RandomString, SelectUniqueValue,
//! AppRoleAssignmentsComplex, AssertiveAppRoleAssignmentsComplex, SingleAppRoleAssignment.
//!
//! Randomness comes from the environment ([`crate::expr::Env::random`]) and uniqueness from
//! [`crate::expr::Env::is_unique`], so evaluation stays pure and tests are deterministic.
// In the check-only build (no `eval` feature) the table points at no implementation.
#![cfg_attr(not(feature = "eval"), allow(dead_code, unused_imports))]

use super::{int_arg, literal, opt, rep, req, text_arg, FnSpec, Stop};
use crate::expr::ast::{Expr, ExprKind};
use crate::expr::eval::{Cx, Node};
use crate::expr::value::{parse_int, Type, Value};
use serde_json::{Map, Value as Json};

/// This family's functions.
pub(super) static FUNCTIONS: &[FnSpec] = &[
    FnSpec {
        name: "Guid",
        params: &[],
        returns: Type::String,
        summary: "a new random GUID (\"00aa00aa-bb11-4c22-9d33-44ee44ee44ee\")",
        imp: imp!(guid),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "RandomString",
        params: &[
            req("Length", Type::Integer),
            req("MinimumNumbers", Type::Integer),
            req("MinimumSpecialCharacters", Type::Integer),
            req("MinimumCapital", Type::Integer),
            req("MinimumLowerCase", Type::Integer),
            opt("CharactersToAvoid", Type::String),
        ],
        returns: Type::String,
        summary: "a random string of Length characters (at most 256) with at least the given numbers of each kind",
        imp: imp!(random_string),
        rule: Some(random_string_rule),
        top_level_only: false,
    },
    FnSpec {
        name: "SelectUniqueValue",
        params: &[req("uniqueValueRule1", Type::String), rep("uniqueValueRule2", Type::String)],
        returns: Type::String,
        summary: "the first rule's value not yet taken in the target (the object is escrowed if all are taken)",
        imp: imp!(select_unique_value),
        rule: None,
        top_level_only: true,
    },
    FnSpec {
        name: "AppRoleAssignmentsComplex",
        params: &[req("[appRoleAssignments]", Type::Objects)],
        returns: Type::Objects,
        summary: "every assigned app role as a SCIM roles entry (primary false); roles are only ever added",
        imp: imp!(app_role_assignments_complex),
        rule: None,
        top_level_only: true,
    },
    FnSpec {
        name: "AssertiveAppRoleAssignmentsComplex",
        params: &[req("[appRoleAssignments]", Type::Objects)],
        returns: Type::Objects,
        summary: "every assigned app role as a SCIM roles entry; replaces the target's roles (unassigned ones are removed)",
        imp: imp!(app_role_assignments_complex),
        rule: None,
        top_level_only: true,
    },
    FnSpec {
        name: "SingleAppRoleAssignment",
        params: &[req("[appRoleAssignments]", Type::Objects)],
        returns: Type::String,
        summary: "the value of the user's one assigned app role (the first, if several are assigned)",
        imp: imp!(single_app_role_assignment),
        rule: None,
        top_level_only: false,
    },
];

/// A random index below `n` (> 0) from the environment's generator.
fn below(cx: &mut Cx<'_>, n: usize) -> usize {
    ((u128::from(cx.env.random()) * n as u128) >> 64) as usize
}

// Guid: 128 bits from the environment, with the version (4) and variant bits of a random UUID set,
// written lower-case with hyphens.
fn guid(cx: &mut Cx<'_>, _args: &[Option<Node>]) -> Result<Value, Stop> {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&cx.env.random().to_be_bytes());
    bytes[8..].copy_from_slice(&cx.env.random().to_be_bytes());
    Ok(Value::Str(uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string()))
}

// ---- RandomString ----

/// The character kinds RandomString draws from, in its parameters' order: the password-complexity
/// character sets Entra's docs point to (digits, non-alphanumeric characters, A–Z, a–z; ASCII only).
const KINDS: [(&str, &str, &str); 4] = [
    ("MinimumNumbers", "number", "0123456789"),
    ("MinimumSpecialCharacters", "special", "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"),
    ("MinimumCapital", "capital", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ("MinimumLowerCase", "lower-case", "abcdefghijklmnopqrstuvwxyz"),
];

/// The longest RandomString (documented: "256 characters max").
const MAX_RANDOM_LENGTH: i64 = 256;

/// What RandomString will draw: the characters of each kind (without those to avoid) and how many.
struct Plan {
    length: usize,
    kinds: Vec<(Vec<char>, usize)>,
}

/// Checks RandomString's arguments. `Err` carries the index of the argument at fault (`None`: the
/// combination) and the message.
fn plan(length: i64, mins: [i64; 4], avoid: &str) -> Result<Plan, (Option<usize>, String)> {
    if !(1..=MAX_RANDOM_LENGTH).contains(&length) {
        return Err((Some(0), format!("RandomString's Length must be between 1 and {MAX_RANDOM_LENGTH}, got {length}")));
    }
    for (i, m) in mins.iter().enumerate() {
        if *m < 0 {
            return Err((Some(i + 1), format!("RandomString's {} cannot be negative, got {m}", KINDS[i].0)));
        }
    }
    let sum = mins.iter().fold(0i64, |a, m| a.saturating_add(*m));
    if sum > length {
        return Err((None, format!("RandomString's minimums add up to {sum}, more than its Length of {length}")));
    }
    let mut kinds = Vec::new();
    for (i, (name, what, chars)) in KINDS.iter().enumerate() {
        let left: Vec<char> = chars.chars().filter(|c| !avoid.contains(*c)).collect();
        if left.is_empty() && mins[i] > 0 {
            return Err((Some(5), format!("RandomString's CharactersToAvoid leaves no {what} characters, but {name} is {}", mins[i])));
        }
        kinds.push((left, mins[i] as usize));
    }
    if sum < length && kinds.iter().all(|(k, _)| k.is_empty()) {
        return Err((Some(5), "RandomString's CharactersToAvoid leaves no characters to choose from".to_string()));
    }
    Ok(Plan { length: length as usize, kinds })
}

// RandomString: the minimum of each kind first, the rest from all four kinds together (the docs'
// example RandomString(10,2,2,2,1,"?,") gives "1@!2BaRg53", with more numbers and lower-case letters
// than the minimums), then shuffled. The docs say Length "should be greater than or equal to the sum of
// MinimumNumbers, MinimumSpecialCharacters, and MinimumCapital"; MinimumLowerCase is counted too, as a
// string cannot hold more than Length characters.
fn random_string(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let length = int_arg(cx, args, 0, "RandomString")?;
    let mut mins = [0i64; 4];
    let mut any_null = length.is_none();
    for (i, m) in mins.iter_mut().enumerate() {
        match int_arg(cx, args, i + 1, "RandomString")? {
            Some(v) => *m = v,
            None => any_null = true,
        }
    }
    let avoid = text_arg(cx, args, 5)?.unwrap_or_default();
    let Some(length) = length.filter(|_| !any_null) else {
        return Ok(Value::Null);
    };
    let plan = plan(length, mins, &avoid).map_err(|(_, m)| Stop::failed("RandomString", m))?;
    let mut out: Vec<char> = Vec::with_capacity(plan.length);
    for (chars, min) in &plan.kinds {
        for _ in 0..*min {
            out.push(chars[below(cx, chars.len())]);
        }
    }
    let pool: Vec<char> = plan.kinds.iter().flat_map(|(k, _)| k.iter().copied()).collect();
    while out.len() < plan.length {
        out.push(pool[below(cx, pool.len())]);
    }
    for i in (1..out.len()).rev() {
        let j = below(cx, i + 1);
        out.swap(i, j);
    }
    Ok(Value::Str(out.into_iter().collect()))
}

/// A whole number written as a constant.
fn int_literal(arg: &Option<Expr>) -> Option<i64> {
    match arg {
        Some(Expr { kind: ExprKind::Int(i), .. }) => Some(*i),
        other => literal(other).and_then(|s| parse_int(s.trim())),
    }
}

// At save time, the checks that constants alone can fail: a Length outside 1–256, a negative minimum,
// minimums beyond the Length, a kind that is required but entirely avoided.
fn random_string_rule(args: &[Option<Expr>]) -> Result<(), (Option<usize>, String)> {
    let length = args.first().and_then(int_literal);
    let mins: Vec<Option<i64>> = (1..5).map(|i| args.get(i).and_then(int_literal)).collect();
    let avoid = match args.get(5) {
        None | Some(None) => Some(""),
        Some(a) => literal(a),
    };
    let avoid = avoid.unwrap_or("");
    // Each constant on its own, with neutral values for what is not constant (the longest Length, no
    // minimum), then all together.
    if let Some(l) = length {
        plan(l, [0; 4], "").map(|_| ())?;
    }
    let l = length.unwrap_or(MAX_RANDOM_LENGTH);
    for (i, m) in mins.iter().enumerate() {
        if let Some(m) = *m {
            let mut ms = [0; 4];
            ms[i] = m;
            plan(l, ms, avoid).map(|_| ())?;
        }
    }
    if let [Some(a), Some(b), Some(c), Some(d)] = mins.as_slice() {
        plan(l, [*a, *b, *c, *d], avoid).map(|_| ())?;
    }
    Ok(())
}

// ---- SelectUniqueValue ----

// SelectUniqueValue: each rule in order; the first value the target does not have yet wins. Rules that
// give null or "" are skipped (there is nothing to check). When every value is taken the evaluation fails
// and the engine escrows the object (documented: "If all of the values already exist in the target, the
// entry is escrowed, and the reason gets logged"); when no rule gave a value the result is null.
fn select_unique_value(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let mut taken: Vec<String> = Vec::new();
    for i in 0..args.len() {
        let v = cx.arg(args, i)?;
        let Some(text) = v.text().map(|t| t.into_owned()).filter(|t| !t.is_empty()) else {
            continue;
        };
        if cx.env.is_unique(&text) {
            return Ok(v);
        }
        taken.push(text);
    }
    match taken.as_slice() {
        [] => Ok(Value::Null),
        [one] => Err(Stop::failed("SelectUniqueValue", format!("the only candidate value '{one}' is already taken in the target"))),
        all => {
            let list: Vec<String> = all.iter().map(|t| format!("'{t}'")).collect();
            Err(Stop::failed(
                "SelectUniqueValue",
                format!("all {} candidate values are already taken in the target: {}", all.len(), list.join(", ")),
            ))
        }
    }
}

// ---- App roles ----

/// The source's app role assignments: objects with `id`, `value` and `displayName`. Also takes them as
/// JSON text (one object, or an array), as Entra shows them in its PATCH requests. Null is `None`.
fn assignments(v: Value, f: &'static str) -> Result<Option<Vec<Map<String, Json>>>, Stop> {
    let not = |t: &str| Stop::failed(f, format!("'{t}' is not a list of app role assignments"));
    let from_json = |t: &str| -> Result<Vec<Map<String, Json>>, Stop> {
        match serde_json::from_str::<Json>(t) {
            Ok(Json::Object(o)) => Ok(vec![o]),
            Ok(Json::Array(a)) => a.into_iter().map(|e| if let Json::Object(o) = e { Ok(o) } else { Err(not(t)) }).collect(),
            _ => Err(not(t)),
        }
    };
    match v {
        Value::Null => Ok(None),
        Value::Objects(o) => Ok(Some(o)),
        Value::Str(s) if s.trim().is_empty() => Ok(None),
        Value::Str(s) => from_json(&s).map(Some),
        Value::Multi(m) => {
            let mut out = Vec::new();
            for s in &m {
                out.extend(from_json(s)?);
            }
            Ok(Some(out))
        }
        other => Err(not(&other.text_or_empty())),
    }
}

/// A JSON string or number as text; empty text is `None`.
fn json_text(v: Option<&Json>) -> Option<String> {
    match v? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// AppRoleAssignmentsComplex and AssertiveAppRoleAssignmentsComplex give the same entries (as the docs'
// POST examples show: `{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": …,
// "value": …}`); they differ in how the engine writes them (PATCH add vs replace), which it tells by the
// function's name. Assignments without a value (the "Default Access" role) are left out, as are
// repeats; none left gives null.
fn app_role_assignments_complex(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let v = cx.arg(args, 0)?;
    let Some(list) = assignments(v, "AppRoleAssignmentsComplex")? else {
        return Ok(Value::Null);
    };
    let mut roles: Vec<Map<String, Json>> = Vec::new();
    for a in &list {
        let Some(value) = json_text(a.get("value")) else {
            continue;
        };
        let mut role = Map::new();
        role.insert("primary".into(), Json::Bool(false));
        role.insert("type".into(), Json::String("WindowsAzureActiveDirectoryRole".into()));
        if let Some(display) = json_text(a.get("displayName")) {
            role.insert("display".into(), Json::String(display));
        }
        role.insert("value".into(), Json::String(value));
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(if roles.is_empty() { Value::Null } else { Value::Objects(roles) })
}

// SingleAppRoleAssignment: the value of the first assignment that has one. Entra documents that with
// several roles assigned "there's no guarantee which role is provisioned"; Provisio takes the first in
// the source's order, so the choice is at least stable.
fn single_app_role_assignment(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let v = cx.arg(args, 0)?;
    let Some(list) = assignments(v, "SingleAppRoleAssignment")? else {
        return Ok(Value::Null);
    };
    Ok(list.iter().find_map(|a| json_text(a.get("value"))).map_or(Value::Null, Value::Str))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::expr::{Stop, Value};
    use serde_json::{json, Map, Value as Json};

    fn objects(v: Json) -> Value {
        match v {
            Json::Array(a) => Value::Objects(
                a.into_iter()
                    .map(|o| match o {
                        Json::Object(m) => m,
                        _ => panic!("not an object"),
                    })
                    .collect(),
            ),
            _ => panic!("not an array"),
        }
    }

    fn with_roles(v: Json) -> Obj {
        let mut o = obj(&[]);
        o.0.insert("appRoleAssignments".into(), objects(v));
        o
    }

    fn role(display: &str, value: &str) -> Map<String, Json> {
        match json!({"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": display, "value": value}) {
            Json::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn failed(text: &str, src: &Obj) -> String {
        match eval_with(text, src) {
            Err(Stop::Failed { function, message }) => format!("{function}: {message}"),
            other => panic!("{text}: expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn guid_is_a_random_v4_from_the_environment() {
        let o = obj(&[]);
        let g = ev("Guid()", &o);
        assert_eq!(g.len(), 36);
        let parts: Vec<&str> = g.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(g.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)), "{g}");
        assert!(parts[2].starts_with('4'), "{g}");
        assert!(matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b')), "{g}");
        assert!(uuid::Uuid::parse_str(&g).is_ok());
        // Same seed, same value; the generator advances between calls.
        assert_eq!(ev("Guid()", &o), g);
        let e = compiled(r#"Join(" ", Guid(), Guid())"#).evaluate(&o, &mut env()).unwrap().to_string();
        let (a, b) = e.split_once(' ').unwrap();
        assert_eq!(a, g);
        assert_ne!(a, b);
    }

    #[test]
    fn random_string_examples_from_the_docs() {
        let o = obj(&[]);
        for seed in 0..200u64 {
            let mut e = env();
            e.seed = seed;
            let s = compiled("RandomString(6,3,0,0,3)").evaluate(&o, &mut e).unwrap().to_string();
            assert_eq!(s.chars().count(), 6);
            assert_eq!(s.chars().filter(char::is_ascii_digit).count(), 3, "{s}");
            assert_eq!(s.chars().filter(char::is_ascii_lowercase).count(), 3, "{s}");

            let s = compiled(r#"RandomString(10,2,2,2,1,"?,")"#).evaluate(&o, &mut e).unwrap().to_string();
            assert_eq!(s.chars().count(), 10);
            assert!(s.chars().filter(char::is_ascii_digit).count() >= 2, "{s}");
            assert!(s.chars().filter(|c| !c.is_ascii_alphanumeric()).count() >= 2, "{s}");
            assert!(s.chars().filter(char::is_ascii_uppercase).count() >= 2, "{s}");
            assert!(s.chars().filter(char::is_ascii_lowercase).count() >= 1, "{s}");
            assert!(!s.contains('?') && !s.contains(','), "{s}");
        }
    }

    #[test]
    fn random_string_limits_and_fillers() {
        let o = obj(&[("len", "300"), ("n", "-1"), ("four", "4")]);
        let s = ev("RandomString(256,0,0,0,0)", &o);
        assert_eq!(s.chars().count(), 256);
        // The rest comes from every kind, minus the avoided characters.
        let s = ev(r#"RandomString(200,0,0,0,0,"0123456789abcdefghijklmnopqrstuvwxyz")"#, &o);
        assert!(s.chars().all(|c| !c.is_ascii_digit() && !c.is_ascii_lowercase()), "{s}");
        assert!(s.chars().any(|c| c.is_ascii_uppercase()) && s.chars().any(|c| !c.is_ascii_alphanumeric()), "{s}");
        assert_eq!(ev("RandomString([four],4,0,0,0)", &o).chars().filter(char::is_ascii_digit).count(), 4);
        assert_eq!(ev("RandomString([missing],1,0,0,0)", &o), "NULL");
        assert_eq!(failed("RandomString([len],1,0,0,0)", &o), "RandomString: RandomString's Length must be between 1 and 256, got 300");
        assert!(failed("RandomString(8,[n],0,0,0)", &o).contains("MinimumNumbers cannot be negative, got -1"));
        assert!(failed("RandomString([four],2,2,2,0)", &o).contains("add up to 6, more than its Length of 4"));
    }

    #[test]
    fn random_string_impossible_constants_fail_at_save_time() {
        assert!(check_err("RandomString(257,0,0,0,0)").contains("between 1 and 256, got 257"));
        assert!(check_err("RandomString(0,0,0,0,0)").contains("between 1 and 256, got 0"));
        assert!(check_err("RandomString(6,4,0,0,3)").contains("add up to 7, more than its Length of 6"));
        assert!(check_err("RandomString(6,-1,0,0,3)").contains("cannot be negative"));
        assert!(check_err("RandomString(6,9223372036854775807,9223372036854775807,0,0)").contains("more than its Length of 6"));
        assert!(check_err(r#"RandomString(6,1,0,0,0,"0123456789")"#).contains("leaves no number characters, but MinimumNumbers is 1"));
        assert!(check_err(r#"RandomString([x],1,0,0,0,"0123456789")"#).contains("leaves no number characters"));
        assert!(check_err("RandomString(6,3,0,0)").contains("expects 5 to 6 arguments"));
        let all =
            r#"RandomString(4,0,0,0,0,"0123456789~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")"#;
        assert!(check_err(all).contains("leaves no characters"));
        // Only what constants show is checked at save time.
        assert!(crate::expr::compile("RandomString([len], 3, 0, 0, 3)", &crate::expr::SourceSchema::open()).is_ok());
    }

    #[test]
    fn select_unique_value_from_the_docs() {
        let text = r#"SelectUniqueValue(
            Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"),
            Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"),
            Join("@", NormalizeDiacritics(StripSpaces(Join(".",  Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com")
        )"#;
        let o = obj(&[("PreferredFirstName", "John"), ("PreferredLastName", "Smith")]);
        let mut e = env();
        assert_eq!(compiled(text).evaluate(&o, &mut e).unwrap(), Value::str("John.Smith@contoso.com"));
        e.taken = vec!["John.Smith@contoso.com".into()];
        assert_eq!(compiled(text).evaluate(&o, &mut e).unwrap(), Value::str("J.Smith@contoso.com"));
        e.taken.push("J.Smith@contoso.com".into());
        assert_eq!(compiled(text).evaluate(&o, &mut e).unwrap(), Value::str("Jo.Smith@contoso.com"));
    }

    #[test]
    fn select_unique_value_picks_the_first_free_value() {
        let o = obj(&[("givenName", "John"), ("surname", "Smith")]);
        let text = r#"SelectUniqueValue(Join(".", [givenName], [surname]), Join("", [givenName], [surname]), Join("", [surname], "2"))"#;
        let mut e = env();
        assert_eq!(compiled(text).evaluate(&o, &mut e).unwrap(), Value::str("John.Smith"));
        // Taken values compare without regard to case, as the FixedEnv does.
        e.taken = vec!["john.smith".into()];
        assert_eq!(compiled(text).evaluate(&o, &mut e).unwrap(), Value::str("JohnSmith"));
        e.taken.push("JohnSmith".into());
        assert_eq!(compiled(text).evaluate(&o, &mut e).unwrap(), Value::str("Smith2"));
        e.taken.push("Smith2".into());
        assert_eq!(
            compiled(text).evaluate(&o, &mut e),
            Err(Stop::failed(
                "SelectUniqueValue",
                "all 3 candidate values are already taken in the target: 'John.Smith', 'JohnSmith', 'Smith2'"
            ))
        );
    }

    #[test]
    fn select_unique_value_skips_null_rules() {
        let o = obj(&[("upn", "a@x"), ("empty", "")]);
        let mut e = env();
        assert_eq!(compiled("SelectUniqueValue([missing], [empty], [upn])").evaluate(&o, &mut e).unwrap(), Value::str("a@x"));
        assert_eq!(compiled("SelectUniqueValue([missing], [empty])").evaluate(&o, &mut e).unwrap(), Value::Null);
        e.taken = vec!["a@x".into()];
        assert_eq!(
            compiled("SelectUniqueValue([missing], [upn])").evaluate(&o, &mut e),
            Err(Stop::failed("SelectUniqueValue", "the only candidate value 'a@x' is already taken in the target"))
        );
        // Only the rules up to the first free value are evaluated.
        e.taken.clear();
        assert_eq!(compiled(r#"SelectUniqueValue([upn], CDate("not a date"))"#).evaluate(&o, &mut e).unwrap(), Value::str("a@x"));
    }

    #[test]
    fn select_unique_value_save_time_checks() {
        assert!(check_err("SelectUniqueValue([upn])").contains("expects at least 2 arguments, got 1"));
        assert!(check_err("SelectUniqueValue()").contains("expects at least 2 arguments"));
        assert!(check_err("ToLower(SelectUniqueValue([a], [b]))").contains("SelectUniqueValue must be the whole expression"));
        assert!(check_err(r#"Join(",", SelectUniqueValue([a], [b]), "x")"#).contains("must be the whole expression"));
        assert!(crate::expr::compile("SelectUniqueValue([a], [b], [c], [d])", &crate::expr::SourceSchema::open()).is_ok());
    }

    #[test]
    fn app_role_assignments_complex_gives_scim_roles() {
        let o = with_roles(json!([
            {"id": "06b07648-ecfe-589f-9d2f-6325724a46ee", "value": "Admin", "displayName": "Admin"},
            {"id": "06b07648-ecfe-599f-9d2f-6325724a46ee", "value": "User", "displayName": "User"},
        ]));
        let want = Value::Objects(vec![role("Admin", "Admin"), role("User", "User")]);
        assert_eq!(eval_with("AppRoleAssignmentsComplex([appRoleAssignments])", &o), Ok(want.clone()));
        assert_eq!(eval_with("AssertiveAppRoleAssignmentsComplex([appRoleAssignments])", &o), Ok(want));
        assert_eq!(
            eval_with("AppRoleAssignmentsComplex([appRoleAssignments])", &o).unwrap().to_json(),
            json!([
                {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"},
                {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"},
            ])
        );
    }

    #[test]
    fn app_role_assignments_complex_edge_cases() {
        // No value (Default Access) and repeats are left out; nothing left is null.
        let o = with_roles(json!([
            {"id": "1", "value": null, "displayName": "Default Access"},
            {"id": "2", "value": "25", "displayName": "Role1234"},
            {"id": "2", "value": "25", "displayName": "Role1234"},
        ]));
        assert_eq!(eval_with("AppRoleAssignmentsComplex([appRoleAssignments])", &o), Ok(Value::Objects(vec![role("Role1234", "25")])));
        let none = with_roles(json!([{"id": "1", "displayName": "Default Access"}]));
        assert_eq!(ev("AppRoleAssignmentsComplex([appRoleAssignments])", &none), "NULL");
        assert_eq!(ev("AppRoleAssignmentsComplex([appRoleAssignments])", &with_roles(json!([]))), "NULL");
        assert_eq!(ev("AppRoleAssignmentsComplex([appRoleAssignments])", &obj(&[])), "NULL");
        // JSON text, as in Entra's PATCH bodies.
        let text = obj(&[("appRoleAssignments", r#"{"id":"06b07648","value":"25","displayName":"Role1234"}"#)]);
        assert_eq!(eval_with("AppRoleAssignmentsComplex([appRoleAssignments])", &text), Ok(Value::Objects(vec![role("Role1234", "25")])));
        let bad = obj(&[("appRoleAssignments", "Admin")]);
        assert_eq!(
            failed("AppRoleAssignmentsComplex([appRoleAssignments])", &bad),
            "AppRoleAssignmentsComplex: 'Admin' is not a list of app role assignments"
        );
    }

    #[test]
    fn app_role_assignments_complex_save_time_checks() {
        assert!(check_err("ToLower(AppRoleAssignmentsComplex([appRoleAssignments]))").contains("must be the whole expression"));
        assert!(check_err("Coalesce(AssertiveAppRoleAssignmentsComplex([appRoleAssignments]))").contains("must be the whole expression"));
        assert!(check_err(r#"AppRoleAssignmentsComplex("Admin")"#).contains("must be the [appRoleAssignments] attribute"));
        assert!(check_err("AppRoleAssignmentsComplex()").contains("expects 1 argument"));
        let schema =
            crate::expr::SourceSchema::new([("appRoleAssignments", crate::expr::Type::Objects), ("mail", crate::expr::Type::String)]);
        assert!(crate::expr::compile("AppRoleAssignmentsComplex([appRoleAssignments])", &schema).is_ok());
        assert!(crate::expr::compile("AppRoleAssignmentsComplex([mail])", &schema).is_err());
    }

    #[test]
    fn single_app_role_assignment_gives_the_first_value() {
        let one = with_roles(json!([{"id": "1", "value": "Admin", "displayName": "Administrator"}]));
        assert_eq!(eval_with("SingleAppRoleAssignment([appRoleAssignments])", &one), Ok(Value::str("Admin")));
        let several = with_roles(json!([
            {"id": "0", "displayName": "Default Access"},
            {"id": "1", "value": "Writer", "displayName": "Writer"},
            {"id": "2", "value": "Reader", "displayName": "Reader"},
        ]));
        assert_eq!(ev("SingleAppRoleAssignment([appRoleAssignments])", &several), "Writer");
        assert_eq!(ev("ToLower(SingleAppRoleAssignment([appRoleAssignments]))", &several), "writer");
        assert_eq!(ev("SingleAppRoleAssignment([appRoleAssignments])", &with_roles(json!([]))), "NULL");
        assert_eq!(ev("SingleAppRoleAssignment([appRoleAssignments])", &obj(&[])), "NULL");
        assert!(check_err(r#"SingleAppRoleAssignment("x")"#).contains("[appRoleAssignments]"));
    }
}
