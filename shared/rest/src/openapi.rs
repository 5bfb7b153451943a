//! `GET /`: an OpenAPI (Swagger 2.0, as PostgREST serves) document built from the live
//! schema cache: the tables of the service's schema with their columns, types, defaults and
//! SQL comments, plus the service's custom endpoints.
//!
//! The document follows the caller's privileges, as PostgREST's default
//! `openapi-mode = follow-privileges` does: a table appears only when the caller's role
//! may select, insert, update or delete it; a column only when the role may read or write
//! it; each method only when the role holds its privilege. An anonymous caller therefore
//! learns nothing of `identity.users` (nor of `password_hash`), and a user token sees what
//! `wolo_user` may touch.

use serde_json::{json, Map, Value};

use crate::{
    api::Api,
    cache::{Column, SchemaCache},
};

fn column_schema(c: &Column) -> Value {
    let (ty, format) = match c.data_type.as_str() {
        "integer" | "bigint" | "smallint" => ("integer", c.data_type.clone()),
        "numeric" | "real" | "double precision" => ("number", c.data_type.clone()),
        "boolean" => ("boolean", "boolean".to_string()),
        t if t.ends_with("[]") => ("array", t.to_string()),
        "json" | "jsonb" => ("", c.data_type.clone()),
        t => ("string", t.to_string()),
    };
    let mut m = Map::new();
    if !ty.is_empty() {
        m.insert("type".into(), json!(ty));
    }
    m.insert("format".into(), json!(c.declared_type));
    let _ = format;
    if ty == "array" {
        m.insert("items".into(), json!({"type": "string"}));
    }
    if let Some(d) = &c.description {
        m.insert("description".into(), json!(d));
    }
    if let Some(d) = &c.default {
        m.insert("default".into(), json!(d));
    }
    Value::Object(m)
}

pub fn document(api: &Api, cache: &SchemaCache, role: &str) -> Value {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    paths.insert("/".into(), json!({"get": {"tags": ["Introspection"], "summary": "OpenAPI description (this document)", "responses": {"200": {"description": "OK"}}}}));
    let common = json!([
        {"$ref": "#/parameters/select"}, {"$ref": "#/parameters/order"}, {"$ref": "#/parameters/range"},
        {"$ref": "#/parameters/offset"}, {"$ref": "#/parameters/limit"}, {"$ref": "#/parameters/preferCount"}
    ]);
    for t in cache.tables_of(&api.schema) {
        let privileges = t.privileges_of(role);
        if !privileges.any() {
            continue;
        }
        let mut props = Map::new();
        let mut required = vec![];
        let visible = t.columns.iter().filter(|c| {
            c.readable_by.iter().any(|r| r == role) || c.writable_by.iter().any(|r| r == role)
        });
        for c in visible {
            props.insert(c.name.clone(), column_schema(c));
            if !c.nullable && c.default.is_none() {
                required.push(c.name.clone());
            }
        }
        let mut def = json!({"type": "object", "properties": props, "required": required});
        if let Some(d) = &t.description {
            def["description"] = json!(d);
        }
        definitions.insert(t.name.clone(), def);
        let body = json!({"name": t.name, "in": "body", "required": false, "schema": {"$ref": format!("#/definitions/{}", t.name)}});
        let ok = json!({"200": {"description": "OK", "schema": {"type": "array", "items": {"$ref": format!("#/definitions/{}", t.name)}}}, "206": {"description": "Partial Content"}});
        let mut item = json!({});
        if privileges.select {
            item["get"] = json!({"tags": [t.name], "summary": t.description.clone().unwrap_or_default(), "parameters": common, "responses": ok});
        }
        if !t.is_view {
            if privileges.insert {
                item["post"] = json!({"tags": [t.name], "parameters": [body, {"$ref": "#/parameters/preferPost"}], "responses": {"201": {"description": "Created"}}});
            }
            if privileges.update {
                item["patch"] = json!({"tags": [t.name], "parameters": [body, {"$ref": "#/parameters/preferReturn"}], "responses": {"204": {"description": "No Content"}}});
            }
            if privileges.delete {
                item["delete"] = json!({"tags": [t.name], "parameters": [{"$ref": "#/parameters/preferReturn"}], "responses": {"204": {"description": "No Content"}}});
            }
        }
        paths.insert(format!("/{}", t.name), item);
    }
    for e in &api.endpoints {
        let entry = paths.entry(e.path.to_string()).or_insert_with(|| json!({}));
        entry[e.method.to_ascii_lowercase()] = json!({"tags": ["Endpoints"], "summary": e.summary, "responses": {"200": {"description": "OK"}}});
    }
    json!({
        "swagger": "2.0",
        "info": {"title": format!("WOLO {} API", api.schema), "description": format!("PostgREST-style API over the `{}` schema", api.schema), "version": env!("CARGO_PKG_VERSION")},
        "basePath": "/",
        "schemes": ["http", "https"],
        "consumes": ["application/json", "application/vnd.pgrst.object+json", "text/csv"],
        "produces": ["application/json", "application/vnd.pgrst.object+json", "text/csv"],
        "paths": paths,
        "definitions": definitions,
        "parameters": {
            "select": {"name": "select", "in": "query", "type": "string", "description": "Filtering columns"},
            "order": {"name": "order", "in": "query", "type": "string", "description": "Ordering"},
            "range": {"name": "Range", "in": "header", "type": "string", "description": "Limiting and pagination"},
            "offset": {"name": "offset", "in": "query", "type": "string", "description": "Limiting and pagination"},
            "limit": {"name": "limit", "in": "query", "type": "string", "description": "Limiting and pagination"},
            "preferCount": {"name": "Prefer", "in": "header", "type": "string", "enum": ["count=none", "count=exact", "count=planned", "count=estimated"]},
            "preferPost": {"name": "Prefer", "in": "header", "type": "string", "enum": ["return=representation", "return=minimal", "return=headers-only", "resolution=ignore-duplicates", "resolution=merge-duplicates"]},
            "preferReturn": {"name": "Prefer", "in": "header", "type": "string", "enum": ["return=representation", "return=minimal", "return=headers-only"]}
        }
    })
}
