//! `codexport follower ...`: join a master, reset trust.

pub(crate) mod join;
pub(crate) mod trust_reset;
