//! The MMDB data-section encoding (MaxMind DB spec 2.0, "Output Data Section"): typed values,
//! each a control byte (type and payload size) followed by its big-endian payload.
//!
//! Only the types this writer needs are modelled. Nothing here knows about CSV rows or the
//! search tree; it must never emit pointers (the writer deduplicates whole records instead).

use super::GeoDbError;

/// Largest payload size (bytes, or entries for maps and arrays) the control byte can express.
const MAX_PAYLOAD: usize = 65_821 + 0xFF_FFFF;

/// One value of the data section.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// UTF-8 string (type 2).
    Str(String),
    /// IEEE-754 binary64 (type 3).
    Double(f64),
    /// IEEE-754 binary32 (type 15), as the ip-location-db files store coordinates.
    Float(f32),
    /// Unsigned 16-bit integer (type 5).
    U16(u16),
    /// Unsigned 32-bit integer (type 6).
    U32(u32),
    /// Unsigned 64-bit integer (type 9).
    U64(u64),
    /// Boolean (type 14); its value lives in the size bits.
    Bool(bool),
    /// Map with string keys (type 7), written in the given order.
    Map(Vec<(&'static str, Value)>),
    /// Array (type 11).
    Array(Vec<Value>),
}

const TYPE_STRING: u8 = 2;
const TYPE_DOUBLE: u8 = 3;
const TYPE_U16: u8 = 5;
const TYPE_U32: u8 = 6;
const TYPE_MAP: u8 = 7;
const TYPE_U64: u8 = 9;
const TYPE_ARRAY: u8 = 11;
const TYPE_BOOL: u8 = 14;
const TYPE_FLOAT: u8 = 15;

impl Value {
    /// Appends this value's encoding to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), GeoDbError> {
        match self {
            Value::Str(s) => {
                control(out, TYPE_STRING, s.len())?;
                out.extend_from_slice(s.as_bytes());
            }
            Value::Double(d) => {
                control(out, TYPE_DOUBLE, 8)?;
                out.extend_from_slice(&d.to_be_bytes());
            }
            Value::Float(f) => {
                control(out, TYPE_FLOAT, 4)?;
                out.extend_from_slice(&f.to_be_bytes());
            }
            Value::U16(n) => uint(out, TYPE_U16, &n.to_be_bytes())?,
            Value::U32(n) => uint(out, TYPE_U32, &n.to_be_bytes())?,
            Value::U64(n) => uint(out, TYPE_U64, &n.to_be_bytes())?,
            Value::Bool(b) => control(out, TYPE_BOOL, usize::from(*b))?,
            Value::Map(pairs) => {
                control(out, TYPE_MAP, pairs.len())?;
                for (key, value) in pairs {
                    control(out, TYPE_STRING, key.len())?;
                    out.extend_from_slice(key.as_bytes());
                    value.encode(out)?;
                }
            }
            Value::Array(items) => {
                control(out, TYPE_ARRAY, items.len())?;
                for item in items {
                    item.encode(out)?;
                }
            }
        }
        Ok(())
    }
}

/// Writes an unsigned integer with its leading zero bytes dropped (a zero has no payload).
fn uint(out: &mut Vec<u8>, kind: u8, be_bytes: &[u8]) -> Result<(), GeoDbError> {
    let skip = be_bytes.iter().take_while(|b| **b == 0).count();
    let payload = be_bytes.get(skip..).unwrap_or_default();
    control(out, kind, payload.len())?;
    out.extend_from_slice(payload);
    Ok(())
}

/// Writes the control byte for `kind` with payload `size`: types 1–7 sit in the top three bits;
/// higher types are "extended" (top bits 0, next byte = type − 7). Sizes ≥ 29 spill into 1–3
/// following bytes, after the extended-type byte.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) -> Result<(), GeoDbError> {
    if size > MAX_PAYLOAD {
        return Err(GeoDbError::ValueTooLarge { size });
    }
    let (size_bits, extra): (u8, &[u8]) = match size {
        0..29 => (size as u8, &[]),
        29..285 => (29, &[(size - 29) as u8]),
        285..65_821 => (30, &((size - 285) as u16).to_be_bytes()),
        _ => (31, &((size - 65_821) as u32).to_be_bytes()[1..]),
    };
    if kind <= 7 {
        out.push((kind << 5) | size_bits);
    } else {
        out.push(size_bits);
        out.push(kind - 7);
    }
    out.extend_from_slice(extra);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        v.encode(&mut out).expect("encodable");
        out
    }

    #[test]
    fn control_bytes_match_the_spec_examples() {
        // Spec: 01000010 = UTF-8 string, 2 bytes long.
        assert_eq!(bytes(&Value::Str("ab".into())), vec![0x42, b'a', b'b']);
        // Spec: 01011101 00110011 = string, 80 bytes long (29 + 51).
        let s80 = bytes(&Value::Str("x".repeat(80)));
        assert_eq!(&s80[..2], &[0x5D, 51]);
        // Spec: 01011110 0x3333 = string of 13,392 bytes (285 + 13,107).
        let big = bytes(&Value::Str("y".repeat(13_392)));
        assert_eq!(&big[..3], &[0x5E, 0x33, 0x33]);
        // 31: 65,821 + next three bytes.
        let huge = bytes(&Value::Str("z".repeat(65_821 + 0x010203)));
        assert_eq!(&huge[..4], &[0x5F, 0x01, 0x02, 0x03]);
    }

    #[test]
    fn integers_drop_leading_zero_bytes() {
        assert_eq!(bytes(&Value::U32(0)), vec![0xC0]);
        assert_eq!(bytes(&Value::U32(15169)), vec![0xC2, 0x3B, 0x41]);
        assert_eq!(bytes(&Value::U16(10)), vec![0xA1, 10]);
        // u64 is extended type 9: control 0b000_01000 | size, then 9 − 7 = 2.
        assert_eq!(bytes(&Value::U64(0x0102)), vec![0x02, 0x02, 0x01, 0x02]);
    }

    #[test]
    fn extended_types_and_doubles() {
        assert_eq!(bytes(&Value::Bool(true)), vec![0x01, 0x07]);
        assert_eq!(bytes(&Value::Bool(false)), vec![0x00, 0x07]);
        assert_eq!(bytes(&Value::Array(vec![])), vec![0x00, 0x04]);
        // Float is extended type 15: control 0b000_00100, then 15 − 7 = 8.
        let f = bytes(&Value::Float(1.5));
        assert_eq!(f, [&[0x04, 0x08][..], &1.5f32.to_be_bytes()[..]].concat());
        let d = bytes(&Value::Double(1.5));
        assert_eq!(d, [&[0x68][..], &1.5f64.to_be_bytes()[..]].concat());
        let m = bytes(&Value::Map(vec![("en", Value::Str("Paris".into()))]));
        assert_eq!(m, b"\xE1\x42en\x45Paris".to_vec());
    }
}
