//! A remote repo over https: `git http-backend` (git's own smart-HTTP server) behind a small
//! Python TLS server that demands basic auth, with a certificate the test makes for 127.0.0.1
//! and hands the client through `SSL_CERT_FILE`. The username and password come from a git
//! credential helper in the child's `~/.gitconfig`, as a user's would. The real binary clones,
//! fetches and pushes a promotion; promotions land while the remote is polled every second; a
//! wrong password fails with one clear line.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::controller_support::Deck;
use crate::git_remote_support::{
    Guarded, START_LIMIT, clone_fetch_and_push, deck_home, error_lines,
    promotions_land_while_polled, release_identity, require, run_ok, serve_bare, use_remote,
    wait_until,
};

const USER: &str = "ops";
const PASSWORD: &str = "correct-horse";

/// The web server: TLS, basic auth, then CGI to `git http-backend` (request bodies may be
/// chunked, as libgit2 sends pushes). It exits when its stdin closes (the watchdog's job here).
const SERVER: &str = r#"
import base64, http.server, os, ssl, subprocess, sys
root, port_file, user, password, cert, key = sys.argv[1:7]
expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

class Git(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, headers, payload):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def serve(self):
        data = self.body()
        if self.headers.get("Authorization") != expected:
            self.reply(401, [("WWW-Authenticate", 'Basic realm="git"')], b"authentication required\n")
            return
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD=self.command,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(data)), REMOTE_USER=user, REMOTE_ADDR="127.0.0.1")
        for header, var in (("Content-Encoding", "HTTP_CONTENT_ENCODING"), ("Git-Protocol", "GIT_PROTOCOL")):
            if self.headers.get(header):
                env[var] = self.headers[header]
        out = subprocess.run(["git", "http-backend"], input=data, env=env, capture_output=True).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status, headers = 200, []
        for line in head.decode().splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.reply(status, headers, payload)

    do_GET = serve
    do_POST = serve

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Git)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
"#;

struct HttpsSide {
    port: u16,
    ca: PathBuf,
    _server: Guarded,
}

fn start_https(dir: &Path, project_root: &Path) -> HttpsSide {
    let python = require("python3", "python3");
    require("openssl", "openssl");
    let backend = run_ok(Command::new("git").arg("--exec-path"));
    assert!(
        Path::new(backend.trim()).join("git-http-backend").exists(),
        "git http-backend is required for the https remote tests: install Debian's git"
    );
    std::fs::create_dir_all(dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    run_ok(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let script = dir.join("git_https_server.py");
    std::fs::write(&script, SERVER).unwrap();
    let port_file = dir.join("port");
    let server = Guarded::start(
        &format!(
            "{} {} {} {} {USER} {PASSWORD} {} {}",
            python.display(),
            script.display(),
            project_root.display(),
            port_file.display(),
            cert.display(),
            key.display()
        ),
        &dir.join("server.log"),
    );
    wait_until("the https git server's port file", START_LIMIT, || {
        port_file.exists()
    });
    let port = std::fs::read_to_string(&port_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    HttpsSide {
        port,
        ca: cert,
        _server: server,
    }
}

/// `~/.gitconfig` with a credential helper that answers `password`.
fn credential_helper(home: &Path, password: &str) {
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(
        home.join(".gitconfig"),
        format!(
            "[credential]\n\thelper = \"!f() {{ echo username={USER}; echo password={password}; }}; f\"\n"
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn https_remote_is_cloned_fetched_and_pushed_to_with_a_credential_helper() {
    let deck = Deck::start(&[]).await;
    let root = deck.config().parent().unwrap().to_path_buf();
    let srv = root.join("srv");
    let bare = serve_bare(&deck, &srv);
    run_ok(Command::new("git").arg("--git-dir").arg(&bare).args([
        "config",
        "http.receivepack",
        "true",
    ]));
    let https = start_https(&root.join("https"), &srv);
    use_remote(
        &deck,
        &format!("https://127.0.0.1:{}/demo.git", https.port),
        "60s",
    );
    credential_helper(&deck_home(&deck), PASSWORD);
    let run = |args: &'static [&'static str]| {
        let mut cmd = deck.command(args);
        cmd.env("SSL_CERT_FILE", &https.ca);
        async move { cmd.output().await.unwrap() }
    };

    clone_fetch_and_push("https", &bare, &root.join("other-op"), run, String::new).await;
}

/// Promotions made back to back while the repo is polled every second (by a running
/// `driftdeck controller` and by the verb's own env tasks).
const POLLED_ROUNDS: usize = 6;

#[tokio::test]
async fn promotions_over_https_land_on_the_remote_while_it_is_polled_every_second() {
    let deck = Deck::start(&[]).await;
    let root = deck.config().parent().unwrap().to_path_buf();
    let srv = root.join("srv");
    let bare = serve_bare(&deck, &srv);
    run_ok(Command::new("git").arg("--git-dir").arg(&bare).args([
        "config",
        "http.receivepack",
        "true",
    ]));
    let https = start_https(&root.join("https"), &srv);
    let url = format!("https://127.0.0.1:{}/demo.git", https.port);
    use_remote(&deck, &url, "1s");
    credential_helper(&deck_home(&deck), PASSWORD);
    release_identity(&deck);
    let _controller = deck.spawn_controller_with(&[("SSL_CERT_FILE", https.ca.as_os_str())]);
    let run = |args: &'static [&'static str]| {
        let mut cmd = deck.command(args);
        cmd.env("SSL_CERT_FILE", &https.ca);
        async move { cmd.output().await.unwrap() }
    };

    let server_log = || std::fs::read_to_string(root.join("https/server.log")).unwrap_or_default();
    promotions_land_while_polled(
        "https",
        &bare,
        &root.join("other-op"),
        POLLED_ROUNDS,
        run,
        server_log,
    )
    .await;
}

#[tokio::test]
async fn wrong_https_password_fails_with_one_clear_line() {
    let deck = Deck::start(&[]).await;
    let root = deck.config().parent().unwrap().to_path_buf();
    let srv = root.join("srv");
    serve_bare(&deck, &srv);
    let https = start_https(&root.join("https"), &srv);
    use_remote(
        &deck,
        &format!("https://127.0.0.1:{}/demo.git", https.port),
        "60s",
    );
    credential_helper(&deck_home(&deck), "wrong-password");
    let out = deck
        .command(&["render", "--env", "dev"])
        .env("SSL_CERT_FILE", &https.ca)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines = error_lines(&stderr);
    assert_eq!(lines.len(), 1, "expected one error line: {stderr}");
    let host = format!("127.0.0.1:{}", https.port);
    assert!(
        lines[0].contains(&format!("{host} rejected the credentials")),
        "{stderr}"
    );
    assert!(lines[0].contains("credential helper"), "{stderr}");
}
