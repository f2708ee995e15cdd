//! Go's reference-time layouts ("2006-01-02 15:04:05 -0700 MST"): splitting a layout into its
//! elements, formatting a wall-clock time with them (`time.Format`) and parsing with them
//! (`time.Parse`).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// One element of a Go layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// `.000…` (fixed digits) when the bool is false, `.999…` (trimmed) when true; the char is
    /// the separator.
    Frac(usize, bool, char),
}

/// Splits `layout` at its first element: literal prefix, element, rest (Go's nextStdChunk).
fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    for i in 0..b.len() {
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if starts(i, "January") => Some((Std::LongMonth, 7)),
            b'J' if starts(i, "Jan") => Some((Std::Month, 3)),
            b'M' if starts(i, "Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if starts(i, "Mon") => Some((Std::WeekDay, 3)),
            b'M' if starts(i, "MST") => Some((Std::Tz, 3)),
            b'0' if starts(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => Some((
                [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][(b[i + 1] - b'1') as usize],
                2,
            )),
            b'1' if starts(i, "15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if starts(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if starts(i, "_2006") => {
                // "_2006" is a literal underscore and a year.
                return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
            }
            b'_' if starts(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'_' if starts(i, "_2") => Some((Std::UnderDay, 2)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if starts(i, "PM") => Some((Std::PM, 2)),
            b'p' if starts(i, "pm") => Some((Std::Pm, 2)),
            b'-' if starts(i, "-070000") => Some((Std::NumSecondsTz, 7)),
            b'-' if starts(i, "-07:00:00") => Some((Std::NumColonSecondsTz, 9)),
            b'-' if starts(i, "-0700") => Some((Std::NumTz, 5)),
            b'-' if starts(i, "-07:00") => Some((Std::NumColonTz, 6)),
            b'-' if starts(i, "-07") => Some((Std::NumShortTz, 3)),
            b'Z' if starts(i, "Z070000") => Some((Std::Iso8601SecondsTz, 7)),
            b'Z' if starts(i, "Z07:00:00") => Some((Std::Iso8601ColonSecondsTz, 9)),
            b'Z' if starts(i, "Z0700") => Some((Std::Iso8601Tz, 5)),
            b'Z' if starts(i, "Z07:00") => Some((Std::Iso8601ColonTz, 6)),
            b'Z' if starts(i, "Z07") => Some((Std::Iso8601ShortTz, 3)),
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    Some((Std::Frac(j - (i + 1), ch == b'9', b[i] as char), j - i))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `time.Format` of the wall clock `wall` in a zone `offset` seconds east of UTC named `zone`.
pub(super) fn format(
    layout: &str,
    wall: NaiveDateTime,
    nanos: u32,
    offset: i32,
    zone: &str,
) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    while !rest.is_empty() {
        let (prefix, std, tail) = next_chunk(rest);
        out.push_str(prefix);
        rest = tail;
        let Some(std) = std else { break };
        let year = wall.year();
        let hour = wall.hour();
        let h12 = if hour.is_multiple_of(12) {
            12
        } else {
            hour % 12
        };
        match std {
            Std::Year => out.push_str(&format!("{:02}", year.rem_euclid(100))),
            Std::LongYear => out.push_str(&format!("{year:04}")),
            Std::Month => out.push_str(&LONG_MONTHS[wall.month0() as usize][..3]),
            Std::LongMonth => out.push_str(LONG_MONTHS[wall.month0() as usize]),
            Std::NumMonth => out.push_str(&wall.month().to_string()),
            Std::ZeroMonth => out.push_str(&format!("{:02}", wall.month())),
            Std::WeekDay => {
                out.push_str(&LONG_DAYS[wall.weekday().num_days_from_sunday() as usize][..3])
            }
            Std::LongWeekDay => {
                out.push_str(LONG_DAYS[wall.weekday().num_days_from_sunday() as usize])
            }
            Std::Day => out.push_str(&wall.day().to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", wall.day())),
            Std::ZeroDay => out.push_str(&format!("{:02}", wall.day())),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", wall.ordinal())),
            Std::ZeroYearDay => out.push_str(&format!("{:03}", wall.ordinal())),
            Std::Hour => out.push_str(&format!("{hour:02}")),
            Std::Hour12 => out.push_str(&h12.to_string()),
            Std::ZeroHour12 => out.push_str(&format!("{h12:02}")),
            Std::Minute => out.push_str(&wall.minute().to_string()),
            Std::ZeroMinute => out.push_str(&format!("{:02}", wall.minute())),
            Std::Second => out.push_str(&wall.second().to_string()),
            Std::ZeroSecond => out.push_str(&format!("{:02}", wall.second())),
            Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::Tz => {
                if !zone.is_empty() {
                    out.push_str(zone);
                } else {
                    let minutes = offset / 60;
                    out.push(if minutes < 0 { '-' } else { '+' });
                    let m = minutes.abs();
                    out.push_str(&format!("{:02}{:02}", m / 60, m % 60));
                }
            }
            Std::Iso8601Tz
            | Std::Iso8601SecondsTz
            | Std::Iso8601ShortTz
            | Std::Iso8601ColonTz
            | Std::Iso8601ColonSecondsTz
                if offset == 0 =>
            {
                out.push('Z')
            }
            Std::Iso8601Tz
            | Std::Iso8601SecondsTz
            | Std::Iso8601ShortTz
            | Std::Iso8601ColonTz
            | Std::Iso8601ColonSecondsTz
            | Std::NumTz
            | Std::NumSecondsTz
            | Std::NumShortTz
            | Std::NumColonTz
            | Std::NumColonSecondsTz => {
                let abs = offset.abs();
                out.push(if offset < 0 { '-' } else { '+' });
                out.push_str(&format!("{:02}", abs / 3600));
                let colon = matches!(
                    std,
                    Std::Iso8601ColonTz
                        | Std::NumColonTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumColonSecondsTz
                );
                let short = matches!(std, Std::Iso8601ShortTz | Std::NumShortTz);
                let seconds = matches!(
                    std,
                    Std::Iso8601SecondsTz
                        | Std::NumSecondsTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumColonSecondsTz
                );
                if !short {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{:02}", abs / 60 % 60));
                }
                if seconds {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{:02}", abs % 60));
                }
            }
            Std::Frac(digits, trim, sep) => {
                let full = format!("{nanos:09}");
                let mut frac = full[..digits.min(9)].to_string();
                if digits > 9 {
                    frac.push_str(&"0".repeat(digits - 9));
                }
                if trim {
                    let t = frac.trim_end_matches('0');
                    if !t.is_empty() {
                        out.push(sep);
                        out.push_str(t);
                    }
                } else {
                    out.push(sep);
                    out.push_str(&frac);
                }
            }
        }
    }
    out
}

/// What `parse` read: the wall clock, its nanoseconds, and the zone the text named, if any.
pub(super) struct Parsed {
    pub wall: NaiveDateTime,
    pub nanos: u32,
    /// Offset seconds east of UTC, when the text gave a numeric zone or "Z".
    pub offset: Option<i32>,
    /// Zone abbreviation, when the text gave one (MST).
    pub zone_name: Option<String>,
}

fn parse_error(value: &str, layout: &str, value_elem: &str, layout_elem: &str) -> String {
    format!(
        "parsing time {} as {}: cannot parse {} as {}",
        crate::fmt::quote(value),
        crate::fmt::quote(layout),
        crate::fmt::quote(value_elem),
        crate::fmt::quote(layout_elem)
    )
}

/// Takes 1–2 digits (exactly 2 when `fixed`).
fn getnum(s: &str, fixed: bool) -> Option<(u32, &str)> {
    let b = s.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_digit()) {
        return None;
    }
    if b.get(1).is_none_or(|c| !c.is_ascii_digit()) {
        if fixed {
            return None;
        }
        return Some(((b[0] - b'0') as u32, &s[1..]));
    }
    Some((((b[0] - b'0') * 10 + (b[1] - b'0')) as u32, &s[2..]))
}

fn getnum3(s: &str, fixed: bool) -> Option<(u32, &str)> {
    let n = s.bytes().take(3).take_while(u8::is_ascii_digit).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn lookup_name<'a>(names: &[&str], s: &'a str, len: Option<usize>) -> Option<(usize, &'a str)> {
    for (i, name) in names.iter().enumerate() {
        let name = match len {
            Some(l) => &name[..l],
            None => name,
        };
        if let (Some(head), Some(rest)) = (s.get(..name.len()), s.get(name.len()..))
            && head.eq_ignore_ascii_case(name)
        {
            return Some((i, rest));
        }
    }
    None
}

/// `time.Parse(layout, value)`: the fields the layout names, Go's error text otherwise.
pub(super) fn parse(layout: &str, value: &str) -> Result<Parsed, String> {
    let (orig_layout, orig_value) = (layout, value);
    let mut layout = layout;
    let mut value = value;
    let (mut year, mut month, mut day, mut yday) = (1i32, 1u32, 1u32, 0u32);
    let (mut hour, mut min, mut sec, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    loop {
        let (prefix, std, tail) = next_chunk(layout);
        let std_str = &layout[prefix.len()..layout.len() - tail.len()];
        value = match value.strip_prefix(prefix) {
            Some(v) => v,
            None => return Err(parse_error(orig_value, orig_layout, value, prefix)),
        };
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    crate::fmt::quote(orig_value),
                    crate::fmt::quote(value)
                ));
            }
            break;
        };
        layout = tail;
        let here = value;
        let fail = || parse_error(orig_value, orig_layout, here, std_str);
        value = match std {
            Std::Year => {
                let (n, rest) = getnum(value, true).ok_or_else(fail)?;
                year = if n >= 69 {
                    1900 + n as i32
                } else {
                    2000 + n as i32
                };
                rest
            }
            Std::LongYear => {
                if value.len() < 4 || !value[..4].bytes().all(|b| b.is_ascii_digit()) {
                    return Err(fail());
                }
                year = value[..4].parse().map_err(|_| fail())?;
                &value[4..]
            }
            Std::Month | Std::LongMonth => {
                let len = if std == Std::Month { Some(3) } else { None };
                let (i, rest) = lookup_name(&LONG_MONTHS, value, len).ok_or_else(fail)?;
                month = i as u32 + 1;
                rest
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, rest) = getnum(value, std == Std::ZeroMonth).ok_or_else(fail)?;
                if !(1..=12).contains(&n) {
                    return Err(format!(
                        "parsing time {}: month out of range",
                        crate::fmt::quote(orig_value)
                    ));
                }
                month = n;
                rest
            }
            Std::WeekDay | Std::LongWeekDay => {
                let len = if std == Std::WeekDay { Some(3) } else { None };
                lookup_name(&LONG_DAYS, value, len).ok_or_else(fail)?.1
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                let v = if std == Std::UnderDay {
                    value.strip_prefix(' ').unwrap_or(value)
                } else {
                    value
                };
                let (n, rest) = getnum(v, std == Std::ZeroDay).ok_or_else(fail)?;
                day = n;
                rest
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let v = if std == Std::UnderYearDay {
                    value.trim_start_matches(' ')
                } else {
                    value
                };
                let (n, rest) = getnum3(v, std == Std::ZeroYearDay).ok_or_else(fail)?;
                yday = n;
                rest
            }
            Std::Hour => {
                let (n, rest) = getnum(value, false).ok_or_else(fail)?;
                if n >= 24 {
                    return Err(format!(
                        "parsing time {}: hour out of range",
                        crate::fmt::quote(orig_value)
                    ));
                }
                hour = n;
                rest
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, rest) = getnum(value, std == Std::ZeroHour12).ok_or_else(fail)?;
                if n > 12 {
                    return Err(format!(
                        "parsing time {}: hour out of range",
                        crate::fmt::quote(orig_value)
                    ));
                }
                hour = n;
                rest
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, rest) = getnum(value, std == Std::ZeroMinute).ok_or_else(fail)?;
                if n >= 60 {
                    return Err(format!(
                        "parsing time {}: minute out of range",
                        crate::fmt::quote(orig_value)
                    ));
                }
                min = n;
                rest
            }
            Std::Second | Std::ZeroSecond => {
                let (n, mut rest) = getnum(value, std == Std::ZeroSecond).ok_or_else(fail)?;
                if n >= 60 {
                    return Err(format!(
                        "parsing time {}: second out of range",
                        crate::fmt::quote(orig_value)
                    ));
                }
                sec = n;
                // Go accepts a fractional second the layout does not mention.
                let next_is_frac = matches!(next_chunk(layout).1, Some(Std::Frac(..)))
                    && next_chunk(layout).0.is_empty();
                let rb = rest.as_bytes();
                if !next_is_frac
                    && rb.len() >= 2
                    && (rb[0] == b'.' || rb[0] == b',')
                    && rb[1].is_ascii_digit()
                {
                    let n = rb[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nanos = frac_nanos(&rest[1..1 + n]);
                    rest = &rest[1 + n..];
                }
                rest
            }
            Std::PM | Std::Pm => {
                pm = match value.get(..2).unwrap_or("") {
                    "PM" | "pm" => Some(true),
                    "AM" | "am" => Some(false),
                    _ => return Err(fail()),
                };
                &value[2..]
            }
            Std::Tz => {
                if let Some(rest) = value.strip_prefix("UTC") {
                    zone_name = Some("UTC".into());
                    offset = Some(0);
                    rest
                } else {
                    let n = value.bytes().take_while(|b| b.is_ascii_uppercase()).count();
                    if n < 3 {
                        return Err(fail());
                    }
                    zone_name = Some(value[..n].to_string());
                    &value[n..]
                }
            }
            Std::Frac(digits, trim, _) => {
                let b = value.as_bytes();
                if trim {
                    if b.len() < 2 || !(b[0] == b'.' || b[0] == b',') || !b[1].is_ascii_digit() {
                        value
                    } else {
                        let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                        nanos = frac_nanos(&value[1..1 + n]);
                        &value[1 + n..]
                    }
                } else {
                    if b.len() < digits + 1
                        || !(b[0] == b'.' || b[0] == b',')
                        || !b[1..=digits].iter().all(u8::is_ascii_digit)
                    {
                        return Err(fail());
                    }
                    nanos = frac_nanos(&value[1..=digits]);
                    &value[digits + 1..]
                }
            }
            _ => {
                // Numeric and ISO 8601 zones.
                let iso = matches!(
                    std,
                    Std::Iso8601Tz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601ColonSecondsTz
                );
                if iso && value.starts_with('Z') {
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                    &value[1..]
                } else {
                    let (off, rest) = parse_num_zone(std, value).ok_or_else(fail)?;
                    offset = Some(off);
                    rest
                }
            }
        };
    }
    if let Some(pm) = pm {
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 {
            hour = 0;
        }
    }
    let date = if yday > 0 && month == 1 && day == 1 {
        NaiveDate::from_yo_opt(year, yday)
    } else {
        NaiveDate::from_ymd_opt(year, month, day)
    };
    let date = date.ok_or_else(|| {
        format!(
            "parsing time {}: day out of range",
            crate::fmt::quote(orig_value)
        )
    })?;
    let wall = date.and_hms_opt(hour, min, sec).ok_or_else(|| {
        format!(
            "parsing time {}: out of range",
            crate::fmt::quote(orig_value)
        )
    })?;
    Ok(Parsed {
        wall,
        nanos,
        offset,
        zone_name,
    })
}

fn frac_nanos(digits: &str) -> u32 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

fn parse_num_zone(std: Std, value: &str) -> Option<(i32, &str)> {
    let b = value.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |s: &str| -> Option<i32> {
        if s.len() == 2 && s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (h, m, s, len) = match std {
        Std::NumShortTz | Std::Iso8601ShortTz => (digits(value.get(1..3)?)?, 0, 0, 3),
        Std::NumTz | Std::Iso8601Tz => (digits(value.get(1..3)?)?, digits(value.get(3..5)?)?, 0, 5),
        Std::NumColonTz | Std::Iso8601ColonTz => {
            if b.get(3) != Some(&b':') {
                return None;
            }
            (digits(value.get(1..3)?)?, digits(value.get(4..6)?)?, 0, 6)
        }
        Std::NumSecondsTz | Std::Iso8601SecondsTz => (
            digits(value.get(1..3)?)?,
            digits(value.get(3..5)?)?,
            digits(value.get(5..7)?)?,
            7,
        ),
        _ => {
            if b.get(3) != Some(&b':') || b.get(6) != Some(&b':') {
                return None;
            }
            (
                digits(value.get(1..3)?)?,
                digits(value.get(4..6)?)?,
                digits(value.get(7..9)?)?,
                9,
            )
        }
    };
    Some((sign * (h * 3600 + m * 60 + s), &value[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_go_layouts() {
        let wall = NaiveDate::from_ymd_opt(2019, 6, 13)
            .unwrap()
            .and_hms_opt(20, 39, 39)
            .unwrap();
        assert_eq!(
            format("02 Jan 06 15:04 -0700", wall, 0, 0, "UTC"),
            "13 Jun 19 20:39 +0000"
        );
        assert_eq!(
            format("Monday, January 2 2006 3:04PM MST", wall, 0, 19800, "IST"),
            "Thursday, June 13 2019 8:39PM IST"
        );
        assert_eq!(
            format(
                "2006-01-02T15:04:05.999999999Z07:00",
                wall,
                120_000_000,
                0,
                "UTC"
            ),
            "2019-06-13T20:39:39.12Z"
        );
    }

    #[test]
    fn parses_with_go_layouts() {
        let p = parse("2006-01-02", "2017-12-31").unwrap();
        assert_eq!(p.wall.to_string(), "2017-12-31 00:00:00");
        let p = parse("2006-01-02T15:04:05Z07:00", "2020-02-03T04:05:06+05:30").unwrap();
        assert_eq!(p.offset, Some(19800));
        let e = parse("2006-01-02", "x").err().unwrap();
        assert_eq!(
            e,
            r#"parsing time "x" as "2006-01-02": cannot parse "x" as "2006""#
        );
    }
}
