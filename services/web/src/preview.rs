//! The pot page's link preview: `GET /p/{pot}/apercu.jpg`, a 1200×630 JPEG (the size
//! WhatsApp, Facebook and X show as a large card) with the pot's title, whose birthday, the
//! progress bar and the gift pack; the page's `og:image` and `twitter:image`.
//!
//! A private pot's card is neutral (WOLO and its tagline), with or without the owner's link:
//! a preview is seen by everyone in the chat it is posted to. Text is drawn with `ab_glyph`
//! in DejaVu Sans Bold (`assets/`, Bitstream Vera licence), French words (a crawler sends no
//! language worth following).

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use image::{codecs::jpeg::JpegEncoder, Rgb, RgbImage};
use serde_json::Value;

use crate::{i18n::fill, Lang, Sources, Visit};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;
/// JPEG quality: a card of flat colours and text stays far under 300 KB.
const QUALITY: u8 = 82;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans-Bold.ttf");

const CREAM: Rgb<u8> = Rgb([250, 247, 242]);
const GREEN: Rgb<u8> = Rgb([11, 110, 79]);
const INK: Rgb<u8> = Rgb([29, 29, 31]);
const MUTED: Rgb<u8> = Rgb([91, 91, 95]);
const ORANGE: Rgb<u8> = Rgb([242, 159, 5]);
const TRACK: Rgb<u8> = Rgb([230, 225, 216]);
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// The embedded font, parsed once.
fn font() -> &'static FontRef<'static> {
    static PARSED: std::sync::OnceLock<FontRef<'static>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| FontRef::try_from_slice(FONT).expect("the embedded font parses"))
}

/// The neutral card, drawn once: it never changes.
fn neutral() -> &'static [u8] {
    static NEUTRAL: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    NEUTRAL.get_or_init(|| card(None))
}

fn rect(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, c: Rgb<u8>) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, c);
        }
    }
}

/// The width of `text` at `size` px.
fn width(text: &str, size: f32) -> f32 {
    let f = font();
    let scaled = f.as_scaled(PxScale::from(size));
    let mut w = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            w += scaled.kern(p, id);
        }
        w += scaled.h_advance(id);
        prev = Some(id);
    }
    w
}

/// Draws `text` with its baseline at `y`, from `x`, blending each glyph's coverage.
fn text(img: &mut RgbImage, x: f32, y: f32, size: f32, color: Rgb<u8>, text: &str) {
    let f = font();
    let scaled = f.as_scaled(PxScale::from(size));
    let mut caret = x;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(size, ab_glyph::point(caret, y));
        caret += scaled.h_advance(id);
        prev = Some(id);
        let Some(outline) = f.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + gx as i64;
            let py = bounds.min.y as i64 + gy as i64;
            if px < 0 || py < 0 || px >= img.width() as i64 || py >= img.height() as i64 {
                return;
            }
            let under = img.get_pixel(px as u32, py as u32);
            let a = coverage.clamp(0.0, 1.0);
            let mix = |u: u8, c: u8| (u as f32 * (1.0 - a) + c as f32 * a).round() as u8;
            let out = Rgb([
                mix(under[0], color[0]),
                mix(under[1], color[1]),
                mix(under[2], color[2]),
            ]);
            img.put_pixel(px as u32, py as u32, out);
        });
    }
}

/// `text` cut into at most `lines` lines of at most `max` px at `size`, the last one ending
/// in "…" when the text does not fit.
fn wrap(text: &str, size: f32, max: f32, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if width(&candidate, size) <= max || line.is_empty() {
            line = candidate;
            continue;
        }
        out.push(std::mem::take(&mut line));
        line = word.to_string();
        if out.len() == lines {
            break;
        }
        if words.peek().is_none() {
            break;
        }
    }
    if !line.is_empty() && out.len() < lines {
        out.push(line);
    }
    let shown: usize = out.iter().map(|l| l.split_whitespace().count()).sum();
    if shown < text.split_whitespace().count() {
        if let Some(last) = out.last_mut() {
            while !last.is_empty() && width(&format!("{last}…"), size) > max {
                last.pop();
            }
            last.push('…');
        }
    }
    // A single word wider than the card: cut it.
    for l in &mut out {
        while width(l, size) > max && l.chars().count() > 1 {
            l.pop();
            l.pop();
            l.push('…');
        }
    }
    out
}

/// The card of a pot (`None`: the neutral card).
pub fn card(pot: Option<&Value>) -> Vec<u8> {
    let lang = Lang::Fr;
    let w = lang.words();
    let mut img = RgbImage::from_pixel(WIDTH, HEIGHT, CREAM);
    rect(&mut img, 0, 0, WIDTH, 96, GREEN);
    text(&mut img, 60.0, 66.0, 44.0, WHITE, "WOLO");
    let margin = 60.0;
    let max = WIDTH as f32 - 2.0 * margin;
    match pot {
        None => {
            for (i, l) in wrap(w.tagline, 64.0, max, 3).iter().enumerate() {
                text(&mut img, margin, 250.0 + 84.0 * i as f32, 64.0, INK, l);
            }
            text(&mut img, margin, 520.0, 34.0, MUTED, "Cagnotte privée");
        }
        Some(p) => {
            let title = p["title"].as_str().unwrap_or("");
            let mut y = 180.0;
            for l in wrap(title, 62.0, max, 2) {
                text(&mut img, margin, y, 62.0, INK, &l);
                y += 76.0;
            }
            let mut sub = String::new();
            if let Some(name) = p["owner_first_name"].as_str().filter(|n| !n.is_empty()) {
                sub = fill(w.birthday_of, &[name]);
            }
            if let Some(d) = p["birthday_date"]
                .as_str()
                .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
            {
                sub = format!("{sub} {}", fill(w.birthday_on, &[&lang.date(d)]))
                    .trim()
                    .to_string();
            }
            if let Some(l) = wrap(&sub, 34.0, max, 1).first() {
                text(&mut img, margin, y, 34.0, MUTED, l);
            }
            let raised = p["raised_amount_cfa"].as_i64().unwrap_or(0);
            let target = p["target_amount_cfa"].as_i64().unwrap_or(0);
            let percent = p["progress_percent"]
                .as_f64()
                .unwrap_or(0.0)
                .clamp(0.0, 100.0);
            let bar_y = 400;
            let bar_w = WIDTH - 120;
            rect(&mut img, 60, bar_y, bar_w, 28, TRACK);
            rect(
                &mut img,
                60,
                bar_y,
                ((bar_w as f64) * percent / 100.0).round() as u32,
                28,
                ORANGE,
            );
            let line = fill(w.raised_of, &[&lang.cfa(raised), &lang.cfa(target)]);
            if let Some(l) = wrap(&line, 38.0, max, 1).first() {
                text(&mut img, margin, 490.0, 38.0, INK, l);
            }
            if let Some(pack) = p["preferred_pack"]["name"].as_str() {
                let line = format!("{} : {pack}", w.gift);
                if let Some(l) = wrap(&line, 32.0, max, 1).first() {
                    text(&mut img, margin, 560.0, 32.0, MUTED, l);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(64 * 1024);
    JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(&img)
        .expect("a JPEG of an RGB image in memory");
    out
}

/// `GET /p/{pot}/apercu.jpg`: the card of a pot the link opens and that is not private; the
/// neutral card otherwise (a crawler is never told whether a pot exists).
pub async fn get_preview(
    State(src): State<Sources>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Visit { here, query, .. }: Visit,
) -> Response {
    let src = src.reading(&headers);
    let pot = match crate::pot::open(&src, &id, query.as_deref(), Lang::Fr, &here).await {
        Ok(view) if view.visibility != "private" => Some(view.json),
        _ => None,
    };
    let jpeg = match tokio::task::spawn_blocking(move || match pot {
        Some(p) => card(Some(&p)),
        None => neutral().to_vec(),
    })
    .await
    {
        Ok(j) => j,
        Err(e) => return crate::failure(Lang::Fr, &here, &e),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            // Crawlers fetch it once; a few minutes keeps the progress close enough.
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        jpeg,
    )
        .into_response()
}

/// The preview tags of a page: the pot's (`Some((title, description))`) or the neutral card.
pub fn tags(base: &str, pot_id: &str, pot: Option<(&str, &str)>) -> maud::Markup {
    let w = Lang::Fr.words();
    let (title, description) = pot.unwrap_or(("WOLO", w.tagline));
    let image = format!("{base}/p/{pot_id}/apercu.jpg");
    maud::html! {
        meta property="og:type" content="website";
        meta property="og:site_name" content="WOLO";
        meta property="og:title" content=(title);
        meta property="og:description" content=(description);
        meta property="og:image" content=(image);
        meta property="og:image:type" content="image/jpeg";
        meta property="og:image:width" content=(WIDTH);
        meta property="og:image:height" content=(HEIGHT);
        meta name="twitter:card" content="summary_large_image";
        meta name="twitter:title" content=(title);
        meta name="twitter:description" content=(description);
        meta name="twitter:image" content=(image);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_titles_wrap_and_end_in_an_ellipsis() {
        let lines = wrap(
            "Les trente ans de notre très chère Aminata, la meilleure des sœurs du quartier de Grand Yoff à Dakar",
            62.0,
            1080.0,
            2,
        );
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'), "{lines:?}");
        assert!(lines.iter().all(|l| width(l, 62.0) <= 1080.0));
        assert_eq!(wrap("Mes 30 ans", 62.0, 1080.0, 2), vec!["Mes 30 ans"]);
    }
}
