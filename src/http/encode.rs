//! Percent-encoding as Azure expects it.

/// Encode every byte but the unreserved ones (RFC 3986) and, when `keep_slash`, `/`.
pub fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode `%XX` escapes. `+` stays `+`: in a SAS signature it is a base64 digit, not a space.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = ((b[i + 1] as char).to_digit(16), (b[i + 2] as char).to_digit(16)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=2` into decoded pairs, in order.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Decoded pairs back into a strictly encoded query string.
pub fn build_query(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k, false), percent_encode(v, false))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_slashes_and_encode_the_rest() {
        assert_eq!(percent_encode("a b+c%d#e/é.json", true), "a%20b%2Bc%25d%23e/%C3%A9.json");
        assert_eq!(percent_encode("a/b", false), "a%2Fb");
    }

    #[test]
    fn decoding_round_trips_and_keeps_plus() {
        assert_eq!(percent_decode("abc%2Bdef%3D"), "abc+def=");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        let q = parse_query("sv=2022-11-02&sig=ab%2Bc%2F%3D&sp=rl");
        assert_eq!(q[1], ("sig".to_string(), "ab+c/=".to_string()));
        assert_eq!(build_query(&q), "sv=2022-11-02&sig=ab%2Bc%2F%3D&sp=rl");
    }
}
