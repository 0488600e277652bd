//! `codexport resolver ...`: the wasm resolver plugins installed on this machine.

pub(crate) mod list;
pub(crate) mod test;

use std::sync::Arc;

use codexport_core::Homes;
use codexport_resolvers::GithubConfig;
use codexport_resolvers::wasm::{HostConfig, PluginHost};

/// A plugin host over `homes.resolvers()` (nothing is loaded until asked).
fn host(homes: &Homes) -> Arc<PluginHost> {
    Arc::new(PluginHost::new(HostConfig::new(
        homes,
        GithubConfig::from_env(),
    )))
}
