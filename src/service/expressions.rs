//! The expression builder: check an attribute-mapping expression and evaluate it against one
//! directory user, to see what it would send. Changes nothing, so every signed-in role may use it.

use super::{Actor, Result, ServiceError};
use crate::expr::{compile, functions, pretty, Env, ExprError, Source, Stop, Type, Value, MAX_CHARS};
use crate::model::UserId;
use crate::source::user_schema;
use crate::store::{users, Store};
use chrono::{DateTime, Utc};
use rand::{rngs::StdRng, RngCore, SeedableRng};
use serde::Serialize;

/// Lines of the pretty-printed form are broken when longer than this.
pub const PRETTY_WIDTH: usize = 80;

/// The [`Env`] of live evaluations: the real clock and a generator seeded from the operating system.
/// Every value counts as unique (there is no target to ask).
pub struct SystemEnv {
    rng: StdRng,
}

impl SystemEnv {
    /// An environment with a freshly seeded generator.
    pub fn new() -> SystemEnv {
        SystemEnv { rng: StdRng::from_entropy() }
    }
}

impl Default for SystemEnv {
    fn default() -> Self {
        SystemEnv::new()
    }
}

impl Env for SystemEnv {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn random(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

/// The source of an evaluation without a user: every attribute is null.
struct NoUser;

impl Source for NoUser {
    fn get(&self, _name: &str) -> Value {
        Value::Null
    }
}

/// Where an expression error is, for the editor to mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorAt {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// First byte of the offending text.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
}

/// Why an expression gave no value: its text is wrong (with a position) or evaluating it failed for
/// this user (no position).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvaluationError {
    /// What is wrong.
    pub message: String,
    /// Where, for errors in the text.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub at: Option<ErrorAt>,
}

impl From<ExprError> for EvaluationError {
    fn from(e: ExprError) -> Self {
        EvaluationError { message: e.message, at: Some(ErrorAt { line: e.line, column: e.column, start: e.span.start, end: e.span.end }) }
    }
}

/// What an expression produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluated {
    /// The value (null when the attribute would be sent empty, or is left out).
    pub value: Value,
    /// `IgnoreFlowIfNullOrEmpty` fired: the attribute would be left out of the flow.
    pub ignored: bool,
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The value, or why there is none.
    pub outcome: std::result::Result<Evaluated, EvaluationError>,
    /// The static type of the expression's result, when it compiled.
    pub returns: Option<Type>,
    /// The source attributes the expression reads, with the user's values, in the order written
    /// (empty when it did not compile).
    pub attributes: Vec<(String, Value)>,
    /// The expression pretty-printed, when it parsed.
    pub pretty: Option<String>,
}

impl Evaluation {
    /// Whether the expression compiled and evaluated (an ignored attribute counts as success).
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The API's JSON form: `{"ok": true, "value", "type", "text", "ignored", "returns", "attributes",
    /// "pretty"}`, or `{"ok": false, "error": {"message", "line", "column", "start", "end"}}` with the
    /// position only for errors in the text (then `pretty` when it parsed), and `returns`, `attributes`
    /// and `pretty` when evaluating failed.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Map};
        let mut out = Map::new();
        out.insert("ok".into(), json!(self.ok()));
        match &self.outcome {
            Ok(ev) => {
                out.insert("value".into(), ev.value.to_json());
                out.insert("type".into(), json!(ev.value.type_of().to_string()));
                out.insert("text".into(), json!(ev.value.text()));
                out.insert("ignored".into(), json!(ev.ignored));
            }
            Err(e) => {
                out.insert("error".into(), json!(e));
            }
        }
        if let Some(t) = self.returns {
            out.insert("returns".into(), json!(t.to_string()));
        }
        if self.returns.is_some() {
            let attrs: Map<String, serde_json::Value> = self.attributes.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            out.insert("attributes".into(), serde_json::Value::Object(attrs));
        }
        if let Some(p) = &self.pretty {
            out.insert("pretty".into(), json!(p));
        }
        serde_json::Value::Object(out)
    }
}

/// A built-in function, as the reference lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FunctionInfo {
    /// Its name (case-sensitive).
    pub name: &'static str,
    /// How it is called: `Left(source, length)`, optional parameters in brackets.
    pub signature: String,
    /// What it does, in one line.
    pub summary: &'static str,
    /// The type it returns (`Any` when that depends on its arguments).
    pub returns: String,
}

/// The built-in functions, alphabetically.
pub fn functions(_actor: &Actor) -> Vec<FunctionInfo> {
    functions::all()
        .map(|f| FunctionInfo { name: f.name, signature: f.signature(), summary: f.summary, returns: f.returns.to_string() })
        .collect()
}

/// Checks `expression` against the user attributes and evaluates it for user `user_id` (or for no
/// user: every attribute null) with the real clock. An error in the expression or in its evaluation is
/// a normal result (`outcome` is `Err`); the call itself fails only for an oversized expression (422 on
/// `expression`) or a user that does not exist (404). Any signed-in role may call it: it changes nothing.
pub async fn evaluate(store: &Store, _actor: &Actor, expression: &str, user_id: Option<UserId>) -> Result<Evaluation> {
    let chars = expression.chars().count();
    if chars > MAX_CHARS {
        return Err(ServiceError::invalid("expression", format!("is {chars} characters long; the limit is {MAX_CHARS}")));
    }
    let user = match user_id {
        Some(id) => {
            let mut conn = store.conn().await?;
            let u = users::get(&mut conn, id).await?;
            Some(u.ok_or_else(|| ServiceError::NotFound { what: "user", id: id.to_string() })?)
        }
        None => None,
    };
    let compiled = match compile(expression, &user_schema()) {
        Ok(c) => c,
        Err(e) => {
            // A name or type error still parses: show the tidy form of what was written.
            let pretty = crate::expr::parse(expression).ok().map(|t| pretty(&t, PRETTY_WIDTH));
            return Ok(Evaluation { outcome: Err(e.into()), returns: None, attributes: Vec::new(), pretty });
        }
    };
    let src: &dyn Source = match &user {
        Some(u) => u,
        None => &NoUser,
    };
    let attributes = compiled.attributes().into_iter().map(|a| (a.to_string(), src.get(a))).collect();
    let outcome = match compiled.evaluate(src, &mut SystemEnv::new()) {
        Ok(value) => Ok(Evaluated { value, ignored: false }),
        Err(Stop::IgnoreFlow) => Ok(Evaluated { value: Value::Null, ignored: true }),
        Err(e @ Stop::Failed { .. }) => Err(EvaluationError { message: e.to_string(), at: None }),
    };
    Ok(Evaluation { outcome, returns: Some(compiled.returns()), attributes, pretty: Some(pretty(compiled.tree(), PRETTY_WIDTH)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_env_reads_the_clock_and_varies() {
        let mut env = SystemEnv::new();
        let before = Utc::now();
        assert!(env.now() >= before);
        assert_ne!(env.random(), env.random());
    }

    #[test]
    fn errors_serialize_with_their_position() {
        let e = compile("Join(\",\"", &user_schema()).unwrap_err();
        let v = serde_json::to_value(EvaluationError::from(e)).unwrap();
        assert_eq!(v["line"], 1);
        assert!(v["column"].as_u64().unwrap() > 1 && v["start"].is_number() && v["end"].is_number(), "{v}");
        let failed = EvaluationError { message: "Replace: bad".into(), at: None };
        assert_eq!(serde_json::to_value(failed).unwrap(), serde_json::json!({"message": "Replace: bad"}));
    }
}
