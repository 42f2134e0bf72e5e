//! The cases of the shared catalog suite, each written against `Catalog` only.

use berth_storage::{
    ComponentDefinition, ConfigUpdate, NewConfig, NewConfigRow, RowUpdate, State, StorageError,
};
use serde_json::json;

use crate::backends::Backend;

fn definition(text: &str) -> ComponentDefinition {
    ComponentDefinition::from_json(text).unwrap()
}

fn component(id: &str) -> ComponentDefinition {
    definition(&format!(r#"{{"id": "{id}", "image": "x.wasm"}}"#))
}

fn row(id: Option<&str>, name: &str) -> NewConfigRow {
    NewConfigRow {
        id: id.map(str::to_owned),
        name: name.into(),
        configuration: json!({"parameters": {"row": name}}),
        ..NewConfigRow::default()
    }
}

fn new_config(id: Option<&str>) -> NewConfig {
    NewConfig {
        id: id.map(str::to_owned),
        name: "Main".into(),
        description: "the main one".into(),
        configuration: json!({"parameters": {"b": 2, "a": [1, "x"]}}),
        ..NewConfig::default()
    }
}

fn state(value: serde_json::Value) -> State {
    serde_json::from_value(json!({"component": value})).unwrap()
}

pub(super) fn components_are_registered_replaced_listed_and_removed(b: &mut Backend) {
    let c = &mut b.storage;
    assert!(!c.add_component(&component("keboola.b")).unwrap());
    assert!(!c.add_component(&component("Keboola.a")).unwrap());
    let replaced = definition(
        r#"{"id": "keboola.b", "image": "y.wasm", "memory": "64m",
            "image_parameters": {"url": "u", "nested": {"a": 1}},
            "stack_parameters": {"eu": {"nested": {"b": 2}}}}"#,
    );
    assert!(c.add_component(&replaced).unwrap(), "a second add replaces");
    assert_eq!(c.component("keboola.b").unwrap(), replaced);
    let ids: Vec<String> = c
        .list_components()
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["Keboola.a", "keboola.b"], "ordered byte by byte");
    assert_eq!(
        serde_json::Value::Object(c.image_parameters_for_stack("keboola.b", "eu").unwrap()),
        json!({"url": "u", "nested": {"a": 1, "b": 2}})
    );
    let error = c.update_component(&component("nope.x")).unwrap_err();
    assert!(
        matches!(error, StorageError::ComponentNotFound { .. }),
        "{error:?}"
    );
    c.update_component(&component("keboola.b")).unwrap();
    assert_eq!(c.component("keboola.b").unwrap().image, "x.wasm");
    // A component with configurations goes only when forced, with them.
    for id in ["1", "2"] {
        c.create_config("keboola.b", &new_config(Some(id))).unwrap();
    }
    let error = c.delete_component("keboola.b", false).unwrap_err();
    assert!(
        matches!(error, StorageError::ComponentInUse { configs: 2, .. }),
        "{error:?}"
    );
    assert!(error.is_user_error());
    assert_eq!(c.list_configs("keboola.b").unwrap().len(), 2);
    assert_eq!(c.delete_component("keboola.b", true).unwrap(), 2);
    assert!(matches!(
        c.component("keboola.b").unwrap_err(),
        StorageError::ComponentNotFound { .. }
    ));
    // Registered again, it starts without configurations.
    c.add_component(&component("keboola.b")).unwrap();
    assert!(c.list_configs("keboola.b").unwrap().is_empty());
    assert_eq!(c.delete_component("Keboola.a", false).unwrap(), 0);
}

pub(super) fn configurations_keep_their_rows_in_order_and_count_versions(b: &mut Backend) {
    let c = &mut b.storage;
    c.add_component(&component("a.b")).unwrap();
    let id = c
        .create_config(
            "a.b",
            &NewConfig {
                rows: vec![row(Some("second-by-name"), "one"), row(None, "two")],
                ..new_config(None)
            },
        )
        .unwrap();
    assert!(id.parse::<u64>().is_ok(), "a generated id is numeric: {id}");
    let config = c.config("a.b", &id).unwrap();
    assert_eq!(config.version, 1);
    assert_eq!(
        (config.name.as_str(), config.description.as_str()),
        ("Main", "the main one")
    );
    assert_eq!(
        config.configuration,
        json!({"parameters": {"b": 2, "a": [1, "x"]}})
    );
    assert_eq!(config.state, State::default());
    let names: Vec<&str> = config.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    assert_eq!(config.rows[0].id, "second-by-name");
    let generated_row = config.rows[1].id.clone();

    let updated = c
        .update_config(
            "a.b",
            &id,
            &ConfigUpdate {
                name: Some("Renamed".into()),
                is_disabled: Some(true),
                ..ConfigUpdate::default()
            },
        )
        .unwrap();
    assert_eq!((updated.name.as_str(), updated.version), ("Renamed", 2));
    assert!(updated.is_disabled);
    assert_eq!(
        updated.description, "the main one",
        "what is not updated is kept"
    );
    let added = c.add_row("a.b", &id, &row(None, "three")).unwrap();
    assert_eq!(added.name, "three");
    let changed = c
        .update_row(
            "a.b",
            &id,
            &generated_row,
            &RowUpdate {
                configuration: Some(json!({"parameters": {"changed": true}})),
                is_disabled: Some(true),
                ..RowUpdate::default()
            },
        )
        .unwrap();
    assert!(changed.is_disabled);
    assert_eq!(changed.name, "two");
    c.delete_row("a.b", &id, "second-by-name").unwrap();
    c.set_state("a.b", &id, None, &state(json!({"cursor": 5})))
        .unwrap();
    c.set_state("a.b", &id, Some(&added.id), &state(json!({"row": "x"})))
        .unwrap();
    let config = c.config("a.b", &id).unwrap();
    assert_eq!(config.version, 7, "every change counts, state included");
    let names: Vec<&str> = config.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["two", "three"]);
    assert_eq!(
        c.state("a.b", &id, None).unwrap(),
        state(json!({"cursor": 5}))
    );
    assert_eq!(
        c.state("a.b", &id, Some(&added.id)).unwrap(),
        state(json!({"row": "x"}))
    );
    assert_eq!(
        c.row("a.b", &id, &added.id).unwrap().state,
        state(json!({"row": "x"}))
    );
    // Listed by id, byte by byte.
    c.create_config("a.b", &new_config(Some("Z"))).unwrap();
    c.create_config("a.b", &new_config(Some("a"))).unwrap();
    let ids: Vec<String> = c
        .list_configs("a.b")
        .unwrap()
        .into_iter()
        .map(|config| config.id)
        .collect();
    let mut expected = vec![id.clone(), "Z".to_owned(), "a".to_owned()];
    expected.sort();
    assert_eq!(ids, expected);
    c.delete_config("a.b", &id).unwrap();
    assert_eq!(c.list_configs("a.b").unwrap().len(), 2);
}

pub(super) fn bad_documents_and_ids_are_refused_and_change_nothing(b: &mut Backend) {
    let c = &mut b.storage;
    c.add_component(&component("a.b")).unwrap();
    c.create_config("a.b", &new_config(Some("main"))).unwrap();
    let invalid = |error: StorageError, needle: &str| {
        assert!(
            matches!(error, StorageError::InvalidConfig { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(needle), "{error}");
        assert!(error.is_user_error());
    };
    invalid(
        c.create_config("a.b", &new_config(Some("no spaces")))
            .unwrap_err(),
        "must be 1 to 64 letters",
    );
    invalid(
        c.create_config(
            "a.b",
            &NewConfig {
                configuration: json!(["not", "an", "object"]),
                ..new_config(None)
            },
        )
        .unwrap_err(),
        "must be a JSON object",
    );
    invalid(
        c.create_config(
            "a.b",
            &NewConfig {
                rows: vec![row(Some("r"), "one"), row(Some("r"), "two")],
                ..new_config(Some("dupes"))
            },
        )
        .unwrap_err(),
        "row \"r\" appears more than once",
    );
    let error = c
        .create_config("a.b", &new_config(Some("main")))
        .unwrap_err();
    assert!(
        matches!(error, StorageError::ConfigExists { .. }),
        "{error:?}"
    );
    invalid(
        c.update_config(
            "a.b",
            "main",
            &ConfigUpdate {
                configuration: Some(json!("text")),
                ..ConfigUpdate::default()
            },
        )
        .unwrap_err(),
        "must be a JSON object",
    );
    invalid(
        c.add_row("a.b", "main", &row(Some("../x"), "bad"))
            .unwrap_err(),
        "must be 1 to 64 letters",
    );
    c.add_row("a.b", "main", &row(Some("r1"), "one")).unwrap();
    let error = c
        .add_row("a.b", "main", &row(Some("r1"), "again"))
        .unwrap_err();
    assert!(
        matches!(error, StorageError::ConfigRowExists { .. }),
        "{error:?}"
    );
    // Nothing above was kept: one configuration, one row, one successful change.
    let ids: Vec<String> = c
        .list_configs("a.b")
        .unwrap()
        .into_iter()
        .map(|config| config.id)
        .collect();
    assert_eq!(ids, ["main"]);
    let main = c.config("a.b", "main").unwrap();
    assert_eq!((main.version, main.rows.len()), (2, 1));
    // A configuration of a component nobody registered.
    let error = c.create_config("nope.x", &new_config(None)).unwrap_err();
    assert!(
        matches!(error, StorageError::ComponentNotFound { .. }),
        "{error:?}"
    );
}

pub(super) fn missing_components_configurations_and_rows_are_named(b: &mut Backend) {
    let c = &mut b.storage;
    c.add_component(&component("a.b")).unwrap();
    c.create_config("a.b", &new_config(Some("main"))).unwrap();
    for error in [
        c.config("nope.x", "main").unwrap_err(),
        c.list_configs("nope.x").unwrap_err(),
        c.delete_config("nope.x", "main").unwrap_err(),
        c.component("nope\0x").unwrap_err(),
    ] {
        assert!(
            matches!(error, StorageError::ComponentNotFound { .. }),
            "{error:?}"
        );
    }
    for error in [
        c.config("a.b", "other").unwrap_err(),
        c.delete_config("a.b", "other").unwrap_err(),
        c.add_row("a.b", "other", &row(None, "x")).unwrap_err(),
        c.set_state("a.b", "other", None, &State::default())
            .unwrap_err(),
        c.config("a.b", "nul\0").unwrap_err(),
    ] {
        assert!(
            matches!(error, StorageError::ConfigNotFound { .. }),
            "{error:?}"
        );
        assert!(error.is_user_error());
    }
    for error in [
        c.row("a.b", "main", "r").unwrap_err(),
        c.delete_row("a.b", "main", "r").unwrap_err(),
        c.update_row("a.b", "main", "r", &RowUpdate::default())
            .unwrap_err(),
        c.state("a.b", "main", Some("r")).unwrap_err(),
        c.set_state("a.b", "main", Some("r"), &State::default())
            .unwrap_err(),
    ] {
        assert!(
            matches!(error, StorageError::ConfigRowNotFound { .. }),
            "{error:?}"
        );
    }
    assert_eq!(
        c.config("a.b", "main").unwrap().version,
        1,
        "no failed change counted"
    );
}

/// Replaces every `"old"` in `value` by `"new"`; whether anything changed.
fn swap_old(value: &mut serde_json::Value) -> bool {
    let text = value.to_string();
    if !text.contains("\"old\"") {
        return false;
    }
    *value = serde_json::from_str(&text.replace("\"old\"", "\"new\"")).unwrap();
    true
}

pub(super) fn documents_are_rewritten_all_or_nothing(b: &mut Backend) {
    let c = &mut b.storage;
    c.add_component(&definition(
        r##"{"id": "c", "image": "x.wasm", "image_parameters": {"#k": "old"}}"##,
    ))
    .unwrap();
    let new = NewConfig {
        id: Some("1".into()),
        configuration: json!({"parameters": {"#k": "old"}}),
        rows: vec![NewConfigRow {
            id: Some("r".into()),
            configuration: json!({"parameters": {"#k": "old"}}),
            ..NewConfigRow::default()
        }],
        ..NewConfig::default()
    };
    c.create_config("c", &new).unwrap();
    c.set_state("c", "1", None, &state(json!({"#s": "old"})))
        .unwrap();
    let version = c.config("c", "1").unwrap().version;

    // A rewrite that gives up stores nothing, not even what it changed before.
    let mut calls = 0;
    let err = c
        .rewrite_documents(&mut |_, value| {
            calls += 1;
            if calls == 4 {
                return Err("stop".into());
            }
            Ok(swap_old(value))
        })
        .unwrap_err();
    assert!(
        matches!(&err, berth_storage::RewriteError::Rewrite(e) if e.to_string() == "stop"),
        "{err}"
    );
    assert_eq!(c.component("c").unwrap().image_parameters["#k"], "old");
    assert_eq!(
        c.config("c", "1").unwrap().configuration["parameters"]["#k"],
        "old"
    );

    let mut seen = Vec::new();
    let changed = c
        .rewrite_documents(&mut |doc, value| {
            seen.push((
                doc.kind,
                doc.config_id.map(str::to_owned),
                doc.row_id.map(str::to_owned),
            ));
            Ok(swap_old(value))
        })
        .unwrap();
    use berth_storage::DocumentKind as Kind;
    let one = || Some("1".to_owned());
    let row = || Some("r".to_owned());
    assert_eq!(
        seen,
        [
            (Kind::Component, None, None),
            (Kind::Configuration, one(), None),
            (Kind::ConfigurationState, one(), None),
            (Kind::Row, one(), row()),
            (Kind::RowState, one(), row()),
        ]
    );
    assert_eq!(changed, 4, "the row's empty state has nothing to change");
    assert_eq!(c.component("c").unwrap().image_parameters["#k"], "new");
    let config = c.config("c", "1").unwrap();
    assert_eq!(config.configuration["parameters"]["#k"], "new");
    assert_eq!(config.rows[0].configuration["parameters"]["#k"], "new");
    assert_eq!(config.state.component["#s"], "new");
    assert_eq!(
        config.version, version,
        "the documents mean what they meant"
    );
    // Nothing left to change: nothing stored.
    assert_eq!(c.rewrite_documents(&mut |_, v| Ok(swap_old(v))).unwrap(), 0);
}
