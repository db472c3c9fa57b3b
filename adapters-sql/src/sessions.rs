//! Sessions: the `sessions` and `session_events` tables, their statements and the
//! [`SessionRepo`]. States are stored as their wire names; event details as JSON text.

use crate::exec::{SqlExecutor, SqlValue, Stmt};
use crate::row::{first, json_text, to_u32, RowReader};
use crate::SqlRepos;
use async_trait::async_trait;
use burstflare_core::ids::{SessionEventId, SessionId, TemplateId, UserId, VersionId, WorkspaceId};
use burstflare_core::model::{Session, SessionEvent};
use burstflare_core::ports::{PortResult, SessionRepo};
use burstflare_core::time::Timestamp;
use burstflare_core::values::{SessionName, SessionState};

/// The columns session reads list, in the order [`read_session`] uses.
macro_rules! columns {
    () => {
        "id, workspace_id, template_id, version_id, name, state, state_detail, created_by_user_id, \
         created_at, updated_at, last_started_at, last_stopped_at, last_active_at, sleep_ttl_seconds, \
         idle_timeout_seconds, version"
    };
}

/// `state IN (…)` over one parameter per state (unused ones bound to NULL, which matches nothing),
/// starting at `?2`, so one constant serves any set of states.
macro_rules! in_states {
    () => {
        "state IN (?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    };
}

const GET: &str = concat!("SELECT ", columns!(), " FROM sessions WHERE id = ?1 AND workspace_id = ?2");

/// Live sessions, oldest first; `rowid` orders sessions created in the same instant by insertion.
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM sessions WHERE workspace_id = ?1 AND state <> 'deleted' ORDER BY created_at, rowid"
);

const IN_STATES_OF: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM sessions WHERE workspace_id = ?1 AND ",
    in_states!(),
    " ORDER BY created_at, rowid"
);

/// Every workspace's; `?1` is unused (bound to NULL) so both reads share the state parameters.
const IN_STATES: &str =
    concat!("SELECT ", columns!(), " FROM sessions WHERE ?1 IS NULL AND ", in_states!(), " ORDER BY created_at, rowid");

/// Fails on the partial UNIQUE index when a live session of the workspace has the name in any case.
const INSERT: &str = concat!(
    "INSERT INTO sessions (",
    columns!(),
    ", name_normalised) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
);

/// Guarded: stores the state, detail, timestamps and version.
const UPDATE: &str = "UPDATE sessions SET state = ?1, state_detail = ?2, updated_at = ?3, last_started_at = ?4, \
     last_stopped_at = ?5, last_active_at = ?6, version = ?9 WHERE id = ?7 AND version = ?8";

/// Unguarded: activity only ever moves forward and does not change the version.
const TOUCH: &str = "UPDATE sessions SET last_active_at = MAX(COALESCE(last_active_at, 0), ?2) WHERE id = ?1";

/// Guarded; the events follow through ON DELETE CASCADE.
const PURGE: &str = "DELETE FROM sessions WHERE id = ?1 AND version = ?2";

/// Fails on its foreign key when the session does not exist.
const INSERT_EVENT: &str = "INSERT INTO session_events (id, session_id, workspace_id, state, details, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// In append order.
const EVENTS: &str = "SELECT id, session_id, workspace_id, state, details, created_at FROM session_events \
     WHERE session_id = ?1 ORDER BY rowid";

/// The quota guard's statement for sessions holding a runtime slot (see `uow::at_most`).
pub(crate) const COUNT_ACTIVE: &str = "INSERT OR REPLACE INTO batch_guard (ok) SELECT COUNT(*) <= ?2 FROM sessions \
     WHERE workspace_id = ?1 AND state IN ('starting', 'running', 'stopping')";

/// Reads the columns of `columns!()`.
fn read_session(row: &mut RowReader) -> PortResult<Session> {
    Ok(Session {
        id: SessionId::from_raw(row.text()?),
        workspace_id: WorkspaceId::from_raw(row.text()?),
        template_id: TemplateId::from_raw(row.text()?),
        version_id: VersionId::from_raw(row.text()?),
        name: SessionName::from_stored(row.text()?),
        state: row.parsed(SessionState::parse)?,
        state_detail: row.opt_text()?,
        created_by_user_id: UserId::from_raw(row.text()?),
        created_at: row.time()?,
        updated_at: row.time()?,
        last_started_at: row.opt_time()?,
        last_stopped_at: row.opt_time()?,
        last_active_at: row.opt_time()?,
        sleep_ttl_seconds: row.opt_int()?.map(to_u32).transpose()?,
        idle_timeout_seconds: row.opt_int()?.map(to_u32).transpose()?,
        version: row.int()?,
    })
}

fn read_event(row: &mut RowReader) -> PortResult<SessionEvent> {
    Ok(SessionEvent {
        id: SessionEventId::from_raw(row.text()?),
        session_id: SessionId::from_raw(row.text()?),
        workspace_id: WorkspaceId::from_raw(row.text()?),
        state: row.parsed(SessionState::parse)?,
        details: row.json()?,
        created_at: row.time()?,
    })
}

/// The timestamps core may change, in the order of [`UPDATE`]'s `?3`–`?6`.
fn times(session: &Session) -> [SqlValue; 4] {
    [
        session.updated_at.millis().into(),
        session.last_started_at.map(Timestamp::millis).into(),
        session.last_stopped_at.map(Timestamp::millis).into(),
        session.last_active_at.map(Timestamp::millis).into(),
    ]
}

pub(crate) fn insert(session: &Session) -> Stmt {
    let mut params: Vec<SqlValue> = vec![
        session.id.as_str().into(),
        session.workspace_id.as_str().into(),
        session.template_id.as_str().into(),
        session.version_id.as_str().into(),
        session.name.as_str().into(),
        session.state.as_str().into(),
        session.state_detail.as_deref().into(),
        session.created_by_user_id.as_str().into(),
        session.created_at.millis().into(),
    ];
    params.extend(times(session));
    params.extend([
        session.sleep_ttl_seconds.map(i64::from).into(),
        session.idle_timeout_seconds.map(i64::from).into(),
        session.version.into(),
        session.name.normalised().into(),
    ]);
    Stmt::new(INSERT, params)
}

pub(crate) fn update(session: &Session, expected_version: i64) -> Stmt {
    let mut params: Vec<SqlValue> = vec![session.state.as_str().into(), session.state_detail.as_deref().into()];
    params.extend(times(session));
    params.extend([session.id.as_str().into(), expected_version.into(), session.version.into()]);
    Stmt::new(UPDATE, params)
}

pub(crate) fn touch(id: &SessionId, at: Timestamp) -> Stmt {
    Stmt::new(TOUCH, vec![id.as_str().into(), at.millis().into()])
}

pub(crate) fn purge(id: &SessionId, expected_version: i64) -> Stmt {
    Stmt::new(PURGE, vec![id.as_str().into(), expected_version.into()])
}

pub(crate) fn insert_event(event: &SessionEvent) -> PortResult<Stmt> {
    Ok(Stmt::new(
        INSERT_EVENT,
        vec![
            event.id.as_str().into(),
            event.session_id.as_str().into(),
            event.workspace_id.as_str().into(),
            event.state.as_str().into(),
            json_text(&event.details)?.into(),
            event.created_at.millis().into(),
        ],
    ))
}

/// `?1` then one parameter per state of [`in_states!`], distinct states first, NULL for the rest.
fn state_params(first: SqlValue, states: &[SessionState]) -> Vec<SqlValue> {
    let mut params = vec![first];
    let distinct = SessionState::ALL.iter().filter(|s| states.contains(s));
    params.extend(distinct.map(|s| SqlValue::from(s.as_str())));
    params.resize(1 + SessionState::ALL.len(), SqlValue::Null);
    params
}

impl<E: SqlExecutor> SqlRepos<E> {
    async fn sessions(&self, stmt: Stmt) -> PortResult<Vec<Session>> {
        let rows = self.exec.query(stmt).await?;
        rows.into_iter().map(|row| read_session(&mut RowReader::new(row))).collect()
    }
}

#[async_trait]
impl<E: SqlExecutor> SessionRepo for SqlRepos<E> {
    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn get(&self, workspace: &WorkspaceId, id: &SessionId) -> PortResult<Option<Session>> {
        let rows = self.exec.query(Stmt::new(GET, vec![id.as_str().into(), workspace.as_str().into()])).await?;
        first(rows).map(|mut row| read_session(&mut row)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn list(&self, workspace: &WorkspaceId) -> PortResult<Vec<Session>> {
        self.sessions(Stmt::new(LIST, vec![workspace.as_str().into()])).await
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn events(&self, session: &SessionId) -> PortResult<Vec<SessionEvent>> {
        let rows = self.exec.query(Stmt::new(EVENTS, vec![session.as_str().into()])).await?;
        rows.into_iter().map(|row| read_event(&mut RowReader::new(row))).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    async fn in_states(&self, workspace: Option<&WorkspaceId>, states: &[SessionState]) -> PortResult<Vec<Session>> {
        let stmt = match workspace {
            Some(workspace) => Stmt::new(IN_STATES_OF, state_params(workspace.as_str().into(), states)),
            None => Stmt::new(IN_STATES, state_params(SqlValue::Null, states)),
        };
        self.sessions(stmt).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_lists_bind_every_placeholder() {
        let params =
            state_params(SqlValue::Null, &[SessionState::Running, SessionState::Created, SessionState::Running]);
        assert_eq!(params.len(), 8, "?1 and the seven placeholders of in_states!()");
        assert_eq!(&params[1..3], &[SqlValue::from("created"), SqlValue::from("running")]);
        assert!(params[3..].iter().all(|p| *p == SqlValue::Null));
        assert_eq!(SessionState::ALL.len(), 7, "in_states!() has one placeholder per state");
    }
}
