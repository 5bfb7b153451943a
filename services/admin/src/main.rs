//! Runs the admin service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(admin::NAME, admin::DEFAULT_PORT, admin::router).await
}
