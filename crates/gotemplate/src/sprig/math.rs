//! Sprig's math and number-conversion functions. Integer math goes through `cast.ToInt64` and
//! returns Go `int64` (wrapping like Go); the float variants (`addf`, `subf`, `mulf`, `divf`,
//! `add1f`) compute in decimal as `shopspring/decimal` does, so `addf 1.5 2.2 3` is exactly 6.7.

use super::args::{self, FnResult, to_float64, to_int64};
use super::lists::until_step;
use super::{alias, fixed, variadic};
use crate::value::{FuncMap, Value};

pub(super) fn register(m: &mut FuncMap) {
    fixed(m, "add1", 1, |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    variadic(m, "add", 0, |a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
        ))
    });
    fixed(m, "sub", 2, |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    fixed(m, "div", 2, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    fixed(m, "mod", 2, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    variadic(m, "mul", 1, |a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |acc, v| acc.wrapping_mul(to_int64(v))),
        ))
    });
    variadic(m, "max", 1, |a| {
        Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
    });
    alias(m, "biggest", "max");
    variadic(m, "min", 1, |a| {
        Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    variadic(m, "maxf", 1, |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |acc, v| go_max(acc, to_float64(v))),
        ))
    });
    variadic(m, "minf", 1, |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |acc, v| go_min(acc, to_float64(v))),
        ))
    });
    fixed(m, "add1f", 1, |a| {
        decimal_op(&a[0], &[Value::Int(1)], Op::Add)
    });
    variadic(m, "addf", 0, |a| decimal_op(&Value::Float(0.0), a, Op::Add));
    variadic(m, "subf", 1, |a| decimal_op(&a[0], &a[1..], Op::Sub));
    variadic(m, "mulf", 1, |a| decimal_op(&a[0], &a[1..], Op::Mul));
    variadic(m, "divf", 1, |a| decimal_op(&a[0], &a[1..], Op::Div));
    fixed(m, "ceil", 1, |a| Ok(Value::Float(to_float64(&a[0]).ceil())));
    fixed(m, "floor", 1, |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    variadic(m, "round", 2, |a| {
        let places = args::int(&a[1])?;
        let round_on = match a.get(2) {
            Some(Value::Float(f)) => *f,
            Some(Value::Int(i)) => *i as f64,
            Some(other) => return Err(args::wrong_type("float64", other)),
            None => 0.5,
        };
        Ok(Value::Float(round(to_float64(&a[0]), places, round_on)))
    });
    fixed(m, "atoi", 1, |a| {
        let s = args::string(&a[0])?;
        Ok(Value::Int(atoi(&s)))
    });
    fixed(m, "int", 1, |a| Ok(Value::Int(to_int64(&a[0]))));
    fixed(m, "int64", 1, |a| Ok(Value::Int64(to_int64(&a[0]))));
    fixed(m, "float64", 1, |a| Ok(Value::Float(to_float64(&a[0]))));
    fixed(m, "toDecimal", 1, |a| {
        let text = crate::fmt::sprint(&a[0]);
        Ok(Value::Int64(parse_octal(&text).unwrap_or(0)))
    });
    variadic(m, "seq", 0, |a| {
        let params = a.iter().map(args::int).collect::<Result<Vec<_>, _>>()?;
        seq(&params).map(Value::from)
    });
}

/// Go's `math.Max`: NaN wins, +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == b && a == 0.0 {
        return if a.is_sign_positive() { a } else { b };
    }
    a.max(b)
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == b && a == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    a.min(b)
}

/// Go's `strconv.Atoi`, 0 on failure as Sprig ignores the error.
fn atoi(s: &str) -> i64 {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse::<i64>().unwrap_or(0)
}

/// `strconv.ParseInt(s, 8, 64)`.
fn parse_octal(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    i64::from_str_radix(s, 8).ok()
}

/// Sprig's `round`: rounds up when the fraction at `places` reaches `round_on`.
fn round(value: f64, places: i64, round_on: f64) -> f64 {
    let pow = 10f64.powf(places as f64);
    let digit = pow * value;
    let frac = digit.fract();
    let rounded = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    rounded / pow
}

/// Sprig's `seq` (GNU seq's argument forms), numbers joined by spaces.
fn seq(params: &[i64]) -> Result<String, String> {
    let (start, end, step) = match params {
        [end] => {
            let step = if *end < 1 { -1 } else { 1 };
            (1, *end, step)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            (*start, *end, step)
        }
        [start, step, end] => {
            if end < start && *step > 0 {
                return Ok(String::new());
            }
            (*start, *end, *step)
        }
        _ => return Ok(String::new()),
    };
    let increment = if end < start { -1 } else { 1 };
    let items = until_step(start, end.wrapping_add(increment), step)?;
    Ok(items
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

/// The arithmetic of the decimal float functions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    fn decimal(self, a: Decimal, b: Decimal) -> Option<Decimal> {
        match self {
            Op::Add => Decimal::add(a, b),
            Op::Sub => Decimal::sub(a, b),
            Op::Mul => Decimal::mul(a, b),
            Op::Div => Decimal::div(a, b),
        }
    }

    /// Plain float math, used only when the decimal would overflow i128.
    fn float(self, a: f64, b: f64) -> f64 {
        match self {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
        }
    }
}

/// shopspring/decimal's `execDecimalOp`: start from `first`, fold the rest in decimal, then
/// convert back to the nearest float64.
fn decimal_op(first: &Value, rest: &[Value], op: Op) -> FnResult {
    let mut acc = Decimal::from_f64(to_float64(first));
    let mut approx = to_float64(first);
    for v in rest {
        let x = to_float64(v);
        if op == Op::Div && x == 0.0 {
            return Err("decimal division by 0".into());
        }
        approx = op.float(approx, x);
        acc = match (acc, Decimal::from_f64(x)) {
            (Some(a), Some(b)) => op.decimal(a, b),
            _ => None,
        };
    }
    Ok(Value::Float(match acc {
        Some(d) => d.to_f64(),
        None => approx,
    }))
}

/// A decimal number `mantissa × 10^exponent`, wide enough for the sums and products of two
/// shortest-form float64s.
#[derive(Clone, Copy, Debug)]
struct Decimal {
    mantissa: i128,
    exponent: i32,
}

/// shopspring/decimal's DivisionPrecision.
const DIVISION_PRECISION: i32 = 16;

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips to `f`.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let text = format!("{f:e}");
        let (mant, exp) = text.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int_part}{frac_part}");
        Some(Decimal {
            mantissa: digits.parse().ok()?,
            exponent: exp - frac_part.len() as i32,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mantissa, self.exponent)
            .parse()
            .unwrap_or(f64::NAN)
    }

    fn scale_to(self, exponent: i32) -> Option<i128> {
        let shift = u32::try_from(self.exponent - exponent).ok()?;
        self.mantissa.checked_mul(10i128.checked_pow(shift)?)
    }

    fn add(a: Decimal, b: Decimal) -> Option<Decimal> {
        let exponent = a.exponent.min(b.exponent);
        Some(Decimal {
            mantissa: a.scale_to(exponent)?.checked_add(b.scale_to(exponent)?)?,
            exponent,
        })
    }

    fn sub(a: Decimal, b: Decimal) -> Option<Decimal> {
        Decimal::add(
            a,
            Decimal {
                mantissa: b.mantissa.checked_neg()?,
                exponent: b.exponent,
            },
        )
    }

    fn mul(a: Decimal, b: Decimal) -> Option<Decimal> {
        Some(Decimal {
            mantissa: a.mantissa.checked_mul(b.mantissa)?,
            exponent: a.exponent.checked_add(b.exponent)?,
        })
    }

    /// `DivRound(b, 16)`: the quotient at 16 decimal places, halves away from zero.
    fn div(a: Decimal, b: Decimal) -> Option<Decimal> {
        if b.mantissa == 0 {
            return None;
        }
        // a/b × 10^16 = a.m × 10^(a.e - b.e + 16) / b.m
        let shift = a.exponent - b.exponent + DIVISION_PRECISION;
        let (num, den) = if shift >= 0 {
            (
                a.mantissa.checked_mul(10i128.checked_pow(shift as u32)?)?,
                b.mantissa,
            )
        } else {
            (
                a.mantissa,
                b.mantissa
                    .checked_mul(10i128.checked_pow((-shift) as u32)?)?,
            )
        };
        let mut q = num / den;
        let r = num % den;
        if r.checked_mul(2)?.abs() >= den.abs() {
            q += if (num < 0) != (den < 0) { -1 } else { 1 };
        }
        Some(Decimal {
            mantissa: q,
            exponent: -DIVISION_PRECISION,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(args: &[f64], op: Op) -> f64 {
        let vals: Vec<Value> = args.iter().map(|x| Value::Float(*x)).collect();
        match decimal_op(&vals[0], &vals[1..], op).unwrap() {
            Value::Float(x) => x,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn float_math_is_decimal() {
        assert_eq!(f(&[0.0, 3.0, 1.5, 2.2], Op::Add), 6.7);
        assert_eq!(f(&[1.2, 2.4, 10.0, 4.0], Op::Mul), 115.2);
        assert_eq!(f(&[4.5, 1.0, 3.0], Op::Sub), 0.5);
        assert_eq!(f(&[1.0, 3.0], Op::Div), 0.3333333333333333);
    }

    #[test]
    fn seq_matches_sprig() {
        assert_eq!(seq(&[-5]).unwrap(), "1 0 -1 -2 -3 -4 -5");
        assert_eq!(seq(&[0, 1, 3]).unwrap(), "0 1 2 3");
        assert_eq!(seq(&[0, 4]).unwrap(), "0 1 2 3 4");
        assert_eq!(seq(&[0, 1, 2, 3]).unwrap(), "");
    }
}
