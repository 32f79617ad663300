//! Property tests: no input makes a decoder panic.
//!
//! Everything a peer, a local caller or an operator's file can feed the
//! node goes through one of these decoders: the frame reader and the
//! envelope decoder (peer port and control socket), the control reply
//! decoder, the declaration parser, the duration parser, and the
//! `node.yaml` / `trust.yaml` loaders. Each runs on [`CASES`] generated
//! inputs, mixing raw bytes with inputs shaped like the real thing (near
//! misses find more than noise), and must return `Ok` or an error, never
//! panic, hang or allocate what the input merely claims. Run in the normal
//! test suite; bounded so each stays well under 30 s in a debug build.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use crate::transport::{Envelope, read_frame};

/// Generated inputs per decoder.
const CASES: u32 = 100_000;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

/// JSON-ish text: real envelope keys and values, nesting, and noise.
fn jsonish() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("null".to_string()),
        Just("1".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("1e999".to_string()),
        Just("\"request\"".to_string()),
        Just("\"response\"".to_string()),
        Just("\"status\"".to_string()),
        "\"[ -~]{0,12}\"",
        "[ -~]{0,6}",
    ];
    let value = atom.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("v"),
                        Just("id"),
                        Just("t"),
                        Just("method"),
                        Just("params"),
                        Just("result"),
                        Just("error"),
                        Just("kind"),
                        Just("message"),
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    });
    prop_oneof![
        value,
        // Deep nesting, past any recursion limit.
        (1usize..3000).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        (1usize..3000).prop_map(|d| "{\"a\":".repeat(d)),
    ]
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
}

/// Bytes as a stream of frames: real headers over random bodies, headers
/// that claim too much, truncations.
fn framed() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        (jsonish(), any::<u32>(), any::<bool>()).prop_map(|(body, claim, honest)| {
            let len = if honest { body.len() as u32 } else { claim };
            let mut out = len.to_be_bytes().to_vec();
            out.extend_from_slice(body.as_bytes());
            out
        }),
        (jsonish(), 0usize..8).prop_map(|(body, cut)| {
            let mut out = (body.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(body.as_bytes());
            out.truncate(out.len().saturating_sub(cut));
            out
        }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn frames_and_envelopes(bytes in framed()) {
        RUNTIME.with(|rt| rt.block_on(async {
            let mut r = &bytes[..];
            // A stream holds a bounded number of frames; each is decoded
            // the way both servers and both clients decode them.
            for _ in 0..8 {
                let sec = Duration::from_secs(1);
                match read_frame(&mut r, 1 << 20, sec, sec).await {
                    Ok(Some(frame)) => {
                        let _ = serde_json::from_slice::<Envelope>(&frame);
                        let _ = crate::control::wire::decode_response(&frame);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }));
    }

    #[test]
    fn control_replies(text in jsonish()) {
        let _ = crate::control::wire::decode_response(text.as_bytes());
        let _ = serde_json::from_str::<Envelope>(&text);
    }

    #[test]
    fn durations(text in prop_oneof![
        "[0-9.]{0,24}(ns|us|µs|ms|s|m|h|d|x|){0,1}([0-9.]{0,24}(ns|ms|s|m|h|d)){0,3}",
        "\\PC{0,80}",
    ]) {
        if let Ok(d) = crate::state::duration::parse(&text) {
            prop_assert!(d <= crate::state::duration::MAX);
            let _ = crate::state::duration::format(d);
            let _ = crate::state::duration::millis(d);
        }
    }
}

/// YAML-ish text: the keys of the files, anchors, aliases, merges, flow
/// collections and noise, in block layout.
fn yamlish(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    let key = prop::sample::select(keys.to_vec());
    let scalar = prop_oneof![
        Just("http".to_string()),
        Just("tcp".to_string()),
        Just("30s".to_string()),
        Just("18446744073709552s".to_string()),
        Just("127.0.0.1:9901".to_string()),
        Just("sha256:00".to_string()),
        Just("~".to_string()),
        Just("*a".to_string()),
        Just("&a x".to_string()),
        Just("[*a, *a, *a]".to_string()),
        Just("{<<: *a}".to_string()),
        "[ -~]{0,16}",
    ];
    let line =
        (0usize..4, prop::option::of(Just("- ")), key, scalar).prop_map(|(indent, dash, k, v)| {
            format!("{}{}{k}: {v}", "  ".repeat(indent), dash.unwrap_or(""))
        });
    prop_oneof![
        8 => prop::collection::vec(line, 0..24).prop_map(|l| l.join("\n")),
        1 => "\\PC{0,200}",
        1 => prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

const DECLARATION_KEYS: &[&str] = &[
    "checks",
    "alerts",
    "retention",
    "resolvers",
    "name",
    "type",
    "target",
    "interval",
    "timeout",
    "remind",
    "body_match",
    "expect_status",
    "settings",
    "url",
    "alerts",
    "suppress",
    "default",
    "disabled",
    "max_redirects",
    "warn_days",
    "record",
    "<<",
];
const NODE_KEYS: &[&str] = &[
    "schema",
    "node_id",
    "bind_addr",
    "bind_port",
    "advertise",
    "secret",
    "name",
];
const TRUST_KEYS: &[&str] = &[
    "schema",
    "entries",
    "node_id",
    "address",
    "fingerprint",
    "cert",
    "added_at",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn declarations(text in yamlish(DECLARATION_KEYS)) {
        let _ = crate::declare::parse(&text);
    }

    #[test]
    fn node_files(text in yamlish(NODE_KEYS)) {
        let _ = crate::store::NodeConfig::parse(Path::new("node.yaml"), &text);
    }

    #[test]
    fn trust_files(text in yamlish(TRUST_KEYS)) {
        let _ = crate::store::TrustFile::parse(Path::new("trust.yaml"), &text);
    }
}
