//! Cipher scopes through a home's keys (reference §8.1, §8.3, §9.4): every prefix made by the
//! encrypt API opens for a job whose context contains everything the cipher is bound to, and
//! every other job gets the reference's error text.

use berth_job::JobSecrets;
use berth_job::secrets::{self, EncryptInput, EncryptRequest};
use berth_job::testing::Env;
use serde_json::{Value, json};

const COMPONENT: &str = "acme.ex";
const PROJECT: &str = "1";
const CONFIG: &str = "cfg";

/// What a cipher is made for: component, project, configuration, branch type ("" = not given).
type Params = (&'static str, &'static str, &'static str, &'static str);

/// Every kind the encrypt API makes, with the prefix expected.
const MADE: [(Params, &str); 11] = [
    ((COMPONENT, "", "", ""), "KBC::ComponentSecure::"),
    ((COMPONENT, PROJECT, "", ""), "KBC::ProjectSecure::"),
    ((COMPONENT, PROJECT, CONFIG, ""), "KBC::ConfigSecure::"),
    (("", PROJECT, "", ""), "KBC::ProjectWideSecure::"),
    (
        (COMPONENT, PROJECT, "", "default"),
        "KBC::BranchTypeSecure::",
    ),
    ((COMPONENT, PROJECT, "", "dev"), "KBC::BranchTypeSecure::"),
    (
        (COMPONENT, PROJECT, CONFIG, "default"),
        "KBC::BranchTypeConfigSecure::",
    ),
    (
        (COMPONENT, PROJECT, CONFIG, "dev"),
        "KBC::BranchTypeConfigSecure::",
    ),
    (
        ("", PROJECT, "", "default"),
        "KBC::ProjectWideBranchTypeSecure::",
    ),
    (
        ("", PROJECT, "", "dev"),
        "KBC::ProjectWideBranchTypeSecure::",
    ),
    // The same as the first, through the JSON form below.
    ((COMPONENT, "", "", ""), "KBC::ComponentSecure::"),
];

/// The jobs that try to open them: (component, project, configuration); every berth job runs on
/// the `default` branch type.
const JOBS: [(&str, &str, Option<&str>); 5] = [
    (COMPONENT, PROJECT, Some(CONFIG)),
    ("acme.other", PROJECT, Some(CONFIG)),
    (COMPONENT, "2", Some(CONFIG)),
    (COMPONENT, PROJECT, Some("other")),
    (COMPONENT, PROJECT, None),
];

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Whether a job may open a cipher made for `made`: every given attribute must match.
fn opens(made: Params, job: (&str, &str, Option<&str>)) -> bool {
    let (c, p, cfg, b) = made;
    (c.is_empty() || c == job.0)
        && (p.is_empty() || p == job.1)
        && (cfg.is_empty() || Some(cfg) == job.2)
        && (b.is_empty() || b == "default")
}

fn encrypt(env: &Env, made: Params, text: &str) -> String {
    let (c, p, cfg, b) = made;
    let request = EncryptRequest {
        component_id: opt(c),
        project_id: opt(p),
        config_id: opt(cfg),
        branch_type: opt(b),
    };
    match secrets::encrypt(&env.home, &request, EncryptInput::Text(text.to_owned())).unwrap() {
        EncryptInput::Text(cipher) => cipher,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_prefix_opens_in_its_scope_and_nowhere_else() {
    let env = Env::new();
    let mut checked = 0;
    for (made, prefix) in MADE {
        let cipher = encrypt(&env, made, "the secret");
        assert!(cipher.starts_with(prefix), "{made:?}: {cipher}");
        for job in JOBS {
            // A job in project 2 is another home's project: the secrets see it as given.
            let mut secrets = JobSecrets::new(&env.home, job.0, job.1, job.2);
            let mut doc = json!({"parameters": {"#password": cipher}});
            let result = secrets.decrypt_config(&mut doc);
            if opens(made, job) {
                result.unwrap_or_else(|e| panic!("{made:?} in job {job:?}: {e}"));
                assert_eq!(doc["parameters"]["#password"], "the secret");
                assert!(!secrets.redactor().is_empty());
            } else {
                let err = result.expect_err(&format!("{made:?} opened in job {job:?}"));
                assert!(err.is_user_error(), "{err}");
                assert_eq!(
                    err.to_string(),
                    format!(
                        "Invalid cipher text for key #password Value \"{cipher}\" is not an encrypted value."
                    )
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, MADE.len() * JOBS.len());
}

#[test]
fn image_parameters_open_only_component_ciphers() {
    let env = Env::new();
    let mut secrets = JobSecrets::new(&env.home, COMPONENT, PROJECT, Some(CONFIG));
    let component = encrypt(&env, (COMPONENT, "", "", ""), "k1");
    let mut params = serde_json::Map::new();
    params.insert("#key".into(), Value::String(component));
    secrets.decrypt_image_parameters(&mut params).unwrap();
    assert_eq!(params["#key"], "k1");
    // Seed 003: a cipher made with a project (or configuration) is unusable there.
    for made in [
        (COMPONENT, PROJECT, "", ""),
        (COMPONENT, PROJECT, CONFIG, ""),
    ] {
        let mut params = serde_json::Map::new();
        params.insert("#key".into(), Value::String(encrypt(&env, made, "k2")));
        let err = secrets.decrypt_image_parameters(&mut params).unwrap_err();
        assert!(err.is_user_error() && err.to_string().contains("is not an encrypted value"));
    }
}

#[test]
fn the_encrypt_api_text_and_json() {
    let env = Env::new();
    let request = EncryptRequest {
        component_id: Some(COMPONENT.into()),
        project_id: Some(PROJECT.into()),
        ..EncryptRequest::default()
    };
    // text/plain: the whole string, even one that looks like JSON.
    let text = r##"{"#a": "b"}"##;
    let EncryptInput::Text(cipher) =
        secrets::encrypt(&env.home, &request, EncryptInput::Text(text.into())).unwrap()
    else {
        panic!()
    };
    assert!(cipher.starts_with("KBC::ProjectSecure::"));
    let mut doc = json!({"#whole": cipher.clone()});
    JobSecrets::new(&env.home, COMPONENT, PROJECT, None)
        .decrypt_config(&mut doc)
        .unwrap();
    assert_eq!(doc["#whole"], text);
    // A cipher given again comes back unchanged.
    let again = secrets::encrypt(&env.home, &request, EncryptInput::Text(cipher.clone())).unwrap();
    assert_eq!(again, EncryptInput::Text(cipher.clone()));

    // application/json: only # scalars.
    let input = json!({"user": "me", "#pass": "p", "nested": {"#n": 1, "x": "y"}, "#kept": cipher});
    let EncryptInput::Json(out) =
        secrets::encrypt(&env.home, &request, EncryptInput::Json(input)).unwrap()
    else {
        panic!()
    };
    assert_eq!(out["user"], "me");
    assert_eq!(out["nested"]["x"], "y");
    assert!(
        out["#pass"]
            .as_str()
            .unwrap()
            .starts_with("KBC::ProjectSecure::")
    );
    assert!(
        out["nested"]["#n"]
            .as_str()
            .unwrap()
            .starts_with("KBC::ProjectSecure::")
    );
    assert_eq!(out["#kept"], cipher);

    // Refused: a legacy cipher, another project, parameters that make no cipher.
    let refused = |request: &EncryptRequest, input: EncryptInput| {
        let err = secrets::encrypt(&env.home, request, input).unwrap_err();
        assert!(err.is_user_error(), "{err}");
        err.to_string()
    };
    assert_eq!(
        refused(&request, EncryptInput::Text("KBC::Encrypted==abc".into())),
        "Invalid cipher text for key #value Value \"KBC::Encrypted==abc\" is not an encrypted value."
    );
    let other_project = EncryptRequest {
        project_id: Some("99".into()),
        ..request.clone()
    };
    assert!(refused(&other_project, EncryptInput::Text("x".into())).contains("\"99\""));
    let config_without_project = EncryptRequest {
        component_id: Some(COMPONENT.into()),
        config_id: Some(CONFIG.into()),
        ..EncryptRequest::default()
    };
    assert_eq!(
        refused(&config_without_project, EncryptInput::Text("x".into())),
        "A configuration id needs a project id."
    );
    let nothing = EncryptRequest::default();
    assert_eq!(
        refused(&nothing, EncryptInput::Text("x".into())),
        "Specify a component id or a project id."
    );
}

#[test]
fn another_homes_cipher_does_not_open() {
    let one = Env::new();
    let two = Env::new();
    let cipher = encrypt(&one, (COMPONENT, PROJECT, "", ""), "s");
    // Home two has a key of its own.
    encrypt(&two, (COMPONENT, PROJECT, "", ""), "t");
    let mut doc = json!({"#x": cipher});
    let err = JobSecrets::new(&two.home, COMPONENT, PROJECT, None)
        .decrypt_config(&mut doc)
        .unwrap_err();
    assert!(err.is_user_error());
    assert!(matches!(
        err.refusal(),
        Some(berth_secrets::Refusal::UnknownKey(_))
    ));
}

#[test]
fn a_jobs_keyring_read_before_a_rotation_opens_ciphers_made_after_it() {
    let env = Env::new();
    let made = (COMPONENT, PROJECT, "", "");
    let before = encrypt(&env, made, "before");
    let mut job = JobSecrets::new(&env.home, COMPONENT, PROJECT, Some(CONFIG));
    let mut document = json!({"#a": before});
    job.decrypt_config(&mut document).unwrap();
    assert_eq!(document["#a"], "before");
    // The job goes on (a long run); a rotation replaces the key; a document it reads now (a
    // processor's definition, say) carries a cipher of the new key.
    secrets::rotate(&env.home, |_| {}).unwrap();
    let after = encrypt(&env, made, "after");
    let mut document = json!({"#b": after});
    job.decrypt_config(&mut document).unwrap();
    assert_eq!(document["#b"], "after");
    // A cipher of a key the home never had is still the user's error.
    let other = Env::new();
    let foreign = encrypt(&other, made, "foreign");
    let err = job.decrypt_config(&mut json!({"#c": foreign})).unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert!(
        err.to_string().contains("is not an encrypted value"),
        "{err}"
    );
}
