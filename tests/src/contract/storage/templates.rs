//! Templates and their versions, builds, releases and upload grants: uniqueness (names per
//! workspace whatever the case, labels per template, one build per version, grant hashes),
//! references, guarded full replacement of mutable fields, the delete cascade, list orders,
//! stuck builds, and grants used once.

use crate::contract::fixtures::{self, Account};
use crate::contract::harness::{assert_conflict, Harness};
use anyhow::Context as _;
use burstflare_core::ids::{TemplateId, UserId, VersionId, WorkspaceId};
use burstflare_core::model::{
    Artifact, Build, BuildStatus, BundleInfo, Release, Template, TemplateVersion, UploadGrant, VersionStatus,
};
use burstflare_core::secret::Secret;
use burstflare_core::store::{Counted, Write};
use burstflare_core::time::Timestamp;

/// A stored template with two versions (each with its build), a release of the first, and an
/// upload grant for the second.
struct Tree {
    template: Template,
    versions: Vec<(TemplateVersion, Build)>,
    release: Release,
    grant: Secret,
}

async fn tree(h: &Harness, account: &Account, name: &str) -> anyhow::Result<Tree> {
    let now = h.now();
    let template = fixtures::template(&account.workspace.id, &account.user.id, name, now);
    let mut writes = vec![Write::CreateTemplate(template.clone())];
    let mut versions = Vec::new();
    for label in ["1.0.0", "1.1.0"] {
        let version = fixtures::version(&template, label, now);
        let build = fixtures::build(&version, now);
        writes.extend([Write::CreateVersion(version.clone()), Write::CreateBuild(build.clone())]);
        versions.push((version, build));
    }
    let release = fixtures::release(&versions[0].0, now);
    let (grant, record) = fixtures::grant(&versions[1].0, now);
    writes.extend([Write::CreateRelease(release.clone()), Write::CreateGrant(record)]);
    h.commit(writes).await?;
    Ok(Tree { template, versions, release, grant })
}

/// Everything stored under a template, as the read ports return it.
async fn contents(
    h: &Harness,
    t: &Template,
) -> anyhow::Result<(Option<Template>, Vec<TemplateVersion>, Vec<Option<Build>>, Vec<Release>)> {
    let versions = h.ports.templates.versions(&t.id).await?;
    let mut builds = Vec::new();
    for v in &versions {
        builds.push(h.ports.builds.for_version(&v.id).await?);
    }
    let releases = h.ports.templates.releases(&t.workspace_id, Some(&t.id)).await?;
    Ok((h.ports.templates.get(&t.workspace_id, &t.id).await?, versions, builds, releases))
}

pub async fn template_names_are_unique_per_workspace_whatever_the_case(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (ws, now) = (&ada.workspace.id, h.now());
    let first = fixtures::template(ws, &ada.user.id, "Node-Dev", now);
    h.commit([Write::CreateTemplate(first.clone())]).await?;
    assert_eq!(h.ports.templates.get(ws, &first.id).await?, Some(first.clone()));
    assert_eq!(h.ports.templates.get(&bob.workspace.id, &first.id).await?, None, "other workspaces do not see it");

    let again = fixtures::template(ws, &ada.user.id, "node-DEV", now);
    let entry = fixtures::audit(Some(ws), "lost", now);
    assert_conflict(h.commit([Write::Audit(entry), Write::CreateTemplate(again.clone())]).await);
    assert_eq!(h.ports.templates.list(ws).await?, vec![first.clone()]);
    assert_eq!(h.ports.audit.list(ws, 10).await?, vec![], "nothing of the refused batch lands");
    // Two of the same name in one batch.
    let (a, b) = (fixtures::template(ws, &ada.user.id, "py", now), fixtures::template(ws, &ada.user.id, "PY", now));
    assert_conflict(h.commit([Write::CreateTemplate(a), Write::CreateTemplate(b)]).await);

    let elsewhere = fixtures::template(&bob.workspace.id, &bob.user.id, "NODE-DEV", now);
    h.commit([Write::CreateTemplate(elsewhere.clone())]).await?;
    assert_eq!(h.ports.templates.list(&bob.workspace.id).await?, vec![elsewhere]);
    assert_eq!(h.ports.templates.list(ws).await?, vec![first]);

    // References must exist, like foreign keys.
    let ghost = fixtures::template(ws, &UserId::from_raw("usr_missing"), "ghost", now);
    assert_conflict(h.commit([Write::CreateTemplate(ghost)]).await);
    let nowhere = WorkspaceId::from_raw("ws_missing");
    let usage = [fixtures::usage(ws, now), fixtures::usage(&nowhere, now)];
    assert_conflict(h.commit(usage.map(Write::Usage)).await);
    h.commit([Write::Usage(fixtures::usage(ws, now))]).await?;
    Ok(())
}

pub async fn version_labels_and_builds_are_unique_and_need_their_parents(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let tree = tree(h, &ada, "node").await?;
    let other = empty_template(h, &ada, "python").await?;
    let (t, now) = (&tree.template, h.now());
    let stored = h.ports.templates.versions(&t.id).await?;
    assert_eq!(stored, tree.versions.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>(), "manifests round-trip");

    assert_conflict(h.commit([Write::CreateVersion(fixtures::version(t, "1.0.0", now))]).await);
    h.commit([Write::CreateVersion(fixtures::version(&other, "1.0.0", now))]).await?;
    let (first, first_build) = &tree.versions[0];
    assert_conflict(h.commit([Write::CreateBuild(fixtures::build(first, now))]).await);
    assert_eq!(h.ports.builds.for_version(&first.id).await?, Some(first_build.clone()));
    assert_eq!(h.ports.builds.get(&first_build.id).await?, Some(first_build.clone()));
    assert_eq!(
        h.ports.templates.get_version(&other.id, &first.id).await?,
        None,
        "a version is read through its template"
    );

    let mut orphan = fixtures::version(t, "9.9.9", now);
    orphan.template_id = TemplateId::from_raw("tpl_missing");
    assert_conflict(h.commit([Write::CreateVersion(orphan.clone())]).await);
    orphan.template_id = t.id.clone();
    let mut lost = fixtures::build(&orphan, now);
    lost.version_id = VersionId::from_raw("tplv_missing");
    assert_conflict(h.commit([Write::CreateBuild(lost)]).await);
    // A version and its build in one batch: the build sees the version.
    h.commit([Write::CreateVersion(orphan.clone()), Write::CreateBuild(fixtures::build(&orphan, now))]).await?;
    assert_eq!(h.ports.templates.versions(&t.id).await?.len(), 3);
    Ok(())
}

async fn empty_template(h: &Harness, account: &Account, name: &str) -> anyhow::Result<Template> {
    let template = fixtures::template(&account.workspace.id, &account.user.id, name, h.now());
    h.commit([Write::CreateTemplate(template.clone())]).await?;
    Ok(template)
}

pub async fn guarded_updates_replace_mutable_fields_and_stale_ones_reject_the_batch(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let tree = tree(h, &ada, "node").await?;
    let ws = &ada.workspace.id;
    let (version, build) = tree.versions[0].clone();
    h.clock.advance_seconds(5);
    let now = h.now();

    let mut template = tree.template.clone();
    template.description = "changed".into();
    template.active_version_id = Some(version.id.clone());
    template.archived_at = Some(now);
    template.archived_by_user_id = Some(ada.user.id.clone());
    template.version = 2;
    let mut renamed = template.clone();
    renamed.name = burstflare_core::values::TemplateName::from_stored("renamed".into()); // the name is not a mutable field
    let mut built = version.clone();
    built.status = VersionStatus::Ready;
    built.bundle = Some(BundleInfo {
        key: "k/bundle.bin".into(),
        content_type: "application/gzip".into(),
        bytes: 42,
        uploaded_at: now,
    });
    built.built_at = Some(now);
    built.version = 2;
    let mut done = build.clone();
    done.status = BuildStatus::Succeeded;
    done.attempts = 2;
    done.last_error = Some("once".into());
    done.artifact = Some(Artifact { digest: "sha256:ab".into(), file_count: 3, unpacked_bytes: 1 << 40 });
    (done.updated_at, done.started_at, done.finished_at, done.dead_lettered_at) =
        (now, Some(now), Some(now), Some(now));
    done.version = 2;
    h.commit([
        Write::UpdateTemplate { template: renamed, expected_version: 1 },
        Write::UpdateVersion { version: built.clone(), expected_version: 1 },
        Write::UpdateBuild { build: done.clone(), expected_version: 1 },
    ])
    .await?;
    assert_eq!(h.ports.templates.get(ws, &template.id).await?, Some(template.clone()));
    assert_eq!(h.ports.templates.get_version(&template.id, &version.id).await?, Some(built.clone()));
    assert_eq!(h.ports.builds.get(&build.id).await?, Some(done.clone()));

    // Restoring (clearing fields) works the same way.
    let mut restored = template.clone();
    (restored.archived_at, restored.archived_by_user_id, restored.version) = (None, None, 3);
    h.commit([Write::UpdateTemplate { template: restored.clone(), expected_version: 2 }]).await?;
    assert_eq!(h.ports.templates.get(ws, &template.id).await?, Some(restored.clone()));

    // One stale guard among valid writes: nothing lands.
    let before = contents(h, &tree.template).await?;
    let release = fixtures::release(&version, now);
    let mut second = tree.versions[1].0.clone();
    (second.status, second.version) = (VersionStatus::Failed, 2);
    for stale in [
        Write::UpdateTemplate { template: restored.clone(), expected_version: 2 },
        Write::UpdateVersion { version: built.clone(), expected_version: 1 },
        Write::UpdateBuild { build: done.clone(), expected_version: 1 },
        Write::UpdateBuild { build: fixtures::build(&version, now), expected_version: 1 },
    ] {
        let batch = [
            Write::CreateRelease(release.clone()),
            Write::UpdateVersion { version: second.clone(), expected_version: 1 },
            Write::Usage(fixtures::usage(ws, now)),
            stale,
        ];
        assert_conflict(h.commit(batch).await);
        assert_eq!(contents(h, &tree.template).await?, before);
    }
    Ok(())
}

pub async fn deleting_a_template_cascades_to_its_dependants_only(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let gone = tree(h, &ada, "node").await?;
    let kept = tree(h, &ada, "python").await?;
    let ws = &ada.workspace.id;
    let kept_before = contents(h, &kept.template).await?;
    let delete = |expected_version| Write::DeleteTemplate { template_id: gone.template.id.clone(), expected_version };

    assert_conflict(h.commit([delete(2)]).await);
    let entry = fixtures::audit(Some(ws), "lost", h.now());
    assert_conflict(h.commit([Write::Audit(entry), delete(1), delete(1)]).await);
    // Nothing may hang off a template deleted earlier in the batch.
    let late = fixtures::version(&gone.template, "2.0.0", h.now());
    assert_conflict(h.commit([delete(1), Write::CreateVersion(late)]).await);
    assert!(h.ports.templates.get(ws, &gone.template.id).await?.is_some(), "a refused delete leaves it");
    assert_eq!(h.ports.templates.versions(&gone.template.id).await?.len(), 2);

    h.commit([delete(1)]).await?;
    assert_eq!(contents(h, &gone.template).await?, (None, vec![], vec![], vec![]));
    for (version, build) in &gone.versions {
        assert_eq!(h.ports.templates.get_version(&gone.template.id, &version.id).await?, None);
        assert_eq!(h.ports.builds.get(&build.id).await?, None);
        assert_eq!(h.ports.builds.for_version(&version.id).await?, None);
    }
    assert_eq!(h.ports.grants.find_by_secret(&gone.grant.hash()).await?, None);
    assert_eq!(h.ports.templates.releases(ws, None).await?, vec![kept.release.clone()]);
    assert_eq!(h.ports.builds.list(ws).await?, kept.versions.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>());
    assert_eq!(contents(h, &kept.template).await?, kept_before, "other templates are untouched");
    assert!(h.ports.grants.find_by_secret(&kept.grant.hash()).await?.is_some());
    assert_eq!(h.ports.templates.list(ws).await?, vec![kept.template.clone()]);

    // The name is free again, and a deleted template's guard no longer matches.
    assert_conflict(h.commit([delete(1)]).await);
    tree(h, &ada, "NODE").await?;
    Ok(())
}

pub async fn lists_are_ordered_by_time_then_insertion(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let (ws, by) = (&ada.workspace.id, &ada.user.id);
    let (t0, t1) = (h.now(), h.now().plus_seconds(1));
    let late = fixtures::template(ws, by, "late", t1);
    let (a, b) = (fixtures::template(ws, by, "a", t0), fixtures::template(ws, by, "b", t0));
    h.commit([Write::CreateTemplate(late.clone()), Write::CreateTemplate(b.clone()), Write::CreateTemplate(a.clone())])
        .await?;
    h.commit([Write::CreateTemplate(fixtures::template(&bob.workspace.id, &bob.user.id, "x", t0))]).await?;
    assert_eq!(h.ports.templates.list(ws).await?, vec![b.clone(), a.clone(), late.clone()]);

    let v2 = fixtures::version(&b, "2", t1);
    let (v1a, v1b) = (fixtures::version(&b, "1a", t0), fixtures::version(&b, "1b", t0));
    let builds = [fixtures::build(&v2, t1), fixtures::build(&v1b, t0), fixtures::build(&v1a, t0)];
    let mut writes: Vec<Write> = [&v2, &v1b, &v1a].map(|v| Write::CreateVersion(v.clone())).into();
    writes.extend(builds.iter().map(|b| Write::CreateBuild(b.clone())));
    let other = fixtures::version(&a, "1", t0);
    writes.extend([Write::CreateVersion(other.clone()), Write::CreateBuild(fixtures::build(&other, t1))]);
    h.commit(writes).await?;
    assert_eq!(h.ports.templates.versions(&b.id).await?, vec![v1b.clone(), v1a.clone(), v2.clone()]);
    let listed = h.ports.builds.list(ws).await?;
    assert_eq!(
        listed.iter().map(|b| b.version_id.clone()).collect::<Vec<_>>(),
        [&v1b.id, &v1a.id, &v2.id, &other.id].map(Clone::clone)
    );

    // Releases: newest first, later insertions first within an instant, per template or workspace.
    let r_old = fixtures::release(&v1a, t0);
    let (r1, r2) = (fixtures::release(&v2, t1), fixtures::release(&v1b, t1));
    let r_other = fixtures::release(&other, t0);
    h.commit([r_old.clone(), r1.clone(), r2.clone(), r_other.clone()].map(Write::CreateRelease)).await?;
    assert_eq!(h.ports.templates.releases(ws, Some(&b.id)).await?, vec![r2.clone(), r1.clone(), r_old.clone()]);
    assert_eq!(h.ports.templates.releases(ws, None).await?, vec![r2, r1, r_other, r_old]);
    assert_eq!(h.ports.templates.releases(&bob.workspace.id, Some(&b.id)).await?, vec![]);
    Ok(())
}

pub async fn stuck_builds_are_those_building_since_before_a_time(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let bob = h.account("bob@example.com").await?;
    let start = h.now();
    let mut expected = Vec::new();
    let mut writes = Vec::new();
    // (workspace, status, started seconds after start, stuck at start + 60 s?)
    let cases = [
        (&ada, BuildStatus::Building, Some(30), true),
        (&bob, BuildStatus::Building, Some(10), true),
        (&ada, BuildStatus::Building, Some(60), true),
        (&ada, BuildStatus::Building, Some(61), false),
        (&ada, BuildStatus::Retrying, Some(0), false),
        (&bob, BuildStatus::Succeeded, Some(0), false),
        (&ada, BuildStatus::Queued, None, false),
    ];
    for (n, (account, status, started, stuck)) in cases.into_iter().enumerate() {
        let template = fixtures::template(&account.workspace.id, &account.user.id, &format!("t{n}"), start);
        let version = fixtures::version(&template, "1", start);
        let mut build = fixtures::build(&version, start);
        build.status = status;
        build.started_at = started.map(|s| start.plus_seconds(s));
        if stuck {
            expected.push(build.clone());
        }
        writes.extend([Write::CreateTemplate(template), Write::CreateVersion(version), Write::CreateBuild(build)]);
    }
    h.commit(writes).await?;
    expected.sort_by_key(|b| b.started_at);
    assert_eq!(h.ports.builds.stuck(start.plus_seconds(60)).await?, expected);
    assert_eq!(h.ports.builds.stuck(Timestamp(start.millis() + 9_999)).await?, vec![]);
    Ok(())
}

pub async fn grants_are_found_by_hash_and_used_once(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let tree = tree(h, &ada, "node").await?;
    let grant = h.ports.grants.find_by_secret(&tree.grant.hash()).await?.context("grant")?;
    assert_eq!((grant.used_at, grant.version, grant.bytes), (None, 1, Some(1024)));
    assert_eq!(h.ports.grants.find_by_secret(&fixtures::secret("bfu").hash()).await?, None);

    let (_, mut twin) = fixtures::grant(&tree.versions[1].0, h.now());
    twin.secret_hash = tree.grant.hash();
    assert_conflict(h.commit([Write::CreateGrant(twin)]).await);

    let used = UploadGrant { used_at: Some(h.now()), version: 2, ..grant.clone() };
    let use_grant = |expected_version| Write::UpdateGrant { grant: used.clone(), expected_version };
    assert_conflict(h.commit([use_grant(1), use_grant(1)]).await);
    h.commit([use_grant(1)]).await?;
    let used = h.ports.grants.find_by_secret(&tree.grant.hash()).await?.context("used grant")?;
    assert_eq!((used.used_at, used.version), (Some(h.now()), 2));
    assert_conflict(h.commit([use_grant(1)]).await);
    assert_eq!(h.ports.grants.find_by_secret(&tree.grant.hash()).await?, Some(used));
    Ok(())
}

pub async fn template_quotas_are_counted_with_the_batch(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let quota = |max| Write::AtMost { counted: Counted::Templates(ada.workspace.id.clone()), max };
    let now = h.now();
    for name in ["one", "two"] {
        let template = fixtures::template(&ada.workspace.id, &ada.user.id, name, now);
        h.commit([Write::CreateTemplate(template), quota(2)]).await?;
    }
    let third = fixtures::template(&ada.workspace.id, &ada.user.id, "three", now);
    assert_conflict(h.commit([Write::CreateTemplate(third.clone()), quota(2)]).await);
    assert_eq!(h.ports.templates.list(&ada.workspace.id).await?.len(), 2, "a refused quota writes nothing");
    // Deleting one in the same batch frees its slot; another workspace's templates do not count.
    let listed = h.ports.templates.list(&ada.workspace.id).await?;
    let delete = Write::DeleteTemplate { template_id: listed[0].id.clone(), expected_version: listed[0].version };
    h.commit([delete, Write::CreateTemplate(third), quota(2)]).await?;
    let bob = h.account("bob@example.com").await?;
    let theirs = fixtures::template(&bob.workspace.id, &bob.user.id, "one", now);
    h.commit([Write::CreateTemplate(theirs), Write::AtMost { counted: Counted::Templates(bob.workspace.id), max: 1 }])
        .await?;
    Ok(())
}
