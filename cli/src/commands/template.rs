//! `burstflare template …` and `burstflare release list`: create, list, show, archive, restore,
//! delete and promote templates; add versions and upload their bundles through one-time grants
//! (streamed from disk with a progress bar on stderr); list releases.
//!
//! Wherever a template is named, its name works as well as its id (names are resolved through
//! the template list, case-insensitively); a version is named by its label or its id.

use super::build::{self, follow_hint, names, WaitArgs};
use crate::bundle::{self, Bundle};
use crate::client::{body, parse, Api};
use crate::error::{CliError, Result};
use crate::output::{self, fields, table, Output};
use burstflare_api::{
    routes, AddVersionRequest, CreateTemplateRequest, DeleteTemplateResponse, PromoteRequest, PromoteResponse,
    ReleasesResponse, TemplateDto, TemplateResponse, TemplatesResponse, UploadGrantRequest, UploadGrantResponse,
    VersionDto, VersionResponse,
};
use clap::{Args, Subcommand};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Create a template in the current workspace
    Create {
        /// Letters, digits, '-', '_' or '.'
        name: String,
        /// What the template is for
        #[arg(long)]
        description: Option<String>,
    },
    /// List the templates of the current workspace
    List,
    /// Show a template with its versions and their builds
    Show(Named),
    /// Archive a template (no new sessions start from it)
    Archive(Named),
    /// Restore an archived template
    Restore(Named),
    /// Delete a template with its versions, builds, releases and bundles (asks nothing)
    Delete(Named),
    /// Make a version whose build succeeded the active one, recording a release
    Promote {
        /// The template's name or id
        template: String,
        /// The version's label or id
        #[arg(value_name = "VERSION")]
        label: String,
    },
    /// Add versions and upload their bundles
    #[command(subcommand)]
    Version(VersionCommand),
}

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Add a version and upload its bundle, which queues its build
    #[command(disable_version_flag = true)]
    Add {
        /// The template's name or id
        template: String,
        /// The new version's label, e.g. 1.0.0
        #[arg(long, value_name = "LABEL")]
        version: String,
        /// The manifest (JSON) [default: burstflare.json in the bundle directory]
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// Release notes
        #[arg(long)]
        notes: Option<String>,
        /// A directory to pack (everything but .git), or a .tar.gz file to upload as it is
        #[arg(long, value_name = "DIR|FILE")]
        bundle: PathBuf,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Upload a version's bundle again, which queues its build again
    Upload {
        /// The template's name or id
        template: String,
        /// The version's label or id
        #[arg(value_name = "VERSION")]
        label: String,
        /// A directory to pack, or a .tar.gz file
        #[arg(long, value_name = "DIR|FILE")]
        bundle: PathBuf,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// A template named on the command line.
#[derive(Debug, Args)]
pub struct Named {
    /// The template's name or id
    pub template: String,
}

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// List releases (promotions), newest last
    List {
        /// Only the releases of this template (name or id)
        #[arg(long, value_name = "TEMPLATE")]
        template: Option<String>,
    },
}

pub async fn run(api: &mut Api, out: Output, command: TemplateCommand) -> Result<()> {
    let (raw, text) = match command {
        TemplateCommand::Create { name, description } => {
            let raw = api.post(routes::TEMPLATES, body(&CreateTemplateRequest { name, description })).await?;
            let t = parse::<TemplateResponse>(&raw)?.template;
            (raw, format!("Created template {} ({}).", t.name, t.id))
        }
        TemplateCommand::List => {
            let raw = api.get(routes::TEMPLATES).await?;
            let text = list_text(&parse::<TemplatesResponse>(&raw)?.templates);
            (raw, text)
        }
        TemplateCommand::Show(Named { template }) => {
            let id = template_id(api, &template).await?;
            let raw = api.get(&routes::path(routes::TEMPLATE, &[&id])).await?;
            let text = show_text(&parse::<TemplateResponse>(&raw)?.template);
            (raw, text)
        }
        TemplateCommand::Archive(Named { template }) => archive(api, &template, true).await?,
        TemplateCommand::Restore(Named { template }) => archive(api, &template, false).await?,
        TemplateCommand::Delete(Named { template }) => {
            let id = template_id(api, &template).await?;
            let raw = api.authed(reqwest::Method::DELETE, &routes::path(routes::TEMPLATE, &[&id]), None).await?;
            let d: DeleteTemplateResponse = parse(&raw)?;
            let text = format!(
                "Deleted template {template} ({id}) with {} version(s), {} build(s) and {} release(s).",
                d.deleted_versions, d.deleted_builds, d.deleted_releases
            );
            (raw, text)
        }
        TemplateCommand::Promote { template, label } => {
            let (t, v) = version_of(api, &template, &label).await?;
            let path = routes::path(routes::TEMPLATE_PROMOTE, &[&t.id]);
            let raw = api.post(&path, body(&PromoteRequest { version_id: v.id.clone() })).await?;
            let release = parse::<PromoteResponse>(&raw)?.release;
            (raw, format!("Template {} now runs version {} ({}); release {}.", t.name, v.version, v.id, release.id))
        }
        TemplateCommand::Version(command) => return version(api, out, command).await,
    };
    out.show(&raw, || text);
    Ok(())
}

pub async fn run_release(api: &mut Api, out: Output, command: ReleaseCommand) -> Result<()> {
    let ReleaseCommand::List { template } = command;
    let path = match template {
        Some(t) => format!("{}?templateId={}", routes::RELEASES, template_id(api, &t).await?),
        None => routes::RELEASES.to_string(),
    };
    let raw = api.get(&path).await?;
    let releases = parse::<ReleasesResponse>(&raw)?.releases;
    if out.is_json() {
        output::print_json(&raw);
        return Ok(());
    }
    let names = names(api).await;
    let rows: Vec<Vec<String>> = releases
        .iter()
        .map(|r| {
            let (t, v) = (names.template(&r.template_id), names.version(&r.template_version_id));
            vec![r.id.clone(), t, v, r.template_version_id.clone(), r.created_at.clone()]
        })
        .collect();
    output::print(&table(&["RELEASE", "TEMPLATE", "VERSION", "VERSION ID", "CREATED"], &rows));
    Ok(())
}

async fn archive(api: &mut Api, template: &str, archived: bool) -> Result<(Value, String)> {
    let route = if archived { routes::TEMPLATE_ARCHIVE } else { routes::TEMPLATE_RESTORE };
    let id = template_id(api, template).await?;
    let raw = api.post(&routes::path(route, &[&id]), None).await?;
    let t = parse::<TemplateResponse>(&raw)?.template;
    let done = if archived { "Archived" } else { "Restored" };
    Ok((raw, format!("{done} template {} ({}).", t.name, t.id)))
}

/// Whether `arg` has the shape of an id with this prefix (`tpl_<uuid>`).
fn is_id(arg: &str, prefix: &str) -> bool {
    let uuid = arg.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('_'));
    uuid.is_some_and(|u| u.len() == 36 && u.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
}

/// The id of the template named by `arg`: an id is used as it is, a name is looked up.
pub async fn template_id(api: &mut Api, arg: &str) -> Result<String> {
    if is_id(arg, "tpl") {
        return Ok(arg.to_string());
    }
    let list = parse::<TemplatesResponse>(&api.get(routes::TEMPLATES).await?)?.templates;
    let found = list.iter().find(|t| t.id == arg).or_else(|| list.iter().find(|t| t.name.eq_ignore_ascii_case(arg)));
    found
        .map(|t| t.id.clone())
        .ok_or_else(|| CliError::new("template_not_found", format!("no template named {arg} in this workspace")))
}

/// A template and one of its versions, by label or id.
async fn version_of(api: &mut Api, template: &str, version: &str) -> Result<(TemplateDto, VersionDto)> {
    let path = routes::path(routes::TEMPLATE, &[&template_id(api, template).await?]);
    let t = parse::<TemplateResponse>(&api.get(&path).await?)?.template;
    let v = t.versions.iter().find(|v| v.id == version).or_else(|| t.versions.iter().find(|v| v.version == version));
    let v = v
        .cloned()
        .ok_or_else(|| CliError::new("version_not_found", format!("template {} has no version {version}", t.name)))?;
    Ok((t, v))
}

fn list_text(templates: &[TemplateDto]) -> String {
    let rows: Vec<Vec<String>> = templates
        .iter()
        .map(|t| {
            let active = t.active_version.as_ref().map_or("-".to_string(), |v| v.version.clone());
            let archived = if t.archived_at.is_some() { "archived" } else { "" };
            vec![
                t.id.clone(),
                t.name.clone(),
                active,
                t.versions.len().to_string(),
                archived.into(),
                t.created_at.clone(),
            ]
        })
        .collect();
    table(&["ID", "NAME", "ACTIVE", "VERSIONS", "STATE", "CREATED"], &rows)
}

fn show_text(t: &TemplateDto) -> String {
    let active = t.active_version.as_ref().map_or("none".to_string(), |v| format!("{} ({})", v.version, v.id));
    let mut text = fields(&[
        ("id", t.id.clone()),
        ("name", t.name.clone()),
        ("description", t.description.clone()),
        ("active", active),
        ("archived", t.archived_at.clone().unwrap_or_else(|| "no".into())),
        ("created", t.created_at.clone()),
    ]);
    let rows: Vec<Vec<String>> = t
        .versions
        .iter()
        .map(|v| {
            let mark = if t.active_version_id.as_deref() == Some(v.id.as_str()) { "*" } else { "" };
            let bundle = v.bundle.as_ref().map_or("-".to_string(), |b| HumanBytes(b.bytes).to_string());
            let (build, status) =
                v.build.as_ref().map_or(("-".into(), "-".into()), |b| (b.id.clone(), b.status.clone()));
            vec![
                mark.into(),
                v.version.clone(),
                v.id.clone(),
                v.status.clone(),
                bundle,
                build,
                status,
                v.created_at.clone(),
            ]
        })
        .collect();
    text.push_str("\n\n");
    text.push_str(&table(&["", "VERSION", "ID", "STATUS", "BUNDLE", "BUILD", "BUILD STATUS", "CREATED"], &rows));
    text
}

async fn version(api: &mut Api, out: Output, command: VersionCommand) -> Result<()> {
    match command {
        VersionCommand::Add { template, version, manifest, notes, bundle, wait } => {
            let template_id = template_id(api, &template).await?;
            let manifest = bundle::read_manifest(manifest.as_deref(), &bundle)?;
            let prepared = prepare(out, bundle.clone()).await?;
            let path = routes::path(routes::VERSIONS, &[&template_id]);
            let raw = api.post(&path, body(&AddVersionRequest { version, manifest, notes })).await?;
            let added = parse::<VersionResponse>(&raw)?.template_version;
            out.note(&format!("Added version {} ({}) to template {template}.", added.version, added.id));
            let uploaded = upload(api, out, &template_id, &added.id, prepared).await.map_err(|e| CliError {
                message: format!(
                    "{}; the version exists without a bundle: run `burstflare template version upload {template} {} --bundle {}`",
                    e.message,
                    added.version,
                    bundle.display()
                ),
                ..e
            })?;
            finish(api, out, uploaded, wait).await
        }
        VersionCommand::Upload { template, label, bundle, wait } => {
            let (t, v) = version_of(api, &template, &label).await?;
            let prepared = prepare(out, bundle).await?;
            let uploaded = upload(api, out, &t.id, &v.id, prepared).await?;
            finish(api, out, uploaded, wait).await
        }
    }
}

/// Packs or checks the bundle off the async thread, with a spinner while a directory is packed.
async fn prepare(out: Output, path: PathBuf) -> Result<Bundle> {
    let spinner = path.is_dir().then(|| build::spinner(out));
    if let Some(s) = &spinner {
        s.set_message(format!("packing {}", path.display()));
    }
    let prepared = tokio::task::spawn_blocking(move || bundle::prepare(&path)).await;
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let prepared = prepared.map_err(|e| CliError::new("internal", format!("packing stopped: {e}")))??;
    if let Some(p) = &prepared.packed {
        let mut line = format!(
            "Packed {} file(s), {} directory(ies) and {} symlink(s) ({}) into {}.",
            p.files,
            p.directories,
            p.symlinks,
            HumanBytes(p.unpacked_bytes),
            HumanBytes(prepared.bytes)
        );
        if !p.skipped.is_empty() {
            line.push_str(&format!("\nwarning: left out special files: {}", p.skipped.join(", ")));
        }
        out.note(&line);
    }
    Ok(prepared)
}

/// Gets a grant for the bundle's exact size and PUTs the file to it, streamed (no token: the
/// grant is the permission). Returns the server's `{templateVersion, build}`.
async fn upload(api: &mut Api, out: Output, template_id: &str, version_id: &str, bundle: Bundle) -> Result<Value> {
    let request = UploadGrantRequest { content_type: bundle::CONTENT_TYPE.to_string(), bytes: bundle.bytes };
    let path = routes::path(routes::BUNDLE_GRANT, &[template_id, version_id]);
    let grant = parse::<UploadGrantResponse>(&api.post(&path, body(&request)).await?)?.upload_grant;
    let bar = ProgressBar::with_draw_target(Some(bundle.bytes), build::progress_target(out));
    let style = "uploading [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}";
    bar.set_style(ProgressStyle::with_template(style).expect("a valid template").progress_chars("=> "));
    let method = reqwest::Method::from_bytes(grant.method.as_bytes()).unwrap_or(reqwest::Method::PUT);
    // A stalled upload gives up eventually; a slow one gets at least 32 KiB/s.
    let timeout = Duration::from_secs(60 + bundle.bytes / (32 * 1024));
    let request = build::http(timeout)?
        .request(method, api.absolute_url(&grant.url))
        .header(CONTENT_TYPE, &grant.content_type)
        .header(CONTENT_LENGTH, bundle.bytes)
        .body(bundle::streamed(bundle.file, bar.clone()));
    let sent = build::with_headers(request).send().await;
    bar.finish_and_clear();
    let response = sent.map_err(|e| build::transport(e, api.base_url()))?;
    let bytes = build::answer(response, api.base_url()).await?;
    serde_json::from_slice(&bytes)
        .map_err(|_| CliError::new("bad_response", "the server answered the upload with something other than JSON"))
}

/// Prints the uploaded version and its queued build, or waits for the build first.
async fn finish(api: &mut Api, out: Output, mut raw: Value, wait: WaitArgs) -> Result<()> {
    let uploaded: VersionResponse = parse(&raw)?;
    let (v, b) = (&uploaded.template_version, &uploaded.build);
    let size = v.bundle.as_ref().map_or(0, |b| b.bytes);
    let line =
        format!("Uploaded the bundle of version {} ({}); build {} is {}.", v.version, HumanBytes(size), b.id, b.status);
    if !wait.wait {
        out.show(&raw, || format!("{line}\n{}", follow_hint(&b.id)));
        return Ok(());
    }
    out.note(&line);
    let waited = build::wait(api, out, &b.id, wait.timeout).await?;
    raw["build"] = waited["build"].clone();
    build::report(out, &raw)
}
