//! Sprig's date functions (`now`, `date`, `dateInZone`, `htmlDate`, `toDate`, `dateModify`,
//! `ago`, `duration`, `durationRound`, `unixEpoch`, and their snake_case aliases) over a Go
//! `time.Time` value, with Go layouts and Go's `time.Duration` text ("26h3m4s").

use std::rc::Rc;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};

use super::args;
use super::golayout;
use super::zones::{self, Location};
use super::{alias, fixed};
use crate::value::{FuncMap, Object, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "now", 0, |_| Ok(GoTime::now().into_value()));
    fixed(m, "date", 2, |a| {
        let layout = args::string(&a[0])?;
        Ok(date_in_zone(&layout, &a[1], "Local").into())
    });
    fixed(m, "dateInZone", 3, |a| {
        let layout = args::string(&a[0])?;
        let zone = args::string(&a[2])?;
        Ok(date_in_zone(&layout, &a[1], &zone).into())
    });
    alias(m, "date_in_zone", "dateInZone");
    fixed(m, "htmlDate", 1, |a| {
        Ok(date_in_zone("2006-01-02", &a[0], "Local").into())
    });
    fixed(m, "htmlDateInZone", 2, |a| {
        let zone = args::string(&a[1])?;
        Ok(date_in_zone("2006-01-02", &a[0], &zone).into())
    });
    fixed(m, "dateModify", 2, |a| {
        let d = args::string(&a[0])?;
        let t = time_arg(&a[1])?;
        Ok(match parse_duration(&d) {
            Ok(nanos) => t.add_nanos(nanos).into_value(),
            Err(_) => t.into_value(),
        })
    });
    alias(m, "date_modify", "dateModify");
    fixed(m, "mustDateModify", 2, |a| {
        let d = args::string(&a[0])?;
        let t = time_arg(&a[1])?;
        Ok(t.add_nanos(parse_duration(&d)?).into_value())
    });
    alias(m, "must_date_modify", "mustDateModify");
    fixed(m, "toDate", 2, |a| {
        let (layout, s) = (args::string(&a[0])?, args::string(&a[1])?);
        Ok(parse_in_local(&layout, &s)
            .unwrap_or_else(|_| GoTime::zero())
            .into_value())
    });
    fixed(m, "mustToDate", 2, |a| {
        let (layout, s) = (args::string(&a[0])?, args::string(&a[1])?);
        Ok(parse_in_local(&layout, &s)?.into_value())
    });
    fixed(m, "ago", 1, |a| {
        let t = time_of(&a[0]).unwrap_or_else(GoTime::now);
        let now = GoTime::now();
        let nanos = (now.secs as i128 - t.secs as i128) * 1_000_000_000
            + (now.nanos as i128 - t.nanos as i128);
        Ok(duration_string(round_to_second(nanos)).into())
    });
    fixed(m, "duration", 1, |a| {
        let secs = match &a[0] {
            Value::Int64(i) => *i,
            other => crate::fmt::sprint(other).parse::<i64>().unwrap_or(0),
        };
        Ok(duration_string(secs as i128 * 1_000_000_000).into())
    });
    fixed(m, "durationRound", 1, |a| {
        let nanos: i128 = match &a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0) as i128,
            Value::Int64(i) => *i as i128,
            Value::Object(o) => match o.as_any().downcast_ref::<GoTime>() {
                Some(t) => {
                    let now = GoTime::now();
                    (now.secs as i128 - t.secs as i128) * 1_000_000_000
                        + (now.nanos as i128 - t.nanos as i128)
                }
                None => 0,
            },
            _ => 0,
        };
        Ok(duration_round(nanos.unsigned_abs()).into())
    });
    fixed(m, "unixEpoch", 1, |a| {
        Ok(time_arg(&a[0])?.secs.to_string().into())
    });
}

/// Go's `time.Time`: an instant and the location it is shown in.
#[derive(Clone, Debug)]
pub struct GoTime {
    secs: i64,
    nanos: u32,
    loc: Rc<Location>,
}

/// Seconds from 0001-01-01 to the Unix epoch (Go's zero time is year 1).
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

impl GoTime {
    fn now() -> GoTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        GoTime {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
            loc: Rc::new(zones::local()),
        }
    }

    fn zero() -> GoTime {
        GoTime {
            secs: ZERO_TIME_UNIX,
            nanos: 0,
            loc: Rc::new(Location::utc()),
        }
    }

    fn unix(secs: i64) -> GoTime {
        GoTime {
            secs,
            nanos: 0,
            loc: Rc::new(zones::local()),
        }
    }

    fn into_value(self) -> Value {
        Value::Object(Rc::new(self))
    }

    fn offset_and_abbrev(&self) -> (i32, String) {
        let (off, abbr) = self.loc.lookup(self.secs);
        (off, abbr.to_string())
    }

    fn wall(&self) -> NaiveDateTime {
        let (off, _) = self.offset_and_abbrev();
        DateTime::from_timestamp(self.secs.saturating_add(off as i64), 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    fn format(&self, layout: &str) -> String {
        let (off, abbr) = self.offset_and_abbrev();
        golayout::format(layout, self.wall(), self.nanos, off, &abbr)
    }

    fn in_location(&self, loc: Location) -> GoTime {
        GoTime {
            secs: self.secs,
            nanos: self.nanos,
            loc: Rc::new(loc),
        }
    }

    fn add_nanos(&self, nanos: i64) -> GoTime {
        let total = self.nanos as i64 + nanos.rem_euclid(1_000_000_000);
        GoTime {
            secs: self
                .secs
                .saturating_add(nanos.div_euclid(1_000_000_000) + total / 1_000_000_000),
            nanos: (total % 1_000_000_000) as u32,
            loc: self.loc.clone(),
        }
    }
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let wall = self.wall();
        Some(match name {
            "Unix" => Value::Int64(self.secs),
            "UnixMilli" => Value::Int64(
                self.secs
                    .wrapping_mul(1000)
                    .wrapping_add(self.nanos as i64 / 1_000_000),
            ),
            "UnixNano" => Value::Int64(
                self.secs
                    .wrapping_mul(1_000_000_000)
                    .wrapping_add(self.nanos as i64),
            ),
            "Year" => Value::Int(wall.year() as i64),
            "Day" => Value::Int(wall.day() as i64),
            "Hour" => Value::Int(wall.hour() as i64),
            "Minute" => Value::Int(wall.minute() as i64),
            "Second" => Value::Int(wall.second() as i64),
            "Nanosecond" => Value::Int(self.nanos as i64),
            "YearDay" => Value::Int(wall.ordinal() as i64),
            "String" => Value::str(self.go_string()),
            "UTC" => self.in_location(Location::utc()).into_value(),
            "Local" => self.in_location(zones::local()).into_value(),
            "IsZero" => Value::Bool(self.secs == ZERO_TIME_UNIX && self.nanos == 0),
            _ => return None,
        })
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Format" | "Add" | "In") || self.field(name).is_some()
    }

    fn call_method(&self, name: &str, a: &[Value]) -> Option<Result<Value, String>> {
        if a.is_empty()
            && let Some(v) = self.field(name)
        {
            return Some(Ok(v));
        }
        Some(match name {
            "Format" => args::arity(name, a, 1)
                .and_then(|_| args::string(&a[0]))
                .map(|layout| self.format(&layout).into()),
            "Add" => args::arity(name, a, 1).and_then(|_| match &a[0] {
                Value::Int(n) | Value::Int64(n) => Ok(self.add_nanos(*n).into_value()),
                other => Err(args::wrong_type("time.Duration", other)),
            }),
            "In" => Err("time.Location values are not available in templates".into()),
            _ => return None,
        })
    }

    /// Go's `Time.String`.
    fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    fn to_data(&self) -> Option<Value> {
        Some(Value::str(
            self.format("2006-01-02T15:04:05.999999999Z07:00"),
        ))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A `time.Time` parameter.
fn time_arg(v: &Value) -> Result<GoTime, String> {
    match v {
        Value::Object(o) => o
            .as_any()
            .downcast_ref::<GoTime>()
            .cloned()
            .ok_or_else(|| args::wrong_type("time.Time", v)),
        other => Err(args::wrong_type("time.Time", other)),
    }
}

/// Sprig's date argument: a time, or Unix seconds as int/int64; `None` for anything else.
fn time_of(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<GoTime>().cloned(),
        Value::Int(i) | Value::Int64(i) => Some(GoTime::unix(*i)),
        _ => None,
    }
}

/// Sprig's `dateInZone`: other argument types mean "now"; an unknown zone means UTC.
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let t = time_of(date).unwrap_or_else(GoTime::now);
    let loc = Location::load(zone).unwrap_or_else(|_| Location::utc());
    t.in_location(loc).format(layout)
}

/// `time.ParseInLocation(layout, value, time.Local)`.
fn parse_in_local(layout: &str, value: &str) -> Result<GoTime, String> {
    let p = golayout::parse(layout, value)?;
    let local = zones::local();
    let wall_secs = p.wall.and_utc().timestamp();
    let (secs, loc) = match (p.offset, p.zone_name) {
        (Some(0), Some(name)) if name == "UTC" => (wall_secs, Location::utc()),
        (Some(off), _) => {
            let secs = wall_secs - off as i64;
            // A named zone when Local has that offset then, else an unnamed fixed zone.
            let (local_off, _) = local.lookup(secs);
            let loc = if local_off == off {
                local
            } else {
                Location::fixed("", off)
            };
            (secs, loc)
        }
        (None, Some(abbr)) => {
            let (local_off, local_abbr) = local.lookup(wall_secs);
            if local_abbr == abbr {
                (wall_secs - local_off as i64, local)
            } else {
                (wall_secs, Location::fixed(&abbr, 0))
            }
        }
        (None, None) => {
            let (off, _) = local.lookup(wall_secs);
            (wall_secs - off as i64, local)
        }
    };
    Ok(GoTime {
        secs,
        nanos: p.nanos,
        loc: Rc::new(loc),
    })
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;

fn round_to_second(nanos: i128) -> i128 {
    let r = nanos.rem_euclid(NANOS_PER_SECOND);
    let down = nanos - r;
    // Go's Duration.Round rounds halves away from zero.
    if r + r < NANOS_PER_SECOND || (r + r == NANOS_PER_SECOND && nanos < 0) {
        down
    } else {
        down + NANOS_PER_SECOND
    }
}

/// Go's `time.Duration.String`.
pub(super) fn duration_string(nanos: i128) -> String {
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = if u < 1_000_000_000 {
        if u == 0 {
            return "0s".into();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        format!("{}{unit}", frac_text(u, prec))
    } else {
        let secs_text = frac_text(u % 60_000_000_000, 9);
        let minutes = u / 60_000_000_000;
        if minutes == 0 {
            format!("{secs_text}s")
        } else if minutes < 60 {
            format!("{minutes}m{secs_text}s")
        } else {
            format!("{}h{}m{secs_text}s", minutes / 60, minutes % 60)
        }
    };
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / 10^prec` with its fraction, trailing zeros (and a bare point) dropped.
fn frac_text(v: u128, prec: u32) -> String {
    let scale = 10u128.pow(prec);
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

/// Sprig's `durationRound`: the largest whole unit, "2h", "1d", "3mo", "1y".
fn duration_round(u: u128) -> String {
    const SECOND: u128 = 1_000_000_000;
    const MINUTE: u128 = 60 * SECOND;
    const HOUR: u128 = 60 * MINUTE;
    const DAY: u128 = 24 * HOUR;
    const MONTH: u128 = 30 * DAY;
    const YEAR: u128 = 365 * DAY;
    for (unit, suffix) in [
        (YEAR, "y"),
        (MONTH, "mo"),
        (DAY, "d"),
        (HOUR, "h"),
        (MINUTE, "m"),
        (SECOND, "s"),
    ] {
        if u > unit {
            return format!("{}{suffix}", u / unit);
        }
    }
    "0s".into()
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(super) fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let invalid = || format!("time: invalid duration {}", crate::fmt::quote(orig));
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut total_int: i128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &rest[..n];
            s = &rest[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::fmt::quote(orig)
                ));
            }
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::fmt::quote(other),
                    crate::fmt::quote(orig)
                ));
            }
        };
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        total_int = total_int
            .checked_add(int.checked_mul(scale).ok_or_else(invalid)?)
            .ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let f: f64 = format!("0.{frac_part}").parse().unwrap_or(0.0);
            total += f * scale as f64;
        }
    }
    let nanos = total_int + total as i128;
    if nanos > i64::MAX as i128 {
        return Err(invalid());
    }
    Ok(if neg { -(nanos as i64) } else { nanos as i64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(duration_string(93784 * NANOS_PER_SECOND), "26h3m4s");
        assert_eq!(duration_string(60 * NANOS_PER_SECOND), "1m0s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(0), "0s");
        assert_eq!(parse_duration("2h5s").unwrap(), 7_205_000_000_000);
        assert_eq!(parse_duration("1.5h").unwrap(), 5_400_000_000_000);
        assert!(parse_duration("1f").is_err());
        assert_eq!(
            duration_round(parse_duration("2400h5s").unwrap() as u128),
            "3mo"
        );
    }

    #[test]
    fn formats_unix_seconds_in_zones() {
        assert_eq!(
            date_in_zone("02 Jan 06 15:04 -0700", &Value::Int(1_560_458_379), "UTC"),
            "13 Jun 19 20:39 +0000"
        );
        let t = parse_in_local("2006-01-02", "2017-12-31").unwrap();
        assert_eq!(t.format("02/01/2006"), "31/12/2017");
    }
}
