//! The plan model: what a resolver asks the host to do, as data, never as actions.
//!
//! Built-in resolvers and wasm plugins return the same [`Plan`], so `codexport mcp plan` can
//! show it, `mcp doctor` can check it, and one executor runs it. Paths in steps are relative
//! to the artifact directory; `${artifact}` in a launch expands to that directory.

use serde::{Deserialize, Serialize};

/// Placeholder for the artifact directory, and the server command (defined with the artifact
/// record in `codexport-core`: the launcher reads them without the resolvers).
pub use codexport_core::mcp::artifact::{ARTIFACT_PLACEHOLDER, Launch};

/// What a resolver settled on for one entry on this platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The exact version that will be hydrated (`1.2.3`, a git rev, `local`).
    pub version: String,
    /// Distinguishes artifacts of one resolver; the host hashes it with the platform into
    /// the artifact directory name.
    pub cache_key: String,
    /// The steps and the launch command.
    pub plan: Plan,
}

/// Steps that hydrate an artifact, and how to launch it afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Run in order inside the artifact directory.
    pub steps: Vec<Step>,
    /// The server command once every step succeeded.
    pub launch: Launch,
}

/// One hydration step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Fetch a URL, verify it, and unpack it into `dest`.
    Download {
        /// Where to fetch from.
        url: String,
        /// Lowercase hex SHA-256 the bytes must have, when known before download.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// How to unpack.
        archive: ArchiveKind,
        /// Leading path components to drop from archive members.
        #[serde(default)]
        strip: u32,
        /// Destination relative to the artifact dir (a file for `raw`, a dir otherwise).
        dest: String,
    },
    /// `npm install --prefix DIR --no-audit --no-fund --save-exact SPEC`.
    NpmInstall {
        /// An exact `name@version`.
        spec: String,
    },
    /// `uv tool install` with `UV_TOOL_DIR`/`UV_TOOL_BIN_DIR` inside the artifact dir.
    UvTool {
        /// The requirement (`pkg==1.2.3`, a URL, or a path relative to the artifact dir).
        from: String,
        /// The package name uv installs (`uv tool install --from FROM PACKAGE`).
        package: String,
        /// Extra requirements installed into the same tool environment (`--with`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        with: Vec<String>,
    },
    /// `cargo install --root DIR --locked`.
    CargoInstall {
        /// Crate name.
        #[serde(rename = "crate")]
        crate_name: String,
        /// Exact version (registry installs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        /// Git repository URL (git installs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        git: Option<String>,
        /// Git revision (git installs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rev: Option<String>,
        /// The binary to install.
        bin: String,
    },
    /// Unpack a packed source tree from the object store into `dest`.
    CopySource {
        /// Object hash of the packed tree.
        object: String,
        /// Destination relative to the artifact dir.
        #[serde(default = "default_source_dest")]
        dest: String,
    },
    /// A build step; its working directory is confined to the artifact dir.
    Run {
        /// Program name (looked up on PATH) or a path relative to the artifact dir.
        program: String,
        /// Arguments (`${artifact}` expands).
        #[serde(default)]
        args: Vec<String>,
        /// Working directory relative to the artifact dir.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
    },
    /// `chmod +x` a file inside the artifact dir.
    MakeExecutable {
        /// Path relative to the artifact dir.
        path: String,
    },
}

fn default_source_dest() -> String {
    "src".to_owned()
}

/// How a downloaded file is unpacked (the asset rules' kind, so names map to it in one place).
pub use codexport_assets::ArchiveKind;

impl Plan {
    /// Programs the plan looks up on PATH (`npm`, `uv`, `cargo`, build programs, a launch
    /// program given by name such as `node`), first use first: what `mcp doctor` checks
    /// before anything runs.
    pub fn tools(&self) -> Vec<String> {
        let on_path = |program: &str| {
            !program.contains(['/', '\\']) && !program.contains(ARTIFACT_PLACEHOLDER)
        };
        let mut tools: Vec<String> = Vec::new();
        let mut add = |tool: &str| {
            if !tools.iter().any(|t| t == tool) {
                tools.push(tool.to_owned());
            }
        };
        for step in &self.steps {
            match step {
                Step::NpmInstall { .. } => add("npm"),
                Step::UvTool { .. } => add("uv"),
                Step::CargoInstall { .. } => add("cargo"),
                Step::Run { program, .. } if on_path(program) => add(program),
                _ => {}
            }
        }
        if !self.launch.program.is_empty() && on_path(&self.launch.program) {
            add(&self.launch.program);
        }
        tools
    }
}

impl Step {
    /// The step's kebab-case name (`download`, `npm-install`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Download { .. } => "download",
            Step::NpmInstall { .. } => "npm-install",
            Step::UvTool { .. } => "uv-tool",
            Step::CargoInstall { .. } => "cargo-install",
            Step::CopySource { .. } => "copy-source",
            Step::Run { .. } => "run",
            Step::MakeExecutable { .. } => "make-executable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_what_the_plan_finds_on_path() {
        let plan = Plan {
            steps: vec![
                Step::CopySource {
                    object: "a".repeat(64),
                    dest: "src".into(),
                },
                Step::NpmInstall {
                    spec: "a@1.0.0".into(),
                },
                Step::Run {
                    program: "npm".into(),
                    args: vec!["ci".into()],
                    cwd: None,
                },
                Step::Run {
                    program: "${artifact}/build.sh".into(),
                    args: vec![],
                    cwd: None,
                },
            ],
            launch: Launch {
                program: "node".into(),
                ..Launch::default()
            },
        };
        assert_eq!(plan.tools(), ["npm", "node"]);
        let direct = Plan {
            steps: vec![],
            launch: Launch {
                program: "${artifact}/bin/x".into(),
                ..Launch::default()
            },
        };
        assert!(direct.tools().is_empty());
    }

    #[test]
    fn steps_serialise_with_kebab_case_tags() {
        let step = Step::NpmInstall {
            spec: "a@1.0.0".into(),
        };
        assert_eq!(
            serde_json::to_value(&step).unwrap(),
            serde_json::json!({"step": "npm-install", "spec": "a@1.0.0"})
        );
        let cargo: Step = serde_json::from_value(serde_json::json!(
            {"step": "cargo-install", "crate": "x", "bin": "x"}
        ))
        .unwrap();
        assert_eq!(cargo.kind(), "cargo-install");
    }
}
