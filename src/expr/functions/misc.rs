//! Generated values, uniqueness and app roles.

use super::FnSpec;

/// This family's functions.
pub(super) static FUNCTIONS: &[FnSpec] = &[];
