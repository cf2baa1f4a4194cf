//! The built-in functions: one table of [`FnSpec`]s (name, parameters, result type, implementation),
//! split by family. The checker reads the table for arity and types; the evaluator calls `imp`.

use super::ast::Expr;
use super::error::Stop;
use super::eval::{Cx, Node};
use super::value::{Type, Value};

/// A table entry's implementation: `f` itself when this build evaluates expressions (feature
/// `eval`); in the browser's check-only build, [`check_only`], so the table pulls no implementation
/// (and no regex engine or Unicode tables) into the wasm bundle.
#[cfg(feature = "eval")]
macro_rules! imp {
    ($f:path) => {
        $f
    };
}
#[cfg(not(feature = "eval"))]
macro_rules! imp {
    ($f:path) => {
        $crate::expr::functions::check_only
    };
}

mod dates;
mod logic;
mod misc;
mod text;

/// What every function does in a build without the `eval` feature: expressions are checked there
/// (the browser's live check), and evaluated by the server.
#[cfg(not(feature = "eval"))]
pub(crate) fn check_only(_: &mut Cx<'_>, _: &[Option<Node>]) -> Result<Value, Stop> {
    Err(Stop::failed("(browser)", "expressions are evaluated by the server; this build only checks them"))
}

/// A function's implementation: it gets its argument nodes unevaluated and evaluates what it needs.
pub type FnImpl = fn(&mut Cx<'_>, &[Option<Node>]) -> Result<Value, Stop>;

/// An extra save-time rule for a call (beyond arity and types), given the written arguments. Returns
/// the index of the offending argument (or `None` for the whole call) and the message.
pub type FnRule = fn(&[Option<Expr>]) -> Result<(), (Option<usize>, String)>;

/// Whether a parameter must be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Must be written (not empty).
    Required,
    /// May be left empty or left out.
    Optional,
    /// One or more of these, to the end of the list (the last parameter only).
    Repeating,
}

/// One parameter of a function.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name, as in Entra's reference.
    pub name: &'static str,
    /// What it accepts ([`Type::Any`] for anything).
    pub ty: Type,
    /// Whether it must be written.
    pub need: Need,
}

/// A required parameter.
pub const fn req(name: &'static str, ty: Type) -> Param {
    Param { name, ty, need: Need::Required }
}

/// An optional parameter.
pub const fn opt(name: &'static str, ty: Type) -> Param {
    Param { name, ty, need: Need::Optional }
}

/// A repeating parameter (last only).
pub const fn rep(name: &'static str, ty: Type) -> Param {
    Param { name, ty, need: Need::Repeating }
}

/// A built-in function.
#[derive(Debug)]
pub struct FnSpec {
    /// Name as in Entra (case-sensitive).
    pub name: &'static str,
    /// Its parameters in order.
    pub params: &'static [Param],
    /// What it returns ([`Type::Any`] when that depends on the arguments).
    pub returns: Type,
    /// One line for the expression builder's help.
    pub summary: &'static str,
    /// The implementation.
    pub imp: FnImpl,
    /// Extra save-time checks.
    pub rule: Option<FnRule>,
    /// Only allowed as the whole expression (SelectUniqueValue, AppRoleAssignmentsComplex, …).
    pub top_level_only: bool,
}

impl FnSpec {
    /// The signature as shown to admins: `Left(String, n)`.
    pub fn signature(&self) -> String {
        let ps: Vec<String> = self
            .params
            .iter()
            .map(|p| match p.need {
                Need::Required => p.name.to_string(),
                Need::Optional => format!("[{}]", p.name),
                Need::Repeating => format!("{}…", p.name),
            })
            .collect();
        format!("{}({})", self.name, ps.join(", "))
    }
}

/// Every family's table, in family order.
fn families() -> impl Iterator<Item = &'static FnSpec> {
    text::FUNCTIONS.iter().chain(logic::FUNCTIONS).chain(dates::FUNCTIONS).chain(misc::FUNCTIONS)
}

/// Every built-in function, in alphabetical order.
pub fn all() -> impl Iterator<Item = &'static FnSpec> {
    let mut v: Vec<&'static FnSpec> = families().collect();
    v.sort_by_key(|f| f.name);
    v.into_iter()
}

/// The function called `name` (exact case), if there is one.
pub fn lookup(name: &str) -> Option<&'static FnSpec> {
    families().find(|f| f.name == name)
}

// ---- helpers for implementations ----

/// Argument `i` as text; `None` when null or empty-written.
pub(crate) fn text_arg(cx: &mut Cx<'_>, args: &[Option<Node>], i: usize) -> Result<Option<String>, Stop> {
    Ok(cx.arg(args, i)?.into_text())
}

/// Argument `i` as an integer, failing with a message naming the function when it is not one. Null
/// gives `None`.
pub(crate) fn int_arg(cx: &mut Cx<'_>, args: &[Option<Node>], i: usize, f: &'static str) -> Result<Option<i64>, Stop> {
    let v = cx.arg(args, i)?;
    if v.is_null() {
        return Ok(None);
    }
    v.as_int().map(Some).ok_or_else(|| Stop::failed(f, format!("'{}' is not a whole number", v.text_or_empty())))
}

/// `Some(text)` of a string-literal argument as written (for save-time rules).
pub(crate) fn literal(arg: &Option<Expr>) -> Option<&str> {
    match arg {
        Some(Expr { kind: super::ast::ExprKind::Str(s), .. }) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Evaluating text against a map of attributes, for the families' tests.
    use super::super::{compile, eval::FixedEnv, value::Value, Expression, SourceSchema};
    use chrono::{TimeZone, Utc};
    use std::collections::HashMap;

    /// A source object from `(name, value)` pairs.
    #[derive(Default)]
    pub struct Obj(pub HashMap<String, Value>);

    impl super::super::eval::Source for Obj {
        fn get(&self, name: &str) -> Value {
            self.0.get(name).cloned().unwrap_or(Value::Null)
        }
    }

    /// An object with string attributes.
    pub fn obj(pairs: &[(&str, &str)]) -> Obj {
        Obj(pairs.iter().map(|(k, v)| (k.to_string(), Value::str(*v))).collect())
    }

    /// The fixed clock used in tests: 2021-08-25 17:41:18 UTC.
    pub fn env() -> FixedEnv {
        FixedEnv::at(Utc.with_ymd_and_hms(2021, 8, 25, 17, 41, 18).unwrap())
    }

    /// Compiles `text` (any attribute allowed) or panics with the error.
    pub fn compiled(text: &str) -> Expression {
        compile(text, &SourceSchema::open()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Evaluates `text` against `src`.
    pub fn eval_with(text: &str, src: &Obj) -> Result<Value, super::Stop> {
        compiled(text).evaluate(src, &mut env())
    }

    /// Evaluates `text` against `src` and returns the value as text ("NULL" for null).
    pub fn ev(text: &str, src: &Obj) -> String {
        match eval_with(text, src) {
            Ok(v) => v.to_string(),
            Err(e) => panic!("{text}: {e}"),
        }
    }

    /// The save-time error message for `text`.
    pub fn check_err(text: &str) -> String {
        compile(text, &SourceSchema::open()).expect_err(text).message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function in Entra's reference (and the assertive app-role variant) exists, once.
    #[test]
    fn every_entra_function_is_implemented() {
        let entra = [
            "Append",
            "AppRoleAssignmentsComplex",
            "AssertiveAppRoleAssignmentsComplex",
            "BitAnd",
            "CBool",
            "CDate",
            "Coalesce",
            "ConvertToBase64",
            "ConvertToUTF8Hex",
            "Count",
            "CStr",
            "DateAdd",
            "DateDiff",
            "DateFromNum",
            "FormatDateTime",
            "Guid",
            "IgnoreFlowIfNullOrEmpty",
            "IIF",
            "InStr",
            "IsNull",
            "IsNullOrEmpty",
            "IsPresent",
            "IsString",
            "Item",
            "Join",
            "Left",
            "Mid",
            "NormalizeDiacritics",
            "Not",
            "Now",
            "NumFromDate",
            "PCase",
            "RandomString",
            "Redact",
            "RemoveDuplicates",
            "Replace",
            "SelectUniqueValue",
            "SingleAppRoleAssignment",
            "Split",
            "StripSpaces",
            "Switch",
            "ToLower",
            "ToUpper",
            "Word",
        ];
        for name in entra {
            let f = lookup(name).unwrap_or_else(|| panic!("{name} is missing"));
            assert!(!f.summary.is_empty(), "{name} has no summary");
        }
        assert_eq!(all().count(), entra.len());
        let names: Vec<&str> = all().map(|f| f.name).collect();
        let mut sorted = names.clone();
        sorted.dedup();
        assert_eq!(names.len(), sorted.len(), "a function is defined twice");
        // Repeating parameters come last.
        for f in all() {
            for p in &f.params[..f.params.len().saturating_sub(1)] {
                assert_ne!(p.need, Need::Repeating, "{}", f.name);
            }
        }
    }
}
