//! The probe settings as documents write them: every kind's fields side by
//! side, flat next to a check's name and target.
//!
//! The control API's `CheckSpec`, the declaration file's `CheckDecl` and
//! the C and Python documents name a check's type and its settings as
//! sibling keys (`type: http`, `expect_status: 2xx`), and front ends send
//! the other kinds' keys empty (`"warn_days": null`). [`ProbeFields`]
//! reads that shape with the probe types themselves, so their fields and
//! rules exist once, and turns it into the check's [`Probe`] once the type
//! is known, refusing a setting of another kind with its name and kind.
//! [`ProbeFields::patch`] changes settings by name the same way; the
//! declaration reads them key by key through `ProbeFields::read_entry`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::probe::{
    CheckType, DnsProbe, HttpProbe, IcmpProbe, Probe, PushProbe, TcpProbe, TlsProbe,
};
use crate::error::{Error, Result};

/// Every kind's probe settings; all but the check's own kind stay at
/// their defaults. Flattened into the documents that describe a check;
/// like those documents always did, it ignores keys it does not know (the
/// declaration file, which refuses them, reads its records itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeFields {
    /// Settings of http checks.
    #[serde(flatten)]
    pub http: HttpProbe,
    /// Settings of tls checks.
    #[serde(flatten)]
    pub tls: TlsProbe,
    /// Settings of dns checks.
    #[serde(flatten)]
    pub dns: DnsProbe,
    /// Settings of tcp checks.
    #[serde(flatten)]
    pub tcp: TcpProbe,
    /// Settings of icmp checks.
    #[serde(flatten)]
    pub icmp: IcmpProbe,
    /// Settings of push checks (`period`, `grace`; never the token hash,
    /// which [`ProbeFields::of`] leaves out and [`into_probe`] refuses).
    ///
    /// [`into_probe`]: ProbeFields::into_probe
    #[serde(flatten)]
    pub push: PushProbe,
}

impl ProbeFields {
    /// The document form of `probe`.
    pub fn of(probe: &Probe) -> ProbeFields {
        let mut f = ProbeFields::default();
        match probe {
            Probe::Http(p) => f.http = p.clone(),
            Probe::Tls(p) => f.tls = p.clone(),
            Probe::Dns(p) => f.dns = p.clone(),
            Probe::Tcp(p) => f.tcp = p.clone(),
            Probe::Icmp(p) => f.icmp = p.clone(),
            Probe::Push(p) => {
                f.push = PushProbe {
                    token_hash: None,
                    ..p.clone()
                }
            }
        }
        f
    }

    /// The settings of a `kind` check; a setting of another kind is
    /// refused, naming it and the kind it belongs to.
    pub fn into_probe(self, kind: CheckType) -> Result<Probe> {
        let ProbeFields {
            http,
            tls,
            dns,
            tcp,
            icmp,
            push,
        } = self;
        if push.token_hash.is_some() {
            return Err(Error::invalid_field(
                "token_hash",
                "the push token is made by the cluster, not given: leave token_hash out and \
                 use `qu check push-url <name> --rotate` for a new URL",
            ));
        }
        let others: [(CheckType, Option<String>); 6] = [
            (CheckType::Http, first_set(&http)),
            (CheckType::Tls, first_set(&tls)),
            (CheckType::Dns, first_set(&dns)),
            (CheckType::Tcp, first_set(&tcp)),
            (CheckType::Icmp, first_set(&icmp)),
            (CheckType::Push, first_set(&push)),
        ];
        for (owner, field) in others {
            if let Some(field) = field.filter(|_| owner != kind) {
                return Err(Error::invalid(format!(
                    "{field} applies to {} checks only, not to {} checks",
                    owner.as_str(),
                    kind.as_str()
                )));
            }
        }
        Ok(match kind {
            CheckType::Http => Probe::Http(http),
            CheckType::Tls => Probe::Tls(tls),
            CheckType::Dns => Probe::Dns(dns),
            CheckType::Tcp => Probe::Tcp(tcp),
            CheckType::Icmp => Probe::Icmp(icmp),
            CheckType::Push => Probe::Push(push),
        })
    }

    /// The settings as a map of document names to values (defaults left
    /// out).
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }

    /// `probe` with the settings in `changes` (document names) changed: a
    /// `null` keeps a setting, an empty text resets it to its default, any
    /// other value sets it. Unknown names and settings of another kind are
    /// refused, naming them.
    pub fn patch(probe: &Probe, changes: &Map<String, Value>) -> Result<Probe> {
        let mut fields = ProbeFields::of(probe).to_map();
        let names = ProbeFields::names();
        for (name, value) in changes {
            if !names.contains(&name.as_str()) {
                return Err(Error::invalid(format!(
                    "{}: not a check setting; use one of {}",
                    crate::state::fields::excerpt(name),
                    names.join(", ")
                )));
            }
            match value {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {
                    fields.remove(name);
                }
                v => {
                    fields.insert(name.clone(), v.clone());
                }
            }
        }
        let merged: ProbeFields = serde_json::from_value(Value::Object(fields))
            .map_err(|e| Error::invalid(e.to_string()))?;
        let mut patched = merged.into_probe(probe.kind())?;
        // The push token is the cluster's: a change of settings keeps it.
        if let (Probe::Push(old), Probe::Push(new)) = (probe, &mut patched) {
            new.token_hash.clone_from(&old.token_hash);
        }
        Ok(patched)
    }
}

/// The name of the first setting of `probe` that is not at its default
/// (the settings skip their defaults when written).
fn first_set<T: Serialize>(probe: &T) -> Option<String> {
    match serde_json::to_value(probe) {
        Ok(Value::Object(m)) => m.keys().next().cloned(),
        _ => None,
    }
}
