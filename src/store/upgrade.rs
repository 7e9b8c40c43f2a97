//! Records as older store formats wrote them, and their re-encoding in the current format
//! ([`super::redb::STORE_FORMAT`]): read only by the in-place upgrade at open. Never used by
//! scoring or learning.
//!
//! - Formats 2–4 wrote profiles whose known devices lack the user-scoped fraud mark ([`v4`]).
//! - Format 5 wrote profiles and pending evidence without the Freeman attribute history and
//!   keys ([`v5`]); format-4 pending evidence has the format-5 layout.
//! - Formats 2–6 wrote typing profiles and pending typing evidence of the old digraph verifier
//!   (down-down latencies, a fading centre and spread per entry; [`v6`]).
//!
//! An upgraded profile starts with an empty attribute history (its Freeman likelihood ratios are
//! population-only, i.e. neutral, until it learns again); upgraded pending evidence carries no
//! attribute keys (its outcome teaches the rest of the profile as before). Old typing profiles
//! and pending typing evidence cannot be converted (the new verifier's entries are up-down
//! flights, not down-down latencies, and it keeps no spread): they become `None`, so the user's
//! typing is not enrolled until the next verified outcome, and the rest of the record is kept.

use super::records::{GeoFix, KnownDevice, KnownPlace, PendingEvidence, UserProfile};
use crate::keystroke::digraph::{DigraphProfile, DigraphSample};
use crate::privacy::Pseudonym;

/// Profile records of store formats 2–4 (devices without `fraud_ms`).
pub(crate) mod v4 {
    use serde::{Deserialize, Serialize};

    use super::{DigraphProfile, GeoFix, KnownPlace, Pseudonym};

    #[derive(Serialize, Deserialize)]
    pub(crate) struct KnownDevice {
        pub key: Pseudonym,
        pub first_verified_ms: i64,
        pub last_verified_ms: i64,
        pub count: u32,
    }

    #[derive(Serialize, Deserialize)]
    pub(crate) struct UserProfile {
        pub verified_count: u32,
        pub first_verified_ms: i64,
        pub last_verified_ms: i64,
        pub devices: Vec<KnownDevice>,
        pub places: Vec<KnownPlace>,
        pub last_fix: Option<GeoFix>,
        pub home: Option<(f64, f64)>,
        pub hours: [f32; 24],
        pub typing_desktop: Option<DigraphProfile>,
        pub typing_mobile: Option<DigraphProfile>,
    }
}

/// Profile and pending-evidence records of store format 5 (and format-4 pending evidence).
pub(crate) mod v5 {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::v6::TypingEvidence;
    use super::{DigraphProfile, GeoFix, KnownDevice, KnownPlace, Pseudonym};

    #[derive(Serialize, Deserialize)]
    pub(crate) struct UserProfile {
        pub verified_count: u32,
        pub first_verified_ms: i64,
        pub last_verified_ms: i64,
        pub devices: Vec<KnownDevice>,
        pub places: Vec<KnownPlace>,
        pub last_fix: Option<GeoFix>,
        pub home: Option<(f64, f64)>,
        pub hours: [f32; 24],
        pub typing_desktop: Option<DigraphProfile>,
        pub typing_mobile: Option<DigraphProfile>,
    }

    #[derive(Serialize, Deserialize)]
    pub(crate) struct PendingEvidence {
        pub user: Pseudonym,
        pub at_ms: i64,
        pub device: Option<Pseudonym>,
        pub ip: Option<Pseudonym>,
        pub fix: Option<GeoFix>,
        pub typing: Option<TypingEvidence>,
        pub hour: u8,
        pub learned: bool,
        pub receipt: [u8; 16],
        pub applied: u8,
        pub digest: [u8; 16],
    }
}

/// Profile and pending-evidence records of store format 6: the current layout, with the old
/// digraph verifier's typing profiles and samples.
pub(crate) mod v6 {
    use serde::{Deserialize, Serialize};

    use super::{DigraphProfile, DigraphSample, GeoFix, KnownDevice, KnownPlace, Pseudonym};
    use crate::store::freeman::{AttrHistory, AttrKeys};

    #[derive(Serialize, Deserialize)]
    pub(crate) struct TypingEvidence {
        pub mobile: bool,
        pub sample: DigraphSample,
    }

    #[derive(Serialize, Deserialize)]
    pub(crate) struct UserProfile {
        pub verified_count: u32,
        pub first_verified_ms: i64,
        pub last_verified_ms: i64,
        pub devices: Vec<KnownDevice>,
        pub places: Vec<KnownPlace>,
        pub last_fix: Option<GeoFix>,
        pub home: Option<(f64, f64)>,
        pub hours: [f32; 24],
        pub typing_desktop: Option<DigraphProfile>,
        pub typing_mobile: Option<DigraphProfile>,
        pub attributes: AttrHistory,
    }

    #[derive(Serialize, Deserialize)]
    pub(crate) struct PendingEvidence {
        pub user: Pseudonym,
        pub at_ms: i64,
        pub device: Option<Pseudonym>,
        pub ip: Option<Pseudonym>,
        pub fix: Option<GeoFix>,
        pub typing: Option<TypingEvidence>,
        pub hour: u8,
        pub learned: bool,
        pub receipt: [u8; 16],
        pub applied: u8,
        pub digest: [u8; 16],
        pub attributes: Option<AttrKeys>,
    }
}

/// Re-encodes a profile record written by store format `from` (2–6) in the current format:
/// everything is kept but the typing profiles, which cannot be converted (see the module doc).
pub fn upgrade_profile(bytes: &[u8], from: u32) -> Result<Vec<u8>, postcard::Error> {
    let new = if from <= 4 {
        let old: v4::UserProfile = postcard::from_bytes(bytes)?;
        UserProfile {
            verified_count: old.verified_count,
            first_verified_ms: old.first_verified_ms,
            last_verified_ms: old.last_verified_ms,
            devices: old
                .devices
                .into_iter()
                .map(|d| KnownDevice {
                    key: d.key,
                    first_verified_ms: d.first_verified_ms,
                    last_verified_ms: d.last_verified_ms,
                    count: d.count,
                    fraud_ms: None,
                })
                .collect(),
            places: old.places,
            last_fix: old.last_fix,
            home: old.home,
            hours: old.hours,
            typing_desktop: None,
            typing_mobile: None,
            attributes: Default::default(),
        }
    } else if from == 5 {
        let old: v5::UserProfile = postcard::from_bytes(bytes)?;
        UserProfile {
            verified_count: old.verified_count,
            first_verified_ms: old.first_verified_ms,
            last_verified_ms: old.last_verified_ms,
            devices: old.devices,
            places: old.places,
            last_fix: old.last_fix,
            home: old.home,
            hours: old.hours,
            typing_desktop: None,
            typing_mobile: None,
            attributes: Default::default(),
        }
    } else {
        let old: v6::UserProfile = postcard::from_bytes(bytes)?;
        UserProfile {
            verified_count: old.verified_count,
            first_verified_ms: old.first_verified_ms,
            last_verified_ms: old.last_verified_ms,
            devices: old.devices,
            places: old.places,
            last_fix: old.last_fix,
            home: old.home,
            hours: old.hours,
            typing_desktop: None,
            typing_mobile: None,
            attributes: old.attributes,
        }
    };
    postcard::to_stdvec(&new)
}

/// Re-encodes a pending-evidence record written by store format `from` (4–6) in the current
/// format: no typing evidence (it cannot be converted), and no attribute keys before format 6.
pub fn upgrade_pending(bytes: &[u8], from: u32) -> Result<Vec<u8>, postcard::Error> {
    let new = if from <= 5 {
        let old: v5::PendingEvidence = postcard::from_bytes(bytes)?;
        PendingEvidence {
            user: old.user,
            at_ms: old.at_ms,
            device: old.device,
            ip: old.ip,
            fix: old.fix,
            typing: None,
            hour: old.hour,
            learned: old.learned,
            receipt: old.receipt,
            applied: old.applied,
            digest: old.digest,
            attributes: None,
        }
    } else {
        let old: v6::PendingEvidence = postcard::from_bytes(bytes)?;
        PendingEvidence {
            user: old.user,
            at_ms: old.at_ms,
            device: old.device,
            ip: old.ip,
            fix: old.fix,
            typing: None,
            hour: old.hour,
            learned: old.learned,
            receipt: old.receipt,
            applied: old.applied,
            digest: old.digest,
            attributes: old.attributes,
        }
    };
    postcard::to_stdvec(&new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> KnownPlace {
        KnownPlace {
            country: "FR".into(),
            city: "Paris".into(),
            lat: 48.85,
            lon: 2.35,
            last_ms: 30,
            count: 3,
        }
    }

    #[test]
    fn a_format_4_profile_reads_back_unchanged_with_no_device_marked() {
        let key = Pseudonym([7; 16]);
        let old = v4::UserProfile {
            verified_count: 3,
            first_verified_ms: 10,
            last_verified_ms: 30,
            devices: vec![
                v4::KnownDevice {
                    key,
                    first_verified_ms: 10,
                    last_verified_ms: 30,
                    count: 3,
                },
                v4::KnownDevice {
                    key: Pseudonym([8; 16]),
                    first_verified_ms: 20,
                    last_verified_ms: 20,
                    count: 1,
                },
            ],
            places: vec![place()],
            last_fix: None,
            home: Some((48.85, 2.35)),
            hours: [0.5; 24],
            typing_desktop: None,
            typing_mobile: None,
        };
        let bytes = postcard::to_stdvec(&old).expect("v4 bytes");
        let upgraded = upgrade_profile(&bytes, 4).expect("upgrade");
        let p: UserProfile = postcard::from_bytes(&upgraded).expect("current");
        assert_eq!(p.verified_count, 3);
        assert_eq!(p.devices.len(), 2);
        assert_eq!(p.devices[1].first_verified_ms, 20);
        assert!(p.devices.iter().all(|d| d.fraud_ms.is_none()));
        assert_eq!(p.places[0].city, "Paris");
        assert_eq!(p.home, Some((48.85, 2.35)));
        assert!(p.owned_before(&key, 11) && !p.owned_before(&key, 10));
        assert!(p.attributes.is_empty());
        // A format-4 profile is not a format-5 one: the wrong layout is an error, not garbage.
        assert!(upgrade_profile(&bytes, 5).is_err());
    }

    #[test]
    fn a_format_5_profile_and_pending_record_read_back_with_empty_attributes() {
        let key = Pseudonym([7; 16]);
        let old = v5::UserProfile {
            verified_count: 9,
            first_verified_ms: 10,
            last_verified_ms: 90,
            devices: vec![KnownDevice {
                key,
                first_verified_ms: 10,
                last_verified_ms: 90,
                count: 9,
                fraud_ms: Some(50),
            }],
            places: vec![place()],
            last_fix: None,
            home: Some((48.85, 2.35)),
            hours: [0.25; 24],
            typing_desktop: None,
            typing_mobile: None,
        };
        let bytes = postcard::to_stdvec(&old).expect("v5 bytes");
        let p: UserProfile =
            postcard::from_bytes(&upgrade_profile(&bytes, 5).expect("upgrade")).expect("current");
        assert_eq!((p.verified_count, p.last_verified_ms), (9, 90));
        assert_eq!(p.devices[0].fraud_ms, Some(50), "the fraud mark is kept");
        assert_eq!(p.hours, [0.25; 24]);
        assert!(p.attributes.is_empty());
        let pending = v5::PendingEvidence {
            user: key,
            at_ms: 77,
            device: Some(Pseudonym([1; 16])),
            ip: None,
            fix: None,
            typing: None,
            hour: 9,
            learned: true,
            receipt: [4; 16],
            applied: 1,
            digest: [5; 16],
        };
        let bytes = postcard::to_stdvec(&pending).expect("v5 pending");
        let e: PendingEvidence =
            postcard::from_bytes(&upgrade_pending(&bytes, 5).expect("upgrade")).expect("current");
        assert_eq!((e.user, e.at_ms, e.hour, e.learned), (key, 77, 9, true));
        assert_eq!((e.receipt, e.applied, e.digest), ([4; 16], 1, [5; 16]));
        assert_eq!(e.attributes, None);
    }
    #[test]
    fn a_format_6_record_loses_only_its_typing() {
        use crate::domain::KeyEvent;
        use crate::keystroke::digraph::TypingKey;
        use crate::store::freeman::{AttrHistory, AttrKeys};
        let key = Pseudonym([7; 16]);
        let events: Vec<KeyEvent> = "account balance please"
            .chars()
            .enumerate()
            .map(|(i, c)| KeyEvent {
                key: Some(c.to_string()),
                down_ms: 170.0 * i as f64,
                up_ms: 170.0 * i as f64 + 95.0,
            })
            .collect();
        let sample = DigraphSample::from_events(&events, &TypingKey::new([3; 16]));
        let mut typing = DigraphProfile::default();
        typing.enroll(&sample, 0.1);
        let attr = AttrKeys([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let mut attributes = AttrHistory::default();
        attributes.learn(&attr, 50);
        let old = v6::UserProfile {
            verified_count: 6,
            first_verified_ms: 10,
            last_verified_ms: 60,
            devices: vec![KnownDevice {
                key,
                first_verified_ms: 10,
                last_verified_ms: 60,
                count: 6,
                fraud_ms: None,
            }],
            places: vec![place()],
            last_fix: None,
            home: Some((48.85, 2.35)),
            hours: [0.5; 24],
            typing_desktop: Some(typing.clone()),
            typing_mobile: Some(typing),
            attributes: attributes.clone(),
        };
        let bytes = postcard::to_stdvec(&old).expect("v6 bytes");
        let p: UserProfile =
            postcard::from_bytes(&upgrade_profile(&bytes, 6).expect("upgrade")).expect("current");
        let want = UserProfile {
            verified_count: 6,
            first_verified_ms: 10,
            last_verified_ms: 60,
            devices: old.devices.clone(),
            places: vec![place()],
            last_fix: None,
            home: Some((48.85, 2.35)),
            hours: [0.5; 24],
            typing_desktop: None,
            typing_mobile: None,
            attributes,
        };
        assert_eq!(p, want, "everything but the typing profiles is kept");
        assert!(!p.attributes.is_empty());
        // The old typing profile does not read as a current record.
        assert!(postcard::from_bytes::<UserProfile>(&bytes).is_err());

        let pending = v6::PendingEvidence {
            user: key,
            at_ms: 77,
            device: Some(Pseudonym([1; 16])),
            ip: Some(Pseudonym([2; 16])),
            fix: None,
            typing: Some(v6::TypingEvidence {
                mobile: true,
                sample,
            }),
            hour: 9,
            learned: false,
            receipt: [4; 16],
            applied: 2,
            digest: [5; 16],
            attributes: Some(attr),
        };
        let bytes = postcard::to_stdvec(&pending).expect("v6 pending");
        let e: PendingEvidence =
            postcard::from_bytes(&upgrade_pending(&bytes, 6).expect("upgrade")).expect("current");
        let want = PendingEvidence {
            user: key,
            at_ms: 77,
            device: Some(Pseudonym([1; 16])),
            ip: Some(Pseudonym([2; 16])),
            fix: None,
            typing: None,
            hour: 9,
            learned: false,
            receipt: [4; 16],
            applied: 2,
            digest: [5; 16],
            attributes: Some(attr),
        };
        assert_eq!(e, want, "everything but the typing evidence is kept");
    }
}
