//! Planning the cluster-wide settings a declaration may carry (history
//! retention, DNS resolvers, the canary's reference targets): each is
//! unchanged when absent, and a change is one `Change` row and one field of
//! the `DeclaredChange`. Apart from `plan.rs`, which plans the records.

use super::Declaration;
use super::plan::{Change, ChangeOp, FieldChange, Plan, fields, to_map};
use crate::error::{Error, ErrorKind, Result};
use crate::state::ClusterState;

/// Add to `out` the settings `decl` changes in `state`.
pub(super) fn plan_settings(
    state: &ClusterState,
    decl: &Declaration,
    out: &mut Plan,
) -> Result<()> {
    if let Some(r) = decl.retention {
        r.validate()
            .map_err(|e| Error::new(ErrorKind::Config, e.message().to_string()))?;
        if r != state.retention {
            let have = to_map(&state.retention);
            out.changes.push(Change {
                op: ChangeOp::Change,
                kind: "retention".into(),
                name: "history".into(),
                fields: fields(&have, &to_map(&r)),
            });
            out.change.retention = Some(r);
        }
    }
    if let Some(list) = &decl.resolvers {
        let list = crate::state::resolvers::validate(list)
            .map_err(|e| Error::new(ErrorKind::Config, format!("resolvers: {}", e.message())))?;
        if list != state.dns_resolvers {
            let show = |l: &[String]| {
                if l.is_empty() {
                    "system".to_string()
                } else {
                    l.join(",")
                }
            };
            out.changes.push(Change {
                op: ChangeOp::Change,
                kind: "resolvers".into(),
                name: "dns".into(),
                fields: vec![FieldChange {
                    field: "servers".into(),
                    from: Some(show(&state.dns_resolvers)),
                    to: Some(show(&list)),
                }],
            });
            out.change.dns_resolvers = Some(list);
        }
    }
    if let Some(list) = &decl.canary {
        let list = crate::state::canary::validate("canary", list)?;
        if list != state.canary_targets {
            let show = |l: &[String]| {
                if l.is_empty() {
                    "none".to_string()
                } else {
                    l.join(",")
                }
            };
            out.changes.push(Change {
                op: ChangeOp::Change,
                kind: "canary".into(),
                name: "targets".into(),
                fields: vec![FieldChange {
                    field: "targets".into(),
                    from: Some(show(&state.canary_targets)),
                    to: Some(show(&list)),
                }],
            });
            out.change.canary_targets = Some(list);
        }
    }
    Ok(())
}
