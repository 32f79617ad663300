//! `qu alert …`: alert channel commands and their flags.

use clap::{Args, Subcommand};

use crate::cli::JsonArg;

#[derive(Debug, Subcommand)]
pub enum AlertCmd {
    /// Add an alert channel: smtp, discord, webhook, slack, teams, telegram,
    /// ntfy, gotify, pushover, pagerduty, opsgenie, matrix, mattermost or
    /// googlechat.
    ///
    /// Example: qu alert add webhook pager --url https://hooks.example.com/qu
    #[command(subcommand)]
    Add(Box<AlertAdd>),
    /// List channels (passwords, secrets and webhook paths masked).
    ///
    /// Example: qu alert list --json
    List(JsonArg),
    /// Change settings of a channel: --set key=value (empty value removes it).
    ///
    /// Example: qu alert edit ops --set port=465 --set tls=tls --set events=down,recovered
    /// Example: qu alert edit ops --escalate-after 15m --escalate-to oncall
    Edit {
        /// Id or name
        alert: String,
        /// key=value (repeatable)
        #[arg(long = "set", value_name = "KEY=VALUE",
              required_unless_present_any = ["escalate_after", "escalate_to", "digest_threshold"])]
        set: Vec<String>,
        #[command(flatten)]
        delivery: Delivery,
    },
    /// Send again through a channel.
    ///
    /// Example: qu alert enable oncall
    Enable {
        /// Id or name
        alert: String,
    },
    /// Stop sending through a channel, keeping it.
    ///
    /// Example: qu alert disable oncall
    Disable {
        /// Id or name
        alert: String,
    },
    /// Attach (on) or detach (off) a channel to every check.
    ///
    /// Example: qu alert default oncall on
    Default {
        /// Id or name
        alert: String,
        /// on or off
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Remove a channel (checks stop referring to it).
    ///
    /// Example: qu alert remove oncall
    Remove {
        /// Id or name
        alert: String,
    },
    /// Send `[quptime] test alert` through a channel and report the receiver's answer.
    ///
    /// Example: qu alert test oncall
    Test {
        /// Id or name
        alert: String,
    },
}

#[derive(Debug, Args)]
pub struct AlertCommon {
    /// Attach this channel to every check (also --default=true|false)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", action = clap::ArgAction::Set, value_name = "BOOL")]
    pub default: bool,
    /// Subject template ({check} {target} {state} {from} {evidence} {master} {time} {type} {detail})
    #[arg(long, value_name = "TEMPLATE")]
    pub subject_template: Option<String>,
    /// Body template (same placeholders)
    #[arg(long, value_name = "TEMPLATE")]
    pub body_template: Option<String>,
    /// Events this channel receives, comma-separated: down, recovered,
    /// reminder, degraded, monitor-degraded, flapping (default: all).
    /// Later: qu alert edit NAME --set events=down,recovered
    #[arg(long, value_name = "LIST")]
    pub events: Option<String>,
    #[command(flatten)]
    pub delivery: Delivery,
}

/// Escalation and the storm digest (any channel type).
#[derive(Debug, Args)]
pub struct Delivery {
    /// Still down this long after the DOWN went out on this channel: tell
    /// the --escalate-to channel, once (such as 15m; "" removes it on edit)
    #[arg(long, value_name = "DURATION", requires = "escalate_to")]
    pub escalate_after: Option<String>,
    /// The channel told when --escalate-after passes (name or id)
    #[arg(long, value_name = "CHANNEL", requires = "escalate_after")]
    pub escalate_to: Option<String>,
    /// More DOWNs (or RECOVEREDs) than this within a few seconds go as one
    /// message listing them; 0 turns it off (default 10; pagerduty and
    /// opsgenie: 0)
    #[arg(long, value_name = "N")]
    pub digest_threshold: Option<u32>,
}

impl Delivery {
    /// Put the given flags into `settings` (an empty value removes a
    /// setting on edit).
    pub fn apply(self, settings: &mut std::collections::BTreeMap<String, String>) {
        if let Some(v) = self.escalate_after {
            settings.insert(quptime::state::escalate::AFTER_KEY.into(), v);
        }
        if let Some(v) = self.escalate_to {
            settings.insert(quptime::state::escalate::TO_KEY.into(), v);
        }
        if let Some(n) = self.digest_threshold {
            settings.insert("digest_threshold".into(), n.to_string());
        }
    }
}

/// Reaching a provider's server: an extra CA for this channel.
#[derive(Debug, Args)]
pub struct Reach {
    /// PEM file of CA certificates to trust for this channel (a self-hosted
    /// server or a corporate proxy), on top of the system's
    #[arg(long, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
}

/// An API provider's address, when it is not the public service.
#[derive(Debug, Args)]
pub struct BaseUrl {
    /// The provider's API base URL (default: the public service)
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AlertAdd {
    /// E-mail through an SMTP server.
    ///
    /// Example: qu alert add smtp ops --host smtp.example.com --port 587 --from monitor@example.com --to ops@example.com --user bot --password '****' --starttls
    Smtp {
        /// Unique name
        name: String,
        /// Mail server
        #[arg(long)]
        host: String,
        /// Port (587 for STARTTLS, 465 for implicit TLS, 25 for local relays)
        #[arg(long)]
        port: u16,
        /// Sender address
        #[arg(long)]
        from: String,
        /// Recipients, comma-separated
        #[arg(long)]
        to: String,
        /// Login user (PLAIN/LOGIN auth)
        #[arg(long)]
        user: Option<String>,
        /// Login password
        #[arg(long)]
        password: Option<String>,
        /// Transport security: starttls, tls (implicit) or none (local relays only);
        /// --tls=true is tls, --tls=false is none
        #[arg(long, value_parser = ["starttls", "tls", "none", "true", "false"], default_value = "starttls")]
        tls: String,
        /// The original qu's flag: --starttls (or --starttls=true) is --tls starttls,
        /// --starttls=false is --tls none
        #[arg(long, conflicts_with = "tls", num_args = 0..=1, require_equals = true,
              default_missing_value = "true", value_name = "BOOL")]
        starttls: Option<bool>,
        /// Allow --user/--password over --tls none: the password travels in
        /// clear (only for a trusted local relay)
        #[arg(long)]
        allow_plain_auth: bool,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// A Discord channel webhook.
    ///
    /// Example: qu alert add discord oncall --webhook https://discord.com/api/webhooks/…
    Discord {
        /// Unique name
        name: String,
        /// The channel's webhook URL
        #[arg(long)]
        webhook: String,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// A JSON webhook (documented body; optional HMAC-SHA256 signature).
    ///
    /// Example: qu alert add webhook pager --url https://hooks.example.com/qu --header 'Authorization: Bearer x' --secret s3cret
    Webhook {
        /// Unique name
        name: String,
        /// Receiver URL
        #[arg(long)]
        url: String,
        /// HTTP method: POST, PUT or PATCH
        #[arg(long, default_value = "POST")]
        method: String,
        /// Extra header `Name: value` (repeatable)
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// Shared secret: adds X-Quptime-Signature: sha256=<HMAC of the body>
        #[arg(long)]
        secret: Option<String>,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// A Slack incoming webhook (Block Kit message).
    ///
    /// Example: qu alert add slack ops --url https://hooks.slack.com/services/T…/B…/…
    Slack(WebhookArgs),
    /// A Microsoft Teams workflow webhook (Adaptive Card).
    ///
    /// Example: qu alert add teams ops --url 'https://prod-00.westus.logic.azure.com/workflows/…&sig=…'
    Teams(WebhookArgs),
    /// A Mattermost incoming webhook.
    ///
    /// Example: qu alert add mattermost ops --url https://chat.example.com/hooks/xxx
    Mattermost(WebhookArgs),
    /// A Google Chat space webhook (threaded by incident).
    ///
    /// Example: qu alert add googlechat ops --url 'https://chat.googleapis.com/v1/spaces/AAA/messages?key=…&token=…'
    Googlechat(WebhookArgs),
    /// A Telegram chat, through a bot (Bot API sendMessage).
    ///
    /// Example: qu alert add telegram ops --token 123456:ABC-DEF --chat-id -1001234567890
    Telegram {
        /// Unique name
        name: String,
        /// The bot token from @BotFather
        #[arg(long)]
        token: String,
        /// Numeric chat id, or @channelname
        #[arg(long)]
        chat_id: String,
        #[command(flatten)]
        base: BaseUrl,
        #[command(flatten)]
        reach: Reach,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// An ntfy topic (ntfy.sh or a self-hosted server).
    ///
    /// Example: qu alert add ntfy phone --topic ops-alerts --base-url https://ntfy.example.com
    Ntfy {
        /// Unique name
        name: String,
        /// Topic name
        #[arg(long)]
        topic: String,
        /// Access token (for protected topics)
        #[arg(long)]
        token: Option<String>,
        #[command(flatten)]
        base: BaseUrl,
        #[command(flatten)]
        reach: Reach,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// A Gotify server (self-hosted; --base-url is required).
    ///
    /// Example: qu alert add gotify phone --base-url https://gotify.example.com --token AbCdEf123
    Gotify {
        /// Unique name
        name: String,
        /// Application token
        #[arg(long)]
        token: String,
        #[command(flatten)]
        base: BaseUrl,
        #[command(flatten)]
        reach: Reach,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// Pushover (application token and user or group key).
    ///
    /// Example: qu alert add pushover phone --token azGDORePK8gMaC0QOYAMyEEuzJnyUi --user uQiRzpo4DXghDmr9QzzfQu27cmVRsG
    Pushover {
        /// Unique name
        name: String,
        /// Application API token
        #[arg(long)]
        token: String,
        /// User or group key
        #[arg(long)]
        user: String,
        #[command(flatten)]
        base: BaseUrl,
        #[command(flatten)]
        reach: Reach,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// PagerDuty Events API v2: DOWN triggers, RECOVERED resolves (one dedup key).
    ///
    /// Example: qu alert add pagerduty oncall --routing-key 0123456789abcdef0123456789abcdef
    Pagerduty {
        /// Unique name
        name: String,
        /// Integration key of an Events API v2 integration
        #[arg(long)]
        routing_key: String,
        #[command(flatten)]
        base: BaseUrl,
        #[command(flatten)]
        reach: Reach,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// Opsgenie: DOWN creates an alert, RECOVERED closes it (by alias).
    ///
    /// Example: qu alert add opsgenie oncall --api-key 01234567-89ab-cdef-0123-456789abcdef
    Opsgenie {
        /// Unique name
        name: String,
        /// API integration key
        #[arg(long)]
        api_key: String,
        #[command(flatten)]
        base: BaseUrl,
        #[command(flatten)]
        reach: Reach,
        #[command(flatten)]
        common: AlertCommon,
    },
    /// A Matrix room (client-server API, a bot account's token).
    ///
    /// Example: qu alert add matrix ops --base-url https://matrix.example.org --access-token syt_… --room-id '!AbCd:example.org'
    Matrix {
        /// Unique name
        name: String,
        /// The bot account's access token
        #[arg(long)]
        access_token: String,
        /// Room id (!opaque:server)
        #[arg(long)]
        room_id: String,
        #[command(flatten)]
        base: BaseUrl,
        #[command(flatten)]
        reach: Reach,
        #[command(flatten)]
        common: AlertCommon,
    },
}

/// A provider reached through one webhook URL (which is its secret).
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Unique name
    pub name: String,
    /// The webhook URL
    #[arg(long)]
    pub url: String,
    #[command(flatten)]
    pub reach: Reach,
    #[command(flatten)]
    pub common: AlertCommon,
}
