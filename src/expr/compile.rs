//! Save-time checking and compilation: names, arity and types are checked against the function table
//! and the source's attribute list, and the tree is lowered to [`Node`]s for fast evaluation.

use super::ast::{Expr, ExprKind};
use super::error::ExprError;
use super::eval::Node;
use super::functions::{self, FnSpec, Need};
use super::parser::parse;
use super::suggest::closest;
use super::value::{parse_bool, parse_int, Type, Value};

/// The attributes a source object has, with their types; what `[name]` may refer to.
#[derive(Clone, Debug, Default)]
pub struct SourceSchema {
    attrs: Vec<(String, Type)>,
    open: bool,
    extensions: bool,
}

impl SourceSchema {
    /// A schema that accepts any attribute name (type unknown until evaluation).
    pub fn open() -> SourceSchema {
        SourceSchema { attrs: Vec::new(), open: true, extensions: false }
    }

    /// A closed schema of these attributes.
    pub fn new<S: Into<String>>(attrs: impl IntoIterator<Item = (S, Type)>) -> SourceSchema {
        SourceSchema { attrs: attrs.into_iter().map(|(n, t)| (n.into(), t)).collect(), open: false, extensions: false }
    }

    /// Also accepts extension attributes, `[extension_<name>]`, as strings.
    pub fn with_extensions(mut self) -> SourceSchema {
        self.extensions = true;
        self
    }

    /// The type of attribute `name`, if the schema has it (exact case).
    pub fn get(&self, name: &str) -> Option<Type> {
        if let Some((_, t)) = self.attrs.iter().find(|(n, _)| n == name) {
            return Some(*t);
        }
        if self.open || (self.extensions && name.starts_with("extension_") && name.len() > "extension_".len()) {
            return Some(Type::Any);
        }
        None
    }

    /// The attribute names, in the schema's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.attrs.iter().map(|(n, _)| n.as_str())
    }
}

/// A checked, compiled expression: parse once at save time, evaluate per object.
#[derive(Clone, Debug)]
pub struct Expression {
    text: String,
    tree: Expr,
    root: Node,
    returns: Type,
}

impl Expression {
    /// The text it was compiled from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The syntax tree.
    pub fn tree(&self) -> &Expr {
        &self.tree
    }

    /// The compiled root node.
    pub fn node(&self) -> &Node {
        &self.root
    }

    /// The static type of its result ([`Type::Any`] when it depends on the data).
    pub fn returns(&self) -> Type {
        self.returns
    }

    /// The source attributes it reads.
    pub fn attributes(&self) -> Vec<&str> {
        self.tree.attributes()
    }

    /// The top-level function's name, if the expression is a call.
    pub fn top_function(&self) -> Option<&str> {
        match &self.tree.kind {
            ExprKind::Call { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Evaluates against one source object.
    pub fn evaluate(&self, src: &dyn super::eval::Source, env: &mut dyn super::eval::Env) -> Result<Value, super::error::Stop> {
        super::eval::Cx::new(src, env).eval(&self.root)
    }
}

/// Parses, checks and compiles `text` against `schema`.
pub fn compile(text: &str, schema: &SourceSchema) -> Result<Expression, ExprError> {
    let tree = parse(text)?;
    let c = Checker { text, schema };
    let (root, returns) = c.lower(&tree, true)?;
    Ok(Expression { text: text.to_string(), tree, root, returns })
}

struct Checker<'a> {
    text: &'a str,
    schema: &'a SourceSchema,
}

fn ordinal(i: usize) -> String {
    let n = i + 1;
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl Checker<'_> {
    fn lower(&self, e: &Expr, top: bool) -> Result<(Node, Type), ExprError> {
        match &e.kind {
            ExprKind::Str(s) => Ok((Node::Const(Value::Str(s.clone())), Type::String)),
            ExprKind::Int(i) => Ok((Node::Const(Value::Int(*i)), Type::Integer)),
            ExprKind::Attr(name) => match self.schema.get(name) {
                Some(t) => Ok((Node::Attr(name.as_str().into()), t)),
                None => {
                    let hint = closest(name, self.schema.names()).map(|k| format!(", did you mean [{k}]?")).unwrap_or_default();
                    Err(ExprError::at(self.text, e.span, format!("unknown attribute [{name}]{hint}")))
                }
            },
            ExprKind::Compare { op, left, right } => {
                let (l, lt) = self.lower(left, false)?;
                let (r, rt) = self.lower(right, false)?;
                for (t, side) in [(lt, left), (rt, right)] {
                    if matches!(t, Type::Multi | Type::Objects) {
                        return Err(ExprError::at(
                            self.text,
                            side.span,
                            format!("'{}' compares single values, but this is {}", op.symbol(), t.described()),
                        ));
                    }
                }
                Ok((Node::Compare { op: *op, left: Box::new(l), right: Box::new(r) }, Type::Boolean))
            }
            ExprKind::Call { name, name_span, args } => {
                let Some(f) = functions::lookup(name) else {
                    let hint = closest(name, functions::all().map(|f| f.name)).map(|k| format!(", did you mean {k}?")).unwrap_or_default();
                    return Err(ExprError::at(self.text, *name_span, format!("unknown function {name}{hint}")));
                };
                if f.top_level_only && !top {
                    return Err(ExprError::at(
                        self.text,
                        *name_span,
                        format!("{name} must be the whole expression; it cannot be used inside another function"),
                    ));
                }
                self.check_arity(f, e, args)?;
                let mut nodes = Vec::with_capacity(args.len());
                for (i, a) in args.iter().enumerate() {
                    match a {
                        None => nodes.push(None),
                        Some(a) => {
                            let (n, t) = self.lower(a, false)?;
                            let p = param_at(f, i);
                            self.check_type(f, i, p, a, t)?;
                            nodes.push(Some(n));
                        }
                    }
                }
                if let Some(rule) = f.rule {
                    if let Err((i, msg)) = rule(args) {
                        let span = i.and_then(|i| args.get(i).and_then(|a| a.as_ref()).map(|a| a.span)).unwrap_or(e.span);
                        return Err(ExprError::at(self.text, span, msg));
                    }
                }
                Ok((Node::Call { f, args: nodes.into_boxed_slice() }, f.returns))
            }
        }
    }

    fn check_arity(&self, f: &FnSpec, e: &Expr, args: &[Option<Expr>]) -> Result<(), ExprError> {
        let repeating = f.params.last().is_some_and(|p| p.need == Need::Repeating);
        let min = f.params.iter().rposition(|p| p.need != Need::Optional).map_or(0, |i| i + 1);
        let max = if repeating { usize::MAX } else { f.params.len() };
        let n = args.len();
        if n < min || n > max {
            let want = if repeating {
                format!("at least {min}")
            } else if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            let plural = if want == "1" { "argument" } else { "arguments" };
            return Err(ExprError::at(self.text, e.span, format!("{} expects {want} {plural}, got {n}: {}", f.name, f.signature())));
        }
        for (i, a) in args.iter().enumerate() {
            let p = param_at(f, i);
            if a.is_none() && p.need != Need::Optional {
                return Err(ExprError::at(
                    self.text,
                    e.span,
                    format!("{}'s {} argument ({}) is required but empty", f.name, ordinal(i), p.name),
                ));
            }
        }
        Ok(())
    }

    fn check_type(&self, f: &FnSpec, i: usize, p: &functions::Param, a: &Expr, t: Type) -> Result<(), ExprError> {
        let bad = |msg: String| Err(ExprError::at(self.text, a.span, msg));
        // Messages are only built for a mismatch: checking runs for every argument of every call.
        let what = || match &a.kind {
            ExprKind::Attr(n) => format!("[{n}]"),
            ExprKind::Str(s) => format!("\"{s}\""),
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Call { name, .. } => format!("{name}(…)"),
            ExprKind::Compare { .. } => "the comparison".to_string(),
        };
        let head = || format!("{}'s {} argument ({})", f.name, ordinal(i), p.name);
        if t == Type::Any || p.ty == Type::Any || p.ty == Type::Multi {
            return Ok(());
        }
        match p.ty {
            Type::String => {
                if matches!(t, Type::Multi | Type::Objects) {
                    let (h, w) = (head(), what());
                    return bad(format!("{h} takes a single value, but {w} is {}; use Join or Item to pick values", t.described()));
                }
            }
            Type::Integer => match (&a.kind, t) {
                (ExprKind::Str(s), _) if parse_int(s.trim()).is_none() => {
                    let (h, w) = (head(), what());
                    return bad(format!("{h} must be a whole number, got {w}"));
                }
                (_, Type::Integer | Type::String | Type::Boolean) => {}
                _ => {
                    let (h, w) = (head(), what());
                    return bad(format!("{h} must be a whole number, but {w} is {}", t.described()));
                }
            },
            Type::DateTime => {
                if !matches!(t, Type::DateTime | Type::String) {
                    let (h, w) = (head(), what());
                    return bad(format!("{h} must be a date-time (use CDate or Now), but {w} is {}", t.described()));
                }
            }
            Type::Boolean => match (&a.kind, t) {
                (ExprKind::Str(s), _) if parse_bool(s).is_none() => {
                    let (h, w) = (head(), what());
                    return bad(format!("{h} must be \"True\" or \"False\", got {w}"));
                }
                (_, Type::Boolean | Type::String | Type::Integer) => {}
                _ => {
                    let (h, w) = (head(), what());
                    return bad(format!("{h} must be a boolean, but {w} is {}", t.described()));
                }
            },
            Type::Objects => {
                if t != Type::Objects {
                    let (h, w) = (head(), what());
                    return bad(format!("{h} must be the [appRoleAssignments] attribute, got {w}"));
                }
            }
            Type::Reference => {
                if !matches!(t, Type::Reference | Type::String) {
                    let (h, w) = (head(), what());
                    return bad(format!("{h} must be a reference, but {w} is {}", t.described()));
                }
            }
            Type::Any | Type::Multi => {}
        }
        Ok(())
    }
}

fn param_at(f: &FnSpec, i: usize) -> &functions::Param {
    static ANY: functions::Param = functions::opt("argument", Type::Any);
    f.params.get(i).or_else(|| f.params.last().filter(|p| p.need == Need::Repeating)).unwrap_or(&ANY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> SourceSchema {
        SourceSchema::new([
            ("givenName", Type::String),
            ("department", Type::String),
            ("otherMails", Type::Multi),
            ("accountEnabled", Type::Boolean),
        ])
        .with_extensions()
    }

    fn err(text: &str) -> ExprError {
        compile(text, &schema()).expect_err(text)
    }

    #[test]
    fn unknown_names_get_suggestions() {
        let e = err("ToLower([departmnt])");
        assert_eq!(e.message, "unknown attribute [departmnt], did you mean [department]?");
        assert_eq!((e.line, e.column), (1, 9));
        assert_eq!(err("Tolower([department])").message, "unknown function Tolower, did you mean ToLower?");
        assert_eq!(err("Frobnicate([department])").message, "unknown function Frobnicate");
        assert!(compile("[extension_costCenter]", &schema()).is_ok());
    }

    #[test]
    fn arity_and_types_are_checked_at_save_time() {
        assert_eq!(
            err(r#"Switch([department], "x", "a", "b", "c")"#).message,
            "Switch expects an odd number of arguments after the source, got 4"
        );
        assert!(err("ToLower()").message.starts_with("ToLower expects 1 to 2 arguments, got 0"));
        assert!(err(r#"BitAnd([givenName], "abc")"#).message.contains("must be a whole number"));
        assert!(err("ToUpper([otherMails])").message.contains("use Join or Item"));
        assert!(err(r#"Not("maybe")"#).message.contains("\"True\" or \"False\""));
        assert!(err(r#"Append(, "x")"#).message.contains("required but empty"));
        assert!(compile(r#"Join(",", [otherMails], [givenName])"#, &schema()).is_ok());
    }
}
