//! Text to syntax tree. Hand-written recursive descent: it never panics, never gives up silently,
//! and every error names the line and column.
//!
//! Grammar (Entra's, "Reference for writing expressions for attribute mappings"):
//! ```text
//! expr     := operand ( ("=" | "<>" | ">" | ">=" | "<" | "<=") operand )?
//! operand  := "[" name "]" | string | integer | Name "(" [ arg ( "," arg )* ] ")"
//! arg      := expr | <nothing>          (empty positional arguments: Replace([x], , "re", , "", , ))
//! string   := '"' ( '\"' | '\\' | any other character )* '"'
//! integer  := "-"? digits | "&H" hexdigits
//! ```

use super::ast::{CompareOp, Expr, ExprKind};
use super::error::ExprError;
use super::span::Span;

/// The longest expression accepted, in characters (Entra's documented limit).
pub const MAX_CHARS: usize = 10_000;
/// How deep calls may nest; deeper text is refused rather than risking the stack.
pub const MAX_DEPTH: usize = 64;

/// Parses an expression's text into a tree.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(ExprError::at(
            text,
            Span::new(0, text.len()),
            format!("the expression is {chars} characters long; the limit is {MAX_CHARS}"),
        ));
    }
    let mut p = Parser { text, bytes: text.as_bytes(), pos: 0, depth: 0 };
    p.skip_ws();
    if p.pos == p.bytes.len() {
        return Err(p.err(Span::new(0, 0), "the expression is empty"));
    }
    let e = p.expr()?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        let c = p.peek_char();
        let msg = match c {
            ',' => "unexpected ',' outside a function's arguments".to_string(),
            ')' => "unexpected ')': there is no '(' for it to close".to_string(),
            _ => format!("unexpected {} after the end of the expression", p.token_text(p.pos)),
        };
        return Err(p.err(p.token_span(p.pos), msg));
    }
    Ok(e)
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    depth: usize,
}

impl<'t> Parser<'t> {
    fn err(&self, span: Span, msg: impl Into<String>) -> ExprError {
        ExprError::at(self.text, span, msg)
    }

    /// The span of the token that starts at `at`: a whole `[attribute]`, `"string"`, name or number
    /// (up to the end of its line), else one character. Errors mark it whole.
    fn token_span(&self, at: usize) -> Span {
        let rest = &self.text[at..];
        let len = match rest.as_bytes().first() {
            None => 0,
            Some(b'[') => rest.find([']', '\n']).map_or(rest.len(), |i| i + usize::from(rest.as_bytes()[i] == b']')),
            Some(b'"') => rest[1..].find(['"', '\n']).map_or(rest.len(), |i| i + 1 + usize::from(rest.as_bytes()[i + 1] == b'"')),
            Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => {
                rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())
            }
            Some(_) => rest.chars().next().map_or(0, char::len_utf8),
        };
        Span::new(at, at + len)
    }

    /// The token at `at` as it appears in messages.
    fn token_text(&self, at: usize) -> &str {
        let sp = self.token_span(at);
        &self.text[sp.start as usize..sp.end as usize]
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_char(&self) -> char {
        self.text[self.pos..].chars().next().unwrap_or('\0')
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if b == b' ' || b == b'\t' || b == b'\n' || b == b'\r' {
                self.pos += 1;
            } else if b == 0xC2 && self.bytes.get(self.pos + 1) == Some(&0xA0) {
                // A non-breaking space pasted from a web page.
                self.pos += 2;
            } else {
                break;
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        let left = self.operand()?;
        self.skip_ws();
        let op = match (self.peek(), self.bytes.get(self.pos + 1).copied()) {
            (Some(b'='), _) => Some((CompareOp::Eq, 1)),
            (Some(b'<'), Some(b'>')) => Some((CompareOp::Ne, 2)),
            (Some(b'<'), Some(b'=')) => Some((CompareOp::Le, 2)),
            (Some(b'<'), _) => Some((CompareOp::Lt, 1)),
            (Some(b'>'), Some(b'=')) => Some((CompareOp::Ge, 2)),
            (Some(b'>'), _) => Some((CompareOp::Gt, 1)),
            _ => None,
        };
        let Some((op, len)) = op else { return Ok(left) };
        let op_span = Span::new(self.pos, self.pos + len);
        self.pos += len;
        self.skip_ws();
        if self.at_arg_end() {
            return Err(self.err(op_span, format!("'{}' needs a value on its right", op.symbol())));
        }
        let right = self.operand()?;
        let span = left.span.to(right.span);
        let e = Expr { kind: ExprKind::Compare { op, left: Box::new(left), right: Box::new(right) }, span };
        self.skip_ws();
        if matches!(self.peek(), Some(b'=' | b'<' | b'>')) {
            return Err(
                self.err(Span::new(self.pos, self.pos + 1), "only one comparison is allowed here; nest IIF calls to combine conditions")
            );
        }
        Ok(e)
    }

    fn at_arg_end(&self) -> bool {
        matches!(self.peek(), None | Some(b',') | Some(b')'))
    }

    fn operand(&mut self) -> Result<Expr, ExprError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None => Err(self.err(Span::new(start, start), "the expression ends where a value was expected")),
            Some(b'[') => self.attribute(),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9' | b'&') => self.integer(),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => self.call(),
            Some(b'\'') | Some(0xE2) if self.is_smart_or_single_quote() => {
                let c = self.peek_char();
                Err(self.err(
                    Span::new(start, start + c.len_utf8()),
                    format!("strings are written in straight double quotes (\"…\"), not {c}…{c}"),
                ))
            }
            Some(_) => {
                let c = self.peek_char();
                Err(self.err(
                    Span::new(start, start + c.len_utf8()),
                    format!("unexpected '{c}': expected a function, an [attribute], a \"string\" or a number"),
                ))
            }
        }
    }

    fn is_smart_or_single_quote(&self) -> bool {
        matches!(self.peek_char(), '\'' | '\u{201C}' | '\u{201D}' | '\u{2018}' | '\u{2019}')
    }

    fn attribute(&mut self) -> Result<Expr, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let name_start = self.pos;
        while let Some(b) = self.peek() {
            match b {
                b']' => break,
                b'[' | b'\n' | b'"' | b'(' | b')' | b',' => {
                    return Err(self.err(Span::new(start, self.pos), "this attribute name has no closing ']'".to_string()));
                }
                _ => self.pos += 1,
            }
        }
        if self.peek().is_none() {
            return Err(self.err(Span::new(start, self.pos), "this attribute name has no closing ']'"));
        }
        let name = self.text[name_start..self.pos].trim();
        self.pos += 1;
        let span = Span::new(start, self.pos);
        if name.is_empty() {
            return Err(self.err(span, "an attribute name is missing between '[' and ']'"));
        }
        Ok(Expr { kind: ExprKind::Attr(name.to_string()), span })
    }

    fn string(&mut self) -> Result<Expr, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => {
                    return Err(self.err(Span::new(start, self.pos), "this string has no closing '\"'"));
                }
                Some(b'"') => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.pos]);
                    match self.bytes.get(self.pos + 1) {
                        Some(b'"') | Some(b'\\') => {
                            out.push(self.bytes[self.pos + 1] as char);
                            self.pos += 2;
                        }
                        // Entra passes any other backslash through, so regex patterns such as
                        // "\d+" work as admins write them.
                        _ => {
                            out.push('\\');
                            self.pos += 1;
                        }
                    }
                    run = self.pos;
                }
                Some(_) => self.pos += self.peek_char().len_utf8(),
            }
        }
        Ok(Expr { kind: ExprKind::Str(out), span: Span::new(start, self.pos) })
    }

    fn integer(&mut self) -> Result<Expr, ExprError> {
        let start = self.pos;
        let (digits_start, radix) = if self.peek() == Some(b'&') {
            if !matches!(self.bytes.get(self.pos + 1), Some(b'H' | b'h')) {
                return Err(self.err(
                    Span::new(start, start + 1),
                    "unexpected '&': hexadecimal numbers are written &H followed by digits, as in &HF7",
                ));
            }
            self.pos += 2;
            (self.pos, 16)
        } else {
            if self.peek() == Some(b'-') {
                self.pos += 1;
            }
            (start, 10)
        };
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let span = Span::new(start, self.pos);
        let lit = &self.text[digits_start..self.pos];
        let parsed = i64::from_str_radix(lit, radix);
        match parsed {
            Ok(v) if !lit.is_empty() && !lit.starts_with('+') => Ok(Expr { kind: ExprKind::Int(v), span }),
            _ => {
                let written = &self.text[start..self.pos];
                let why = if written == "-" {
                    "'-' must be followed by digits".to_string()
                } else if lit.contains('.') {
                    format!("'{written}' is not a whole number; only integers are supported")
                } else if lit.bytes().all(|b| b.is_ascii_hexdigit()) && !lit.is_empty() {
                    format!("'{written}' is too large for a 64-bit integer")
                } else {
                    format!("'{written}' is not a number")
                };
                Err(self.err(span, why))
            }
        }
    }

    fn call(&mut self) -> Result<Expr, ExprError> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let name_span = Span::new(start, self.pos);
        let name = self.text[start..self.pos].to_string();
        self.skip_ws();
        if self.peek() != Some(b'(') && (name == "vbBinaryCompare" || name == "vbTextCompare") {
            // Entra's InStr example passes VB's compare constants bare: InStr([x], "a", , vbBinaryCompare).
            // They read as the strings InStr accepts.
            return Ok(Expr { kind: ExprKind::Str(name), span: name_span });
        }
        if self.peek() != Some(b'(') {
            let lower = name.to_ascii_lowercase();
            let msg = if lower == "true" || lower == "false" {
                format!("{name} is written as a string: \"{}\"", if lower == "true" { "True" } else { "False" })
            } else if lower == "and" || lower == "or" {
                format!("there is no {name} operator; nest IIF calls to combine conditions")
            } else {
                format!("'{name}' is not a value: attributes are written [{name}], strings \"{name}\", functions {name}(…)")
            };
            return Err(self.err(name_span, msg));
        }
        let open = self.pos;
        self.pos += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(name_span, format!("functions nest more than {MAX_DEPTH} deep here")));
        }
        let mut args: Vec<Option<Expr>> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                if matches!(self.peek(), Some(b',') | Some(b')')) {
                    args.push(None);
                } else if self.peek().is_none() {
                    return Err(self.err(Span::new(open, open + 1), format!("the '(' of {name} is never closed")));
                } else {
                    args.push(Some(self.expr()?));
                }
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    None => {
                        return Err(self.err(Span::new(open, open + 1), format!("the '(' of {name} is never closed")));
                    }
                    Some(_) => {
                        let found = self.token_text(self.pos);
                        return Err(
                            self.err(self.token_span(self.pos), format!("expected ',' or ')' in the arguments of {name}, found {found}"))
                        );
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(Expr { kind: ExprKind::Call { name, name_span, args }, span: Span::new(start, self.pos) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(e: &Expr) -> (&str, &[Option<Expr>]) {
        match &e.kind {
            ExprKind::Call { name, args, .. } => (name, args),
            k => panic!("not a call: {k:?}"),
        }
    }

    #[test]
    fn parses_nested_calls_attributes_strings_and_numbers() {
        let e = parse(r#"Join(".", ToLower([givenName]), Left([surname], 3), &HF7, -1)"#).unwrap();
        let (name, args) = call(&e);
        assert_eq!(name, "Join");
        assert_eq!(args.len(), 5);
        assert_eq!(args[0].as_ref().unwrap().kind, ExprKind::Str(".".into()));
        assert_eq!(call(args[1].as_ref().unwrap()).0, "ToLower");
        assert_eq!(args[3].as_ref().unwrap().kind, ExprKind::Int(0xF7));
        assert_eq!(args[4].as_ref().unwrap().kind, ExprKind::Int(-1));
    }

    #[test]
    fn empty_positional_arguments_are_kept() {
        let e = parse(r#"Replace([x], , "re", , "", , )"#).unwrap();
        let (_, args) = call(&e);
        let present: Vec<bool> = args.iter().map(Option::is_some).collect();
        assert_eq!(present, [true, false, true, false, true, false, false]);
        let now = parse("Now()").unwrap();
        assert!(call(&now).1.is_empty());
    }

    #[test]
    fn string_escapes_follow_entra() {
        let e = parse(r#""Company name: \"Contoso\" \\ \d""#).unwrap();
        assert_eq!(e.kind, ExprKind::Str(r#"Company name: "Contoso" \ \d"#.into()));
    }

    #[test]
    fn comparisons_parse_inside_iif() {
        let e = parse(r#"IIF([country]="USA",[country],[department])"#).unwrap();
        let (_, args) = call(&e);
        assert!(matches!(args[0].as_ref().unwrap().kind, ExprKind::Compare { op: CompareOp::Eq, .. }));
        let e = parse(r#"IIF(DateDiff("d", Now(), CDate([h])) >= 5, "a", "b")"#).unwrap();
        assert!(matches!(call(&e).1[0].as_ref().unwrap().kind, ExprKind::Compare { op: CompareOp::Ge, .. }));
    }

    #[test]
    fn multi_line_text_from_the_docs_parses() {
        let t = "Switch([Active], , \n  \"1\", IIF(DateDiff(\"d\", Now(), CDate([StatusHireDate])) > 5, \"False\", \"True\"), \n  \"0\", \"False\")";
        let e = parse(t).unwrap();
        assert_eq!(call(&e).1.len(), 6);
    }

    #[test]
    fn errors_name_line_column_and_problem() {
        let e = parse("Join(\" \",\n  [givenName] [surname])").unwrap_err();
        assert_eq!((e.line, e.column), (2, 15));
        assert_eq!(e.message, "expected ',' or ')' in the arguments of Join, found [surname]");
        assert_eq!(e.span, Span::new(24, 33), "the whole attribute is marked");
        let e = parse("ToLower([a]) \"rest\" x").unwrap_err();
        assert_eq!(e.message, "unexpected \"rest\" after the end of the expression");
        assert_eq!(e.span, Span::new(13, 19));

        let e = parse("ToLower([mail]").unwrap_err();
        assert!(e.message.contains("never closed"), "{}", e.message);
        assert_eq!((e.line, e.column), (1, 8));

        assert!(parse("\"abc").unwrap_err().message.contains("no closing '\"'"));
        assert!(parse("[abc").unwrap_err().message.contains("no closing ']'"));
        assert!(parse("[ ]").unwrap_err().message.contains("missing"));
        assert!(parse("").unwrap_err().message.contains("empty"));
        assert!(parse("ToLower(mail)").unwrap_err().message.contains("[mail]"));
        assert!(parse("1.5").unwrap_err().message.contains("whole number"));
        assert!(parse("&G1").unwrap_err().message.contains("hexadecimal"));
        assert!(parse("99999999999999999999").unwrap_err().message.contains("too large"));
        assert!(parse("[a] = [b] = [c]").unwrap_err().message.contains("only one comparison"));
        assert!(parse("IIF([a]=, 1, 2)").unwrap_err().message.contains("needs a value"));
        assert!(parse("ToLower([a]))").unwrap_err().message.contains("no '('"));
        assert!(parse("'x'").unwrap_err().message.contains("double quotes"));
        assert!(parse("IIF(True, 1, 2)").unwrap_err().message.contains("\"True\""));
        let e = parse("InStr([x], \"a\", , vbTextCompare)").unwrap();
        assert_eq!(call(&e).1[3].as_ref().unwrap().kind, ExprKind::Str("vbTextCompare".into()));
    }

    #[test]
    fn length_and_depth_are_bounded() {
        let long = format!("\"{}\"", "a".repeat(MAX_CHARS));
        assert!(parse(&long).unwrap_err().message.contains("limit is 10000"));
        let deep = format!("{}[x]{}", "ToLower(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).unwrap_err().message.contains("nest more than"));
        let ok = format!("{}[x]{}", "ToLower(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }
}
