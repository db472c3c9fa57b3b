//! The protocol workerd speaks to its container sidecar (read in workerd's
//! `src/workerd/server/container-client.c++`), answered with the standard library only:
//! - `PUT /egress` (JSON body, the egress mappings) → 200: workerd polls it until the sidecar
//!   answers, and this stand-in routes no egress;
//! - `GET /ca` → 200 with an empty PEM body (there is no HTTPS egress to intercept);
//! - `CONNECT host:port` with `X-Dst-Addr: 127.0.0.1:PORT` → a TCP connection to that address in
//!   the shared network namespace, `200` and then bytes piped both ways; `400` when nothing
//!   listens there (workerd reports "Container is not listening to port …");
//! - anything else → 404.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread;
use std::time::Duration;

/// Where workerd's flags say to listen (`--http-ingress-address ADDR` or `=ADDR`).
pub fn ingress_address(args: &[String]) -> String {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some(value) = arg.strip_prefix("--http-ingress-address=") {
            return value.to_string();
        }
        if arg == "--http-ingress-address" {
            if let Some(value) = iter.next() {
                return value.clone();
            }
        }
    }
    "0.0.0.0:39001".to_string()
}

/// Serves connections until the listener fails, one thread each.
pub fn serve(listener: &TcpListener) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || {
                    let _ = handle(stream);
                });
            }
            Err(e) => eprintln!("burstflare-dev-sidecar: accept failed: {e}"),
        }
    }
}

/// One request's line and headers (lower-cased names).
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn read_head(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Head>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad request line"));
    };
    let (method, target) = (method.to_string(), target.to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    Ok(Some(Head { method, target, headers }))
}

fn answer(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    write!(stream, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}", body.len())
}

fn handle(stream: TcpStream) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(head) = read_head(&mut reader)? {
        let length: u64 = head.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        io::copy(&mut (&mut reader).take(length), &mut io::sink())?;
        match (head.method.as_str(), head.target.as_str()) {
            ("PUT", "/egress") => answer(&mut writer, "200 OK", "")?,
            ("GET", "/ca") => answer(&mut writer, "200 OK", "")?,
            ("CONNECT", _) => return connect(&head, reader, writer),
            _ => answer(&mut writer, "404 Not Found", "")?,
        }
    }
    Ok(())
}

/// Opens the tunnel to `X-Dst-Addr` (else the CONNECT target) and pipes it both ways.
fn connect(head: &Head, reader: BufReader<TcpStream>, mut writer: TcpStream) -> io::Result<()> {
    let destination = head.header("x-dst-addr").unwrap_or(&head.target).to_string();
    let upstream = destination
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .and_then(|addr: SocketAddr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok());
    let Some(upstream) = upstream else {
        return answer(&mut writer, "400 Bad Request", "");
    };
    writer.write_all(b"HTTP/1.1 200 OK\r\n\r\n")?;
    let mut upstream_writer = upstream.try_clone()?;
    let mut upstream_reader = upstream;
    // Bytes the client sent right behind its request are in the reader's buffer: they go first.
    let mut client = reader;
    let to_upstream = thread::spawn(move || {
        let _ = io::copy(&mut client, &mut upstream_writer);
        let _ = upstream_writer.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut upstream_reader, &mut writer);
    let _ = writer.shutdown(Shutdown::Write);
    let _ = to_upstream.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ingress_address;

    #[test]
    fn the_ingress_address_comes_from_workerds_flags() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let given = args(&["--http-egress-port", "39000", "--http-ingress-address", "0.0.0.0:39001"]);
        assert_eq!(ingress_address(&given), "0.0.0.0:39001");
        assert_eq!(ingress_address(&args(&["--http-ingress-address=127.0.0.1:5"])), "127.0.0.1:5");
        assert_eq!(ingress_address(&args(&[])), "0.0.0.0:39001");
    }
}
