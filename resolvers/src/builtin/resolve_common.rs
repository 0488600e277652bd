//! Helpers the built-in resolvers' follower sides share: typed specs, safe names, launch paths.

use codexport_core::mcp::manifest::{ArtifactSpec, McpEntry};

use crate::Error;

/// [`Error::BadSpec`] for `entry`.
pub(crate) fn bad_spec(entry: &McpEntry, spec: &ArtifactSpec, reason: impl Into<String>) -> Error {
    Error::BadSpec {
        entry: entry.name.clone(),
        resolver: spec.resolver.clone(),
        reason: reason.into(),
    }
}

/// A name that is safe as one path component and as a command argument: not empty, no
/// separators, no `..`, not starting with `-`.
pub(crate) fn check_name(
    entry: &McpEntry,
    spec: &ArtifactSpec,
    what: &str,
    name: &str,
) -> Result<(), Error> {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0']);
    if ok {
        Ok(())
    } else {
        Err(bad_spec(
            entry,
            spec,
            format!("{what} `{name}` is not a plain name"),
        ))
    }
}

/// A relative path that stays where it is joined (no root, no `..`).
pub(crate) fn check_relative(
    entry: &McpEntry,
    spec: &ArtifactSpec,
    what: &str,
    path: &str,
) -> Result<(), Error> {
    use std::path::Component;
    let ok = !path.is_empty()
        && std::path::Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && !path.starts_with('/')
        && !path.starts_with('\\');
    if ok {
        Ok(())
    } else {
        Err(bad_spec(
            entry,
            spec,
            format!("{what} `{path}` is not a relative path inside the artifact"),
        ))
    }
}

/// `name` as an executable file name on this OS (`.exe` on Windows).
pub(crate) fn exe(name: &str) -> String {
    if cfg!(windows) && !name.to_lowercase().ends_with(".exe") {
        format!("{name}.exe")
    } else {
        name.to_owned()
    }
}

/// The launch path of `bin` in the uv tool environment of `package` under `tools/` (uv names
/// the environment after the normalised package name).
pub(crate) fn uv_tool_bin(package: &str, bin: &str) -> String {
    let mut normalised = String::new();
    for c in package.to_lowercase().chars() {
        if "-_.".contains(c) {
            if !normalised.ends_with('-') {
                normalised.push('-');
            }
        } else {
            normalised.push(c);
        }
    }
    if cfg!(windows) {
        format!("${{artifact}}/tools/{normalised}/Scripts/{}", exe(bin))
    } else {
        format!("${{artifact}}/tools/{normalised}/bin/{bin}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_get_the_windows_suffix_only_on_windows() {
        if cfg!(windows) {
            assert_eq!(exe("rg"), "rg.exe");
            assert_eq!(exe("RG.EXE"), "RG.EXE", "no second suffix");
        } else {
            assert_eq!(exe("rg"), "rg");
            assert_eq!(exe("rg.exe"), "rg.exe");
        }
    }

    #[test]
    fn uv_tools_launch_from_scripts_on_windows_and_bin_elsewhere() {
        let path = uv_tool_bin("MCP_Server.Time", "mcp-server-time");
        if cfg!(windows) {
            assert_eq!(
                path,
                "${artifact}/tools/mcp-server-time/Scripts/mcp-server-time.exe"
            );
        } else {
            assert_eq!(
                path,
                "${artifact}/tools/mcp-server-time/bin/mcp-server-time"
            );
        }
    }
}
