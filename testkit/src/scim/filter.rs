//! SCIM filters (RFC 7644 §3.4.2.2), the subset Entra sends: `<attrPath> eq <value>` joined by
//! `and`, and such conjunctions joined by `or` (`and` binds tighter; batched matching queries send
//! `userName eq "a" or userName eq "b"`). Anything else is refused with `invalidFilter`.

use serde_json::{Map, Value};

use super::json::{canon_name, eq_ci, get_ci, CORE_GROUP, CORE_USER, ENTERPRISE};

/// An attribute path without a value filter: `[urn:]attr[.sub]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AttrPath {
    /// The extension schema holding the attribute; `None` for core attributes.
    pub urn: Option<String>,
    /// The attribute, canonical spelling; empty when the path names a whole extension.
    pub attr: String,
    pub sub: Option<String>,
}

/// How a path starts: a core attribute, an attribute of an extension, or a whole extension.
pub(crate) enum UrnSplit<'a> {
    Core(&'a str),
    Ext(String, &'a str),
    WholeExt(String),
}

/// Splits a schema URN prefix off `s`. `extensions` lists the extension URNs of the resource, so
/// that a path naming an unknown extension as a whole is recognized.
pub(crate) fn split_urn<'a>(s: &'a str, extensions: &[String]) -> UrnSplit<'a> {
    if s.len() < 4 || !s[..4].eq_ignore_ascii_case("urn:") {
        return UrnSplit::Core(s);
    }
    let known = [CORE_USER, CORE_GROUP, ENTERPRISE];
    for k in known.iter().map(|k| k.to_string()).chain(extensions.iter().cloned()) {
        if s.eq_ignore_ascii_case(&k) {
            return if k == CORE_USER || k == CORE_GROUP { UrnSplit::Core("") } else { UrnSplit::WholeExt(k) };
        }
        if s.len() > k.len() && s.is_char_boundary(k.len()) && s[..k.len()].eq_ignore_ascii_case(&k) && s.as_bytes()[k.len()] == b':' {
            let rest = &s[k.len() + 1..];
            return if k == CORE_USER || k == CORE_GROUP { UrnSplit::Core(rest) } else { UrnSplit::Ext(k, rest) };
        }
    }
    match s.rfind(':') {
        Some(pos) => UrnSplit::Ext(s[..pos].to_string(), &s[pos + 1..]),
        None => UrnSplit::Core(s),
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'$')
}

/// Splits `attr[.sub]`, checking the names.
pub(crate) fn split_sub(rest: &str) -> Option<(String, Option<String>)> {
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
        return None;
    }
    Some((canon_name(attr), sub.map(canon_name)))
}

/// Parses `[urn:]attr[.sub]` (or a whole extension URN, then `attr` is empty).
pub(crate) fn parse_attr_path(s: &str) -> Option<AttrPath> {
    match split_urn(s.trim(), &[]) {
        UrnSplit::Core(rest) => {
            let (attr, sub) = split_sub(rest)?;
            Some(AttrPath { urn: None, attr, sub })
        }
        UrnSplit::Ext(urn, rest) => {
            let (attr, sub) = split_sub(rest)?;
            Some(AttrPath { urn: Some(urn), attr, sub })
        }
        UrnSplit::WholeExt(urn) => Some(AttrPath { urn: Some(urn), attr: String::new(), sub: None }),
    }
}

/// One `attrPath eq value` comparison.
#[derive(Clone, Debug)]
pub(crate) struct Cond {
    pub path: AttrPath,
    pub value: Value,
}

/// A disjunction (`or`) of conjunctions (`and`) of comparisons.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    /// The `or` terms, each a list of comparisons that must all hold.
    pub terms: Vec<Vec<Cond>>,
}

enum Tok {
    Word(String),
    Str(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() {
                match b[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            if j >= b.len() {
                return Err("unterminated string in filter".into());
            }
            let text: String = serde_json::from_str(&s[i..=j]).map_err(|e| format!("bad string in filter: {e}"))?;
            toks.push(Tok::Str(text));
            i = j + 1;
        } else {
            let mut j = i;
            while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'"' {
                j += 1;
            }
            let word = &s[i..j];
            if word.contains(['(', ')', '[', ']']) {
                return Err(format!("grouping and value paths are not supported in filters (at '{word}')"));
            }
            toks.push(Tok::Word(word.to_string()));
            i = j;
        }
    }
    Ok(toks)
}

/// Parses a filter; the error text says what is not supported.
pub(crate) fn parse_filter(s: &str) -> Result<Filter, String> {
    let mut toks = tokenize(s)?.into_iter();
    let mut terms = Vec::new();
    let mut conds = Vec::new();
    loop {
        let path = match toks.next() {
            Some(Tok::Word(w)) => parse_attr_path(&w).ok_or_else(|| format!("invalid attribute path '{w}'"))?,
            Some(Tok::Str(s)) => return Err(format!("expected an attribute path, found \"{s}\"")),
            None => return Err("empty filter".into()),
        };
        if path.attr.is_empty() {
            return Err("a filter must name an attribute, not a schema".into());
        }
        match toks.next() {
            Some(Tok::Word(op)) if op.eq_ignore_ascii_case("eq") => {}
            Some(Tok::Word(op)) => {
                return Err(format!("operator '{op}' is not supported (only eq)"));
            }
            _ => return Err("expected an operator".into()),
        }
        let value = match toks.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
            Some(Tok::Word(w)) => match serde_json::from_str::<serde_json::Number>(&w) {
                Ok(n) => Value::Number(n),
                Err(_) => return Err(format!("invalid comparison value '{w}'")),
            },
            None => return Err("expected a comparison value".into()),
        };
        conds.push(Cond { path, value });
        match toks.next() {
            None => break,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("and") => continue,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("or") => terms.push(std::mem::take(&mut conds)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                return Err(format!("logical operator '{w}' is not supported (only and, or)"));
            }
            Some(Tok::Word(w)) => return Err(format!("unexpected '{w}' in filter")),
            Some(Tok::Str(s)) => return Err(format!("unexpected \"{s}\" in filter")),
        }
    }
    terms.push(conds);
    Ok(Filter { terms })
}

/// Whether comparisons of this attribute are case-exact (RFC 7643: `id` and `externalId`).
fn case_exact(path: &AttrPath) -> bool {
    path.urn.is_none() && path.sub.is_none() && (path.attr == "id" || path.attr == "externalId")
}

fn eq_value(a: &Value, b: &Value, exact: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if exact {
                x == y
            } else {
                eq_ci(x, y)
            }
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (x, y) => x == y,
    }
}

impl Cond {
    fn item_matches(&self, item: &Value, exact: bool) -> bool {
        let target = match (&self.path.sub, item) {
            (Some(s), Value::Object(m)) => get_ci(m, s),
            (Some(_), _) => None,
            (None, Value::Object(m)) => get_ci(m, "value"),
            (None, v) => Some(v),
        };
        target.is_some_and(|t| eq_value(t, &self.value, exact))
    }

    /// Whether the resource (or a multi-valued element, for value filters) matches.
    pub(crate) fn matches(&self, obj: &Map<String, Value>) -> bool {
        let container = match &self.path.urn {
            None => obj,
            Some(u) => match get_ci(obj, u) {
                Some(Value::Object(m)) => m,
                _ => return false,
            },
        };
        let Some(v) = get_ci(container, &self.path.attr) else {
            return self.value.is_null();
        };
        let exact = case_exact(&self.path);
        match v {
            Value::Array(items) => items.iter().any(|it| self.item_matches(it, exact)),
            other => self.item_matches(other, exact),
        }
    }
}

impl Filter {
    /// Whether every comparison of some `or` term matches.
    pub(crate) fn matches(&self, obj: &Map<String, Value>) -> bool {
        self.terms.iter().any(|t| t.iter().all(|c| c.matches(obj)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_matches() {
        let f = parse_filter(r#"USERNAME Eq "Alice@Example.com" and externalId eq "e1""#).unwrap();
        assert_eq!(f.terms[0].len(), 2);
        assert_eq!(f.terms[0][0].path.attr, "userName");
        let r = json!({"userName": "alice@example.com", "externalId": "e1"});
        assert!(f.matches(r.as_object().unwrap()));
        let r = json!({"userName": "alice@example.com", "externalId": "E1"});
        assert!(!f.matches(r.as_object().unwrap()), "externalId is case-exact");
    }

    #[test]
    fn multi_valued_and_extension() {
        let r = json!({"emails": [{"type": "work", "value": "A@x.org"}],
            ENTERPRISE: {"department": "Sales"}});
        let f = parse_filter(r#"emails.value eq "a@x.org""#).unwrap();
        assert!(f.matches(r.as_object().unwrap()));
        let f = parse_filter(&format!(r#"{ENTERPRISE}:department eq "sales""#)).unwrap();
        assert_eq!(f.terms[0][0].path.urn.as_deref(), Some(ENTERPRISE));
        assert!(f.matches(r.as_object().unwrap()));
    }

    #[test]
    fn or_of_ands() {
        let f = parse_filter(r#"userName eq "a" or userName eq "B" and active eq true or userName eq "c""#).unwrap();
        assert_eq!(f.terms.iter().map(Vec::len).collect::<Vec<_>>(), [1, 2, 1]);
        let m = |v: serde_json::Value| f.matches(v.as_object().unwrap());
        assert!(m(json!({"userName": "A"})));
        assert!(m(json!({"userName": "b", "active": true})));
        assert!(!m(json!({"userName": "b", "active": false})));
        assert!(m(json!({"userName": "c"})));
        assert!(!m(json!({"userName": "d"})));
    }

    #[test]
    fn refuses_unsupported() {
        for f in [
            r#"userName sw "a""#,
            r#"not userName eq "a""#,
            r#"userName eq "a" or"#,
            r#"(userName eq "a")"#,
            r#"emails[type eq "work"].value eq "a""#,
            r#"userName eq"#,
            r#"userName eq "a"#,
            "",
        ] {
            assert!(parse_filter(f).is_err(), "{f}");
        }
    }
}
