//! Time zones for the date functions: Go's `time.LoadLocation` over the system's TZif files
//! (`/usr/share/zoneinfo`), "UTC", and "Local" (the `TZ` variable, else `/etc/localtime`).
//! Instants past a zone's last recorded transition keep its last offset (Go would apply the
//! zone's POSIX rule; Debian's data records transitions through 2037, so this rarely matters).

use std::path::Path;

/// A named zone: the offsets it has had and when they changed.
#[derive(Clone, Debug)]
pub(super) struct Location {
    /// Go's location name ("UTC", "Local", "Asia/Kolkata").
    pub name: String,
    /// Transition instants (Unix seconds), ascending, with the type index in force from each.
    transitions: Vec<(i64, usize)>,
    /// (offset seconds east of UTC, abbreviation).
    types: Vec<(i32, String)>,
}

impl Location {
    pub fn utc() -> Location {
        Location {
            name: "UTC".into(),
            transitions: Vec::new(),
            types: vec![(0, "UTC".into())],
        }
    }

    /// A fixed zone (a parsed "-0700" offset or an abbreviation Go fabricates).
    pub fn fixed(name: &str, offset: i32) -> Location {
        Location {
            name: name.to_string(),
            transitions: Vec::new(),
            types: vec![(offset, name.to_string())],
        }
    }

    /// `time.LoadLocation(name)`.
    pub fn load(name: &str) -> Result<Location, String> {
        match name {
            "" | "UTC" => return Ok(Location::utc()),
            "Local" => return Ok(local()),
            _ => {}
        }
        let invalid = name.starts_with('/')
            || name.split('/').any(|p| p == ".." || p.is_empty())
            || name.contains('\\');
        if invalid {
            return Err(format!("time: invalid location name \"{name}\""));
        }
        let root = std::env::var("ZONEINFO").unwrap_or_else(|_| "/usr/share/zoneinfo".into());
        let data = std::fs::read(Path::new(&root).join(name))
            .map_err(|_| format!("unknown time zone {name}"))?;
        parse_tzif(name, &data).ok_or_else(|| format!("unknown time zone {name}"))
    }

    /// Offset and abbreviation in force at `unix` seconds.
    pub fn lookup(&self, unix: i64) -> (i32, &str) {
        let idx = match self.transitions.binary_search_by(|(t, _)| t.cmp(&unix)) {
            Ok(i) => Some(self.transitions[i].1),
            Err(0) => None,
            Err(i) => Some(self.transitions[i - 1].1),
        };
        // Before the first transition Go uses the first standard-time type; the first type is
        // a good stand-in.
        let (off, abbr) = &self.types[idx.unwrap_or(0).min(self.types.len() - 1)];
        (*off, abbr)
    }
}

thread_local! {
    static LOCAL: std::cell::OnceCell<Location> = const { std::cell::OnceCell::new() };
}

/// Go's `time.Local`, read once per thread like Go reads it once per process.
pub(super) fn local() -> Location {
    LOCAL.with(|l| l.get_or_init(load_local).clone())
}

fn load_local() -> Location {
    let loaded = match std::env::var("TZ") {
        Ok(tz) if tz.is_empty() => Some(Location::utc()),
        Ok(tz) => {
            let name = tz.trim_start_matches(':');
            if name.starts_with('/') {
                std::fs::read(name)
                    .ok()
                    .and_then(|d| parse_tzif("Local", &d))
            } else {
                Location::load(name).ok()
            }
        }
        Err(_) => std::fs::read("/etc/localtime")
            .ok()
            .and_then(|d| parse_tzif("Local", &d)),
    };
    let mut loc = loaded.unwrap_or_else(Location::utc);
    loc.name = "Local".into();
    loc
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parses a TZif file (v1 data, or the 64-bit v2+ block when present).
fn parse_tzif(name: &str, data: &[u8]) -> Option<Location> {
    if data.get(..4)? != b"TZif" {
        return None;
    }
    let version = *data.get(4)?;
    let counts = |base: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            *slot = be32(data, base + 20 + i * 4)? as usize;
        }
        Some(c)
    };
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(0)?;
    let (base, time_size, leap_size) = if version >= b'2' {
        let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        (44 + v1_len, 8usize, 12usize)
    } else {
        (0, 4usize, 8usize)
    };
    let [_, _, _, timecnt, typecnt, charcnt] = counts(base)?;
    let _ = leap_size;
    let mut at = base + 44;
    let mut transitions = Vec::with_capacity(timecnt);
    let times_at = at;
    at += timecnt * time_size;
    let idx_at = at;
    at += timecnt;
    for i in 0..timecnt {
        let t = if time_size == 8 {
            i64::from_be_bytes(
                data.get(times_at + i * 8..times_at + i * 8 + 8)?
                    .try_into()
                    .ok()?,
            )
        } else {
            be32(data, times_at + i * 4)? as i32 as i64
        };
        transitions.push((t, *data.get(idx_at + i)? as usize));
    }
    let types_at = at;
    at += typecnt * 6;
    let chars = data.get(at..at + charcnt)?;
    let mut types = Vec::with_capacity(typecnt);
    for i in 0..typecnt {
        let off = be32(data, types_at + i * 6)? as i32;
        let abbr_idx = *data.get(types_at + i * 6 + 5)? as usize;
        let abbr: String = chars
            .get(abbr_idx..)?
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as char)
            .collect();
        types.push((off, abbr));
    }
    if types.is_empty() {
        return None;
    }
    Some(Location {
        name: name.to_string(),
        transitions,
        types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_system_zones_when_present() {
        let Ok(loc) = Location::load("Asia/Kolkata") else {
            eprintln!("no zoneinfo for Asia/Kolkata; skipping");
            return;
        };
        assert_eq!(loc.lookup(1_560_458_379), (19800, "IST"));
        assert!(Location::load("../etc/passwd").is_err());
        assert_eq!(Location::load("UTC").unwrap().lookup(0), (0, "UTC"));
    }
}
