//! The private bridge between raw WIT values and the typed API: conversions both ways and the
//! component's export that dispatches to the plugin's [`Resolver`].

use crate::Resolver;
use crate::types::{
    ArchiveKind, Entry, Facts, FetchError, Launch, Libc, Platform, Release, ReleaseAsset,
    Resolution, ResolveError, Step, Transport,
};
use crate::wit::codexport::resolver::types as w;

/// The plugin's resolver with the name and version of the crate that exported it.
#[doc(hidden)]
// Only the wasm export reads the fields; host builds compile the type for `export_resolver!`.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub struct Plugin {
    resolver: Box<dyn Resolver>,
    name: &'static str,
    version: &'static str,
}

impl Plugin {
    /// Made by `export_resolver!`.
    pub fn new(resolver: Box<dyn Resolver>, name: &'static str, version: &'static str) -> Self {
        Self {
            resolver,
            name,
            version,
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) use component::Component;

#[cfg(target_arch = "wasm32")]
mod component {
    use super::*;
    use crate::types::{Mode, Spec};
    use crate::wit::exports::codexport::resolver::resolver::Guest;

    unsafe extern "Rust" {
        // Defined by `export_resolver!` in the plugin crate.
        safe fn __codexport_resolver_plugin() -> Plugin;
    }

    /// The component's implementation of the `resolver` interface.
    pub(crate) struct Component;

    impl Guest for Component {
        fn info() -> w::PluginInfo {
            let plugin = __codexport_resolver_plugin();
            w::PluginInfo {
                // Cargo names the component after the crate with `_` for `-`; the plugin's
                // name is that file name, so installing it is a plain copy.
                name: plugin.name.replace('-', "_"),
                version: plugin.version.to_owned(),
                priority: plugin.resolver.priority(),
            }
        }

        fn infer(entry: w::Entry, facts: w::Facts) -> Option<w::Spec> {
            let plugin = __codexport_resolver_plugin();
            plugin
                .resolver
                .infer(&entry.into(), &facts.into())
                .map(String::from)
        }

        fn probe(entry: w::Entry, spec: w::Spec) -> Option<u32> {
            let plugin = __codexport_resolver_plugin();
            plugin.resolver.probe(&entry.into(), &Spec::from(spec))
        }

        fn resolve(
            entry: w::Entry,
            spec: w::Spec,
            platform: w::Platform,
            mode: w::Mode,
        ) -> Result<w::Resolution, w::ResolveError> {
            let plugin = __codexport_resolver_plugin();
            let mode = match mode {
                w::Mode::Online => Mode::Online,
                w::Mode::Offline => Mode::Offline,
            };
            plugin
                .resolver
                .resolve(&entry.into(), &Spec::from(spec), &platform.into(), mode)
                .map(Into::into)
                .map_err(Into::into)
        }
    }
}

impl From<w::Entry> for Entry {
    fn from(e: w::Entry) -> Self {
        Self {
            name: e.name,
            transport: match e.transport {
                w::Transport::Stdio => Transport::Stdio,
                w::Transport::Http => Transport::Http,
            },
            command: e.command,
            args: e.args,
            env_names: e.env_names,
            cwd: e.cwd,
            url: e.url,
        }
    }
}

impl From<w::Facts> for Facts {
    fn from(f: w::Facts) -> Self {
        Self {
            command_path: f.command_path,
            home: f.home,
            codex_home: f.codex_home,
            os: f.os,
        }
    }
}

impl From<w::Platform> for Platform {
    fn from(p: w::Platform) -> Self {
        Self {
            os: p.os,
            arch: p.arch,
            libc: p.libc.map(|l| match l {
                w::Libc::Gnu => Libc::Gnu,
                w::Libc::Musl => Libc::Musl,
            }),
            triples: p.triples,
        }
    }
}

impl From<w::Release> for Release {
    fn from(r: w::Release) -> Self {
        Self {
            tag: r.tag,
            assets: r
                .assets
                .into_iter()
                .map(|a| ReleaseAsset {
                    name: a.name,
                    url: a.url,
                    sha256: a.sha256,
                })
                .collect(),
        }
    }
}

impl From<w::FetchError> for FetchError {
    fn from(e: w::FetchError) -> Self {
        match e {
            w::FetchError::NotFound => Self::NotFound,
            w::FetchError::RateLimited(secs) => Self::RateLimited(secs),
            w::FetchError::Network(why) => Self::Network(why),
            w::FetchError::Offline => Self::Offline,
        }
    }
}

impl From<Resolution> for w::Resolution {
    fn from(r: Resolution) -> Self {
        Self {
            version: r.version,
            cache_key: r.cache_key,
            plan: r.steps.into_iter().map(Into::into).collect(),
            launch: r.launch.into(),
        }
    }
}

impl From<Launch> for w::Launch {
    fn from(l: Launch) -> Self {
        Self {
            program: l.program,
            args: l.args,
            env: l.env.into_iter().collect(),
            cwd: l.cwd,
        }
    }
}

impl From<ArchiveKind> for w::ArchiveKind {
    fn from(k: ArchiveKind) -> Self {
        match k {
            ArchiveKind::Raw => Self::Raw,
            ArchiveKind::TarGz => Self::TarGz,
            ArchiveKind::TarXz => Self::TarXz,
            ArchiveKind::Tar => Self::Tar,
            ArchiveKind::Zip => Self::Zip,
            ArchiveKind::Gz => Self::Gz,
        }
    }
}

impl From<Step> for w::Step {
    fn from(step: Step) -> Self {
        match step {
            Step::Download {
                url,
                sha256,
                archive,
                strip,
                dest,
            } => Self::Download(w::Download {
                url,
                sha256,
                archive: archive.into(),
                strip,
                dest,
            }),
            Step::NpmInstall { spec } => Self::NpmInstall(spec),
            Step::UvTool {
                from,
                package,
                with,
            } => Self::UvTool(w::UvTool {
                from,
                package,
                with,
            }),
            Step::CargoInstall {
                crate_name,
                version,
                git,
                rev,
                bin,
            } => Self::CargoInstall(w::CargoInstall {
                crate_name,
                version,
                git,
                rev,
                bin,
            }),
            Step::CopySource { object, dest } => Self::CopySource(w::CopySource { object, dest }),
            Step::Run { program, args, cwd } => Self::Run(w::Run { program, args, cwd }),
            Step::MakeExecutable { path } => Self::MakeExecutable(path),
        }
    }
}

impl From<ResolveError> for w::ResolveError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::NotApplicable(why) => Self::NotApplicable(why),
            ResolveError::RateLimited(secs) => Self::RateLimited(secs),
            ResolveError::Network(why) => Self::Network(why),
            ResolveError::NoMatchingAsset(names) => Self::NoMatchingAsset(names),
            ResolveError::Integrity(why) => Self::Integrity(why),
            ResolveError::Other(why) => Self::Other(why),
        }
    }
}
