//! .NET date and time text, as Entra's date functions read and write it: custom format strings
//! (`yyyy-MM-dd`, `M/d/yyyy hh:mm:ss tt`, `yyyyMMddHHmmss.fZ`, …) and the one-letter standard ones
//! (`d`, `G`, `o`, `s`, `u`, …), for formatting ([`format`]) and for exact parsing with
//! `DateTimeStyles` ([`parse_exact`], like `DateTime.ParseExact`); the lenient parsing CDate does
//! ([`parse_general`]); and Active Directory's FILETIME numbers ([`from_filetime`], [`to_filetime`]).
//!
//! Follows .NET's `DateTimeFormat` / `DateTimeParse` rules: `M`, `d`, `h`, `H`, `m`, `s` and `y` read one or
//! two digits when written once and exactly as many as written otherwise (`yyyy` = four digits); `f` reads
//! exactly as many fraction digits as written, `F` up to that many (and `.FFF` may be absent altogether);
//! `h` without `tt` means AM; two-digit years fall in 1950–2049; `:` and `/` are the invariant separators;
//! `'…'`, `"…"` and `\x` are literals; `%x` is a one-letter custom format; unquoted `Z` (or `GMT`) in an
//! input format marks UTC. Names (`MMM`, `dddd`, `tt`) are English, as in the invariant and en-US
//! cultures; the standard formats `d D f F g G M t T U Y` use en-US patterns, the culture Entra's own
//! date text (`M/d/yyyy h:mm:ss tt`) comes from.
//!
//! Every date is an instant in UTC. .NET's "local" time is taken to be UTC (Entra's service runs in UTC),
//! so a parsed offset is applied and the result is the same instant .NET would produce; what is kept of
//! .NET's `DateTimeKind` is only what `K` writes ([`Kind`]).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday};
use std::sync::OnceLock;

/// .NET's `DateTimeKind` of a parsed value: only decides what the `K` specifier writes (`Z` for UTC,
/// `+00:00` for local, nothing for unspecified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No time zone was given.
    Unspecified,
    /// Known to be UTC (a `Z`, or `AdjustToUniversal`).
    Utc,
    /// Converted to the (UTC) local time of the service (an offset was given).
    Local,
}

/// A parsed date-time: the instant in UTC and its [`Kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The instant.
    pub utc: DateTime<Utc>,
    /// What `K` writes for it.
    pub kind: Kind,
}

/// .NET's `DateTimeStyles` flags for parsing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Styles {
    /// Whitespace before the text is ignored.
    pub allow_leading_white: bool,
    /// Whitespace after the text is ignored.
    pub allow_trailing_white: bool,
    /// Extra whitespace inside the text is ignored.
    pub allow_inner_white: bool,
    /// A time without a date gets 1/1/0001 instead of today.
    pub no_current_date_default: bool,
    /// The result is UTC (`K` writes `Z`).
    pub adjust_to_universal: bool,
    /// Text without a zone is local time.
    pub assume_local: bool,
    /// Text without a zone is UTC.
    pub assume_universal: bool,
    /// The zone of the text is kept (a `Z` stays UTC).
    pub roundtrip_kind: bool,
}

/// The `DateTimeStyles` names and values, as .NET defines them.
const STYLE_NAMES: &[(&str, u32)] = &[
    ("None", 0),
    ("AllowLeadingWhite", 1),
    ("AllowTrailingWhite", 2),
    ("AllowInnerWhite", 4),
    ("AllowWhiteSpaces", 7),
    ("NoCurrentDateDefault", 8),
    ("AdjustToUniversal", 16),
    ("AssumeLocal", 32),
    ("AssumeUniversal", 64),
    ("RoundtripKind", 128),
];

impl Styles {
    /// What Entra's FormatDateTime uses when dateTimeStyles is left empty (documented: "RoundtripKind,
    /// AllowLeadingWhite, AllowTrailingWhite").
    pub const ENTRA_DEFAULT: Styles = Styles {
        allow_leading_white: true,
        allow_trailing_white: true,
        allow_inner_white: false,
        no_current_date_default: false,
        adjust_to_universal: false,
        assume_local: false,
        assume_universal: false,
        roundtrip_kind: true,
    };

    /// All whitespace allowed, zones kept: how CDate reads text.
    pub const LENIENT: Styles = Styles {
        allow_leading_white: true,
        allow_trailing_white: true,
        allow_inner_white: true,
        no_current_date_default: false,
        adjust_to_universal: false,
        assume_local: false,
        assume_universal: false,
        roundtrip_kind: true,
    };

    /// The flags from their bit values.
    pub fn from_bits(bits: u32) -> Styles {
        Styles {
            allow_leading_white: bits & 1 != 0,
            allow_trailing_white: bits & 2 != 0,
            allow_inner_white: bits & 4 != 0,
            no_current_date_default: bits & 8 != 0,
            adjust_to_universal: bits & 16 != 0,
            assume_local: bits & 32 != 0,
            assume_universal: bits & 64 != 0,
            roundtrip_kind: bits & 128 != 0,
        }
    }

    /// Reads names as .NET's `Enum.Parse` would ("AllowWhiteSpaces, AdjustToUniversal"; any case;
    /// separated by commas, `|`, `+` or spaces; an optional `DateTimeStyles.` prefix; or a number), and
    /// rejects the combinations .NET rejects.
    pub fn parse(text: &str) -> Result<Styles, String> {
        let mut bits = 0u32;
        let mut any = false;
        for part in text.split([',', '|', '+', ' ', '\t']).filter(|p| !p.is_empty()) {
            any = true;
            let name = part.strip_prefix("DateTimeStyles.").unwrap_or(part);
            if let Ok(n) = name.parse::<u32>() {
                if n > 255 {
                    return Err(format!("'{part}' is not a DateTimeStyles value"));
                }
                bits |= n;
                continue;
            }
            match STYLE_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                Some((_, v)) => bits |= v,
                None => {
                    let names: Vec<&str> = STYLE_NAMES.iter().map(|(n, _)| *n).collect();
                    return Err(format!("'{part}' is not a DateTimeStyles value; use {}", names.join(", ")));
                }
            }
        }
        if !any {
            return Ok(Styles::ENTRA_DEFAULT);
        }
        let s = Styles::from_bits(bits);
        if s.assume_local && s.assume_universal {
            return Err("AssumeLocal and AssumeUniversal cannot be combined".to_string());
        }
        if s.roundtrip_kind && (s.adjust_to_universal || s.assume_local || s.assume_universal) {
            return Err("RoundtripKind cannot be combined with AdjustToUniversal, AssumeLocal or AssumeUniversal".to_string());
        }
        Ok(s)
    }
}

const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// 100-nanosecond ticks per second.
const TICKS_PER_SECOND: i128 = 10_000_000;
/// Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const FILETIME_EPOCH_OFFSET: i128 = 11_644_473_600;

/// A piece of a format string.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A specifier letter written `n` times in a row.
    Field(char, usize),
    /// Text written and matched as it is.
    Lit(String),
    /// `:`, the time separator.
    TimeSep,
    /// `/`, the date separator.
    DateSep,
    /// An unquoted space.
    Space,
    /// An unquoted `.` (when parsing, `.` before `F`s may be absent).
    Dot,
    /// Parsing only: an unquoted `Z` or `GMT`, matching `Z` or `GMT` and marking UTC.
    UtcMark,
}

fn is_specifier(c: char) -> bool {
    matches!(c, 'd' | 'M' | 'y' | 'h' | 'H' | 'm' | 's' | 'f' | 'F' | 't' | 'z' | 'K' | 'g')
}

/// The pattern a one-letter standard format stands for (`None` when the letter is not one).
fn standard(c: char, parse: bool) -> Option<&'static str> {
    Some(match c {
        'd' => "M/d/yyyy",
        'D' => "dddd, MMMM d, yyyy",
        'f' => "dddd, MMMM d, yyyy h:mm tt",
        'F' | 'U' => "dddd, MMMM d, yyyy h:mm:ss tt",
        'g' => "M/d/yyyy h:mm tt",
        'G' => "M/d/yyyy h:mm:ss tt",
        'm' | 'M' => "MMMM d",
        'o' | 'O' => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
        'r' | 'R' if parse => "ddd, dd MMM yyyy HH':'mm':'ss GMT",
        'r' | 'R' => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        's' => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        't' => "h:mm tt",
        'T' => "h:mm:ss tt",
        'u' if parse => "yyyy'-'MM'-'dd HH':'mm':'ssZ",
        'u' => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        'y' | 'Y' => "MMMM yyyy",
        _ => return None,
    })
}

/// Splits a format string into pieces (a one-letter format is a standard format, as in .NET).
fn tokenize(fmt: &str, parse: bool) -> Result<Vec<Tok>, String> {
    let mut chars = fmt.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        let pattern = standard(c, parse).ok_or_else(|| {
            format!("'{fmt}' is not a standard date format (a one-letter format must be one of d D f F g G M o R s t T u U Y)")
        })?;
        return tokenize_custom(pattern, parse);
    }
    if fmt.is_empty() {
        return Err("the date format is empty".to_string());
    }
    tokenize_custom(fmt, parse)
}

fn tokenize_custom(fmt: &str, parse: bool) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            'K' => {
                out.push(Tok::Field('K', 1));
                i += 1;
            }
            c if is_specifier(c) => {
                let n = chars[i..].iter().take_while(|&&x| x == c).count();
                if matches!(c, 'f' | 'F') && n > 7 {
                    return Err(format!("'{fmt}' has more than 7 '{c}'s"));
                }
                out.push(Tok::Field(c, n));
                i += n;
            }
            '\'' | '"' => {
                let mut lit = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(format!("'{fmt}' has a {c} without its closing {c}")),
                        Some(&q) if q == c => break,
                        Some('\\') => {
                            let Some(&e) = chars.get(j + 1) else {
                                return Err(format!("'{fmt}' ends with a backslash"));
                            };
                            lit.push(e);
                            j += 2;
                        }
                        Some(&x) => {
                            lit.push(x);
                            j += 1;
                        }
                    }
                }
                out.push(Tok::Lit(lit));
                i = j + 1;
            }
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(format!("'{fmt}' ends with a backslash"));
                };
                out.push(Tok::Lit(e.to_string()));
                i += 2;
            }
            '%' => {
                match chars.get(i + 1) {
                    Some(&n) if n != '%' => {
                        // `%x` is the one-letter custom format x (not the standard one).
                        let mut t = tokenize_custom(&n.to_string(), parse)?;
                        if let Some(Tok::Field(_, k)) = t.first_mut() {
                            *k = 1;
                        }
                        out.extend(t);
                    }
                    _ => return Err(format!("'{fmt}' has a % that is not followed by a format letter")),
                }
                i += 2;
            }
            ':' => {
                out.push(Tok::TimeSep);
                i += 1;
            }
            '/' => {
                out.push(Tok::DateSep);
                i += 1;
            }
            ' ' => {
                out.push(Tok::Space);
                i += 1;
            }
            '.' => {
                out.push(Tok::Dot);
                i += 1;
            }
            'Z' if parse => {
                out.push(Tok::UtcMark);
                i += 1;
            }
            'G' if parse && chars.get(i + 1) == Some(&'M') && chars.get(i + 2) == Some(&'T') => {
                out.push(Tok::UtcMark);
                i += 3;
            }
            other => {
                out.push(Tok::Lit(other.to_string()));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Checks a format string (for save-time rules): `Err` says what is wrong with it.
pub fn validate(fmt: &str) -> Result<(), String> {
    tokenize(fmt, false).map(|_| ())
}

/// Writes `dt` (a UTC instant of `kind`) with a .NET date format string.
pub fn format(dt: &DateTime<Utc>, kind: Kind, fmt: &str) -> Result<String, String> {
    let toks = tokenize(fmt, false)?;
    let n = dt.naive_utc();
    let ticks = n.nanosecond().min(999_999_999) / 100;
    let mut out = String::new();
    for t in toks {
        match t {
            Tok::Field(c, k) => match c {
                'd' => match k {
                    1 => out.push_str(&n.day().to_string()),
                    2 => out.push_str(&format!("{:02}", n.day())),
                    3 => out.push_str(&DAYS[n.weekday().num_days_from_sunday() as usize][..3]),
                    _ => out.push_str(DAYS[n.weekday().num_days_from_sunday() as usize]),
                },
                'M' => match k {
                    1 => out.push_str(&n.month().to_string()),
                    2 => out.push_str(&format!("{:02}", n.month())),
                    3 => out.push_str(&MONTHS[n.month0() as usize][..3]),
                    _ => out.push_str(MONTHS[n.month0() as usize]),
                },
                'y' => match k {
                    1 => out.push_str(&(n.year() % 100).to_string()),
                    2 => out.push_str(&format!("{:02}", n.year() % 100)),
                    _ => out.push_str(&format!("{:0k$}", n.year())),
                },
                'h' => {
                    let h = match n.hour() % 12 {
                        0 => 12,
                        h => h,
                    };
                    push_digits(&mut out, h, k);
                }
                'H' => push_digits(&mut out, n.hour(), k),
                'm' => push_digits(&mut out, n.minute(), k),
                's' => push_digits(&mut out, n.second(), k),
                'f' => out.push_str(&format!("{:0k$}", ticks / 10u32.pow(7 - k as u32))),
                'F' => {
                    let digits = format!("{:0k$}", ticks / 10u32.pow(7 - k as u32));
                    let trimmed = digits.trim_end_matches('0');
                    if trimmed.is_empty() {
                        // As .NET: a zero fraction writes nothing and takes the '.' before it away.
                        if out.ends_with('.') {
                            out.pop();
                        }
                    } else {
                        out.push_str(trimmed);
                    }
                }
                't' => {
                    let pm = n.hour() >= 12;
                    out.push_str(match (k, pm) {
                        (1, false) => "A",
                        (1, true) => "P",
                        (_, false) => "AM",
                        (_, true) => "PM",
                    });
                }
                // The offset of a UTC instant (and of the service's UTC local time) is zero.
                'z' => out.push_str(match k {
                    1 => "+0",
                    2 => "+00",
                    _ => "+00:00",
                }),
                'K' => out.push_str(match kind {
                    Kind::Utc => "Z",
                    Kind::Local => "+00:00",
                    Kind::Unspecified => "",
                }),
                'g' => out.push_str("A.D."),
                other => out.push(other),
            },
            Tok::Lit(s) => out.push_str(&s),
            Tok::TimeSep => out.push(':'),
            Tok::DateSep => out.push('/'),
            Tok::Space => out.push(' '),
            Tok::Dot => out.push('.'),
            Tok::UtcMark => out.push('Z'),
        }
    }
    Ok(out)
}

/// `value` with at least one digit (`k` = 1) or two (`k` ≥ 2), as .NET writes h, H, m and s.
fn push_digits(out: &mut String, value: u32, k: usize) {
    if k == 1 {
        out.push_str(&value.to_string());
    } else {
        out.push_str(&format!("{value:02}"));
    }
}

/// What parsing has found so far.
#[derive(Default)]
struct Found {
    year: Option<i64>,
    two_digit_year: bool,
    month: Option<u32>,
    day: Option<u32>,
    weekday: Option<Weekday>,
    hour: Option<u32>,
    hour12: bool,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    ticks: Option<u32>,
    offset_minutes: Option<i64>,
    utc_mark: bool,
}

/// Sets a field once; a second, different value fails (as .NET's `CheckNewValue`).
fn set<T: PartialEq + Copy>(slot: &mut Option<T>, v: T) -> Option<()> {
    match slot {
        Some(old) if *old != v => None,
        _ => {
            *slot = Some(v);
            Some(())
        }
    }
}

/// A cursor over the input text.
struct Input {
    chars: Vec<char>,
    pos: usize,
}

impl Input {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_white(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Between `min` and `max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u64> {
        let mut v: u64 = 0;
        let mut n = 0;
        while n < max {
            match self.peek().and_then(|c| c.to_digit(10).filter(|_| c.is_ascii_digit())) {
                Some(d) => {
                    v = v.checked_mul(10)?.checked_add(u64::from(d))?;
                    self.pos += 1;
                    n += 1;
                }
                None => break,
            }
        }
        (n >= min).then_some(v)
    }

    /// The word among `words` (case-insensitive) that the input continues with, longest first; its
    /// index.
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (i, w) in words.iter().enumerate() {
            let wl: Vec<char> = w.chars().collect();
            let end = self.pos + wl.len();
            if end <= self.chars.len()
                && self.chars[self.pos..end].iter().zip(&wl).all(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
                && best.is_none_or(|(_, l)| wl.len() > l)
            {
                best = Some((i, wl.len()));
            }
        }
        let (i, l) = best?;
        self.pos += l;
        Some(i)
    }

    /// A `+hh:mm`-style offset in minutes: a sign, then one or two hour digits (`zz`: exactly two), then
    /// (`with_minutes`) an optional `:` and two minute digits, required unless `minutes_optional`.
    fn offset(&mut self, exact_two: bool, with_minutes: bool, minutes_optional: bool) -> Option<i64> {
        let sign = match self.peek()? {
            '+' => 1,
            '-' => -1,
            _ => return None,
        };
        self.pos += 1;
        let h = if exact_two { self.digits(2, 2)? } else { self.digits(1, 2)? };
        let mut m = 0;
        if with_minutes {
            let colon = self.eat(':');
            match self.digits(2, 2) {
                Some(v) => m = v,
                None if minutes_optional && !colon => {}
                None => return None,
            }
        }
        if h > 14 || m > 59 || h * 60 + m > 14 * 60 {
            return None;
        }
        Some(sign * (h * 60 + m) as i64)
    }
}

fn weekday_from_sunday(i: usize) -> Weekday {
    [Weekday::Sun, Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat][i % 7]
}

/// Matches `toks` against the input; `None` when it does not match.
fn match_tokens(toks: &[Tok], inp: &mut Input, styles: Styles, f: &mut Found) -> Option<()> {
    let mut i = 0;
    while i < toks.len() {
        let tok = &toks[i];
        if styles.allow_inner_white && *tok != Tok::Space {
            inp.skip_white();
        }
        match tok {
            Tok::Field(c, k) => {
                let k = *k;
                match c {
                    'y' => {
                        let v = if k == 1 { inp.digits(1, 2)? } else { inp.digits(k, k)? };
                        f.two_digit_year = k <= 2;
                        set(&mut f.year, v as i64)?;
                    }
                    'M' => {
                        let v = match k {
                            1 => inp.digits(1, 2)? as u32,
                            2 => inp.digits(2, 2)? as u32,
                            3 => {
                                let abbr: Vec<&str> = MONTHS.iter().map(|m| &m[..3]).collect();
                                inp.word(&abbr)? as u32 + 1
                            }
                            _ => inp.word(&MONTHS)? as u32 + 1,
                        };
                        if !(1..=12).contains(&v) {
                            return None;
                        }
                        set(&mut f.month, v)?;
                    }
                    'd' => match k {
                        1 | 2 => {
                            let v = if k == 1 { inp.digits(1, 2)? } else { inp.digits(2, 2)? } as u32;
                            if !(1..=31).contains(&v) {
                                return None;
                            }
                            set(&mut f.day, v)?;
                        }
                        3 => {
                            let abbr: Vec<&str> = DAYS.iter().map(|d| &d[..3]).collect();
                            let w = weekday_from_sunday(inp.word(&abbr)?);
                            set(&mut f.weekday, w)?;
                        }
                        _ => {
                            let w = weekday_from_sunday(inp.word(&DAYS)?);
                            set(&mut f.weekday, w)?;
                        }
                    },
                    'h' | 'H' | 'm' | 's' => {
                        let v = if k == 1 { inp.digits(1, 2)? } else { inp.digits(2, 2)? } as u32;
                        match c {
                            'h' => {
                                f.hour12 = true;
                                set(&mut f.hour, v)?;
                            }
                            'H' => set(&mut f.hour, v)?,
                            'm' => set(&mut f.minute, v)?,
                            _ => set(&mut f.second, v)?,
                        }
                    }
                    'f' | 'F' => {
                        let start = inp.pos;
                        let v = inp.digits(if *c == 'f' { k } else { 0 }, k)?;
                        let read = (inp.pos - start) as u32;
                        let ticks = if read == 0 { 0 } else { v as u32 * 10u32.pow(7 - read) };
                        set(&mut f.ticks, ticks)?;
                    }
                    't' => {
                        let pm = if k == 1 { inp.word(&["A", "P"])? == 1 } else { inp.word(&["AM", "PM"])? == 1 };
                        set(&mut f.pm, pm)?;
                    }
                    'z' => {
                        let o = match k {
                            1 => inp.offset(false, false, false)?,
                            2 => inp.offset(true, false, false)?,
                            _ => inp.offset(false, true, false)?,
                        };
                        set(&mut f.offset_minutes, o)?;
                    }
                    'K' => {
                        if inp.eat('Z') {
                            f.utc_mark = true;
                            set(&mut f.offset_minutes, 0)?;
                        } else if matches!(inp.peek(), Some('+' | '-')) {
                            let o = inp.offset(false, true, true)?;
                            set(&mut f.offset_minutes, o)?;
                        }
                    }
                    'g' => {
                        inp.word(&["A.D.", "AD"])?;
                    }
                    _ => return None,
                }
            }
            Tok::Lit(s) => {
                for ch in s.chars() {
                    if ch == ' ' && styles.allow_inner_white {
                        inp.skip_white();
                    } else if !inp.eat(ch) {
                        return None;
                    }
                }
            }
            Tok::TimeSep => {
                if !inp.eat(':') {
                    return None;
                }
            }
            Tok::DateSep => {
                if !inp.eat('/') {
                    return None;
                }
            }
            Tok::Space => {
                if styles.allow_inner_white {
                    inp.skip_white();
                } else if !inp.peek().is_some_and(char::is_whitespace) {
                    // As .NET: with trailing whitespace allowed (and trimmed), a space before nothing is
                    // let go.
                    if !(styles.allow_trailing_white && inp.peek().is_none()) {
                        return None;
                    }
                } else {
                    inp.pos += 1;
                }
            }
            Tok::Dot => {
                if !inp.eat('.') {
                    // As .NET: ".FFF" matches nothing when the text has no fraction.
                    match toks.get(i + 1) {
                        Some(Tok::Field('F', _)) => i += 1,
                        _ => return None,
                    }
                }
            }
            Tok::UtcMark => {
                if !inp.eat('Z') && inp.word(&["GMT"]).is_none() {
                    return None;
                }
                f.utc_mark = true;
                set(&mut f.offset_minutes, 0)?;
            }
        }
        i += 1;
    }
    Some(())
}

/// Reads `text` with the .NET format `fmt` as `DateTime.ParseExact(text, fmt, InvariantCulture, styles)`
/// does. `today` fills in a date the format does not have. The error names the text and the format.
pub fn parse_exact(text: &str, fmt: &str, styles: Styles, today: NaiveDate) -> Result<Parsed, String> {
    let toks = tokenize(fmt, true).map_err(|e| format!("the input format is not valid: {e}"))?;
    let no_match = || format!("'{text}' does not match the format '{fmt}'");
    parse_tokens(text, &toks, styles, today).ok_or_else(no_match)
}

fn parse_tokens(text: &str, toks: &[Tok], styles: Styles, today: NaiveDate) -> Option<Parsed> {
    let mut chars: Vec<char> = text.chars().collect();
    if styles.allow_trailing_white {
        while chars.last().is_some_and(|c| c.is_whitespace()) {
            chars.pop();
        }
    }
    let mut inp = Input { chars, pos: 0 };
    if styles.allow_leading_white {
        inp.skip_white();
    }
    let mut f = Found::default();
    match_tokens(toks, &mut inp, styles, &mut f)?;
    if inp.pos != inp.chars.len() {
        return None;
    }
    assemble(f, styles, today)
}

/// Turns what was found into an instant, filling in defaults as .NET does.
fn assemble(f: Found, styles: Styles, today: NaiveDate) -> Option<Parsed> {
    let mut year = f.year;
    if let Some(y) = year.filter(|_| f.two_digit_year) {
        if y < 100 {
            // Two-digit years fall in 1950–2049 (the Gregorian calendar's TwoDigitYearMax of 2049).
            year = Some(if y <= 49 { 2000 + y } else { 1900 + y });
        }
    }
    let (y, m, d) = match (year, f.month, f.day) {
        (None, None, None) if styles.no_current_date_default => (1, 1, 1),
        (None, None, None) => (i64::from(today.year()), today.month(), today.day()),
        (Some(y), None, None) => (y, 1, 1),
        (y, m, d) => (y.unwrap_or(i64::from(today.year())), m.unwrap_or(1), d.unwrap_or(1)),
    };
    if !(1..=9999).contains(&y) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y as i32, m, d)?;
    if f.weekday.is_some_and(|w| w != date.weekday()) {
        return None;
    }
    let mut hour = f.hour.unwrap_or(0);
    if f.hour12 {
        if hour > 12 {
            return None;
        }
        hour = match (f.pm.unwrap_or(false), hour) {
            (false, 12) => 0,
            (false, h) => h,
            (true, 12) => 12,
            (true, h) => h + 12,
        };
    } else if let Some(pm) = f.pm {
        if (pm && hour < 12) || (!pm && hour >= 12) {
            return None;
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, f.minute.unwrap_or(0), f.second.unwrap_or(0), f.ticks.unwrap_or(0) * 100)?;
    let local = NaiveDateTime::new(date, time);
    let (utc, kind) = match f.offset_minutes {
        Some(o) => {
            let kind = if styles.adjust_to_universal || (styles.roundtrip_kind && f.utc_mark) { Kind::Utc } else { Kind::Local };
            (local.checked_sub_signed(Duration::minutes(o))?, kind)
        }
        None => {
            let kind = if styles.adjust_to_universal {
                Kind::Utc
            } else if styles.assume_local || styles.assume_universal {
                Kind::Local
            } else {
                Kind::Unspecified
            };
            (local, kind)
        }
    };
    if !(1..=9999).contains(&utc.year()) {
        return None;
    }
    Some(Parsed { utc: utc.and_utc(), kind })
}

/// The forms CDate (and the other functions taking a date as text) accept, tried in order with all
/// whitespace allowed: ISO 8601 with or without a time, fraction and zone (`2009-06-15T01:45:30-07:00`,
/// `2021-08-24`, a date with just a zone as Workday sends it: `2012-03-16-07:00`), `yyyy/M/d`, en-US
/// `M/d/yyyy h:mm:ss tt` (Entra's own date text), `M-d-yyyy`, RFC 1123, and English month names. `K`
/// takes `Z`, `±hh:mm`, `±hhmm`, `±hh` or nothing.
const GENERAL_FORMATS: &[&str] = &[
    "yyyy-M-d'T'H:m:s.FFFFFFFK",
    "yyyy-M-d'T'H:mK",
    "yyyy-M-d H:m:s.FFFFFFFK",
    "yyyy-M-d H:mK",
    "yyyy-M-d h:m:s.FFFFFFF ttK",
    "yyyy-M-d h:m ttK",
    "yyyy-M-dK",
    "yyyy/M/d'T'H:m:s.FFFFFFFK",
    "yyyy/M/d H:m:s.FFFFFFFK",
    "yyyy/M/d H:mK",
    "yyyy/M/d h:m:s.FFFFFFF ttK",
    "yyyy/M/dK",
    "M/d/yyyy h:m:s.FFFFFFF ttK",
    "M/d/yyyy h:m ttK",
    "M/d/yyyy H:m:s.FFFFFFFK",
    "M/d/yyyy H:mK",
    "M/d/yyyyK",
    "M-d-yyyy h:m:s.FFFFFFF ttK",
    "M-d-yyyy H:m:s.FFFFFFFK",
    "M-d-yyyyK",
    "ddd, d MMM yyyy H:m:s Z",
    "ddd, d MMM yyyy H:m:sK",
    "d MMM yyyy H:m:sK",
    "d MMMM yyyy H:m:sK",
    "d MMM yyyyK",
    "d MMMM yyyyK",
    "MMMM d, yyyy h:m:s ttK",
    "MMM d, yyyy h:m:s ttK",
    "MMMM d, yyyy H:m:sK",
    "MMMM d, yyyy",
    "MMM d, yyyy",
    "dddd, MMMM d, yyyy h:m:s tt",
    "dddd, MMMM d, yyyy",
];

/// Reads a date the way CDate does: any of the usual forms (ISO 8601 with or without time, fraction
/// and zone; a date with an offset as `2012-03-16-07:00`; `M/d/yyyy h:mm:ss tt`; RFC 1123; English
/// month names), converted to UTC; text without a zone is UTC. `None` when it is not a date.
pub fn parse_general(text: &str) -> Option<DateTime<Utc>> {
    static FORMATS: OnceLock<Vec<Vec<Tok>>> = OnceLock::new();
    let formats = FORMATS.get_or_init(|| GENERAL_FORMATS.iter().filter_map(|f| tokenize(f, true).ok()).collect());
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    // Every general format has a full date, so the default date is never used.
    let unused = NaiveDate::from_ymd_opt(2000, 1, 1)?;
    formats.iter().find_map(|toks| parse_tokens(text, toks, Styles::LENIENT, unused).map(|p| p.utc))
}

/// The instant an Active Directory date number stands for (a FILETIME: 100-nanosecond ticks since
/// 1601-01-01 UTC), as .NET's `DateTime.FromFileTimeUtc`; `None` when it is negative or past the year
/// 9999 (such as `accountExpires`' "never", 9223372036854775807).
pub fn from_filetime(ticks: i64) -> Option<DateTime<Utc>> {
    if ticks < 0 {
        return None;
    }
    let t = i128::from(ticks);
    let secs = t / TICKS_PER_SECOND - FILETIME_EPOCH_OFFSET;
    let nanos = (t % TICKS_PER_SECOND) * 100;
    let dt = DateTime::<Utc>::from_timestamp(i64::try_from(secs).ok()?, u32::try_from(nanos).ok()?)?;
    (dt.year() <= 9999).then_some(dt)
}

/// The Active Directory date number (FILETIME ticks) of an instant, as .NET's `DateTime.ToFileTimeUtc`;
/// `None` before 1601 or after 9999.
pub fn to_filetime(dt: &DateTime<Utc>) -> Option<i64> {
    if dt.year() > 9999 {
        return None;
    }
    let secs = i128::from(dt.timestamp()) + FILETIME_EPOCH_OFFSET;
    let ticks = secs * TICKS_PER_SECOND + i128::from(dt.timestamp_subsec_nanos().min(999_999_999) / 100);
    if ticks < 0 {
        return None;
    }
    i64::try_from(ticks).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2021, 8, 25).unwrap()
    }

    fn fmt(dt: DateTime<Utc>, f: &str) -> String {
        format(&dt, Kind::Utc, f).unwrap()
    }

    fn px(text: &str, f: &str) -> Result<Parsed, String> {
        parse_exact(text, f, Styles::ENTRA_DEFAULT, today())
    }

    #[test]
    fn formats_every_custom_specifier() {
        let d = at(2021, 8, 5, 17, 4, 9) + Duration::nanoseconds(123_456_700);
        assert_eq!(fmt(d, "yyyy-MM-dd HH:mm:ss"), "2021-08-05 17:04:09");
        assert_eq!(fmt(d, "y yy yyy yyyyy"), "21 21 2021 02021");
        assert_eq!(fmt(d, "M MM MMM MMMM"), "8 08 Aug August");
        assert_eq!(fmt(d, "d dd ddd dddd"), "5 05 Thu Thursday");
        assert_eq!(fmt(d, "h hh H HH hhh"), "5 05 17 17 05");
        assert_eq!(fmt(d, "m mm s ss"), "4 04 9 09");
        assert_eq!(fmt(d, "f ff fff ffff fffff ffffff fffffff"), "1 12 123 1234 12345 123456 1234567");
        assert_eq!(fmt(d, "F FF FFF FFFF FFFFFFF"), "1 12 123 1234 1234567");
        assert_eq!(fmt(d, "t tt"), "P PM");
        assert_eq!(fmt(d, "z zz zzz K g"), "+0 +00 +00:00 Z A.D.");
        assert_eq!(fmt(at(2021, 8, 5, 0, 30, 0), "h:mm tt"), "12:30 AM");
        assert_eq!(fmt(at(2021, 8, 5, 12, 30, 0), "h:mm t"), "12:30 P");
        assert_eq!(fmt(at(9, 1, 2, 0, 0, 0), "yyyy y yy"), "0009 9 09");
    }

    #[test]
    fn formats_literals_and_separators() {
        let d = at(2021, 8, 25, 17, 41, 18);
        assert_eq!(fmt(d, "yyyy'-'MM'-'dd'T'HH':'mm':'ss"), "2021-08-25T17:41:18");
        assert_eq!(fmt(d, "\"Date:\" d/M/yyyy"), "Date: 25/8/2021");
        assert_eq!(fmt(d, r"\d\a\y d"), "day 25");
        assert_eq!(fmt(d, "'it''s'"), "its");
        assert_eq!(fmt(d, r"'a\'b'"), "a'b");
        assert_eq!(fmt(d, "%d"), "25");
        assert_eq!(fmt(d, "%M%d"), "825");
        assert_eq!(fmt(d, "yyyyMMddHHmmss.fZ"), "20210825174118.0Z");
        // A zero fraction with F removes the dot before it.
        assert_eq!(fmt(d, "HH:mm:ss.FFF"), "17:41:18");
        assert_eq!(fmt(d + Duration::milliseconds(500), "HH:mm:ss.FFF"), "17:41:18.5");
        // Letters that are not specifiers are written as they are.
        assert_eq!(fmt(d, "yyyy-MM-ddTHH:mm"), "2021-08-25T17:41");
        assert_eq!(fmt(d, "[yyyy] #"), "[2021] #");
    }

    #[test]
    fn formats_the_kinds() {
        let d = at(2021, 8, 25, 17, 41, 18);
        assert_eq!(format(&d, Kind::Utc, "HH:mmK").unwrap(), "17:41Z");
        assert_eq!(format(&d, Kind::Local, "HH:mmK").unwrap(), "17:41+00:00");
        assert_eq!(format(&d, Kind::Unspecified, "HH:mmK").unwrap(), "17:41");
    }

    #[test]
    fn standard_formats() {
        let d = at(2021, 8, 25, 17, 41, 18);
        assert_eq!(fmt(d, "d"), "8/25/2021");
        assert_eq!(fmt(d, "D"), "Wednesday, August 25, 2021");
        assert_eq!(fmt(d, "f"), "Wednesday, August 25, 2021 5:41 PM");
        assert_eq!(fmt(d, "F"), "Wednesday, August 25, 2021 5:41:18 PM");
        assert_eq!(fmt(d, "g"), "8/25/2021 5:41 PM");
        assert_eq!(fmt(d, "G"), "8/25/2021 5:41:18 PM");
        assert_eq!(fmt(d, "M"), "August 25");
        assert_eq!(fmt(d, "o"), "2021-08-25T17:41:18.0000000Z");
        assert_eq!(fmt(d, "R"), "Wed, 25 Aug 2021 17:41:18 GMT");
        assert_eq!(fmt(d, "s"), "2021-08-25T17:41:18");
        assert_eq!(fmt(d, "t"), "5:41 PM");
        assert_eq!(fmt(d, "T"), "5:41:18 PM");
        assert_eq!(fmt(d, "u"), "2021-08-25 17:41:18Z");
        assert_eq!(fmt(d, "Y"), "August 2021");
        assert!(format(&d, Kind::Utc, "x").unwrap_err().contains("standard date format"));
    }

    #[test]
    fn bad_formats_are_reported() {
        assert!(validate("yyyy-MM-dd").is_ok());
        assert!(validate("'abc").unwrap_err().contains("closing"));
        assert!(validate("yyyy\\").unwrap_err().contains("backslash"));
        assert!(validate("ffffffff").unwrap_err().contains("more than 7"));
        assert!(validate("%").is_err());
        assert!(validate("%%").is_err());
        assert!(validate("").is_err());
        assert!(validate("q").is_err());
    }

    #[test]
    fn parses_the_documented_examples() {
        let p = px("20150123105347.1Z", "yyyyMMddHHmmss.fZ").unwrap();
        assert_eq!(p.utc, at(2015, 1, 23, 10, 53, 47) + Duration::milliseconds(100));
        assert_eq!(p.kind, Kind::Utc);
        let p = px("2020-12-31-08:00", "yyyy-MM-ddzzz").unwrap();
        assert_eq!(p.utc, at(2020, 12, 31, 8, 0, 0));
        assert_eq!(p.kind, Kind::Local);
        let p = px("12/31/2020 10:30:00 PM", "M/d/yyyy hh:mm:ss tt").unwrap();
        assert_eq!(p.utc, at(2020, 12, 31, 22, 30, 0));
        assert_eq!(p.kind, Kind::Unspecified);
        assert_eq!(px("1/5/2021 12:00:00 AM", "M/d/yyyy hh:mm:ss tt").unwrap().utc, at(2021, 1, 5, 0, 0, 0));
        assert_eq!(px("1/5/2021 12:00:00 PM", "M/d/yyyy hh:mm:ss tt").unwrap().utc, at(2021, 1, 5, 12, 0, 0));
    }

    #[test]
    fn parsing_digit_counts_follow_dotnet() {
        assert!(px("2021-8-5", "yyyy-M-d").is_ok());
        assert!(px("2021-08-05", "yyyy-M-d").is_ok());
        assert!(px("2021-8-05", "yyyy-MM-dd").is_err());
        assert!(px("21-08-05", "yyyy-MM-dd").is_err());
        assert_eq!(px("21-08-05", "yy-MM-dd").unwrap().utc, at(2021, 8, 5, 0, 0, 0));
        assert_eq!(px("50-08-05", "yy-MM-dd").unwrap().utc, at(1950, 8, 5, 0, 0, 0));
        assert_eq!(px("49-08-05", "yy-MM-dd").unwrap().utc, at(2049, 8, 5, 0, 0, 0));
        assert_eq!(px("20210805", "yyyyMMdd").unwrap().utc, at(2021, 8, 5, 0, 0, 0));
        // f needs exactly its digits; F takes up to its digits, and ".FFF" may be absent.
        assert!(px("10:00:00.1", "HH:mm:ss.ff").is_err());
        assert_eq!(px("10:00:00.12", "HH:mm:ss.ff").unwrap().utc, at(2021, 8, 25, 10, 0, 0) + Duration::milliseconds(120));
        assert_eq!(px("10:00:00.1", "HH:mm:ss.FFF").unwrap().utc, at(2021, 8, 25, 10, 0, 0) + Duration::milliseconds(100));
        assert_eq!(px("10:00:00", "HH:mm:ss.FFF").unwrap().utc, at(2021, 8, 25, 10, 0, 0));
        assert!(px("10:00:00", "HH:mm:ss.fff").is_err());
    }

    #[test]
    fn parsing_names_hours_and_zones() {
        assert_eq!(px("25 aug 2021", "dd MMM yyyy").unwrap().utc, at(2021, 8, 25, 0, 0, 0));
        assert_eq!(px("25 AUGUST 2021", "dd MMMM yyyy").unwrap().utc, at(2021, 8, 25, 0, 0, 0));
        assert_eq!(px("Wednesday 25 Aug 2021", "dddd dd MMM yyyy").unwrap().utc, at(2021, 8, 25, 0, 0, 0));
        // The day name must agree with the date.
        assert!(px("Tuesday 25 Aug 2021", "dddd dd MMM yyyy").is_err());
        // h without tt is AM; past 12 fails; H with a contradicting tt fails.
        assert_eq!(px("12:15", "hh:mm").unwrap().utc, at(2021, 8, 25, 0, 15, 0));
        assert!(px("13:15", "hh:mm").is_err());
        assert!(px("13:15 AM", "HH:mm tt").is_err());
        assert_eq!(px("13:15 PM", "HH:mm tt").unwrap().utc, at(2021, 8, 25, 13, 15, 0));
        assert_eq!(px("1:15 p", "h:mm t").unwrap().utc, at(2021, 8, 25, 13, 15, 0));
        assert!(px("24:00", "HH:mm").is_err());
        assert!(px("2021-02-29", "yyyy-MM-dd").is_err());
        assert!(px("2020-02-29", "yyyy-MM-dd").is_ok());
        assert_eq!(px("2021-08-25 10:00 +0530", "yyyy-MM-dd HH:mm zzz").unwrap().utc, at(2021, 8, 25, 4, 30, 0));
        assert_eq!(px("2021-08-25 10:00 -7", "yyyy-MM-dd HH:mm z").unwrap().utc, at(2021, 8, 25, 17, 0, 0));
        assert!(px("2021-08-25 10:00 -7", "yyyy-MM-dd HH:mm zz").is_err());
        assert!(px("2021-08-25 10:00 +15:00", "yyyy-MM-dd HH:mm zzz").is_err());
        let p = px("2021-08-25T10:00:00", "yyyy-MM-ddTHH:mm:ssK").unwrap();
        assert_eq!((p.utc, p.kind), (at(2021, 8, 25, 10, 0, 0), Kind::Unspecified));
        let p = px("2021-08-25T10:00:00Z", "yyyy-MM-ddTHH:mm:ssK").unwrap();
        assert_eq!((p.utc, p.kind), (at(2021, 8, 25, 10, 0, 0), Kind::Utc));
        let p = px("Wed, 25 Aug 2021 17:41:18 GMT", "R").unwrap();
        assert_eq!((p.utc, p.kind), (at(2021, 8, 25, 17, 41, 18), Kind::Utc));
        assert_eq!(px("2021-08-25T17:41:18.0000000Z", "o").unwrap().utc, at(2021, 8, 25, 17, 41, 18));
        // The separators and literals must be there.
        assert!(px("2021/08/25", "yyyy-MM-dd").is_err());
        assert!(px("2021-08-25x", "yyyy-MM-dd").is_err());
        assert!(px("at 10", "'at' HH").is_ok());
        assert!(px("At 10", "'at' HH").is_err());
        // The same field twice must agree.
        assert!(px("2021 2021", "yyyy yyyy").is_ok());
        assert!(px("2021 2022", "yyyy yyyy").is_err());
    }

    #[test]
    fn parsing_defaults_and_styles() {
        // A time alone gets today; a year alone January 1st.
        assert_eq!(px("10:05", "HH:mm").unwrap().utc, at(2021, 8, 25, 10, 5, 0));
        assert_eq!(px("1999", "yyyy").unwrap().utc, at(1999, 1, 1, 0, 0, 0));
        assert_eq!(px("03", "MM").unwrap().utc, at(2021, 3, 1, 0, 0, 0));
        let s = Styles::parse("NoCurrentDateDefault").unwrap();
        assert_eq!(parse_exact("10:05", "HH:mm", s, today()).unwrap().utc, at(1, 1, 1, 10, 5, 0));
        // Leading and trailing whitespace: allowed by default, not with None.
        assert!(px("  2021-08-25  ", "yyyy-MM-dd").is_ok());
        assert!(parse_exact(" 2021-08-25", "yyyy-MM-dd", Styles::parse("None").unwrap(), today()).is_err());
        assert!(px("2021 - 08-25", "yyyy-MM-dd").is_err());
        let inner = Styles::parse("AllowWhiteSpaces").unwrap();
        assert!(parse_exact("2021 - 08 -25", "yyyy-MM-dd", inner, today()).is_ok());
        let s = Styles::parse("DateTimeStyles.AdjustToUniversal, AllowWhiteSpaces").unwrap();
        let p = parse_exact("2021-08-25+02:00", "yyyy-MM-ddzzz", s, today()).unwrap();
        assert_eq!((p.utc, p.kind), (at(2021, 8, 24, 22, 0, 0), Kind::Utc));
        assert_eq!(Styles::parse("").unwrap(), Styles::ENTRA_DEFAULT);
        assert_eq!(Styles::parse("128 | 3").unwrap(), Styles::ENTRA_DEFAULT);
        assert!(Styles::parse("allowinnerwhite").unwrap().allow_inner_white);
        assert!(Styles::parse("Sideways").unwrap_err().contains("'Sideways' is not a DateTimeStyles value"));
        assert!(Styles::parse("AssumeLocal, AssumeUniversal").is_err());
        assert!(Styles::parse("RoundtripKind, AdjustToUniversal").is_err());
        assert!(Styles::parse("256").is_err());
        let e = parse_exact("x", "yyyy", Styles::ENTRA_DEFAULT, today()).unwrap_err();
        assert_eq!(e, "'x' does not match the format 'yyyy'");
        assert!(parse_exact("x", "'", Styles::ENTRA_DEFAULT, today()).unwrap_err().contains("not valid"));
    }

    #[test]
    fn offsets_that_leave_the_range_fail() {
        assert!(px("0001-01-01+01:00", "yyyy-MM-ddzzz").is_err());
        assert!(px("9999-12-31T23:00-02:00", "yyyy-MM-ddTHH:mmzzz").is_err());
        assert!(px("0000-01-01", "yyyy-MM-dd").is_err());
    }

    #[test]
    fn general_parsing_takes_the_usual_forms() {
        let g = |s: &str| parse_general(s);
        assert_eq!(g("2020-03-16-07:00"), Some(at(2020, 3, 16, 7, 0, 0)));
        assert_eq!(g("2021-06-30+08:00"), Some(at(2021, 6, 29, 16, 0, 0)));
        assert_eq!(g("2009-06-15T01:45:30-07:00"), Some(at(2009, 6, 15, 8, 45, 30)));
        assert_eq!(g("8/25/2021 5:41:18 PM"), Some(at(2021, 8, 25, 17, 41, 18)));
        assert_eq!(g("2021-08-24"), Some(at(2021, 8, 24, 0, 0, 0)));
        assert_eq!(g("2021-08-24T10:11:12Z"), Some(at(2021, 8, 24, 10, 11, 12)));
        assert_eq!(g("2021-08-24T10:11:12.5Z"), Some(at(2021, 8, 24, 10, 11, 12) + Duration::milliseconds(500)));
        assert_eq!(g("2021-08-24T10:11"), Some(at(2021, 8, 24, 10, 11, 0)));
        assert_eq!(g("2021-08-24 10:11:12"), Some(at(2021, 8, 24, 10, 11, 12)));
        assert_eq!(g("2020-12-31 23:59:59-08:00"), Some(at(2021, 1, 1, 7, 59, 59)));
        assert_eq!(g("2020-12-31T23:59:59-08:00"), Some(at(2021, 1, 1, 7, 59, 59)));
        assert_eq!(g("2021-08-24T10:11:12+0530"), Some(at(2021, 8, 24, 4, 41, 12)));
        assert_eq!(g("2021/08/24"), Some(at(2021, 8, 24, 0, 0, 0)));
        assert_eq!(g("8/24/2021"), Some(at(2021, 8, 24, 0, 0, 0)));
        assert_eq!(g("08/24/2021 13:05"), Some(at(2021, 8, 24, 13, 5, 0)));
        assert_eq!(g("12/31/2020 12:00:00 AM"), Some(at(2020, 12, 31, 0, 0, 0)));
        assert_eq!(g("Wed, 25 Aug 2021 17:41:18 GMT"), Some(at(2021, 8, 25, 17, 41, 18)));
        assert_eq!(g("25 August 2021"), Some(at(2021, 8, 25, 0, 0, 0)));
        assert_eq!(g("August 25, 2021"), Some(at(2021, 8, 25, 0, 0, 0)));
        assert_eq!(g("  2021-08-24  "), Some(at(2021, 8, 24, 0, 0, 0)));
        assert_eq!(g("2024-02-29"), Some(at(2024, 2, 29, 0, 0, 0)));
        for bad in [
            "",
            "not a date",
            "2021-02-29",
            "2021-13-01",
            "2021-08-24T25:00",
            "8/25/2021 13:00 PM",
            "20210824",
            "12",
            "-",
            "2021-08-24+99:00",
        ] {
            assert_eq!(g(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_general_format_is_valid() {
        for f in GENERAL_FORMATS {
            assert!(tokenize(f, true).is_ok(), "{f}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let texts = ["", " ", "9999999999999999999999", "+99:99", "\u{0}", "ÄÖÜ", "2021-08-25T17:41:18.99999999999Z", "-", "Z", "GMT"];
        let formats =
            ["yyyy", "yyyyyyyyyyyyyyyyyyyyyyyy", "fffffff", "FFFFFFF", "zzz", "K", "tt", "MMMM", "dddd", "%K", "'", "\\", "hhhhh"];
        for t in texts {
            let _ = parse_general(t);
            for f in formats {
                let _ = parse_exact(t, f, Styles::LENIENT, today());
                let _ = format(&at(9999, 12, 31, 23, 59, 59), Kind::Local, f);
                let _ = format(&at(1, 1, 1, 0, 0, 0), Kind::Unspecified, f);
            }
        }
    }

    #[test]
    fn filetime_round_trips() {
        assert_eq!(from_filetime(129_699_324_000_000_000), Some(at(2012, 1, 1, 23, 0, 0)));
        assert_eq!(to_filetime(&at(2012, 1, 1, 23, 0, 0)), Some(129_699_324_000_000_000));
        assert_eq!(from_filetime(0), Some(at(1601, 1, 1, 0, 0, 0)));
        assert_eq!(from_filetime(-1), None);
        assert_eq!(from_filetime(i64::MAX), None);
        assert_eq!(to_filetime(&at(1600, 12, 31, 23, 59, 59)), None);
        let d = at(2021, 8, 25, 17, 41, 18) + Duration::nanoseconds(1_234_500);
        assert_eq!(from_filetime(to_filetime(&d).unwrap()), Some(at(2021, 8, 25, 17, 41, 18) + Duration::nanoseconds(1_234_500)));
    }
}
