//! Errors found in an expression's text (at save time) and while evaluating it (during a cycle).

use super::span::{Position, Span};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A problem with an expression's text: a syntax error, an unknown function or attribute, a wrong
/// argument count or a type mismatch. Carries where it is, for the editor to underline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub struct ExprError {
    /// What is wrong, in words an admin understands.
    pub message: String,
    /// The bytes it concerns.
    pub span: Span,
    /// 1-based line of the span's start.
    pub line: u32,
    /// 1-based column (characters) of the span's start.
    pub column: u32,
}

impl ExprError {
    /// An error at `span` of `text`.
    pub fn at(text: &str, span: Span, message: impl Into<String>) -> ExprError {
        let Position { line, column } = Position::of(text, span.start);
        ExprError { message: message.into(), span, line, column }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// Why an evaluation produced no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// `IgnoreFlowIfNullOrEmpty` saw null or empty: the attribute is left out of the flow. Not a failure.
    #[error("the attribute is left out of the flow (IgnoreFlowIfNullOrEmpty)")]
    IgnoreFlow,
    /// The expression could not be evaluated for this object (bad date text, a regex that failed, …).
    #[error("{function}: {message}")]
    Failed {
        /// The function that failed.
        function: &'static str,
        /// What went wrong, naming the value.
        message: String,
    },
}

impl Stop {
    /// A failure of `function`.
    pub fn failed(function: &'static str, message: impl Into<String>) -> Stop {
        Stop::Failed { function, message: message.into() }
    }
}
