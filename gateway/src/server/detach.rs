//! A request handler that runs in its connection's task but cannot be
//! cancelled by it.
//!
//! Every request must end with its log entry committed, even when the client
//! goes away mid-request (hyper then drops the request's future). Spawning
//! each handler as a task of its own gives that, at the price of a task hop
//! per request (a spawn, a wake-up of the connection's task when the handler
//! is done, often on the other worker thread: issue 18). [`Detach`] polls
//! the handler in place instead and only if it is dropped unfinished hands
//! what is left of the handler to a task of its own — the rare case pays
//! for the spawn, the common one does not.
//!
//! A panic inside the handler is caught at the poll, as the task's harness
//! would catch it: the caller answers it (see `server::guarded`).
//!
//! Does not: decide what a panicked request is answered (the caller does).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The handler panicked while it was polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Panicked;

/// Polls `F` in place; dropped before `F` finished, spawns the rest of `F`
/// on the current tokio runtime.
pub(super) struct Detach<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    handler: Option<Pin<Box<F>>>,
}

impl<F> Detach<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    pub(super) fn new(handler: F) -> Self {
        Detach {
            handler: Some(Box::pin(handler)),
        }
    }
}

impl<F> Future for Detach<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = Result<F::Output, Panicked>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Detach` is `Unpin` (it holds a box): no projection needed.
        let Some(handler) = self.handler.as_mut() else {
            // Polled again after it was ready: not done by `guarded`.
            return Poll::Ready(Err(Panicked));
        };
        match catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => {
                self.handler = None;
                Poll::Ready(Ok(out))
            }
            Err(_) => {
                if let Some(broken) = self.handler.take() {
                    // Its destructors may panic again: that is not ours to raise.
                    let _ = catch_unwind(AssertUnwindSafe(move || drop(broken)));
                }
                Poll::Ready(Err(Panicked))
            }
        }
    }
}

impl<F> Drop for Detach<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn drop(&mut self) {
        let Some(rest) = self.handler.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(rest);
            }
            // Outside a runtime (it is being shut down): nothing can run the
            // rest; dropping it is what the runtime would do to a task.
            Err(_) => drop(rest),
        }
    }
}

#[cfg(test)]
mod tests;
