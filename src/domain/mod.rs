//! Domain types with no I/O: identifiers, trust scores, channels and actions, reason codes, the wire
//! request/response/outcome types, the label-log line and their validation.
//!
//! Everything here is pure data plus checks. Nothing in this module reads files, clocks or stores,
//! so every other layer can depend on it.

pub mod context;
pub mod error;
pub mod label;
pub mod outcome;
pub mod reason;
pub mod request;
pub mod response;
pub mod score;
pub mod source;
mod strict;
pub mod tenant;
pub mod validate;

pub use context::{Action, Channel, Sensitivity};
pub use error::InputError;
pub use label::LabelRecord;
pub use outcome::{OutcomeKind, OutcomeRecord};
pub use reason::{Reason, ReasonCode};
pub use request::{
    AuthInfo, BiometricConsent, ConsentInfo, DeviceInfo, KeyEvent, NetworkInfo, ScoreRequest,
    TypingInfo,
};
pub use response::{ScoreResponse, ShadowScore};
pub use score::{Decision, RiskBand, TrustScore};
pub use source::{Absence, Source, Sources};
pub use tenant::Tenant;
pub use validate::{Clock, Limits, ValidRequest};
