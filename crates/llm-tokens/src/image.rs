//! OpenAI's image token arithmetic, as LiteLLM's `calculate_img_tokens` applies it (no network: an image by
//! URL is never fetched).

use base64::Engine as _;

/// Tokens of a low-detail image, or of an image whose size is not known (an image by URL).
pub const BASE_TOKENS: u64 = 85;
/// Tokens of each 512-pixel tile of a high-detail image.
pub const TILE_TOKENS: u64 = 170;

const MAX_SHORT_SIDE: u64 = 768;
const MAX_LONG_SIDE: u64 = 2000;
const TILE: u64 = 512;
/// How much of an inline image is decoded to find its size (a JPEG's size marker may follow its metadata).
const HEADER_BASE64_CHARS: usize = 65_536;

/// The tokens of an image: [`BASE_TOKENS`] for `detail: low` or an image whose size cannot be read (an
/// image by URL, an unknown format); else the high-detail tiles of its size, read from the header of its
/// inline base64 data (PNG, GIF, JPEG, WebP).
pub fn tokens(inline_base64: Option<&str>, detail: Option<&str>) -> u64 {
    if detail == Some("low") {
        return BASE_TOKENS;
    }
    match inline_base64.and_then(dimensions) {
        Some((w, h)) => tiled(w, h),
        None => BASE_TOKENS,
    }
}

/// 85 plus 170 per 512-pixel tile, after scaling the image into 2000×2000 and its short side to 768.
pub fn tiled(width: u64, height: u64) -> u64 {
    let (w, h) = resize(width, height);
    let tiles = w.div_ceil(TILE) * h.div_ceil(TILE);
    BASE_TOKENS + TILE_TOKENS * tiles
}

/// LiteLLM's `resize_image_high_res` (integer truncation included).
fn resize(width: u64, height: u64) -> (u64, u64) {
    if width <= MAX_SHORT_SIDE && height <= MAX_SHORT_SIDE {
        return (width, height);
    }
    let (long, short) = (width.max(height) as f64, width.min(height).max(1) as f64);
    let ratio = long / short;
    let (mut a, mut b) = (MAX_SHORT_SIDE, (MAX_SHORT_SIDE as f64 * ratio) as u64);
    if b > MAX_LONG_SIDE {
        b = MAX_LONG_SIDE;
        a = (MAX_LONG_SIDE as f64 / ratio) as u64;
    }
    if width <= height { (a, b) } else { (b, a) }
}

/// The width and height of an inline image, from the start of its base64 data.
fn dimensions(data: &str) -> Option<(u64, u64)> {
    let mut end = data.len().min(HEADER_BASE64_CHARS);
    end -= end % 4;
    let head = base64::engine::general_purpose::STANDARD.decode(data.get(..end)?.as_bytes()).ok()?;
    let (w, h) = header_dimensions(&head)?;
    (w > 0 && h > 0).then_some((w, h))
}

fn be16(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?])))
}

fn le16(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?])))
}

fn le24(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, 0])))
}

fn header_dimensions(b: &[u8]) -> Option<(u64, u64)> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        let w = u32::from_be_bytes(b.get(16..20)?.try_into().ok()?);
        let h = u32::from_be_bytes(b.get(20..24)?.try_into().ok()?);
        return Some((u64::from(w), u64::from(h)));
    }
    if b.starts_with(b"GIF8") && b.get(5) == Some(&b'a') {
        return Some((le16(b, 6)?, le16(b, 8)?));
    }
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return jpeg_dimensions(b);
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return match b.get(12..16)? {
            b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
            b"VP8 " => Some((le16(b, 26)? & 0x3FFF, le16(b, 28)? & 0x3FFF)),
            b"VP8L" => {
                let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
                Some((u64::from(bits & 0x3FFF) + 1, u64::from((bits >> 14) & 0x3FFF) + 1))
            }
            _ => None,
        };
    }
    None
}

/// Walks a JPEG's segments to its start-of-frame marker (SOF0..SOF15 but DHT, JPG and DAC).
fn jpeg_dimensions(b: &[u8]) -> Option<(u64, u64)> {
    let mut at = 2;
    loop {
        while *b.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *b.get(at)?;
        let length = be16(b, at + 1)? as usize;
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return Some((be16(b, at + 6)?, be16(b, at + 4)?));
        }
        at += 1 + length;
        if *b.get(at)? != 0xFF {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> String {
        let mut raw = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        raw.extend(w.to_be_bytes());
        raw.extend(h.to_be_bytes());
        raw.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    #[test]
    fn tiles_follow_litellm() {
        // Values from LiteLLM 1.110.2's calculate_img_tokens.
        assert_eq!(tokens(Some(&png(1024, 1024)), None), 765);
        assert_eq!(tokens(Some(&png(4000, 1000)), Some("high")), 765);
        assert_eq!(tokens(Some(&png(512, 512)), None), 85 + 170);
        assert_eq!(tokens(Some(&png(1024, 1024)), Some("low")), 85);
        assert_eq!(tokens(None, Some("high")), 85);
        assert_eq!(tokens(Some("not base64!"), None), 85);
        assert_eq!(tiled(1000, 4000), 765);
        assert_eq!(tiled(0, 0), 85);
    }

    #[test]
    fn gif_jpeg_webp_headers() {
        assert_eq!(header_dimensions(b"GIF89a\x20\x03\x58\x02"), Some((800, 600)));
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, // APP0, 2 bytes of payload
            0xFF, 0xC0, 0x00, 0x11, 0x08, 0x02, 0x58, 0x03, 0x20, // SOF0: 8 bits, 600 high, 800 wide
        ];
        assert_eq!(header_dimensions(&jpeg), Some((800, 600)));
        assert_eq!(header_dimensions(&jpeg[..12]), None, "truncated");
        let mut webp = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00".to_vec();
        webp.extend([0x1F, 0x03, 0x00, 0x57, 0x02, 0x00]); // 799 + 1, 599 + 1
        assert_eq!(header_dimensions(&webp), Some((800, 600)));
        assert_eq!(header_dimensions(b"RIFF\x00\x00\x00\x00WEBPXXXX"), None);
    }
}
