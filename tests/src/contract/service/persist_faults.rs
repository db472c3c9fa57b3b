//! Persisted paths when things go wrong mid-save, over each backend: a stop cut off before its
//! save (a killed server) is saved and finished by reconcile once it is clearly stuck; a save that
//! stalls fails at its deadline and the stop goes on (`persist_deadline`); a session deleted while
//! its save runs (`persist_delete`). The fake runtime is wrapped by [`Gated`], which can make
//! `save` hang or its archive stall or drip.

use super::persist::{latest, persisting};
use crate::contract::harness::Harness;
use async_trait::async_trait;
use burstflare_adapters_memory::{FakeRuntime, FAKE_ARCHIVE_HEADER};
use burstflare_adapters_system::testing::ManualClock;
use burstflare_core::blob::ByteStream;
use burstflare_core::error::PortError;
use burstflare_core::ids::SessionId;
use burstflare_core::model::{Session, SnapshotKind};
use burstflare_core::ports::{AgentEndpoint, PortResult, RuntimeDriver, RuntimeSpec, RuntimeStatus};
use burstflare_core::service::TRANSITION_TIMEOUT_SECONDS;
use burstflare_core::values::SessionState;
use burstflare_core::{Actor, Config, Service};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How [`Gated`]'s next saves behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveMode {
    /// As the fake does.
    Normal,
    /// `save` never answers.
    Hang,
    /// The archive sends its first bytes, then nothing more until [`Gated::release`] (when it
    /// ends), or until the runtime stops (when it breaks off, as a real one's would).
    Stall,
    /// As `Stall`, but a stopped runtime does not break it off (its bytes were already on their
    /// way): it ends when released.
    InFlight,
    /// The archive never ends; each chunk takes ten seconds of the harness's clock.
    Drip,
}

/// The harness's fake runtime, with saves that can hang, stall or drip.
pub(crate) struct Gated {
    inner: Arc<FakeRuntime>,
    clock: Arc<ManualClock>,
    mode: Mutex<SaveMode>,
    released: Arc<AtomicBool>,
}

impl Gated {
    pub(crate) fn new(h: &Harness) -> Arc<Self> {
        let (inner, clock) = (h.runtime.clone(), h.clock.clone());
        Arc::new(Self { inner, clock, mode: Mutex::new(SaveMode::Normal), released: Arc::default() })
    }
    pub(crate) fn set(&self, mode: SaveMode) {
        *self.mode.lock().expect("gated lock") = mode;
    }
    /// Lets the held archives end.
    pub(crate) fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
    }
    /// A service over the harness's ports with this runtime and `config`.
    pub(crate) fn service(self: &Arc<Self>, h: &Harness, config: Config) -> Service {
        let mut ports = h.ports.clone();
        ports.runtime = Some(self.clone());
        Service::new(ports, config)
    }
}

/// An archive that sends its header and then waits (see [`SaveMode::Stall`]).
struct Held {
    runtime: Arc<FakeRuntime>,
    session: SessionId,
    released: Arc<AtomicBool>,
    cut_on_stop: bool,
    sent: bool,
}

#[async_trait]
impl ByteStream for Held {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        if !std::mem::replace(&mut self.sent, true) {
            return Ok(Some(FAKE_ARCHIVE_HEADER.to_vec()));
        }
        loop {
            if self.released.load(Ordering::SeqCst) {
                return Ok(None);
            }
            if self.cut_on_stop && !self.runtime.is_running(&self.session) {
                return Err(PortError::Other("the runtime went away".into()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// An archive that never ends, each chunk taking ten seconds.
struct Drip(Arc<ManualClock>);

#[async_trait]
impl ByteStream for Drip {
    async fn next_chunk(&mut self) -> PortResult<Option<Vec<u8>>> {
        self.0.advance_seconds(10);
        Ok(Some(FAKE_ARCHIVE_HEADER.to_vec()))
    }
}

#[async_trait]
impl RuntimeDriver for Gated {
    async fn start(&self, spec: &RuntimeSpec) -> PortResult<()> {
        self.inner.start(spec).await
    }
    async fn stop(&self, session: &SessionId) -> PortResult<()> {
        self.inner.stop(session).await
    }
    async fn status(&self, session: &SessionId) -> PortResult<RuntimeStatus> {
        self.inner.status(session).await
    }
    async fn logs(&self, session: &SessionId, max_bytes: usize) -> PortResult<String> {
        self.inner.logs(session, max_bytes).await
    }
    fn endpoint(&self, session: &SessionId) -> Option<AgentEndpoint> {
        self.inner.endpoint(session)
    }
    fn keeps_persisted_paths(&self) -> bool {
        true
    }
    async fn save(&self, session: &SessionId) -> PortResult<Box<dyn ByteStream>> {
        let mode = *self.mode.lock().expect("gated lock");
        match mode {
            SaveMode::Normal => self.inner.save(session).await,
            SaveMode::Hang => std::future::pending().await,
            SaveMode::Stall | SaveMode::InFlight => Ok(Box::new(Held {
                runtime: self.inner.clone(),
                session: session.clone(),
                released: self.released.clone(),
                cut_on_stop: mode == SaveMode::Stall,
                sent: false,
            })),
            SaveMode::Drip => Ok(Box::new(Drip(self.clock.clone()))),
        }
    }
    async fn restore(&self, session: &SessionId, archive: &mut dyn ByteStream) -> PortResult<()> {
        self.inner.restore(session, archive).await
    }
}

/// The persisting session, running on a [`Gated`] runtime, with `files` saved as its latest.
pub(crate) async fn gated_with_a_save(
    h: &Harness,
    files: &[u8],
) -> anyhow::Result<(Actor, Session, Arc<Gated>, Service)> {
    let (actor, session) = persisting(h).await?;
    let gated = Gated::new(h);
    let service = gated.service(h, Config::default());
    service.start_session(&actor, &session.id).await?;
    h.runtime.write_files(&session.id, files);
    service.save_snapshot(&actor, &session.id, None).await?;
    Ok((actor, session, gated, service))
}

pub async fn a_stop_cut_off_before_its_save_is_saved_by_reconcile(h: &Harness) -> anyhow::Result<()> {
    let (actor, session, gated, service) = gated_with_a_save(h, b"v1").await?;
    let id = &session.id;
    h.runtime.write_files(id, b"v2");

    // The server dies mid-stop: the stop's future goes while its save waits for the runtime.
    gated.set(SaveMode::Hang);
    let cut = tokio::time::timeout(Duration::from_millis(300), service.stop_session(&actor, id)).await;
    assert!(cut.is_err(), "the stop was cut off");
    gated.set(SaveMode::Normal);
    assert_eq!(service.show_session(&actor, id).await?.0.session.state, SessionState::Stopping);
    assert!(h.runtime.is_running(id));

    // Within a save's deadline the stop may still be under way: reconcile leaves it.
    h.clock.advance_seconds(TRANSITION_TIMEOUT_SECONDS + 1);
    assert_eq!(service.reconcile_workspace(&actor).await?.recovered, 0);
    assert!(h.runtime.is_running(id));

    // Past it: saved first, then torn down and asleep.
    h.clock.advance_seconds(Config::default().save_timeout_seconds);
    assert_eq!(service.reconcile_workspace(&actor).await?.recovered, 1);
    assert_eq!(latest(h, &actor, &session).await?, Some((b"v2".to_vec(), SnapshotKind::Automatic)));
    assert!(!h.runtime.is_running(id), "torn down after the save");
    assert_eq!(service.show_session(&actor, id).await?.0.session.state, SessionState::Sleeping);
    h.runtime.write_files(id, b"");
    service.start_session(&actor, id).await?;
    assert_eq!(h.runtime.files(id), b"v2", "the next start has the files");

    // A recovery whose save fails says so before the teardown, and the previous latest stays.
    h.runtime.write_files(id, b"v3");
    gated.set(SaveMode::Hang);
    let _ = tokio::time::timeout(Duration::from_millis(300), service.stop_session(&actor, id)).await;
    gated.set(SaveMode::Normal);
    h.runtime.set_save_failure(Some("disk on fire"));
    h.clock.advance_seconds(TRANSITION_TIMEOUT_SECONDS + Config::default().save_timeout_seconds + 1);
    assert_eq!(service.reconcile_workspace(&actor).await?.recovered, 1);
    h.runtime.set_save_failure(None);
    let events = service.session_events(&actor, id).await?;
    let failed =
        events.iter().position(|e| e.details["saveFailed"].as_str().is_some_and(|r| r.contains("disk on fire")));
    let slept = events.iter().rposition(|e| e.state == SessionState::Sleeping);
    assert!(failed.is_some() && failed < slept, "the failure recorded before the sleep: {events:?}");
    assert!(!h.runtime.is_running(id));
    assert_eq!(latest(h, &actor, &session).await?.map(|l| l.0), Some(b"v2".to_vec()));
    Ok(())
}
