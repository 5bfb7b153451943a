//! Runs the donations service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(donations::NAME, donations::DEFAULT_PORT, donations::router).await
}
