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
}
