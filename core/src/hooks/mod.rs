//! Codex's `hooks.json`: its exact shape, codexport's own SessionStart hook in it (and what
//! that hook does when Codex runs it), and the `[hooks.state]` trust entries in `config.toml`
//! without which Codex never runs a hook.
//!
//! Facts (Codex 0.169): the file is `{"hooks": {"<Event>": [{"matcher": ..., "hooks":
//! [{"type": "command", "command": ..., "timeout": ...}]}]}}`; an unknown root key makes Codex
//! drop the whole file, so only `hooks` is ever written. Handlers keep every field we do not
//! model, so a master's hooks survive a round trip untouched.

mod carry;
mod file;
mod install;
mod layer;
#[cfg(feature = "net")]
mod session;
mod trust;

pub use carry::{HookTrust, carry_master_trust, master_hooks_for_follower};
pub use file::{EVENT_SESSION_START, Handler, HooksFile, MatcherGroup, OurHook, Parsed};
pub use install::{HookStatus, Installed, ListedHook, Trust, install, retrust, status, uninstall};
pub use layer::{CanonicalHooks, HooksLayer, for_apply, layer_hooks};
#[cfg(feature = "net")]
pub use session::{LOG_LIMIT, SessionOptions, session_start};
pub use trust::{
    HookOs, HookState, TRUSTED_HASH_PREFIX, event_label, handler_hash, handler_hash_on,
    read_states, remove_state, set_state, trust_home, trust_key,
};
