//! Date functions: Now, CDate, DateAdd, DateDiff, DateFromNum, NumFromDate, FormatDateTime.
//!
//! Dates are UTC instants ([`Value::Date`]); as text they read `M/d/yyyy h:mm:ss tt`. A DateTime
//! parameter takes a date or any text CDate reads (so `DateDiff("h", "2021-08-24", "2021-08-25")`
//! works as in the docs' table). The .NET format and parse rules live in [`crate::expr::dotnet_date`].
// In the check-only build (no `eval` feature) the table points at no implementation.
#![cfg_attr(not(feature = "eval"), allow(dead_code, unused_imports))]

use super::{literal, opt, req, text_arg, FnSpec, Stop};
use crate::expr::ast::Expr;
use crate::expr::dotnet_date::{self, Kind, Parsed, Styles};
use crate::expr::eval::{Cx, Node};
use crate::expr::value::{format_entra_date, Type, Value};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// This family's functions.
pub(super) static FUNCTIONS: &[FnSpec] = &[
    FnSpec {
        name: "Now",
        params: &[],
        returns: Type::DateTime,
        summary: "the current date and time in UTC",
        imp: imp!(now),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "CDate",
        params: &[req("expression", Type::String)],
        returns: Type::DateTime,
        summary: "the UTC date-time a text stands for (\"2020-03-16-07:00\" is 3/16/2020 7:00:00 AM)",
        imp: imp!(cdate),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "DateAdd",
        params: &[req("interval", Type::String), req("value", Type::Integer), req("dateTime", Type::DateTime)],
        returns: Type::DateTime,
        summary: "dateTime plus value intervals (yyyy, m, d, ww, h, n or s; negative goes back)",
        imp: imp!(date_add),
        rule: Some(date_add_rule),
        top_level_only: false,
    },
    FnSpec {
        name: "DateDiff",
        params: &[req("interval", Type::String), req("date1", Type::DateTime), req("date2", Type::DateTime)],
        returns: Type::Integer,
        summary: "how many intervals (yyyy, m, d, ww, h, n or s) date2 is after date1 (negative if before)",
        imp: imp!(date_diff),
        rule: Some(date_diff_rule),
        top_level_only: false,
    },
    FnSpec {
        name: "DateFromNum",
        params: &[req("value", Type::Integer)],
        returns: Type::DateTime,
        summary: "the date-time of an AD date number (100-nanosecond ticks since 1601, as lastLogonTimestamp)",
        imp: imp!(date_from_num),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "NumFromDate",
        params: &[req("value", Type::String)],
        returns: Type::Integer,
        summary: "the AD date number (as accountExpires wants) of an ISO 8601 date-time",
        imp: imp!(num_from_date),
        rule: None,
        top_level_only: false,
    },
    FnSpec {
        name: "FormatDateTime",
        params: &[
            req("source", Type::String),
            opt("dateTimeStyles", Type::String),
            req("inputFormat", Type::String),
            req("outputFormat", Type::String),
        ],
        returns: Type::String,
        summary: "the date in source, read with the .NET inputFormat, written with outputFormat",
        imp: imp!(format_date_time),
        rule: Some(format_date_time_rule),
        top_level_only: false,
    },
];

fn now(cx: &mut Cx<'_>, _args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(Value::Date(cx.env.now()))
}

/// Argument `i` as a date: a date as it is, text as CDate reads it. Null and empty text are `None`.
fn date_arg(cx: &mut Cx<'_>, args: &[Option<Node>], i: usize, f: &'static str) -> Result<Option<DateTime<Utc>>, Stop> {
    match cx.arg(args, i)? {
        Value::Null => Ok(None),
        Value::Date(d) => Ok(Some(d)),
        v => {
            let text = v.text_or_empty();
            if text.trim().is_empty() {
                return Ok(None);
            }
            dotnet_date::parse_general(&text).map(Some).ok_or_else(|| Stop::failed(f, format!("'{text}' is not a date")))
        }
    }
}

fn cdate(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    Ok(date_arg(cx, args, 0, "CDate")?.map_or(Value::Null, Value::Date))
}

/// An interval of DateAdd and DateDiff. Entra documents `yyyy m d ww h n s`; these are the interval
/// strings of Visual Basic's DateAdd/DateDiff (the rules both follow, see [`diff`]), which also take
/// `q` (quarter), `y` (day of year, counted as days) and `w` (weekday, counted as whole weeks), in any
/// case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interval {
    Year,
    Quarter,
    Month,
    DayOfYear,
    Day,
    WeekOfYear,
    Weekday,
    Hour,
    Minute,
    Second,
}

impl Interval {
    fn parse(s: &str) -> Option<Interval> {
        Some(match s.to_ascii_lowercase().as_str() {
            "yyyy" => Interval::Year,
            "q" => Interval::Quarter,
            "m" => Interval::Month,
            "y" => Interval::DayOfYear,
            "d" => Interval::Day,
            "ww" => Interval::WeekOfYear,
            "w" => Interval::Weekday,
            "h" => Interval::Hour,
            "n" => Interval::Minute,
            "s" => Interval::Second,
            _ => return None,
        })
    }

    /// Its unit, in DateAdd's messages (`w` and `y` add days there).
    fn unit(self) -> &'static str {
        match self {
            Interval::Year => "years",
            Interval::Quarter => "quarters",
            Interval::Month => "months",
            Interval::DayOfYear | Interval::Day | Interval::Weekday => "days",
            Interval::WeekOfYear => "weeks",
            Interval::Hour => "hours",
            Interval::Minute => "minutes",
            Interval::Second => "seconds",
        }
    }
}

fn bad_interval(s: &str) -> String {
    format!("'{s}' is not an interval; use yyyy (years), m (months), d (days), ww (weeks), h (hours), n (minutes) or s (seconds)")
}

fn interval_arg(cx: &mut Cx<'_>, args: &[Option<Node>], f: &'static str) -> Result<Option<Interval>, Stop> {
    match text_arg(cx, args, 0)? {
        None => Ok(None),
        Some(s) => Interval::parse(s.trim()).map(Some).ok_or_else(|| Stop::failed(f, bad_interval(&s))),
    }
}

fn interval_rule(args: &[Option<Expr>]) -> Result<(), (Option<usize>, String)> {
    match args.first().and_then(literal) {
        Some(s) if Interval::parse(s.trim()).is_none() => Err((Some(0), bad_interval(s))),
        _ => Ok(()),
    }
}

fn date_add_rule(args: &[Option<Expr>]) -> Result<(), (Option<usize>, String)> {
    interval_rule(args)
}

fn date_diff_rule(args: &[Option<Expr>]) -> Result<(), (Option<usize>, String)> {
    interval_rule(args)
}

/// DateAdd's number: a whole number, or decimal text cut to its whole part (Visual Basic's DateAdd
/// takes a Double and truncates it to an Int32, failing beyond).
fn number_arg(cx: &mut Cx<'_>, args: &[Option<Node>], i: usize, f: &'static str) -> Result<Option<i64>, Stop> {
    let v = cx.arg(args, i)?;
    if v.is_null() {
        return Ok(None);
    }
    let n = match v.as_int() {
        Some(n) => n,
        None => {
            let text = v.text_or_empty();
            match text.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x.abs() < 1e15 => x.trunc() as i64,
                _ => return Err(Stop::failed(f, format!("'{text}' is not a number"))),
            }
        }
    };
    if i32::try_from(n).is_err() {
        return Err(Stop::failed(f, format!("'{n}' is too large a number of intervals")));
    }
    Ok(Some(n))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// .NET's `AddMonths`: the same day in the month `months` later, or that month's last day when it is
/// shorter (1/31 + 1 month = 2/28, or 2/29 in a leap year); the time of day is kept.
fn add_months(d: DateTime<Utc>, months: i64) -> Option<DateTime<Utc>> {
    let total = i64::from(d.year()).checked_mul(12)?.checked_add(i64::from(d.month0()))?.checked_add(months)?;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    if !(1..=9999).contains(&y) {
        return None;
    }
    let day = d.day().min(days_in_month(y, m));
    Some(NaiveDate::from_ymd_opt(y as i32, m, day)?.and_time(d.time()).and_utc())
}

/// Visual Basic's DateAdd: years and months (and quarters) by the calendar, clamping to the month's end
/// (2/29/2024 + 1 year = 2/28/2025); days, weeks, hours, minutes and seconds as elapsed time. `None`
/// when the result leaves the years 1 to 9999.
fn add(iv: Interval, n: i64, d: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let r = match iv {
        Interval::Year => add_months(d, n.checked_mul(12)?)?,
        Interval::Quarter => add_months(d, n.checked_mul(3)?)?,
        Interval::Month => add_months(d, n)?,
        Interval::Day | Interval::DayOfYear | Interval::Weekday => d.checked_add_signed(Duration::try_days(n)?)?,
        Interval::WeekOfYear => d.checked_add_signed(Duration::try_days(n.checked_mul(7)?)?)?,
        Interval::Hour => d.checked_add_signed(Duration::try_hours(n)?)?,
        Interval::Minute => d.checked_add_signed(Duration::try_minutes(n)?)?,
        Interval::Second => d.checked_add_signed(Duration::try_seconds(n)?)?,
    };
    (1..=9999).contains(&r.year()).then_some(r)
}

fn date_add(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let iv = interval_arg(cx, args, "DateAdd")?;
    let n = number_arg(cx, args, 1, "DateAdd")?;
    let d = date_arg(cx, args, 2, "DateAdd")?;
    let (Some(iv), Some(n), Some(d)) = (iv, n, d) else {
        return Ok(Value::Null);
    };
    add(iv, n, d)
        .map(Value::Date)
        .ok_or_else(|| Stop::failed("DateAdd", format!("adding {n} {} to {} leaves the years 1 to 9999", iv.unit(), format_entra_date(&d))))
}

/// DateDiff, as Visual Basic's `DateAndTime.DateDiff` (which Entra's intervals and results match):
///
/// - `d`, `h`, `n`, `s` (and `y`): the elapsed time, **truncated** toward zero (2021-08-24 00:00 to
///   2021-08-25 00:00 is 24 hours; 10 hours short of a day is 0 days, not 1);
/// - `m`, `yyyy` (and `q`): **calendar boundaries** crossed, ignoring the day and time
///   (`(year2 - year1) * 12 + month2 - month1`: 1/31 to 2/1 is 1 month; 8/25/2021 to 3/16/2012 is -113);
/// - `ww`: **week boundaries** (weeks starting on Sunday): each date moves back to the Saturday before
///   its week (keeping its time of day), then the whole days between them are divided by 7, truncated;
/// - `w`: whole days divided by 7, truncated.
///
/// The docs' table tells these apart: from 8/25/2021 5:41:18 PM to 3/16/2012 7:00 AM UTC is 3449 days and
/// 10:41:18, giving -3449 days and -113 months and -9 years either way, but -493 weeks, where truncating
/// 3449 / 7 would give -492; the boundary count (a Wednesday back to a Friday, 493 Sundays between) gives
/// -493.
fn diff(iv: Interval, d1: DateTime<Utc>, d2: DateTime<Utc>) -> Option<i64> {
    let span = d2.signed_duration_since(d1);
    let (y1, y2) = (i64::from(d1.year()), i64::from(d2.year()));
    Some(match iv {
        Interval::Year => y2 - y1,
        Interval::Quarter => (y2 - y1) * 4 + i64::from(d2.month0() / 3) - i64::from(d1.month0() / 3),
        Interval::Month => (y2 - y1) * 12 + i64::from(d2.month()) - i64::from(d1.month()),
        Interval::Day | Interval::DayOfYear => span.num_days(),
        Interval::Weekday => span.num_days() / 7,
        Interval::WeekOfYear => {
            let back = |d: DateTime<Utc>| d.checked_sub_signed(Duration::days(i64::from(d.weekday().num_days_from_sunday()) + 1));
            back(d2)?.signed_duration_since(back(d1)?).num_days() / 7
        }
        Interval::Hour => span.num_hours(),
        Interval::Minute => span.num_minutes(),
        Interval::Second => span.num_seconds(),
    })
}

fn date_diff(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let iv = interval_arg(cx, args, "DateDiff")?;
    let d1 = date_arg(cx, args, 1, "DateDiff")?;
    let d2 = date_arg(cx, args, 2, "DateDiff")?;
    let (Some(iv), Some(d1), Some(d2)) = (iv, d1, d2) else {
        return Ok(Value::Null);
    };
    diff(iv, d1, d2).map(Value::Int).ok_or_else(|| Stop::failed("DateDiff", "the dates are out of range"))
}

fn date_from_num(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let Some(n) = super::int_arg(cx, args, 0, "DateFromNum")? else {
        return Ok(Value::Null);
    };
    dotnet_date::from_filetime(n)
        .map(Value::Date)
        .ok_or_else(|| Stop::failed("DateFromNum", format!("'{n}' is not an AD date (a number of 100-nanosecond ticks from 1601 to 9999)")))
}

fn num_from_date(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let Some(d) = date_arg(cx, args, 0, "NumFromDate")? else {
        return Ok(Value::Null);
    };
    dotnet_date::to_filetime(&d)
        .map(Value::Int)
        .ok_or_else(|| Stop::failed("NumFromDate", format!("'{}' is before 1601, which AD dates cannot hold", format_entra_date(&d))))
}

// FormatDateTime: the source is read with DateTime.ParseExact(source, inputFormat, culture, styles)
// and written with ToString(outputFormat). Beyond Entra: a source that already is a date (Now(),
// CDate(…)) is written as it is, without reading it back; an empty source gives null like a missing one.
fn format_date_time(cx: &mut Cx<'_>, args: &[Option<Node>]) -> Result<Value, Stop> {
    let src = cx.arg(args, 0)?;
    let styles = text_arg(cx, args, 1)?;
    let input = text_arg(cx, args, 2)?.unwrap_or_default();
    let output = text_arg(cx, args, 3)?.unwrap_or_default();
    let fail = |m: String| Stop::failed("FormatDateTime", m);
    let parsed = match src {
        Value::Null => return Ok(Value::Null),
        Value::Date(d) => Parsed { utc: d, kind: Kind::Utc },
        v => {
            let text = v.text_or_empty();
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            let styles = match styles {
                Some(s) => Styles::parse(&s).map_err(fail)?,
                None => Styles::ENTRA_DEFAULT,
            };
            dotnet_date::parse_exact(&text, &input, styles, cx.env.now().date_naive()).map_err(fail)?
        }
    };
    dotnet_date::format(&parsed.utc, parsed.kind, &output).map(Value::Str).map_err(|e| fail(format!("the output format is not valid: {e}")))
}

fn format_date_time_rule(args: &[Option<Expr>]) -> Result<(), (Option<usize>, String)> {
    if let Some(s) = args.get(1).and_then(literal) {
        Styles::parse(s).map_err(|e| (Some(1), format!("FormatDateTime's dateTimeStyles: {e}")))?;
    }
    for (i, what) in [(2, "inputFormat"), (3, "outputFormat")] {
        if let Some(f) = args.get(i).and_then(literal) {
            dotnet_date::validate(f).map_err(|e| (Some(i), format!("FormatDateTime's {what} is not a .NET date format: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::expr::{Stop, Value};
    use chrono::{TimeZone, Utc};

    fn failed(text: &str, src: &Obj) -> String {
        match eval_with(text, src) {
            Err(Stop::Failed { function, message }) => format!("{function}: {message}"),
            other => panic!("{text}: expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn now_is_the_environments_clock() {
        assert_eq!(ev("Now()", &obj(&[])), "8/25/2021 5:41:18 PM");
    }

    #[test]
    fn cdate_from_the_docs() {
        let o = obj(&[("StatusHireDate", "2020-03-16-07:00")]);
        assert_eq!(ev("CDate([StatusHireDate])", &o), "3/16/2020 7:00:00 AM");
        assert_eq!(ev(r#"CDate("2021-06-30+08:00")"#, &o), "6/29/2021 4:00:00 PM");
        assert_eq!(ev(r#"CDate("2009-06-15T01:45:30-07:00")"#, &o), "6/15/2009 8:45:30 AM");
        let d = eval_with(r#"CDate("2021-06-30+08:00")"#, &o).unwrap();
        assert_eq!(d, Value::Date(Utc.with_ymd_and_hms(2021, 6, 29, 16, 0, 0).unwrap()));
    }

    #[test]
    fn cdate_other_forms_null_and_errors() {
        let o = obj(&[("empty", "")]);
        assert_eq!(ev(r#"CDate("8/25/2021 5:41:18 PM")"#, &o), "8/25/2021 5:41:18 PM");
        assert_eq!(ev(r#"CDate("2021-08-24")"#, &o), "8/24/2021 12:00:00 AM");
        assert_eq!(ev(r#"CDate("2021-08-24T23:59:59Z")"#, &o), "8/24/2021 11:59:59 PM");
        assert_eq!(ev(r#"CDate("2024-02-29")"#, &o), "2/29/2024 12:00:00 AM");
        assert_eq!(ev("CDate(Now())", &o), "8/25/2021 5:41:18 PM");
        assert_eq!(ev("CDate([missing])", &o), "NULL");
        assert_eq!(ev("CDate([empty])", &o), "NULL");
        assert_eq!(failed(r#"CDate("not a date")"#, &o), "CDate: 'not a date' is not a date");
        assert_eq!(failed(r#"CDate("2023-02-29")"#, &o), "CDate: '2023-02-29' is not a date");
        assert_eq!(failed("CDate(1)", &o), "CDate: '1' is not a date");
    }

    #[test]
    fn date_add_table_from_the_docs() {
        let o = obj(&[("StatusHireDate", "2012-03-16-07:00")]);
        let rows = [
            ("d", "7", "3/23/2012 7:00:00 AM"),
            ("d", "-10", "3/6/2012 7:00:00 AM"),
            ("ww", "2", "3/30/2012 7:00:00 AM"),
            ("m", "10", "1/16/2013 7:00:00 AM"),
            ("yyyy", "2", "3/16/2014 7:00:00 AM"),
        ];
        for (interval, value, out) in rows {
            assert_eq!(ev(&format!(r#"DateAdd("{interval}", {value}, CDate([StatusHireDate]))"#), &o), out, "{interval} {value}");
        }
        assert!(matches!(eval_with(r#"DateAdd("d", 7, CDate([StatusHireDate]))"#, &o), Ok(Value::Date(_))));
    }

    #[test]
    fn date_add_clamps_to_month_end_and_leap_days() {
        let o = obj(&[]);
        assert_eq!(ev(r#"DateAdd("m", 1, "2021-01-31")"#, &o), "2/28/2021 12:00:00 AM");
        assert_eq!(ev(r#"DateAdd("m", 1, "2024-01-31T10:00:00Z")"#, &o), "2/29/2024 10:00:00 AM");
        assert_eq!(ev(r#"DateAdd("m", -1, "2021-03-31")"#, &o), "2/28/2021 12:00:00 AM");
        assert_eq!(ev(r#"DateAdd("m", 13, "2021-05-31")"#, &o), "6/30/2022 12:00:00 AM");
        assert_eq!(ev(r#"DateAdd("yyyy", 1, "2024-02-29")"#, &o), "2/28/2025 12:00:00 AM");
        assert_eq!(ev(r#"DateAdd("yyyy", 4, "2024-02-29")"#, &o), "2/29/2028 12:00:00 AM");
        assert_eq!(ev(r#"DateAdd("d", 1, "2024-02-28")"#, &o), "2/29/2024 12:00:00 AM");
        assert_eq!(ev(r#"DateAdd("q", 1, "2021-11-30")"#, &o), "2/28/2022 12:00:00 AM");
    }

    #[test]
    fn date_add_units_nulls_and_errors() {
        let o = obj(&[("n", "3"), ("half", "2.9"), ("word", "three")]);
        assert_eq!(ev(r#"DateAdd("h", 7, Now())"#, &o), "8/26/2021 12:41:18 AM");
        assert_eq!(ev(r#"DateAdd("n", -41, Now())"#, &o), "8/25/2021 5:00:18 PM");
        assert_eq!(ev(r#"DateAdd("s", 42, Now())"#, &o), "8/25/2021 5:42:00 PM");
        assert_eq!(ev(r#"DateAdd("D", [n], Now())"#, &o), "8/28/2021 5:41:18 PM");
        assert_eq!(ev(r#"DateAdd("d", [half], Now())"#, &o), "8/27/2021 5:41:18 PM");
        assert_eq!(ev(r#"DateAdd("d", 1, [missing])"#, &o), "NULL");
        assert_eq!(ev(r#"DateAdd("d", [missing], Now())"#, &o), "NULL");
        assert_eq!(failed(r#"DateAdd("d", [word], Now())"#, &o), "DateAdd: 'three' is not a number");
        assert_eq!(failed(r#"DateAdd("d", 1, "soon")"#, &o), "DateAdd: 'soon' is not a date");
        assert!(failed(r#"DateAdd("yyyy", 8000, Now())"#, &o).contains("leaves the years 1 to 9999"));
        assert!(failed(r#"DateAdd("d", 99999999999, Now())"#, &o).contains("too large"));
        assert!(check_err(r#"DateAdd("days", 1, Now())"#).contains("'days' is not an interval"));
        assert!(check_err(r#"DateAdd("d", "x", Now())"#).contains("whole number"));
        assert!(check_err(r#"DateAdd("d", 1, 5)"#).contains("date-time"));
    }

    #[test]
    fn date_diff_table_from_the_docs() {
        let rows = [
            ("d", "2021-08-18+08:00", "2021-08-31+08:00", 13),
            ("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -3449),
            ("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -493),
            ("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -113),
            ("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -9),
            ("d", "2021-08-31+08:00", "2021-08-31+08:00", 0),
            ("h", "2021-08-24", "2021-08-25", 24),
            ("n", "2021-08-24", "2021-08-25", 1440),
            ("s", "2021-08-24", "2021-08-25", 86400),
        ];
        let o = obj(&[]);
        for (interval, d1, d2, out) in rows {
            let text = format!(r#"DateDiff("{interval}", CDate("{d1}"), CDate("{d2}"))"#);
            assert_eq!(eval_with(&text, &o), Ok(Value::Int(out)), "{text}");
            // The dates may also be given as text directly.
            let text = format!(r#"DateDiff("{interval}", "{d1}", "{d2}")"#);
            assert_eq!(eval_with(&text, &o), Ok(Value::Int(out)), "{text}");
        }
        // The docs' expression, with Now() at 8/25/2021 5:41:18 PM.
        let hire = obj(&[("StatusHireDate", "2012-03-16-07:00")]);
        for (interval, out) in [("d", -3449), ("ww", -493), ("m", -113), ("yyyy", -9)] {
            let text = format!(r#"DateDiff("{interval}", Now(), CDate([StatusHireDate]))"#);
            assert_eq!(eval_with(&text, &hire), Ok(Value::Int(out)), "{text}");
        }
        // And swapped, positive.
        assert_eq!(ev(r#"DateDiff("ww", CDate([StatusHireDate]), Now())"#, &hire), "493");
    }

    #[test]
    fn date_diff_truncates_time_and_counts_calendar_boundaries() {
        let o = obj(&[]);
        let dd = |i: &str, a: &str, b: &str| ev(&format!(r#"DateDiff("{i}", "{a}", "{b}")"#), &o);
        // Days, hours… truncate the elapsed time.
        assert_eq!(dd("d", "2021-08-24T23:00:00Z", "2021-08-25T22:59:59Z"), "0");
        assert_eq!(dd("d", "2021-08-25T22:59:59Z", "2021-08-24T23:00:00Z"), "0");
        assert_eq!(dd("h", "2021-08-24T10:00:00Z", "2021-08-24T11:59:59Z"), "1");
        // Months and years count boundaries, whatever the days.
        assert_eq!(dd("m", "2021-01-31", "2021-02-01"), "1");
        assert_eq!(dd("yyyy", "2021-12-31T23:59:59Z", "2022-01-01"), "1");
        assert_eq!(dd("m", "2021-01-01", "2021-01-31"), "0");
        // Weeks count Sundays crossed: Saturday to Sunday is a week, Sunday to Saturday is not.
        assert_eq!(dd("ww", "2021-08-21", "2021-08-22"), "1");
        assert_eq!(dd("ww", "2021-08-22", "2021-08-28"), "0");
        assert_eq!(dd("w", "2021-08-21", "2021-08-22"), "0");
        // Leap years count their extra day.
        assert_eq!(dd("d", "2024-02-28", "2024-03-01"), "2");
        assert_eq!(dd("d", "2023-02-28", "2023-03-01"), "1");
        assert_eq!(dd("q", "2021-03-31", "2021-04-01"), "1");
        assert_eq!(dd("y", "2021-08-24", "2021-08-25"), "1");
    }

    #[test]
    fn date_diff_with_iif_from_the_docs() {
        let text = r#"Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"), "0", "False")"#;
        assert_eq!(ev(text, &obj(&[("Active", "1"), ("StatusHireDate", "2021-08-28")])), "True");
        assert_eq!(ev(text, &obj(&[("Active", "1"), ("StatusHireDate", "2021-09-28")])), "False");
        assert_eq!(ev(text, &obj(&[("Active", "0"), ("StatusHireDate", "2021-08-28")])), "False");
    }

    #[test]
    fn date_diff_nulls_and_errors() {
        let o = obj(&[("bad", "tomorrow")]);
        assert_eq!(ev(r#"DateDiff("d", Now(), [missing])"#, &o), "NULL");
        assert_eq!(failed(r#"DateDiff("d", Now(), [bad])"#, &o), "DateDiff: 'tomorrow' is not a date");
        assert!(failed(r#"DateDiff([bad], Now(), Now())"#, &o).contains("'tomorrow' is not an interval"));
        assert!(check_err(r#"DateDiff("x", Now(), Now())"#).contains("'x' is not an interval"));
        assert!(check_err(r#"DateDiff("d", Now())"#).contains("expects 3 arguments"));
    }

    #[test]
    fn date_from_num_and_num_from_date() {
        let o = obj(&[("lastLogonTimestamp", "129699324000000000"), ("bad", "x")]);
        assert_eq!(ev("DateFromNum(129699324000000000)", &o), "1/1/2012 11:00:00 PM");
        assert_eq!(ev("DateFromNum([lastLogonTimestamp])", &o), "1/1/2012 11:00:00 PM");
        assert_eq!(ev("DateFromNum(0)", &o), "1/1/1601 12:00:00 AM");
        assert_eq!(ev("DateFromNum([missing])", &o), "NULL");
        assert!(failed("DateFromNum(9223372036854775807)", &o).contains("'9223372036854775807' is not an AD date"));
        assert!(failed("DateFromNum(-1)", &o).contains("'-1' is not an AD date"));
        assert_eq!(failed("DateFromNum([bad])", &o), "DateFromNum: 'x' is not a whole number");

        assert_eq!(eval_with(r#"NumFromDate("2012-01-01T23:00:00Z")"#, &o), Ok(Value::Int(129_699_324_000_000_000)));
        assert_eq!(ev("NumFromDate(DateFromNum([lastLogonTimestamp]))", &o), "129699324000000000");
        assert_eq!(ev("NumFromDate([missing])", &o), "NULL");
        assert_eq!(failed("NumFromDate([bad])", &o), "NumFromDate: 'x' is not a date");
        assert!(failed(r#"NumFromDate("1600-12-31")"#, &o).contains("before 1601"));
    }

    #[test]
    fn num_from_date_examples_from_the_docs() {
        // Workday: ContractEndDate "2020-12-31-08:00", end of that day in UTC-8 = 2021-01-01 07:59:59 UTC.
        let wd = obj(&[("ContractEndDate", "2020-12-31-08:00")]);
        let expected = Value::Int(132_539_615_990_000_000);
        let text = r#"NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))"#;
        assert_eq!(eval_with(text, &wd), Ok(expected.clone()));
        let text = r#"NumFromDate(Join("", FormatDateTime([ContractEndDate], , "yyyy-MM-ddzzz", "yyyy-MM-dd"), "T23:59:59-08:00"))"#;
        assert_eq!(eval_with(text, &wd), Ok(expected.clone()));
        // SuccessFactors: endDate as "M/d/yyyy hh:mm:ss tt".
        let sf = obj(&[("endDate", "12/31/2020 12:00:00 AM")]);
        let text = r#"NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")," 23:59:59-08:00"))"#;
        assert_eq!(eval_with(text, &sf), Ok(expected));
        assert_eq!(ev(r#"FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")"#, &sf), "2020-12-31");
    }

    #[test]
    fn format_date_time_from_the_docs() {
        let o = obj(&[("extensionAttribute1", "20150123105347.1Z")]);
        assert_eq!(ev(r#"FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#, &o), "2015-01-23");
        assert_eq!(
            ev(r#"FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-ddTHH:mm:ss.fffK")"#, &o),
            "2015-01-23T10:53:47.100Z"
        );
    }

    #[test]
    fn format_date_time_formats_styles_and_kinds() {
        let o = obj(&[("d", "2021-06-30+08:00"), ("t", "17:05"), ("padded", "  2021-08-25  "), ("local", "2021-08-25")]);
        assert_eq!(ev(r#"FormatDateTime([d], , "yyyy-MM-ddzzz", "M/d/yyyy h:mm tt K")"#, &o), "6/29/2021 4:00 PM +00:00");
        assert_eq!(ev(r#"FormatDateTime([d], "AdjustToUniversal", "yyyy-MM-ddzzz", "yyyy-MM-ddTHH:mmK")"#, &o), "2021-06-29T16:00Z");
        assert_eq!(ev(r#"FormatDateTime([local], , "yyyy-MM-dd", "yyyy-MM-ddK")"#, &o), "2021-08-25");
        assert_eq!(ev(r#"FormatDateTime([local], , "yyyy-MM-dd", "dddd d MMMM yyyy")"#, &o), "Wednesday 25 August 2021");
        assert_eq!(ev(r#"FormatDateTime([local], , "yyyy-MM-dd", "o")"#, &o), "2021-08-25T00:00:00.0000000");
        // A time alone is today (the environment's date).
        assert_eq!(ev(r#"FormatDateTime([t], , "HH:mm", "yyyy-MM-dd h:mm tt")"#, &o), "2021-08-25 5:05 PM");
        assert_eq!(ev(r#"FormatDateTime([padded], , "yyyy-MM-dd", "yyyyMMdd")"#, &o), "20210825");
        assert_eq!(
            failed(r#"FormatDateTime([padded], "None", "yyyy-MM-dd", "yyyyMMdd")"#, &o),
            "FormatDateTime: '  2021-08-25  ' does not match the format 'yyyy-MM-dd'"
        );
        // A date passes straight through.
        assert_eq!(ev(r#"FormatDateTime(Now(), , "M/d/yyyy h:mm:ss tt", "yyyy-MM-ddTHH:mm:ssK")"#, &o), "2021-08-25T17:41:18Z");
        assert_eq!(ev(r#"FormatDateTime(DateAdd("d", 7, Now()), , "yyyy", "yyyy-MM-dd")"#, &o), "2021-09-01");
        // Null and empty give null.
        assert_eq!(ev(r#"FormatDateTime([missing], , "yyyy", "yyyy")"#, &o), "NULL");
        assert_eq!(ev(r#"FormatDateTime("", , "yyyy", "yyyy")"#, &o), "NULL");
    }

    #[test]
    fn format_date_time_errors() {
        let o = obj(&[("d", "2021-08-25"), ("styles", "Sideways"), ("fmt", "'oops")]);
        assert_eq!(
            failed(r#"FormatDateTime([d], , "yyyyMMdd", "yyyy")"#, &o),
            "FormatDateTime: '2021-08-25' does not match the format 'yyyyMMdd'"
        );
        assert!(failed(r#"FormatDateTime([d], [styles], "yyyy-MM-dd", "yyyy")"#, &o).contains("'Sideways' is not a DateTimeStyles value"));
        assert!(failed(r#"FormatDateTime([d], , [fmt], "yyyy")"#, &o).contains("input format is not valid"));
        assert!(failed(r#"FormatDateTime([d], , "yyyy-MM-dd", [fmt])"#, &o).contains("output format is not valid"));
        assert!(check_err(r#"FormatDateTime([d], , "yyyy-MM-dd'", "yyyy")"#).contains("inputFormat is not a .NET date format"));
        assert!(check_err(r#"FormatDateTime([d], , "yyyy", "fffffffff")"#).contains("outputFormat is not a .NET date format"));
        assert!(check_err(r#"FormatDateTime([d], "Sideways", "yyyy", "yyyy")"#).contains("dateTimeStyles"));
        assert!(check_err(r#"FormatDateTime([d], "yyyy", "yyyy")"#).contains("expects 4 arguments"));
    }
}
