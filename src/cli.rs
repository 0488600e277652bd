//! Every clap type of the `codexport` CLI, and nothing else: no logic lives here.

use clap::{Args, Parser, Subcommand};

/// Keep a fleet of machines on one canonical Codex CLI setup.
#[derive(Debug, Parser)]
#[command(name = "codexport", version, about, propagate_version = true)]
#[command(after_help = after_help())]
pub(crate) struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// More log output on stderr (repeat for more: -v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print a shell completion script to stdout.
    #[command(
        after_help = "Example:\n  codexport completions bash > ~/.local/share/bash-completion/completions/codexport"
    )]
    Completions(CompletionsArgs),
    /// Master side: identity, revisions, the server, follower links.
    #[command(subcommand)]
    Master(MasterCommand),
    /// Follower side: join a master, reset trust.
    #[command(subcommand)]
    Follower(FollowerCommand),
    /// Pull the master's current revision (only missing objects) and stage it.
    #[command(
        after_help = "Examples:\n  codexport sync --apply\n  codexport sync --timeout 3s\n  codexport sync --dry-run"
    )]
    Sync(SyncArgs),
    /// Write the staged revision, layered for this machine, into the Codex home (journaled,
    /// backed up, atomic writes; local edits merged).
    #[command(after_help = "Examples:\n  codexport apply\n  codexport apply --dry-run")]
    Apply(ApplyArgs),
    /// Put the files of a backup back (the newest when no name is given).
    #[command(
        after_help = "Examples:\n  codexport restore --dry-run\n  codexport restore 20260101T120000.000000Z"
    )]
    Restore(RestoreArgs),
    /// List the backups applies made of the files they replaced or deleted, oldest first.
    #[command(after_help = "Examples:\n  codexport backups\n  codexport backups --json")]
    Backups(BackupsArgs),
    /// Remove from the object store what no kept revision references: on a master, objects of
    /// neither the current revision nor the last `--keep`; on a follower, of neither the staged
    /// nor the applied revision nor the last `--keep` (a follower also runs it after an apply).
    #[command(after_help = "Examples:\n  codexport gc --dry-run\n  codexport gc --keep 3")]
    Gc(GcArgs),
    /// Show role, homes, master, applied and staged revisions, last sync, reachability.
    #[command(
        after_help = "Examples:\n  codexport status\n  codexport status --json | jq .applied.seq"
    )]
    Status(StatusArgs),
    /// Check, writing nothing, that this follower is exactly what the last apply made it:
    /// managed files, `config.toml` against a fresh layering, hooks as Codex itself reports
    /// them, every MCP hydrated. Exits 4 with the list of differences.
    #[command(
        after_help = "Examples:\n  codexport verify\n  codexport verify --json | jq '.findings[].item'"
    )]
    Verify(VerifyArgs),
    /// Codex's SessionStart hook on a follower: install, remove, inspect.
    #[command(subcommand)]
    Hook(HookCommand),
    /// MCP servers on this machine: run, hydrate, plan.
    #[command(subcommand)]
    Mcp(McpCommand),
    /// Run the whole product in temporary homes on 127.0.0.1, narrated: a sample master with an
    /// npm MCP and a local-source MCP, serve, join a follower, apply, hydrate, `mcp doctor`.
    #[command(after_help = "Examples:\n  codexport demo\n  codexport demo --keep")]
    Demo(DemoArgs),
    /// Wasm resolver plugins in `~/.codexport/resolvers`: list them, try one on an MCP entry.
    #[command(subcommand)]
    Resolver(ResolverCommand),
}

/// `codexport demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the temporary homes afterwards (their path is printed) instead of removing them.
    #[arg(long)]
    pub(crate) keep: bool,
}

/// `codexport resolver ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ResolverCommand {
    /// List installed resolver plugins: name, version, priority, contract version, state.
    #[command(
        after_help = "Examples:\n  codexport resolver list\n  codexport resolver list --json | jq '.[].name'"
    )]
    List(ResolverListArgs),
    /// Run a plugin on one MCP entry of this machine's Codex config: infer its spec, then
    /// resolve the plan for this platform. Nothing is downloaded, built or installed.
    #[command(
        after_help = "Examples:\n  codexport resolver test target/wasm32-wasip2/release/my_plugin.wasm --entry fff\n  codexport resolver test my_plugin --entry fff --json"
    )]
    Test(ResolverTestArgs),
}

/// `codexport resolver list`.
#[derive(Debug, Args)]
pub(crate) struct ResolverListArgs {
    /// Print JSON (an array of plugins) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport resolver test PLUGIN --entry NAME`.
#[derive(Debug, Args)]
pub(crate) struct ResolverTestArgs {
    /// An installed plugin's name, or the path of a `.wasm` component (before installing it).
    pub(crate) plugin: String,
    /// The `[mcp_servers.NAME]` entry of this machine's Codex config to try it on.
    #[arg(long, value_name = "NAME")]
    pub(crate) entry: String,
    /// Print the spec and plan as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport master ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum MasterCommand {
    /// Make this machine a master: an Ed25519 identity and a default master.toml (idempotent).
    #[command(after_help = "Example:\n  codexport master init")]
    Init(MasterInitArgs),
    /// Run `master serve` as a per-user service: install, remove, inspect.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Snapshot the Codex home now and publish a new signed revision if anything changed.
    #[command(after_help = "Example:\n  codexport master rebuild")]
    Rebuild(MasterRebuildArgs),
    /// Serve revisions to followers over TLS pinned to this master's key (protocol v2, and v1
    /// for followers of the previous release), publishing changes as they happen.
    #[command(
        after_help = "Examples:\n  codexport master serve\n  codexport master serve --listen 100.101.102.103:17342\n  codexport master serve --plain-http   # behind a tunnel or VPN that encrypts"
    )]
    Serve(MasterServeArgs),
    /// Print a join link (with a new token) for one follower.
    #[command(
        after_help = "Examples:\n  codexport master link --host 100.101.102.103 --name laptop\n  codexport master link --name guest --expires 24h --single-use   # an invite"
    )]
    Link(MasterLinkArgs),
    /// List followers that have a token.
    #[command(after_help = "Example:\n  codexport master followers --json")]
    Followers(MasterFollowersArgs),
    /// Revoke a follower's token; its next sync is refused.
    #[command(after_help = "Example:\n  codexport master revoke laptop")]
    Revoke(MasterRevokeArgs),
}

/// `codexport master init`.
#[derive(Debug, Args)]
pub(crate) struct MasterInitArgs {}

/// `codexport master rebuild`.
#[derive(Debug, Args)]
pub(crate) struct MasterRebuildArgs {}

/// `codexport master serve`.
#[derive(Debug, Args)]
pub(crate) struct MasterServeArgs {
    /// Address to listen on (default: `listen` in master.toml, else 0.0.0.0:17342).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Do not watch the Codex home; publish only at start (run `master rebuild` + restart).
    #[arg(long)]
    pub(crate) no_watch: bool,
    /// Serve plain HTTP only, no TLS: for a master behind something that encrypts (a tunnel,
    /// a VPN); followers join it with a `master link --plain-http` link. Allow list and
    /// tokens apply as always.
    #[arg(long)]
    pub(crate) plain_http: bool,
}

/// `codexport master link`.
#[derive(Debug, Args)]
pub(crate) struct MasterLinkArgs {
    /// Host name or address followers reach this master at (default: this machine's name).
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Port (default: the port of `listen` in master.toml, else 17342).
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// The follower's name; a new link for the same name replaces its token.
    #[arg(long, default_value = "default")]
    pub(crate) name: String,
    /// A version 1 link (plain HTTP), for a master run with `master serve --plain-http`.
    #[arg(long)]
    pub(crate) plain_http: bool,
    /// An invite that is refused this long after it was made (`7d`, `24h`, `30m`); the join
    /// exchanges it for the follower's own token, which does not expire.
    #[arg(long, value_name = "DURATION", value_parser = codexport_core::duration::parse_duration)]
    pub(crate) expires: Option<std::time::Duration>,
    /// An invite that is refused after the first join.
    #[arg(long)]
    pub(crate) single_use: bool,
}

/// `codexport master followers`.
#[derive(Debug, Args)]
pub(crate) struct MasterFollowersArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport master revoke NAME`.
#[derive(Debug, Args)]
pub(crate) struct MasterRevokeArgs {
    /// The follower's name (see `codexport master followers`).
    pub(crate) name: String,
}

/// `codexport follower ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum FollowerCommand {
    /// Join a master from a link (or --master/--fingerprint/--token), pin its key, stage a revision.
    #[command(
        after_help = "Examples:\n  codexport follower join 'codexport://join?host=...&version=2' --apply\n  codexport follower join --master https://100.101.102.103:17342 --fingerprint SHA256:... --token ..."
    )]
    Join(FollowerJoinArgs),
    /// Forget the pinned master key (after the master was reinstalled on purpose).
    #[command(after_help = "Example:\n  codexport follower trust-reset --yes")]
    TrustReset(FollowerTrustResetArgs),
}

/// `codexport follower join`.
#[derive(Debug, Args)]
pub(crate) struct FollowerJoinArgs {
    /// The link printed by `codexport master link`.
    #[arg(required_unless_present = "master", conflicts_with_all = ["master", "fingerprint", "token"])]
    pub(crate) link: Option<String>,
    /// The master's URL, instead of a link: `https://HOST:PORT` (TLS that must prove the
    /// --fingerprint key), or `http://HOST:PORT` for a master run with `--plain-http`.
    #[arg(long, value_name = "URL", requires_all = ["fingerprint", "token"])]
    pub(crate) master: Option<String>,
    /// The master's fingerprint (`SHA256:...`), with --master.
    #[arg(long)]
    pub(crate) fingerprint: Option<String>,
    /// This follower's token, with --master.
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// Apply the revision right away.
    #[arg(long)]
    pub(crate) apply: bool,
    /// Give up on the master after this long (`500ms`, `5s`, `1m`).
    #[arg(long, default_value = "30s", value_parser = codexport_core::duration::parse_duration)]
    pub(crate) timeout: std::time::Duration,
}

/// `codexport follower trust-reset`.
#[derive(Debug, Args)]
pub(crate) struct FollowerTrustResetArgs {
    /// Confirm: without it nothing is changed.
    #[arg(long)]
    pub(crate) yes: bool,
}

/// `codexport sync`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Apply the revision after staging it.
    #[arg(long)]
    pub(crate) apply: bool,
    /// Give up on the master after this long (`500ms`, `5s`, `1m`).
    #[arg(long, default_value = "30s", value_parser = codexport_core::duration::parse_duration)]
    pub(crate) timeout: std::time::Duration,
    /// Run as Codex's SessionStart hook: silent, never waits for a lock, gives up after the
    /// budget, logs to `~/.codexport/logs/hook.log`, always exits 0.
    #[arg(long)]
    pub(crate) hook: bool,
    /// With --hook: the time budget (default: `[hook] budget` in local.toml, else 2s).
    #[arg(long, requires = "hook", value_parser = codexport_core::duration::parse_duration)]
    pub(crate) budget: Option<std::time::Duration>,
    /// Fetch and verify, then print what an apply would change; stage and write nothing.
    #[arg(long, conflicts_with_all = ["hook", "apply"])]
    pub(crate) dry_run: bool,
    /// With --apply: apply a revision that deletes more than half of the managed files (and
    /// more than 20); without it such a revision is staged, not applied (exit 4).
    #[arg(long, requires = "apply", conflicts_with = "hook")]
    pub(crate) allow_mass_delete: bool,
    /// Drop the journal of an unfinished apply that cannot be finished, instead of replaying
    /// it (the apply that follows writes the staged revision afresh).
    #[arg(long, conflicts_with = "hook")]
    pub(crate) discard_journal: bool,
}

/// `codexport apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// Print the files that would be added, changed and removed and the `config.toml` keys
    /// that would change; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Apply a revision that deletes more than half of the managed files (and more than 20);
    /// without it such a revision is not applied (exit 4).
    #[arg(long)]
    pub(crate) allow_mass_delete: bool,
    /// Drop the journal of an unfinished apply that cannot be finished, instead of replaying
    /// it; then apply the staged revision afresh.
    #[arg(long)]
    pub(crate) discard_journal: bool,
}

/// `codexport restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup's name, as `codexport backups` lists it (default: the newest).
    pub(crate) backup: Option<String>,
    /// Print the files that would be put back; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `codexport gc`.
#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// Report what would be removed; remove nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// How many of the newest revisions keep their objects.
    #[arg(long, value_name = "N", default_value_t = codexport_core::gc::DEFAULT_KEEP)]
    pub(crate) keep: usize,
    /// The report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport backups`.
#[derive(Debug, Args)]
pub(crate) struct BackupsArgs {
    /// One JSON array on stdout: `[{name, path, files, bytes}]`.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print JSON (for scripts).
    #[arg(long)]
    pub(crate) json: bool,
    /// How long to wait for the master's answer (`500ms`, `2s`).
    #[arg(long, default_value = "1s", value_parser = codexport_core::duration::parse_duration)]
    pub(crate) timeout: std::time::Duration,
}

/// `codexport verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Print JSON (for scripts): `ok`, `hooks_checked_by` and every finding.
    #[arg(long)]
    pub(crate) json: bool,
    /// How long Codex (`codex app-server`) may take to answer.
    #[arg(long, default_value = "30s", value_parser = codexport_core::duration::parse_duration)]
    pub(crate) timeout: std::time::Duration,
}

/// `codexport mcp ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum McpCommand {
    /// Start a synced MCP server, exactly as Codex does through `codexport-mcp-run`
    /// (stdout belongs to the server).
    #[command(after_help = "Example:\n  codexport mcp run everything < requests.jsonl")]
    Run(McpRunArgs),
    /// Hydrate MCP artifacts now, so their servers start at once when Codex asks.
    #[command(
        after_help = "Examples:\n  codexport mcp hydrate --all\n  codexport mcp hydrate everything time"
    )]
    Hydrate(McpHydrateArgs),
    /// Show the plan that would hydrate an MCP on this machine, without running it.
    #[command(after_help = "Example:\n  codexport mcp plan everything --json")]
    Plan(McpPlanArgs),
    /// List every MCP entry: name, transport, resolver, spec summary, state.
    ///
    /// On a follower this reads `~/.codexport/mcp-manifest.json`; on the master it shows the
    /// published revision's manifest, or builds it from the Codex `config.toml` and the
    /// `[mcp.NAME]` hints in `master.toml`.
    #[command(
        after_help = "Examples:\n  codexport mcp list\n  codexport mcp list --json | jq '.[].name'"
    )]
    List(McpListArgs),
    /// Show one MCP entry in full: command, args, env (values masked), artifact spec.
    #[command(
        after_help = "Examples:\n  codexport mcp inspect everything\n  codexport mcp inspect everything --json"
    )]
    Inspect(McpInspectArgs),
    /// Check every MCP (or the named ones): spec, plan, tools, hydration, then a live start
    /// through the launcher (`initialize` + `tools/list`); URL servers get a reachability check.
    /// Prints the repair of each failure; exits 8 when a command server fails, 5 when only URL
    /// servers do.
    #[command(
        after_help = "Examples:\n  codexport mcp doctor\n  codexport mcp doctor everything --json\n  codexport mcp doctor --no-start"
    )]
    Doctor(McpDoctorArgs),
}

/// `codexport mcp list`.
#[derive(Debug, Args)]
pub(crate) struct McpListArgs {
    /// Print JSON (an array of entries) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport mcp inspect NAME`.
#[derive(Debug, Args)]
pub(crate) struct McpInspectArgs {
    /// The `[mcp_servers.NAME]` entry.
    pub(crate) name: String,
    /// Print the entry as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport mcp run NAME`.
#[derive(Debug, Args)]
pub(crate) struct McpRunArgs {
    /// The MCP's name (its `[mcp_servers.NAME]` key).
    pub(crate) name: String,
}

/// `codexport mcp hydrate [NAME...|--all]`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["names", "all"]))]
pub(crate) struct McpHydrateArgs {
    /// The MCPs to hydrate.
    pub(crate) names: Vec<String>,
    /// Hydrate every MCP in the manifest that has something to hydrate.
    #[arg(long)]
    pub(crate) all: bool,
}

/// `codexport mcp plan NAME`.
#[derive(Debug, Args)]
pub(crate) struct McpPlanArgs {
    /// The MCP's name.
    pub(crate) name: String,
    /// Print the plan as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport mcp doctor [NAME...]`.
#[derive(Debug, Args)]
pub(crate) struct McpDoctorArgs {
    /// MCPs to check (default: every one in the manifest).
    pub(crate) names: Vec<String>,
    /// Print JSON (for scripts).
    #[arg(long)]
    pub(crate) json: bool,
    /// Check specs, plans, tools and hydration only; start no server.
    #[arg(long)]
    pub(crate) no_start: bool,
    /// How long one server start (or URL check) may take (`10s`, `1m`).
    #[arg(long, default_value = "60s", value_parser = codexport_core::duration::parse_duration)]
    pub(crate) timeout: std::time::Duration,
}

/// `codexport completions SHELL`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

fn after_help() -> String {
    codexport_core::ExitStatus::help_table()
}

/// `codexport hook ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum HookCommand {
    /// Install (or refresh) codexport's SessionStart hook, trusted, so Codex syncs at every
    /// session start.
    #[command(
        after_help = "Examples:\n  codexport hook install\n  codexport hook install --budget 3s"
    )]
    Install(HookInstallArgs),
    /// Remove codexport's hook; every other hook stays.
    #[command(after_help = "Example:\n  codexport hook uninstall")]
    Uninstall(HookUninstallArgs),
    /// Whether Codex runs codexport's hook, and every other hook with its trust.
    #[command(after_help = "Example:\n  codexport hook status --json")]
    Status(HookStatusArgs),
}

/// `codexport hook install`.
#[derive(Debug, Args)]
pub(crate) struct HookInstallArgs {
    /// How long the hook's sync may take before it gives up (`1500ms`, `3s`; default 2s).
    #[arg(long, value_parser = codexport_core::duration::parse_duration)]
    pub(crate) budget: Option<std::time::Duration>,
}

/// `codexport hook uninstall`.
#[derive(Debug, Args)]
pub(crate) struct HookUninstallArgs {}

/// `codexport hook status`.
#[derive(Debug, Args)]
pub(crate) struct HookStatusArgs {
    /// Print JSON (for scripts).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `codexport master service ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ServiceCommand {
    /// Install and start `codexport master serve` as a per-user service (systemd user unit on
    /// Linux, a scheduled task at logon on Windows).
    #[command(
        after_help = "Examples:\n  codexport master service install --dry-run\n  codexport master service install --listen 100.64.0.5:17342"
    )]
    Install(ServiceInstallArgs),
    /// Stop and remove the service.
    #[command(after_help = "Example:\n  codexport master service uninstall")]
    Uninstall(ServiceUninstallArgs),
    /// Whether the service is installed, current and running.
    #[command(after_help = "Example:\n  codexport master service status --json")]
    Status(ServiceStatusArgs),
}

/// `codexport master service install`.
#[derive(Debug, Args)]
pub(crate) struct ServiceInstallArgs {
    /// Address the service listens on (passed to `master serve --listen`).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Print the files and commands instead of running them.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `codexport master service uninstall`.
#[derive(Debug, Args)]
pub(crate) struct ServiceUninstallArgs {
    /// Print the commands instead of running them.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `codexport master service status`.
#[derive(Debug, Args)]
pub(crate) struct ServiceStatusArgs {
    /// Print JSON (for scripts).
    #[arg(long)]
    pub(crate) json: bool,
}
