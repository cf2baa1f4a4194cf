//! The application gallery: preintegrated apps ("Browse Microsoft Entra Gallery"), each kept as a data
//! file in `gallery/<id>.json` and reviewed like code. An entry says who publishes the app, what it
//! provisions (users, groups), the target's compatibility profile (PATCH or PUT, rate limit, member
//! batch size, …) and its preconfigured mappings and attribute lists, in a compact form that
//! [`mappings`] turns into [`AppMappings`]. `generic-scim` is "Create your own application": Entra's
//! default mapping for a SCIM 2.0 app, the same as [`AppMappings::default`].
//!
//! Pure (no I/O): the files are compiled in with `include_str!` and parsed once, so the portal can show
//! the gallery from the same data in the browser.
//!
//! ## The file format
//! The [`GalleryEntry`] fields (camelCase), plus `mappings`:
//! ```json
//! "mappings": {
//!   "user":  { "attributes": [ … ], "schema": [ … ] },
//!   "group": { "attributes": [ … ], "schema": [ … ] }
//! }
//! ```
//! An attribute mapping is `{ "target": "<SCIM path>", "source": "[mail]" | "<expression>",
//! "constant": "<value>", "default": "<value if null>", "matching": <precedence>,
//! "apply": "always" | "createOnly", "required": true }`: a `source` that is one `[attribute]` is a
//! Direct mapping, any other `source` an Expression, `constant` a Constant, and neither a None mapping.
//! A schema row is `{ "name": "<SCIM path>", "type": "String", "required": true, "multi": true,
//! "exactCase": true, "primaryKey": true, "reference": "User" }` (type String unless said; `reference`
//! makes it a Reference). Without a `group` block (an app that provisions users only) the group mapping
//! is Entra's default one, disabled. Unknown fields are refused, with the field named.

use crate::apps::{AppMappings, CompatProfile};
use crate::mapping::defaults::{default_group_mapping, scim_group_schema};
use crate::mapping::target_schema::{CORE_GROUP, CORE_USER};
use crate::mapping::{
    ApplyOn, AttributeMapping, MappingType, ObjectMapping, ObjectType, TargetActions, TargetAttribute, TargetSchema, TargetType,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// One preintegrated application of the gallery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryEntry {
    /// Stable id, the file's name (`slack` for `gallery/slack.json`) and an app's `template`.
    pub id: String,
    /// The application's name.
    pub name: String,
    /// Who makes it.
    pub publisher: String,
    /// A gallery category ("Collaboration", "Developer tools", …).
    pub category: String,
    /// One or two sentences on what the app is and what is provisioned.
    pub description: String,
    /// Path of its logo under public/, e.g. "/gallery/slack.svg".
    pub logo: String,
    /// Whether users are provisioned.
    pub users: bool,
    /// Whether groups (and their members) are provisioned.
    pub groups: bool,
    /// The vendor's SCIM documentation URL.
    pub docs_url: String,
    /// What an admin should know (limits, quirks), short sentences.
    pub notes: Vec<String>,
    /// The target's compatibility profile.
    pub profile: CompatProfile,
}

/// A problem in a gallery data file: the file (its id), the field (a JSON path such as
/// `mappings.user.attributes[2].source`) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GalleryError {
    /// The file's id (`slack` for `gallery/slack.json`).
    pub file: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for GalleryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gallery/{}.json, {}: {}", self.file, self.field, self.message)
    }
}

impl std::error::Error for GalleryError {}

/// The data files, by id (= file name without `.json`).
macro_rules! gallery_files {
    ($($id:literal),* $(,)?) => {
        &[$(($id, include_str!(concat!("../gallery/", $id, ".json")))),*]
    };
}

/// Every gallery file, compiled in. Add a new file here too.
pub const FILES: &[(&str, &str)] = gallery_files![
    "1password",
    "asana",
    "atlassian-cloud",
    "aws-iam-identity-center",
    "databricks",
    "figma",
    "generic-scim",
    "github-emu",
    "miro",
    "notion",
    "slack",
    "snowflake",
    "webex",
    "zoom",
];

/// A gallery file as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EntryFile {
    id: String,
    name: String,
    publisher: String,
    category: String,
    description: String,
    logo: String,
    users: bool,
    groups: bool,
    docs_url: String,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    profile: serde_json::Map<String, serde_json::Value>,
    mappings: MappingsFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingsFile {
    user: ObjectFile,
    #[serde(default)]
    group: Option<ObjectFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ObjectFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    actions: Option<TargetActions>,
    attributes: Vec<AttributeFile>,
    schema: Vec<SchemaFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttributeFile {
    target: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    constant: Option<String>,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    matching: Option<u32>,
    #[serde(default)]
    apply: Option<ApplyFile>,
    #[serde(default)]
    required: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum ApplyFile {
    Always,
    CreateOnly,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SchemaFile {
    name: String,
    #[serde(default, rename = "type")]
    attr_type: Option<TargetType>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    multi: bool,
    #[serde(default)]
    exact_case: bool,
    #[serde(default)]
    primary_key: bool,
    #[serde(default)]
    reference: Option<String>,
}

/// The source attribute of a Direct mapping: `[mail]` → `mail`; anything else is an expression.
fn direct_source(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(inner)
}

fn attribute(field: &str, a: AttributeFile) -> Result<AttributeMapping, (String, String)> {
    let mut m = match (a.source, a.constant) {
        (Some(_), Some(_)) => return Err((format!("{field}.constant"), "give either source or constant, not both".to_string())),
        (Some(s), None) => match direct_source(&s) {
            Some(name) => AttributeMapping::direct(name, &a.target),
            None => AttributeMapping::expression(&s, &a.target),
        },
        (None, Some(c)) => AttributeMapping::constant(&c, &a.target),
        (None, None) => AttributeMapping::none(&a.target),
    };
    if let Some(p) = a.matching {
        m = m.match_with(p);
    }
    if let Some(d) = a.default {
        m = m.with_default(&d);
    }
    if matches!(a.apply, Some(ApplyFile::CreateOnly)) {
        m.apply_on = ApplyOn::CreateOnly;
    }
    m.required = a.required;
    Ok(m)
}

fn schema_row(s: SchemaFile) -> TargetAttribute {
    let mut t = match s.reference {
        Some(object) => TargetAttribute::reference(&s.name, &object),
        None => TargetAttribute::new(&s.name, s.attr_type.unwrap_or(TargetType::String)),
    };
    if let (Some(ty), Some(_)) = (s.attr_type, &t.referenced_object) {
        t.attr_type = ty;
    }
    t.required = s.required;
    t.multi_valued = s.multi;
    t.exact_case = s.exact_case;
    t.primary_key = s.primary_key;
    t
}

fn object(prefix: &str, object: ObjectType, f: ObjectFile) -> Result<(ObjectMapping, TargetSchema), (String, String)> {
    let (default_name, target_object) = match object {
        ObjectType::User => ("Provision users", CORE_USER),
        ObjectType::Group => ("Provision groups", CORE_GROUP),
    };
    let attributes = f
        .attributes
        .into_iter()
        .enumerate()
        .map(|(i, a)| attribute(&format!("{prefix}.attributes[{i}]"), a))
        .collect::<Result<Vec<_>, _>>()?;
    let mapping = ObjectMapping {
        name: f.name.unwrap_or_else(|| default_name.to_string()),
        enabled: true,
        source_object: object,
        target_object: target_object.to_string(),
        actions: f.actions.unwrap_or_default(),
        scope: Vec::new(),
        attributes,
    };
    Ok((mapping, TargetSchema { object, attributes: f.schema.into_iter().map(schema_row).collect() }))
}

/// Parses one gallery file (`id` is its file name without `.json`): the entry and its mappings.
/// Unknown fields, a profile field that [`CompatProfile`] doesn't have, an id that differs from the
/// file name and a `groups` flag that disagrees with the group block are refused.
pub fn parse_file(id: &str, text: &str) -> Result<(GalleryEntry, AppMappings), GalleryError> {
    let err = |field: &str, message: String| GalleryError { file: id.to_string(), field: field.to_string(), message };
    let f: EntryFile = serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let field = msg.split('`').nth(1).filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field")).unwrap_or("");
        err(field, msg.clone())
    })?;
    if f.id != id {
        return Err(err("id", format!("is '{}' but the file is gallery/{id}.json; they must be the same", f.id)));
    }
    let known = serde_json::to_value(CompatProfile::default()).unwrap_or_default();
    if let Some(k) = f.profile.keys().find(|k| known.get(k.as_str()).is_none()) {
        return Err(err(&format!("profile.{k}"), "is not a profile field".to_string()));
    }
    let profile: CompatProfile = serde_json::from_value(serde_json::Value::Object(f.profile)).map_err(|e| err("profile", e.to_string()))?;
    if f.groups != f.mappings.group.is_some() {
        return Err(err("groups", "must be true exactly when mappings.group is given".to_string()));
    }
    let (user, user_schema) = object("mappings.user", ObjectType::User, f.mappings.user).map_err(|(fd, m)| err(&fd, m))?;
    let (group, group_schema) = match f.mappings.group {
        Some(g) => object("mappings.group", ObjectType::Group, g).map_err(|(fd, m)| err(&fd, m))?,
        None => (ObjectMapping { enabled: false, ..default_group_mapping() }, scim_group_schema()),
    };
    let entry = GalleryEntry {
        id: f.id,
        name: f.name,
        publisher: f.publisher,
        category: f.category,
        description: f.description,
        logo: f.logo,
        users: f.users,
        groups: f.groups,
        docs_url: f.docs_url,
        notes: f.notes,
        profile,
    };
    Ok((entry, AppMappings { user, user_schema, group, group_schema }))
}

struct Gallery {
    entries: Vec<GalleryEntry>,
    mappings: Vec<AppMappings>,
}

fn gallery() -> &'static Gallery {
    static GALLERY: OnceLock<Gallery> = OnceLock::new();
    GALLERY.get_or_init(|| {
        let mut all: Vec<(GalleryEntry, AppMappings)> = FILES
            .iter()
            // The files are compiled in and checked by this module's tests, so a bad one is a build defect.
            .map(|(id, text)| parse_file(id, text).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        all.sort_by(|a, b| a.0.name.to_lowercase().cmp(&b.0.name.to_lowercase()).then_with(|| a.0.id.cmp(&b.0.id)));
        let (entries, mappings) = all.into_iter().unzip();
        Gallery { entries, mappings }
    })
}

/// Every gallery entry, sorted by name, "Create your own application" (`generic-scim`) included.
pub fn entries() -> &'static [GalleryEntry] {
    &gallery().entries
}

/// The entry with this id.
pub fn get(id: &str) -> Option<&'static GalleryEntry> {
    entries().iter().find(|e| e.id == id)
}

/// The ids of every entry, sorted (for "valid values" in error messages).
pub fn ids() -> Vec<&'static str> {
    let mut ids: Vec<&str> = entries().iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids
}

/// The entries whose name, publisher, category or description contains `q` (case-insensitive); a
/// blank `q` gives every entry. Sorted by name.
pub fn search(q: &str) -> Vec<&'static GalleryEntry> {
    let q = q.trim().to_lowercase();
    entries()
        .iter()
        .filter(|e| q.is_empty() || [&e.name, &e.publisher, &e.category, &e.description].iter().any(|f| f.to_lowercase().contains(&q)))
        .collect()
}

/// The entry's preconfigured mappings and target attribute lists.
pub fn mappings(id: &str) -> Option<AppMappings> {
    let g = gallery();
    g.entries.iter().position(|e| e.id == id).map(|i| g.mappings[i].clone())
}

/// The mapping type a file's attribute mapping becomes (for tests and tooling).
pub fn mapping_type_of(source: Option<&str>, constant: Option<&str>) -> MappingType {
    match (source, constant) {
        (Some(s), _) if direct_source(s).is_some() => MappingType::Direct,
        (Some(_), _) => MappingType::Expression,
        (None, Some(_)) => MappingType::Constant,
        (None, None) => MappingType::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::GENERIC_SCIM_TEMPLATE;
    use crate::mapping::validate;

    #[test]
    fn every_file_parses_with_its_id_as_file_name() {
        for (id, text) in FILES {
            let (e, _) = parse_file(id, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&e.id, id);
        }
        let mut ids: Vec<&str> = FILES.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FILES.len(), "duplicate ids in FILES");
        assert_eq!(ids, super::ids());
    }

    #[test]
    fn every_data_file_is_listed_and_there_are_at_least_13() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gallery");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
            .collect();
        on_disk.sort();
        assert_eq!(on_disk, super::ids(), "gallery/*.json and FILES must list the same apps");
        assert!(entries().len() >= 13, "the gallery has {} entries", entries().len());
        assert!(entries().iter().filter(|e| e.id != GENERIC_SCIM_TEMPLATE).count() >= 12);
    }

    #[test]
    fn entries_are_sorted_by_name_and_include_generic_scim() {
        let names: Vec<String> = entries().iter().map(|e| e.name.to_lowercase()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(get(GENERIC_SCIM_TEMPLATE).is_some());
        assert!(get("no-such-app").is_none());
        assert!(mappings("no-such-app").is_none());
    }

    #[test]
    fn generic_scim_is_entras_default_mapping() {
        assert_eq!(mappings(GENERIC_SCIM_TEMPLATE).unwrap(), AppMappings::default());
        assert_eq!(get(GENERIC_SCIM_TEMPLATE).unwrap().profile, CompatProfile::default());
    }

    #[test]
    fn every_entry_compiles_validates_and_agrees_with_its_flags() {
        for e in entries() {
            let m = mappings(&e.id).unwrap();
            assert_eq!(e.profile.validate(), [], "{}: profile", e.id);
            assert_eq!(m.user_schema.validate(), [], "{}: user schema", e.id);
            assert_eq!(m.group_schema.validate(), [], "{}: group schema", e.id);
            assert_eq!(validate(&m.user, &m.user_schema), [], "{}: user mapping", e.id);
            assert_eq!(validate(&m.group, &m.group_schema), [], "{}: group mapping", e.id);
            if let Err(errs) = m.compile() {
                panic!("{}: {errs:?}", e.id);
            }
            assert!(e.users && m.user.enabled, "{}: every gallery app provisions users", e.id);
            assert_eq!(e.groups, m.group.enabled, "{}: groups flag vs group mapping", e.id);
            assert!(m.user.attributes.iter().any(|a| a.matching), "{}: the user mapping needs a matching attribute", e.id);
            if e.groups {
                assert!(m.group.attributes.iter().any(|a| a.matching), "{}: the group mapping needs a matching attribute", e.id);
            }
        }
    }

    #[test]
    fn entries_are_complete() {
        for e in entries() {
            for (field, v) in [("name", &e.name), ("publisher", &e.publisher), ("category", &e.category), ("description", &e.description)] {
                assert!(!v.trim().is_empty(), "{}: {field} is empty", e.id);
            }
            assert!(e.docs_url.starts_with("https://"), "{}: docsUrl", e.id);
            assert_eq!(e.logo, format!("/gallery/{}.svg", e.id), "{}: logo", e.id);
            assert!(e.notes.iter().all(|n| !n.trim().is_empty() && n.len() <= 300), "{}: notes are short sentences", e.id);
        }
    }

    #[test]
    fn every_logo_is_a_small_self_contained_svg() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("public");
        for e in entries() {
            let path = root.join(e.logo.trim_start_matches('/'));
            let svg = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {}: {err}", e.id, path.display()));
            assert!(svg.len() < 2048, "{}: logo is {} bytes (limit 2 KiB)", e.id, svg.len());
            assert!(svg.trim_start().starts_with("<svg"), "{}: logo must start with <svg", e.id);
            assert!(svg.contains(r#"viewBox="0 0 48 48""#), "{}: logo viewBox must be 0 0 48 48", e.id);
            assert!(svg.contains("<title>"), "{}: logo needs a <title>", e.id);
            for bad in ["href", "<script", "<image", "url(", "@import", "<foreignObject"] {
                assert!(!svg.contains(bad), "{}: logo must not contain {bad}", e.id);
            }
        }
    }

    #[test]
    fn search_is_case_insensitive_on_name_publisher_category_and_description() {
        assert!(search("SLACK").iter().any(|e| e.id == "slack"));
        assert!(search("github").iter().any(|e| e.id == "github-emu"));
        let slack = get("slack").unwrap();
        assert!(search(&slack.publisher.to_uppercase()).iter().any(|e| e.id == "slack"));
        assert!(search(&slack.category.to_lowercase()).iter().any(|e| e.id == "slack"));
        assert_eq!(search("").len(), entries().len());
        assert_eq!(search("  "), entries().iter().collect::<Vec<_>>());
        assert!(search("zzzz-nothing-matches").is_empty());
    }

    #[test]
    fn the_compact_form_is_strict_and_names_the_field() {
        let good = FILES.iter().find(|(id, _)| *id == "slack").unwrap().1;
        let mut v: serde_json::Value = serde_json::from_str(good).unwrap();
        v["colour"] = "red".into();
        let e = parse_file("slack", &v.to_string()).unwrap_err();
        assert_eq!(e.field, "colour");
        let mut v: serde_json::Value = serde_json::from_str(good).unwrap();
        v["profile"]["usePatch"] = true.into();
        assert_eq!(parse_file("slack", &v.to_string()).unwrap_err().field, "profile.usePatch");
        assert_eq!(parse_file("other", good).unwrap_err().field, "id");
        let mut v: serde_json::Value = serde_json::from_str(good).unwrap();
        v["mappings"]["user"]["attributes"][0]["constant"] = "x".into();
        assert_eq!(parse_file("slack", &v.to_string()).unwrap_err().field, "mappings.user.attributes[0].constant");
        let mut v: serde_json::Value = serde_json::from_str(good).unwrap();
        v["groups"] = false.into();
        assert_eq!(parse_file("slack", &v.to_string()).unwrap_err().field, "groups");
    }

    #[test]
    fn sources_become_direct_expression_constant_or_none() {
        assert_eq!(mapping_type_of(Some("[mail]"), None), MappingType::Direct);
        assert_eq!(mapping_type_of(Some(r#"Join(" ", [givenName], [surname])"#), None), MappingType::Expression);
        assert_eq!(mapping_type_of(Some("[a] & [b]"), None), MappingType::Expression);
        assert_eq!(mapping_type_of(None, Some("x")), MappingType::Constant);
        assert_eq!(mapping_type_of(None, None), MappingType::None);
    }

    #[test]
    fn users_only_apps_keep_a_disabled_default_group_mapping() {
        for e in entries().iter().filter(|e| !e.groups) {
            let m = mappings(&e.id).unwrap();
            assert!(!m.group.enabled);
            assert_eq!(m.group.attributes, default_group_mapping().attributes);
        }
    }
}
