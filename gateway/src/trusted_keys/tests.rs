use super::*;

#[test]
fn a_pinned_key_is_read_back_once_however_often_it_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state/credgate/trusted-audit-keys");
    assert!(
        read(&file).unwrap().is_empty(),
        "a missing file pins nothing"
    );
    let a = [7u8; 32];
    let b = [9u8; 32];
    assert!(pin(&file, &a, Path::new("/etc/credgate/gateway one.toml")).unwrap());
    assert!(!pin(&file, &a, Path::new("/elsewhere.toml")).unwrap());
    assert!(pin(&file, &b, Path::new("/b.toml")).unwrap());
    assert_eq!(read(&file).unwrap(), vec![a, b]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("/etc/credgate/gateway_one.toml"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the user reads and writes it");
    }
}

#[test]
fn comments_and_lines_that_are_not_keys_pin_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys");
    let good = "ab".repeat(32);
    std::fs::write(
        &file,
        format!(
            "# {good}\n\n{short} x\nzz{rest}\n{good} /etc/g.toml 2026-12-06T00:00:00Z\n  {good}\n",
            short = "ab".repeat(31),
            rest = "ab".repeat(31),
        ),
    )
    .unwrap();
    assert_eq!(read(&file).unwrap(), vec![[0xab; 32], [0xab; 32]]);
}

#[test]
fn the_pin_file_is_the_variable_then_xdg_state_then_home() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| std::ffi::OsString::from(v))
        }
    };
    let all = &[
        (ENV, "/pins"),
        ("XDG_STATE_HOME", "/state"),
        ("HOME", "/home/u"),
    ];
    assert_eq!(path_from(env(all)), Some(PathBuf::from("/pins")));
    let empty_var = &[(ENV, ""), ("XDG_STATE_HOME", "/state"), ("HOME", "/home/u")];
    assert_eq!(
        path_from(env(empty_var)),
        Some(PathBuf::from("/state/credgate/trusted-audit-keys"))
    );
    assert_eq!(
        path_from(env(&[("HOME", "/home/u")])),
        Some(PathBuf::from(
            "/home/u/.local/state/credgate/trusted-audit-keys"
        ))
    );
    assert_eq!(path_from(env(&[])), None);
}

#[test]
fn a_pin_file_others_may_write_is_not_trusted_and_each_pin_says_where_it_came_from() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys");
    assert!(pin(&file, &[5u8; 32], Path::new("/etc/credgate/gateway.toml")).unwrap());
    let pins = read_pins(&file).unwrap();
    assert_eq!(pins.len(), 1);
    assert!(
        pins[0].1.starts_with("/etc/credgate/gateway.toml "),
        "{:?}",
        pins[0].1
    );
    for mode in [0o620, 0o602, 0o666] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = read_pins(&file).unwrap_err().to_string();
        assert!(e.contains("no key in it is trusted"), "{mode:o}: {e}");
    }
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(read(&file).unwrap(), vec![[5u8; 32]]);
}
