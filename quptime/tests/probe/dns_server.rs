//! A minimal authoritative DNS responder over UDP on 127.0.0.1, enough for
//! the dns prober's tests: A and TXT records from a fixed zone, NOERROR
//! with no answer for a known name asked for another type, NXDOMAIN for an
//! unknown name. It reads the question and ignores the rest (EDNS and all).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use tokio::net::UdpSocket;

const TYPE_A: u16 = 1;
const TYPE_TXT: u16 = 16;

/// The zone the server answers from.
#[derive(Default)]
pub struct Zone {
    records: HashMap<(String, u16), Vec<Vec<u8>>>,
}

impl Zone {
    pub fn a(mut self, name: &str, ip: Ipv4Addr) -> Zone {
        self.records
            .entry((name.to_ascii_lowercase(), TYPE_A))
            .or_default()
            .push(ip.octets().to_vec());
        self
    }

    pub fn txt(mut self, name: &str, text: &str) -> Zone {
        let mut rdata = vec![u8::try_from(text.len()).expect("short TXT")];
        rdata.extend_from_slice(text.as_bytes());
        self.records
            .entry((name.to_ascii_lowercase(), TYPE_TXT))
            .or_default()
            .push(rdata);
        self
    }

    fn knows(&self, name: &str) -> bool {
        self.records.keys().any(|(n, _)| n == name)
    }
}

/// Serve `zone` on a fresh UDP port of 127.0.0.1; returns `127.0.0.1:port`.
pub async fn start(zone: Zone) -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
    let addr = socket.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            if let Some(reply) = answer(&zone, &buf[..n]) {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    });
    addr
}

/// A UDP port that takes queries and never answers.
pub async fn black_hole() -> (UdpSocket, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
    let addr = socket.local_addr().expect("addr").to_string();
    (socket, addr)
}

fn answer(zone: &Zone, query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    // The question: labels up to the root, then type and class.
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(pos..pos + len)?).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let question = &query[12..pos + 4];
    let name = labels.join(".");

    let answers = zone
        .records
        .get(&(name.clone(), qtype))
        .cloned()
        .unwrap_or_default();
    let rcode: u8 = if zone.knows(&name) { 0 } else { 3 };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[..2]); // id
    let rd = query[2] & 0x01;
    out.push(0x84 | rd); // QR, AA, RD copied
    out.push(0x80 | rcode); // RA, RCODE
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&u16::try_from(answers.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // NSCOUNT, ARCOUNT
    out.extend_from_slice(question);
    for rdata in answers {
        out.extend_from_slice(&[0xc0, 0x0c]); // the name in the question
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes()); // IN
        out.extend_from_slice(&60u32.to_be_bytes()); // TTL
        out.extend_from_slice(&u16::try_from(rdata.len()).ok()?.to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}
