//! Runs the notifications service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(
        notifications::NAME,
        notifications::DEFAULT_PORT,
        notifications::router,
    )
    .await
}
