//! Batch fraud reports (`tessera report`) and the plots and page shell the live dashboard shares.

pub mod page;
pub mod plots;
