//! Real DNS servers on 127.0.0.1 for the dns prober's tests, built on
//! hickory-server: an authoritative in-memory zone (`.test.`) served over
//! UDP and TCP on one port, so truncated UDP answers are retried over TCP
//! as with any real server; a server that answers every query with one
//! response code (SERVFAIL, REFUSED); and a UDP port that never answers.
//! Each server counts the queries it got by transport, so a test can see
//! that a TCP retry happened or that a server was not asked at all.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

/// The zone every test server is authoritative for.
const ORIGIN: &str = "test.";

/// The records a server answers from, all under `.test.`.
#[derive(Default)]
pub struct Zone {
    records: Vec<Record>,
}

fn name(n: &str) -> Name {
    let fq = if n.ends_with('.') {
        n.to_string()
    } else {
        format!("{n}.")
    };
    Name::from_ascii(&fq).expect("test name")
}

impl Zone {
    fn add(mut self, owner: &str, data: RData) -> Zone {
        self.records.push(Record::from_rdata(name(owner), 60, data));
        self
    }

    pub fn a(self, owner: &str, ip: Ipv4Addr) -> Zone {
        self.add(owner, RData::A(A(ip)))
    }

    pub fn aaaa(self, owner: &str, ip: Ipv6Addr) -> Zone {
        self.add(owner, RData::AAAA(AAAA(ip)))
    }

    pub fn cname(self, owner: &str, target: &str) -> Zone {
        self.add(owner, RData::CNAME(CNAME(name(target))))
    }

    pub fn mx(self, owner: &str, preference: u16, exchange: &str) -> Zone {
        self.add(owner, RData::MX(MX::new(preference, name(exchange))))
    }

    pub fn ns(self, owner: &str, server: &str) -> Zone {
        self.add(owner, RData::NS(NS(name(server))))
    }

    /// A TXT record of one or more strings (each at most 255 bytes).
    pub fn txt(self, owner: &str, strings: &[&str]) -> Zone {
        let data = strings.iter().map(|s| s.to_string()).collect();
        self.add(owner, RData::TXT(TXT::new(data)))
    }

    fn catalog(self) -> Catalog {
        let origin = name(ORIGIN);
        let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
            origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        );
        let soa = SOA::new(
            name("ns.test."),
            name("hostmaster.test."),
            1,
            3600,
            600,
            86400,
            60,
        );
        assert!(zone.upsert_mut(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 1));
        for record in self.records {
            assert!(zone.upsert_mut(record, 1), "record refused by the zone");
        }
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
        catalog
    }
}

/// Queries a server received, by transport.
#[derive(Debug, Default)]
pub struct Counts {
    udp: AtomicUsize,
    tcp: AtomicUsize,
}

impl Counts {
    pub fn udp(&self) -> usize {
        self.udp.load(Ordering::SeqCst)
    }
    pub fn tcp(&self) -> usize {
        self.tcp.load(Ordering::SeqCst)
    }
    fn note(&self, request: &Request) {
        match request.protocol() {
            Protocol::Tcp => self.tcp.fetch_add(1, Ordering::SeqCst),
            _ => self.udp.fetch_add(1, Ordering::SeqCst),
        };
    }
}

/// A running server: its `ip:port` and what it was asked. Dropping it
/// stops it (the server's task set is aborted).
pub struct DnsServer {
    pub addr: String,
    pub counts: Arc<Counts>,
    /// Its tasks end when it is dropped.
    _server: Server<Counting>,
}

/// What a server does with a query.
enum Answer {
    Zone(Catalog),
    Code(ResponseCode),
}

/// The request handler: count, then answer from the zone or with the
/// fixed code.
struct Counting {
    answer: Answer,
    counts: Arc<Counts>,
}

#[async_trait::async_trait]
impl RequestHandler for Counting {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        self.counts.note(request);
        match &self.answer {
            Answer::Zone(catalog) => {
                catalog
                    .handle_request::<R, T>(request, response_handle)
                    .await
            }
            Answer::Code(code) => {
                let response = MessageResponseBuilder::from_message_request(request)
                    .error_msg(&request.metadata, *code);
                match response_handle.send_response(response).await {
                    Ok(info) => info,
                    Err(_) => {
                        let mut metadata = Metadata::response_from_request(&request.metadata);
                        metadata.response_code = ResponseCode::ServFail;
                        ResponseInfo::from(Header {
                            metadata,
                            counts: HeaderCounts::default(),
                        })
                    }
                }
            }
        }
    }
}

/// UDP and TCP sockets on one free port of 127.0.0.1.
async fn bind() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

async fn serve(answer: Answer) -> DnsServer {
    let (udp, tcp) = bind().await;
    let addr: SocketAddr = udp.local_addr().expect("addr");
    let counts = Arc::new(Counts::default());
    let mut server = Server::new(Counting {
        answer,
        counts: counts.clone(),
    });
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
    DnsServer {
        addr: addr.to_string(),
        counts,
        _server: server,
    }
}

/// Serve `zone` on a fresh port of 127.0.0.1 (UDP and TCP).
pub async fn start(zone: Zone) -> DnsServer {
    serve(Answer::Zone(zone.catalog())).await
}

/// A server that answers every query with `code`.
pub async fn answering(code: ResponseCode) -> DnsServer {
    serve(Answer::Code(code)).await
}

/// A UDP port that takes queries and never answers.
pub async fn black_hole() -> (UdpSocket, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
    let addr = socket.local_addr().expect("addr").to_string();
    (socket, addr)
}
