//! A small Server-Sent Events parser (the WHATWG `text/event-stream` format) for the
//! providers' streamed answers: `event:` and `data:` fields, comments, any line ending,
//! events and UTF-8 characters split across network chunks.

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (`None` for the default `message` type).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// Longest line accepted: a provider's event is a few kilobytes; anything bigger is broken.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Incremental parser: feed it bytes as they arrive, collect complete events.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    after_cr: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseParser {
    /// Parses `bytes`, appending every event they complete to `out`; `Err` when a line
    /// grows past 1 MiB.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), String> {
        for &byte in bytes {
            // `\r\n` is one line ending, even when split across two chunks.
            if std::mem::take(&mut self.after_cr) && byte == b'\n' {
                continue;
            }
            match byte {
                b'\n' => self.end_line(out),
                b'\r' => {
                    self.end_line(out);
                    self.after_cr = true;
                }
                _ => {
                    if self.line.len() >= MAX_LINE_BYTES {
                        return Err("event stream line longer than 1 MiB".into());
                    }
                    self.line.push(byte);
                }
            }
        }
        Ok(())
    }

    /// The end of the body. Unlike the browser's parser, an event missing only its final
    /// blank line is still dispatched: some servers end the body right after the last data.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            self.end_line(out);
        }
        self.end_line(out);
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if std::mem::take(&mut self.has_data) {
                out.push(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.event = None;
            return;
        }
        let line = String::from_utf8_lossy(&line);
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if std::mem::replace(&mut self.has_data, true) {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut out).unwrap();
        }
        parser.finish(&mut out);
        out
    }

    fn event(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn events_with_types_comments_and_multi_line_data() {
        let events = parse(&[
            b": keep-alive\n\nevent: ping\ndata: {}\n\ndata: one\ndata: two\n\nid: 7\ndata:x\n\n",
        ]);
        assert_eq!(
            events,
            vec![
                event(Some("ping"), "{}"),
                event(None, "one\ntwo"),
                event(None, "x")
            ]
        );
    }

    #[test]
    fn events_split_anywhere_across_chunks_and_line_endings() {
        let text =
            "event: delta\r\ndata: {\"t\":\"h\u{e9}\"}\r\n\r\ndata: [DONE]\r\n\r\n".as_bytes();
        for split in 1..text.len() {
            let (head, tail) = text.split_at(split);
            assert_eq!(
                parse(&[head, tail]),
                vec![
                    event(Some("delta"), "{\"t\":\"h\u{e9}\"}"),
                    event(None, "[DONE]")
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_kept_and_an_empty_one_dropped() {
        assert_eq!(parse(&[b"data: last"]), vec![event(None, "last")]);
        assert_eq!(parse(&[b"event: nothing\n\n"]), vec![]);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut parser = SseParser::default();
        let chunk = vec![b'a'; MAX_LINE_BYTES + 1];
        assert!(parser.feed(&chunk, &mut Vec::new()).is_err());
    }
}
