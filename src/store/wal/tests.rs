//! Unit tests of the write-ahead log: read-back order, torn tails, corruption, gaps, failure.

use super::*;

fn entries(n: u8) -> Vec<Entry> {
    vec![((3, [n; 16]), Some(vec![n; 3])), ((4, [n; 16]), None)]
}

#[test]
fn frames_read_back_in_order_and_a_torn_tail_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (wal, old) = Wal::open(dir.path()).expect("open");
        assert!(old.is_empty());
        for n in 1..=3 {
            wal.append(&entries(n)).expect("append");
        }
        wal.sync(wal.appended()).expect("sync");
    }
    let path = segment_path(dir.path(), 1);
    let full = std::fs::read(&path).expect("read");
    // A crash in the middle of the last frame's write.
    std::fs::write(&path, &full[..full.len() - 5]).expect("cut");
    let (wal, got) = Wal::open(dir.path()).expect("reopen");
    assert_eq!(got, vec![entries(1), entries(2)]);
    assert_eq!(wal.segment(), 2, "new frames go to a new segment");
}

#[test]
fn a_bad_frame_in_an_older_segment_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (wal, _) = Wal::open(dir.path()).expect("open");
        wal.append(&entries(1)).expect("append");
        wal.rotate();
        wal.append(&entries(2)).expect("append");
        wal.sync(2).expect("sync");
    }
    let path = segment_path(dir.path(), 1);
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).expect("flip");
    let err = Wal::open(dir.path()).err().expect("corrupt older segment");
    assert!(err.contains("frame checksum mismatch"), "{err}");
}

#[test]
fn segments_before_a_gap_are_covered_by_a_checkpoint_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (wal, _) = Wal::open(dir.path()).expect("open");
        for n in 1..=3 {
            wal.append(&entries(n)).expect("append");
            wal.rotate();
        }
        wal.sync(3).expect("sync");
    }
    // Segment 2's deletion reached the disk, segment 1's did not.
    std::fs::remove_file(segment_path(dir.path(), 2)).expect("rm");
    let (_, got) = Wal::open(dir.path()).expect("reopen");
    assert_eq!(got, vec![entries(3)]);
}

#[test]
fn a_rotation_with_no_frame_keeps_the_segment_so_no_gap_is_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path()).expect("open");
    let (first, _) = wal.rotate();
    assert_eq!(wal.rotate().0, first, "nothing appended: same segment");
    wal.append(&entries(1)).expect("append");
    assert_eq!(wal.rotate().0, first + 1);
}

#[test]
fn after_a_failure_appends_and_waits_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path()).expect("open");
    let seq = wal.append(&entries(1)).expect("append");
    wal.fail("disk gone");
    assert!(wal.sync(seq).is_err());
    let err = wal.append(&entries(2)).expect_err("refused");
    assert!(err.to_string().contains("disk gone"), "{err}");
    assert_eq!(wal.health(), Err("write-ahead log: disk gone".to_string()));
}

#[test]
fn the_frame_layout_is_pinned() {
    let mut buf = Vec::new();
    let entries: Vec<Entry> = vec![
        ((3, [0xAA; 16]), Some(b"xy".to_vec())),
        ((4, [0xBB; 16]), None),
    ];
    frame::encode_frame(&entries, &mut buf).expect("encode");
    frame::seal(&mut buf);
    let mut payload = vec![2, 0, 0, 0, 3];
    payload.extend([0xAA; 16]);
    payload.extend([1, 2, 0, 0, 0, b'x', b'y', 4]);
    payload.extend([0xBB; 16]);
    payload.push(0);
    let mut want = (payload.len() as u32).to_le_bytes().to_vec();
    want.extend(&blake3::hash(&payload).as_bytes()[..16]);
    want.extend(&payload);
    assert_eq!(buf, want);
    assert_eq!(frame::MAGIC, b"TSWAL\x00\x00\x01");
}
