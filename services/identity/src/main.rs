//! Runs the identity service alone, on its own port, with its purge job.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(identity::NAME, identity::DEFAULT_PORT, |ctx| {
        identity::spawn_jobs(&ctx);
        identity::router(ctx)
    })
    .await
}
