//! API tokens on a pure state: create, the hash that alone is kept,
//! revoke, the coarse last-use touch, and the errors for bad input.

use super::*;
use crate::identity::NodeId;
use crate::state::{Command, Mutation};

fn cmd(m: Mutation) -> Command {
    Command::new(NodeId::new("n1").unwrap(), m)
}

fn token(id: &str, name: &str, role: TokenRole, secret: &str) -> ApiToken {
    ApiToken {
        id: id.into(),
        name: name.into(),
        role,
        secret_hash: hash_secret(secret),
        created_at_ms: 1_000,
        last_used_ms: None,
    }
}

#[test]
fn a_token_is_created_found_by_its_text_and_revoked() {
    let mut s = ClusterState::default();
    let t = token("ab12cd34", "ci", TokenRole::Write, "s3cret");
    s.apply(&cmd(Mutation::CreateApiToken { token: t.clone() }))
        .expect("created");
    assert_eq!(s.level, 5);
    let text = token_text("ab12cd34", "s3cret");
    assert_eq!(s.authenticate(&text), Some(&t));
    assert_eq!(s.authenticate(&token_text("ab12cd34", "wrong")), None);
    assert_eq!(s.authenticate(&token_text("other", "s3cret")), None);
    assert_eq!(s.authenticate("s3cret"), None);
    assert_eq!(s.authenticate(&"q".repeat(MAX_TOKEN_TEXT + 1)), None);
    let v = s.version;
    s.apply(&cmd(Mutation::RevokeApiToken { token: "ci".into() }))
        .expect("revoked by name");
    assert_eq!(s.version, v + 1);
    assert_eq!(s.authenticate(&text), None);
    let e = s
        .apply(&cmd(Mutation::RevokeApiToken { token: "ci".into() }))
        .unwrap_err();
    assert_eq!(e.kind, "not_found");
    assert!(e.message.contains("\"ci\""), "{e:?}");
}

#[test]
fn a_name_in_use_or_a_bad_name_is_refused_and_nothing_changes() {
    let mut s = ClusterState::default();
    let t = token("id1", "ci", TokenRole::Read, "a");
    s.apply(&cmd(Mutation::CreateApiToken { token: t }))
        .expect("created");
    let before = s.api_tokens.clone();
    let e = s
        .apply(&cmd(Mutation::CreateApiToken {
            token: token("id2", "ci", TokenRole::Read, "b"),
        }))
        .unwrap_err();
    assert_eq!(e.kind, "already_exists");
    assert_eq!(e.field.as_deref(), Some("name"));
    let e = s
        .apply(&cmd(Mutation::CreateApiToken {
            token: token("id3", "no spaces", TokenRole::Read, "c"),
        }))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("name"), "{e:?}");
    assert_eq!(s.api_tokens, before);
}

#[test]
fn a_touch_keeps_the_latest_time_and_is_not_a_config_change() {
    let mut s = ClusterState::default();
    s.apply(&cmd(Mutation::CreateApiToken {
        token: token("id1", "ci", TokenRole::Read, "a"),
    }))
    .expect("created");
    let v = s.version;
    let touch = |s: &mut ClusterState, at_ms| {
        s.apply(&cmd(Mutation::TouchApiToken {
            id: "id1".into(),
            at_ms,
        }))
        .expect("touched")
    };
    touch(&mut s, 90_000);
    touch(&mut s, 80_000);
    assert_eq!(s.api_tokens["id1"].last_used_ms, Some(90_000));
    assert_eq!(s.version, v);
    let t = &s.api_tokens["id1"];
    assert!(!t.touch_due(90_000 + TOUCH_EVERY_MS - 1));
    assert!(t.touch_due(90_000 + TOUCH_EVERY_MS));
    // A revoked token's late touch is harmless.
    s.apply(&cmd(Mutation::TouchApiToken {
        id: "gone".into(),
        at_ms: 1,
    }))
    .expect("ignored");
}

#[test]
fn roles_parse_and_order() {
    assert_eq!(TokenRole::parse("read").unwrap(), TokenRole::Read);
    assert_eq!(TokenRole::parse("write").unwrap(), TokenRole::Write);
    let e = TokenRole::parse("admin").unwrap_err();
    assert_eq!(e.field(), Some("role"));
    assert!(e.message().contains("read or write"), "{e}");
    assert!(TokenRole::Write.allows(TokenRole::Read));
    assert!(!TokenRole::Read.allows(TokenRole::Write));
}

#[test]
fn a_state_without_tokens_serializes_as_before() {
    let s = ClusterState::default();
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("api_tokens"), "{json}");
}
