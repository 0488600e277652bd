//! `codexport mcp ...`: the MCP servers on this machine.

pub(crate) mod hydrate;
pub(crate) mod plan;
pub(crate) mod run;
