//! SQL building, the third stage: every statement the engine runs is written here, from a
//! plan ([`crate::plan`]): the read (`select` with embeds, filters, order, paging), its count,
//! and the writes (`insert`, upsert, `update`, `delete`, each wrapped so that it hands back
//! what the answer needs). Values are always bound parameters; identifiers come only from
//! the schema cache and are quoted by [`crate::ident`]; casts of bound values use the
//! catalog's type names.

use sqlx::{Postgres, QueryBuilder};

use crate::{
    cache::{SchemaCache, Table},
    error::{ApiError, ApiResult},
    ident::{push_quoted, quote_ident},
    plan::{self, Call, DeletePlan, InsertPlan, Link, Returned, UpdatePlan},
    prefer::Resolution,
    query::{
        Condition, Embed, Field, Filter, IsValue, JsonKey, Modifiers, Op, OrderTerm, Quantifier,
        QueryParams, SelectItem, Value,
    },
};

pub use crate::plan::column_missing;

pub type Qb<'a> = QueryBuilder<'a, Postgres>;

/// What writing one statement needs: the schema cache (columns, casts, relationships), the
/// caller's role (what `*` stands for) and the request (each embed's modifiers), and the
/// next table alias (`t1`, `t2`, ...).
pub struct Builder<'c> {
    pub cache: &'c SchemaCache,
    pub role: &'c str,
    pub params: &'c QueryParams,
    next_alias: usize,
}

impl<'c> Builder<'c> {
    pub fn new(cache: &'c SchemaCache, role: &'c str, params: &'c QueryParams) -> Self {
        Builder {
            cache,
            role,
            params,
            next_alias: 1,
        }
    }

    fn alias(&mut self) -> String {
        let a = format!("t{}", self.next_alias);
        self.next_alias += 1;
        a
    }

    /// `alias."col"->$k->>$k2`, and the type bound values compare against.
    fn field_expr(
        &self,
        qb: &mut Qb<'_>,
        table: &Table,
        alias: &str,
        field: &Field,
    ) -> ApiResult<String> {
        let col = table
            .column(&field.column)
            .ok_or_else(|| column_missing(table, &field.column))?;
        qb.push(format!("{}.{}", quote_ident(alias), quote_ident(&col.name)));
        for step in &field.path {
            qb.push(if step.as_text { "->>" } else { "->" });
            match &step.key {
                JsonKey::Key(k) => {
                    qb.push_bind(k.clone());
                    qb.push("::text");
                }
                JsonKey::Index(i) => {
                    qb.push_bind(*i);
                    qb.push("::int");
                }
            }
        }
        Ok(match field.path.last() {
            None => col.data_type.clone(),
            Some(s) if s.as_text => "text".into(),
            Some(_) => "jsonb".into(),
        })
    }

    /// The select list of `table` under `alias`, embeds included, for the resource at `path`.
    pub fn push_select_list(
        &mut self,
        qb: &mut Qb<'_>,
        table: &Table,
        alias: &str,
        items: &[SelectItem],
        path: &[String],
    ) -> ApiResult<()> {
        let mut first = true;
        let mut sep = |qb: &mut Qb<'_>| {
            if !first {
                qb.push(", ");
            }
            first = false;
        };
        for item in items {
            match item {
                SelectItem::Star => {
                    // Written into one buffer and pushed once (a wide table's list is
                    // built on every read).
                    let mut list = String::new();
                    for c in table.star_columns(self.role) {
                        if !list.is_empty() {
                            list.push_str(", ");
                        }
                        push_quoted(&mut list, alias);
                        list.push('.');
                        push_quoted(&mut list, &c.name);
                    }
                    if !list.is_empty() {
                        sep(qb);
                        qb.push(list);
                    }
                }
                SelectItem::Field {
                    field,
                    alias: out,
                    cast,
                } => {
                    sep(qb);
                    let name = out.clone().unwrap_or_else(|| field.output_name());
                    if field.path.is_empty() && cast.is_none() {
                        self.field_expr(qb, table, alias, field)?;
                    } else {
                        qb.push("(");
                        self.field_expr(qb, table, alias, field)?;
                        qb.push(")");
                        if let Some(c) = cast {
                            // The catalog's name for the type, quoted; never the client's text.
                            let ty = self.cache.names.cast_type(c).ok_or_else(|| {
                                ApiError::bad_request(
                                    "42704",
                                    format!("type \"{c}\" does not exist"),
                                )
                                .hint("A cast names a type of the database, e.g. text, integer, numeric, date, jsonb or text[].")
                            })?;
                            qb.push(format!("::{ty}"));
                        }
                    }
                    qb.push(format!(" as {}", quote_ident(&name)));
                }
                SelectItem::Embed(embed) => {
                    sep(qb);
                    let mut sub = path.to_vec();
                    sub.push(embed.output_name().to_string());
                    self.push_embed(qb, table, alias, embed, &sub)?;
                    qb.push(format!(" as {}", quote_ident(embed.output_name())));
                }
            }
        }
        if first {
            // `select=` naming only embeds is fine; nothing at all is an empty object.
            qb.push("null as \"__pgrst_empty\"");
        }
        Ok(())
    }

    fn push_join(&self, qb: &mut Qb<'_>, link: &Link<'_>, parent_alias: &str, child_alias: &str) {
        for (i, (fcol, rcol)) in link.fk.columns.iter().zip(&link.fk.ref_columns).enumerate() {
            if i > 0 {
                qb.push(" and ");
            }
            let (child_col, parent_col) = if link.parent_refers {
                (rcol, fcol)
            } else {
                (fcol, rcol)
            };
            qb.push(format!(
                "{}.{} = {}.{}",
                quote_ident(child_alias),
                quote_ident(child_col),
                quote_ident(parent_alias),
                quote_ident(parent_col)
            ));
        }
    }

    fn push_embed(
        &mut self,
        qb: &mut Qb<'_>,
        parent: &Table,
        parent_alias: &str,
        embed: &Embed,
        path: &[String],
    ) -> ApiResult<()> {
        let link = plan::resolve(self.cache, parent, embed)?;
        let child = self.alias();
        let row = self.alias();
        let m = self.params.at(path);
        crate::paging::check_limit(m.limit)?;
        if link.to_one {
            qb.push(format!(
                "(select row_to_json({}) from (select ",
                quote_ident(&row)
            ));
        } else {
            qb.push(format!(
                "(select coalesce(json_agg({}), '[]'::json) from (select ",
                quote_ident(&row)
            ));
        }
        self.push_select_list(qb, link.target, &child, &embed.select, path)?;
        qb.push(format!(
            " from {} as {} where ",
            link.target.qualified(),
            quote_ident(&child)
        ));
        self.push_join(qb, &link, parent_alias, &child);
        self.push_conditions(qb, link.target, &child, &m.conditions)?;
        self.push_inner_embeds(qb, link.target, &child, &embed.select, path)?;
        self.push_order(qb, link.target, &child, &m.order)?;
        if link.to_one {
            qb.push(" limit 1");
        } else {
            push_limit_offset(qb, m.limit, m.offset);
        }
        qb.push(format!(") as {})", quote_ident(&row)));
        Ok(())
    }

    /// `and exists (...)` for every `!inner` embed among `items`.
    pub fn push_inner_embeds(
        &mut self,
        qb: &mut Qb<'_>,
        table: &Table,
        alias: &str,
        items: &[SelectItem],
        path: &[String],
    ) -> ApiResult<()> {
        for item in items {
            if let SelectItem::Embed(embed) = item {
                if !embed.inner {
                    continue;
                }
                let link = plan::resolve(self.cache, table, embed)?;
                let child = self.alias();
                let mut sub = path.to_vec();
                sub.push(embed.output_name().to_string());
                let m = self.params.at(&sub);
                qb.push(format!(
                    " and exists (select 1 from {} as {} where ",
                    link.target.qualified(),
                    quote_ident(&child)
                ));
                self.push_join(qb, &link, alias, &child);
                self.push_conditions(qb, link.target, &child, &m.conditions)?;
                self.push_inner_embeds(qb, link.target, &child, &embed.select, &sub)?;
                qb.push(")");
            }
        }
        Ok(())
    }

    /// ` where ...` for the top level (always emits `where true` first).
    pub fn push_where(
        &mut self,
        qb: &mut Qb<'_>,
        table: &Table,
        alias: &str,
        m: &Modifiers,
    ) -> ApiResult<()> {
        qb.push(" where true");
        self.push_conditions(qb, table, alias, &m.conditions)?;
        let select = self.params.select.clone();
        self.push_inner_embeds(qb, table, alias, &select, &[])
    }

    /// ` and <c>` for each condition.
    pub fn push_conditions(
        &self,
        qb: &mut Qb<'_>,
        table: &Table,
        alias: &str,
        conditions: &[Condition],
    ) -> ApiResult<()> {
        for c in conditions {
            qb.push(" and ");
            self.push_condition(qb, table, alias, c)?;
        }
        Ok(())
    }

    pub fn push_condition(
        &self,
        qb: &mut Qb<'_>,
        table: &Table,
        alias: &str,
        c: &Condition,
    ) -> ApiResult<()> {
        match c {
            Condition::Filter(f) => self.push_filter(qb, table, alias, f),
            Condition::Logic {
                or,
                negate,
                children,
            } => {
                qb.push(if *negate { "not (" } else { "(" });
                for (i, child) in children.iter().enumerate() {
                    if i > 0 {
                        qb.push(if *or { " or " } else { " and " });
                    }
                    self.push_condition(qb, table, alias, child)?;
                }
                qb.push(")");
                Ok(())
            }
        }
    }

    fn push_filter(
        &self,
        qb: &mut Qb<'_>,
        table: &Table,
        alias: &str,
        f: &Filter,
    ) -> ApiResult<()> {
        if f.negate {
            qb.push("not (");
        }
        // Evaluate the lhs into a scratch builder first to learn its type? The type only
        // depends on the cache, so compute it up front.
        let col = table
            .column(&f.field.column)
            .ok_or_else(|| column_missing(table, &f.field.column))?;
        let ty = match f.field.path.last() {
            None => col.data_type.clone(),
            Some(s) if s.as_text => "text".into(),
            Some(_) => "jsonb".into(),
        };
        let lhs = |qb: &mut Qb<'_>| -> ApiResult<()> {
            qb.push("(");
            self.field_expr(qb, table, alias, &f.field)?;
            qb.push(")");
            Ok(())
        };
        let single = |v: &Value| -> ApiResult<String> {
            match v {
                Value::Single(s) => Ok(s.clone()),
                _ => Err(ApiError::parse(
                    "filter",
                    &format!("{:?}", f.op),
                    "expecting a single value",
                )),
            }
        };
        let list = |v: &Value| -> Vec<String> {
            match v {
                Value::List(l) => l.clone(),
                Value::Single(s) => vec![s.clone()],
                Value::Is(_) => vec![],
            }
        };
        let cmp = |op: Op| match op {
            Op::Eq => "=",
            Op::Neq => "<>",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::Like => "like",
            Op::Ilike => "ilike",
            Op::Match => "~",
            Op::Imatch => "~*",
            Op::Cs => "@>",
            Op::Cd => "<@",
            Op::Ov => "&&",
            Op::Sl => "<<",
            Op::Sr => ">>",
            Op::Nxl => "&>",
            Op::Nxr => "&<",
            Op::Adj => "-|-",
            _ => "=",
        };
        match f.op {
            Op::Is => {
                lhs(qb)?;
                qb.push(match f.value {
                    Value::Is(IsValue::Null) => " is null",
                    Value::Is(IsValue::NotNull) => " is not null",
                    Value::Is(IsValue::True) => " is true",
                    Value::Is(IsValue::False) => " is false",
                    _ => " is unknown",
                });
            }
            Op::In => {
                let items = list(&f.value);
                if items.is_empty() {
                    qb.push("false");
                } else {
                    lhs(qb)?;
                    qb.push(" = any(");
                    qb.push_bind(items);
                    qb.push(format!("::{})", array_of(&ty)));
                }
            }
            Op::IsDistinct => {
                lhs(qb)?;
                qb.push(" is distinct from ");
                qb.push_bind(single(&f.value)?);
                qb.push(format!("::{ty}"));
            }
            Op::Like | Op::Ilike | Op::Match | Op::Imatch => {
                lhs(qb)?;
                qb.push(format!("::text {} ", cmp(f.op)));
                let fix = |s: String| {
                    if matches!(f.op, Op::Like | Op::Ilike) {
                        s.replace('*', "%")
                    } else {
                        s
                    }
                };
                match f.quantifier {
                    Some(q) => {
                        qb.push(if q == Quantifier::Any { "any(" } else { "all(" });
                        qb.push_bind(list(&f.value).into_iter().map(fix).collect::<Vec<_>>());
                        qb.push("::text[])");
                    }
                    None => {
                        qb.push_bind(fix(single(&f.value)?));
                        qb.push("::text");
                    }
                }
            }
            Op::Fts | Op::Plfts | Op::Phfts | Op::Wfts => {
                let func = match f.op {
                    Op::Fts => "to_tsquery",
                    Op::Plfts => "plainto_tsquery",
                    Op::Phfts => "phraseto_tsquery",
                    _ => "websearch_to_tsquery",
                };
                // The configuration is looked up in pg_ts_config and bound, never spliced.
                let config = match &f.config {
                    None => None,
                    Some(cfg) => Some(self.cache.names.ts_config(cfg).ok_or_else(|| {
                        ApiError::bad_request(
                            "42704",
                            format!("text search configuration \"{cfg}\" does not exist"),
                        )
                    })?),
                };
                if ty == "tsvector" {
                    lhs(qb)?;
                } else {
                    qb.push("to_tsvector(");
                    if let Some(cfg) = config {
                        qb.push_bind(cfg.to_string());
                        qb.push("::regconfig, ");
                    }
                    lhs(qb)?;
                    qb.push("::text)");
                }
                qb.push(format!(" @@ {func}("));
                if let Some(cfg) = config {
                    qb.push_bind(cfg.to_string());
                    qb.push("::regconfig, ");
                }
                qb.push_bind(single(&f.value)?);
                qb.push(")");
            }
            op => {
                lhs(qb)?;
                qb.push(format!(" {} ", cmp(op)));
                match f.quantifier {
                    Some(q) => {
                        qb.push(if q == Quantifier::Any { "any(" } else { "all(" });
                        qb.push_bind(list(&f.value));
                        qb.push(format!("::{})", array_of(&ty)));
                    }
                    None => {
                        qb.push_bind(single(&f.value)?);
                        qb.push(format!("::{ty}"));
                    }
                }
            }
        }
        if f.negate {
            qb.push(")");
        }
        Ok(())
    }

    pub fn push_order(
        &self,
        qb: &mut Qb<'_>,
        table: &Table,
        alias: &str,
        order: &[OrderTerm],
    ) -> ApiResult<()> {
        for (i, term) in order.iter().enumerate() {
            qb.push(if i == 0 { " order by " } else { ", " });
            self.field_expr(qb, table, alias, &term.field)?;
            qb.push(if term.desc { " desc" } else { " asc" });
            match term.nulls_first {
                Some(true) => {
                    qb.push(" nulls first");
                }
                Some(false) => {
                    qb.push(" nulls last");
                }
                None => {}
            }
        }
        Ok(())
    }
}

fn array_of(ty: &str) -> String {
    format!("{ty}[]")
}

pub fn push_limit_offset(qb: &mut Qb<'_>, limit: Option<i64>, offset: Option<i64>) {
    if let Some(l) = limit {
        qb.push(" limit ");
        qb.push_bind(l);
    }
    if let Some(o) = offset {
        if o > 0 {
            qb.push(" offset ");
            qb.push_bind(o);
        }
    }
}

/// The read: `select` of the rows `call` asks for, as one JSON array (`text`), and their
/// number.
pub(crate) fn select(call: &Call<'_>, offset: i64, limit: Option<i64>) -> ApiResult<Qb<'static>> {
    let Call {
        cache,
        table,
        role,
        params,
        ..
    } = *call;
    let top = params.at(&[]);
    let mut builder = Builder::new(cache, role, params);
    let mut qb: Qb<'static> = QueryBuilder::new(
        "select coalesce(json_agg(\"pgrst_t\"), '[]'::json)::text, count(*) from (select ",
    );
    builder.push_select_list(&mut qb, table, "t0", &params.select, &[])?;
    qb.push(format!(" from {} as \"t0\"", table.qualified()));
    builder.push_where(&mut qb, table, "t0", &top)?;
    builder.push_order(&mut qb, table, "t0", &top.order)?;
    push_limit_offset(&mut qb, limit, Some(offset));
    qb.push(") as \"pgrst_t\"");
    Ok(qb)
}

/// `<prefix> from <table> where <the read's filters>`: `prefix` is `select count(*)` (an
/// exact count) or `explain (format json) select 1` (the planner's estimate).
pub(crate) fn count(call: &Call<'_>, prefix: &str) -> ApiResult<Qb<'static>> {
    let Call {
        cache,
        table,
        role,
        params,
        ..
    } = *call;
    let top = params.at(&[]);
    let mut builder = Builder::new(cache, role, params);
    let mut qb: Qb<'static> = QueryBuilder::new(prefix.to_string());
    qb.push(format!(" from {} as \"t0\"", table.qualified()));
    builder.push_where(&mut qb, table, "t0", &top)?;
    Ok(qb)
}

impl Returned {
    /// `"t0"."a", "t0"."b"` (or a constant when no column is needed), for `RETURNING` and
    /// for the empty results of the right shape.
    fn list(&self) -> String {
        let cols = self.columns();
        if cols.is_empty() {
            return "1 as \"pgrst_one\"".into();
        }
        cols.iter()
            .map(|c| format!("\"t0\".{}", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The `POST`: `insert ... select` from the body's objects (`json_populate_record`, in
/// their order), `on conflict` for an upsert, `default values` for one empty object.
pub(crate) fn insert(call: &Call<'_>, plan: &InsertPlan) -> ApiResult<Qb<'static>> {
    let Call {
        cache,
        table,
        role,
        params,
        prefs,
        ..
    } = *call;
    let InsertPlan {
        objects,
        columns,
        returned,
        tracks_inserts,
        conflict,
    } = plan;
    let mut builder = Builder::new(cache, role, params);
    let inserted_expr = if *tracks_inserts {
        "(\"t0\".xmax = 0)"
    } else {
        "true"
    };
    let mut qb: Qb<'static> = QueryBuilder::new("with \"pgrst_mut\" as (");
    if objects.is_empty() {
        // Nothing to insert: an empty result of the right shape.
        qb.push(format!(
            "select {}, true as \"pgrst_inserted\" from {} as \"t0\" where false",
            returned.list(),
            table.qualified()
        ));
    } else if columns.is_empty() {
        qb.push(format!(
            "insert into {} as \"t0\" default values",
            table.qualified()
        ));
    } else {
        let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        qb.push(format!(
            "insert into {} as \"t0\" ({}) select ",
            table.qualified(),
            cols.join(", ")
        ));
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            let col = table.column(c).unwrap();
            if prefs.missing_default || params.columns.is_some() {
                qb.push("case when (\"pgrst_b\".\"obj\"::jsonb) ? ");
                qb.push_bind(c.clone());
                qb.push(format!(" then \"pgrst_r\".{} else ", quote_ident(c)));
                match (&col.default, prefs.missing_default) {
                    (Some(d), true) => qb.push(format!("({d})")),
                    _ => qb.push("null"),
                };
                qb.push(" end");
            } else {
                qb.push(format!("\"pgrst_r\".{}", quote_ident(c)));
            }
        }
        qb.push(" from json_array_elements(");
        qb.push_bind(serde_json::Value::Array(objects.clone()).to_string());
        qb.push(format!(
            "::json) with ordinality as \"pgrst_b\"(\"obj\", \"n\") cross join lateral json_populate_record(null::{}, \"pgrst_b\".\"obj\") as \"pgrst_r\" order by \"pgrst_b\".\"n\"",
            table.qualified()
        ));
        if let Some((res, target)) = conflict {
            let tq: Vec<String> = target.iter().map(|c| quote_ident(c)).collect();
            qb.push(format!(" on conflict ({}) ", tq.join(", ")));
            let updates: Vec<String> = columns
                .iter()
                .map(|c| format!("{0} = excluded.{0}", quote_ident(c)))
                .collect();
            if *res == Resolution::IgnoreDuplicates || updates.is_empty() {
                qb.push("do nothing");
            } else {
                qb.push(format!("do update set {}", updates.join(", ")));
            }
        }
    }
    if !objects.is_empty() {
        // xmax = 0 on a row this statement inserted; an upsert's updated rows have it set.
        qb.push(format!(
            " returning {}, {inserted_expr} as \"pgrst_inserted\"",
            returned.list()
        ));
    }
    finish_mutation(qb, &mut builder, table, params, returned, true)
}

/// The `PATCH`: `update ... set <col> = <the body's value>` over the filtered rows.
pub(crate) fn update(call: &Call<'_>, plan: &UpdatePlan) -> ApiResult<Qb<'static>> {
    let Call {
        cache,
        table,
        role,
        params,
        ..
    } = *call;
    let UpdatePlan {
        payload,
        columns,
        returned,
    } = plan;
    let top = params.at(&[]);
    let mut builder = Builder::new(cache, role, params);
    let mut qb: Qb<'static> = QueryBuilder::new("with \"pgrst_mut\" as (");
    if columns.is_empty() {
        qb.push(format!(
            "select {} from {} as \"t0\" where false",
            returned.list(),
            table.qualified()
        ));
    } else {
        let sets: Vec<String> = columns
            .iter()
            .map(|c| format!("{0} = \"pgrst_r\".{0}", quote_ident(c)))
            .collect();
        qb.push(format!(
            "update {} as \"t0\" set {} from json_populate_record(null::{}, ",
            table.qualified(),
            sets.join(", "),
            table.qualified()
        ));
        qb.push_bind(payload.to_string());
        qb.push("::json) as \"pgrst_r\"");
        builder.push_where(&mut qb, table, "t0", &top)?;
        qb.push(format!(" returning {}", returned.list()));
    }
    finish_mutation(qb, &mut builder, table, params, returned, false)
}

/// The `DELETE` of the filtered rows.
pub(crate) fn delete(call: &Call<'_>, plan: &DeletePlan) -> ApiResult<Qb<'static>> {
    let Call {
        cache,
        table,
        role,
        params,
        ..
    } = *call;
    let returned = &plan.returned;
    let top = params.at(&[]);
    let mut builder = Builder::new(cache, role, params);
    let mut qb: Qb<'static> = QueryBuilder::new("with \"pgrst_mut\" as (");
    qb.push(format!("delete from {} as \"t0\"", table.qualified()));
    builder.push_where(&mut qb, table, "t0", &top)?;
    qb.push(format!(" returning {}", returned.list()));
    finish_mutation(qb, &mut builder, table, params, returned, false)
}

/// Wraps a mutation (`... returning <what the answer needs>`) so its rows come back shaped
/// by `select=` (or as their key, or not at all), with their count and, for inserts that
/// return `pgrst_inserted`, how many rows were new.
fn finish_mutation(
    mut qb: Qb<'static>,
    builder: &mut Builder<'_>,
    table: &Table,
    params: &QueryParams,
    returned: &Returned,
    tracks_inserts: bool,
) -> ApiResult<Qb<'static>> {
    qb.push(") select ");
    match returned {
        Returned::Nothing => qb.push("'[]'::text"),
        _ => qb.push("coalesce((select json_agg(\"pgrst_t\") from (select "),
    };
    match returned {
        Returned::Nothing => {}
        Returned::Key(cols) => {
            let list: Vec<String> = cols
                .iter()
                .map(|c| format!("\"t0\".{}", quote_ident(c)))
                .collect();
            qb.push(list.join(", "));
        }
        Returned::Select(_) => {
            builder.push_select_list(&mut qb, table, "t0", &params.select, &[])?
        }
    }
    if !matches!(returned, Returned::Nothing) {
        qb.push(" from \"pgrst_mut\" as \"t0\") as \"pgrst_t\"), '[]'::json)::text");
    }
    qb.push(", (select count(*) from \"pgrst_mut\"), ");
    if tracks_inserts {
        qb.push("(select count(*) from \"pgrst_mut\" where \"pgrst_inserted\")");
    } else {
        qb.push("(select count(*) from \"pgrst_mut\")");
    }
    Ok(qb)
}
