//! The session state machine as a table: every (state, command) pair and where it leads.

use super::*;
use crate::ids::{SessionId, TemplateId, UserId, VersionId, WorkspaceId};
use crate::values::SessionName;
use SessionState::*;

fn session(state: SessionState) -> Session {
    Session {
        id: SessionId::from_raw("ses_1"),
        workspace_id: WorkspaceId::from_raw("ws_1"),
        template_id: TemplateId::from_raw("tpl_1"),
        version_id: VersionId::from_raw("tplv_1"),
        name: SessionName::parse("dev").unwrap(),
        state,
        state_detail: (state == Failed).then(|| "old".to_string()),
        created_by_user_id: UserId::from_raw("usr_1"),
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        last_started_at: None,
        last_stopped_at: None,
        last_active_at: None,
        sleep_ttl_seconds: None,
        idle_timeout_seconds: None,
        version: 3,
    }
}

fn commands() -> Vec<SessionCommand> {
    vec![
        SessionCommand::Start,
        SessionCommand::Ready,
        SessionCommand::Fail("boom".into()),
        SessionCommand::Stop { reason: None },
        SessionCommand::Stopped,
        SessionCommand::Delete,
        SessionCommand::SaveFailed("storage down".into()),
    ]
}

fn expected(from: SessionState, command: &SessionCommand) -> Result<SessionState, &'static str> {
    match (from, command) {
        (Deleted, _) => Err("session_deleted"),
        (Created | Sleeping | Failed, SessionCommand::Start) => Ok(Starting),
        (_, SessionCommand::Start) => Err("session_not_startable"),
        (Starting, SessionCommand::Ready) => Ok(Running),
        (Starting | Running, SessionCommand::Fail(_)) => Ok(Failed),
        (Starting | Running, SessionCommand::Stop { .. }) => Ok(Stopping),
        (_, SessionCommand::Stop { .. }) => Err("session_not_stoppable"),
        (Stopping, SessionCommand::Stopped) => Ok(Sleeping),
        (_, SessionCommand::Delete) => Ok(Deleted),
        (Running | Stopping, SessionCommand::SaveFailed(_)) => Ok(from),
        _ => Err("session_changed"),
    }
}

#[test]
fn every_state_and_command_leads_where_the_table_says() {
    for &from in SessionState::ALL {
        for command in commands() {
            let got = apply(&session(from), command.clone(), Timestamp(9)).map_err(|e| e.code);
            match (expected(from, &command), got) {
                (Ok(to), Ok((s, _))) => {
                    assert_eq!(s.state, to, "{from:?} + {command:?}");
                    assert_eq!((s.version, s.updated_at), (4, Timestamp(9)), "{from:?} + {command:?}");
                }
                (Err(code), Err(got)) => assert_eq!(got.as_str(), code, "{from:?} + {command:?}"),
                (want, got) => panic!("{from:?} + {command:?}: want {want:?}, got {:?}", got.map(|(s, _)| s.state)),
            }
        }
    }
}

#[test]
fn transitions_stamp_their_times_and_keep_the_failure_reason() {
    let (running, _) = apply(&session(Starting), SessionCommand::Ready, Timestamp(5)).unwrap();
    assert_eq!((running.last_started_at, running.last_active_at), (Some(Timestamp(5)), Some(Timestamp(5))));
    let (failed, details) = apply(&running, SessionCommand::Fail("died".into()), Timestamp(7)).unwrap();
    assert_eq!((failed.state_detail.as_deref(), failed.last_stopped_at), (Some("died"), Some(Timestamp(7))));
    assert_eq!(details["reason"], "died");
    let (starting, _) = apply(&failed, SessionCommand::Start, Timestamp(8)).unwrap();
    assert_eq!(starting.state_detail, None, "a new start clears the old failure");
    let (stopping, details) =
        apply(&session(Running), SessionCommand::Stop { reason: Some("idle".into()) }, Timestamp(9)).unwrap();
    assert_eq!(details["reason"], "idle");
    let (noted, details) = apply(&stopping, SessionCommand::SaveFailed("storage down".into()), Timestamp(10)).unwrap();
    assert_eq!(details["saveFailed"], "storage down");
    let (sleeping, _) = apply(&noted, SessionCommand::Stopped, Timestamp(10)).unwrap();
    assert_eq!(sleeping.last_stopped_at, Some(Timestamp(10)));
    assert_eq!(sleeping.state_detail.as_deref(), Some("the last save failed: storage down"), "kept until a start");
}

#[test]
fn only_booting_and_running_runtimes_hold_a_slot() {
    let holding: Vec<_> = SessionState::ALL.iter().copied().filter(|s| holds_a_slot(*s)).collect();
    assert_eq!(holding, vec![Starting, Running, Stopping]);
}
