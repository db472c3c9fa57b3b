//! Request and response bodies of templates, versions, bundles, builds and releases.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTemplateRequest {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddVersionRequest {
    /// The version label, e.g. `1.0.0`.
    pub version: String,
    /// The manifest (see the README for its fields).
    pub manifest: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadGrantRequest {
    pub content_type: String,
    /// The exact size of the bundle that will be uploaded.
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromoteRequest {
    pub version_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactDto {
    pub digest: String,
    pub file_count: u64,
    pub unpacked_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDto {
    pub id: String,
    pub template_id: String,
    pub template_version_id: String,
    /// `queued`, `building`, `retrying`, `succeeded`, `failed` or `dead_lettered`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub artifact: Option<ArtifactDto>,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub dead_lettered_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDto {
    pub content_type: String,
    pub bytes: u64,
    pub uploaded_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionDto {
    pub id: String,
    pub template_id: String,
    /// The version label.
    pub version: String,
    pub notes: String,
    pub manifest: serde_json::Value,
    /// `queued`, `building`, `ready` or `failed`.
    pub status: String,
    pub bundle: Option<BundleDto>,
    pub created_by_user_id: String,
    pub created_at: String,
    pub built_at: Option<String>,
    pub build: Option<BuildDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDto {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub description: String,
    pub active_version_id: Option<String>,
    pub active_version: Option<VersionDto>,
    pub archived_at: Option<String>,
    pub archived_by_user_id: Option<String>,
    pub created_by_user_id: String,
    pub created_at: String,
    pub versions: Vec<VersionDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseDto {
    pub id: String,
    pub workspace_id: String,
    pub template_id: String,
    pub template_version_id: String,
    pub created_by_user_id: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadGrantDto {
    pub id: String,
    /// Where to `PUT` the bundle: the grant's secret is in the path; no token is needed.
    pub url: String,
    pub method: String,
    pub expires_at: String,
    pub content_type: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateResponse {
    pub template: TemplateDto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplatesResponse {
    pub templates: Vec<TemplateDto>,
}

/// Add-version and bundle uploads: the version and its (re)queued build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionResponse {
    pub template_version: VersionDto,
    pub build: BuildDto,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadGrantResponse {
    pub upload_grant: UploadGrantDto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromoteResponse {
    pub template: TemplateDto,
    pub release: ReleaseDto,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTemplateResponse {
    pub ok: bool,
    pub template_id: String,
    pub deleted_versions: usize,
    pub deleted_builds: usize,
    pub deleted_releases: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildsResponse {
    pub builds: Vec<BuildDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildResponse {
    pub build: BuildDto,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasesResponse {
    pub releases: Vec<ReleaseDto>,
}
