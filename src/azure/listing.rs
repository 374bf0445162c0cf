//! Reading a List Blobs answer: `EnumerationResults/Blobs/Blob/{Name, Properties/...}` and
//! `NextMarker`.

use crate::http::bare_etag;
use crate::http::encode::percent_decode;
use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobItem {
    pub name: String,
    /// Without quotes.
    pub etag: String,
    pub size_bytes: u64,
    /// RFC 1123, as Azure sends it.
    pub last_modified: String,
    /// Base64, when the blob has one.
    pub content_md5: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListPage {
    pub blobs: Vec<BlobItem>,
    /// Non-empty: there is more, ask again with this marker.
    pub next_marker: Option<String>,
}

/// Parse one page. Unknown elements are skipped, so newer service versions read fine.
pub fn parse_page(xml: &[u8]) -> Result<ListPage, String> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut page = ListPage::default();
    let mut path: Vec<Vec<u8>> = vec![];
    let mut current: Option<BlobItem> = None;
    let mut name_encoded = false;
    let mut text = String::new();
    let mut buf = vec![];
    let mut is_listing = false;
    loop {
        match reader.read_event_into(&mut buf) {
            Err(e) => return Err(format!("the listing is not valid XML at byte {}: {e}", reader.buffer_position())),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_vec();
                is_listing |= path.is_empty() && name == b"EnumerationResults";
                if name == b"Blob" && path.last().is_some_and(|p| p == b"Blobs") {
                    current = Some(BlobItem::default());
                }
                if name == b"Name" {
                    name_encoded = e
                        .try_get_attribute("Encoded")
                        .ok()
                        .flatten()
                        .is_some_and(|a| a.value.as_ref().eq_ignore_ascii_case(b"true"));
                }
                path.push(name);
                text.clear();
            }
            Ok(Event::Text(t)) => {
                let s = t.unescape().map_err(|e| format!("the listing has a bad XML escape: {e}"))?;
                text.push_str(&s);
            }
            Ok(Event::CData(t)) => text.push_str(&String::from_utf8_lossy(&t)),
            Ok(Event::End(_)) => {
                let closed = path.pop().unwrap_or_default();
                let parent = path.last().map(Vec::as_slice);
                match (closed.as_slice(), parent, current.as_mut()) {
                    (b"Name", Some(b"Blob"), Some(item)) => {
                        item.name = if name_encoded { percent_decode(&text) } else { text.clone() };
                    }
                    (b"Etag", Some(b"Properties"), Some(item)) => item.etag = bare_etag(&text).to_string(),
                    (b"Content-Length", Some(b"Properties"), Some(item)) => {
                        item.size_bytes = text.trim().parse().map_err(|_| format!("Content-Length {text:?} is not a number"))?
                    }
                    (b"Last-Modified", Some(b"Properties"), Some(item)) => item.last_modified = text.trim().to_string(),
                    (b"Content-MD5", Some(b"Properties"), Some(item)) => {
                        item.content_md5 = Some(text.trim().to_string()).filter(|s| !s.is_empty())
                    }
                    (b"Blob", Some(b"Blobs"), _) => {
                        if let Some(item) = current.take() {
                            page.blobs.push(item);
                        }
                    }
                    (b"NextMarker", Some(b"EnumerationResults"), _) => {
                        page.next_marker = Some(text.trim().to_string()).filter(|s| !s.is_empty())
                    }
                    _ => {}
                }
                text.clear();
            }
            Ok(_) => {}
        }
        buf.clear();
    }
    // A 200 that is not a listing (a proxy's HTML page) must not read as an empty container.
    if !is_listing {
        return Err("the answer is not a blob listing (no EnumerationResults element): something other than Azure answered".into());
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_a_marker() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="data">
  <MaxResults>2</MaxResults>
  <Blobs>
    <Blob><Name>1_schedules.json</Name><Properties><Last-Modified>Wed, 10 Dec 2025 21:00:53 GMT</Last-Modified>
      <Etag>0x8D939F8B2F08BDA</Etag><Content-Length>1234</Content-Length><Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5></Properties></Blob>
    <Blob><Name>a &amp; b é.json</Name><Properties><Etag>"0x2"</Etag><Content-Length>0</Content-Length><Content-MD5 /></Properties></Blob>
  </Blobs>
  <NextMarker>2!68!MDAwMDA</NextMarker>
</EnumerationResults>"#;
        let page = parse_page(xml.as_bytes()).unwrap();
        assert_eq!(page.blobs.len(), 2);
        assert_eq!(page.blobs[0].etag, "0x8D939F8B2F08BDA");
        assert_eq!(page.blobs[0].size_bytes, 1234);
        assert_eq!(page.blobs[0].content_md5.as_deref(), Some("1B2M2Y8AsgTpgAmY7PhCfg=="));
        assert_eq!(page.blobs[1].name, "a & b é.json");
        assert_eq!(page.blobs[1].etag, "0x2");
        assert_eq!(page.blobs[1].content_md5, None);
        assert_eq!(page.next_marker.as_deref(), Some("2!68!MDAwMDA"));
    }

    #[test]
    fn last_page_has_an_empty_marker_and_encoded_names_decode() {
        let xml = br#"<EnumerationResults><Blobs><Blob><Name Encoded="true">bad%EF%BF%BEname</Name><Properties><Etag>0x3</Etag><Content-Length>5</Content-Length></Properties></Blob></Blobs><NextMarker /></EnumerationResults>"#;
        let page = parse_page(xml).unwrap();
        assert_eq!(page.blobs[0].name, "bad\u{fffe}name");
        assert_eq!(page.next_marker, None);
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse_page(b"<EnumerationResults><Blobs></EnumerationResults>").is_err());
    }

    #[test]
    fn an_answer_that_is_no_listing_is_an_error_not_an_empty_container() {
        for body in [&b"<html><body>Welcome to the hotel wifi</body></html>"[..], b"", b"<Error><Code>x</Code></Error>"] {
            assert!(parse_page(body).unwrap_err().contains("not a blob listing"), "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(parse_page(b"<EnumerationResults><Blobs /></EnumerationResults>").unwrap().blobs.len(), 0);
    }
}
