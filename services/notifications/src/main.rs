//! Runs the notifications service alone, on its own port, with its jobs (dispatcher,
//! digests, analytics rollup).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(notifications::NAME, notifications::DEFAULT_PORT, |ctx| {
        notifications::spawn_jobs(&ctx);
        notifications::router(ctx)
    })
    .await
}
