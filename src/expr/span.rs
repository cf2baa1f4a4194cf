//! Where something is in an expression's text: byte spans and the line/column people read.

use serde::{Deserialize, Serialize};

/// A half-open byte range `[start, end)` in the expression text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A 1-based line and column (in characters) of a byte offset in `text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text's end and a character boundary).
    pub fn of(text: &str, offset: u32) -> Position {
        let mut offset = (offset as usize).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() as u32 + 1;
        Position { line, column }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let t = "Join(\" \",\n  [gïvenName], x)";
        assert_eq!(Position::of(t, 0), Position { line: 1, column: 1 });
        let x = t.find('x').unwrap() as u32;
        assert_eq!(Position::of(t, x), Position { line: 2, column: 16 });
        assert_eq!(Position::of(t, 10_000), Position { line: 2, column: 18 });
    }
}
