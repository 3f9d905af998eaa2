//! `driftdeck versions` across engines: a driftdeck env, an Argo CD env and a Flux env that
//! each run `Deployment/api` (in their own namespace, at their own tag) show one workload row
//! with each env's tag in its column, in the table and in `-o json`. On the real API server
//! tier with the engines' CRDs, and the same code on the sandbox.
//!
//! What is the stand-ins' (their module docs say exactly what they do): the Flux env's
//! Deployment is applied by [`crate::flux_standin`] from the Kustomization's path, as
//! kustomize-controller would; the Argo CD Application's status (its `resources` listing the
//! Deployment) is written by [`crate::argocd_standin`], and its Deployment by kubectl here, as
//! Argo CD would have applied it. The driftdeck env's Deployment is applied by kubectl too
//! (`versions` reads live images; no sync is needed). What is real: the API server, kubectl,
//! Git, and every read driftdeck makes.

use serde_json::{Value, json};

use crate::argocd_standin::{ArgoController, application, rev};
use crate::engine_flux::{FluxBench, Server};

fn deployment(tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api}}\nspec:\n  replicas: 1\n  \
         selector: {{matchLabels: {{app: api}}}}\n  template:\n    metadata: {{labels: {{app: api}}}}\n    \
         spec: {{containers: [{{name: api, image: \"registry.example.com/shop/api:{tag}\"}}]}}\n"
    )
}

async fn versions_shows_one_row_per_workload_across_engines(server: Server) {
    let mut bench = FluxBench::new("eng-versions", false, server).await;
    let ns = bench.ns.clone();
    let (dd_ns, argo_ns) = (format!("{ns}-dd"), format!("{ns}-argo"));

    // Flux: the Kustomization's path (`apps/`) holds the Deployment at 2.0.
    bench.commit_file("apps/api.yaml", Some(&deployment("2.0")));
    bench.start_flux().await;

    // driftdeck: Git's `dd/` has the Deployment at 1.0, live in its namespace.
    bench.commit_file("dd/api.yaml", Some(&deployment("1.0")));
    let manifests = tempfile::tempdir().expect("temp dir");
    let file = |name: &str, text: &str| {
        let path = manifests.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).expect("write manifest");
        path.display().to_string()
    };
    bench.kubectl_ok(&["create", "namespace", &dd_ns]);
    bench.kubectl_ok(&["apply", "-n", &dd_ns, "-f", &file("dd", &deployment("1.0"))]);

    // Argo CD: Application `api` (in the bench namespace) deploys to its own namespace at 3.0.
    bench.kubectl_ok(&["create", "namespace", &argo_ns]);
    bench.kubectl_ok(&[
        "apply",
        "-n",
        &argo_ns,
        "-f",
        &file("argo", &deployment("3.0")),
    ]);
    let argo = ArgoController::new(bench.client().await, &ns, "api");
    let mut app = application("api", &ns, true);
    app["spec"]["destination"]["namespace"] = json!(argo_ns);
    argo.create(&app).await;
    argo.seed(&[&rev("a1")]).await;
    argo.update(|app| {
        for r in app["status"]["resources"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            r["namespace"] = json!(argo_ns);
        }
        // Argo CD's own summary, which driftdeck shows only when it cannot read the workloads.
        app["status"]["summary"]["images"] = json!(["registry.example.com/shop/api:3.0"]);
    })
    .await;

    bench.config_append(&format!(
        "  - {{name: dd, path: dd, context: dev, namespace: {dd_ns}}}\n  \
         - {{name: argo, context: dev, engine: {{argocd: {{application: api, namespace: {ns}}}}}}}\n"
    ));

    let ran = bench.driftdeck(&["versions", "-o", "json"]).await;
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let doc: Value = serde_json::from_str(&ran.stdout).expect("versions -o json");
    let names: Vec<&str> = doc["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .filter_map(|w| w["workload"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Deployment/api"],
        "one row for the three engines: {doc:#}"
    );
    let row = &doc["workloads"][0]["envs"];
    for (env, tag) in [("dd", "1.0"), (ns.as_str(), "2.0"), ("argo", "3.0")] {
        assert_eq!(
            row[env]["images"],
            json!([format!("api=registry.example.com/shop/api:{tag}")]),
            "{env}'s column: {doc:#}"
        );
    }
    let engines: Vec<Value> = doc["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| e["error"].clone())
        .collect();
    assert!(
        engines.iter().all(Value::is_null),
        "no env in error: {doc:#}"
    );

    let ran = bench.driftdeck(&["versions"]).await;
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let line = ran
        .stdout
        .lines()
        .find(|l| l.starts_with("Deployment/api"))
        .unwrap_or_else(|| panic!("a Deployment/api row: {}", ran.stdout));
    for tag in ["1.0", "2.0", "3.0"] {
        assert!(line.contains(tag), "{tag} in the row: {}", ran.stdout);
    }
    assert!(!ran.stdout.contains("Application/"), "{}", ran.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_shows_one_row_per_workload_across_engines_on_the_real_server() {
    versions_shows_one_row_per_workload_across_engines(Server::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_shows_one_row_per_workload_across_engines_on_the_sandbox() {
    versions_shows_one_row_per_workload_across_engines(Server::Sandbox).await;
}
