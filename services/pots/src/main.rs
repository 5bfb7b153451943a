//! Runs the pots service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(pots::NAME, pots::DEFAULT_PORT, pots::router).await
}
