//! Runs the identity service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(identity::NAME, identity::DEFAULT_PORT, identity::router).await
}
