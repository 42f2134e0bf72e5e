//! The cases of the shared token suite, each written against `TokenStore` only.

use berth_storage::{NewToken, StorageError, TokenCheck, secret_hash};
use time::{Duration, OffsetDateTime};

use crate::backends::Backend;

fn described(description: &str) -> NewToken {
    NewToken {
        description: description.into(),
        ..NewToken::default()
    }
}

pub(super) fn a_new_secret_checks_valid_and_only_its_hash_is_kept(b: &mut Backend) {
    let new = NewToken {
        description: "deploys".into(),
        read_only: true,
        component_access: Some(vec!["keboola.ex-db".into(), "a.b".into()]),
        ..NewToken::default()
    };
    let (token, secret) = b.storage.create_token(&new).unwrap();
    let (id, random) = secret.split_once('-').unwrap();
    assert_eq!(id, token.id);
    assert_eq!(random.len(), 40);
    assert!(
        random.chars().all(|c| c.is_ascii_alphanumeric()),
        "{secret}"
    );
    assert_eq!(
        (token.description.as_str(), token.admin, token.read_only),
        ("deploys", false, true)
    );
    assert_eq!(
        token.component_access.as_deref(),
        Some(&["keboola.ex-db".to_owned(), "a.b".to_owned()][..])
    );
    assert!(token.can_use_component("a.b") && !token.can_use_component("c.d"));
    assert_eq!(b.storage.token(&token.id).unwrap(), token);
    match b.storage.check_token(&secret).unwrap() {
        TokenCheck::Valid(found) => assert_eq!(found, token),
        other => panic!("{other:?}"),
    }
    // The hash is not a secret: it does not check.
    assert_eq!(
        b.storage.check_token(&secret_hash(&secret)).unwrap(),
        TokenCheck::Unknown
    );
    // "No components" and "every component" are different things.
    let (none, _) = b
        .storage
        .create_token(&NewToken {
            component_access: Some(Vec::new()),
            ..described("none")
        })
        .unwrap();
    assert_eq!(none.component_access, Some(Vec::new()));
    let (all, _) = b.storage.create_token(&described("all")).unwrap();
    assert_eq!(all.component_access, None);
    assert!(all.can_use_component("anything") && !none.can_use_component("anything"));
}

pub(super) fn revoked_expired_and_unknown_secrets_are_told_apart(b: &mut Backend) {
    let (revoked, revoked_secret) = b.storage.create_token(&described("revoked")).unwrap();
    b.storage.revoke_token(&revoked.id).unwrap();
    let first = b.storage.token(&revoked.id).unwrap().revoked.unwrap();
    b.storage.revoke_token(&revoked.id).unwrap();
    assert_eq!(
        b.storage.token(&revoked.id).unwrap().revoked,
        Some(first),
        "revoking twice keeps the first time"
    );
    assert!(matches!(
        b.storage.check_token(&revoked_secret).unwrap(),
        TokenCheck::Revoked(t) if t.id == revoked.id
    ));
    let (_, expired_secret) = b
        .storage
        .create_token(&NewToken {
            expires: Some(OffsetDateTime::now_utc() - Duration::minutes(1)),
            ..described("expired")
        })
        .unwrap();
    assert!(matches!(
        b.storage.check_token(&expired_secret).unwrap(),
        TokenCheck::Expired(_)
    ));
    let (_, later_secret) = b
        .storage
        .create_token(&NewToken {
            expires: Some(OffsetDateTime::now_utc() + Duration::hours(1)),
            ..described("later")
        })
        .unwrap();
    assert!(matches!(
        b.storage.check_token(&later_secret).unwrap(),
        TokenCheck::Valid(_)
    ));
    for secret in ["", "1-nope", "not a token at all", "1-\0"] {
        assert_eq!(b.storage.check_token(secret).unwrap(), TokenCheck::Unknown);
    }
}

pub(super) fn listings_are_oldest_first_and_leave_job_tokens_out(b: &mut Backend) {
    let mut ids = Vec::new();
    // Enough tokens that ids of two digits sort after those of one.
    for n in 0..11 {
        ids.push(
            b.storage
                .create_token(&described(&format!("t{n}")))
                .unwrap()
                .0
                .id,
        );
    }
    let job = |job: &str| NewToken {
        job_id: Some(job.into()),
        ..described("job")
    };
    let (job_a, secret_a) = b.storage.create_token(&job("123")).unwrap();
    let (job_b, _) = b.storage.create_token(&job("123")).unwrap();
    let (other, secret_other) = b.storage.create_token(&job("456")).unwrap();
    let listed: Vec<String> = b
        .storage
        .tokens()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, ids);
    let of_job: Vec<String> = b
        .storage
        .job_tokens("123")
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(of_job, [job_a.id.clone(), job_b.id.clone()]);
    b.storage.revoke_job_tokens("123").unwrap();
    assert!(matches!(
        b.storage.check_token(&secret_a).unwrap(),
        TokenCheck::Revoked(_)
    ));
    assert!(matches!(
        b.storage.check_token(&secret_other).unwrap(),
        TokenCheck::Valid(t) if t.id == other.id
    ));
    b.storage.revoke_job_tokens("no such job").unwrap();
    assert!(b.storage.job_tokens("no such job").unwrap().is_empty());
}

pub(super) fn unknown_tokens_are_named(b: &mut Backend) {
    b.storage.create_token(&described("one")).unwrap();
    for id in ["999", "", "x'; DROP TABLE berth_tokens; --", "1\0"] {
        for error in [
            b.storage.token(id).unwrap_err(),
            b.storage.revoke_token(id).unwrap_err(),
        ] {
            assert!(
                matches!(&error, StorageError::TokenNotFound { id: found } if found == id),
                "{error:?}"
            );
            assert!(error.is_user_error());
        }
    }
    assert_eq!(b.storage.tokens().unwrap().len(), 1);
}
