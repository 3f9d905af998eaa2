//! At home like the tools SREs already use: every argument has help text (walked over the clap
//! tree, so a new flag without help fails here), bash completions load and offer every verb,
//! zsh/fish scripts and the man page name every verb, and the binary works as a kubectl plugin
//! (`kubectl driftdeck …` through a `kubectl-driftdeck` link on PATH).

use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use driftdeck::cli::Cli;

use crate::controller_support::Deck;
use crate::sandbox_kubectl::kubectl_path;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_driftdeck")
}

fn verbs() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect()
}

fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "driftdeck {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `path` of every argument without help text, e.g. `driftdeck sync --prune`.
fn undocumented(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        if arg.get_help().is_none() && arg.get_long_help().is_none() {
            let name = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
            missing.push(format!("{path} {name}"));
        }
    }
    for sub in cmd.get_subcommands() {
        undocumented(sub, &format!("{path} {}", sub.get_name()), missing);
    }
}

#[test]
fn every_argument_of_every_verb_has_help_text() {
    let mut missing = Vec::new();
    undocumented(&Cli::command(), "driftdeck", &mut missing);
    assert!(
        missing.is_empty(),
        "arguments without help text: {missing:#?}"
    );
    // The walk reaches nested verbs (demo init DIR), so an empty result means something.
    let demo = Cli::command();
    let init = demo
        .find_subcommand("demo")
        .and_then(|d| d.find_subcommand("init"))
        .unwrap();
    assert_eq!(init.get_arguments().count(), 1);
}

#[test]
fn bash_completions_load_and_offer_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("driftdeck.bash");
    std::fs::write(&script, stdout_of(&["completions", "bash"])).unwrap();
    let probe = format!(
        r#"source {script}
complete -p driftdeck
COMP_WORDS=(driftdeck "") COMP_CWORD=1 COMP_LINE="driftdeck " COMP_POINT=10
_driftdeck driftdeck "" driftdeck
printf 'offered: %s\n' "${{COMPREPLY[@]}}""#,
        script = script.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let registered = stdout.lines().next().unwrap_or_default();
    assert!(
        registered.starts_with("complete ") && registered.ends_with(" driftdeck"),
        "complete -p driftdeck: {registered:?}"
    );
    let offered: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("offered: "))
        .collect();
    for verb in verbs() {
        assert!(
            offered.contains(&verb.as_str()),
            "bash does not offer {verb}: {offered:?}"
        );
    }
    for verb in ["doctor", "completions", "man", "sync", "promote"] {
        assert!(offered.contains(&verb), "{verb} missing: {offered:?}");
    }
}

#[test]
fn zsh_and_fish_completions_and_the_man_page_name_every_verb() {
    let zsh = stdout_of(&["completions", "zsh"]);
    assert!(
        zsh.starts_with("#compdef driftdeck"),
        "{}",
        &zsh[..zsh.len().min(200)]
    );
    let fish = stdout_of(&["completions", "fish"]);
    assert!(fish.contains("complete -c driftdeck"));
    let man = stdout_of(&["man"]);
    assert!(
        man.contains(".TH driftdeck 1"),
        "{}",
        &man[..man.len().min(200)]
    );
    for verb in verbs() {
        assert!(zsh.contains(&format!("'{verb}:")), "zsh lacks {verb}");
        assert!(
            fish.contains(&format!("-a \"{verb}\"")),
            "fish lacks {verb}"
        );
        assert!(man.contains(&verb), "the man page lacks {verb}");
    }
    let dir = tempfile::tempdir().unwrap();
    stdout_of(&["man", "--dir", dir.path().to_str().unwrap()]);
    for verb in verbs() {
        let page = dir.path().join(format!("driftdeck-{verb}.1"));
        assert!(page.exists(), "no page {}", page.display());
    }
    // The per-verb page carries the flag help (sync's --prune, say).
    let sync = std::fs::read_to_string(dir.path().join("driftdeck-sync.1")).unwrap();
    assert!(
        sync.contains("managed objects that Git no longer has"),
        "{sync}"
    );
}

#[tokio::test]
async fn kubectl_runs_driftdeck_as_a_plugin_from_path() {
    let deck = Deck::start(&[]).await;
    let bin_dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.path().join("kubectl-driftdeck")).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = deck.config().parent().unwrap().join("home");
    // tokio's Command: the sandbox serves from this test's runtime, which must not block.
    let kubectl = async |args: &[&str]| {
        tokio::process::Command::new(kubectl_path())
            .args(args)
            .env("PATH", &path)
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", Path::new(&home).join(".cache"))
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG")
            .output()
            .await
            .unwrap()
    };
    let plugins = kubectl(&["plugin", "list"]).await;
    assert!(
        String::from_utf8_lossy(&plugins.stdout).contains("kubectl-driftdeck"),
        "kubectl plugin list: {}{}",
        String::from_utf8_lossy(&plugins.stdout),
        String::from_utf8_lossy(&plugins.stderr)
    );
    let config = deck.config();
    let out = kubectl(&[
        "driftdeck",
        "status",
        "-o",
        "json",
        "--config",
        config.to_str().unwrap(),
    ])
    .await;
    assert!(
        out.status.success(),
        "kubectl driftdeck status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = status["environments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["dev", "staging", "production"]);
}
