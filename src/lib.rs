//! # Tessera
//!
//! A risk-scoring and behavioural-biometrics engine for authenticating customers in chat. One
//! [`Engine`] turns a [`ScoreRequest`] (typing cadence, device, IP, geolocation, the user's verified
//! history) into a [`ScoreResponse`]: a trust score 0–100, a decision and stable reason codes.
//!
//! Layers, bottom up (each imports only layers below it): [`domain`] and [`render`] (the HTML
//! page shell and SVG plots, which use nothing else in the crate); [`config`], [`enrich`],
//! [`store`]; [`keystroke`] (timing templates, detectors and their benchmark); [`features`];
//! [`model`], [`policy`]; [`engine`]; [`train`] and [`report`], offline tools; [`server`], the
//! HTTP service, which writes every score and outcome to the hash-chained [`audit`] log.
//!
//! Online scoring and offline training share one feature path: [`features::extract`].
#![warn(missing_docs)]

pub mod audit;
pub mod config;
pub mod domain;
pub mod engine;
pub mod enrich;
pub mod error;
pub mod features;
pub mod gen_data;
pub mod gen_holdout;
pub mod geodb;
pub mod keystroke;
pub mod model;
pub mod policy;
pub mod privacy;
pub mod render;
pub mod report;
pub mod server;
pub mod store;
pub mod train;

pub use domain::{
    Decision, InputError, OutcomeKind, OutcomeRecord, Reason, ReasonCode, RiskBand, ScoreRequest,
    ScoreResponse, TrustScore,
};
pub use engine::Engine;
pub use error::Error;
