//! Evaluating a compiled expression against one source object.
//!
//! Compilation ([`super::compile`]) turns the tree into [`Node`]s whose calls point straight at their
//! function's implementation and whose constants are already typed, so evaluating is a walk with no
//! name lookups. Functions receive their argument nodes unevaluated (IIF and Switch evaluate only the
//! branch they take, so an `IgnoreFlowIfNullOrEmpty` in an untaken branch does not fire).

use super::ast::CompareOp;
use super::error::Stop;
use super::functions::FnSpec;
use super::value::Value;
use chrono::{DateTime, Utc};
use std::cmp::Ordering;

/// Where attribute values come from: one source object (a directory user or group).
pub trait Source {
    /// The value of attribute `name` (as written between the brackets); null when it has none.
    fn get(&self, name: &str) -> Value;
}

/// What an evaluation may ask of the world: the time, randomness and target uniqueness. Supplied
/// by the engine, so evaluation stays pure and tests are deterministic.
pub trait Env {
    /// The current time (for `Now`).
    fn now(&self) -> DateTime<Utc>;
    /// 64 random bits (for `Guid` and `RandomString`).
    fn random(&mut self) -> u64;
    /// Whether `value` is still free in the target for the attribute being mapped (for
    /// `SelectUniqueValue`). The default says yes.
    fn is_unique(&mut self, _value: &str) -> bool {
        true
    }
}

/// An [`Env`] with a fixed clock and a seeded generator, for previews and tests.
#[derive(Clone, Debug)]
pub struct FixedEnv {
    /// What `Now()` returns.
    pub now: DateTime<Utc>,
    /// Generator state (SplitMix64).
    pub seed: u64,
    /// Values that `SelectUniqueValue` treats as taken.
    pub taken: Vec<String>,
}

impl FixedEnv {
    /// A fixed environment at `now`.
    pub fn at(now: DateTime<Utc>) -> FixedEnv {
        FixedEnv { now, seed: 0x5EED, taken: Vec::new() }
    }
}

impl Env for FixedEnv {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn random(&mut self) -> u64 {
        self.seed = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn is_unique(&mut self, value: &str) -> bool {
        !self.taken.iter().any(|t| t.eq_ignore_ascii_case(value))
    }
}

/// A compiled expression node.
#[derive(Clone, Debug)]
pub enum Node {
    /// A constant.
    Const(Value),
    /// A source attribute, by name.
    Attr(Box<str>),
    /// A call to a built-in function with its (unevaluated) arguments; `None` is an empty argument.
    Call {
        /// The function.
        f: &'static FnSpec,
        /// Its arguments.
        args: Box<[Option<Node>]>,
    },
    /// A comparison; null on either side makes it false.
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left side.
        left: Box<Node>,
        /// Right side.
        right: Box<Node>,
    },
}

/// The evaluation context handed to function implementations.
pub struct Cx<'a> {
    /// The object being evaluated.
    pub src: &'a dyn Source,
    /// The engine's environment.
    pub env: &'a mut dyn Env,
}

impl<'a> Cx<'a> {
    /// A context over `src` and `env`.
    pub fn new(src: &'a dyn Source, env: &'a mut dyn Env) -> Cx<'a> {
        Cx { src, env }
    }

    /// Evaluates a node.
    pub fn eval(&mut self, node: &Node) -> Result<Value, Stop> {
        match node {
            Node::Const(v) => Ok(v.clone()),
            Node::Attr(name) => Ok(self.src.get(name)),
            Node::Call { f, args } => (f.imp)(self, args),
            Node::Compare { op, left, right } => {
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                Ok(Value::Bool(compare(*op, &l, &r)))
            }
        }
    }

    /// Evaluates argument `i` (null when it is empty or absent).
    pub fn arg(&mut self, args: &[Option<Node>], i: usize) -> Result<Value, Stop> {
        match args.get(i) {
            Some(Some(n)) => self.eval(n),
            _ => Ok(Value::Null),
        }
    }

    /// Whether argument `i` was written at all (not empty, not absent).
    pub fn has_arg(args: &[Option<Node>], i: usize) -> bool {
        matches!(args.get(i), Some(Some(_)))
    }
}

/// Compares two values as Entra's IIF does: integers numerically when both sides are integers (or
/// integer text), dates as dates, booleans as booleans, everything else as case-sensitive text.
/// Null on either side makes every comparison false, `<>` included (documented: "a null source makes
/// the condition fail").
pub fn compare(op: CompareOp, l: &Value, r: &Value) -> bool {
    if l.is_null() || r.is_null() {
        return false;
    }
    let ord = order(l, r);
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
    }
}

fn order(l: &Value, r: &Value) -> Ordering {
    match (l, r) {
        (Value::Date(a), Value::Date(b)) => return a.cmp(b),
        (Value::Bool(_), _) | (_, Value::Bool(_)) => {
            if let (Some(a), Some(b)) = (l.as_bool(), r.as_bool()) {
                return a.cmp(&b);
            }
        }
        _ => {}
    }
    let num = |v: &Value| match v {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    if let (Some(a), Some(b)) = (num(l), num(r)) {
        return a.cmp(&b);
    }
    l.text_or_empty().as_ref().cmp(r.text_or_empty().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_are_typed_and_null_fails() {
        assert!(compare(CompareOp::Eq, &Value::str("USA"), &Value::str("USA")));
        assert!(!compare(CompareOp::Eq, &Value::str("usa"), &Value::str("USA")));
        assert!(compare(CompareOp::Gt, &Value::Int(10), &Value::str("9")));
        assert!(!compare(CompareOp::Lt, &Value::str("10"), &Value::str("9")));
        assert!(compare(CompareOp::Eq, &Value::Bool(true), &Value::str("True")));
        assert!(!compare(CompareOp::Ne, &Value::Null, &Value::str("x")));
        assert!(!compare(CompareOp::Eq, &Value::Null, &Value::Null));
    }
}
