//! The syntax tree of an expression, as written (before names are checked).

use super::span::Span;
use serde::{Deserialize, Serialize};

/// A comparison inside an expression, as in `IIF([country]="USA", …)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}

/// One node of the tree and where it was written. Equality ignores spans, so a tree parsed from
/// printed text equals the original.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it is in the text.
    pub span: Span,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.kind == other.kind
    }
}

/// The kinds of node. Equality ignores spans.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ExprKind {
    /// `[name]`: a source attribute.
    Attr(String),
    /// `"text"`: a string constant (escapes resolved).
    Str(String),
    /// `42`, `-1`, `&HF7`: an integer constant.
    Int(i64),
    /// `Name(arg, , arg)`: a function call; `None` is an empty positional argument.
    Call {
        /// The function's name as written.
        name: String,
        /// Where the name is.
        name_span: Span,
        /// The arguments in order.
        args: Vec<Option<Expr>>,
    },
    /// `left op right`.
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
}

impl PartialEq for ExprKind {
    fn eq(&self, other: &ExprKind) -> bool {
        match (self, other) {
            (ExprKind::Attr(a), ExprKind::Attr(b)) | (ExprKind::Str(a), ExprKind::Str(b)) => a == b,
            (ExprKind::Int(a), ExprKind::Int(b)) => a == b,
            (ExprKind::Call { name: a, args: x, .. }, ExprKind::Call { name: b, args: y, .. }) => a == b && x == y,
            (ExprKind::Compare { op: a, left: l1, right: r1 }, ExprKind::Compare { op: b, left: l2, right: r2 }) => {
                a == b && l1 == l2 && r1 == r2
            }
            _ => false,
        }
    }
}

impl Expr {
    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Call { args, .. } => args.iter().flatten().for_each(|a| a.walk(f)),
            ExprKind::Compare { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            _ => {}
        }
    }

    /// The source attributes the expression reads, in order of first use.
    pub fn attributes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.walk(&mut |e| {
            if let ExprKind::Attr(n) = &e.kind {
                if !out.contains(&n.as_str()) {
                    out.push(n);
                }
            }
        });
        out
    }
}
