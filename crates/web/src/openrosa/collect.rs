//! The QR code ODK Collect and KoboCollect scan to configure themselves for a site: the
//! project's settings as JSON, zlib-compressed and base64-encoded, as Collect reads them.
//! The settings hold the device's server address with its token: the code is a credential
//! and is shown once, like a token.

use std::fmt::Write as _;

/// The settings Collect takes from the code: the server address (token included) and the
/// project's name, with no username or password.
pub fn settings(server_url: &str, project: &str) -> String {
    serde_json::json!({
        "general": {
            "server_url": server_url,
            "username": "",
            "password": "",
            // Forms are sent as soon as they are finalised and there is a signal.
            "autosend": "wifi_and_cellular",
            "form_update_mode": "match_exactly",
            "periodic_form_updates_check": "every_one_hour",
        },
        "admin": {},
        "project": { "name": project, "icon": "P", "color": "#1f5f8b" },
    })
    .to_string()
}

/// The settings as Collect's QR code payload.
pub fn payload(settings: &str) -> String {
    base64(&zlib_stored(settings.as_bytes()))
}

/// The QR code of a device's settings, as an SVG image.
pub fn qr_svg(server_url: &str, project: &str) -> Option<String> {
    let data = payload(&settings(server_url, project));
    let code =
        qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::L).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(320, 320)
            .build(),
    )
}

/// A zlib stream of stored (uncompressed) blocks: what any inflater reads, without a
/// compression library for a few hundred bytes.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(0xFFFF).collect()
    };
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        out.push(u8::from(i == last));
        // A chunk is at most 0xFFFF bytes long: the conversion cannot fail.
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = s.write_char(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_zlib_as_the_standards_give_them() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // zlib's own output for "a" at level 0.
        assert_eq!(
            zlib_stored(b"a"),
            [
                0x78, 0x01, 0x01, 0x01, 0x00, 0xfe, 0xff, b'a', 0x00, 0x62, 0x00, 0x62
            ]
        );
        assert!(qr_svg("https://peywand.example.org/openrosa/key/pd_x", "Torkham").is_some());
    }
}
