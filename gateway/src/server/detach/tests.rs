use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::*;

#[tokio::test]
async fn a_finished_handler_gives_its_output() {
    assert_eq!(Detach::new(async { 7 }).await, Ok(7));
}

#[tokio::test]
async fn a_panicking_handler_is_caught_at_the_poll() {
    let boom = async {
        if std::hint::black_box(true) {
            panic!("handler bug");
        }
        1
    };
    assert_eq!(Detach::new(boom).await, Err(Panicked));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_dropped_mid_way_finishes_on_its_own_task() {
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let handler = {
        let done = done.clone();
        async move {
            let _ = started_tx.send(());
            tokio::time::sleep(Duration::from_millis(50)).await;
            done.store(true, Ordering::SeqCst);
        }
    };
    let mut waiting = Box::pin(Detach::new(handler));
    // Poll it until the handler is past its first await, then give up on
    // it, as hyper does when the client goes away.
    tokio::select! {
        _ = &mut waiting => panic!("the handler finished before it was dropped"),
        _ = started => {}
    }
    drop(waiting);
    assert!(!done.load(Ordering::SeqCst));
    for _ in 0..100 {
        if done.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the dropped handler never finished");
}
