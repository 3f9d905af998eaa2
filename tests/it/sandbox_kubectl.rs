//! The real `kubectl` against a sandbox started in-process on 127.0.0.1:0 with a temp
//! kubeconfig. kubectl is required: when it is missing these tests FAIL, loudly, rather than
//! pass without having checked anything.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use driftdeck::sandbox::SandboxOptions;

use crate::sandbox_support::{Running, start};

const FIXTURE: &str = "tests/fixtures/sandbox/kubectl/app.yaml";

pub fn kubectl_path() -> PathBuf {
    for p in ["/usr/bin/kubectl", "/usr/local/bin/kubectl"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "kubectl NOT FOUND (looked in /usr/bin and /usr/local/bin): the sandbox's kubectl acceptance tests cannot run; install kubectl"
    );
}

pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
}

impl Kubectl {
    pub fn new(sb: &Running) -> Self {
        Kubectl {
            bin: kubectl_path(),
            kubeconfig: sb.kubeconfig.clone(),
        }
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.bin);
        c.env("KUBECONFIG", &self.kubeconfig)
            .env_remove("EDITOR")
            .env_remove("KUBE_EDITOR")
            .args(args);
        c.kill_on_drop(true);
        c
    }

    pub async fn output(&self, args: &[&str]) -> Output {
        tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish within 60 s"))
            .unwrap()
    }

    /// Runs kubectl and returns stdout; fails the test with stderr if it did not succeed.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

#[tokio::test]
async fn kubectl_discovery_crud_patches_and_apply() {
    let sb = start(
        &["dev", "staging"],
        SandboxOptions {
            time_scale: 20.0,
            ..Default::default()
        },
    )
    .await;
    let k = Kubectl::new(&sb);

    let version = k.ok(&["version", "--context", "dev"]).await;
    assert!(
        version.contains("Server Version: v1.33.0-driftdeck-sandbox"),
        "{version}"
    );
    let resources = k.ok(&["api-resources"]).await;
    for r in [
        "deployments",
        "replicasets",
        "configmaps",
        "customresourcedefinitions",
        "leases",
        "roles",
    ] {
        assert!(
            resources.contains(r),
            "api-resources lacks {r}:\n{resources}"
        );
    }
    let nodes = k.ok(&["get", "nodes"]).await;
    assert!(
        nodes.contains("node-a") && nodes.contains("Ready"),
        "{nodes}"
    );
    let ns = k.ok(&["get", "ns"]).await;
    assert!(ns.contains("default") && ns.contains("Active"), "{ns}");
    assert!(
        k.ok(&["create", "ns", "apps"])
            .await
            .contains("namespace/apps created")
    );
    assert!(
        k.ok(&["get", "ns", "apps", "--context", "dev"])
            .await
            .contains("apps")
    );
    let other = k
        .output(&["get", "ns", "apps", "--context", "staging"])
        .await;
    assert!(!other.status.success(), "clusters are independent");
    assert!(String::from_utf8_lossy(&other.stderr).contains("NotFound"));

    // Client-side apply, twice (the second is a no-op), then server-side apply.
    let applied = k.ok(&["apply", "-f", FIXTURE]).await;
    for line in [
        "configmap/web-config created",
        "service/web created",
        "deployment.apps/web created",
    ] {
        assert!(applied.contains(line), "{applied}");
    }
    assert!(
        k.ok(&["apply", "-f", FIXTURE])
            .await
            .contains("deployment.apps/web unchanged")
    );
    let ssa = k.ok(&["apply", "--server-side", "-f", FIXTURE]).await;
    assert!(
        ssa.contains("deployment.apps/web serverside-applied"),
        "{ssa}"
    );

    // Output formats.
    let yaml = k.ok(&["get", "deploy", "web", "-o", "yaml"]).await;
    assert!(
        yaml.contains("revisionHistoryLimit: 10") && yaml.contains("maxSurge: 25%"),
        "defaults:\n{yaml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "svc", "web", "-o", "json"]).await).unwrap();
    assert!(
        json["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.96.")
    );
    assert_eq!(json["spec"]["ports"][0]["protocol"], "TCP");
    let wide = k.ok(&["get", "deploy", "-o", "wide"]).await;
    assert!(
        wide.contains("IMAGES") && wide.contains("nginx:1.27"),
        "{wide}"
    );
    let jp = k
        .ok(&["get", "cm", "web-config", "-o", "jsonpath={.data.greeting}"])
        .await;
    assert_eq!(jp, "hello");

    // Imperative verbs.
    k.ok(&["scale", "deploy/web", "--replicas=3"]).await;
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
            .await,
        "3"
    );
    k.ok(&["set", "image", "deploy/web", "web=nginx:1.28"])
        .await;
    let image = "jsonpath={.spec.template.spec.containers[0].image}";
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", image]).await,
        "nginx:1.28"
    );
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"minReadySeconds":2}}"#,
    ])
    .await;
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.minReadySeconds}"
        ])
        .await,
        "2"
    );
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
    ])
    .await;
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
            .await,
        "2"
    );
    let smp = r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"MODE","value":"fast"}]}]}}}}"#;
    k.ok(&["patch", "deploy", "web", "--type", "strategic", "-p", smp])
        .await;
    let env = k
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].env[0].value}",
        ])
        .await;
    assert_eq!(env, "fast");
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", image]).await,
        "nginx:1.28",
        "strategic merge kept the image"
    );
    k.ok(&["label", "deploy", "web", "tier=front"]).await;
    k.ok(&["annotate", "deploy", "web", "note=hello"]).await;
    assert!(
        k.ok(&["get", "deploy", "-l", "tier=front", "-o", "name"])
            .await
            .contains("deployment.apps/web")
    );
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.annotations.note}"
        ])
        .await,
        "hello"
    );

    // diff: exit 1 and a unified diff when the file differs from the live object.
    let changed = sb.kubeconfig.with_file_name("changed.yaml");
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .replace("replicas: 1", "replicas: 4");
    std::fs::write(&changed, text).unwrap();
    let diff = k.output(&["diff", "-f", changed.to_str().unwrap()]).await;
    let diff_out = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "{diff_out}\n{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    assert!(diff_out.contains("+  replicas: 4"), "{diff_out}");
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
            .await,
        "2",
        "diff is a dry run"
    );
    let ssa_diff = k
        .output(&[
            "diff",
            "--server-side",
            "--force-conflicts",
            "-f",
            changed.to_str().unwrap(),
        ])
        .await;
    assert_eq!(
        ssa_diff.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&ssa_diff.stderr)
    );

    // edit with a scripted editor.
    let mut edit = k.command(&["edit", "deploy", "web"]);
    edit.env("EDITOR", "sed -i s/replicas:\\ 2/replicas:\\ 5/");
    let out = edit.output().await.unwrap();
    assert!(
        out.status.success(),
        "edit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        k.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
            .await,
        "5"
    );

    // Errors read like the real server's.
    let missing = k.output(&["get", "deploy", "nope"]).await;
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains(r#"Error from server (NotFound): deployments.apps "nope" not found"#),
        "{err}"
    );

    // Delete.
    assert!(
        k.ok(&["delete", "cm", "web-config"])
            .await
            .contains("configmap \"web-config\" deleted")
    );
    assert!(
        !k.ok(&["get", "cm", "-o", "name"])
            .await
            .contains("web-config")
    );
}

/// Reads lines from a running kubectl's stdout until one satisfies `want` (deadline 30 s).
async fn read_until(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    mut want: impl FnMut(&str) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline, lines.next_line()).await;
        match next {
            Ok(Ok(Some(line))) => {
                let done = want(&line);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            other => panic!(
                "stream ended or timed out ({other:?}) before the expected line; saw {seen:#?}"
            ),
        }
    }
}

#[tokio::test]
async fn kubectl_rollouts_watch_logs_events_and_cascade() {
    use tokio::io::AsyncBufReadExt;

    let sb = start(
        &["dev"],
        SandboxOptions {
            time_scale: 20.0,
            ..Default::default()
        },
    )
    .await;
    let k = Kubectl::new(&sb);
    k.ok(&["apply", "-f", FIXTURE]).await;
    let rollout = k
        .ok(&["rollout", "status", "deploy/web", "--timeout=60s"])
        .await;
    assert!(rollout.contains("successfully rolled out"), "{rollout}");

    // get pods -w streams a change: scaling up shows a new pod.
    let before = k.ok(&["get", "pods", "-o", "name"]).await;
    let mut watch = k.command(&["get", "pods", "-w", "--no-headers"]);
    watch.stdout(std::process::Stdio::piped());
    let mut child = watch.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = read_until(&mut lines, |l| l.contains("Running")).await;
    assert!(first.iter().any(|l| l.starts_with("web-")), "{first:?}");
    k.ok(&["scale", "deploy/web", "--replicas=2"]).await;
    let streamed = read_until(&mut lines, |l| {
        let name = l.split_whitespace().next().unwrap_or_default();
        name.starts_with("web-") && !before.contains(name)
    })
    .await;
    assert!(!streamed.is_empty());
    child.kill().await.unwrap();
    k.ok(&["rollout", "status", "deploy/web", "--timeout=60s"])
        .await;

    // logs and logs -f.
    let logs = k.ok(&["logs", "deploy/web"]).await;
    assert!(logs.lines().count() >= 1, "{logs}");
    let mut follow = k.command(&["logs", "-f", "deploy/web"]);
    follow.stdout(std::process::Stdio::piped());
    let mut child = follow.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let already = logs.lines().count();
    let mut n = 0;
    let followed = read_until(&mut lines, |_| {
        n += 1;
        n > already + 2
    })
    .await;
    assert!(
        followed.len() > already + 2,
        "logs -f keeps streaming new lines"
    );
    child.kill().await.unwrap();

    // describe and events.
    let describe = k.ok(&["describe", "deploy", "web"]).await;
    assert!(
        describe.contains("ScalingReplicaSet") && describe.contains("RollingUpdateStrategy"),
        "{describe}"
    );
    let pod_describe = k.ok(&["describe", "pod", "-l", "app=web"]).await;
    assert!(
        pod_describe.contains("Scheduled") && pod_describe.contains("nginx:1.27"),
        "{pod_describe}"
    );
    let events = k.ok(&["get", "events"]).await;
    assert!(
        events.contains("Scheduled") && events.contains("SuccessfulCreate"),
        "{events}"
    );

    // A crash-looping image never completes its rollout.
    k.ok(&["set", "image", "deploy/web", "web=nginx:crashloop"])
        .await;
    let stuck = k
        .output(&["rollout", "status", "deploy/web", "--timeout=5s"])
        .await;
    assert!(
        !stuck.status.success(),
        "rollout of a crashloop image must not complete"
    );
    let crash = k.ok(&["get", "pods"]).await;
    assert!(
        crash.contains("CrashLoopBackOff") || crash.contains("Error"),
        "{crash}"
    );

    // Delete cascades to ReplicaSets and Pods.
    k.ok(&["delete", "deploy", "web"]).await;
    let rs = k.ok(&["get", "rs,pods", "-o", "name"]).await;
    assert!(rs.trim().is_empty(), "dependents remain: {rs}");
}
