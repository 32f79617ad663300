//! The one place channel types are registered: each line names a type,
//! the registry field holding its notifier and the notifier. The macro
//! makes the registry, the dispatch of a send and the validation of a
//! channel from that list, so a type cannot be sendable but not
//! validated, or the reverse. `state::ALERT_TYPES` (which the state
//! checks without depending on this module) must list the same types,
//! in the same order: a unit test holds them together.

use std::sync::Arc;

use crate::error::Result;
use crate::state::AlertChannel;

#[cfg(test)]
use super::Notifier;
use super::notification::Notification;
use super::{
    Delivery, Notifiers, check, discord, failure, googlechat, gotify, http, matrix, mattermost,
    ntfy, opsgenie, pagerduty, pushover, slack, smtp, teams, telegram, tls, unknown_type, webhook,
};

macro_rules! registry {
    ($($kind:literal => $field:ident: $ty:ty,)*) => {
        /// One notifier per channel type.
        #[derive(Debug)]
        pub(super) struct Registry {
            $($field: $ty,)*
        }

        /// The registered types, as each notifier names itself.
        #[cfg(test)]
        const KINDS: &[&str] = &[$(<$ty as Notifier>::KIND),*];
        /// The registered types, as the dispatch matches them.
        #[cfg(test)]
        const MATCHED: &[&str] = &[$($kind),*];

        impl Notifiers {
            /// Send through the notifier of `channel`'s type.
            pub(super) async fn dispatch(
                &self,
                channel: &AlertChannel,
                n: &Notification,
            ) -> Result<Delivery> {
                let r = &self.inner;
                match channel.kind.as_str() {
                    $($kind => self.run(&r.$field, channel, n).await,)*
                    _ => Err(failure::invalid_config(unknown_type(channel))),
                }
            }
        }

        /// [`super::validate`] for any registered type.
        pub(super) fn validate(channel: &AlertChannel) -> Result<()> {
            match channel.kind.as_str() {
                $($kind => check::<$ty>(channel),)*
                _ => Err(unknown_type(channel)),
            }
        }

        /// A channel's parsed configuration as `Debug` shows it (in logs).
        #[cfg(test)]
        fn debug_config(channel: &AlertChannel) -> Result<String> {
            let settings = |kind| super::settings::Settings::new(kind, &channel.settings);
            match channel.kind.as_str() {
                $($kind => <$ty as Notifier>::config(settings($kind))
                    .map(|c| format!("{c:?}")),)*
                _ => Err(unknown_type(channel)),
            }
        }

        impl Registry {
            /// Every notifier, sharing `tls` (SMTP) and `http` (the rest).
            pub(super) fn new(tls: Arc<tls::NotifyTls>, http: Arc<http::HttpSender>) -> Registry {
                Registry {
                    $($field: Build::build(&tls, &http),)*
                }
            }
        }
    };
}

registry! {
    "smtp" => smtp: smtp::SmtpNotifier,
    "discord" => discord: discord::DiscordNotifier,
    "webhook" => webhook: webhook::WebhookNotifier,
    "slack" => slack: slack::SlackNotifier,
    "teams" => teams: teams::TeamsNotifier,
    "telegram" => telegram: telegram::TelegramNotifier,
    "ntfy" => ntfy: ntfy::NtfyNotifier,
    "gotify" => gotify: gotify::GotifyNotifier,
    "pushover" => pushover: pushover::PushoverNotifier,
    "pagerduty" => pagerduty: pagerduty::PagerDutyNotifier,
    "opsgenie" => opsgenie: opsgenie::OpsgenieNotifier,
    "matrix" => matrix: matrix::MatrixNotifier,
    "mattermost" => mattermost: mattermost::MattermostNotifier,
    "googlechat" => googlechat: googlechat::GoogleChatNotifier,
}

/// How a notifier is made from the shared TLS material and HTTP client.
trait Build {
    fn build(tls: &Arc<tls::NotifyTls>, http: &Arc<http::HttpSender>) -> Self;
}

impl Build for smtp::SmtpNotifier {
    fn build(tls: &Arc<tls::NotifyTls>, _: &Arc<http::HttpSender>) -> Self {
        smtp::SmtpNotifier::new(tls.clone())
    }
}

macro_rules! http_built {
    ($($ty:ty),*) => {
        $(impl Build for $ty {
            fn build(_: &Arc<tls::NotifyTls>, http: &Arc<http::HttpSender>) -> Self {
                <$ty>::new(http.clone())
            }
        })*
    };
}

http_built!(
    discord::DiscordNotifier,
    webhook::WebhookNotifier,
    slack::SlackNotifier,
    teams::TeamsNotifier,
    telegram::TelegramNotifier,
    ntfy::NtfyNotifier,
    gotify::GotifyNotifier,
    pushover::PushoverNotifier,
    pagerduty::PagerDutyNotifier,
    opsgenie::OpsgenieNotifier,
    matrix::MatrixNotifier,
    mattermost::MattermostNotifier,
    googlechat::GoogleChatNotifier
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_and_the_state_list_the_same_types() {
        assert_eq!(KINDS, crate::state::ALERT_TYPES.as_slice());
        assert_eq!(MATCHED, KINDS);
    }

    #[test]
    fn parsed_configs_of_the_providers_never_show_secrets() {
        let cases: [(&str, &[(&str, &str)]); 11] = [
            (
                "slack",
                &[("url", "https://hooks.slack.com/services/T/B/TOKEN")],
            ),
            ("teams", &[("url", "https://x.logic.azure.com/w?sig=TOKEN")]),
            ("mattermost", &[("url", "https://chat.test/hooks/TOKEN")]),
            (
                "googlechat",
                &[(
                    "url",
                    "https://chat.googleapis.com/v1/spaces/A/messages?token=TOKEN",
                )],
            ),
            ("telegram", &[("token", "1:TOKEN"), ("chat_id", "1")]),
            ("ntfy", &[("topic", "ops"), ("token", "tk_TOKEN")]),
            (
                "gotify",
                &[("base_url", "https://g.test"), ("token", "TOKEN")],
            ),
            ("pushover", &[("token", "aTOKEN"), ("user", "uTOKEN")]),
            ("pagerduty", &[("routing_key", "TOKEN0123")]),
            ("opsgenie", &[("api_key", "TOKEN-0123")]),
            (
                "matrix",
                &[("access_token", "syt_TOKEN"), ("room_id", "!r:x.test")],
            ),
        ];
        for (kind, settings) in cases {
            let channel = AlertChannel {
                id: "a".into(),
                name: "a".into(),
                kind: kind.into(),
                default: false,
                disabled: false,
                settings: settings
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            };
            let shown = debug_config(&channel).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(!shown.contains("TOKEN"), "{kind}: {shown}");
        }
    }
}
