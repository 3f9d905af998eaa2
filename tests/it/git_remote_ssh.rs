//! A remote repo over ssh: OpenSSH `sshd` on a free loopback port, the client key loaded in an
//! `ssh-agent` this test starts, the server's host key checked against a `known_hosts` the test
//! writes. The real binary clones (`render --env`), fetches a commit another operator pushed
//! and pushes a promotion made on it; promotions land on the remote while a controller and the
//! verb's own poller fetch it every second; a host key that does not match known_hosts fails
//! with one clear line, for a read and for a promotion alike.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::controller_support::Deck;
use crate::git_remote_support::{
    Guarded, START_LIMIT, clone_fetch_and_push, deck_home, error_lines, free_port, head_subject,
    promotions_land_while_polled, push_dev_image, release_identity, require, run_ok, serve_bare,
    use_remote, wait_until,
};

/// sshd, its host key and the agent holding the client key.
struct SshSide {
    port: u16,
    host_key_pub: String,
    agent_sock: PathBuf,
    _sshd: Guarded,
    _agent: Guarded,
}

fn keygen(path: &Path) {
    run_ok(
        Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "driftdeck-test",
                "-f",
            ])
            .arg(path),
    );
}

fn start_ssh(dir: &Path) -> SshSide {
    let sshd = require("/usr/sbin/sshd", "openssh-server");
    for tool in ["ssh-keygen", "ssh-agent", "ssh-add"] {
        require(tool, "openssh-client");
    }
    std::fs::create_dir_all(dir).unwrap();
    // sshd refuses to start without its privilege-separation directory.
    std::fs::create_dir_all("/run/sshd").unwrap();
    let host_key = dir.join("host_ed25519");
    let client_key = dir.join("client_ed25519");
    keygen(&host_key);
    keygen(&client_key);
    let authorized = dir.join("authorized_keys");
    std::fs::copy(client_key.with_extension("pub"), &authorized).unwrap();
    let port = free_port();
    let sshd_log = dir.join("sshd.log");
    let server = Guarded::start(
        &format!(
            "{} -D -e -f /dev/null -p {port} -h {} -o ListenAddress=127.0.0.1 -o AuthorizedKeysFile={} -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o PermitRootLogin=prohibit-password -o StrictModes=no -o UsePAM=no -o PidFile=none -o LogLevel=VERBOSE",
            sshd.display(),
            host_key.display(),
            authorized.display()
        ),
        &sshd_log,
    );
    wait_until("sshd listening", START_LIMIT, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let agent_sock = dir.join("agent.sock");
    let agent = Guarded::start(
        &format!("ssh-agent -D -a {}", agent_sock.display()),
        &dir.join("agent.log"),
    );
    wait_until("ssh-agent socket", START_LIMIT, || agent_sock.exists());
    run_ok(
        Command::new("ssh-add")
            .arg("-q")
            .arg(&client_key)
            .env("SSH_AUTH_SOCK", &agent_sock),
    );
    let host_key_pub = std::fs::read_to_string(host_key.with_extension("pub")).unwrap();
    SshSide {
        port,
        host_key_pub,
        agent_sock,
        _sshd: server,
        _agent: agent,
    }
}

/// Writes `home/.ssh/known_hosts` with `line` (an OpenSSH known_hosts entry).
fn write_known_hosts(home: &Path, line: &str) {
    let ssh = home.join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("known_hosts"), line).unwrap();
}

fn user() -> String {
    run_ok(Command::new("id").arg("-un")).trim().to_owned()
}

#[tokio::test]
async fn ssh_remote_is_cloned_fetched_and_pushed_to_through_the_agent() {
    let deck = Deck::start(&[]).await;
    let root = deck.config().parent().unwrap().to_path_buf();
    let bare = serve_bare(&deck, &root.join("srv"));
    let ssh = start_ssh(&root.join("ssh"));
    let url = format!("ssh://{}@127.0.0.1:{}{}", user(), ssh.port, bare.display());
    use_remote(&deck, &url, "60s");
    write_known_hosts(
        &deck_home(&deck),
        &format!("[127.0.0.1]:{} {}", ssh.port, ssh.host_key_pub),
    );
    let run = |args: &'static [&'static str]| {
        let mut cmd = deck.command(args);
        cmd.env("SSH_AUTH_SOCK", &ssh.agent_sock);
        async move { cmd.output().await.unwrap() }
    };

    let sshd_log = || std::fs::read_to_string(root.join("ssh/sshd.log")).unwrap_or_default();
    clone_fetch_and_push("ssh", &bare, &root.join("other-op"), run, sshd_log).await;
}

/// Promotions made back to back while the repo is polled every second (by a running
/// `driftdeck controller` and by the verb's own env tasks).
const POLLED_ROUNDS: usize = 6;

#[tokio::test]
async fn promotions_over_ssh_land_on_the_remote_while_it_is_polled_every_second() {
    let deck = Deck::start(&[]).await;
    let root = deck.config().parent().unwrap().to_path_buf();
    let bare = serve_bare(&deck, &root.join("srv"));
    let ssh = start_ssh(&root.join("ssh"));
    let url = format!("ssh://{}@127.0.0.1:{}{}", user(), ssh.port, bare.display());
    use_remote(&deck, &url, "1s");
    write_known_hosts(
        &deck_home(&deck),
        &format!("[127.0.0.1]:{} {}", ssh.port, ssh.host_key_pub),
    );
    release_identity(&deck);
    let _controller = deck.spawn_controller_with(&[("SSH_AUTH_SOCK", ssh.agent_sock.as_os_str())]);
    let run = |args: &'static [&'static str]| {
        let mut cmd = deck.command(args);
        cmd.env("SSH_AUTH_SOCK", &ssh.agent_sock);
        async move { cmd.output().await.unwrap() }
    };

    let sshd_log = || std::fs::read_to_string(root.join("ssh/sshd.log")).unwrap_or_default();
    promotions_land_while_polled(
        "ssh",
        &bare,
        &root.join("other-op"),
        POLLED_ROUNDS,
        run,
        sshd_log,
    )
    .await;
}

#[tokio::test]
async fn unknown_ssh_host_key_fails_with_one_clear_line() {
    let deck = Deck::start(&[]).await;
    let root = deck.config().parent().unwrap().to_path_buf();
    let bare = serve_bare(&deck, &root.join("srv"));
    let ssh = start_ssh(&root.join("ssh"));
    let url = format!("ssh://{}@127.0.0.1:{}{}", user(), ssh.port, bare.display());
    use_remote(&deck, &url, "60s");
    // known_hosts names the host, but with another key: exactly what a MITM looks like.
    let stranger = root.join("stranger_ed25519");
    keygen(&stranger);
    let other_key = std::fs::read_to_string(stranger.with_extension("pub")).unwrap();
    write_known_hosts(
        &deck_home(&deck),
        &format!("[127.0.0.1]:{} {other_key}", ssh.port),
    );
    let out = deck
        .command(&["render", "--env", "dev"])
        .env("SSH_AUTH_SOCK", &ssh.agent_sock)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines = error_lines(&stderr);
    assert_eq!(lines.len(), 1, "expected one error line: {stderr}");
    let host = format!("127.0.0.1:{}", ssh.port);
    assert!(
        lines[0].contains(&format!("ssh host key of {host} is unknown or changed")),
        "{stderr}"
    );
    assert!(
        lines[0].contains(&format!("ssh-keyscan -p {} 127.0.0.1", ssh.port)),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_promotion_after_the_host_key_changed_names_the_host_key() {
    let deck = Deck::start(&[]).await;
    let root = deck.config().parent().unwrap().to_path_buf();
    let bare = serve_bare(&deck, &root.join("srv"));
    let ssh = start_ssh(&root.join("ssh"));
    let url = format!("ssh://{}@127.0.0.1:{}{}", user(), ssh.port, bare.display());
    use_remote(&deck, &url, "60s");
    let home = deck_home(&deck);
    write_known_hosts(
        &home,
        &format!("[127.0.0.1]:{} {}", ssh.port, ssh.host_key_pub),
    );
    let run = |args: &[&str], cache: &Path| {
        let mut cmd = deck.command(args);
        cmd.env("SSH_AUTH_SOCK", &ssh.agent_sock)
            .env("XDG_CACHE_HOME", cache);
        async move { cmd.output().await.unwrap() }
    };
    let ours = root.join("cache");
    let out = run(&["render", "--env", "dev"], &ours).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another operator, with their own cache, syncs dev to a commit our mirror has not seen:
    // dev's synced revision (what a promotion copies) is then newer than our mirror.
    push_dev_image(&bare, &root.join("other-op"), "1.7.0");
    let out = run(&["sync", "dev"], &root.join("other-cache")).await;
    assert!(
        out.status.success(),
        "sync dev elsewhere: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let stranger = root.join("stranger_ed25519");
    keygen(&stranger);
    let other_key = std::fs::read_to_string(stranger.with_extension("pub")).unwrap();
    write_known_hosts(&home, &format!("[127.0.0.1]:{} {other_key}", ssh.port));
    let out = run(&["promote", "dev", "staging", "--yes", "--force"], &ours).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines = error_lines(&stderr);
    assert_eq!(lines.len(), 1, "expected one error line: {stderr}");
    assert!(
        lines[0].contains(&format!(
            "ssh host key of 127.0.0.1:{} is unknown or changed",
            ssh.port
        )),
        "{stderr}"
    );
    assert_eq!(
        head_subject(&bare),
        "log-api 1.7.0 in dev",
        "nothing may be pushed"
    );
}
