//! Planning, the second stage: a parsed request ([`crate::query`], [`crate::prefer`],
//! [`crate::paging`]) checked against the schema cache before any SQL is written. The
//! table and every column and relation the request names are looked up here (identifiers
//! come only from the cache), the body of a write is read and checked, and what each
//! statement must do is decided ([`InsertPlan`], [`UpdatePlan`], [`DeletePlan`],
//! [`Returned`]). [`crate::sql`] then writes the statement from the plan.
//!
//! Embeds are resolved ([`resolve`]) as the select list is written, so that an error names
//! the first embed, in the order the client wrote them, that has no (or more than one)
//! relationship.

use axum::{
    body::Bytes,
    http::{header, HeaderMap, StatusCode},
};
use serde_json::Value as Json;

use crate::{
    api::Api,
    cache::{ForeignKey, SchemaCache, Table},
    error::{ApiError, ApiResult},
    paging,
    prefer::{Preferences, Resolution, Return},
    query::{Embed, Modifiers, QueryParams, SelectItem},
    respond::Media,
};

/// What every table operation works from: the request as parsed, and the table it names.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub cache: &'a SchemaCache,
    pub table: &'a Table,
    pub role: &'a str,
    pub params: &'a QueryParams,
    pub prefs: &'a Preferences,
    pub media: Media,
}

/// `Accept-Profile`/`Content-Profile` may name the service's schema (or `public`, which
/// clients send by default); any other schema is refused.
pub(crate) fn check_profile(api: &Api, headers: &HeaderMap, write: bool) -> ApiResult<()> {
    let name = if write {
        "content-profile"
    } else {
        "accept-profile"
    };
    if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
        if v != api.schema && v != "public" {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "PGRST106",
                format!("Invalid schema: {v}"),
            )
            .hint(format!(
                "Only the following schemas are exposed: {}",
                api.schema
            )));
        }
    }
    Ok(())
}

/// The table `/<name>` names in `schema`, or 404 `PGRST205`.
pub(crate) fn table<'c>(cache: &'c SchemaCache, schema: &str, name: &str) -> ApiResult<&'c Table> {
    cache.table(schema, name).ok_or_else(|| {
        ApiError::not_found(
            "PGRST205",
            format!("Could not find the table '{schema}.{name}' in the schema cache"),
        )
    })
}

/// The rows a read asks for: the query's limit/offset and the `Range` header intersected,
/// without overflow (`(offset, limit)`).
pub(crate) fn read_window(
    params: &QueryParams,
    headers: &HeaderMap,
) -> ApiResult<(i64, Option<i64>)> {
    let top = params.at(&[]);
    let range = paging::parse_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()))?;
    paging::window(top.limit, top.offset, range)
}

/// How an embedded resource is linked to its parent.
pub(crate) struct Link<'c> {
    pub target: &'c Table,
    pub fk: &'c ForeignKey,
    /// The parent holds the foreign key (many-to-one).
    pub parent_refers: bool,
    pub to_one: bool,
}

/// The relationship `embed` names from `parent`: a foreign key in either direction (by the
/// referenced table, the key's name or its one column, narrowed by `!hint`), or 400
/// `PGRST200` when there is none and 300 `PGRST201` when there are several.
pub(crate) fn resolve<'c>(
    cache: &'c SchemaCache,
    parent: &Table,
    embed: &Embed,
) -> ApiResult<Link<'c>> {
    let mut found: Vec<Link<'c>> = vec![];
    for fk in &cache.foreign_keys {
        let hint_ok = |cols: &[String]| match &embed.hint {
            None => true,
            Some(h) => &fk.name == h || cols.iter().any(|c| c == h),
        };
        // many-to-one: parent holds the key.
        if fk.schema == parent.schema && fk.table == parent.name {
            let by_table = fk.ref_table == embed.relation;
            let by_column = fk.columns.len() == 1 && fk.columns[0] == embed.relation;
            let by_name = fk.name == embed.relation;
            if (by_table || by_column || by_name) && hint_ok(&fk.columns) {
                if let Some(target) = cache.table(&fk.ref_schema, &fk.ref_table) {
                    found.push(Link {
                        target,
                        fk,
                        parent_refers: true,
                        to_one: true,
                    });
                }
            }
        }
        // one-to-many (or one-to-one): the target holds the key.
        if fk.ref_schema == parent.schema
            && fk.ref_table == parent.name
            && fk.table == embed.relation
            && hint_ok(&fk.columns)
        {
            if let Some(target) = cache.table(&fk.schema, &fk.table) {
                let to_one = target.is_unique(&fk.columns);
                found.push(Link {
                    target,
                    fk,
                    parent_refers: false,
                    to_one,
                });
            }
        }
    }
    // The same table in several schemas: keep the parent's own schema when it has one.
    if found.len() > 1 && found.iter().any(|l| l.target.schema == parent.schema) {
        found.retain(|l| l.target.schema == parent.schema);
    }
    match found.len() {
        0 => Err(ApiError::bad_request(
            "PGRST200",
            format!(
                "Could not find a relationship between '{}' and '{}' in the schema cache",
                parent.name, embed.relation
            ),
        )
        .hint("Check the spelling of the relation, or add a foreign key between the two tables.")),
        1 => Ok(found.pop().unwrap()),
        _ => Err(ApiError::new(
            StatusCode::MULTIPLE_CHOICES,
            "PGRST201",
            format!(
                "Could not embed because more than one relationship was found for '{}' and '{}'",
                parent.name, embed.relation
            ),
        )
        .details(
            found
                .iter()
                .map(|l| l.fk.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        )
        .hint(format!(
            "Try changing '{}' to one of the relationship names, e.g. '{}!{}'",
            embed.relation, embed.relation, found[0].fk.name
        ))),
    }
}

/// 400 `42703`: `column` is not a column of `table` (in `select`, a filter, `order`,
/// `on_conflict`).
pub fn column_missing(table: &Table, column: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "42703",
        format!("column {}.{} does not exist", table.name, column),
    )
}

/// 400 `PGRST204`: a write's body or `columns=` names a column `table` does not have.
fn unknown_column(table: &Table, col: &str) -> ApiError {
    ApiError::bad_request(
        "PGRST204",
        format!(
            "Could not find the '{col}' column of '{}' in the schema cache",
            table.name
        ),
    )
}

fn parse_body(body: &Bytes) -> ApiResult<Json> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("PGRST102", "Empty or invalid json"));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("PGRST102", "Empty or invalid json").details(e.to_string())
    })
}

/// `PATCH`/`DELETE` with `limit` or `offset` would otherwise change every matching row: they
/// are refused (400) before anything is written, as `docs/rest.md` says.
fn refuse_limited_write(top: &Modifiers, verb: &str) -> Result<(), ApiError> {
    if top.limit.is_some() || top.offset.is_some() {
        return Err(ApiError::bad_request(
            "PGRST100",
            format!("limit and offset are not supported on {verb}"),
        )
        .details("narrow the rows with filters instead, e.g. id=eq.<id>")
        .hint("remove limit and offset from the query string"));
    }
    Ok(())
}

/// What a write hands back, and so what its `RETURNING` names. PostgreSQL checks SELECT on
/// every column `RETURNING` names (and applies the table's SELECT policies when it names
/// any), so a write names only what the answer needs: nothing for `return=minimal` (the
/// default), the primary key for `return=headers-only` (the `Location`), the columns
/// `select=` reads for `return=representation` (`*` standing for the columns the role may
/// read). A role may therefore write a table whose other columns it may not read, and
/// insert rows it may not read back at all with `return=minimal`.
pub(crate) enum Returned {
    Nothing,
    Key(Vec<String>),
    Select(Vec<String>),
}

impl Returned {
    pub(crate) fn of(call: &Call<'_>) -> Returned {
        match call.prefs.ret {
            Some(Return::Representation) => Returned::Select(selected_columns(
                call.cache,
                call.table,
                call.role,
                &call.params.select,
            )),
            Some(Return::HeadersOnly) if !call.table.primary_key.is_empty() => {
                Returned::Key(call.table.primary_key.clone())
            }
            _ => Returned::Nothing,
        }
    }

    pub(crate) fn columns(&self) -> &[String] {
        match self {
            Returned::Nothing => &[],
            Returned::Key(c) | Returned::Select(c) => c,
        }
    }
}

/// The columns of `table` that `select` reads at its top level: the ones `*` stands for
/// (those `role` may read), the ones it names, and those an embed joins on. Only names the
/// cache knows are kept (an unknown one fails later, when the select list is built); a
/// named column the role may not read stays, so PostgreSQL refuses it (42501).
fn selected_columns(
    cache: &SchemaCache,
    table: &Table,
    role: &str,
    select: &[SelectItem],
) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut add = |c: &str| {
        if table.column(c).is_some() && !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    };
    for item in select {
        match item {
            SelectItem::Star => {
                for c in table.star_columns(role) {
                    add(&c.name);
                }
            }
            SelectItem::Field { field, .. } => add(&field.column),
            SelectItem::Embed(embed) => {
                for fk in &cache.foreign_keys {
                    // many-to-one: this table holds the key.
                    if fk.schema == table.schema
                        && fk.table == table.name
                        && (fk.ref_table == embed.relation
                            || fk.name == embed.relation
                            || (fk.columns.len() == 1 && fk.columns[0] == embed.relation))
                    {
                        fk.columns.iter().for_each(|c| add(c));
                    }
                    // one-to-many: the embedded table holds the key.
                    if fk.ref_schema == table.schema
                        && fk.ref_table == table.name
                        && fk.table == embed.relation
                    {
                        fk.ref_columns.iter().for_each(|c| add(c));
                    }
                }
            }
        }
    }
    out
}

/// A `POST`, checked: the objects of the body, the columns written, and the upsert's
/// conflict target.
pub(crate) struct InsertPlan {
    pub objects: Vec<Json>,
    pub columns: Vec<String>,
    pub returned: Returned,
    /// Whether a merge-duplicates upsert tells inserted rows from updated ones (`xmax`).
    pub tracks_inserts: bool,
    /// `on conflict (<target>)` and what to do: for `Prefer: resolution=...`.
    pub conflict: Option<(Resolution, Vec<String>)>,
}

/// Plans a `POST`: one object or an array of objects with the same keys (unless
/// `columns=` picks them), every column known, an upsert's target a key of the table.
pub(crate) fn insert(call: &Call<'_>, body: &Bytes) -> ApiResult<InsertPlan> {
    let Call {
        table,
        role,
        params,
        prefs,
        ..
    } = *call;
    let payload = parse_body(body)?;
    let objects: Vec<Json> = match payload {
        Json::Array(a) => a,
        o @ Json::Object(_) => vec![o],
        _ => {
            return Err(ApiError::bad_request("PGRST102", "Empty or invalid json")
                .details("expected an object or an array of objects"))
        }
    };
    if objects.iter().any(|o| !o.is_object()) {
        return Err(ApiError::bad_request("PGRST102", "Empty or invalid json")
            .details("every element must be an object"));
    }
    let columns: Vec<String> = match &params.columns {
        Some(c) => c.clone(),
        None => {
            let first: Vec<String> = objects
                .first()
                .and_then(Json::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            for o in &objects {
                let keys = o.as_object().unwrap();
                if keys.len() != first.len() || !first.iter().all(|k| keys.contains_key(k)) {
                    return Err(ApiError::bad_request(
                        "PGRST102",
                        "All object keys must match",
                    ));
                }
            }
            first
        }
    };
    for c in &columns {
        if table.column(c).is_none() {
            return Err(unknown_column(table, c));
        }
    }
    let returned = Returned::of(call);
    // Whether a merge-duplicates upsert inserted or only updated is told by `xmax`, a
    // system column only a SELECT on the whole table lets the role read.
    let tracks_inserts = prefs.resolution == Some(Resolution::MergeDuplicates)
        && table.privileges_of(role).select_table;
    let mut conflict = None;
    if objects.is_empty() {
        // Nothing to insert: the statement is an empty result of the right shape.
    } else if columns.is_empty() {
        if objects.len() > 1 {
            return Err(
                ApiError::bad_request("PGRST102", "All object keys must match")
                    .details("empty objects in a bulk insert"),
            );
        }
    } else if let Some(res) = prefs.resolution {
        let target = params
            .on_conflict
            .clone()
            .unwrap_or_else(|| table.primary_key.clone());
        if target.is_empty() {
            return Err(ApiError::bad_request(
                "PGRST100",
                "upsert needs a primary key or on_conflict",
            ));
        }
        for t in &target {
            if table.column(t).is_none() {
                return Err(column_missing(table, t));
            }
        }
        conflict = Some((res, target));
    }
    Ok(InsertPlan {
        objects,
        columns,
        returned,
        tracks_inserts,
        conflict,
    })
}

/// A `PATCH`, checked: the body (one object) and the columns it sets.
pub(crate) struct UpdatePlan {
    pub payload: Json,
    pub columns: Vec<String>,
    pub returned: Returned,
}

/// Plans a `PATCH`: a JSON object whose keys (or `columns=`) are columns of the table, and
/// no `limit`/`offset`.
pub(crate) fn update(call: &Call<'_>, body: &Bytes) -> ApiResult<UpdatePlan> {
    let Call { table, params, .. } = *call;
    let payload = parse_body(body)?;
    let Some(obj) = payload.as_object() else {
        return Err(ApiError::bad_request("PGRST102", "Empty or invalid json")
            .details("PATCH expects a JSON object"));
    };
    let columns: Vec<String> = match &params.columns {
        Some(c) => c.clone(),
        None => obj.keys().cloned().collect(),
    };
    for c in &columns {
        if table.column(c).is_none() {
            return Err(unknown_column(table, c));
        }
    }
    refuse_limited_write(&params.at(&[]), "PATCH")?;
    Ok(UpdatePlan {
        payload,
        columns,
        returned: Returned::of(call),
    })
}

/// A `DELETE`, checked: no `limit`/`offset`.
pub(crate) struct DeletePlan {
    pub returned: Returned,
}

/// Plans a `DELETE`.
pub(crate) fn delete(call: &Call<'_>) -> ApiResult<DeletePlan> {
    refuse_limited_write(&call.params.at(&[]), "DELETE")?;
    Ok(DeletePlan {
        returned: Returned::of(call),
    })
}
