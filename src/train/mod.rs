//! Offline training (`tessera train`): read the labelled event log, replay it through the same
//! feature code as live scoring, fit and evaluate. Never used on the online scoring path.

pub mod dataset;
