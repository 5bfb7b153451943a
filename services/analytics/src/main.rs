//! Runs the analytics service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(analytics::NAME, analytics::DEFAULT_PORT, analytics::router).await
}
