//! An SMTP server in the test process (RFC 5321's plain conversation over
//! TCP: EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeping
//! every mail it takes. It can be told to refuse (421 at the greeting, as a
//! server going down does) and to take mail again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A mail as the server took it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (dot-stuffing undone), headers and body.
    pub data: Vec<u8>,
    /// `AUTH PLAIN`'s decoded `user\0password`, when the client logged in.
    pub auth: Option<String>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.data).expect("a MIME message")
    }
}

#[derive(Default)]
struct Shared {
    mails: Mutex<Vec<Received>>,
    refusing: AtomicBool,
    /// Connections turned away while refusing.
    refused: Mutex<u32>,
}

pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = conversation(stream, s).await;
                });
            }
        });
        SmtpSink { port, shared, task }
    }

    /// Turns every connection away (421) until [`SmtpSink::accept`].
    pub fn refuse(&self) {
        self.shared.refusing.store(true, Ordering::SeqCst);
    }

    pub fn accept(&self) {
        self.shared.refusing.store(false, Ordering::SeqCst);
    }

    pub fn refused(&self) -> u32 {
        *self.shared.refused.lock().unwrap()
    }

    pub fn mails(&self) -> Vec<Received> {
        self.shared.mails.lock().unwrap().clone()
    }

    /// Mails to `to` taken so far.
    pub fn mails_to(&self, to: &str) -> Vec<Received> {
        self.mails().into_iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).collect()
    }

    /// Waits (up to 20 s) until `n` mails to `to` were taken.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.mails_to(to);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{n} mail(s) to {to} never arrived; the sink has {:?}",
            self.mails().iter().map(|m| &m.to).collect::<Vec<_>>()
        );
    }
}

/// The address inside `MAIL FROM:<a>` / `RCPT TO:<a>`.
fn path(arg: &str) -> String {
    let arg = arg.split_once(':').map_or(arg, |(_, a)| a).trim();
    let end = arg.find('>').map_or(arg.len(), |i| i + 1);
    arg[..end].trim_matches(|c| c == '<' || c == '>').to_string()
}

async fn conversation(stream: tokio::net::TcpStream, s: Arc<Shared>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if s.refusing.load(Ordering::SeqCst) {
        *s.refused.lock().unwrap() += 1;
        write.write_all(b"421 4.3.2 sink.test Service not available, closing channel\r\n").await?;
        return write.shutdown().await;
    }
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to, mut auth) = (String::new(), Vec::new(), None);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let verb = cmd.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test greets you\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 sink.test\r\n",
            "AUTH" => {
                let arg = cmd.split_whitespace().nth(2).unwrap_or_default();
                let decoded = data_encoding::BASE64.decode(arg.as_bytes()).unwrap_or_default();
                auth = Some(String::from_utf8_lossy(&decoded).trim_start_matches('\0').to_string());
                b"235 2.7.0 Authentication successful\r\n"
            }
            "MAIL" => {
                from = path(&cmd);
                b"250 2.1.0 Ok\r\n"
            }
            "RCPT" => {
                to.push(path(&cmd));
                b"250 2.1.5 Ok\r\n"
            }
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    let l = l.strip_prefix('.').unwrap_or(&l);
                    data.extend_from_slice(l.as_bytes());
                }
                let received = Received { from: from.clone(), to: std::mem::take(&mut to), data, auth: auth.clone() };
                let n = {
                    let mut mails = s.mails.lock().unwrap();
                    mails.push(received);
                    mails.len()
                };
                write.write_all(format!("250 2.0.0 Ok: queued as SINK{n}\r\n").as_bytes()).await?;
                continue;
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 2.0.0 Ok\r\n"
            }
            "NOOP" => b"250 2.0.0 Ok\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return write.shutdown().await;
            }
            _ => b"502 5.5.2 Error: command not recognized\r\n",
        };
        write.write_all(reply).await?;
    }
}
