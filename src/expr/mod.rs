//! The expression language of attribute mappings, compatible with Entra's ("Reference for writing
//! expressions for attribute mappings"): the same text gives the same results.
//!
//! Pipeline: [`parse`] (text → [`Expr`] tree, errors with line/column) → [`compile`] (names, arity and
//! types checked against the function table and a [`SourceSchema`]; tree lowered to [`Node`]s) →
//! [`Expression::evaluate`] (per object, against a [`Source`] and an [`Env`]). [`print`] and [`pretty`]
//! turn a tree back into text that parses to the same tree.
//!
//! Pure: no I/O, no clock, no global randomness (the [`Env`] supplies them), so it builds for wasm32
//! and the portal checks expressions in the browser with this same code.

pub mod ast;
pub mod compile;
pub mod dotnet_date;
pub mod error;
pub mod eval;
pub mod functions;
pub mod fuzz;
pub mod parser;
pub mod print;
pub mod span;
pub mod suggest;
pub mod value;

pub use ast::{CompareOp, Expr, ExprKind};
pub use compile::{compile, Expression, SourceSchema};
pub use error::{ExprError, Stop};
pub use eval::{Env, FixedEnv, Node, Source};
pub use parser::{parse, MAX_CHARS};
pub use print::{pretty, print};
pub use span::{Position, Span};
pub use value::{Type, Value};
