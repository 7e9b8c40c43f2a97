//! Evidence sources: the one list of what a score may rest on beyond the request's own typing and
//! user agent, and the three ways one can be missing.
//!
//! Every rule about a missing source is written against [`Source`] with exhaustive matches, so
//! adding a source does not compile until its reason code, its imputation and its policy floor
//! are decided: the features declare which sources they need (`features::Needs`), extraction
//! records why a source is missing for a request ([`Absence`]), the model imputes by that kind,
//! the explanation charges the imputation to [`Source::reason`], and the policy floors
//! [`Absence::Failed`] at OTP.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::reason::ReasonCode;

/// A source of evidence a feature may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A City database (location of the IP).
    Geo,
    /// IP reputation: an Anonymous-IP database or reputation lists.
    Reputation,
    /// The profile store (history, counters).
    Store,
    /// The client's IP address, as the request carries it.
    Ip,
    /// The client's device id, as the request carries it.
    Device,
}

impl Source {
    /// Every source, in a fixed order (imputation charges a feature needing several sources to
    /// the first missing one in this order).
    pub const ALL: [Source; 5] = [
        Source::Geo,
        Source::Reputation,
        Source::Store,
        Source::Ip,
        Source::Device,
    ];

    /// Stable snake_case name, as in responses, `/v1/model` and `/readyz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Geo => "geo",
            Source::Reputation => "reputation",
            Source::Store => "store",
            Source::Ip => "ip",
            Source::Device => "device",
        }
    }

    /// The reason code a request carries when this source is missing for a cause that costs
    /// friction ([`Absence::Failed`] or [`Absence::ClientOmitted`]).
    pub fn reason(self) -> ReasonCode {
        match self {
            Source::Geo => ReasonCode::GeoUnavailable,
            Source::Reputation => ReasonCode::ReputationUnavailable,
            Source::Store => ReasonCode::StoreUnavailable,
            Source::Ip => ReasonCode::IpAbsent,
            Source::Device => ReasonCode::DeviceAbsent,
        }
    }

    /// True for sources the deployment provides (databases, store), false for what the client
    /// sends (IP, device id): only a deployment source can be absent by design or fail.
    pub fn is_deployment(self) -> bool {
        match self {
            Source::Geo | Source::Reputation | Source::Store => true,
            Source::Ip | Source::Device => false,
        }
    }

    /// Bit of this source in a [`Sources`] set.
    pub const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Why a source is missing for one request: three kinds, three rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absence {
    /// The deployment does not have the source (not configured). Its features are absent by
    /// design: the model imputes their neutral value (from training statistics), no reason
    /// code, no floor. Responses, `/v1/model` and `/readyz` list the sources in use instead.
    ByDesign,
    /// The source is configured but failed, or has no answer for this address (not in the
    /// database). Neutral imputation, the source's reason code, and at least the OTP floor —
    /// never `deny` on that alone.
    Failed,
    /// An absence the client can cause: no IP or device id on a channel that always has them
    /// (web widget, in-app), or a location hidden by an anonymiser. Worst-case imputation and
    /// the source's reason code, so that leaving something out never scores better than
    /// sending it.
    ClientOmitted,
}

impl Absence {
    /// True when the absence is reported as a reason code (and charged for its imputation).
    pub fn is_reported(self) -> bool {
        match self {
            Absence::ByDesign => false,
            Absence::Failed | Absence::ClientOmitted => true,
        }
    }
}

/// A set of sources, serialized as a list of names (`["geo", "store"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Sources(u8);

impl Sources {
    /// No source.
    pub const NONE: Sources = Sources(0);

    /// The set of `list`.
    pub const fn of(list: &[Source]) -> Sources {
        let mut bits = 0u8;
        let mut i = 0;
        while i < list.len() {
            bits |= list[i].bit();
            i += 1;
        }
        Sources(bits)
    }

    /// True when `s` is in the set.
    pub const fn contains(self, s: Source) -> bool {
        self.0 & s.bit() != 0
    }

    /// The set with `s` added.
    #[must_use]
    pub const fn with(self, s: Source) -> Sources {
        Sources(self.0 | s.bit())
    }

    /// The set without `s`.
    #[must_use]
    pub const fn without(self, s: Source) -> Sources {
        Sources(self.0 & !s.bit())
    }

    /// True when empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in [`Source::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Source> {
        Source::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl Serialize for Sources {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Source::as_str))
    }
}

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names: Vec<std::borrow::Cow<'de, str>> = Vec::deserialize(deserializer)?;
        let mut set = Sources::NONE;
        for n in &names {
            let s = Source::ALL
                .into_iter()
                .find(|s| s.as_str() == n.as_ref())
                .ok_or_else(|| serde::de::Error::custom("unknown source name"))?;
            set = set.with(s);
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_serialize_as_names_in_order_and_read_back() {
        let s = Sources::of(&[Source::Store, Source::Geo]);
        assert_eq!(
            serde_json::to_string(&s).expect("json"),
            r#"["geo","store"]"#
        );
        let back: Sources = serde_json::from_str(r#"["store","geo"]"#).expect("parse");
        assert_eq!(back, s);
        assert!(serde_json::from_str::<Sources>(r#"["gps"]"#).is_err());
        assert!(s.contains(Source::Geo) && !s.contains(Source::Ip));
        assert_eq!(s.without(Source::Geo), Sources::of(&[Source::Store]));
    }

    #[test]
    fn only_deployment_sources_can_be_absent_by_design() {
        for s in Source::ALL {
            assert_eq!(
                s.is_deployment(),
                !matches!(s, Source::Ip | Source::Device),
                "{s:?}"
            );
            assert!(s.reason().as_str().ends_with("_unavailable") == s.is_deployment());
        }
    }
}
