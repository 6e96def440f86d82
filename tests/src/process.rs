//! Running the real `credgate` binary: spawn `serve`, read the two
//! "listening on" lines from stdout, send signals, collect the exit status
//! and stderr.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A spawned `credgate serve`.
pub struct Proc {
    /// The child.
    pub child: Child,
    /// Data plane address.
    pub data: SocketAddr,
    /// Admin plane address.
    pub admin: Option<SocketAddr>,
    /// Where stderr goes.
    pub stderr_path: std::path::PathBuf,
}

/// Run `exe args...` to completion: (exit code, stdout, stderr).
pub async fn run(exe: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(exe)
            .args(args)
            // Audit keys are pinned in a file of this test process, not in
            // the home of whoever runs the tests (`gateway::trusted_keys`).
            .env(
                "CREDGATE_TRUSTED_KEYS",
                std::env::temp_dir().join(format!("credgate-test-pins-{}", std::process::id())),
            )
            .output(),
    )
    .await
    .expect("command did not finish in 30 s")
    .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn addr_after(line: &str, marker: &str) -> Option<SocketAddr> {
    line.strip_prefix(marker)?.trim().parse().ok()
}

impl Proc {
    /// `exe serve --config config`, waiting (≤ 20 s) for the listen lines.
    pub async fn serve(exe: &str, config: &Path) -> Proc {
        Self::serve_with(exe, &[], config).await
    }

    /// `exe GLOBAL_ARGS... serve --config config`.
    pub async fn serve_with(exe: &str, global_args: &[&str], config: &Path) -> Proc {
        Self::serve_args(exe, global_args, &[], config).await
    }

    /// `exe GLOBAL_ARGS... serve --config config SERVE_ARGS...`.
    pub async fn serve_args(
        exe: &str,
        global_args: &[&str],
        serve_args: &[&str],
        config: &Path,
    ) -> Proc {
        let stderr_path = config.with_extension("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = Command::new(exe)
            // The audit key is pinned beside the config, not in the home of
            // whoever runs the tests (`gateway::trusted_keys`).
            .env(
                "CREDGATE_TRUSTED_KEYS",
                config.with_file_name("trusted-audit-keys"),
            )
            .args(global_args)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(serve_args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut data = None;
        let mut admin = None;
        let read = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(a) = addr_after(&line, "credgate: data plane listening on https://") {
                    data = Some(a);
                }
                if let Some(a) = addr_after(&line, "credgate: admin plane listening on https://") {
                    admin = Some(a);
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(20), read).await;
        let data = data.unwrap_or_else(|| {
            panic!(
                "gateway did not report its data plane; stderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            )
        });
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Proc {
            child,
            data,
            admin,
            stderr_path,
        }
    }

    /// Send a signal by name (`HUP`, `TERM`) with the `kill` utility.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("process already reaped");
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// Wait (≤ 30 s) for exit; the exit code.
    pub async fn wait(&mut self) -> Option<i32> {
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("gateway did not exit in 30 s")
            .unwrap()
            .code()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}
