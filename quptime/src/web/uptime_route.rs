//! `/badge/<check>/uptime/<window>.svg`: the uptime badge of a check
//! (window `24h`, `7d`, `30d` or `90d`), from the node's replicated state,
//! so every node serves the same figure.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{Response, StatusCode};

use super::{StatusSource, badge, text};
use crate::state::history::Window;

/// Answer the badge for `check` and `file` (`30d.svg`).
pub(crate) async fn badge(
    source: Arc<dyn StatusSource>,
    Path((check, file)): Path<(String, String)>,
) -> Response<Body> {
    let shown: String = check.chars().take(64).collect();
    let Some(window) = file.strip_suffix(".svg").and_then(Window::parse) else {
        let file: String = file.chars().take(64).collect();
        return text(
            StatusCode::NOT_FOUND,
            "text/plain",
            format!(
                "no uptime window {file:?}: use /badge/<check>/uptime/24h.svg, 7d.svg, 30d.svg \
                 or 90d.svg\n"
            ),
        );
    };
    let Some(state) = source.state() else {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "this node serves no uptime history\n".into(),
        );
    };
    match state.find_check(&check) {
        Ok(c) => text(
            StatusCode::OK,
            "image/svg+xml",
            badge::uptime_svg(&c.name, window, state.uptime(&c.id, window)),
        ),
        Err(_) => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            format!("no check named or with id {shown:?}; /api/status lists the checks\n"),
        ),
    }
}
