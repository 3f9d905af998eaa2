//! Least privilege, discovery and plain errors on the real API server tier (Kubernetes 1.20):
//! users bound to `deploy/rbac/driftdeck-viewer.yaml`, `deploy/rbac/driftdeck-operator.yaml` and
//! the built-in `view` role each do exactly their mode; prune candidates of a kind 1.20 serves
//! only at a beta version are found; errors and a closed stdout stay quiet and plain; a running
//! driver reading a view-only env from its watches still reports the kinds it may not list.
//!
//! Users are impersonated by the tier's admin (`as:` in the kubeconfig), so each test makes its
//! own user names and binds them with RoleBindings in its own namespace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::realk8s_support::{RealK8s, realk8s, unique};

/// One env per user: `op` (driftdeck-operator), `viewer` (driftdeck-viewer) and `view` (the
/// built-in `view` role of the tier's `dev-viewer` context), all on one namespace and path.
struct Access {
    ns: String,
    root: PathBuf,
    _tmp: tempfile::TempDir,
}

const APP: &str = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: NS}
data: {greeting: hello}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 8080, protocol: TCP}]
"#;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn rbac_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/rbac")
        .join(name)
}

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "user.name=Access Test",
            "-c",
            "user.email=a@test.invalid",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

impl Access {
    fn start(k: &RealK8s) -> Access {
        let ns = unique("access");
        k.kubectl_ok("dev", &["create", "namespace", &ns]);
        for file in ["driftdeck-viewer.yaml", "driftdeck-operator.yaml"] {
            let path = rbac_file(file);
            k.kubectl_ok(
                "dev",
                &[
                    "apply",
                    "--server-side",
                    "--force-conflicts",
                    "-f",
                    path.to_str().unwrap(),
                ],
            );
        }
        let op_user = format!("{ns}-op");
        let viewer_user = format!("{ns}-viewer");
        for (user, role) in [
            (&op_user, "driftdeck-operator"),
            (&viewer_user, "driftdeck-viewer"),
        ] {
            k.kubectl_ok(
                "dev",
                &[
                    "-n",
                    &ns,
                    "create",
                    "rolebinding",
                    user,
                    &format!("--clusterrole={role}"),
                    &format!("--user={user}"),
                ],
            );
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        // The tier's kubeconfig plus one impersonating user and context per test user.
        let mut kc: Value =
            serde_json::from_str(&std::fs::read_to_string(&k.kubeconfig).unwrap()).unwrap();
        let token = kc["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == "admin")
            .map(|u| u["user"]["token"].clone())
            .expect("admin user in the tier's kubeconfig");
        for user in [&op_user, &viewer_user] {
            kc["users"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": user, "user": {"token": token, "as": user}}));
            kc["contexts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": user, "context": {"cluster": "dev", "user": user}}));
        }
        std::fs::write(root.join("kubeconfig"), kc.to_string()).unwrap();
        let repo = root.join("repo");
        std::fs::create_dir_all(repo.join("envs/app")).unwrap();
        std::fs::write(repo.join("envs/app/app.yaml"), APP.replace("NS", &ns)).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "app"]);
        let env = |name: &str, context: &str| {
            format!("  - {{name: {name}, path: envs/app, context: {context}, namespace: {ns}}}\n")
        };
        let config = format!(
            "repo: {{url: ./repo, branch: main}}\nkubeconfig: ./kubeconfig\nvalidation_timeout: 90s\n\
             environments:\n{}{}{}",
            env("op", &op_user),
            env("viewer", &viewer_user),
            env("view", "dev-viewer"),
        );
        std::fs::write(root.join("driftdeck.yaml"), config).unwrap();
        for d in ["home", "data", "cache", "config"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        Access {
            ns,
            root,
            _tmp: tmp,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_driftdeck"));
        c.current_dir(&self.root)
            .arg("--config")
            .arg(self.root.join("driftdeck.yaml"))
            .args(args)
            .env("HOME", self.root.join("home"))
            .env("XDG_DATA_HOME", self.root.join("data"))
            .env("XDG_CACHE_HOME", self.root.join("cache"))
            .env("XDG_CONFIG_HOME", self.root.join("config"))
            .env("DRIFTDECK_AUDIT_LOG", self.root.join("data/audit.jsonl"))
            .env_remove("KUBECONFIG")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn status(&self) -> Value {
        let out = self.run(&["status", "-o", "json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "status -o json: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn kubectl_get(&self, k: &RealK8s, what: &str, jsonpath: &str) -> String {
        k.kubectl_ok(
            "dev",
            &[
                "-n",
                &self.ns,
                "get",
                what,
                "-o",
                &format!("jsonpath={jsonpath}"),
            ],
        )
    }
}

fn env_of<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["environments"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("env {name} missing from status: {status}"))
}

/// Asserts a refused mutation: exit 1 and exactly one stderr line that names the verb, the env,
/// "forbidden" and the missing permission.
fn assert_refused(out: &Output, verb: &str, env: &str, permission: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{verb} {env}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{verb} {env}: expected one line, got {stderr}"
    );
    let line = lines[0];
    assert!(
        line.starts_with(&format!("driftdeck: {verb} {env}: forbidden: ")),
        "{line}"
    );
    assert!(
        line.contains(permission),
        "{line} should name {permission:?}"
    );
    assert!(line.contains("nothing changed"), "{line}");
}

#[test]
fn operator_role_syncs_and_pauses_while_viewer_roles_only_read() {
    let k = realk8s();
    k.standin("dev");
    let a = Access::start(k);

    // Operator: sync works end to end, and so do pause and resume.
    let sync = a.run(&["sync", "op"]);
    assert_eq!(
        sync.status.code(),
        Some(0),
        "operator sync: {}{}",
        text(&sync.stdout),
        text(&sync.stderr)
    );
    let status = a.status();
    for env in ["op", "viewer", "view"] {
        let e = env_of(&status, env);
        assert_eq!(e["sync"], "Synced", "{env}: {e}");
        assert_eq!(e["health"], "Healthy", "{env}: {e}");
        assert_eq!(e["error"], Value::Null, "{env}: {e}");
    }
    // driftdeck-viewer reads everything driftdeck reads; the built-in view role cannot read
    // Secrets (prune candidates) nor Leases, and says so with the 403 reason.
    assert_eq!(env_of(&status, "viewer")["unreadable"], json!([]));
    let unreadable = env_of(&status, "view")["unreadable"].to_string();
    assert!(
        unreadable.contains("Secret in") && unreadable.contains("Forbidden"),
        "{unreadable}"
    );
    assert!(unreadable.contains("Lease"), "{unreadable}");
    for env in ["viewer", "view"] {
        let diff = a.run(&["diff", env]);
        assert_eq!(
            diff.status.code(),
            Some(0),
            "diff {env}: {}",
            text(&diff.stderr)
        );
    }

    // A change in Git that the viewers may see but not apply.
    let app = a.root.join("repo/envs/app/app.yaml");
    let changed = std::fs::read_to_string(&app)
        .unwrap()
        .replace("greeting: hello", "greeting: changed");
    std::fs::write(&app, changed).unwrap();
    git(
        &a.root.join("repo"),
        &["commit", "-q", "-am", "change greeting"],
    );
    let before = a.kubectl_get(k, "configmap/app-config", "{.metadata.resourceVersion}");
    for env in ["viewer", "view"] {
        let diff = a.run(&["diff", env]);
        assert_eq!(diff.status.code(), Some(1), "diff {env} after the commit");
        assert!(
            text(&diff.stdout).contains("greeting"),
            "{}",
            text(&diff.stdout)
        );
        assert_refused(&a.run(&["sync", env]), "sync", env, "patch configmaps");
        assert_refused(
            &a.run(&["rollback", env]),
            "rollback",
            env,
            "patch configmaps",
        );
        assert_refused(&a.run(&["pause", env]), "pause", env, "create configmaps");
        assert_refused(&a.run(&["resume", env]), "resume", env, "create configmaps");
    }
    assert_eq!(
        a.kubectl_get(k, "configmap/app-config", "{.metadata.resourceVersion}"),
        before,
        "a refused mutation changed the live ConfigMap"
    );
    let state = k.kubectl(
        "dev",
        &["-n", &a.ns, "get", "configmap", "driftdeck-viewer"],
    );
    assert!(
        !state.status.success(),
        "a refused verb wrote cluster-held state"
    );

    for verb in ["pause", "resume"] {
        let out = a.run(&[verb, "op"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{verb} op: {}",
            text(&out.stderr)
        );
    }
    let sync = a.run(&["sync", "op"]);
    assert_eq!(
        sync.status.code(),
        Some(0),
        "second sync: {}",
        text(&sync.stderr)
    );
    assert_eq!(
        a.kubectl_get(k, "configmap/app-config", "{.data.greeting}"),
        "changed"
    );
}

#[test]
fn prune_candidates_are_found_at_the_version_the_server_serves() {
    let k = realk8s();
    let a = Access::start(k);
    // Kubernetes 1.20 serves CronJob only as batch/v1beta1: a managed one Git does not have is
    // a prune candidate all the same.
    let cronjob = json!({
        "apiVersion": "batch/v1beta1",
        "kind": "CronJob",
        "metadata": {
            "name": "nightly",
            "namespace": a.ns,
            "labels": {"app.kubernetes.io/managed-by": "driftdeck"},
            "annotations": {"driftdeck.io/env": "op"}
        },
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox"}]
            }}}}
        }
    });
    let file = a.root.join("cronjob.json");
    std::fs::write(&file, cronjob.to_string()).unwrap();
    k.kubectl_ok("dev", &["apply", "-f", file.to_str().unwrap()]);
    let diff = a.run(&["diff", "op"]);
    let stdout = text(&diff.stdout);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff op: {stdout}{}",
        text(&diff.stderr)
    );
    assert!(
        stdout.contains("CronJob") && stdout.contains("nightly"),
        "{stdout}"
    );
    assert!(stdout.contains("extra"), "{stdout}");
    let status = a.status();
    assert_eq!(env_of(&status, "op")["drift"]["extra"], 1, "{status}");
}

#[test]
fn errors_are_plain_lines_and_a_closed_stdout_ends_quietly() {
    let k = realk8s();
    let a = Access::start(k);
    // Logs at info on a non-terminal stderr, and a refused access: no colour codes, no debug
    // dump of the API's Status.
    let out = a
        .command(&["status"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI codes on a pipe: {stderr:?}"
    );
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("Status {"), "{stdout}");
    assert!(
        stdout.contains("Forbidden: secrets is forbidden"),
        "{stdout}"
    );

    // The reader of stdout is gone before anything is written: exit 141, nothing on stderr.
    let mut child = a
        .command(&["history", "op"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");

    // An unreachable cluster: one or two plain lines per env, saying so.
    let kc = a.root.join("kubeconfig");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&kc).unwrap()).unwrap();
    for c in doc["clusters"].as_array_mut().unwrap() {
        c["cluster"]["server"] = json!("https://127.0.0.1:9");
    }
    std::fs::write(&kc, doc.to_string()).unwrap();
    let out = a.run(&["diff", "op"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.lines().count() <= 2, "{stderr}");
    assert!(stderr.contains("cluster unreachable"), "{stderr}");
    assert!(
        !stderr.contains("Status {") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
}

/// A running driver reads a view-only user's env from its watch stores and still reports the
/// prune kinds that user may not list: the Secret watch's 403 stands for the list's, so the
/// observation a later change triggers (read from the watches, not listed) keeps saying
/// Secrets are unreadable, with the reason, beside the new drift.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_driver_reports_kinds_a_view_only_user_may_not_list() {
    let k = realk8s();
    k.standin("dev");
    let a = Access::start(k);
    let sync = a.run(&["sync", "op"]);
    assert_eq!(
        sync.status.code(),
        Some(0),
        "operator sync: {}",
        text(&sync.stderr)
    );
    let config = driftdeck::config::load(&a.root.join("driftdeck.yaml")).unwrap();
    let audit = a.root.join("data/driver-audit.jsonl");
    let opts = driftdeck::controller::DriverOptions {
        read_only: true,
        automation: false,
        operator: format!("view@it/{}", std::process::id()),
        audit: driftdeck::controller::audit::AuditLog::at(audit),
        envs: Some(vec!["view".into()]),
    };
    let mut spawned = driftdeck::controller::driver::spawn(config, opts);
    let wait = std::time::Duration::from_secs(60);
    let secrets_unreadable = |e: &driftdeck::model::EnvState| {
        e.unreadable
            .iter()
            .any(|u| u.starts_with("Secret in") && u.contains("Forbidden"))
    };
    let first = tokio::time::timeout(
        wait,
        spawned.snapshots.wait_for(|s| {
            s.env("view").is_some_and(|e| {
                e.sync == driftdeck::model::SyncStatus::Synced && secrets_unreadable(e)
            })
        }),
    )
    .await;
    assert!(
        first.is_ok_and(|r| r.is_ok()),
        "view never Synced with Secrets unreadable: {:?}",
        spawned.snapshots.borrow().env("view")
    );
    k.kubectl_ok(
        "dev",
        &[
            "-n",
            &a.ns,
            "patch",
            "configmap",
            "app-config",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"greeting":"edited"}}"#,
        ],
    );
    let changed = tokio::time::timeout(
        wait,
        spawned.snapshots.wait_for(|s| {
            s.env("view")
                .is_some_and(|e| e.drift.iter().any(|d| d.key.name == "app-config"))
        }),
    )
    .await;
    assert!(
        changed.is_ok_and(|r| r.is_ok()),
        "the edit never showed as drift: {:?}",
        spawned.snapshots.borrow().env("view")
    );
    let snapshot = spawned.snapshots.borrow().clone();
    let view = snapshot.env("view").unwrap();
    assert!(
        secrets_unreadable(view),
        "the watched observation lost the unreadable kinds: {:?}",
        view.unreadable
    );
    drop(spawned);
}
