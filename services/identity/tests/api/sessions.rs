use crate::{expect, s, stack, PHONE};

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_chain() {
    let st = stack().await;
    let first = st.sign_in(PHONE).await;
    let r1 = s(&first, "refresh_token");

    let second = expect(st.refresh(&r1).await, 200).await;
    let r2 = s(&second, "refresh_token");
    assert_ne!(r1, r2);
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    expect(st.user(&s(&second, "access_token")).await, 200).await;

    let third = expect(st.refresh(&r2).await, 200).await;
    let r3 = s(&third, "refresh_token");

    // The rows form a chain: one sign-in, each row the child of the previous one.
    let rows: Vec<(uuid::Uuid, Option<uuid::Uuid>, uuid::Uuid, bool)> = sqlx::query_as(
        "select id, parent_session_id, chain_id, is_revoked from identity.user_sessions order by created_at, id",
    )
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.2 == rows[0].0));
    let revoked = rows.iter().filter(|r| r.3).count();
    assert_eq!(revoked, 2);

    // r1 was rotated: presented again after the reuse interval, it is reuse, and ends the
    // sign-in (r3 included). 400 with GoTrue's codes.
    st.age_rotation(&r1, 11).await;
    let err = expect(st.refresh(&r1).await, 400).await;
    assert_eq!(err["code"], "refresh_token_already_used");
    let err = expect(st.refresh(&r3).await, 400).await;
    assert_eq!(err["code"], "session_expired");
    let live: i64 =
        sqlx::query_scalar("select count(*) from identity.user_sessions where not is_revoked")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(live, 0);

    // Unknown and empty tokens.
    for unknown in ["nope", ""] {
        let err = expect(st.refresh(unknown).await, 400).await;
        assert_eq!(err["code"], "refresh_token_not_found");
    }
}

/// GoTrue's reuse interval: two tabs refreshing the same token at once both get a session,
/// and the sign-in lives on; only reuse after the interval ends it.
#[tokio::test]
async fn a_rotated_token_is_accepted_again_within_the_reuse_interval() {
    let st = stack().await;
    let first = st.sign_in(PHONE).await;
    let r1 = s(&first, "refresh_token");
    // Two refreshes of r1 at the same time: both succeed, with two different tokens.
    let (a, b) = tokio::join!(st.refresh(&r1), st.refresh(&r1));
    let a = expect(a, 200).await;
    let b = expect(b, 200).await;
    assert_ne!(s(&a, "refresh_token"), s(&b, "refresh_token"));
    assert_eq!(a["user"]["id"], b["user"]["id"]);
    // Both tabs go on refreshing.
    let a2 = expect(st.refresh(&s(&a, "refresh_token")).await, 200).await;
    expect(st.refresh(&s(&b, "refresh_token")).await, 200).await;
    // Within the interval r1 still answers; after it, reuse ends the whole sign-in.
    expect(st.refresh(&r1).await, 200).await;
    st.age_rotation(&r1, 11).await;
    let err = expect(st.refresh(&r1).await, 400).await;
    assert_eq!(err["code"], "refresh_token_already_used");
    let err = expect(st.refresh(&s(&a2, "refresh_token")).await, 400).await;
    assert_eq!(err["code"], "session_expired");
    let err = expect(st.user(&s(&a2, "access_token")).await, 401).await;
    assert_eq!(err["code"], "session_not_found");
}

#[tokio::test]
async fn reuse_in_one_sign_in_leaves_the_others_alone() {
    let st = stack().await;
    let a = st.sign_in(PHONE).await;
    st.age_codes(PHONE, 61).await;
    let b = st.sign_in(PHONE).await;
    let a2 = expect(st.refresh(&s(&a, "refresh_token")).await, 200).await;
    st.age_rotation(&s(&a, "refresh_token"), 11).await;
    expect(st.refresh(&s(&a, "refresh_token")).await, 400).await;
    expect(st.refresh(&s(&a2, "refresh_token")).await, 400).await;
    expect(st.refresh(&s(&b, "refresh_token")).await, 200).await;
}

#[tokio::test]
async fn logout_scopes_revoke_what_they_say() {
    let st = stack().await;
    let mut sessions = Vec::new();
    for _ in 0..4 {
        st.age_codes(PHONE, 61).await;
        sessions.push(st.sign_in(PHONE).await);
    }
    let access = |i: usize| s(&sessions[i], "access_token");
    let refresh = |i: usize| s(&sessions[i], "refresh_token");

    // local: this sign-in only, even after a rotation.
    let rotated = expect(st.refresh(&refresh(0)).await, 200).await;
    expect(st.logout(&access(0), "local").await, 204).await;
    let err = expect(st.refresh(&s(&rotated, "refresh_token")).await, 400).await;
    assert_eq!(err["code"], "session_expired");
    expect(st.refresh(&refresh(1)).await, 200).await;

    // others: every sign-in but this one.
    expect(st.logout(&access(2), "others").await, 204).await;
    expect(st.refresh(&refresh(3)).await, 400).await;
    let kept = expect(st.refresh(&refresh(2)).await, 200).await;

    // global (the default): everything.
    expect(st.logout(&s(&kept, "access_token"), "global").await, 204).await;
    expect(st.refresh(&s(&kept, "refresh_token")).await, 400).await;
    let live: i64 =
        sqlx::query_scalar("select count(*) from identity.user_sessions where not is_revoked")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(live, 0);

    // Bad scope (with a live sign-in), no token; an ended sign-in's token is refused.
    st.age_codes(PHONE, 61).await;
    let live = st.sign_in(PHONE).await;
    expect(
        st.logout(&s(&live, "access_token"), "everything").await,
        400,
    )
    .await;
    let err = expect(st.logout(&access(0), "local").await, 401).await;
    assert_eq!(err["code"], "session_not_found");
    let res = st
        .app
        .request(reqwest::Method::POST, "/logout")
        .send()
        .await
        .unwrap();
    expect(res, 401).await;
    // A token that does not verify: GoTrue's 403 bad_jwt.
    assert_eq!(
        expect(st.user("not-a-jwt").await, 403).await["code"],
        "bad_jwt"
    );
}
