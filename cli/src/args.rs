//! The command line: global options and the command tree, declared with clap's derive API. The
//! same declaration drives parsing, `--help` and `burstflare completions`.

pub use crate::commands::build::BuildCommand;
pub use crate::commands::session::SessionCommand;
pub use crate::commands::snapshot::SnapshotCommand;
pub use crate::commands::template::{ReleaseCommand, TemplateCommand, VersionCommand};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Roles a member can be given (the owner role cannot be given).
pub const ROLES: [&str; 3] = ["admin", "member", "viewer"];
/// Billing plans.
pub const PLANS: [&str; 3] = ["free", "pro", "enterprise"];

/// BurstFlare: disposable developer environments.
#[derive(Debug, Parser)]
#[command(name = "burstflare", version, propagate_version = true)]
pub struct Cli {
    /// Server URL [default: the saved one, else http://127.0.0.1:8787]
    #[arg(long, global = true, env = "BURSTFLARE_URL", value_name = "URL")]
    pub url: Option<String>,

    /// Print the server's JSON response (pretty-printed) instead of human output
    #[arg(long, global = true)]
    pub json: bool,

    /// Config file [default: $XDG_CONFIG_HOME/burstflare/config.json or ~/.config/burstflare/config.json]
    #[arg(long, global = true, env = "BURSTFLARE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign up, sign in and out, and see who you are
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Workspaces: list, switch, members, invites, roles, removals, leaving and plan
    #[command(subcommand, visible_alias = "ws")]
    Workspace(WorkspaceCommand),
    /// Templates: create, list, show, archive, restore, delete, promote; add versions with bundles
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Template builds: list, log, retry, wait
    #[command(subcommand)]
    Build(BuildCommand),
    /// Releases (template promotions)
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Sessions: create, list, show, start, stop, restart, delete, events
    #[command(subcommand)]
    Session(SessionCommand),
    /// Snapshots of a session's persisted paths: list, upload, download, delete
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Open an SSH connection to a session (runs `ssh`; ARGS after `--` go to it: a command, -L, -N…)
    Ssh {
        /// The session (name or id)
        session: String,
        /// Passed to `ssh` after the host: a command to run, or options such as -L 8080:localhost:3000
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The session's SSH stream on stdin/stdout (the ProxyCommand `burstflare ssh` gives ssh)
    SshProxy {
        /// The session (name or id)
        session: String,
    },
    /// Write `Host burstflare-<name>` entries for the workspace's sessions into ~/.ssh/config
    /// (a managed block; the rest of the file is left alone), so scp, rsync and sftp work by name
    SshConfig {
        /// The ssh config file to update
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// A shell in a session, in this terminal
    Terminal {
        /// The session (name or id)
        session: String,
    },
    /// Print a link that opens a session's preview in a browser
    Preview {
        /// The session (name or id)
        session: String,
        /// Also open it with xdg-open
        #[arg(long)]
        open: bool,
    },
    /// Print a shell completion script
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Where the password comes from when it is not typed at a prompt.
#[derive(Debug, Args)]
pub struct PasswordSource {
    /// Read the password from the first line of standard input (else BURSTFLARE_PASSWORD, else a prompt)
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Create an account (and its personal workspace) and sign in
    Register {
        /// The new account's email
        #[arg(long)]
        email: String,
        /// Display name [default: derived from the email]
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Sign in with email and password
    Login {
        /// Your account's email
        #[arg(long)]
        email: String,
        /// Sign in to this workspace [default: your personal one]
        #[arg(long, value_name = "ID")]
        workspace: Option<String>,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Sign in by approving a code from a browser or another signed-in CLI
    Device {
        /// Poll every N milliseconds instead of the server's interval (tests)
        #[arg(long, hide = true, value_name = "N")]
        poll_interval_ms: Option<u64>,
    },
    /// Approve (or deny) another device's sign-in code for your current workspace
    Approve {
        /// The code the other device shows, like BCDF-GHJK
        user_code: String,
        /// Deny the request instead
        #[arg(long)]
        deny: bool,
    },
    /// Sign out: revoke the sign_in on the server and forget it here
    Logout,
    /// Show the signed-in user, workspace and role
    Whoami,
    /// Exchange the refresh token for a new token pair now
    Refresh,
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// List the workspaces you belong to (* marks the current one)
    List,
    /// Make another workspace you belong to the current one
    Switch {
        /// A workspace id from `burstflare workspace list`
        #[arg(value_name = "WORKSPACE_ID")]
        workspace_id: String,
    },
    /// List members and pending invites of the current workspace
    Members,
    /// Invite someone to the current workspace by email
    Invite {
        /// Who to invite (they need not have an account yet)
        email: String,
        /// Role to give [default: member]
        #[arg(long, value_parser = ROLES)]
        role: Option<String>,
    },
    /// Accept an invite code someone sent you
    Accept {
        /// The code from `burstflare workspace invite`
        #[arg(value_name = "INVITE_CODE")]
        code: String,
        /// Also switch to the joined workspace
        #[arg(long)]
        switch: bool,
    },
    /// Change a member's role in the current workspace
    Role {
        /// The member's user id or email
        #[arg(value_name = "USER")]
        user: String,
        /// The new role
        #[arg(value_parser = ROLES)]
        role: String,
    },
    /// Remove a member from the current workspace (admins and the owner)
    RemoveMember {
        /// The member's user id or email
        #[arg(value_name = "USER")]
        user: String,
    },
    /// Revoke a pending invite of the current workspace, so its code no longer works
    RevokeInvite {
        /// The invite's id (see `workspace members`) or the email it was sent to
        #[arg(value_name = "ID")]
        invite: String,
    },
    /// Leave the current workspace and switch to your personal one
    Leave,
    /// Change the current workspace's plan
    Plan {
        /// The new plan
        #[arg(value_parser = PLANS)]
        plan: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("burstflare").chain(args.iter().copied()))
    }

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = parse(&["auth", "whoami", "--json", "--url", "http://x.test"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.url.as_deref(), Some("http://x.test"));
        assert!(matches!(cli.command, Command::Auth(AuthCommand::Whoami)));
    }

    #[test]
    fn there_is_no_password_flag() {
        let err = parse(&["auth", "login", "--email", "a@b.c", "--password", "hunter22"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        let ok = parse(&["auth", "login", "--email", "a@b.c", "--password-stdin"]).unwrap();
        assert!(matches!(
            ok.command,
            Command::Auth(AuthCommand::Login { password: PasswordSource { password_stdin: true }, .. })
        ));
    }

    #[test]
    fn roles_and_plans_are_checked_before_any_request() {
        assert!(parse(&["workspace", "role", "usr_1", "owner"]).is_err());
        assert!(parse(&["workspace", "plan", "gold"]).is_err());
        assert!(parse(&["ws", "invite", "b@c.d", "--role", "viewer"]).is_ok());
    }

    #[test]
    fn the_poll_interval_flag_is_hidden() {
        let help =
            Cli::command().find_subcommand_mut("auth").unwrap().find_subcommand_mut("device").unwrap().render_help();
        assert!(!help.to_string().contains("poll-interval"));
        assert!(parse(&["auth", "device", "--poll-interval-ms", "50"]).is_ok());
    }
}
