//! `qu check add|list|edit|enable|disable|remove`.

use anyhow::Result;
use quptime::api::{
    AddCheck, CheckEdit, CheckPatch, CheckSpec, EditCheck, ListChecks, RemoveCheck, SetCheckEnabled,
};
use quptime::api::{GetPushUrl, PushUrl, PushUrlRequest, TestCheck};
use quptime::state::{Check, CheckState, CheckType, ProbeFields, duration};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::{CheckAdd, CheckCmd, CheckCommon};
use crate::output::{json, table};

pub fn run(cmd: CheckCmd) -> Result<()> {
    match cmd {
        CheckCmd::Add(add) => {
            let spec = spec(add)?;
            // Refuse bad input here, before touching the daemon; the
            // daemon checks again at apply.
            spec.clone().into_check("local".into(), Vec::new())?;
            let name = spec.name.clone();
            let push = spec.kind == CheckType::Push;
            let outcome = crate::client::call::<AddCheck>(&spec)?;
            println!(
                "added check {name} (id {}, config ver {})",
                outcome.id.unwrap_or_default(),
                outcome.version
            );
            if push {
                let url = crate::client::call::<GetPushUrl>(&PushUrlRequest {
                    check: name,
                    rotate: false,
                })?;
                print_push_url(&url);
            }
            Ok(())
        }
        CheckCmd::PushUrl {
            check,
            rotate,
            json: args,
        } => {
            let url = crate::client::call::<GetPushUrl>(&PushUrlRequest { check, rotate })?;
            if args.json {
                return json(&url);
            }
            print_push_url(&url);
            Ok(())
        }
        CheckCmd::List(args) => {
            let mut checks = crate::client::call::<ListChecks>(&())?;
            // Shown, never the password in a target (`user:***@host`).
            for c in &mut checks {
                c.target = quptime::state::mask_credentials(&c.target).into_owned();
                if let Some(http) = c.http_mut() {
                    *http = http.masked();
                }
            }
            if args.json {
                return json(&checks);
            }
            println!("{}", list_table(&checks));
            Ok(())
        }
        CheckCmd::Edit {
            check,
            name,
            target,
            common,
            http,
            tls,
            dns,
            tcp,
            icmp,
            push,
        } => {
            let mut probe = http_settings(&http)?;
            probe.extend(settings(&push)?);
            probe.extend(settings(&tls)?);
            probe.extend(dns_edit_settings(&dns)?);
            probe.extend(settings(&tcp)?);
            probe.extend(settings(&icmp)?);
            let patch = CheckPatch {
                name,
                target,
                interval: common.interval,
                timeout: common.timeout,
                probe,
                alerts: common.alerts,
                suppress: common.suppress,
                remind: common.remind,
                fail_after: common.fail_after,
                recover_after: common.recover_after,
                quorum: common.quorum,
                nodes: common.nodes.map(terms),
                depends_on: common.depends_on.map(terms),
                flap_threshold: common.flap_threshold,
                flap_window: common.flap_window,
            };
            let outcome = crate::client::call::<EditCheck>(&CheckEdit {
                check: check.clone(),
                patch,
            })?;
            println!("updated check {check} (config ver {})", outcome.version);
            Ok(())
        }
        CheckCmd::Test { check, state } => {
            let to = if state == "down" {
                CheckState::Down
            } else {
                CheckState::Up
            };
            let results = crate::client::call_slow::<TestCheck>(&(check, to))?;
            let mut failed = 0;
            for r in &results {
                if r.ok {
                    println!(
                        "{}: delivered in {} ms: {}",
                        r.channel, r.elapsed_ms, r.message
                    );
                } else {
                    failed += 1;
                    eprintln!("{}: failed: {}", r.channel, r.message);
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} of {} channels failed", results.len());
            }
            Ok(())
        }
        CheckCmd::Enable { check } => toggle(check, true),
        CheckCmd::Disable { check } => toggle(check, false),
        CheckCmd::Remove { check } => {
            let outcome = crate::client::call::<RemoveCheck>(&check)?;
            println!("removed check {check} (config ver {})", outcome.version);
            Ok(())
        }
    }
}

/// The push URL, shown once: the path (any node's `--http` listener
/// takes it) and this node's full URL when it serves one.
fn print_push_url(url: &PushUrl) {
    println!(
        "push URL of {} (shown once; `qu check push-url {} --rotate` makes a new one):",
        url.check, url.check
    );
    println!("  {}", url.url.as_deref().unwrap_or(&url.path));
    if url.url.is_none() {
        println!("  (on any node's web listener, `qu serve --http ADDR`)");
    }
    println!("a job reports success with GET or POST, failure with ?status=fail&msg=...");
}

fn toggle(check: String, enabled: bool) -> Result<()> {
    let outcome = crate::client::call::<SetCheckEnabled>(&(check.clone(), enabled))?;
    let what = if enabled { "enabled" } else { "disabled" };
    println!("{what} check {check} (config ver {})", outcome.version);
    Ok(())
}

/// The `check list` table (tested against golden output).
pub fn list_table(checks: &[Check]) -> String {
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.name.clone(),
                c.kind().as_str().into(),
                c.target.clone(),
                duration::format(c.interval),
                duration::format(c.timeout),
                if c.disabled {
                    "no".into()
                } else {
                    "yes".into()
                },
            ]
        })
        .collect();
    table(
        &[
            "ID", "NAME", "TYPE", "TARGET", "INTERVAL", "TIMEOUT", "ENABLED",
        ],
        &rows,
    )
}

fn blank(kind: CheckType, name: String, target: String, common: CheckCommon) -> CheckSpec {
    CheckSpec {
        interval: common.interval,
        timeout: common.timeout,
        alerts: common.alerts.unwrap_or_default(),
        suppress: common.suppress.unwrap_or_default(),
        remind: common.remind,
        fail_after: common.fail_after,
        recover_after: common.recover_after,
        quorum: common.quorum,
        nodes: common.nodes.map(terms).unwrap_or_default(),
        depends_on: common.depends_on.map(terms).unwrap_or_default(),
        flap_threshold: common.flap_threshold,
        flap_window: common.flap_window,
        ..CheckSpec::new(name, kind, target)
    }
}

/// The `k=v` terms of `--nodes`, without empty ones (`--nodes ''` clears).
fn terms(v: Vec<String>) -> Vec<String> {
    v.into_iter().filter(|t| !t.trim().is_empty()).collect()
}

/// The probe flags given, by the names of the settings they set (the
/// flag structs serialize to those names and leave out what is unset).
fn settings<T: Serialize>(opts: &T) -> Result<Map<String, Value>> {
    match serde_json::to_value(opts)? {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

/// The dns edit flags by setting name: `--expect-value ''` empties the
/// list, `--expect-count 0` drops the count (an empty text resets).
fn dns_edit_settings(dns: &crate::cli::DnsEditOpts) -> Result<Map<String, Value>> {
    let mut m = settings(dns)?;
    if let Some(values) = &dns.expect_value {
        let kept: Vec<Value> = values
            .iter()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Value::from(v.as_str()))
            .collect();
        m.insert("expect_values".into(), Value::Array(kept));
    }
    match dns.expect_count {
        Some(0) => {
            m.insert("expect_count".into(), "".into());
        }
        Some(n) => {
            m.insert("expect_count".into(), n.into());
        }
        None => {}
    }
    Ok(m)
}

/// The http flags by setting name, with the ones that are not one value
/// each: `--ip4`/`--ip6` as `ip_version`, `--ca FILE` as the file's PEM.
fn http_settings(http: &crate::cli::HttpOpts) -> Result<Map<String, Value>> {
    let mut m = settings(http)?;
    if http.ip4 {
        m.insert("ip_version".into(), 4.into());
    }
    if http.ip6 {
        m.insert("ip_version".into(), 6.into());
    }
    if let Some(path) = &http.ca {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--ca {}: {e}", path.display()))?;
        m.insert("ca".into(), pem.into());
    }
    Ok(m)
}

/// The probe flags as a check's settings, checked as the daemon reads them.
fn probe_fields<T: Serialize>(opts: &T) -> Result<ProbeFields> {
    serde_json::from_value(Value::Object(settings(opts)?)).map_err(|e| anyhow::anyhow!("{e}"))
}

fn spec(add: CheckAdd) -> Result<CheckSpec> {
    let mut probe = ProbeFields::default();
    let spec = match add {
        CheckAdd::Http {
            name,
            url,
            http,
            common,
        } => {
            probe.http =
                serde_json::from_value::<ProbeFields>(Value::Object(http_settings(&http)?))
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .http;
            blank(CheckType::Http, name, url, common)
        }
        CheckAdd::Tcp {
            name,
            target,
            tcp,
            common,
        } => {
            probe.tcp = probe_fields(&tcp)?.tcp;
            blank(CheckType::Tcp, name, target, common)
        }
        CheckAdd::Icmp {
            name,
            host,
            icmp,
            common,
        } => {
            probe.icmp = probe_fields(&icmp)?.icmp;
            blank(CheckType::Icmp, name, host, common)
        }
        CheckAdd::Tls {
            name,
            target,
            tls,
            common,
        } => {
            probe.tls = probe_fields(&tls)?.tls;
            blank(CheckType::Tls, name, target, common)
        }
        CheckAdd::Dns {
            name,
            host,
            dns,
            common,
        } => {
            probe.dns = probe_fields(&dns)?.dns;
            blank(CheckType::Dns, name, host, common)
        }
        CheckAdd::Push { name, push, common } => {
            probe.push = probe_fields(&push)?.push;
            blank(CheckType::Push, name, String::new(), common)
        }
    };
    Ok(CheckSpec { probe, ..spec })
}
