//! Date functions.

use super::{FnSpec, Stop};
use crate::expr::eval::{Cx, Node};
use crate::expr::value::{Type, Value};

/// This family's functions.
pub(super) static FUNCTIONS: &[FnSpec] = &[FnSpec {
    name: "Now",
    params: &[],
    returns: Type::DateTime,
    summary: "the current date and time in UTC",
    imp: now,
    rule: None,
    top_level_only: false,
}];

fn now(cx: &mut Cx<'_>, _args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(Value::Date(cx.env.now()))
}
