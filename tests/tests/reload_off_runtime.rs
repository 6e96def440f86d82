//! Policy and TLS reloads read and parse their files off the runtime's
//! worker threads: on a single-threaded runtime, a reload stuck on a file
//! that does not answer (a FIFO nobody writes yet) must not stall serving.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tests::client::Proto;
use tests::env::Env;

/// Replace `path` by a FIFO; a thread feeds it the original bytes after
/// `after` (then puts a regular file back). `released` turns true just
/// before the FIFO is fed.
fn stall(path: &Path, after: Duration) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let original = std::fs::read(path).unwrap();
    let dir = path.parent().unwrap();
    let fifo: PathBuf = dir.join("stall.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo failed");
    let regular = dir.join("stall.regular");
    std::fs::write(&regular, &original).unwrap();
    std::fs::rename(&fifo, path).unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let flag = released.clone();
    let path = path.to_path_buf();
    let feeder = std::thread::spawn(move || {
        std::thread::sleep(after);
        flag.store(true, Ordering::SeqCst);
        // Opening for write releases the reader blocked in open(); the
        // path then names a regular file again before the FIFO is written,
        // so the next poll does not reopen the FIFO.
        let mut w = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::fs::rename(&regular, &path).unwrap();
        std::io::Write::write_all(&mut w, &original).unwrap();
    });
    (released, feeder)
}

async fn serving_continues_while_a_reload_reads(file: impl Fn(&Env) -> PathBuf) {
    let env = Env::new().await;
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let admin = gw.admin_addr().unwrap();
    assert_eq!(
        client.get(admin, "/healthz", &[]).await.unwrap().status,
        200
    );

    let (released, feeder) = stall(&file(&env), Duration::from_secs(6));
    // The watcher polls every second: by now a reload is blocked reading.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = client.get(admin, "/healthz", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(
        !released.load(Ordering::SeqCst),
        "the request was served only after the stalled reload finished"
    );
    tokio::task::spawn_blocking(move || feeder.join().unwrap())
        .await
        .unwrap();
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_policy_reload_stuck_on_its_file_does_not_stall_serving() {
    serving_continues_while_a_reload_reads(|env| env.policy_path.clone()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_tls_reload_stuck_on_its_file_does_not_stall_serving() {
    serving_continues_while_a_reload_reads(|env| env.pki.join(certs::pki::CRL)).await;
}
