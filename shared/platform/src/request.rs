//! The id of the request being answered (`x-request-id`, assigned or kept at the edge), where
//! code deep in a handler can read it: an error answer quotes it, and the log line that
//! carries the cause names it, so a user's report leads to the cause.

use axum::{extract::Request, middleware::Next, response::Response};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The current request's id; `None` outside a request served behind [`scope`].
pub fn id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Middleware (inside the layer that sets `x-request-id`): runs the rest of the request with
/// its id readable through [`id`].
pub async fn scope(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    REQUEST_ID.scope(id, next.run(req)).await
}

/// Runs `f` as part of the request `id` (what [`scope`] does for a served request): for
/// tests and for work a handler hands to another task.
pub async fn within<F: std::future::Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}
