//! The build state machine as a table: every (state, event) pair, what it leads to, and the
//! dependent fields each transition must set.

use super::*;
use crate::ids::{BuildId, TemplateId, UserId, VersionId, WorkspaceId};
use crate::manifest::Manifest;
use BuildStatus::*;

const T0: Timestamp = Timestamp(1_000);
const AT: Timestamp = Timestamp(9_000);

fn artifact() -> Artifact {
    Artifact { digest: "sha256:00".into(), file_count: 1, unpacked_bytes: 2 }
}

fn rows(status: BuildStatus, attempts: u32) -> (Build, TemplateVersion) {
    let finished = matches!(status, Succeeded | Failed | DeadLettered).then_some(T0);
    let build = Build {
        id: BuildId::from_raw("bld_1"),
        version_id: VersionId::from_raw("ver_1"),
        template_id: TemplateId::from_raw("tpl_1"),
        workspace_id: WorkspaceId::from_raw("ws_1"),
        status,
        attempts,
        last_error: matches!(status, Failed | DeadLettered | Retrying).then(|| "old".to_string()),
        artifact: (status == Succeeded).then(artifact),
        log_key: "builds/1.log".into(),
        created_at: T0,
        updated_at: T0,
        started_at: (status != Queued).then_some(T0),
        finished_at: finished,
        dead_lettered_at: (status == DeadLettered).then_some(T0),
        version: 4,
    };
    let manifest = Manifest::parse(&serde_json::json!({ "image": "node:22" })).expect("manifest");
    let version = TemplateVersion {
        id: VersionId::from_raw("ver_1"),
        template_id: TemplateId::from_raw("tpl_1"),
        workspace_id: WorkspaceId::from_raw("ws_1"),
        label: "1.0.0".into(),
        notes: String::new(),
        manifest,
        status: version_status(status),
        bundle: None,
        created_by_user_id: UserId::from_raw("usr_1"),
        created_at: T0,
        built_at: (status == Succeeded).then_some(T0),
        version: 7,
    };
    (build, version)
}

fn events() -> Vec<BuildEvent> {
    vec![
        BuildEvent::BundleUploaded,
        BuildEvent::Retried,
        BuildEvent::Claimed,
        BuildEvent::Succeeded(artifact()),
        BuildEvent::Failed("bad".into()),
        BuildEvent::Faulted { reason: "down".into(), max_attempts: 3 },
        BuildEvent::RunnerLost,
    ]
}

/// The state each (state, event) leads to; `None`: refused.
fn expected(from: BuildStatus, event: &BuildEvent, attempts: u32) -> Option<BuildStatus> {
    match (from, event) {
        (Succeeded, BuildEvent::BundleUploaded) => None,
        (_, BuildEvent::BundleUploaded) => Some(Queued),
        (Failed | DeadLettered, BuildEvent::Retried) => Some(Queued),
        (Queued | Retrying, BuildEvent::Claimed) => Some(Building),
        (Building, BuildEvent::Succeeded(_)) => Some(Succeeded),
        (Building, BuildEvent::Failed(_)) => Some(Failed),
        (Building, BuildEvent::Faulted { .. }) if attempts >= 3 => Some(DeadLettered),
        (Building, BuildEvent::Faulted { .. }) | (Building, BuildEvent::RunnerLost) => Some(Retrying),
        _ => None,
    }
}

#[test]
fn every_state_and_event_leads_where_the_table_says() {
    let states = [Queued, Building, Retrying, Succeeded, Failed, DeadLettered];
    for from in states {
        for attempts in [1, 3] {
            for event in events() {
                let (build, version) = rows(from, attempts);
                let result = apply(&build, &version, event.clone(), AT);
                match (expected(from, &event, attempts), result) {
                    (Some(to), Ok((b, v))) => {
                        assert_eq!(b.status, to, "{from:?} + {event:?}");
                        assert_eq!(v.status, version_status(to), "{from:?} + {event:?}: version status");
                        assert_eq!((b.version, v.version), (5, 8), "both rows move on by one");
                        assert_eq!(b.updated_at, AT);
                    }
                    (None, Err(e)) => assert!(
                        ["build_transition", "version_immutable"].contains(&e.code.as_str()),
                        "{from:?} + {event:?}: {e:?}"
                    ),
                    (want, got) => panic!("{from:?} + {event:?} ({attempts} attempts): want {want:?}, got {got:?}"),
                }
            }
        }
    }
}

#[test]
fn starting_over_clears_everything_the_last_run_left() {
    for (from, event) in [(DeadLettered, BuildEvent::Retried), (Failed, BuildEvent::BundleUploaded)] {
        let (build, version) = rows(from, 3);
        let (b, v) = apply(&build, &version, event, AT).expect("allowed");
        assert_eq!((b.status, b.attempts), (Queued, 0));
        assert_eq!((b.started_at, b.finished_at, b.dead_lettered_at), (None, None, None), "{from:?}");
        assert_eq!((b.last_error, b.artifact, v.built_at), (None, None, None));
    }
}

#[test]
fn claims_count_attempts_and_outcomes_stamp_their_time() {
    let (build, version) = rows(Retrying, 1);
    let (running, v) = apply(&build, &version, BuildEvent::Claimed, AT).expect("claim");
    assert_eq!((running.attempts, running.started_at, running.finished_at), (2, Some(AT), None));
    let later = Timestamp(12_000);
    let (done, v) = apply(&running, &v, BuildEvent::Succeeded(artifact()), later).expect("succeed");
    assert_eq!((done.finished_at, done.last_error.clone(), v.built_at), (Some(later), None, Some(later)));
    assert_eq!(done.artifact, Some(artifact()));
    let (dead, v) =
        apply(&running, &v, BuildEvent::Faulted { reason: "down".into(), max_attempts: 2 }, later).expect("fault");
    assert_eq!((dead.status, dead.dead_lettered_at, dead.finished_at), (DeadLettered, Some(later), Some(later)));
    assert_eq!(v.status, VersionStatus::Failed);
}

#[test]
fn a_lost_runner_hands_the_version_back_to_the_queue() {
    let (build, version) = rows(Building, 1);
    let (b, v) = apply(&build, &version, BuildEvent::RunnerLost, AT).expect("requeue");
    assert_eq!((b.status, v.status), (Retrying, VersionStatus::Queued));
    assert_eq!(b.last_error.as_deref(), Some(RUNNER_LOST));
}

#[test]
fn retry_delays_double_from_five_seconds() {
    assert_eq!([1, 2, 3].map(retry_delay_seconds), [10, 20, 40]);
    assert_eq!(retry_delay_seconds(0), 5);
    assert_eq!(retry_delay_seconds(99), 5 * 1024);
}
