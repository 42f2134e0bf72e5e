//! OAuth credentials (reference §1.1): stored per component with `#` values encrypted, injected
//! by `authorization.oauth_api.id` as `authorization.oauth_api.credentials`, hidden in the job's
//! output, and only `oauth_api.credentials` and `app_proxy` of `authorization` reach the component.

use berth_job::oauth;
use components_artifacts as guests;
use serde_json::json;

use berth_job::testing::Env;

const SECRET: &str = "app-secret-7f3a";

fn env() -> (Env, String) {
    let env = Env::new();
    env.component("acme.main", guests::WRITE_OUTPUTS, json!({}))
        .component("acme.other", guests::WRITE_OUTPUTS, json!({}));
    let id = oauth::add(
        &env.home,
        "acme.main",
        None,
        json!({"id": "main", "appKey": "key-1", "#appSecret": SECRET, "#data": "{\"token\": \"t\"}"}),
    )
    .unwrap();
    (env, id)
}

#[test]
fn stored_credentials_are_encrypted_and_injected_decrypted() {
    let (env, id) = env();
    // A file of the home on the embedded Storage, a row of the shared database on PostgreSQL.
    let stored = match env.database_url() {
        None => {
            std::fs::read_to_string(env.root().join(format!("oauth/acme.main/{id}.json"))).unwrap()
        }
        Some(_) => {
            assert!(!env.root().join("oauth").exists());
            oauth::load(&env.home, "acme.main", &id)
                .unwrap()
                .to_string()
        }
    };
    assert!(!stored.contains(SECRET), "{stored}");
    assert!(stored.contains("KBC::ProjectSecure"), "{stored}");
    assert_eq!(
        oauth::list(&env.home, None).unwrap(),
        [oauth::OauthEntry {
            component: "acme.main".into(),
            id: id.clone()
        }]
    );

    let job = env.run_data(
        "acme.main",
        json!({"parameters": {"copy_config": true},
               "authorization": {"oauth_api": {"id": id, "version": 3},
                                 "workspace": {"host": "h", "password": "p"},
                                 "context": "stored-context",
                                 "app_proxy": {"auth_providers": [], "auth_rules": []}}}),
    );
    job.assert_success();
    let seen = job.json("out/seen/config.json");
    assert_eq!(
        seen["authorization"],
        json!({
            "oauth_api": {"credentials": {"id": "main", "appKey": "key-1",
                                          "#appSecret": SECRET, "#data": "{\"token\": \"t\"}"}},
            "app_proxy": {"auth_providers": [], "auth_rules": []}
        })
    );
}

#[test]
fn decrypted_credentials_are_hidden_in_the_jobs_output() {
    let (env, id) = env();
    let job = env.run_data(
        "acme.main",
        json!({"parameters": {"exit_code": 1, "message": format!("failed with {SECRET}")},
               "authorization": {"oauth_api": {"id": id}}}),
    );
    let message = job.assert_error("user");
    assert!(!message.contains(SECRET), "{message}");
    assert!(message.contains("failed with"), "{message}");
}

#[test]
fn credentials_given_in_the_configuration_pass_and_unknown_ids_fail() {
    let (env, id) = env();
    let job = env.run_data(
        "acme.main",
        json!({"parameters": {"copy_config": true},
               "authorization": {"oauth_api": {"id": "ignored", "credentials": {"inline": true}}}}),
    );
    job.assert_success();
    assert_eq!(
        job.json("out/seen/config.json")["authorization"],
        json!({"oauth_api": {"credentials": {"inline": true}}})
    );

    let job = env.run_data(
        "acme.main",
        json!({"authorization": {"oauth_api": {"id": "nope"}}}),
    );
    assert_eq!(
        job.assert_error("user"),
        "OAuth credentials \"nope\" of component \"acme.main\" were not found."
    );
    // Credentials belong to their component.
    let job = env.run_data(
        "acme.other",
        json!({"authorization": {"oauth_api": {"id": id}}}),
    );
    let message = job.assert_error("user");
    assert!(message.contains("acme.other"), "{message}");
}

#[test]
fn adding_listing_and_removing_refuse_bad_input() {
    let (env, id) = env();
    let err = oauth::add(&env.home, "acme.nope", None, json!({})).unwrap_err();
    assert!(
        err.is_user_error() && err.to_string().contains("acme.nope"),
        "{err}"
    );
    let err = oauth::add(&env.home, "acme.main", Some("../x"), json!({})).unwrap_err();
    assert!(err.is_user_error(), "{err}");
    let err = oauth::add(&env.home, "acme.main", None, json!([1])).unwrap_err();
    assert!(err.to_string().contains("JSON object"), "{err}");
    let err = oauth::add(&env.home, "acme.main", Some(&id), json!({})).unwrap_err();
    assert!(err.to_string().contains("already exist"), "{err}");
    oauth::remove(&env.home, "acme.main", &id).unwrap();
    assert!(
        oauth::list(&env.home, Some("acme.main"))
            .unwrap()
            .is_empty()
    );
    let err = oauth::remove(&env.home, "acme.main", &id).unwrap_err();
    assert!(matches!(err, oauth::OauthError::NotFound { .. }), "{err}");
}

#[test]
fn stored_credentials_survive_a_master_key_rotation() {
    let (env, id) = env();
    let before = oauth::load(&env.home, "acme.main", &id)
        .unwrap()
        .to_string();
    let rotation = berth_job::secrets::rotate(&env.home, |_| {}).unwrap();
    // Re-encrypted under the new key: the stored document changed, the old key is gone.
    let after = oauth::load(&env.home, "acme.main", &id)
        .unwrap()
        .to_string();
    assert_ne!(before, after);
    assert!(!after.contains(SECRET), "{after}");
    assert!(rotation.ciphers >= 2, "{rotation:?}");
    let job = env.run_data(
        "acme.main",
        json!({"parameters": {"copy_config": true},
               "authorization": {"oauth_api": {"id": id}}}),
    );
    job.assert_success();
    let seen = job.json("out/seen/config.json");
    assert_eq!(
        seen["authorization"]["oauth_api"]["credentials"]["#appSecret"],
        SECRET
    );
}
