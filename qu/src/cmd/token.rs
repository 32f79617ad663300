//! `qu token create|list|revoke`: API tokens for the HTTP API.

use anyhow::Result;
use quptime::api::{CreateToken, ListTokens, RevokeToken, TokenSpec};

use crate::cli::TokenCmd;
use crate::output::{json, table};

/// RFC 3339 (seconds) of `ms` since the epoch.
fn at(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

pub fn run(cmd: TokenCmd) -> Result<()> {
    match cmd {
        TokenCmd::Create { role, name } => {
            quptime::state::api_token::TokenRole::parse(&role)?;
            let created = crate::client::call::<CreateToken>(&TokenSpec { name, role })?;
            println!("{}", created.token);
            eprintln!(
                "{} token {} ({}): this is the only time it is shown; send it as \
                 `Authorization: Bearer <token>`",
                created.record.role, created.record.name, created.record.id
            );
            Ok(())
        }
        TokenCmd::List(args) => {
            let list = crate::client::call::<ListTokens>(&())?;
            if args.json {
                return json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        t.name.clone(),
                        t.role.to_string(),
                        at(t.created_at_ms),
                        t.last_used_ms.map_or_else(|| "never".into(), at),
                    ]
                })
                .collect();
            println!(
                "{}",
                table(&["ID", "NAME", "ROLE", "CREATED", "LAST_USED"], &rows)
            );
            Ok(())
        }
        TokenCmd::Revoke { token } => {
            let o = crate::client::call::<RevokeToken>(&token)?;
            println!("revoked {token} (config ver {})", o.version);
            Ok(())
        }
    }
}
