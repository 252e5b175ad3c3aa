//! The type of a file from its first bytes: clients' `Content-Type` headers are not trusted.

/// How many leading bytes [`sniff_content_type`] needs to recognise every type it knows.
pub const SNIFF_LEN: usize = 512;

/// Types recognised from their signatures, in the order they are tried.
const SIGNATURES: &[(&str, usize, &[u8])] = &[
    ("image/png", 0, b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", 0, b"\xff\xd8\xff"),
    ("image/gif", 0, b"GIF87a"),
    ("image/gif", 0, b"GIF89a"),
    ("application/pdf", 0, b"%PDF-"),
    ("application/zip", 0, b"PK\x03\x04"),
    ("application/gzip", 0, b"\x1f\x8b"),
    ("audio/mpeg", 0, b"ID3"),
];

/// Every type this module can recognise: `STORAGE_ALLOWED_TYPES` may only name these.
pub const KNOWN_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "audio/mpeg",
    "video/mp4",
    "text/plain",
];

/// The content type of a file starting with `head` (up to [`SNIFF_LEN`] bytes), or
/// `None` when it is none of [`KNOWN_TYPES`].
pub fn sniff_content_type(head: &[u8]) -> Option<&'static str> {
    for (content_type, offset, magic) in SIGNATURES {
        if head.get(*offset..offset + magic.len()) == Some(magic) {
            return Some(content_type);
        }
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    // ISO base media: a box size, then `ftyp` and a brand (mp4, isom, ...).
    if head.len() >= 12 && &head[4..8] == b"ftyp" && !head[8..12].starts_with(b"avi") {
        return Some("video/mp4");
    }
    if !head.is_empty() && is_text(head) {
        return Some("text/plain");
    }
    None
}

/// UTF-8 without control characters other than tab and line breaks; a multi-byte
/// character cut at the end of `head` still counts as text.
fn is_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    valid
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_images_documents_and_text() {
        assert_eq!(
            sniff_content_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(sniff_content_type(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(
            sniff_content_type(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some("image/webp")
        );
        assert_eq!(sniff_content_type(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(
            sniff_content_type(b"\0\0\0\x18ftypmp42"),
            Some("video/mp4")
        );
        assert_eq!(sniff_content_type("héllo\n".as_bytes()), Some("text/plain"));
    }

    #[test]
    fn refuses_unknown_binary_content() {
        assert_eq!(sniff_content_type(b"MZ\x90\0\x03\0\0\0"), None);
        assert_eq!(sniff_content_type(b""), None);
        assert_eq!(sniff_content_type(b"\x7fELF\x02\x01"), None);
    }

    #[test]
    fn every_signature_names_a_known_type() {
        for (content_type, _, _) in SIGNATURES {
            assert!(KNOWN_TYPES.contains(content_type), "{content_type}");
        }
    }
}
