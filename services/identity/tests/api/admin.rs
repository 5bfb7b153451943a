use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use crate::{expect, s, stack, Stack};

async fn set_roles(st: &Stack, id: &str, token: Option<&str>, roles: Value) -> reqwest::Response {
    let mut req = st
        .app
        .request(Method::POST, &format!("/admin/users/{id}/roles"))
        .header("x-request-id", "req-roles-1")
        .json(&json!({"roles": roles}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn admins_change_roles_and_the_change_is_audited() {
    let st = stack().await;
    let target = st.sign_in(crate::PHONE).await;
    let target_id = s(&target["user"], "id");
    let admin_id: Uuid = sqlx::query_scalar(
        "insert into identity.users (email, auth_provider, roles)
         values ('admin@example.sn', 'email', array['user', 'admin']) returning id",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    let admin = testkit::token(auth::Role::Admin, admin_id);

    let user = expect(
        set_roles(
            &st,
            &target_id,
            Some(&admin),
            json!(["user", "partner", "user"]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(user["id"], target_id);
    assert_eq!(user["app_metadata"]["roles"], json!(["user", "partner"]));
    assert_eq!(user["role"], "wolo_partner");

    let row = sqlx::query(
        "select actor_user_id, actor_type, host(actor_ip) as ip, action, resource_type,
                resource_id, old_values, new_values, request_id
         from admin.audit_logs",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    let actor: Option<Uuid> = row.get("actor_user_id");
    let actor_type: String = row.get("actor_type");
    let ip: Option<String> = row.get("ip");
    let action: String = row.get("action");
    let rtype: String = row.get("resource_type");
    let rid: Option<Uuid> = row.get("resource_id");
    let old: Value = row.get("old_values");
    let new: Value = row.get("new_values");
    let request_id: Option<String> = row.get("request_id");
    assert_eq!(actor, Some(admin_id));
    assert_eq!(actor_type, "user");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(action, "user_roles_changed");
    assert_eq!(rtype, "user");
    assert_eq!(rid.map(|u| u.to_string()), Some(target_id.clone()));
    assert_eq!(old, json!({"roles": ["user"]}));
    assert_eq!(new, json!({"roles": ["user", "partner"]}));
    assert_eq!(request_id.as_deref(), Some("req-roles-1"));

    // Not an admin: 403; anonymous: 401; a bad role: 400; unknown user: 404.
    let err = expect(
        set_roles(
            &st,
            &target_id,
            Some(&s(&target, "access_token")),
            json!(["admin"]),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(err["code"], "not_admin");
    expect(
        set_roles(&st, &target_id, None, json!(["admin"])).await,
        401,
    )
    .await;
    let err = expect(
        set_roles(&st, &target_id, Some(&admin), json!(["user", "root"])).await,
        400,
    )
    .await;
    assert_eq!(err["code"], "validation_failed");
    expect(
        set_roles(&st, &target_id, Some(&admin), json!([])).await,
        400,
    )
    .await;
    expect(
        set_roles(
            &st,
            &Uuid::new_v4().to_string(),
            Some(&admin),
            json!(["user"]),
        )
        .await,
        404,
    )
    .await;
    // super_admin is only given by a super_admin.
    let err = expect(
        set_roles(&st, &target_id, Some(&admin), json!(["super_admin"])).await,
        403,
    )
    .await;
    assert_eq!(err["code"], "not_super_admin");

    // Refused requests changed nothing and logged nothing.
    let roles: Vec<String> =
        sqlx::query_scalar("select roles from identity.users where id = $1::uuid")
            .bind(&target_id)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(roles, ["user", "partner"]);
    let n: i64 = sqlx::query_scalar("select count(*) from admin.audit_logs")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
