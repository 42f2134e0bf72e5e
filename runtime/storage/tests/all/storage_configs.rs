//! Storage components and configurations: strict definitions, image/stack parameter merge,
//! configurations with rows, and the stored state document's exact shape.

use berth_storage::{
    ComponentDefinition, ConfigUpdate, DataTypesSupport, DefinitionShape, FileState, Network,
    NewConfig, NewConfigRow, RowUpdate, SourceTag, State, Storage, StorageError, TableState,
    TagMatch,
};
use serde_json::json;
use tempfile::TempDir;

fn storage() -> (TempDir, Storage) {
    let dir = TempDir::new().unwrap();
    let storage = Storage::open(dir.path().join("storage")).unwrap();
    (dir, storage)
}

fn definition(id: &str) -> ComponentDefinition {
    ComponentDefinition::from_json(&json!({"id": id, "image": "x.wasm"}).to_string()).unwrap()
}

#[test]
fn component_definitions_are_strict() {
    let message = |text: &str| {
        ComponentDefinition::from_json(text)
            .unwrap_err()
            .to_string()
    };
    // Unknown keys are ignored (reference §10) but named, so a typo is loud.
    let parsed =
        ComponentDefinition::parse(r#"{"id": "a", "image": "x", "memmory": "1g"}"#).unwrap();
    assert_eq!(parsed.ignored, ["memmory"]);
    assert_eq!(parsed.shape, DefinitionShape::Berth);
    assert_eq!(parsed.definition.memory, "256m", "the typo changed nothing");
    let parsed = ComponentDefinition::parse(
        r#"{"id": "a", "image": "x", "staging_storage": {"inptu": "none"}}"#,
    )
    .unwrap();
    assert_eq!(parsed.ignored, ["staging_storage.inptu"]);
    let err = message(r#"{"id": "a"}"#);
    assert!(err.contains("missing field `image`"), "{err}");
    let err = message(r#"{"id": "a", "image": "x", "network": "host"}"#);
    assert!(err.contains("unknown variant `host`"), "{err}");
    assert_eq!(
        message(r#"{"id": "a", "image": "x", "memory": "lots"}"#),
        "invalid component definition \"a\": key \"memory\": \"lots\" is not a size such as \"256m\""
    );
    assert_eq!(
        message(r#"{"id": "a b", "image": "x"}"#),
        "invalid component definition \"a b\": key \"id\": \"a b\" must start with a letter or digit and contain only letters, digits, '.', '_' and '-'"
    );
    assert!(
        message(r#"{"id": "a", "image": "x", "process_timeout": 0}"#).contains("process_timeout")
    );
    assert!(
        message(r#"{"id": "a", "image": "x", "stack_parameters": {"eu": 1}}"#)
            .contains("stack_parameters.eu")
    );
    assert!(
        message(r#"{"id": "a", "image": "x", "synchronous_actions": ["run"]}"#)
            .contains("synchronous_actions")
    );
    assert!(
        message(r#"{"id": "a", "image": "x", "default_bucket_stage": "sys"}"#)
            .contains("default_bucket_stage")
    );
    // forward_token is a boolean; a string or a misspelling is refused, never taken as on or off.
    assert_eq!(
        message(r#"{"id": "a", "image": "x", "forward_token": "yes"}"#),
        "invalid component definition: key \"forward_token\": invalid type: string \"yes\", \
         expected a boolean at line 1 column 48"
    );
    for text in [
        r#"{"id": "a", "image": "x", "forward_token": 1}"#,
        r#"{"id": "a", "image": "x", "forward_token": null}"#,
    ] {
        let err = message(text);
        assert!(
            err.contains("key \"forward_token\"") && err.contains("expected a boolean"),
            "{err}"
        );
    }
    let parsed =
        ComponentDefinition::parse(r#"{"id": "a", "image": "x", "forwardToken": true}"#).unwrap();
    assert_eq!(parsed.ignored, ["forwardToken"]);
    assert!(
        !parsed.definition.forward_token,
        "a misspelling is not taken as on"
    );
    let on = ComponentDefinition::from_json(r#"{"id": "a", "image": "x", "forward_token": true}"#);
    assert!(on.unwrap().forward_token);
    assert!(!definition("a").forward_token, "off unless asked for");
}

#[test]
fn components_are_stored_and_parameters_merged() {
    let (_dir, mut storage) = storage();
    let def = ComponentDefinition::from_json(
        &json!({
            "id": "keboola.ex-demo",
            "name": "Demo",
            "image": "components/ex-demo.wasm",
            "memory": "512m",
            "process_timeout": 60,
            "network": "bridge",
            "synchronous_actions": ["testConnection"],
            "default_bucket": true,
            "default_bucket_stage": "out",
            "forward_token": true,
            "configuration_format": "json",
            "image_parameters": {"name": "my-app-name", "token": "default"},
            "stack_parameters": {
                "connection.keboola.com": {"url": "https://my-us-api/", "token": "abc"},
                "connection.eu-central-1.keboola.com": {"url": "https://my-eu-api/", "token": "def"}
            }
        })
        .to_string(),
    )
    .unwrap();
    assert!(!storage.add_component(&def).unwrap());
    assert!(storage.add_component(&def).unwrap(), "second add replaces");
    assert_eq!(storage.component("keboola.ex-demo").unwrap(), def);
    assert_eq!(storage.list_components().unwrap().len(), 1);
    // The seed's example, exactly.
    assert_eq!(
        serde_json::Value::Object(
            storage
                .image_parameters_for_stack(
                    "keboola.ex-demo",
                    "connection.eu-central-1.keboola.com"
                )
                .unwrap()
        ),
        json!({"name": "my-app-name", "token": "def", "url": "https://my-eu-api/"})
    );
    assert_eq!(
        serde_json::Value::Object(
            storage
                .image_parameters_for_stack("keboola.ex-demo", "connection.keboola.com")
                .unwrap()
        ),
        json!({"name": "my-app-name", "token": "abc", "url": "https://my-us-api/"})
    );
    assert_eq!(
        serde_json::Value::Object(
            storage
                .image_parameters_for_stack("keboola.ex-demo", "elsewhere")
                .unwrap()
        ),
        json!({"name": "my-app-name", "token": "default"})
    );
    assert_eq!(
        storage.component("nope").unwrap_err().to_string(),
        "component \"nope\" does not exist"
    );
}

#[test]
fn configurations_rows_and_state_shape() {
    let (_dir, mut storage) = storage();
    storage.add_component(&definition("ex")).unwrap();
    let generated = storage
        .create_config(
            "ex",
            &NewConfig {
                name: "first".into(),
                configuration: json!({"parameters": {"a": 1}}),
                rows: vec![
                    NewConfigRow {
                        name: "r1".into(),
                        configuration: json!({"parameters": {"b": 2}}),
                        ..NewConfigRow::default()
                    },
                    NewConfigRow {
                        id: Some("custom-row".into()),
                        configuration: json!({}),
                        is_disabled: true,
                        ..NewConfigRow::default()
                    },
                ],
                ..NewConfig::default()
            },
        )
        .unwrap();
    assert!(generated.parse::<u64>().is_ok(), "{generated}");
    let named = storage
        .create_config(
            "ex",
            &NewConfig {
                id: Some("main".into()),
                configuration: json!({}),
                ..NewConfig::default()
            },
        )
        .unwrap();
    assert_eq!(named, "main");
    let config = storage.config("ex", &generated).unwrap();
    assert_eq!(config.name, "first");
    assert_eq!(config.configuration, json!({"parameters": {"a": 1}}));
    assert_eq!(config.rows.len(), 2);
    assert_eq!(config.rows[1].id, "custom-row");
    assert!(config.rows[1].is_disabled);
    assert_eq!(storage.list_configs("ex").unwrap().len(), 2);

    // A new configuration's state is the empty document, in exactly the §5 shape.
    let state = storage.state("ex", "main", None).unwrap();
    assert_eq!(
        serde_json::to_value(&state).unwrap(),
        json!({"component": {}, "storage": {"input": {"tables": [], "files": []}}})
    );
    let state = State {
        component: json!({"time": {"previousStart": 1587980435}}),
        storage: berth_storage::StateStorage {
            input: berth_storage::StateInput {
                tables: vec![TableState {
                    source: "in.c-main.t".into(),
                    last_import_date: "2024-01-01T00:00:00+0000".into(),
                }],
                files: vec![FileState {
                    tags: vec![SourceTag {
                        name: "toprocess".into(),
                        match_kind: TagMatch::Include,
                    }],
                    last_import_id: "123".into(),
                }],
            },
        },
        data_app: None,
    };
    storage.set_state("ex", "main", None, &state).unwrap();
    assert_eq!(
        serde_json::to_value(storage.state("ex", "main", None).unwrap()).unwrap(),
        json!({
            "component": {"time": {"previousStart": 1587980435}},
            "storage": {"input": {
                "tables": [{"source": "in.c-main.t", "lastImportDate": "2024-01-01T00:00:00+0000"}],
                "files": [{"tags": [{"name": "toprocess", "match": "include"}], "lastImportId": "123"}]
            }}
        })
    );
    assert_eq!(storage.config("ex", "main").unwrap().version, 2);
    // Row state is separate.
    storage
        .set_state("ex", &generated, Some("custom-row"), &state)
        .unwrap();
    assert_eq!(
        storage.state("ex", &generated, Some("custom-row")).unwrap(),
        state
    );
    assert_eq!(
        storage.state("ex", &generated, None).unwrap(),
        State::default()
    );
    // State documents are validated like the runner does at job start (reference §5 texts).
    let err =
        State::from_json(r#"{"component": {}, "storage": {"input": {"tables": []}}, "extra": 1}"#)
            .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(r#"Invalid state: Unrecognized option "extra" under "state"."#),
        "{err}"
    );
    let err = State::from_json(
        r#"{"component": {}, "storage": {"input": {"tables": [{"source": "a", "lastImportDate": "x", "more": 1}]}}}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"Unrecognized option "more" under "#),
        "{err}"
    );
    let kept =
        State::from_json(r#"{"component": [], "storage": {"input": {}}, "data_app": {"x": 1}}"#)
            .unwrap();
    assert_eq!(kept.data_app, Some(json!({"x": 1})));
}

#[test]
fn configuration_errors() {
    let (_dir, mut storage) = storage();
    storage.add_component(&definition("ex")).unwrap();
    let message = |err: StorageError| err.to_string();
    let new = |id: Option<&str>, configuration: serde_json::Value| NewConfig {
        id: id.map(str::to_owned),
        configuration,
        ..NewConfig::default()
    };
    assert_eq!(
        message(
            storage
                .create_config("nope", &new(None, json!({})))
                .unwrap_err()
        ),
        "component \"nope\" does not exist"
    );
    storage
        .create_config("ex", &new(Some("c1"), json!({})))
        .unwrap();
    assert_eq!(
        message(
            storage
                .create_config("ex", &new(Some("c1"), json!({})))
                .unwrap_err()
        ),
        "configuration \"c1\" of component \"ex\" already exists"
    );
    assert_eq!(
        message(
            storage
                .create_config("ex", &new(Some("c2"), json!([1])))
                .unwrap_err()
        ),
        "invalid configuration for configuration \"c2\" of component \"ex\": the document must be a JSON object"
    );
    let err = message(
        storage
            .create_config(
                "ex",
                &new(Some("c3"), json!({"parameters": {}, "colour": 1})),
            )
            .unwrap_err(),
    );
    assert!(
        err.starts_with(
            "invalid configuration for configuration \"c3\" of component \"ex\": Unrecognized option \"colour\""
        ),
        "{err}"
    );
    assert!(
        message(
            storage
                .create_config("ex", &new(Some("a b"), json!({})))
                .unwrap_err()
        )
        .contains("invalid configuration id")
    );
    assert_eq!(
        message(storage.config("ex", "c9").unwrap_err()),
        "configuration \"c9\" of component \"ex\" does not exist"
    );
    assert_eq!(
        message(storage.state("ex", "c1", Some("r9")).unwrap_err()),
        "row \"r9\" of configuration \"c1\" of component \"ex\" does not exist"
    );
    assert_eq!(
        message(
            storage
                .set_state("ex", "c1", Some("r9"), &State::default())
                .unwrap_err()
        ),
        "row \"r9\" of configuration \"c1\" of component \"ex\" does not exist"
    );
    assert_eq!(
        message(storage.config("nope", "c1").unwrap_err()),
        "component \"nope\" does not exist"
    );
    // The failed creations stored nothing.
    assert_eq!(storage.list_configs("ex").unwrap().len(), 1);
}

#[test]
fn configurations_are_updated_and_deleted_whole() {
    let (_dir, mut storage) = storage();
    storage.add_component(&definition("ex")).unwrap();
    let new = NewConfig {
        id: Some("c1".into()),
        name: "first".into(),
        configuration: json!({"parameters": {"a": 1}}),
        rows: vec![NewConfigRow {
            id: Some("r1".into()),
            configuration: json!({"parameters": {"b": 2}}),
            ..NewConfigRow::default()
        }],
        ..NewConfig::default()
    };
    storage.create_config("ex", &new).unwrap();
    let before = storage.config("ex", "c1").unwrap();

    let updated = storage
        .update_config(
            "ex",
            "c1",
            &ConfigUpdate {
                configuration: Some(json!({"parameters": {"a": 3}})),
                ..ConfigUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(updated.configuration, json!({"parameters": {"a": 3}}));
    assert_eq!(updated.name, "first", "fields not given are kept");
    assert_eq!(updated.version, before.version + 1);
    assert_eq!(updated.rows, before.rows, "rows are kept");

    // A document the runner would refuse changes nothing.
    let refused = storage
        .update_config(
            "ex",
            "c1",
            &ConfigUpdate {
                name: Some("second".into()),
                configuration: Some(json!({"storage": {"nope": 1}})),
                ..ConfigUpdate::default()
            },
        )
        .unwrap_err();
    assert!(
        refused.to_string().contains("Unrecognized option \"nope\""),
        "{refused}"
    );
    assert_eq!(storage.config("ex", "c1").unwrap(), updated);

    for err in [
        storage
            .update_config("ex", "c2", &ConfigUpdate::default())
            .unwrap_err(),
        storage.delete_config("ex", "c2").unwrap_err(),
    ] {
        assert!(matches!(err, StorageError::ConfigNotFound { .. }), "{err}");
    }

    storage.delete_config("ex", "c1").unwrap();
    assert!(matches!(
        storage.config("ex", "c1").unwrap_err(),
        StorageError::ConfigNotFound { .. }
    ));
    assert!(matches!(
        storage.state("ex", "c1", Some("r1")).unwrap_err(),
        StorageError::ConfigNotFound { .. } | StorageError::ConfigRowNotFound { .. }
    ));
    // The id can be used again, with no row left behind.
    storage
        .create_config(
            "ex",
            &NewConfig {
                rows: vec![],
                ..new
            },
        )
        .unwrap();
    assert!(storage.config("ex", "c1").unwrap().rows.is_empty());
}

#[test]
fn rows_are_added_changed_and_removed_in_order() {
    let (dir, mut storage) = storage();
    storage.add_component(&definition("ex")).unwrap();
    let new = NewConfig {
        id: Some("c1".into()),
        configuration: json!({"parameters": {"a": 1}}),
        rows: vec![NewConfigRow {
            id: Some("r1".into()),
            configuration: json!({"parameters": {"b": 1}}),
            ..NewConfigRow::default()
        }],
        ..NewConfig::default()
    };
    storage.create_config("ex", &new).unwrap();

    let added = storage
        .add_row(
            "ex",
            "c1",
            &NewConfigRow {
                name: "second".into(),
                description: "about it".into(),
                configuration: json!({"parameters": {"b": 2}}),
                is_disabled: true,
                ..NewConfigRow::default()
            },
        )
        .unwrap();
    assert!(!added.id.is_empty(), "an id is generated");
    assert_eq!(added.description, "about it");
    assert!(added.is_disabled);
    let config = storage.config("ex", "c1").unwrap();
    assert_eq!(config.version, 2, "adding a row is a new version");
    let ids: Vec<_> = config.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r1", added.id.as_str()], "a new row runs last");

    let changed = storage
        .update_row(
            "ex",
            "c1",
            &added.id,
            &RowUpdate {
                is_disabled: Some(false),
                ..RowUpdate::default()
            },
        )
        .unwrap();
    assert!(!changed.is_disabled);
    assert_eq!(changed.name, "second", "fields not given are kept");
    assert_eq!(changed.configuration, json!({"parameters": {"b": 2}}));
    assert_eq!(storage.config("ex", "c1").unwrap().version, 3);

    // Refusals change nothing: a duplicate id, a malformed row document, unknown rows,
    // configurations and components (the component is named first, as `config()` does).
    let before = storage.config("ex", "c1").unwrap();
    let duplicate = storage
        .add_row(
            "ex",
            "c1",
            &NewConfigRow {
                id: Some("r1".into()),
                configuration: json!({}),
                ..NewConfigRow::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        duplicate.to_string(),
        "row \"r1\" of configuration \"c1\" of component \"ex\" already exists"
    );
    let malformed = storage
        .update_row(
            "ex",
            "c1",
            "r1",
            &RowUpdate {
                name: Some("renamed".into()),
                configuration: Some(json!(["not", "an", "object"])),
                ..RowUpdate::default()
            },
        )
        .unwrap_err();
    assert!(
        malformed.to_string().contains("must be a JSON object"),
        "{malformed}"
    );
    let bad_id = storage
        .add_row(
            "ex",
            "c1",
            &NewConfigRow {
                id: Some("a/b".into()),
                configuration: json!({}),
                ..NewConfigRow::default()
            },
        )
        .unwrap_err();
    assert!(bad_id.to_string().contains("invalid row id"), "{bad_id}");
    for err in [
        storage
            .update_row("ex", "c1", "nope", &RowUpdate::default())
            .unwrap_err(),
        storage.delete_row("ex", "c1", "nope").unwrap_err(),
    ] {
        assert!(
            matches!(err, StorageError::ConfigRowNotFound { .. }),
            "{err}"
        );
    }
    for err in [
        storage
            .add_row("ex", "c9", &NewConfigRow::default())
            .unwrap_err(),
        storage.delete_row("ex", "c9", "r1").unwrap_err(),
    ] {
        assert!(matches!(err, StorageError::ConfigNotFound { .. }), "{err}");
    }
    for err in [
        storage
            .update_config("nope", "c1", &ConfigUpdate::default())
            .unwrap_err(),
        storage.delete_config("nope", "c1").unwrap_err(),
        storage
            .add_row("nope", "c1", &NewConfigRow::default())
            .unwrap_err(),
        storage
            .set_state("nope", "c1", None, &State::default())
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, StorageError::ComponentNotFound { .. }),
            "{err}"
        );
    }
    assert_eq!(storage.config("ex", "c1").unwrap(), before);

    storage.delete_row("ex", "c1", "r1").unwrap();
    let config = storage.config("ex", "c1").unwrap();
    assert_eq!(config.rows.len(), 1);
    assert_eq!(config.version, before.version + 1);

    // `isDisabled` of a configuration is kept across a reopen.
    storage
        .update_config(
            "ex",
            "c1",
            &ConfigUpdate {
                is_disabled: Some(true),
                ..ConfigUpdate::default()
            },
        )
        .unwrap();
    drop(storage);
    let storage = Storage::open(dir.path().join("storage")).unwrap();
    assert!(storage.config("ex", "c1").unwrap().is_disabled);
}

#[test]
fn components_are_updated_and_removed_only_when_unused_or_forced() {
    let (_dir, mut storage) = storage();
    let missing = storage.update_component(&definition("ex")).unwrap_err();
    assert!(
        matches!(missing, StorageError::ComponentNotFound { .. }),
        "{missing}"
    );
    storage.add_component(&definition("ex")).unwrap();
    let mut changed = definition("ex");
    changed.name = "Renamed".into();
    storage.update_component(&changed).unwrap();
    assert_eq!(storage.component("ex").unwrap().name, "Renamed");

    storage
        .create_config(
            "ex",
            &NewConfig {
                id: Some("c1".into()),
                configuration: json!({}),
                rows: vec![NewConfigRow {
                    id: Some("r1".into()),
                    configuration: json!({}),
                    ..NewConfigRow::default()
                }],
                ..NewConfig::default()
            },
        )
        .unwrap();
    let refused = storage.delete_component("ex", false).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "component \"ex\" has 1 configuration(s) (c1); remove them first, or force the removal (`berth component rm --force`, `?force=true`) to delete them with it"
    );
    assert!(refused.is_user_error());
    assert!(
        storage.config("ex", "c1").is_ok(),
        "a refusal deletes nothing"
    );

    assert_eq!(storage.delete_component("ex", true).unwrap(), 1);
    assert!(matches!(
        storage.component("ex").unwrap_err(),
        StorageError::ComponentNotFound { .. }
    ));
    // Re-registered, it has no configuration (and no row) left over.
    storage.add_component(&definition("ex")).unwrap();
    assert!(storage.list_configs("ex").unwrap().is_empty());
    storage
        .create_config(
            "ex",
            &NewConfig {
                id: Some("c1".into()),
                configuration: json!({}),
                ..NewConfig::default()
            },
        )
        .unwrap();
    assert!(storage.config("ex", "c1").unwrap().rows.is_empty());
    assert!(matches!(
        storage.delete_component("nope", true).unwrap_err(),
        StorageError::ComponentNotFound { .. }
    ));
}

const PORTAL_FIXTURE: &str = include_str!("../fixtures/developer-portal-ex-generic.json");

#[test]
fn a_developer_portal_component_detail_becomes_the_same_definition() {
    let parsed = ComponentDefinition::parse(PORTAL_FIXTURE).unwrap();
    assert_eq!(parsed.shape, DefinitionShape::DeveloperPortal);
    // Catalogue keys (description, ico32, flags, …) are known and dropped silently; the rest is
    // named as the file spells it.
    assert_eq!(parsed.ignored, ["data.inject_environment", "sourceCodeUrl"]);
    let d = parsed.definition;
    assert_eq!(d.id, "keboola.ex-generic-v2");
    assert_eq!(d.kind.as_deref(), Some("extractor"));
    assert_eq!(
        d.image,
        "147946154733.dkr.ecr.us-east-1.amazonaws.com/developer-portal-v2/keboola.ex-generic-v2@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
    );
    assert_eq!(d.memory_bytes(), Some(512_000_000), "decimal units");
    assert_eq!(d.process_timeout, 21600);
    assert_eq!(d.network, Network::Bridge);
    assert!(d.default_bucket);
    assert_eq!(d.synchronous_actions, ["testConnection"]);
    assert_eq!(d.features, ["dev-branch-configuration-unsafe"]);
    assert_eq!(d.data_types_support, DataTypesSupport::Hints);
    assert_eq!(
        d.configuration_schema.as_ref().unwrap()["required"],
        json!(["api", "config"])
    );
    assert_eq!(d.logging.as_ref().unwrap()["type"], "gelf");
    assert_eq!(
        json!(d.image_parameters_for_stack("connection.eu-central-1.keboola.com")),
        json!({"user_agent": "Keboola Generic Extractor (EU)"})
    );

    // The same component written in berth's shape is the same definition.
    let berth = json!({
        "id": "keboola.ex-generic-v2", "type": "extractor", "name": "Generic Extractor",
        "image": d.image, "memory": "512m", "process_timeout": 21600, "network": "bridge",
        "default_bucket": true, "synchronous_actions": ["testConnection"],
        "image_parameters": d.image_parameters, "stack_parameters": d.stack_parameters,
        "features": ["dev-branch-configuration-unsafe"], "data_types_support": "hints",
        "configuration_schema": d.configuration_schema, "configuration_row_schema": {},
        "logging": d.logging,
    });
    assert_eq!(
        ComponentDefinition::from_json(&berth.to_string()).unwrap(),
        d
    );
}

#[test]
fn developer_portal_details_name_their_own_keys_in_errors() {
    let message = |value: serde_json::Value| {
        ComponentDefinition::parse(&value.to_string())
            .unwrap_err()
            .to_string()
    };
    let base =
        || json!({"id": "a.b", "data": {"definition": {"type": "dockerhub", "uri": "keboola/x"}}});
    let parsed = ComponentDefinition::parse(&base().to_string()).unwrap();
    assert_eq!(
        parsed.definition.image, "keboola/x:latest",
        "tag defaults to latest"
    );
    let mut v = base();
    v["data"]["memory"] = json!("lots");
    assert_eq!(
        message(v),
        "invalid component definition \"a.b\": key \"data.memory\": \"lots\" is not a size such as \"256m\""
    );
    let mut v = base();
    v["data"]["forward_token"] = json!("yes");
    assert!(message(v).contains("key \"data.forward_token\": invalid type"));
    let mut v = base();
    v["data"]["definition"] = json!({"type": "dockerhub"});
    assert!(message(v).contains("key \"data.definition.uri\": missing"));
    let mut v = base();
    v["data"]["definition"]["tag"] = json!(7);
    assert!(message(v).contains("key \"data.definition.tag\": expected a string"));
    let mut v = base();
    v["data"]["network"] = json!("host");
    assert!(message(v).contains("key \"data.network\""));
    let mut v = base();
    v["dataTypesConfiguration"] = json!({"dataTypesSupport": "maybe"});
    assert!(message(v).contains("key \"dataTypesConfiguration.dataTypesSupport\""));
    let mut v = base();
    v["data"]["staging_storage"] = json!({"input": "local", "ouput": "local"});
    v["data"]["definition"]["repository"] = json!({"region": "us-east-1"});
    let parsed = ComponentDefinition::parse(&v.to_string()).unwrap();
    assert_eq!(
        parsed.ignored,
        ["data.definition.repository", "data.staging_storage.ouput"]
    );
    assert_eq!(
        message(json!({"id": "a.b", "data": {"memory": "1g"}})),
        "invalid component definition: key \"data.definition\": missing; it names the image (uri and tag)"
    );
}
