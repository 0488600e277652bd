//! Write codexport resolver plugins in Rust: a plain trait, typed values, and one
//! `export_resolver!` line, compiled to a `wasm32-wasip2` component.
//!
//! A plugin teaches codexport one kind of MCP artifact. On the master, [`Resolver::infer`]
//! turns a Codex MCP entry into a [`Spec`] (your own JSON). On each follower,
//! [`Resolver::resolve`] turns that spec into a [`Resolution`]: [`Step`]s the host runs and the
//! [`Launch`] command. A plugin never acts itself: it has no files, environment, network or
//! processes, only the capabilities in [`host`].
//!
//! ```ignore
//! use codexport_resolver_sdk::{export_resolver, Entry, Facts, Resolver, Spec};
//!
//! #[derive(Default)]
//! struct Mine;
//!
//! impl Resolver for Mine {
//!     fn infer(&self, entry: &Entry, _facts: &Facts) -> Option<Spec> {
//!         (entry.command_name()? == "my-server").then(|| Spec::new(&"v1.0.0"))
//!     }
//! }
//!
//! export_resolver!(Mine);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; `docs/resolver-authors.md` walks
//! through writing, testing, installing and syncing a plugin. The WIT contract this crate
//! implements lives in `wit/since_v0.1.0/resolver.wit`; its version is [`API_VERSION`], and
//! the host refuses plugins built against a contract it does not know.
//!
//! The crate also builds for the host target, so a plugin's own logic can be unit-tested with
//! `cargo test`; calling a [`host`] function there panics.

mod adapter;
pub mod host;
mod release;
mod types;

/// The asset rules the host uses too: alias tables, word matching, auxiliary files, the
/// placeholder grammar. [`find_templated`], [`match_platform`] and [`choose_asset`] apply them
/// to a [`Release`].
pub use codexport_assets as assets;
pub use codexport_assets::{Bindings, Choice, Target, expand_template};
pub use release::{choose_asset, find_templated, latest_matching, match_platform, parse_version};
pub use semver;
pub use types::{
    ArchiveKind, Entry, Facts, FetchError, Launch, Libc, Mode, Platform, Release, ReleaseAsset,
    Resolution, ResolveError, Spec, Step, Transport,
};

/// The version of the WIT contract (`codexport:resolver@API_VERSION`) this SDK builds.
pub const API_VERSION: &str = "0.1.0";

/// What a plugin implements. Every method has a default, so a plugin writes only what it does.
///
/// The plugin's name is its crate's name with `_` for `-` (the file name cargo gives the
/// component, `my_plugin.wasm` for `my-plugin`), its version the crate's version.
pub trait Resolver {
    /// Order among plugins in master-side inference, higher first. Every plugin runs before
    /// the built-in resolvers, so a plugin can claim entries a built-in would also recognise.
    fn priority(&self) -> i32 {
        0
    }

    /// Master side: the spec for `entry`, or `None` when it is not this plugin's kind.
    fn infer(&self, entry: &Entry, facts: &Facts) -> Option<Spec> {
        let _ = (entry, facts);
        None
    }

    /// How sure the plugin is (0 to 100) that it can resolve `spec`; `None` when it cannot.
    /// The default says 50 for any spec that `resolve` would be asked about.
    fn probe(&self, entry: &Entry, spec: &Spec) -> Option<u32> {
        let _ = (entry, spec);
        Some(50)
    }

    /// Follower side: the plan that hydrates `spec` on `platform`.
    fn resolve(
        &self,
        entry: &Entry,
        spec: &Spec,
        platform: &Platform,
        mode: Mode,
    ) -> Result<Resolution, ResolveError> {
        let _ = (entry, spec, platform, mode);
        Err(ResolveError::NotApplicable(
            "this plugin does not resolve specs".to_owned(),
        ))
    }
}

/// Exports `$resolver` (a type implementing [`Resolver`] and [`Default`]) as the plugin's
/// implementation of the WIT contract. Write it once, at the crate root.
#[macro_export]
macro_rules! export_resolver {
    ($resolver:ty) => {
        // The SDK's adapter calls this to reach the plugin's type; the linker joins the two
        // inside the one component.
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "Rust" fn __codexport_resolver_plugin() -> $crate::__private::Plugin {
            $crate::__private::Plugin::new(
                ::std::boxed::Box::new(<$resolver as ::core::default::Default>::default()),
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            )
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::adapter::Plugin;
}

/// The wit-bindgen output: private, so the public API is the hand-picked list above.
#[allow(unreachable_pub, missing_docs, clippy::all)]
mod wit {
    wit_bindgen::generate!({
        path: "wit/since_v0.1.0",
        world: "plugin",
    });
}

#[cfg(target_arch = "wasm32")]
use adapter::Component;
#[cfg(target_arch = "wasm32")]
wit::export!(Component with_types_in wit);

#[cfg(test)]
mod tests {
    #[test]
    fn api_version_is_the_wit_package_version() {
        let wit = include_str!("../wit/since_v0.1.0/resolver.wit");
        let package = format!("package codexport:resolver@{};", super::API_VERSION);
        assert!(wit.lines().any(|l| l == package), "{package}");
    }
}
