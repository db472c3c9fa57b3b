//! The local stand-in for workerd's container sidecar speaks the protocol workerd asks of it:
//! the real binary on a free port, driven the way workerd drives it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::Duration;

struct Sidecar {
    child: Child,
    address: String,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sidecar() -> Sidecar {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_burstflare-dev-sidecar"))
        .args(["--http-egress-port", "39000", "--http-ingress-address", &address, "--docker-gateway-cidr", "x"])
        .spawn()
        .unwrap();
    let sidecar = Sidecar { child, address };
    for _ in 0..100 {
        if TcpStream::connect(&sidecar.address).is_ok() {
            return sidecar;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the sidecar did not listen");
}

/// Sends a request on `stream` and reads the status line and headers.
fn exchange(stream: &mut BufReader<TcpStream>, request: &str) -> (String, usize) {
    stream.get_mut().write_all(request.as_bytes()).unwrap();
    let mut status = String::new();
    stream.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line.trim().is_empty() {
            break;
        }
    }
    (status.trim().to_string(), length)
}

fn open(sidecar: &Sidecar) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(&sidecar.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    BufReader::new(stream)
}

#[test]
fn egress_and_ca_answer_on_one_connection() {
    let sidecar = sidecar();
    let mut stream = open(&sidecar);
    let body = r#"{"mappings":[]}"#;
    let put = format!("PUT /egress HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    assert_eq!(exchange(&mut stream, &put).0, "HTTP/1.1 200 OK");
    let (status, length) = exchange(&mut stream, "GET /ca HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status.as_str(), length), ("HTTP/1.1 200 OK", 0));
    assert_eq!(exchange(&mut stream, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n").0, "HTTP/1.1 404 Not Found");
}

#[test]
fn connect_tunnels_to_the_destination_address_both_ways() {
    let sidecar = sidecar();
    let app = TcpListener::bind("127.0.0.1:0").unwrap();
    let app_address = app.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let (mut conn, _) = app.accept().unwrap();
        let mut buf = [0u8; 64];
        let n = conn.read(&mut buf).unwrap();
        conn.write_all(&buf[..n].to_ascii_uppercase()).unwrap();
    });
    let mut stream = open(&sidecar);
    let request =
        format!("CONNECT container:8080 HTTP/1.1\r\nHost: container:8080\r\nX-Dst-Addr: {app_address}\r\n\r\nhello");
    assert_eq!(exchange(&mut stream, &request).0, "HTTP/1.1 200 OK");
    let mut back = String::new();
    stream.read_to_string(&mut back).unwrap();
    assert_eq!(back, "HELLO", "the bytes sent behind the request went through and came back");
    echo.join().unwrap();
}

#[test]
fn connect_to_a_port_nobody_listens_on_is_a_400() {
    let sidecar = sidecar();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut stream = open(&sidecar);
    let request = format!("CONNECT c:1 HTTP/1.1\r\nX-Dst-Addr: {closed}\r\n\r\n");
    assert_eq!(exchange(&mut stream, &request).0, "HTTP/1.1 400 Bad Request");
}
