//! Writes the kubeconfig for a running sandbox: one cluster, user and context per simulated
//! cluster, each context named exactly as its cluster, server URL
//! `http://ADDR/clusters/<name>`, file mode 0600 (it may hold the token). Imports nothing of
//! the crate.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use super::error::Error;

/// The kubeconfig text; `current-context` is the first cluster.
pub fn render(addr: SocketAddr, clusters: &[String], token: Option<&str>) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut out = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for c in clusters {
        out.push_str(&format!(
            "- name: {}\n  cluster:\n    server: {}\n",
            q(c),
            q(&format!("http://{addr}/clusters/{c}"))
        ));
    }
    out.push_str("users:\n- name: sandbox\n  user:");
    match token {
        Some(t) => out.push_str(&format!("\n    token: {}\n", q(t))),
        None => out.push_str(" {}\n"),
    }
    out.push_str("contexts:\n");
    for c in clusters {
        out.push_str(&format!(
            "- name: {}\n  context:\n    cluster: {}\n    user: sandbox\n    namespace: default\n",
            q(c),
            q(c)
        ));
    }
    if let Some(first) = clusters.first() {
        out.push_str(&format!("current-context: {}\n", q(first)));
    }
    out
}

/// Writes the kubeconfig with mode 0600.
pub fn write(
    path: &Path,
    addr: SocketAddr,
    clusters: &[String],
    token: Option<&str>,
) -> Result<(), Error> {
    let err = |source| Error::Kubeconfig {
        path: path.display().to_string(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // `mode` applies only when the file is created; an existing file is tightened too.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
    }
    f.write_all(render(addr, clusters, token).as_bytes())
        .map_err(err)
}
