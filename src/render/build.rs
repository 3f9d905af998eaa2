//! The native kustomize build: accumulate `resources:` (files and nested kustomizations),
//! apply `components:`, run generators, then the transformers in kustomize's order
//! (patchesStrategicMerge, patches, namespace, prefix/suffix, labels, annotations,
//! patchesJson6902, replicas, images, replacements, then `transformers:` configs). Each level's
//! `configurations` travel up with its resources. The top-level build then appends generator
//! hashes, rewrites name references once, as kustomize does ("must be done last, not as part
//! of the recursion"), drops local-config objects and sorts in kustomize's output order.
//!
//! Reads only through `FileSystem`; imports nothing from the crate outside `render`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::Error;
use super::config::{Config, FieldSpec};
use super::fs::{EntryKind, FileSystem, join};
use super::generator::{self, Source};
use super::kustomization::{GeneratorEntry, GeneratorOptions, Kustomization, PatchEntry};
use super::patch::{self, apply_smp_by_id, describe};
use super::replacement::{self, Replacement};
use super::resource::{Generated, Res};
use super::sort;
use super::target::Selector;
use super::transform;
use super::yaml;

pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of a folder, if it has one.
pub fn kustomization_file(fs: &dyn FileSystem, dir: &str) -> Option<String> {
    KUSTOMIZATION_FILES.iter().find_map(|f| {
        let p = join(dir, f).ok()?;
        (fs.kind(&p) == Some(EntryKind::File)).then_some(p)
    })
}

const MAX_DEPTH: usize = 64;

pub struct Builder<'a> {
    fs: &'a dyn FileSystem,
    stack: Vec<String>,
    pub inputs: BTreeSet<String>,
    /// The top-level kustomization's `sortOptions` (only that one counts).
    root_sort: Option<Value>,
    /// The kustomization that set `openapi:`, if any (see [`Builder::schema_guard`]).
    custom_schema: Option<String>,
    /// The first file whose strategic merge patch was applied, if any.
    smp_applied: Option<String>,
}

fn display(path: &str) -> &str {
    if path.is_empty() { "." } else { path }
}

impl<'a> Builder<'a> {
    pub fn new(fs: &'a dyn FileSystem) -> Self {
        Self {
            fs,
            stack: Vec::new(),
            inputs: BTreeSet::new(),
            root_sort: None,
            custom_schema: None,
            smp_applied: None,
        }
    }

    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, Error> {
        let bytes = self.fs.read(path)?;
        self.inputs.insert(path.to_owned());
        Ok(bytes)
    }

    pub fn read_text(&mut self, path: &str) -> Result<String, Error> {
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|_| Error::Invalid {
            path: path.to_owned(),
            message: "not UTF-8 text".into(),
        })
    }

    /// Parses the manifests of one file.
    pub fn objects(&mut self, path: &str) -> Result<Vec<Value>, Error> {
        let text = self.read_text(path)?;
        yaml::parse_objects(&text).map_err(|e| Error::yaml(path, &e))
    }

    /// Builds the kustomization in `dir` completely: what `kustomize build dir` prints.
    pub fn build_root(&mut self, dir: &str) -> Result<Vec<Res>, Error> {
        let (mut set, config) = self.build(dir)?;
        for r in set.iter_mut() {
            if r.generated.as_ref().is_some_and(|g| g.hash) {
                let name = format!("{}-{}", r.name(), generator::hash_suffix(&r.obj));
                r.set_name(&name);
            }
        }
        super::nameref::fix(&mut set, &config.name_reference);
        super::var::resolve(&mut set, &config.vars, &config.var_reference).map_err(|message| {
            Error::Kustomization {
                file: kustomization_file(self.fs, dir).unwrap_or_else(|| display(dir).to_owned()),
                message,
            }
        })?;
        // Objects marked local-config feed replacements and the like but are not output.
        set.retain(|r| {
            r.annotations()
                .and_then(|a| a.get("config.kubernetes.io/local-config"))
                .and_then(Value::as_str)
                != Some("true")
        });
        for r in set.iter_mut() {
            drop_empty_annotations(&mut r.obj);
        }
        let order = sort::Order::from_options(self.root_sort.as_ref()).map_err(|message| {
            Error::Kustomization {
                file: kustomization_file(self.fs, dir).unwrap_or_else(|| display(dir).to_owned()),
                message,
            }
        })?;
        sort::sort(&mut set, &order);
        Ok(set)
    }

    fn build(&mut self, dir: &str) -> Result<(Vec<Res>, Config), Error> {
        if let Some(pos) = self.stack.iter().position(|d| d == dir) {
            let mut chain: Vec<String> = self.stack[pos..]
                .iter()
                .map(|s| display(s).to_owned())
                .collect();
            chain.push(display(dir).to_owned());
            return Err(Error::Cycle(chain));
        }
        // Symlinked folders on disk can make an endless chain of distinct paths; no real repo
        // nests kustomizations this deep.
        if self.stack.len() >= MAX_DEPTH {
            return Err(Error::Invalid {
                path: display(dir).to_owned(),
                message: format!("kustomizations nested more than {MAX_DEPTH} deep"),
            });
        }
        let (file, k) = self.load(dir)?;
        // kustomize builds a Component folder given directly like a Kustomization.
        if k.kind.as_deref() == Some("Component") && !self.stack.is_empty() {
            return Err(Error::Kustomization {
                file,
                message: "a Component can only be listed under `components:`".into(),
            });
        }
        if self.stack.is_empty() {
            self.root_sort = k.sort_options.clone();
        }
        self.stack.push(dir.to_owned());
        let mut set = Vec::new();
        let mut config = Config::default();
        let result = self.accumulate(dir, &file, &k, &mut set, &mut config);
        self.stack.pop();
        result.map(|()| (set, config))
    }

    fn load(&mut self, dir: &str) -> Result<(String, Kustomization), Error> {
        let Some(file) = kustomization_file(self.fs, dir) else {
            return Err(Error::Invalid {
                path: display(dir).to_owned(),
                message: "no kustomization.yaml, kustomization.yml or Kustomization in this folder"
                    .into(),
            });
        };
        let text = self.read_text(&file)?;
        if is_empty_kustomization(&text) {
            return Err(Error::Kustomization {
                file,
                message: "kustomization.yaml is empty (kustomize refuses to build it)".into(),
            });
        }
        let k: Kustomization = {
            let mut o = yaml::options();
            // kustomize reads its own file with a parser where a repeated key's last value wins.
            o.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
            serde_saphyr::from_str_with_options(&text, o)
                .map_err(|e| Error::yaml(&file, &yaml::from_saphyr(&e)))?
        };
        if let Some(kind) = k.kind.as_deref()
            && kind != "Kustomization"
            && kind != "Component"
        {
            return Err(Error::Kustomization {
                file,
                message: format!("unknown kind {kind:?} (want Kustomization or Component)"),
            });
        }
        let unsupported = k.unsupported();
        if !unsupported.is_empty() {
            return Err(Error::Unsupported {
                file,
                what: unsupported.join(", "),
            });
        }
        Ok((file, k))
    }

    fn accumulate(
        &mut self,
        dir: &str,
        file: &str,
        k: &Kustomization,
        set: &mut Vec<Res>,
        config: &mut Config,
    ) -> Result<(), Error> {
        for entry in k.resources.iter().chain(&k.bases) {
            let (added, sub) = self.resource(dir, file, entry)?;
            if let Some(sub) = sub {
                config.merge(&sub);
                for v in sub.vars {
                    if config.vars.iter().any(|o| o.name == v.name) {
                        return Err(Error::Kustomization {
                            file: file.to_owned(),
                            message: format!("var {:?} already encountered", v.name),
                        });
                    }
                    config.vars.push(v);
                }
            }
            add_all_unique(set, added, file)?;
        }
        for entry in &k.components {
            let cdir = self.local(dir, file, entry)?;
            if self.fs.kind(&cdir) != Some(EntryKind::Dir) {
                return Err(Error::MissingResource {
                    from: file.to_owned(),
                    entry: entry.clone(),
                });
            }
            if self.stack.contains(&cdir) || self.stack.len() >= MAX_DEPTH {
                return Err(Error::Cycle(vec![
                    display(dir).to_owned(),
                    display(&cdir).to_owned(),
                ]));
            }
            let (cfile, ck) = self.load(&cdir)?;
            if ck.kind.as_deref() != Some("Component") {
                return Err(Error::Kustomization {
                    file: cfile,
                    message: "listed under `components:` but its kind is not Component".into(),
                });
            }
            self.stack.push(cdir.clone());
            let result = self.accumulate(&cdir, &cfile, &ck, set, config);
            self.stack.pop();
            result?;
        }
        for entry in &k.configurations {
            let path = self.local(dir, file, entry)?;
            let text = self.read_text(&path)?;
            let own = Config::parse(&text).map_err(|message| Error::Kustomization {
                file: path.clone(),
                message: format!("configurations: {message}"),
            })?;
            config.merge(&own);
        }
        if let Some(o) = &k.open_api {
            if let Some(p) = &o.path {
                let path = self.local(dir, file, p)?;
                let text = self.read_text(&path)?;
                let doc = yaml::parse_documents(&text).map_err(|e| Error::yaml(&path, &e))?;
                if doc.first().is_none_or(|d| d.get("definitions").is_none()) {
                    return Err(Error::Kustomization {
                        file: path,
                        message: "openapi: expected a schema with `definitions`".into(),
                    });
                }
            }
            self.custom_schema = Some(file.to_owned());
            self.schema_guard()?;
        }
        for entry in &k.crds {
            let path = self.local(dir, file, entry)?;
            let text = self.read_text(&path)?;
            let own = Config::from_crds(&text).map_err(|message| Error::Kustomization {
                file: path.clone(),
                message: format!("crds: {message}"),
            })?;
            config.merge(&own);
        }
        self.generators(dir, file, k, set)?;
        self.transformers(dir, file, k, set, config)?;
        super::var::bind(set, &mut config.vars, &k.vars).map_err(|message| Error::Kustomization {
            file: file.to_owned(),
            message,
        })
    }

    pub(super) fn local(&self, dir: &str, file: &str, entry: &str) -> Result<String, Error> {
        let remote =
            entry.contains("://") || entry.starts_with("github.com/") || entry.starts_with("git@");
        if remote {
            return Err(Error::Unsupported {
                file: file.to_owned(),
                what: format!("remote resource {entry:?}"),
            });
        }
        let path = join(dir, entry)?;
        // kustomize's load restrictor: a kustomization reads files only in or below its own
        // folder; another kustomization folder (`../base`) is built with its own root.
        let inside = dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"));
        if !inside && !entry.contains('\n') && self.fs.kind(&path) != Some(EntryKind::Dir) {
            return Err(Error::Kustomization {
                file: file.to_owned(),
                message: format!(
                    "security; file '{path}' is not in or below '{}' (kustomize's load restrictor)",
                    display(dir)
                ),
            });
        }
        Ok(path)
    }

    pub(super) fn resource(
        &mut self,
        dir: &str,
        file: &str,
        entry: &str,
    ) -> Result<(Vec<Res>, Option<Config>), Error> {
        let path = self.local(dir, file, entry)?;
        match self.fs.kind(&path) {
            Some(EntryKind::File) => {
                let text = self.read_text(&path)?;
                let objects = yaml::parse_objects(&text).map_err(|e| Error::yaml(&path, &e))?;
                let nulls = std::sync::Arc::new(super::resource::explicit_null_keys(&text));
                let set = objects
                    .into_iter()
                    .map(|o| {
                        let mut r = Res::new(o);
                        r.explicit_nulls = nulls.clone();
                        r
                    })
                    .collect();
                Ok((set, None))
            }
            Some(EntryKind::Dir) => self.build(&path).map(|(set, c)| (set, Some(c))),
            None => Err(Error::MissingResource {
                from: file.to_owned(),
                entry: entry.to_owned(),
            }),
        }
    }

    fn generators(
        &mut self,
        dir: &str,
        file: &str,
        k: &Kustomization,
        set: &mut Vec<Res>,
    ) -> Result<(), Error> {
        let global = k.generator_options.clone().unwrap_or_default();
        let all = k
            .config_map_generator
            .iter()
            .map(|g| (false, g))
            .chain(k.secret_generator.iter().map(|g| (true, g)));
        for (secret, g) in all {
            self.generator(dir, file, &global, secret, g, set)?;
        }
        for entry in &k.generators {
            for doc in self.plugin_docs(dir, file, entry)? {
                self.run_generator(dir, file, &doc, set)?;
            }
        }
        Ok(())
    }

    pub(super) fn generator(
        &mut self,
        dir: &str,
        file: &str,
        global: &GeneratorOptions,
        secret: bool,
        g: &GeneratorEntry,
        set: &mut Vec<Res>,
    ) -> Result<(), Error> {
        let kind = if secret { "Secret" } else { "ConfigMap" };
        let bad = |message: String| Error::Kustomization {
            file: file.to_owned(),
            message,
        };
        let name = g
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(format!("a {kind} generator needs a name")))?;
        let mut sources = Vec::new();
        for l in &g.literals {
            sources.push(Source::Literal(l.clone()));
        }
        for f in &g.files {
            let (key, rel) = match f.split_once('=') {
                Some((k, p)) => (k.to_owned(), p),
                None => (f.rsplit('/').next().unwrap_or(f).to_owned(), f.as_str()),
            };
            let path = self.local(dir, file, rel)?;
            let bytes = self.read(&path)?;
            sources.push(Source::File { key, bytes });
        }
        for e in g.envs.iter().chain(&g.env) {
            let path = self.local(dir, file, e)?;
            sources.push(Source::Env(self.read_text(&path)?));
        }
        let data =
            generator::collect(&sources).map_err(|m| bad(format!("{kind} {name:?}: {m}")))?;

        let per = g.options.clone().unwrap_or_default();
        let mut labels = global.labels.clone();
        labels.extend(per.labels.clone());
        let mut annotations = global.annotations.clone();
        annotations.extend(per.annotations.clone());
        let no_hash = global.disable_name_suffix_hash.unwrap_or(false)
            || per.disable_name_suffix_hash.unwrap_or(false);
        let immutable = per.immutable.or(global.immutable);

        // kustomize reads any behavior other than merge or replace (`add`, a typo) as create.
        let behavior = g
            .behavior
            .as_deref()
            .filter(|b| matches!(*b, "merge" | "replace"))
            .unwrap_or("create");
        if behavior == "create" {
            let mut meta = Map::new();
            meta.insert("name".into(), Value::String(name.clone()));
            if let Some(ns) = g.namespace.as_ref().filter(|n| !n.is_empty()) {
                meta.insert("namespace".into(), Value::String(ns.clone()));
            }
            if !labels.is_empty() {
                meta.insert("labels".into(), generator::string_map(&labels));
            }
            if !annotations.is_empty() {
                meta.insert("annotations".into(), generator::string_map(&annotations));
            }
            let mut obj = Map::new();
            obj.insert("apiVersion".into(), Value::String("v1".into()));
            obj.insert("kind".into(), Value::String(kind.into()));
            obj.insert("metadata".into(), Value::Object(meta));
            generator::fill(&mut obj, secret, &data);
            if secret {
                let t = g.kind.clone().unwrap_or_else(|| "Opaque".into());
                obj.insert("type".into(), Value::String(t));
            }
            if let Some(i) = immutable {
                obj.insert("immutable".into(), Value::Bool(i));
            }
            let mut r = Res::new(Value::Object(obj));
            r.generated = Some(Generated { hash: !no_hash });
            return add_unique(set, r, file);
        }
        let ns = g.namespace.clone().unwrap_or_default();
        let found = set.iter_mut().find(|r| {
            r.kind() == kind && r.had_name(&name) && (ns.is_empty() || r.had_namespace(&ns))
        });
        let Some(existing) = found else {
            return Err(bad(format!(
                "{kind} {name:?} has behavior {behavior} but no {kind} of that name is in the build"
            )));
        };
        let mut merged: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        if behavior == "merge" {
            merged = generator::existing_data(&existing.obj, secret);
        }
        merged.extend(data);
        if let Value::Object(obj) = &mut existing.obj {
            obj.remove("data");
            obj.remove("binaryData");
            generator::fill(obj, secret, &merged);
        }
        if !labels.is_empty() {
            transform::labels(std::slice::from_mut(existing), &labels, false, false, &[]);
        }
        transform::annotations(std::slice::from_mut(existing), &annotations, &[]);
        let hash = existing.generated.as_ref().is_none_or(|g| g.hash) && !no_hash;
        existing.generated = Some(Generated { hash });
        Ok(())
    }

    fn transformers(
        &mut self,
        dir: &str,
        file: &str,
        k: &Kustomization,
        set: &mut Vec<Res>,
        config: &Config,
    ) -> Result<(), Error> {
        self.strategic_merge(dir, file, &k.patches_strategic_merge, set)?;
        for p in &k.patches {
            self.patch(dir, file, p, set, false)?;
        }
        if let Some(ns) = k.namespace.as_deref().filter(|n| !n.is_empty()) {
            transform::namespace(set, ns, &config.namespace);
        }
        let prefix = k.name_prefix.as_deref().unwrap_or("");
        let suffix = k.name_suffix.as_deref().unwrap_or("");
        if !prefix.is_empty() || !suffix.is_empty() {
            transform::prefix_suffix(set, prefix, suffix);
        }
        transform::labels(set, &k.common_labels, true, true, &config.common_labels);
        for l in &k.labels {
            let custom: &[FieldSpec] = if l.include_selectors {
                &config.common_labels
            } else {
                &[]
            };
            transform::labels(
                set,
                &l.pairs,
                l.include_selectors,
                l.include_templates,
                custom,
            );
        }
        transform::annotations(set, &k.common_annotations, &config.common_annotations);
        for p in &k.patches_json6902 {
            self.patch(dir, file, p, set, true)?;
        }
        for r in &k.replicas {
            transform::replicas(set, &r.name, r.count);
        }
        transform::images(set, &k.images, &config.images);
        if !k.replacements.is_empty() {
            let mut all = Vec::new();
            for r in &k.replacements {
                match &r.path {
                    Some(p) => {
                        let path = self.local(dir, file, p)?;
                        let text = self.read_text(&path)?;
                        let docs =
                            yaml::parse_documents(&text).map_err(|e| Error::yaml(&path, &e))?;
                        for doc in docs {
                            let items = match doc {
                                Value::Array(items) => items,
                                one => vec![one],
                            };
                            for item in items {
                                let r: Replacement = serde_json::from_value(item).map_err(|e| {
                                    Error::Kustomization {
                                        file: path.clone(),
                                        message: format!("replacement: {e}"),
                                    }
                                })?;
                                all.push(r);
                            }
                        }
                    }
                    None => all.push(r.clone()),
                }
            }
            replacement::apply(set, &all).map_err(|message| Error::Kustomization {
                file: file.to_owned(),
                message,
            })?;
        }
        for entry in &k.transformers {
            for doc in self.plugin_docs(dir, file, entry)? {
                self.run_transformer(dir, file, &doc, set)?;
            }
        }
        Ok(())
    }

    /// `openapi:` changes how strategic merge patches merge lists of custom kinds. The native
    /// renderer merges with its built-in knowledge only, so a build that combines a custom
    /// schema with any strategic merge patch is refused (naming `openapi`) rather than merged
    /// differently from kustomize; without such patches the schema changes nothing.
    fn schema_guard(&self) -> Result<(), Error> {
        match (&self.custom_schema, &self.smp_applied) {
            (Some(file), Some(patch)) => Err(Error::Unsupported {
                file: file.clone(),
                what: format!(
                    "openapi (a custom schema together with the strategic merge patch in {patch})"
                ),
            }),
            _ => Ok(()),
        }
    }

    fn note_smp(&mut self, origin: &str) -> Result<(), Error> {
        if self.smp_applied.is_none() {
            self.smp_applied = Some(origin.to_owned());
        }
        self.schema_guard()
    }

    /// `patchesStrategicMerge` entries: files, or patches written inline.
    pub(super) fn strategic_merge(
        &mut self,
        dir: &str,
        file: &str,
        entries: &[String],
        set: &mut Vec<Res>,
    ) -> Result<(), Error> {
        for entry in entries {
            let (origin, text) = self.patch_text(dir, file, Some(entry), None)?;
            let docs = yaml::parse_documents(&text).map_err(|e| Error::yaml(&origin, &e))?;
            for doc in docs {
                if !doc.is_object() {
                    return Err(Error::Patch {
                        file: origin.clone(),
                        message: "a strategic merge patch must be a mapping".into(),
                    });
                }
                self.note_smp(&origin)?;
                apply_smp_by_id(set, &doc, &origin)?;
            }
        }
        Ok(())
    }

    fn patch_text(
        &mut self,
        dir: &str,
        file: &str,
        path: Option<&String>,
        inline: Option<&String>,
    ) -> Result<(String, String), Error> {
        match (path, inline) {
            (Some(p), None) => {
                let full = self.local(dir, file, p)?;
                if self.fs.kind(&full) == Some(EntryKind::File) {
                    Ok((full.clone(), self.read_text(&full)?))
                } else if p.contains('\n') || p.contains(": ") {
                    // patchesStrategicMerge also takes inline patches in place of paths.
                    Ok((file.to_owned(), p.clone()))
                } else {
                    Err(Error::MissingResource {
                        from: file.to_owned(),
                        entry: p.clone(),
                    })
                }
            }
            (None, Some(t)) => Ok((file.to_owned(), t.clone())),
            _ => Err(Error::Kustomization {
                file: file.to_owned(),
                message: "a patch needs exactly one of `path` and `patch`".into(),
            }),
        }
    }

    pub(super) fn patch(
        &mut self,
        dir: &str,
        file: &str,
        p: &PatchEntry,
        set: &mut Vec<Res>,
        json_only: bool,
    ) -> Result<(), Error> {
        let (origin, text) = self.patch_text(dir, file, p.path.as_ref(), p.patch.as_ref())?;
        let docs = yaml::parse_documents(&text).map_err(|e| Error::yaml(&origin, &e))?;
        if !json_only && docs.iter().any(Value::is_object) {
            self.note_smp(&origin)?;
        }
        let selector = p
            .target
            .as_ref()
            .map(Selector::new)
            .transpose()
            .map_err(|m| Error::Patch {
                file: origin.clone(),
                message: m,
            })?;
        patch::apply(set, &origin, &docs, selector.as_ref(), json_only)
    }
}

/// kustomize refuses a kustomization that sets nothing beyond `apiVersion` and `kind` (an
/// empty file, comments only, or fields left null); an explicit empty list (`resources: []`)
/// counts as set, as it does for kustomize. Text that does not parse is left to the parser's
/// own error.
fn is_empty_kustomization(text: &str) -> bool {
    match yaml::parse_documents(text) {
        Ok(docs) => docs.iter().all(|d| match d {
            Value::Null => true,
            Value::Object(m) => m
                .iter()
                .all(|(k, v)| k == "apiVersion" || k == "kind" || v.is_null()),
            _ => false,
        }),
        Err(_) => false,
    }
}

/// kustomize keeps its own bookkeeping annotations on every object while building and writes
/// the rest back at the end; an object left with none loses the field, so a null or empty
/// `metadata.annotations` never reaches the output.
fn drop_empty_annotations(obj: &mut Value) {
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        let empty = match meta.get("annotations") {
            Some(Value::Null) => true,
            Some(Value::Object(m)) => m.is_empty(),
            _ => false,
        };
        if empty {
            meta.remove("annotations");
        }
    }
}

pub(super) fn add_unique(set: &mut Vec<Res>, r: Res, file: &str) -> Result<(), Error> {
    let id = res_id(&r);
    if set.iter().any(|o| res_id(o) == id) {
        return Err(already_registered(&r, file));
    }
    set.push(r);
    Ok(())
}

/// [`add_unique`] for every resource of one entry, checked against one index of the ids
/// instead of a scan of the set per resource: a file of 1,000 resources was half a million
/// comparisons, most of a cold `status` over three such envs.
fn add_all_unique(set: &mut Vec<Res>, added: Vec<Res>, file: &str) -> Result<(), Error> {
    let mut ids: HashSet<(String, String, String, String)> =
        set.iter().map(|o| owned_id(res_id(o))).collect();
    for r in added {
        if !ids.insert(owned_id(res_id(&r))) {
            return Err(already_registered(&r, file));
        }
        set.push(r);
    }
    Ok(())
}

/// What makes a resource unique in a kustomization: kind, group, name, namespace.
fn res_id(r: &Res) -> (&str, &str, &str, &str) {
    (r.kind(), r.group(), r.name(), r.namespace())
}

fn owned_id(
    (kind, group, name, namespace): (&str, &str, &str, &str),
) -> (String, String, String, String) {
    (kind.into(), group.into(), name.into(), namespace.into())
}

fn already_registered(r: &Res, file: &str) -> Error {
    Error::Kustomization {
        file: file.to_owned(),
        message: format!(
            "may not add resource with an already registered id: {}",
            describe(r)
        ),
    }
}
