//! The write-ahead log's byte format: segment header, frames (length, checksum, entries) and
//! their decoding. No I/O.

use super::Entry;
use crate::store::StoreError;

/// First bytes of every segment (format version in the last byte).
pub const MAGIC: &[u8; 8] = b"TSWAL\x00\x00\x01";
pub(super) const HEAD: usize = 4 + 16;

pub(super) fn encode_frame(entries: &[Entry], buf: &mut Vec<u8>) -> Result<(), StoreError> {
    let too_big = || StoreError::Backend("write-ahead log frame over 4 GiB".into());
    let start = buf.len();
    buf.extend_from_slice(&[0; HEAD]);
    let count = u32::try_from(entries.len()).map_err(|_| too_big())?;
    buf.extend_from_slice(&count.to_le_bytes());
    for ((table, key), value) in entries {
        buf.push(*table);
        buf.extend_from_slice(key);
        match value {
            None => buf.push(0),
            Some(v) => {
                buf.push(1);
                let len = u32::try_from(v.len()).map_err(|_| too_big())?;
                buf.extend_from_slice(&len.to_le_bytes());
                buf.extend_from_slice(v);
            }
        }
    }
    // The checksum is left to the writer thread ([`seal`]), off the caller's path.
    let len = u32::try_from(buf.len() - start - HEAD).map_err(|_| too_big())?;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Fills in the checksum of every frame in `bytes` (whole frames from [`encode_frame`]).
pub(super) fn seal(bytes: &mut [u8]) {
    let mut at = 0;
    while let Some(len) = bytes.get(at..at + 4) {
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(payload) = bytes.get(at + HEAD..at + HEAD + len) else {
            break; // not a whole frame: cannot happen with encode_frame's output
        };
        let sum = blake3::hash(payload);
        bytes[at + 4..at + HEAD].copy_from_slice(&sum.as_bytes()[..16]);
        at += HEAD + len;
    }
}

/// Reads a segment's frames into `out`; on a bad frame, returns its offset and the problem
/// (the frames before it are kept).
pub(super) fn read_segment(bytes: &[u8], out: &mut Vec<Vec<Entry>>) -> Result<(), (usize, String)> {
    if bytes.len() < MAGIC.len() {
        return Err((0, "segment shorter than its header".into()));
    }
    if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err((0, "not a write-ahead log segment of this version".into()));
    }
    let mut at = MAGIC.len();
    while at < bytes.len() {
        let frame = bytes
            .get(at..at + HEAD)
            .ok_or((at, "frame header cut short".to_string()))?;
        let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        let payload = bytes
            .get(at + HEAD..at + HEAD + len)
            .ok_or((at, "frame cut short".to_string()))?;
        if blake3::hash(payload).as_bytes()[..16] != frame[4..HEAD] {
            return Err((at, "frame checksum mismatch".into()));
        }
        out.push(decode_payload(payload).map_err(|p| (at, p))?);
        at += HEAD + len;
    }
    Ok(())
}

fn decode_payload(mut p: &[u8]) -> Result<Vec<Entry>, String> {
    fn take<'a>(p: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        let (head, rest) = p
            .split_at_checked(n)
            .ok_or_else(|| "frame payload cut short".to_string())?;
        *p = rest;
        Ok(head)
    }
    fn u32_of(b: &[u8]) -> usize {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    }
    let count = u32_of(take(&mut p, 4)?);
    let mut entries = Vec::with_capacity(count.min(p.len() / 18));
    for _ in 0..count {
        let table = take(&mut p, 1)?[0];
        if usize::from(table) >= crate::store::Table::ALL.len() {
            return Err(format!("unknown table id {table}"));
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(take(&mut p, 16)?);
        let value = match take(&mut p, 1)?[0] {
            0 => None,
            1 => {
                let len = u32_of(take(&mut p, 4)?);
                Some(take(&mut p, len)?.to_vec())
            }
            tag => return Err(format!("unknown entry tag {tag}")),
        };
        entries.push(((table, key), value));
    }
    if !p.is_empty() {
        return Err("trailing bytes in frame payload".into());
    }
    Ok(entries)
}
