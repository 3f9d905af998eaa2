//! kustomize features of the native renderer, each from a small tree whose expected output was
//! checked against `kubectl kustomize` (v5.5): vars, generators, buildMetadata, JSON 6902
//! edge cases, objects without apiVersion, crds/openapi, the load restrictor and the empty
//! kustomization.

use driftdeck::render::{MemFs, Renderer, render};
use serde_json::{Value, json};

fn objects(fs: &MemFs, dir: &str) -> Vec<Value> {
    let r = render(fs, dir, &Renderer::Auto).unwrap_or_else(|e| panic!("render {dir}: {e}"));
    r.manifests.iter().map(|m| m.object().clone()).collect()
}

fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {objs:?}"))
}

fn error(fs: &MemFs, dir: &str) -> String {
    match render(fs, dir, &Renderer::Auto) {
        Ok(r) => panic!("expected an error, rendered {:?}", r.manifests),
        Err(e) => e.to_string(),
    }
}

const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {ports: [{port: 5432}]}\n";
const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: app, labels: {port: $(PORT), url: 'db://$(DB):$(PORT)'}}\nspec: {containers: [{name: c, image: x, args: [$(DB), $$(DB), $(OTHER)]}]}\n";

fn vars_tree() -> MemFs {
    MemFs::new()
        .with(
            "base/kustomization.yaml",
            "resources: [svc.yaml, pod.yaml]\nvars:\n- name: DB\n  objref: {kind: Service, name: db, apiVersion: v1}\n- name: PORT\n  objref: {kind: Service, name: db, version: v1}\n  fieldref: {fieldPath: 'spec.ports[0].port'}\n",
        )
        .with("base/svc.yaml", SVC)
        .with("base/pod.yaml", POD)
        .with("prod/kustomization.yaml", "resources: [../base]\nnamePrefix: prod-\n")
}

#[test]
fn vars_substitute_final_names_typed_values_and_escapes() {
    let objs = objects(&vars_tree(), "prod");
    let pod = find(&objs, "Pod");
    assert_eq!(pod["metadata"]["name"], "prod-app");
    // The var follows the Service through the overlay's prefix.
    assert_eq!(
        pod["spec"]["containers"][0]["args"],
        json!(["prod-db", "$(DB)", "$(OTHER)"])
    );
    // A whole-field reference keeps the number's type, as kustomize does.
    assert_eq!(pod["metadata"]["labels"]["port"], json!(5432));
    assert_eq!(pod["metadata"]["labels"]["url"], json!("db://prod-db:5432"));
}

#[test]
fn vars_that_match_nothing_or_repeat_are_errors() {
    let unbound = vars_tree().with(
        "base/kustomization.yaml",
        "resources: [svc.yaml, pod.yaml]\nvars:\n- name: DB\n  objref: {kind: Service, name: db}\n",
    );
    let e = error(&unbound, "prod");
    assert!(e.contains("var \"DB\" cannot be mapped"), "{e}");
    let twice = vars_tree().with(
        "prod/kustomization.yaml",
        "resources: [../base]\nvars:\n- name: DB\n  objref: {kind: Pod, name: app, apiVersion: v1}\n",
    );
    let e = error(&twice, "prod");
    assert!(e.contains("var \"DB\" already encountered"), "{e}");
}
