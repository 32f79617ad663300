//! `qu alert add|list|edit|enable|disable|default|remove|test`.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use quptime::api::{
    AddAlert, AlertSpec, EditAlert, ListAlerts, RemoveAlert, SetAlertDefault, SetAlertEnabled,
    TestAlert,
};

use crate::cli::{AlertAdd, AlertCmd, AlertCommon, BaseUrl, Reach, WebhookArgs};
use crate::output::{json, table};

pub fn run(cmd: AlertCmd) -> Result<()> {
    match cmd {
        AlertCmd::Add(add) => {
            let spec = spec(*add)?;
            let name = spec.name.clone();
            let o = crate::client::call::<AddAlert>(&spec)?;
            println!(
                "added alert {name} (id {}, config ver {})",
                o.id.unwrap_or_default(),
                o.version
            );
            Ok(())
        }
        AlertCmd::List(args) => {
            let list = crate::client::call::<ListAlerts>(&())?;
            if args.json {
                return json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|a| {
                    let settings = a
                        .settings
                        .iter()
                        .filter(|(k, _)| !k.ends_with("_template"))
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    vec![
                        a.id.clone(),
                        if a.default {
                            format!("{}*", a.name)
                        } else {
                            a.name.clone()
                        },
                        a.kind.clone(),
                        if a.disabled {
                            "no".into()
                        } else {
                            "yes".into()
                        },
                        settings,
                    ]
                })
                .collect();
            println!(
                "{}",
                table(&["ID", "NAME", "TYPE", "ENABLED", "SETTINGS"], &rows)
            );
            println!("(* = default: attached to every check)");
            Ok(())
        }
        AlertCmd::Edit {
            alert,
            set,
            delivery,
        } => {
            let mut settings = BTreeMap::new();
            for kv in set {
                let Some((k, v)) = kv.split_once('=') else {
                    bail!("--set {kv:?}: use key=value (an empty value removes the setting)");
                };
                settings.insert(k.trim().to_string(), v.to_string());
            }
            delivery.apply(&mut settings);
            let o = crate::client::call::<EditAlert>(&(alert.clone(), settings))?;
            println!("updated alert {alert} (config ver {})", o.version);
            Ok(())
        }
        AlertCmd::Enable { alert } => toggle::<SetAlertEnabled>(alert, true, "enabled"),
        AlertCmd::Disable { alert } => toggle::<SetAlertEnabled>(alert, false, "disabled"),
        AlertCmd::Default { alert, state } => {
            let on = state == "on";
            toggle::<SetAlertDefault>(
                alert,
                on,
                if on {
                    "made default"
                } else {
                    "no longer default"
                },
            )
        }
        AlertCmd::Remove { alert } => {
            let o = crate::client::call::<RemoveAlert>(&alert)?;
            println!("removed alert {alert} (config ver {})", o.version);
            Ok(())
        }
        AlertCmd::Test { alert } => {
            let d = crate::client::call_slow::<TestAlert>(&alert)?;
            println!(
                "delivered through {} in {} ms: {}",
                d.channel, d.elapsed_ms, d.message
            );
            Ok(())
        }
    }
}

fn toggle<R>(alert: String, on: bool, what: &str) -> Result<()>
where
    R: quptime::transport::Rpc<Request = (String, bool), Response = quptime::state::Outcome>,
{
    let o = crate::client::call::<R>(&(alert.clone(), on))?;
    println!("{what} alert {alert} (config ver {})", o.version);
    Ok(())
}

fn common(settings: &mut BTreeMap<String, String>, c: AlertCommon) -> bool {
    if let Some(t) = c.subject_template {
        settings.insert("subject_template".into(), t);
    }
    if let Some(t) = c.body_template {
        settings.insert("body_template".into(), t);
    }
    if let Some(e) = c.events {
        settings.insert(quptime::state::route::EVENTS_KEY.into(), e);
    }
    c.delivery.apply(settings);
    c.default
}

fn spec(add: AlertAdd) -> Result<AlertSpec> {
    let mut s = BTreeMap::new();
    let (name, kind, default) = match add {
        AlertAdd::Smtp {
            name,
            host,
            port,
            from,
            to,
            user,
            password,
            tls,
            starttls,
            allow_plain_auth,
            common: c,
        } => {
            s.insert("host".into(), host);
            s.insert("port".into(), port.to_string());
            s.insert("from".into(), from);
            s.insert("to".into(), to);
            if let Some(u) = user {
                s.insert("user".into(), u);
            }
            if let Some(p) = password {
                s.insert("password".into(), p);
            }
            s.insert("tls".into(), smtp_tls(starttls, tls));
            if allow_plain_auth {
                s.insert("allow_plain_auth".into(), "true".into());
            }
            let d = common(&mut s, c);
            (name, "smtp", d)
        }
        AlertAdd::Discord {
            name,
            webhook,
            common: c,
        } => {
            s.insert("webhook".into(), webhook);
            let d = common(&mut s, c);
            (name, "discord", d)
        }
        AlertAdd::Webhook {
            name,
            url,
            method,
            headers,
            secret,
            common: c,
        } => {
            s.insert("url".into(), url);
            s.insert("method".into(), method);
            if !headers.is_empty() {
                let mut map = BTreeMap::new();
                for h in headers {
                    let Some((k, v)) = h.split_once(':') else {
                        bail!("--header {h:?}: use 'Name: value'");
                    };
                    map.insert(k.trim().to_string(), v.trim().to_string());
                }
                s.insert("headers".into(), serde_json::to_string(&map)?);
            }
            if let Some(secret) = secret {
                s.insert("secret".into(), secret);
            }
            let d = common(&mut s, c);
            (name, "webhook", d)
        }
        other => providers(other, &mut s)?,
    };
    let spec = AlertSpec {
        name,
        kind: kind.into(),
        default,
        settings: s,
    };
    // Refuse bad settings before contacting the daemon (checked again there).
    let channel = quptime::state::AlertChannel {
        id: "local".into(),
        name: spec.name.clone(),
        kind: spec.kind.clone(),
        default: spec.default,
        disabled: false,
        settings: spec.settings.clone(),
    };
    channel.validate(quptime::notify::validate)?;
    quptime::notify::refuse_unsafe(&channel)?;
    Ok(spec)
}

/// The settings of the HTTP providers (slack … googlechat): their own
/// flags, then `--base-url` and `--ca` (read here: the PEM goes into the
/// replicated settings, so every node trusts the same CA).
fn providers(
    add: AlertAdd,
    s: &mut BTreeMap<String, String>,
) -> Result<(String, &'static str, bool)> {
    let mut put = |k: &str, v: String| {
        s.insert(k.to_string(), v);
    };
    let (name, kind, base, reach, c) = match add {
        AlertAdd::Slack(w) => hook(w, "slack", &mut put),
        AlertAdd::Teams(w) => hook(w, "teams", &mut put),
        AlertAdd::Mattermost(w) => hook(w, "mattermost", &mut put),
        AlertAdd::Googlechat(w) => hook(w, "googlechat", &mut put),
        AlertAdd::Telegram {
            name,
            token,
            chat_id,
            base,
            reach,
            common,
        } => {
            put("token", token);
            put("chat_id", chat_id);
            (name, "telegram", Some(base), reach, common)
        }
        AlertAdd::Ntfy {
            name,
            topic,
            token,
            base,
            reach,
            common,
        } => {
            put("topic", topic);
            if let Some(t) = token {
                put("token", t);
            }
            (name, "ntfy", Some(base), reach, common)
        }
        AlertAdd::Gotify {
            name,
            token,
            base,
            reach,
            common,
        } => {
            put("token", token);
            (name, "gotify", Some(base), reach, common)
        }
        AlertAdd::Pushover {
            name,
            token,
            user,
            base,
            reach,
            common,
        } => {
            put("token", token);
            put("user", user);
            (name, "pushover", Some(base), reach, common)
        }
        AlertAdd::Pagerduty {
            name,
            routing_key,
            base,
            reach,
            common,
        } => {
            put("routing_key", routing_key);
            (name, "pagerduty", Some(base), reach, common)
        }
        AlertAdd::Opsgenie {
            name,
            api_key,
            base,
            reach,
            common,
        } => {
            put("api_key", api_key);
            (name, "opsgenie", Some(base), reach, common)
        }
        AlertAdd::Matrix {
            name,
            access_token,
            room_id,
            base,
            reach,
            common,
        } => {
            put("access_token", access_token);
            put("room_id", room_id);
            (name, "matrix", Some(base), reach, common)
        }
        AlertAdd::Smtp { .. } | AlertAdd::Discord { .. } | AlertAdd::Webhook { .. } => {
            bail!("not an HTTP provider")
        }
    };
    if let Some(url) = base.and_then(|b| b.base_url) {
        put("base_url", url);
    }
    if let Some(path) = reach.ca {
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("--ca {}: {e}", path.display()))?;
        put("ca", pem);
    }
    let d = common(s, c);
    Ok((name, kind, d))
}

/// A webhook-URL provider's settings.
fn hook(
    w: WebhookArgs,
    kind: &'static str,
    put: &mut impl FnMut(&str, String),
) -> (String, &'static str, Option<BaseUrl>, Reach, AlertCommon) {
    put("url", w.url);
    (w.name, kind, None, w.reach, w.common)
}

/// The `tls` setting from `--tls` and the original's `--starttls[=BOOL]`
/// (`--tls=true|false` mean implicit TLS or none).
fn smtp_tls(starttls: Option<bool>, tls: String) -> String {
    match (starttls, tls.as_str()) {
        (Some(true), _) => "starttls".into(),
        (Some(false), _) | (None, "false") => "none".into(),
        (None, "true") => "tls".into(),
        (None, _) => tls,
    }
}
