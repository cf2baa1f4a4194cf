//! A small builder for SQL with positional `$n` arguments, and the keyset cursor encoding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// One argument value (the `Any` driver's types).
#[derive(Clone, Debug)]
pub enum Arg {
    /// Text.
    Text(String),
    /// Nullable text.
    OptText(Option<String>),
    /// Integer.
    Int(i64),
    /// Boolean.
    Bool(bool),
}

/// SQL text plus its arguments, numbered as they are pushed.
#[derive(Default, Debug)]
pub struct Sql {
    /// The statement so far.
    pub text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// Starts a statement.
    pub fn new(text: &str) -> Self {
        Self { text: text.to_string(), args: Vec::new() }
    }

    /// Appends raw SQL.
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Adds an argument and returns its placeholder (`$n`).
    pub fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// The sqlx query with every argument bound.
    pub fn build(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::OptText(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
                Arg::Bool(b) => q.bind(*b),
            };
        }
        q
    }
}

/// Encodes a keyset cursor (the sort key and id of the last row on a page).
pub fn encode_cursor(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(parts).unwrap_or_default())
}

/// Decodes a cursor made by [`encode_cursor`] with `n` parts.
pub fn decode_cursor(s: &str, n: usize) -> Option<Vec<String>> {
    let bytes = URL_SAFE_NO_PAD.decode(s.as_bytes()).ok()?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).ok()?;
    (parts.len() == n).then_some(parts)
}

/// The exclusive upper bound of all strings that start with `prefix` (for index range scans).
pub fn prefix_end(prefix: &str) -> String {
    let mut s = prefix.to_string();
    s.push(char::MAX);
    s
}

/// `$first,$first+1,…` for an `IN (…)` list of `n` values.
pub(crate) fn in_list(n: usize, first: usize) -> String {
    (0..n).map(|i| format!("${}", first + i)).collect::<Vec<_>>().join(",")
}

/// `sql` for `conn`'s backend: on SQLite every `$n` becomes an anonymous `?`. sqlx binds numbered
/// parameters by name there, and SQLite finds each name by walking a list, so a statement with a
/// 500-value `IN` list cost O(n²) lookups; anonymous ones are bound by position. Only for statements
/// whose parameters appear once each, in ascending order (`… = $1 AND x IN ($2,$3,…)`).
pub(crate) fn positional(conn: &sqlx::AnyConnection, sql: String) -> String {
    if !conn.backend_name().eq_ignore_ascii_case("sqlite") {
        return sql;
    }
    anonymous(&sql)
}

/// The rows of `sql`, a SELECT of two text columns named `k` and `v` (`v` may be NULL) whose
/// parameters appear once each in ascending order, with `args` bound in that order. On SQLite the rows
/// come back as one JSON array (`json_group_array`): sqlx's SQLite driver hands every row from its
/// worker thread to the caller through a channel and wakes the caller for each, which cost more than
/// the lookups themselves for pages of thousands of rows.
pub(crate) async fn text_pairs(conn: &mut sqlx::AnyConnection, sql: &str, args: &[&str]) -> super::Result<Vec<(String, Option<String>)>> {
    use sqlx::Row;
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        let sql = format!("SELECT json_group_array(json_array(k, v)) FROM ({})", anonymous(sql));
        let mut q = sqlx::query_scalar::<_, Option<String>>(&sql);
        for a in args {
            q = q.bind(a.to_string());
        }
        return json_rows(q.fetch_one(&mut *conn).await?.as_deref(), "rows");
    }
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(a.to_string());
    }
    let mut out = Vec::new();
    for r in q.fetch_all(&mut *conn).await? {
        out.push((r.try_get("k")?, r.try_get("v")?));
    }
    Ok(out)
}

/// The rows of a `json_group_array` read on SQLite (its text; `None`, as SQL NULL, when there are
/// none), or a `Corrupt` error naming `what`.
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(text: Option<&str>, what: &str) -> super::Result<Vec<T>> {
    serde_json::from_str(text.unwrap_or("[]")).map_err(|e| super::StoreError::Corrupt(format!("{what} as JSON: {e}")))
}

fn anonymous(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_anonymous() {
        assert_eq!(
            anonymous("SELECT a FROM t WHERE app_id = $1 AND id IN ($2,$3,$10)"),
            "SELECT a FROM t WHERE app_id = ? AND id IN (?,?,?)"
        );
        assert_eq!(anonymous("price > '$' AND $"), "price > '$' AND $");
    }

    #[test]
    fn cursor_round_trip_and_rejects_junk() {
        let c = encode_cursor(&["ada lovelace", "0b1"]);
        assert_eq!(decode_cursor(&c, 2).unwrap(), vec!["ada lovelace", "0b1"]);
        assert!(decode_cursor(&c, 3).is_none());
        assert!(decode_cursor("!!", 2).is_none());
    }

    #[test]
    fn placeholders_are_numbered() {
        let mut q = Sql::new("SELECT 1 WHERE a = ");
        let p1 = q.arg(Arg::Int(1));
        let p2 = q.arg(Arg::Text("x".into()));
        assert_eq!((p1.as_str(), p2.as_str()), ("$1", "$2"));
    }

    #[test]
    fn prefix_end_sorts_after_every_extension() {
        let end = prefix_end("ab");
        assert!("abzzz".as_bytes() < end.as_bytes());
        assert!("ac".as_bytes() > end.as_bytes() || "ac" > end.as_str());
    }
}
