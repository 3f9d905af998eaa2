//! No false drift, whoever created the objects: creation path {driftdeck sync, `kubectl apply
//! --server-side`, `kubectl apply` (client-side), `kubectl create`, `kubectl replace`} × every
//! kind of the matrix (Namespace, Deployment, StatefulSet, DaemonSet, Job, CronJob, Service
//! ClusterIP and NodePort, Ingress, ConfigMap, Secret, ServiceAccount, Role, RoleBinding, HPA,
//! a CRD and its custom resource). For the kubectl paths `diff` exits 0 before driftdeck ever
//! syncs; after one sync it exits 0 on every path, and live equals the render on every field
//! Git sets. The same code runs on the real API server tier and on the sandbox.

use crate::real_drift_support::{Bench, covers, documents};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Path {
    Sync,
    ServerSideApply,
    ClientSideApply,
    Create,
    Replace,
}

const PATHS: [Path; 5] = [
    Path::Sync,
    Path::ServerSideApply,
    Path::ClientSideApply,
    Path::Create,
    Path::Replace,
];

/// Creates the objects the way `path` does (nothing for [`Path::Sync`]).
fn create_by(bench: &Bench, path: Path, crd: &str, rest: &str, widget: &str) {
    let verb: &[&str] = match path {
        Path::Sync => return,
        Path::ServerSideApply => &["apply", "--server-side"],
        Path::ClientSideApply => &["apply"],
        Path::Create | Path::Replace => &["create"],
    };
    let run = |name: &str, yaml: &str, verb: &[&str]| {
        let file = bench.scratch(name, yaml);
        let mut args = verb.to_vec();
        let file = file.display().to_string();
        args.extend_from_slice(&["-f", &file]);
        bench.kubectl_ok(&args);
    };
    run("crd.yaml", crd, verb);
    // Until the new kind is served (the sandbox sets no CRD conditions to `kubectl wait` for).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let widgets = format!("widgets.{}.drift.example.com", bench.ns);
    while bench.kubectl(&["-n", &bench.ns, "get", &widgets]).code != Some(0) {
        assert!(
            std::time::Instant::now() < deadline,
            "{widgets} not served within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    run("rest.yaml", rest, verb);
    run("widget.yaml", widget, verb);
    if path == Path::Replace {
        // The API refuses replacing a Job (its pod template and selector are immutable and the
        // file has no selector), so the Job keeps its `kubectl create` history.
        // A Service is replaced with the clusterIP it was given, as a user's edited copy has it
        // (the server refuses to unset it).
        let replaceable: Vec<String> = rest
            .split("\n---\n")
            .filter(|d| !d.contains("\nkind: Job\n"))
            .map(|d| {
                if !d.contains("\nkind: Service\n") {
                    return d.to_owned();
                }
                let doc = &documents(d)[0];
                let name = doc["metadata"]["name"].as_str().unwrap_or_default();
                let ip = bench.live("service", name)["spec"]["clusterIP"].clone();
                d.replacen("\nspec:\n", &format!("\nspec:\n  clusterIP: {ip}\n"), 1)
            })
            .collect();
        run(
            "rest-replace.yaml",
            &replaceable.join("\n---\n"),
            &["replace"],
        );
        run("crd.yaml", crd, &["replace"]);
        run("widget.yaml", widget, &["replace"]);
    }
}

/// Runs the matrix on `bench_for(path)`; returns the failures, one line each.
async fn matrix(make: impl AsyncFn(&str) -> Bench) -> Vec<String> {
    let mut failures = Vec::new();
    for path in PATHS {
        let bench = make("matrix").await;
        let (crd, group) = bench.crd();
        let rest = bench.render();
        let widget = bench.widget(&group);
        let all = format!("{crd}---\n{rest}---\n{widget}");
        bench.commit(&all, "the env");
        create_by(&bench, path, &crd, &rest, &widget);
        if path != Path::Sync {
            let before = bench.diff().await;
            if before.code != Some(0) {
                failures.push(format!(
                    "{path:?}: diff before any sync exited {:?}:\n{}{}",
                    before.code, before.stdout, before.stderr
                ));
            }
        }
        bench.sync(&[]).await;
        let after = bench.diff().await;
        if after.code != Some(0) {
            failures.push(format!(
                "{path:?}: diff after sync exited {:?}:\n{}{}",
                after.code, after.stdout, after.stderr
            ));
        }
        for doc in documents(&all) {
            let kind = doc["kind"].as_str().unwrap_or_default();
            let name = doc["metadata"]["name"].as_str().unwrap_or_default();
            let resource = match kind {
                "Widget" => format!("widgets.{group}"),
                "CronJob" | "HorizontalPodAutoscaler" => {
                    let av = doc["apiVersion"].as_str().unwrap_or_default();
                    let (g, v) = av.split_once('/').unwrap_or(("", av));
                    format!("{}.{v}.{g}", kind.to_lowercase())
                }
                other => other.to_lowercase(),
            };
            let live = bench.live(&resource, name);
            if let Err(e) = covers(&live, &doc, &format!("{kind}/{name}")) {
                failures.push(format!("{path:?}: after sync {e}"));
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_false_drift_for_any_creation_path_on_the_real_server() {
    let failures = matrix(async |stem: &str| Bench::real(stem)).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_false_drift_for_any_creation_path_on_the_sandbox() {
    let failures = matrix(async |stem: &str| Bench::sandbox(stem).await).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
