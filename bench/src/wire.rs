//! The load generator's HTTP/1.1 on the wire, as little per request as `wrk` spends: a request is
//! bytes written once, an answer is a head parsed in place (`httparse`) and a body skipped by its
//! `content-length` (or read to the end of its chunks). No task per connection beyond the caller's,
//! no channel, no header map.

use anyhow::{bail, Context};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Headers in an answer beyond this many are an error (the servers measured send about ten).
const MAX_HEADERS: usize = 32;
/// An answer's head larger than this is an error.
const MAX_HEAD: usize = 64 * 1024;

/// A request's bytes: request line, `host`, the given headers, `content-length` and the body.
pub fn encode(method: &str, path: &str, addr: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\n").as_bytes());
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !body.is_empty() || method != "GET" {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// One keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// An answer: its status and, for errors, its body (to show in the report).
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, buffer: Vec::with_capacity(4096) })
    }

    /// Writes `request` and reads its answer. The body is kept only when the status is not 2xx.
    pub async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<Answer> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let (status, head_len, framing) = loop {
            if let Some(head) = parse_head(&self.buffer)? {
                break head;
            }
            if self.buffer.len() > MAX_HEAD {
                bail!("an answer's head over {MAX_HEAD} bytes");
            }
            self.fill().await?;
        };
        let keep = !(200..300).contains(&status);
        match framing {
            Framing::Length(length) => {
                let end = head_len + length;
                while self.buffer.len() < end {
                    self.fill().await?;
                }
                if self.buffer.len() > end {
                    bail!("bytes after the answer on a connection without pipelining");
                }
            }
            Framing::Chunked => {
                while !self.buffer[head_len..].ends_with(b"0\r\n\r\n") {
                    self.fill().await?;
                }
            }
        }
        let body = if keep { self.buffer[head_len..].to_vec() } else { Vec::new() };
        Ok(Answer { status, body })
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        self.buffer.reserve(4096);
        let read = self.stream.read_buf(&mut self.buffer).await?;
        if read == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }
}

/// How the body's end is known.
#[derive(Debug, PartialEq)]
enum Framing {
    Length(usize),
    Chunked,
}

/// The status, the head's length and the body's framing, once the whole head is in `bytes`.
fn parse_head(bytes: &[u8]) -> anyhow::Result<Option<(u16, usize, Framing)>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(bytes).context("an answer that is not HTTP/1.1")? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let status = response.code.context("an answer without a status")?;
    let mut framing = None;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(header.value).context("a content-length that is not text")?;
            framing = Some(Framing::Length(text.trim().parse().context("a content-length that is not a number")?));
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") && header.value.ends_with(b"chunked") {
            framing = Some(Framing::Chunked);
        }
    }
    let framing = match framing {
        Some(framing) => framing,
        None if status == 204 || status == 304 => Framing::Length(0),
        None => bail!("an answer without content-length or chunks ({status})"),
    };
    Ok(Some((status, head_len, framing)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_read_once_complete() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
        assert_eq!(parse_head(&answer[..20]).unwrap(), None);
        let (status, len, framing) = parse_head(answer).unwrap().unwrap();
        assert_eq!((status, framing), (200, Framing::Length(11)));
        assert_eq!(&answer[len..], b"{\"ok\":true}");
        let chunked = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n";
        assert_eq!(parse_head(chunked).unwrap().unwrap().2, Framing::Chunked);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err(), "no framing");
        assert!(parse_head(b"SSH-2.0-x\r\n\r\n").is_err());
    }

    #[test]
    fn a_request_carries_its_length() {
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let get = encode("GET", "/me", addr, &[("authorization", "Bearer x")], b"");
        assert_eq!(get, b"GET /me HTTP/1.1\r\nhost: 127.0.0.1:80\r\nauthorization: Bearer x\r\n\r\n");
        let post = String::from_utf8(encode("POST", "/i", addr, &[], b"{}")).unwrap();
        assert!(post.ends_with("content-length: 2\r\n\r\n{}"), "{post}");
    }
}
