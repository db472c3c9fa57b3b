//! Stopping what the agent started: each command and each terminal shell leads a process group
//! of its own, so stopping it reaches everything it started in that group.

use rustix::process::{kill_process_group, Pid, Signal};
use std::time::Duration;
use tokio::process::Child;

/// How long a stopped process group may take before it is killed.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The process group a child leads (its pid), while it has one.
pub(crate) fn group_of(child: &Child) -> Option<Pid> {
    child.id().and_then(|id| Pid::from_raw(id as i32))
}

/// Sends `signal` to the group; a group that is already gone is not an error.
pub(crate) fn signal_group(group: Pid, signal: Signal) {
    if let Err(error) = kill_process_group(group, signal) {
        if error != rustix::io::Errno::SRCH {
            tracing::warn!(group = group.as_raw_nonzero().get(), %error, "could not signal a process group");
        }
    }
}

/// Asks the child's process group to stop (`signals`, in order), waits up to `grace` for the
/// child, then kills the group. The child is reaped either way.
pub(crate) async fn stop_group(child: &mut Child, signals: &[Signal], grace: Duration) {
    let Some(group) = group_of(child) else {
        let _ = child.wait().await;
        return;
    };
    for signal in signals {
        signal_group(group, *signal);
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        signal_group(group, Signal::KILL);
        let _ = child.wait().await;
    }
    // Whatever else is left in the group goes too.
    signal_group(group, Signal::KILL);
}
