//! `qu enroll create|join|list|approve|revoke`.

use anyhow::{Result, bail};
use quptime::api::{
    ApproveEnrollment, CreateEnrollment, EnrollSpec, ListEnrollments, RevokeEnrollment,
};
use quptime::enroll::{JoinOptions, Token, unix_now};
use quptime::init::InitOptions;
use quptime::state::duration;

use crate::cli::EnrollCmd;
use crate::output::{json, table};

pub fn run(cmd: EnrollCmd) -> Result<()> {
    match cmd {
        EnrollCmd::Create {
            name,
            ttl,
            auto_approve,
        } => {
            quptime::api::enrollment_ttl(&ttl)?;
            let created = crate::client::call::<CreateEnrollment>(&EnrollSpec {
                name,
                ttl,
                auto_approve,
            })?;
            println!("{}", created.token);
            eprintln!(
                "token {} expires {}; on the new host run: qu enroll join <token> --advertise <host:port>",
                created.record.id,
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH
                        + std::time::Duration::from_secs(created.record.expires_at)
                )
            );
            Ok(())
        }
        EnrollCmd::Join {
            token,
            yes,
            advertise,
            bind,
            port,
            wait,
        } => {
            let token = Token::decode(&token)?;
            let wait =
                duration::parse(&wait).map_err(|e| anyhow::anyhow!("--wait: {}", e.message()))?;
            println!("cluster members in this token:");
            for ep in &token.endpoints {
                println!("  {}  {}  {}", ep.node_id, ep.addr, ep.fingerprint);
            }
            if !yes && !crate::cmd::node::confirm("Trust these keys and join?")? {
                bail!("not joined; nothing changed");
            }
            let dir = quptime::paths::data_dir();
            let opts = JoinOptions {
                init: InitOptions {
                    bind_addr: Some(bind),
                    bind_port: port,
                    advertise,
                    ..InitOptions::default()
                },
                wait,
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let joined = rt.block_on(quptime::enroll::join(&dir, &token, opts, || {
                eprintln!(
                    "waiting for approval: run `qu enroll approve {}` on a member",
                    token.id
                );
            }))?;
            println!(
                "joined as node {} ({} members trusted)",
                joined.node_id,
                joined.members.len()
            );
            println!("data dir: {}", dir.display());
            println!("now start the daemon: qu serve");
            Ok(())
        }
        EnrollCmd::List(args) => {
            let list = crate::client::call::<ListEnrollments>(&())?;
            if args.json {
                return json(&list);
            }
            let now = unix_now();
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|e| {
                    let state = if e.used {
                        "used"
                    } else if e.expires_at <= now {
                        "expired"
                    } else if e.request.is_some() && !e.approved {
                        "awaiting approval"
                    } else {
                        "open"
                    };
                    vec![
                        e.id.clone(),
                        e.name.clone().unwrap_or_else(|| "-".into()),
                        state.into(),
                        e.request
                            .as_ref()
                            .map(|r| r.node_id.to_string())
                            .unwrap_or_else(|| "-".into()),
                        format!("{}m", e.expires_at.saturating_sub(now) / 60),
                        if e.auto_approve {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                    ]
                })
                .collect();
            println!(
                "{}",
                table(
                    &["ID", "NAME", "STATE", "REQUESTED_BY", "EXPIRES_IN", "AUTO"],
                    &rows
                )
            );
            Ok(())
        }
        EnrollCmd::Approve { id } => {
            let o = crate::client::call::<ApproveEnrollment>(&id)?;
            println!("approved {id} (config ver {})", o.version);
            Ok(())
        }
        EnrollCmd::Revoke { id } => {
            let o = crate::client::call::<RevokeEnrollment>(&id)?;
            println!("revoked {id} (config ver {})", o.version);
            Ok(())
        }
    }
}
