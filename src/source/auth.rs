//! Credential and trust failures in one clear line: what the remote refused, and what to do.
//!
//! Imports nothing from the crate. libgit2's own words for these are terse ("invalid or unknown
//! remote ssh hostkey"), and the fix depends on the transport: an ssh host key is trusted through
//! `~/.ssh/known_hosts` (libgit2 reads the file under `$HOME`, as OpenSSH does), an https server
//! through the CA bundle the vendored OpenSSL loads (the system's, found by openssl-probe, or
//! `SSL_CERT_FILE`), credentials through the ssh-agent or git's credential helpers (asked and
//! bounded in `remote`). [`explain`] turns a libgit2 error into the message the user sees; the
//! credential callbacks themselves stay where the fetch and push options are built.

use super::location::Transport;

/// The user-facing message for a failed clone, fetch or push of `url`: libgit2's message, with
/// the host and a fix added for the failures a user can fix (an untrusted host, rejected
/// credentials). Always one line.
pub(crate) fn explain(e: &git2::Error, url: &str, transport: Transport) -> String {
    let message = e.message().replace('\n', " ");
    let host = host_of(url);
    if e.code() == git2::ErrorCode::Certificate {
        return match (transport, e.class()) {
            (Transport::Ssh, _) | (_, git2::ErrorClass::Ssh) => {
                let (name, port) = split_port(&host);
                let scan = match port {
                    Some(port) => format!("ssh-keyscan -p {port} {name}"),
                    None => format!("ssh-keyscan {name}"),
                };
                format!(
                    "the ssh host key of {host} is unknown or changed (not matched in ~/.ssh/known_hosts): check its fingerprint, then trust it with `{scan} >> ~/.ssh/known_hosts`"
                )
            }
            _ => format!(
                "the TLS certificate of {host} is not trusted ({message}): add its CA to the system trust store or point SSL_CERT_FILE at it"
            ),
        };
    }
    if message.starts_with("authentication failed") || e.code() == git2::ErrorCode::Auth {
        let fix = match transport {
            Transport::Ssh => {
                "load a key the server accepts into ssh-agent (`ssh-add`; SSH_AUTH_SOCK must be set)"
            }
            _ => {
                "fix the stored username and password for this host in your git credential helper (`git credential reject`, then fetch with git once to store new ones)"
            }
        };
        return format!("{host} rejected the credentials: {message}; {fix}");
    }
    message
}

/// `host[:port]` of a URL or scp-like address; the whole string when neither shape fits.
fn host_of(url: &str) -> String {
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest,
        None => url.split_once(':').map_or(url, |(host, _)| host),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    host.to_owned()
}

/// `host:port` → (`host`, port); a bare host has none.
fn split_port(host: &str) -> (&str, Option<&str>) {
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (name, Some(port))
        }
        _ => (host, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_come_out_of_urls_and_scp_addresses() {
        assert_eq!(
            host_of("ssh://git@127.0.0.1:2222/srv/r.git"),
            "127.0.0.1:2222"
        );
        assert_eq!(host_of("https://u@example.com/r.git"), "example.com");
        assert_eq!(host_of("git@example.com:org/r.git"), "example.com");
        assert_eq!(split_port("127.0.0.1:2222"), ("127.0.0.1", Some("2222")));
        assert_eq!(split_port("example.com"), ("example.com", None));
    }

    #[test]
    fn an_unknown_host_key_says_how_to_trust_it() {
        let e = git2::Error::new(
            git2::ErrorCode::Certificate,
            git2::ErrorClass::Ssh,
            "invalid or unknown remote ssh hostkey",
        );
        let text = explain(&e, "ssh://git@127.0.0.1:2222/r.git", Transport::Ssh);
        assert!(text.contains("ssh host key of 127.0.0.1:2222"), "{text}");
        assert!(text.contains("ssh-keyscan -p 2222 127.0.0.1"), "{text}");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn rejected_passwords_point_at_the_credential_helper() {
        let e = git2::Error::from_str(
            "authentication failed after 3 attempts with git credential helpers",
        );
        let text = explain(&e, "https://127.0.0.1:8443/r.git", Transport::Http);
        assert!(
            text.starts_with("127.0.0.1:8443 rejected the credentials"),
            "{text}"
        );
        assert!(text.contains("credential helper"), "{text}");
    }
}
