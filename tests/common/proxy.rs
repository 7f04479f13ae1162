//! A loopback HTTP proxy between carbonctl and the emulator that can lose answers: it lets a
//! chosen request through to the emulator (so the write is applied) and then drops the
//! client's connection, or holds it without answering, as a network failure after the server
//! acted would. Everything else passes through unchanged.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What happens to the answer of a matched request, after the emulator applied it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lose {
    /// Close the connection without a byte of the answer.
    Drop,
    /// Keep the connection open and silent for this long, then close it.
    Withhold(Duration),
}

struct Rule {
    method: String,
    path_prefix: String,
    lose: Lose,
    times: usize,
}

pub struct Proxy {
    addr: SocketAddr,
    rules: Arc<Mutex<Vec<Rule>>>,
    /// Requests whose answer was lost so far.
    lost: Arc<Mutex<usize>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        let addr = listener.local_addr().unwrap();
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
        let lost: Arc<Mutex<usize>> = Arc::default();
        let (r, l) = (rules.clone(), lost.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (r, l) = (r.clone(), l.clone());
                std::thread::spawn(move || serve(client, upstream, &r, &l));
            }
        });
        Proxy { addr, rules, lost }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request with this method and path prefix is applied, and its answer lost.
    pub fn lose_answer(&self, method: &str, path_prefix: &str, lose: Lose) {
        self.rules.lock().unwrap().push(Rule {
            method: method.into(),
            path_prefix: path_prefix.into(),
            lose,
            times: 1,
        });
    }

    pub fn lost(&self) -> usize {
        *self.lost.lock().unwrap()
    }
}

/// One request per connection: carbonctl's client opens a new one after a `connection: close`.
fn serve(client: TcpStream, upstream: SocketAddr, rules: &Mutex<Vec<Rule>>, lost: &Mutex<usize>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut client = client;
    let Some((head, body)) = read_request(&mut reader) else {
        return;
    };
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let lose = take_rule(rules, method, path);
    let Some(answer) = forward(upstream, &head, &body) else {
        return;
    };
    match lose {
        // The upstream answer says `connection: close`; this side closes after it too.
        None => drop(client.write_all(&answer)),
        Some(lose) => {
            *lost.lock().unwrap() += 1;
            if let Lose::Withhold(hold) = lose {
                std::thread::sleep(hold);
            }
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

fn take_rule(rules: &Mutex<Vec<Rule>>, method: &str, path: &str) -> Option<Lose> {
    let mut rules = rules.lock().unwrap();
    let rule = rules
        .iter_mut()
        .find(|r| r.times > 0 && r.method == method && path.starts_with(&r.path_prefix))?;
    rule.times -= 1;
    Some(rule.lose)
}

/// The request's head (request line and headers, as sent) and its body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Sends the request upstream on a connection of its own and reads the whole answer.
fn forward(upstream: SocketAddr, head: &str, body: &[u8]) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).ok()?;
    let head: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let head = head.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
    server.write_all(head.as_bytes()).ok()?;
    server.write_all(body).ok()?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).ok()?;
    Some(answer)
}
