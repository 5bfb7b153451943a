//! The PostgREST URL grammar, parsed into types. Nothing here touches SQL; identifiers are
//! checked against the schema cache when the plan is built.
//!
//! Every query string is bounded ([`limits`]): its length, NUL bytes and the nesting of each
//! value are checked before anything is parsed, the recursive rules (embeds in `select`, groups
//! in logic trees) carry their depth, and the sizes of the parsed request are checked before any
//! SQL is built. Whatever is out of bounds is a 400 `PGRST100`, never a deep recursion.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use crate::error::{ApiError, ApiResult};

/// What one query string may ask for (docs/rest.md, "Limits"). Each is checked before the work
/// it bounds, and answered 400 `PGRST100`.
pub mod limits {
    /// Bytes of the raw (percent-encoded) query string.
    pub const QUERY_BYTES: usize = 32 * 1024;
    /// Parentheses nested in one parameter: embeds in `select` (`a(b(c))` is 3), groups of a
    /// logic tree (`or=(and(x.in.(1,2)))` is 3: a list counts as a level too).
    pub const NESTING: usize = 8;
    /// Dotted segments of a parameter's name (`pot_invitations.order`): embed path + 1.
    pub const KEY_SEGMENTS: usize = NESTING + 2;
    /// Filters in the whole request, every leaf of every logic tree included.
    pub const FILTERS: usize = 100;
    /// Logic groups (`or(...)`, `and(...)`) in the whole request.
    pub const LOGIC_GROUPS: usize = 50;
    /// Items of every level of `select` together (`*`, columns and embeds).
    pub const SELECT_ITEMS: usize = 200;
    /// Embedded resources in the whole `select`.
    pub const EMBEDS: usize = 20;
    /// Order terms in the whole request.
    pub const ORDER_TERMS: usize = 20;
    /// Steps of one JSON path (`data->a->>b` is 2).
    pub const JSON_PATH: usize = 16;
    /// Bytes of one identifier the client names (column, alias, relation, hint, type).
    pub const NAME_BYTES: usize = 128;
}

/// The answer to a query string over one of the [`limits`]: 400 `PGRST100`, the input not echoed.
fn over_limit(what: &str, details: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "PGRST100",
        format!("\"failed to parse {what}\""),
    )
    .details(details)
    .hint("See the limits of the query grammar in docs/rest.md.")
}

/// The deepest nesting of parentheses in `value`, outside double quotes; stops counting past
/// [`limits::NESTING`].
fn nesting_depth(value: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '(' => {
                depth += 1;
                max = max.max(depth);
                if max > limits::NESTING {
                    return max;
                }
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn check_nesting(what: &str, value: &str) -> ApiResult<()> {
    if nesting_depth(value) > limits::NESTING {
        return Err(over_limit(
            what,
            format!("parentheses nested deeper than {} levels", limits::NESTING),
        ));
    }
    Ok(())
}

fn check_depth(what: &str, depth: usize) -> ApiResult<()> {
    if depth > limits::NESTING {
        return Err(over_limit(
            what,
            format!("nested deeper than {} levels", limits::NESTING),
        ));
    }
    Ok(())
}

fn check_name(what: &str, name: &str) -> ApiResult<()> {
    if name.len() > limits::NAME_BYTES {
        return Err(over_limit(
            what,
            format!("a name longer than {} bytes", limits::NAME_BYTES),
        ));
    }
    Ok(())
}

/// One step of a JSON path: `->key`, `->>key`, `->0`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonStep {
    /// `true` for `->>` (text), `false` for `->` (json).
    pub as_text: bool,
    pub key: JsonKey,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonKey {
    Key(String),
    Index(i32),
}

/// A column, possibly followed by a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub column: String,
    pub path: Vec<JsonStep>,
}

impl Field {
    /// The key PostgREST gives this field in the output: the last JSON key, or the column.
    pub fn output_name(&self) -> String {
        match self.path.last() {
            Some(JsonStep {
                key: JsonKey::Key(k),
                ..
            }) => k.clone(),
            Some(JsonStep {
                key: JsonKey::Index(_),
                ..
            })
            | None => self.column.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Star,
    Field {
        field: Field,
        alias: Option<String>,
        cast: Option<String>,
    },
    Embed(Embed),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Embed {
    pub relation: String,
    pub alias: Option<String>,
    pub hint: Option<String>,
    pub inner: bool,
    pub select: Vec<SelectItem>,
}

impl Embed {
    pub fn output_name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.relation)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    Match,
    Imatch,
    In,
    Is,
    IsDistinct,
    Cs,
    Cd,
    Ov,
    Sl,
    Sr,
    Nxl,
    Nxr,
    Adj,
    Fts,
    Plfts,
    Phfts,
    Wfts,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "like" => Op::Like,
            "ilike" => Op::Ilike,
            "match" => Op::Match,
            "imatch" => Op::Imatch,
            "in" => Op::In,
            "is" => Op::Is,
            "isdistinct" => Op::IsDistinct,
            "cs" => Op::Cs,
            "cd" => Op::Cd,
            "ov" => Op::Ov,
            "sl" => Op::Sl,
            "sr" => Op::Sr,
            "nxl" => Op::Nxl,
            "nxr" => Op::Nxr,
            "adj" => Op::Adj,
            "fts" => Op::Fts,
            "plfts" => Op::Plfts,
            "phfts" => Op::Phfts,
            "wfts" => Op::Wfts,
            _ => return None,
        })
    }

    pub fn is_fts(self) -> bool {
        matches!(self, Op::Fts | Op::Plfts | Op::Phfts | Op::Wfts)
    }

    fn takes_quantifier(self) -> bool {
        matches!(
            self,
            Op::Eq
                | Op::Like
                | Op::Ilike
                | Op::Gt
                | Op::Gte
                | Op::Lt
                | Op::Lte
                | Op::Match
                | Op::Imatch
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Any,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsValue {
    Null,
    NotNull,
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Single(String),
    List(Vec<String>),
    Is(IsValue),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: Field,
    pub negate: bool,
    pub op: Op,
    pub quantifier: Option<Quantifier>,
    /// Text search configuration, e.g. `french` in `fts(french)`.
    pub config: Option<String>,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Filter(Filter),
    Logic {
        or: bool,
        negate: bool,
        children: Vec<Condition>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderTerm {
    pub field: Field,
    pub desc: bool,
    /// `Some(true)` nulls first, `Some(false)` nulls last.
    pub nulls_first: Option<bool>,
}

/// Per-resource modifiers: the top level is path `[]`, an embed is `["pot_invitations"]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Modifiers {
    pub conditions: Vec<Condition>,
    pub order: Vec<OrderTerm>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryParams {
    pub select: Vec<SelectItem>,
    pub modifiers: BTreeMap<Vec<String>, Modifiers>,
    pub columns: Option<Vec<String>>,
    pub on_conflict: Option<Vec<String>>,
}

impl QueryParams {
    pub fn at(&self, path: &[String]) -> Modifiers {
        self.modifiers.get(path).cloned().unwrap_or_default()
    }
}

/// Parses a raw query string (`a=b&c=d`, percent-encoded, `+` as space), within [`limits`].
pub fn parse_query(raw: &str) -> ApiResult<QueryParams> {
    if raw.len() > limits::QUERY_BYTES {
        return Err(over_limit(
            "query string",
            format!(
                "the query string is {} bytes long, more than {}",
                raw.len(),
                limits::QUERY_BYTES
            ),
        ));
    }
    let mut params = QueryParams {
        select: vec![SelectItem::Star],
        modifiers: BTreeMap::new(),
        columns: None,
        on_conflict: None,
    };
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        let key = key.trim().to_string();
        let value = value.to_string();
        if key.is_empty() {
            continue;
        }
        if key.contains('\0') || value.contains('\0') {
            return Err(over_limit(
                "query string",
                "NUL bytes (%00) are not allowed in the query string".into(),
            ));
        }
        match key.as_str() {
            "select" => params.select = parse_select(&value)?,
            "columns" => params.columns = Some(parse_name_list(&value, "columns")?),
            "on_conflict" => params.on_conflict = Some(parse_name_list(&value, "on_conflict")?),
            _ => {
                let (path, last) = split_path(&key);
                if path.len() + 1 > limits::KEY_SEGMENTS {
                    return Err(over_limit(
                        "query string",
                        format!(
                            "a parameter name of more than {} dotted parts",
                            limits::KEY_SEGMENTS
                        ),
                    ));
                }
                let m = params.modifiers.entry(path).or_default();
                match last.as_str() {
                    "order" => m.order = parse_order(&value)?,
                    "limit" => m.limit = Some(parse_int(&value, "limit")?),
                    "offset" => m.offset = Some(parse_int(&value, "offset")?),
                    "or" | "and" => m.conditions.push(parse_logic_param(&last, &value, false)?),
                    _ => m.conditions.push(parse_filter_param(&last, &value)?),
                }
            }
        }
    }
    check_sizes(&params)?;
    check_embed_paths(&params)?;
    Ok(params)
}

/// Every `a.b.filter`, `a.order`, `a.limit` names an embed of `select` (after `not.`); anything
/// else is PostgREST's PGRST108, not a modifier silently ignored.
fn check_embed_paths(params: &QueryParams) -> ApiResult<()> {
    fn has(items: &[SelectItem], path: &[String]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return true;
        };
        items.iter().any(|i| match i {
            SelectItem::Embed(e) => e.output_name() == first && has(&e.select, rest),
            _ => false,
        })
    }
    for path in params.modifiers.keys() {
        let path = match path.split_last() {
            Some((last, parent)) if last == "not" => parent,
            _ => path.as_slice(),
        };
        if !has(&params.select, path) {
            let name = path.join(".");
            return Err(ApiError::bad_request(
                "PGRST108",
                format!("'{name}' is not an embedded resource in this request"),
            )
            .hint(format!(
                "Verify that '{name}' is included in the 'select' query parameter."
            )));
        }
    }
    Ok(())
}

/// What the parsed request adds up to, against [`limits`], before any SQL is built.
fn check_sizes(params: &QueryParams) -> ApiResult<()> {
    fn count_select(items: &[SelectItem], n_items: &mut usize, n_embeds: &mut usize) {
        for item in items {
            *n_items += 1;
            if let SelectItem::Embed(e) = item {
                *n_embeds += 1;
                count_select(&e.select, n_items, n_embeds);
            }
        }
    }
    fn count_conditions(cs: &[Condition], filters: &mut usize, groups: &mut usize) {
        for c in cs {
            match c {
                Condition::Filter(_) => *filters += 1,
                Condition::Logic { children, .. } => {
                    *groups += 1;
                    count_conditions(children, filters, groups);
                }
            }
        }
    }
    let (mut items, mut embeds) = (0, 0);
    count_select(&params.select, &mut items, &mut embeds);
    let (mut filters, mut groups, mut order) = (0, 0, 0);
    for m in params.modifiers.values() {
        count_conditions(&m.conditions, &mut filters, &mut groups);
        order += m.order.len();
    }
    let names = params
        .columns
        .iter()
        .chain(&params.on_conflict)
        .flatten()
        .count();
    for (n, max, what) in [
        (items, limits::SELECT_ITEMS, "select items"),
        (embeds, limits::EMBEDS, "embedded resources"),
        (filters, limits::FILTERS, "filters"),
        (groups, limits::LOGIC_GROUPS, "logic groups"),
        (order, limits::ORDER_TERMS, "order terms"),
        (
            names,
            limits::SELECT_ITEMS,
            "names in columns and on_conflict",
        ),
    ] {
        if n > max {
            return Err(over_limit(
                "query string",
                format!("{n} {what}, more than {max}"),
            ));
        }
    }
    Ok(())
}

/// `a.b.order` -> (["a", "b"], "order"); `not.or` keys are handled by the value prefix.
fn split_path(key: &str) -> (Vec<String>, String) {
    let parts = split_top(key, '.');
    if parts.len() == 1 {
        return (vec![], unquote(&parts[0]));
    }
    let last = parts.last().unwrap().clone();
    let path = parts[..parts.len() - 1]
        .iter()
        .map(|s| unquote(s))
        .collect();
    (path, unquote(&last))
}

fn parse_int(v: &str, what: &str) -> ApiResult<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::parse(what, v, format!("{what} must be an integer")))
}

fn parse_name_list(v: &str, what: &str) -> ApiResult<Vec<String>> {
    let names: Vec<String> = split_top(v, ',')
        .iter()
        .map(|s| unquote(s.trim()))
        .collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(ApiError::parse(what, v, "empty column name"));
    }
    Ok(names)
}

/// Splits on `sep` outside double quotes, parentheses and braces.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '(' | '{' | '[' if !quoted => {
                depth += 1;
                cur.push(c);
            }
            ')' | '}' | ']' if !quoted => {
                depth -= 1;
                cur.push(c);
            }
            c if c == sep && !quoted && depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Removes surrounding double quotes and the `\"`, `\\` escapes inside them.
fn unquote(s: &str) -> String {
    let t = s.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        let inner = &t[1..t.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        t.to_string()
    }
}

/// `col`, `col->a->>b`, `"quoted col"->0`.
pub fn parse_field(s: &str, what: &str) -> ApiResult<Field> {
    let s = s.trim();
    let err = |d: &str| ApiError::parse(what, s, d.to_string());
    let (column, mut rest) = if let Some(stripped) = s.strip_prefix('"') {
        let end = stripped
            .find('"')
            .ok_or_else(|| err("unterminated quoted name"))?;
        (stripped[..end].to_string(), &stripped[end + 1..])
    } else {
        let end = s.find("->").unwrap_or(s.len());
        (s[..end].to_string(), &s[end..])
    };
    if column.is_empty() {
        return Err(err("expecting a column name"));
    }
    check_name(what, &column)?;
    if !s.starts_with('"')
        && !column
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ' ' || c == '$')
    {
        return Err(err(&format!(
            "unexpected character in column name {column:?}"
        )));
    }
    let mut path = vec![];
    while !rest.is_empty() {
        let (as_text, after) = if let Some(r) = rest.strip_prefix("->>") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("->") {
            (false, r)
        } else {
            return Err(err("expecting -> or ->>"));
        };
        let end = after.find("->").unwrap_or(after.len());
        let raw = &after[..end];
        if raw.is_empty() {
            return Err(err("empty JSON key"));
        }
        if path.len() >= limits::JSON_PATH {
            return Err(over_limit(
                what,
                format!("a JSON path of more than {} steps", limits::JSON_PATH),
            ));
        }
        // An index is an `int` for PostgreSQL; a longer number is a key like any other text.
        let key = match raw.parse::<i32>() {
            Ok(i) => JsonKey::Index(i),
            Err(_) => JsonKey::Key(unquote(raw)),
        };
        path.push(JsonStep { as_text, key });
        rest = &after[end..];
    }
    Ok(Field { column, path })
}

/// `[not.]op[(any|all)|(config)].value` for the field named by the key.
fn parse_filter_param(key: &str, value: &str) -> ApiResult<Condition> {
    let field = parse_field(key, "filter")?;
    Ok(Condition::Filter(parse_op_value(field, value, false)?))
}

fn parse_op_value(field: Field, value: &str, in_logic: bool) -> ApiResult<Filter> {
    let input = value;
    let err = |d: String| ApiError::parse(if in_logic { "logic tree" } else { "filter" }, input, d);
    let mut rest = value;
    let mut negate = false;
    if let Some(r) = rest.strip_prefix("not.") {
        negate = true;
        rest = r;
    }
    let dot = rest.find('.').ok_or_else(|| {
        err("unexpected end of input expecting \"not\" or operator (eq, gt, ...)".to_string())
    })?;
    let mut op_text = &rest[..dot];
    let value = &rest[dot + 1..];
    let mut modifier = None;
    if let Some(open) = op_text.find('(') {
        if !op_text.ends_with(')') {
            return Err(err(format!("unexpected {:?} expecting operator", op_text)));
        }
        modifier = Some(&op_text[open + 1..op_text.len() - 1]);
        op_text = &op_text[..open];
    }
    let op = Op::parse(op_text).ok_or_else(|| {
        err(format!(
            "unexpected \"{op_text}\" expecting \"not\" or operator (eq, gt, ...)"
        ))
    })?;
    let mut quantifier = None;
    let mut config = None;
    if let Some(m) = modifier {
        if op.is_fts() {
            // Syntax only: the planner looks the name up in pg_ts_config and binds it.
            if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(err(format!("bad text search configuration {m:?}")));
            }
            config = Some(m.to_string());
        } else if op.takes_quantifier() {
            quantifier = Some(match m {
                "any" => Quantifier::Any,
                "all" => Quantifier::All,
                other => {
                    return Err(err(format!(
                        "unexpected modifier {other:?} expecting any or all"
                    )))
                }
            });
        } else {
            return Err(err(format!("operator {op_text} takes no modifier")));
        }
    }
    let value = match op {
        Op::Is => Value::Is(match value.to_ascii_lowercase().as_str() {
            "null" => IsValue::Null,
            "not_null" => IsValue::NotNull,
            "true" => IsValue::True,
            "false" => IsValue::False,
            "unknown" => IsValue::Unknown,
            other => {
                return Err(err(format!(
                    "unexpected {other:?} expecting null, not_null, true, false or unknown"
                )))
            }
        }),
        Op::In => Value::List(
            parse_list(value, '(', ')').ok_or_else(|| err("in expects a list (a,b,c)".into()))?,
        ),
        _ if quantifier.is_some() => Value::List(
            parse_list(value, '{', '}')
                .ok_or_else(|| err("(any)/(all) expect a list {a,b}".into()))?,
        ),
        _ => Value::Single(if in_logic {
            unquote(value)
        } else {
            value.to_string()
        }),
    };
    Ok(Filter {
        field,
        negate,
        op,
        quantifier,
        config,
        value,
    })
}

/// `(a,b,"c,d")` -> ["a", "b", "c,d"]; `()` -> [].
fn parse_list(v: &str, open: char, close: char) -> Option<Vec<String>> {
    let v = v.trim();
    let inner = v.strip_prefix(open)?.strip_suffix(close)?;
    if inner.trim().is_empty() {
        return Some(vec![]);
    }
    Some(split_top(inner, ',').iter().map(|s| unquote(s)).collect())
}

/// `or=(a.eq.1,and(b.gt.2,not.c.is.null))`, `not.or=(...)` arrives as key `or`, value `not...`?
/// No: PostgREST spells it as key `not.or`; [`split_path`] leaves `not` in the path, so both
/// forms are handled by the caller passing the negation.
fn parse_logic_param(op: &str, value: &str, negate: bool) -> ApiResult<Condition> {
    check_nesting("logic tree", value)?;
    let v = value.trim();
    let inner = v
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| {
            ApiError::parse(
                "logic tree",
                &format!("{op}={value}"),
                "expecting \"(\" ... \")\"",
            )
        })?;
    let children = parse_logic_items(inner, value, 1)?;
    Ok(Condition::Logic {
        or: op == "or",
        negate,
        children,
    })
}

/// The items of a logic group `depth` levels deep (the parameter's own group is 1).
fn parse_logic_items(inner: &str, whole: &str, depth: usize) -> ApiResult<Vec<Condition>> {
    check_depth("logic tree", depth)?;
    if inner.trim().is_empty() {
        return Err(ApiError::parse("logic tree", whole, "empty logic tree"));
    }
    let mut out = vec![];
    for item in split_top(inner, ',') {
        let item = item.trim();
        // `not.` before a tree, or before a filter (`not.col.eq.1`, same as `col.not.eq.1`).
        let (negate, body) = match item.strip_prefix("not.") {
            Some(b) => (true, b),
            None => (false, item),
        };
        if let Some(rest) = body
            .strip_prefix("and(")
            .or_else(|| body.strip_prefix("or("))
        {
            let or = body.starts_with("or(");
            let inner = rest
                .strip_suffix(')')
                .ok_or_else(|| ApiError::parse("logic tree", whole, "unbalanced parentheses"))?;
            out.push(Condition::Logic {
                or,
                negate,
                children: parse_logic_items(inner, whole, depth + 1)?,
            });
            continue;
        }
        // field.op.value; the field ends at the first dot outside quotes.
        let parts = split_top(body, '.');
        if parts.len() < 3 {
            return Err(ApiError::parse(
                "logic tree",
                whole,
                format!("expecting field.operator.value in {body:?}"),
            ));
        }
        let field = parse_field(&parts[0], "logic tree")?;
        let rest = body[parts[0].len() + 1..].to_string();
        let mut filter = parse_op_value(field, &rest, true)?;
        if negate {
            filter.negate = !filter.negate;
        }
        out.push(Condition::Filter(filter));
    }
    Ok(out)
}

/// `col.desc.nullslast,other`.
pub fn parse_order(v: &str) -> ApiResult<Vec<OrderTerm>> {
    let mut out = vec![];
    for item in split_top(v, ',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(ApiError::parse("order", v, "empty order term"));
        }
        let parts = split_top(item, '.');
        let field = parse_field(&parts[0], "order")?;
        let mut term = OrderTerm {
            field,
            desc: false,
            nulls_first: None,
        };
        for m in &parts[1..] {
            match m.as_str() {
                "asc" => term.desc = false,
                "desc" => term.desc = true,
                "nullsfirst" => term.nulls_first = Some(true),
                "nullslast" => term.nulls_first = Some(false),
                other => {
                    return Err(ApiError::parse(
                        "order",
                        v,
                        format!("unexpected {other:?} expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
                    ))
                }
            }
        }
        out.push(term);
    }
    Ok(out)
}

/// The `select=` tree.
pub fn parse_select(v: &str) -> ApiResult<Vec<SelectItem>> {
    check_nesting("select", v)?;
    parse_select_at(v, 0)
}

/// One level of `select`, `depth` embeds down.
fn parse_select_at(v: &str, depth: usize) -> ApiResult<Vec<SelectItem>> {
    check_depth("select", depth)?;
    let v2 = v.trim();
    if v2.is_empty() {
        return Ok(vec![SelectItem::Star]);
    }
    let mut out = vec![];
    for raw in split_top(v2, ',') {
        let item = raw.trim();
        if item.is_empty() {
            return Err(ApiError::parse("select", v, "empty select item"));
        }
        out.push(parse_select_item(item, v, depth)?);
    }
    Ok(out)
}

fn parse_select_item(item: &str, whole: &str, depth: usize) -> ApiResult<SelectItem> {
    if item == "*" {
        return Ok(SelectItem::Star);
    }
    if item.starts_with("...") {
        return Err(ApiError::parse(
            "select",
            whole,
            "spread embedding (...) is not supported",
        ));
    }
    // alias:rest, where ':' is not part of '::'
    let (alias, body) = match find_alias_colon(item) {
        Some(i) => (Some(unquote(&item[..i])), item[i + 1..].trim()),
        None => (None, item),
    };
    if let Some(alias) = &alias {
        if alias.is_empty() {
            return Err(ApiError::parse("select", whole, "empty alias"));
        }
        check_name("select", alias)?;
    }
    if let Some(open) = body.find('(') {
        if !body.starts_with('"') || body[..open].ends_with('"') {
            if !body.ends_with(')') {
                return Err(ApiError::parse("select", whole, "unbalanced parentheses"));
            }
            let head = &body[..open];
            let inner = &body[open + 1..body.len() - 1];
            let mut pieces = head.split('!');
            let relation = unquote(pieces.next().unwrap_or(""));
            if relation.is_empty() {
                return Err(ApiError::parse("select", whole, "empty relation name"));
            }
            check_name("select", &relation)?;
            if inner.trim().is_empty()
                && matches!(relation.as_str(), "count" | "sum" | "avg" | "min" | "max")
            {
                return Err(ApiError::bad_request(
                    "PGRST123",
                    "Use of aggregate functions is not allowed",
                ));
            }
            let mut hint = None;
            let mut inner_join = false;
            for p in pieces {
                match p {
                    "inner" => inner_join = true,
                    "left" => {}
                    h if !h.is_empty() => {
                        check_name("select", h)?;
                        hint = Some(unquote(h))
                    }
                    _ => return Err(ApiError::parse("select", whole, "empty embedding hint")),
                }
            }
            let select = if inner.trim().is_empty() {
                vec![SelectItem::Star]
            } else {
                parse_select_at(inner, depth + 1)?
            };
            return Ok(SelectItem::Embed(Embed {
                relation,
                alias,
                hint,
                inner: inner_join,
                select,
            }));
        }
    }
    // The type is only a name here: the planner looks it up in `pg_type` (the schema cache)
    // and writes the catalog's own name, quoted; nothing of this text reaches SQL.
    let (field_text, cast) = match body.find("::") {
        Some(i) => {
            let cast = body[i + 2..].trim().to_string();
            if cast.is_empty() {
                return Err(ApiError::parse("select", whole, "empty cast type"));
            }
            check_name("select", &cast)?;
            (&body[..i], Some(cast))
        }
        None => (body, None),
    };
    let field = parse_field(field_text, "select")?;
    Ok(SelectItem::Field { field, alias, cast })
}

fn find_alias_colon(item: &str) -> Option<usize> {
    let bytes = item.as_bytes();
    let (mut quoted, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'(' if !quoted => return None,
            b':' if !quoted => {
                let next_colon = bytes.get(i + 1) == Some(&b':');
                let prev_colon = i > 0 && bytes[i - 1] == b':';
                if !next_colon && !prev_colon {
                    return Some(i);
                }
                return None;
            }
            _ => {}
        }
    }
    None
}

/// Handles `not.or` / `not.and` keys, which [`parse_query`] sees as path `["not"]`.
pub fn normalise(mut params: QueryParams) -> QueryParams {
    let keys: Vec<Vec<String>> = params.modifiers.keys().cloned().collect();
    for k in keys {
        if k.last().map(String::as_str) == Some("not") {
            let m = params.modifiers.remove(&k).unwrap();
            let target = k[..k.len() - 1].to_vec();
            let entry = params.modifiers.entry(target).or_default();
            for c in m.conditions {
                entry.conditions.push(match c {
                    Condition::Logic { or, children, .. } => Condition::Logic {
                        or,
                        negate: true,
                        children,
                    },
                    // `not.col=...` is not PostgREST grammar; keep it as a filter on column "not.col" would
                    // fail the cache check, which is the right answer.
                    other => other,
                });
            }
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryParams {
        normalise(parse_query(s).unwrap())
    }

    #[test]
    fn filters_with_operators_negation_and_lists() {
        let p = q("status=eq.open&amount=not.gt.10&id=in.(1,2,%22a,b%22)&x=is.NULL");
        let c = &p.at(&[]).conditions;
        assert_eq!(c.len(), 4);
        match &c[2] {
            Condition::Filter(f) => assert_eq!(
                f.value,
                Value::List(vec!["1".into(), "2".into(), "a,b".into()])
            ),
            _ => panic!(),
        }
        match &c[1] {
            Condition::Filter(f) => assert!(f.negate && f.op == Op::Gt),
            _ => panic!(),
        }
    }

    #[test]
    fn nested_logic_trees_and_negated_trees() {
        let p = q("or=(a.eq.1,and(b.gt.2,not.c.is.null))&not.and=(d.eq.%22x,y%22,e.lt.3)");
        let c = &p.at(&[]).conditions;
        assert_eq!(c.len(), 2);
        match &c[0] {
            Condition::Logic {
                or: true,
                negate: false,
                children,
            } => {
                assert_eq!(children.len(), 2);
                assert!(matches!(&children[1], Condition::Logic { or: false, .. }));
            }
            other => panic!("{other:?}"),
        }
        match &c[1] {
            Condition::Logic {
                or: false,
                negate: true,
                children,
            } => match &children[0] {
                Condition::Filter(f) => assert_eq!(f.value, Value::Single("x,y".into())),
                _ => panic!(),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn select_with_alias_cast_json_and_embeds() {
        let p = q("select=t:title,amount::text,properties->>region,pot_invitations!inner(method:invitation_method,sent_at)");
        assert_eq!(p.select.len(), 4);
        assert!(matches!(&p.select[0], SelectItem::Field { alias: Some(a), .. } if a == "t"));
        let quoted = q(r#"select="a\":b":title"#);
        assert!(
            matches!(&quoted.select[0], SelectItem::Field { alias: Some(a), .. } if a == "a\":b")
        );
        assert!(matches!(&p.select[1], SelectItem::Field { cast: Some(c), .. } if c == "text"));
        match &p.select[2] {
            SelectItem::Field { field, .. } => assert_eq!(field.output_name(), "region"),
            _ => panic!(),
        }
        match &p.select[3] {
            SelectItem::Embed(e) => {
                assert!(e.inner);
                assert_eq!(e.select.len(), 2);
            }
            _ => panic!(),
        }
    }

    #[test]
    fn embedded_modifiers_go_to_their_path() {
        let p = q("select=id,pot_invitations(id)&pot_invitations.order=sent_at.desc&pot_invitations.limit=2&pot_invitations.invitation_method=eq.sms");
        let m = p.at(&["pot_invitations".to_string()]);
        assert_eq!(m.limit, Some(2));
        assert!(m.order[0].desc);
        assert_eq!(m.conditions.len(), 1);
    }

    #[test]
    fn modifiers_of_a_resource_not_embedded_are_pgrst108() {
        for bad in [
            "x.order=a",
            "x.a=eq.1",
            "x.not.or=(a.eq.1)",
            "select=x(y)&x.z.limit=1",
            "select=x:y(a)&y.limit=1",
        ] {
            let e = parse_query(bad).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.code.as_str()),
                (400, "PGRST108"),
                "{bad}"
            );
        }
        for good in [
            "select=x(y(a))&x.y.limit=1&x.not.or=(a.eq.1)",
            "select=al:x(a)&al.order=a",
            "not.or=(a.eq.1)",
        ] {
            parse_query(good).unwrap();
        }
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        for bad in [
            "a=eq",
            "a=foo.1",
            "order=a.sideways",
            "select=a(b",
            "or=(a.eq.1",
            "limit=x",
            "a=in.1,2",
            "a=is.maybe",
        ] {
            let e = parse_query(bad).unwrap_err();
            assert_eq!(e.code, "PGRST100", "{bad}");
        }
    }
}

#[cfg(test)]
mod bounds {
    //! The limits hold before any recursion: deep input is a 400, whatever its shape.
    use super::*;

    /// Runs `f` on a thread with a small stack, so that recursion proportional to the input
    /// would overflow here long before it could on a server's thread.
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    fn refused(raw: String) -> ApiError {
        on_small_stack(move || parse_query(&raw).map(normalise).unwrap_err())
    }

    fn nested(open: &str, leaf: &str, close: &str, n: usize) -> String {
        format!("{}{leaf}{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn thousands_of_nested_embeds_or_groups_are_a_400() {
        for raw in [
            format!("select={}", nested("a(", "x", ")", 5000)),
            format!("or=({})", nested("or(", "a.eq.1", ")", 5000)),
            format!("and=({})", nested("not.and(", "a.eq.1", ")", 3000)),
            format!("a.b.or=({})", nested("and(", "a.in.(1,2)", ")", 3000)),
        ] {
            let e = refused(raw);
            assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "PGRST100"));
            assert!(e.details.unwrap().contains("deeper than 8"));
        }
    }

    #[test]
    fn the_nesting_limit_is_exact() {
        let ok = |raw: String| parse_query(&raw).map(normalise).is_ok();
        assert!(ok(format!(
            "select={}",
            nested("a(", "x", ")", limits::NESTING)
        )));
        assert!(!ok(format!(
            "select={}",
            nested("a(", "x", ")", limits::NESTING + 1)
        )));
        // The parameter's own group is level 1.
        assert!(ok(format!(
            "or=({})",
            nested("or(", "a.eq.1", ")", limits::NESTING - 1)
        )));
        assert!(!ok(format!(
            "or=({})",
            nested("or(", "a.eq.1", ")", limits::NESTING)
        )));
    }

    #[test]
    fn quotes_do_not_hide_nesting_from_the_parser() {
        // Whatever the pre-scan makes of the quotes, the recursion counts its own depth.
        for raw in [
            format!("select=a(b\"{}\")", nested("c(", "x", ")", 500)),
            format!("select=\"{}", nested("a(", "x", ")", 500)),
            format!("select={}", nested("\"a\"(", "x", ")", 500)),
            format!("or=(a.eq.\"x\",{})", nested("or(", "a.eq.\"(\"", ")", 500)),
        ] {
            let _ = on_small_stack(move || parse_query(&raw).map(normalise).map(|_| ()));
        }
    }

    #[test]
    fn sizes_are_bounded() {
        let many = |n: usize, item: &str| vec![item; n].join(",");
        for (raw, what) in [
            (format!("select={}", many(201, "a")), "select items"),
            (format!("select={}", many(21, "b(c)")), "embedded resources"),
            (format!("or=({})", many(101, "a.eq.1")), "filters"),
            (vec!["a=eq.1"; 101].join("&"), "filters"),
            (format!("or=({})", many(51, "and(a.eq.1)")), "logic groups"),
            (format!("order={}", many(21, "a")), "order terms"),
            (format!("select=a{}", "->b".repeat(17)), "JSON path"),
            (
                format!("a=eq.{}", "x".repeat(limits::QUERY_BYTES)),
                "bytes long",
            ),
            ("a=eq.x%00y".to_string(), "NUL"),
            (format!("select={}", "a".repeat(129)), "longer than 128"),
            (format!("{}.order=a", ["a"; 10].join(".")), "dotted parts"),
        ] {
            let e = parse_query(&raw).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.code.as_str()),
                (400, "PGRST100"),
                "{what}"
            );
            assert!(
                e.details.as_deref().unwrap().contains(what),
                "{what}: {:?}",
                e.details
            );
        }
        assert!(parse_query(&format!("select={}", many(200, "a"))).is_ok());
        assert!(parse_query(&format!("or=({})", many(100, "a.eq.1"))).is_ok());
    }

    #[test]
    fn a_json_index_beyond_int_is_a_key() {
        let p = parse_query("select=data->99999999999,data->2").unwrap();
        match (&p.select[0], &p.select[1]) {
            (SelectItem::Field { field: a, .. }, SelectItem::Field { field: b, .. }) => {
                assert_eq!(a.path[0].key, JsonKey::Key("99999999999".into()));
                assert_eq!(b.path[0].key, JsonKey::Index(2));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod fuzz {
    //! Whatever the query string, the parser answers: a value or a 400-class error, no panic.
    use proptest::prelude::*;

    use super::*;

    fn grammar_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("select=".to_string()),
            Just("order=".to_string()),
            Just("or=(".to_string()),
            Just("and(".to_string()),
            Just("not.".to_string()),
            Just("eq.".to_string()),
            Just("in.(".to_string()),
            Just("->>".to_string()),
            Just("::".to_string()),
            Just("!inner".to_string()),
            Just("%22".to_string()),
            Just("%2C".to_string()),
            "[a-z_*.,():!{}\"=&-]{0,6}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(raw in ".{0,80}") {
            if let Err(e) = parse_query(&raw).map(normalise) {
                prop_assert!(e.status.is_client_error(), "{raw:?} -> {}", e.status);
            }
        }

        #[test]
        fn grammar_shaped_input_never_panics(pieces in proptest::collection::vec(grammar_piece(), 0..12)) {
            let raw = pieces.concat();
            if let Err(e) = parse_query(&raw).map(normalise) {
                prop_assert!(e.status.is_client_error(), "{raw:?} -> {}", e.status);
                prop_assert!(e.code.starts_with("PGRST"), "{raw:?} -> {}", e.code);
            }
        }
    }
}
