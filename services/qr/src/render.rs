//! `GET /codes/{code}.png` and `.svg`: the QR code, for the pot's owner, admins and the staff
//! of the pack's partner.
//!
//! The QR holds the grouped code (`ABCD-EFGH-...`, alphanumeric mode), error correction M,
//! with its 4-module quiet zone; the PNG is at least 480×480 px (≈ 8 px per module), enough
//! for a phone camera reading another phone's screen. Answers: 401 without a token, 404 for
//! a code that fails its tag or does not exist, 403 for anyone else, `Cache-Control:
//! private, no-store`.

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use qrcode::{render::svg, EcLevel, QrCode};
use sqlx::Row;
use uuid::Uuid;

use rest::{extract::User, ApiError};

use crate::{code, db, AppState};

/// The smallest side of the PNG, in pixels.
pub const MIN_PX: u32 = 480;

fn qr(content: &str) -> Result<QrCode, ApiError> {
    QrCode::with_error_correction_level(content.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::internal(&format!("qr encoding: {e}")))
}

/// The quiet zone around the code, in modules (the standard's 4).
const QUIET_MODULES: u32 = 4;

/// The PNG of a code's content: one bit per pixel (black or white), each module a square of
/// whole pixels, the quiet zone included, at least [`MIN_PX`] a side. Packed rows, the Up
/// filter and fast deflate: a few kilobytes, and far less work than an 8-bit image.
pub fn png(content: &str) -> Result<Vec<u8>, ApiError> {
    let code = qr(content)?;
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let units = modules + 2 * QUIET_MODULES;
    let scale = MIN_PX.div_ceil(units);
    let side = units * scale;
    let row_bytes = side.div_ceil(8) as usize;
    // 1 = white (the PNG's grayscale), 0 = black. Each module row is packed once, then
    // copied to the `scale` pixel rows it covers (no per-pixel division).
    let mut data = vec![0xffu8; row_bytes * side as usize];
    let mut packed = vec![0xffu8; row_bytes];
    for my in 0..modules {
        packed.fill(0xff);
        for mx in 0..modules {
            if colors[(my * modules + mx) as usize] != qrcode::Color::Dark {
                continue;
            }
            let start = (QUIET_MODULES + mx) * scale;
            for x in start..start + scale {
                packed[(x / 8) as usize] &= !(0x80u8 >> (x % 8));
            }
        }
        let top = ((QUIET_MODULES + my) * scale) as usize;
        for y in top..top + scale as usize {
            data[y * row_bytes..(y + 1) * row_bytes].copy_from_slice(&packed);
        }
    }
    let fail = |e: ::png::EncodingError| ApiError::internal(&format!("png encoding: {e}"));
    let mut out = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut out, side, side);
    encoder.set_color(::png::ColorType::Grayscale);
    encoder.set_depth(::png::BitDepth::One);
    // The Up filter (what `Fastest` selects) turns every repeated pixel row into zeros; the
    // adaptive filter of `Fast` tries all five filters on every row for nothing here.
    encoder.set_compression(::png::Compression::Fastest);
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(&data).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

/// The SVG of a code's content.
pub fn svg(content: &str) -> Result<String, ApiError> {
    Ok(qr(content)?
        .render::<svg::Color>()
        .quiet_zone(true)
        .min_dimensions(MIN_PX, MIN_PX)
        .build())
}

fn not_found() -> ApiError {
    ApiError::not_found("qr_not_found", "QR code introuvable (QR code not found)")
}

#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn get_code(
    State(state): State<AppState>,
    caller: User,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let User { caller, id: user } = caller;
    let (value, kind) = if let Some(v) = file.strip_suffix(".png") {
        (v, "png")
    } else if let Some(v) = file.strip_suffix(".svg") {
        (v, "svg")
    } else {
        return Err(not_found());
    };
    let canonical = state.secret.verify(value).map_err(|_| not_found())?;
    let row = sqlx::query(
        "select pot.owner_user_id, exists (select 1 from packs.partner_members m
                 where m.partner_id = p.partner_id and m.user_id = $2) as is_staff
         from qr.qr_codes c join pots.pots pot on pot.id = c.pot_id
         join packs.packs p on p.id = c.pack_id where c.code = $1",
    )
    .bind(&canonical)
    .bind(user)
    .fetch_optional(&state.db)
    .await
    .map_err(db)?
    .ok_or_else(not_found)?;
    let owner: Uuid = row.get("owner_user_id");
    let is_staff: bool = row.get("is_staff");
    let allowed = caller.role == auth::Role::Admin
        || owner == user
        || (caller.role == auth::Role::Partner && is_staff);
    if !allowed {
        return Err(ApiError::forbidden(
            "Ce QR code ne vous appartient pas (not your QR code)",
        ));
    }
    let content = code::grouped(&canonical);
    let (ctype, body) = if kind == "png" {
        ("image/png", png(&content)?)
    } else {
        ("image/svg+xml", svg(&content)?.into_bytes())
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body,
    )
        .into_response())
}
