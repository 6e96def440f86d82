//! Admin-plane exports are streamed and limited (issue 15): at most
//! `[admin] max_concurrent_exports` exports and verifications at once, the
//! rest get 429 `rate_limited` with `Retry-After: 1`; a permit lives as
//! long as its stream; the streamed bytes are the export the store's
//! reader writes, and they verify offline.

use http_body_util::BodyExt;
use tests::client::Proto;
use tests::env::{admin, eventually, Env};

/// `[admin] max_concurrent_exports = n` in the env's config.
fn max_exports(env: &Env, n: usize) {
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    let text = text.replace(
        "[admin]\nlisten = \"127.0.0.1:0\"",
        &format!("[admin]\nlisten = \"127.0.0.1:0\"\nmax_concurrent_exports = {n}"),
    );
    std::fs::write(&env.config_path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_export_while_two_stream_is_refused_with_429_rate_limited() {
    let env = Env::new().await;
    max_exports(&env, 2);
    // Large enough (~14 MB) that an unread export cannot finish into the
    // socket buffers and let its permit go.
    let key = env.fill_log(20_000).await;
    let running = env.start().await;
    let h1 = env.client(Some("CMP-0001"), Proto::Http1);
    let h2 = env.client(Some("CMP-0001"), Proto::Http2);
    let first = h1
        .open("GET", admin(&running), "/audit/export", &[])
        .await
        .unwrap();
    let second = h2
        .open("GET", admin(&running), "/audit/export", &[])
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    assert_eq!(
        first.headers()["content-type"],
        "application/x-ndjson",
        "streamed, not buffered"
    );
    assert!(first.headers().get("content-length").is_none());
    for (client, path) in [
        (&h1, "/audit/export"),
        (&h2, "/audit/export?officer=HN-AMR-0001"),
        (&h1, "/audit/verify"),
    ] {
        let refused = client.get(admin(&running), path, &[]).await.unwrap();
        assert_eq!(refused.status, 429, "{path}");
        assert_eq!(refused.code().as_deref(), Some("rate_limited"), "{path}");
        assert_eq!(refused.header("retry-after"), Some("1"), "{path}");
        assert!(refused.header("inquiry-id").is_some());
    }
    // Other admin answers are not limited.
    let entries = h1
        .get(admin(&running), "/audit/entries?limit=5", &[])
        .await
        .unwrap();
    assert_eq!(entries.status, 200);

    // The first export read to its end verifies offline.
    let body = first.into_body().collect().await.unwrap().to_bytes();
    let report = audit::verify_export(std::io::Cursor::new(&body), &key).unwrap();
    assert!(
        matches!(report, audit::VerifyReport::Intact { entries, .. } if entries >= 20_000),
        "{report:?}"
    );
    // Its permit is free again once its stream ended.
    let verified = eventually(10, || async {
        h1.get(admin(&running), "/audit/verify", &[])
            .await
            .unwrap()
            .status
            == 200
    })
    .await;
    assert!(verified, "a permit came free when the first stream ended");
    // The second client goes away mid-stream: its permit comes free too.
    drop(second);
    let both_free = eventually(10, || async {
        let a = h1
            .open("GET", admin(&running), "/audit/export", &[])
            .await
            .unwrap();
        let b = h2
            .open("GET", admin(&running), "/audit/export", &[])
            .await
            .unwrap();
        a.status() == 200 && b.status() == 200
    })
    .await;
    assert!(both_free, "a client that went away gave its permit back");

    // The refusals are logged as such.
    let refused = env
        .entries()
        .await
        .into_iter()
        .filter(|e| e.entry.plane == "admin" && e.entry.status == 429)
        .collect::<Vec<_>>();
    assert!(refused.len() >= 3, "{}", refused.len());
    assert!(refused.iter().all(|e| e.entry.reason == "rate_limited"));
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamed_export_is_byte_identical_to_the_readers_export() {
    let env = Env::new().await;
    let key = env.fill_log(3_000).await;
    let running = env.start().await;
    let auditor = env.client(Some("CMP-0001"), Proto::Http2);
    // The filled chain only: closed, so the answer cannot move under the
    // comparison (the gateway's own chain grows with every admin request).
    let query = "officer=HN-AMR-0001&from=2026-05-28";
    let resp = auditor
        .get(admin(&running), &format!("/audit/export?{query}"), &[])
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let filter = gateway::audit_api::parse_filter_query(Some(query), false).unwrap();
    let signing_key = std::fs::read(env.pki.join("audit-signing.pk8")).unwrap();
    let reader = audit::Reader::connect(&env.store_url())
        .await
        .unwrap()
        .with_signing_key(&signing_key)
        .unwrap();
    let mut expected = Vec::new();
    let n = reader.export(&filter, &mut expected).await.unwrap();
    assert!(n > 1000, "{n}");
    assert!(resp.body.len() > 2 * gateway::audit_api::EXPORT_CHUNK);
    assert!(resp.body[..] == expected[..], "streamed bytes differ");
    let report = audit::verify_export(std::io::Cursor::new(&resp.body), &key).unwrap();
    assert!(
        matches!(report, audit::VerifyReport::Intact { .. }),
        "{report:?}"
    );
    running.shutdown().await.unwrap();
}

/// A log search's answer (up to 10 000 entries, ~10 MB) is held in memory
/// until its client reads it: at most four per export permit at once, the
/// next one 429 (an outside probe held 760 MB with ten searches its HTTP/2
/// window never let out); a search read or abandoned gives its permit back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_searches_held_unread_are_bounded() {
    let env = Env::new().await;
    max_exports(&env, 1);
    env.fill_log(12_000).await;
    let running = env.start().await;
    let h2 = env.client(Some("CMP-0001"), Proto::Http2);
    let path = "/audit/entries?limit=10000";
    let mut held = Vec::new();
    for _ in 0..4 {
        let r = h2.open("GET", admin(&running), path, &[]).await.unwrap();
        assert_eq!(r.status(), 200);
        held.push(r);
    }
    let refused = h2.get(admin(&running), path, &[]).await.unwrap();
    assert_eq!(refused.status, 429);
    assert_eq!(refused.code().as_deref(), Some("rate_limited"));
    // Exports have their own permits.
    let export = h2
        .open("GET", admin(&running), "/audit/export", &[])
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    drop(export);
    // One read to its end, one abandoned: both permits come back.
    let first = held.remove(0);
    let body = first.into_body().collect().await.unwrap().to_bytes();
    assert!(body.len() > 1_000_000, "{} bytes", body.len());
    drop(held.remove(0));
    let again = eventually(10, || async {
        h2.get(admin(&running), "/audit/entries?limit=10", &[])
            .await
            .unwrap()
            .status
            == 200
    })
    .await;
    assert!(again, "no search permit came back");
    // Two searches still unread hold their connections: shutdown cuts
    // them after the drain bound, and still succeeds (the final checkpoint
    // is written; an outside probe's stalled client made it exit 2).
    let shutdown = running.shutdown().await;
    assert!(shutdown.is_ok(), "{shutdown:?}");
    drop(held);
}
