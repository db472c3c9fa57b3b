//! Usage (metering) events: the `usage_events` table. Written through the unit of work only;
//! details are stored as JSON text.

use crate::exec::Stmt;
use crate::row::json_text;
use burstflare_core::model::UsageEvent;
use burstflare_core::ports::PortResult;

const INSERT: &str =
    "INSERT INTO usage_events (id, workspace_id, kind, value, details, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

pub(crate) fn insert(event: &UsageEvent) -> PortResult<Stmt> {
    Ok(Stmt::new(
        INSERT,
        vec![
            event.id.as_str().into(),
            event.workspace_id.as_str().into(),
            event.kind.as_str().into(),
            event.value.into(),
            json_text(&event.details)?.into(),
            event.created_at.millis().into(),
        ],
    ))
}
