//! Policy: trust score → decision, per channel and action. Defaults follow the classic
//! risk-based-authentication ladder (low risk passive, medium OTP, high OTP + KBA with a delay,
//! critical deny); sensitive actions need more trust. A policy can only add friction for missing
//! or alarming signals (floors), never remove it.

pub mod ladder;
pub mod table;

pub use ladder::Ladder;
pub use table::{PolicyContext, PolicyError, PolicyFile, PolicyOutcome, PolicyTable};
