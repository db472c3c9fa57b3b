//! The deadline of one save of a session's persisted paths, on the `Clock` port: the whole save
//! (its retries included) is raced against the clock's timer, and where the clock has none (the
//! Worker's, a test's manual clock) the archive checks the clock between its chunks. Past it the
//! save fails with the reason, so a stop that waits for it is bounded.

use crate::error::{Code, Error, Result};
use crate::ports::Clock;
use crate::time::Timestamp;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;

/// When one save must be done by.
#[derive(Clone, Copy)]
pub(crate) struct SaveDeadline<'a> {
    clock: &'a dyn Clock,
    at: Timestamp,
    seconds: i64,
}

impl<'a> SaveDeadline<'a> {
    /// `seconds` from now.
    pub(crate) fn new(clock: &'a dyn Clock, seconds: i64) -> Self {
        Self { clock, at: clock.now().plus_seconds(seconds), seconds }
    }

    pub(crate) fn passed(&self) -> bool {
        self.clock.now() >= self.at
    }

    /// Why the save failed once it passed.
    pub(crate) fn reason(&self) -> String {
        format!("the save took longer than {} seconds", self.seconds)
    }

    fn error(&self) -> Error {
        Error::new(Code::SaveFailed, self.reason())
    }

    /// Runs `work` until the deadline: its outcome, or [`Code::SaveFailed`] once the clock's timer
    /// says the deadline passed (`work` is dropped then). A clock whose pause returns at once
    /// without its time moving has no timer: `work` then runs on, bounded by the checks it makes.
    pub(crate) async fn run<T>(self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let mut work = pin!(work);
        loop {
            let before = self.clock.now();
            let left = self.at.millis() - before.millis();
            if left <= 0 {
                return Err(self.error());
            }
            let mut timer = self.clock.pause(u64::try_from(left).unwrap_or(0));
            let raced = std::future::poll_fn(|cx| match work.as_mut().poll(cx) {
                Poll::Ready(out) => Poll::Ready(Some(out)),
                Poll::Pending => timer.as_mut().poll(cx).map(|()| None),
            })
            .await;
            match raced {
                Some(out) => return out,
                None if self.clock.now() == before => return work.await,
                None => {}
            }
        }
    }
}
