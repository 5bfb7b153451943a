//! Runs the referral service alone, on its own port.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::run_service(referral::NAME, referral::DEFAULT_PORT, referral::router).await
}
