//! The scanning page's « Se déconnecter » ends the partner's session on the server.

use crate::*;

#[tokio::test]
async fn the_scan_pages_sign_out_ends_the_session_on_the_server() {
    // The page's « Se déconnecter » calls identity's logout with its token before forgetting
    // it (services/qr/assets/scan.js; the Chromium test services/qr/tests/browser/scan.mjs
    // clicks it). This is the call it makes, and what follows for the partner's token.
    let js = include_str!("../../../services/qr/assets/scan.js");
    let handler = js
        .split("$('logout').onclick")
        .nth(1)
        .expect("the scan page has a logout handler");
    assert!(
        handler.contains("identity + '/logout?scope=local'"),
        "{handler}"
    );
    let st = stack().await;
    st.account("caisse@cinedakar.sn", &["user", "partner"])
        .await;
    let token = access(&st.sign_in("caisse@cinedakar.sn").await);
    let before = st.get("/qr/venues", &token).await.status();
    assert_ne!(before, 401);
    expect(st.logout(&token, "local").await, 204).await;
    let err = expect(st.get("/qr/venues", &token).await, 401).await;
    assert_eq!(err["code"], "PGRST303");
}
