//! The PNG/SVG of a code: a real decoder reads it back; only the owner, admins and the
//! pack's partner staff may fetch it.

use auth::Role;
use reqwest::Method;

use crate::*;

async fn fetch(s: &Stack, path: &str, token: Option<String>) -> reqwest::Response {
    let mut r = s.app.request(Method::GET, path);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn issue_render_decode_redeem() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;
    let grouped = qr::code::grouped(&w.code);
    let res = fetch(
        &s,
        &format!("/codes/{grouped}.png"),
        Some(testkit::token(Role::User, w.owner)),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let png = res.bytes().await.unwrap();
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    assert!(
        img.width() >= 400 && img.height() >= 400,
        "{}x{}",
        img.width(),
        img.height()
    );
    // A quiet zone: the border is white.
    assert!((0..img.width()).all(|x| img.get_pixel(x, 0).0[0] == 255));
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, grouped);

    // What the camera read is what the counter sends.
    let body = expect(redeem(&s.app, w.staff, &content, "plateau").await, 200).await;
    assert_eq!(body["result"], "redeemed");

    // SVG too.
    let res = fetch(
        &s,
        &format!("/codes/{}.svg", w.code),
        Some(testkit::token(Role::User, w.owner)),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().contains("<svg"));
}

#[tokio::test]
async fn only_owner_admins_and_the_partner_see_the_code() {
    let s = stack().await;
    let pool = s.pool();
    let w = world(pool, today()).await;
    let path = format!("/codes/{}.png", w.code);
    assert_eq!(fetch(&s, &path, None).await.status(), 401);
    let stranger = user(pool, Some("Moussa Diop")).await;
    assert_eq!(
        fetch(&s, &path, Some(testkit::token(Role::User, stranger)))
            .await
            .status(),
        403
    );
    let other_partner = partner(pool, "50", 0, "weekly").await;
    let other_staff = member(pool, other_partner, None).await;
    assert_eq!(
        fetch(&s, &path, Some(testkit::token(Role::Partner, other_staff)))
            .await
            .status(),
        403
    );
    // The partner's staff holding a user token only: still refused.
    assert_eq!(
        fetch(&s, &path, Some(testkit::token(Role::User, w.staff)))
            .await
            .status(),
        403
    );
    assert_eq!(
        fetch(&s, &path, Some(testkit::token(Role::Partner, w.staff)))
            .await
            .status(),
        200
    );
    assert_eq!(
        fetch(&s, &path, Some(testkit::token(Role::Admin, stranger)))
            .await
            .status(),
        200
    );
    assert_eq!(
        fetch(&s, &path, Some(testkit::token(Role::User, w.owner)))
            .await
            .status(),
        200
    );
    // Forged or unknown: 404.
    let forged = qr::QrSecret::new(&[1u8; 32]).unwrap().generate();
    let b = expect(
        fetch(
            &s,
            &format!("/codes/{forged}.png"),
            Some(testkit::token(Role::Admin, stranger)),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(b["code"], "qr_not_found");
    let unknown = config().secret.generate();
    assert_eq!(
        fetch(
            &s,
            &format!("/codes/{unknown}.png"),
            Some(testkit::token(Role::Admin, stranger))
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        fetch(
            &s,
            &format!("/codes/{}.gif", w.code),
            Some(testkit::token(Role::Admin, stranger))
        )
        .await
        .status(),
        404
    );
}
