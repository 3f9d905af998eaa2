//! True drift, reported precisely and removed by one sync: scale, set image, set env (a new
//! var), label, annotate, edit ConfigMap data, delete a Service, a field removed from Git, an
//! object removed from Git. Each makes `diff` exit 1 naming the field or object; one `sync`
//! (with `--prune` for the removed object) makes it exit 0 with live equal to the render on
//! every field Git sets. The objects are first created by `kubectl apply --server-side` and then
//! taken over by a sync, so the field removed from Git is one kubectl's old Apply entry held.
//! Two things are removed from Git: an env var (a list item) and a `livenessProbe` (a struct,
//! which servers before 1.21 cannot remove through apply: the sync removes it first, see
//! `controller::takeover`). The same code runs on the real API server tier and on the sandbox.
//! Also: plain YAML naming no namespace lands in the env's and pairs with live (no Missing +
//! Extra, and `sync --prune` keeps it).

use crate::real_drift_support::{Bench, covers, documents};

/// One drift: what to do, and a text `diff` must print.
struct Case {
    name: &'static str,
    expect: &'static str,
}

const CASES: [Case; 10] = [
    Case {
        name: "scale",
        expect: "/spec/replicas",
    },
    Case {
        name: "set image",
        expect: "/image",
    },
    Case {
        name: "set env",
        expect: "FOO",
    },
    Case {
        name: "label",
        expect: "/metadata/labels/extra",
    },
    Case {
        name: "annotate",
        expect: "/metadata/annotations/note",
    },
    Case {
        name: "edit ConfigMap data",
        expect: "/data/level",
    },
    Case {
        name: "delete a Service",
        expect: "Service",
    },
    Case {
        name: "remove a field from Git",
        expect: "LEVEL",
    },
    Case {
        name: "remove a struct from Git",
        expect: "/livenessProbe",
    },
    Case {
        name: "remove an object from Git",
        expect: "ConfigMap/",
    },
];

/// What Git has after `step` removals: 1 the Deployment's env var `LEVEL`, 2 also its
/// `livenessProbe`, 3 also the ConfigMap `settings`.
fn edited(render: &str, step: u8) -> String {
    let mut out = render.replace("        env: [{name: LEVEL, value: info}]\n", "");
    assert_ne!(out, render, "the render has the env var to remove");
    if step >= 2 {
        let before = out.clone();
        out = out.replace(
            "        livenessProbe: {httpGet: {path: /healthz, port: 8080}}\n",
            "",
        );
        assert_ne!(out, before, "the render has the probe to remove");
    }
    if step < 3 {
        return out;
    }
    out.split("\n---\n")
        .filter(|d| !(d.contains("\nkind: ConfigMap\n")))
        .collect::<Vec<_>>()
        .join("\n---\n")
}

async fn drift_cases(bench: Bench) -> Vec<String> {
    let ns = bench.ns.clone();
    let render = bench.render();
    bench.commit(&render, "the env");
    let file = bench.scratch("render.yaml", &render).display().to_string();
    bench.kubectl_ok(&["apply", "--server-side", "-f", &file]);
    bench.sync(&[]).await;
    let mut failures = Vec::new();
    let mut git = render.clone();
    for case in CASES {
        let k = |args: &[&str]| {
            let mut all = vec!["-n", ns.as_str()];
            all.extend_from_slice(args);
            bench.kubectl_ok(&all);
        };
        let mut sync_args: Vec<&str> = Vec::new();
        match case.name {
            "scale" => k(&["scale", "deployment/api", "--replicas=5"]),
            "set image" => k(&["set", "image", "deployment/api", "api=nginx:1.26"]),
            "set env" => k(&["set", "env", "deployment/api", "FOO=bar"]),
            "label" => k(&["label", "configmap", "settings", "extra=yes"]),
            "annotate" => k(&["annotate", "service", "api", "note=by-hand"]),
            "edit ConfigMap data" => k(&[
                "patch",
                "configmap",
                "settings",
                "--type",
                "merge",
                "-p",
                r#"{"data":{"level":"debug"}}"#,
            ]),
            "delete a Service" => k(&["delete", "service", "edge"]),
            "remove a field from Git" => {
                git = edited(&render, 1);
                bench.commit(&git, "drop the env var");
            }
            "remove a struct from Git" => {
                git = edited(&render, 2);
                bench.commit(&git, "drop the probe");
            }
            _ => {
                git = edited(&render, 3);
                bench.commit(&git, "drop the ConfigMap");
                sync_args.push("--prune");
            }
        }
        let before = bench.diff().await;
        if before.code != Some(1) || !before.stdout.contains(case.expect) {
            failures.push(format!(
                "{}: diff exited {:?} without naming {:?}:\n{}{}",
                case.name, before.code, case.expect, before.stdout, before.stderr
            ));
        }
        bench.sync(&sync_args).await;
        let after = bench.diff().await;
        if after.code != Some(0) {
            failures.push(format!(
                "{}: diff after one sync exited {:?}:\n{}{}",
                case.name, after.code, after.stdout, after.stderr
            ));
        }
        for doc in documents(&git) {
            let kind = doc["kind"].as_str().unwrap_or_default();
            let name = doc["metadata"]["name"].as_str().unwrap_or_default();
            if matches!(kind, "CronJob" | "HorizontalPodAutoscaler") {
                continue;
            }
            if let Err(e) = covers(&bench.live(&kind.to_lowercase(), name), &doc, kind) {
                failures.push(format!("{}: after sync {e}", case.name));
            }
        }
    }
    let deployment = bench.live("deployment", "api");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    for (field, gone) in [
        ("env FOO", container["env"].to_string().contains("FOO")),
        ("env LEVEL", container["env"].to_string().contains("LEVEL")),
        ("livenessProbe", container.get("livenessProbe").is_some()),
    ] {
        if gone {
            failures.push(format!("{field} is still live after the syncs"));
        }
    }
    let gone = bench.kubectl(&["-n", &ns, "get", "configmap", "settings"]);
    if gone.code == Some(0) {
        failures.push("the ConfigMap removed from Git is still live after sync --prune".into());
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn true_drift_is_reported_and_one_sync_removes_it_on_the_real_server() {
    let failures = drift_cases(Bench::real("truedrift")).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn true_drift_is_reported_and_one_sync_removes_it_on_the_sandbox() {
    let failures = drift_cases(Bench::sandbox("truedrift").await).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Plain YAML naming no namespace: the sync puts it in the env's namespace, `diff` pairs it
/// with live (exit 0, no Missing or Extra), a hand edit is reported, and `sync --prune` keeps it.
async fn namespace_from_env(bench: Bench) -> Vec<String> {
    let ns = bench.ns.clone();
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {level: info}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: plain}\n";
    bench.commit(yaml, "objects without a namespace");
    bench.sync(&["--prune"]).await;
    let mut failures = Vec::new();
    let data = bench.live("configmap", "plain")["data"]["level"].clone();
    if data != "info" {
        failures.push(format!(
            "ConfigMap plain in {ns} after sync: data.level {data}"
        ));
    }
    let after = bench.diff().await;
    if after.code != Some(0) {
        failures.push(format!(
            "diff after sync exited {:?}:\n{}{}",
            after.code, after.stdout, after.stderr
        ));
    }
    bench.kubectl_ok(&[
        "-n",
        &ns,
        "patch",
        "configmap",
        "plain",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"level":"debug"}}"#,
    ]);
    let edited = bench.diff().await;
    if edited.code != Some(1) || !edited.stdout.contains("/data/level") {
        failures.push(format!(
            "diff after a hand edit exited {:?} without naming /data/level:\n{}{}",
            edited.code, edited.stdout, edited.stderr
        ));
    }
    bench.sync(&["--prune"]).await;
    for kind in ["configmap", "serviceaccount"] {
        let live = bench.kubectl(&["-n", &ns, "get", kind, "plain"]);
        if live.code != Some(0) {
            failures.push(format!(
                "{kind} plain is gone after sync --prune: {}",
                live.stderr
            ));
        }
    }
    let last = bench.diff().await;
    if last.code != Some(0) {
        failures.push(format!(
            "diff after the second sync exited {:?}:\n{}{}",
            last.code, last.stdout, last.stderr
        ));
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn objects_naming_no_namespace_pair_with_live_in_the_envs_on_the_real_server() {
    let failures = namespace_from_env(Bench::real("plainns")).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn objects_naming_no_namespace_pair_with_live_in_the_envs_on_the_sandbox() {
    let failures = namespace_from_env(Bench::sandbox("plainns").await).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
