//! Length-prefixed frames: a 4-byte big-endian length, then that many bytes.
//!
//! The length is checked against a cap *before* anything is allocated, so an
//! untrusted peer cannot make a node reserve memory by claiming a large frame
//! (the original allocated 16 MiB from an untrusted header). Reading a frame
//! has two clocks: how long the connection may sit idle before the first
//! byte of the next frame, and how long the rest of a started frame may take.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, ErrorKind, Result};

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 4;

/// Read one frame. `Ok(None)` is a clean end of stream between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max_len: usize,
    idle: Duration,
    read_timeout: Duration,
) -> Result<Option<Vec<u8>>> {
    let mut header = [0u8; HEADER_LEN];
    let first = tokio::time::timeout(idle, r.read(&mut header[..1]))
        .await
        .map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("connection idle for {}", humantime::format_duration(idle)),
            )
        })??;
    if first == 0 {
        return Ok(None);
    }
    let rest = async {
        r.read_exact(&mut header[1..]).await?;
        let len = u32::from_be_bytes(header) as usize;
        if len > max_len {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("peer sent a frame of {len} bytes, more than the cap of {max_len} bytes"),
            ));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        Ok(body)
    };
    let body = tokio::time::timeout(read_timeout, rest)
        .await
        .map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "peer did not finish sending a frame within {}",
                    humantime::format_duration(read_timeout)
                ),
            )
        })??;
    Ok(Some(body))
}

/// Write one frame and flush it. Refuses to send what the peer would refuse.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    body: &[u8],
    max_len: usize,
) -> Result<()> {
    if body.len() > max_len {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "message of {} bytes exceeds the frame cap of {max_len} bytes",
                body.len()
            ),
        ));
    }
    let len = u32::try_from(body.len())
        .map_err(|_| Error::invalid("message larger than 4 GiB"))?
        .to_be_bytes();
    w.write_all(&len).await?;
    w.write_all(body).await?;
    w.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn round_trip_and_clean_eof() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello", 1024).await.expect("write");
        write_frame(&mut buf, b"", 1024).await.expect("write empty");
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r, 1024, SEC, SEC).await.expect("read"),
            Some(b"hello".to_vec())
        );
        assert_eq!(
            read_frame(&mut r, 1024, SEC, SEC).await.expect("read"),
            Some(Vec::new())
        );
        assert_eq!(read_frame(&mut r, 1024, SEC, SEC).await.expect("eof"), None);
    }

    #[tokio::test]
    async fn oversized_header_is_rejected_before_reading_the_body() {
        // Only the header exists: a reader that allocated and tried to read
        // the body would fail with an EOF, not with the cap error.
        let header = u32::MAX.to_be_bytes();
        let mut r = &header[..];
        let err = read_frame(&mut r, 4 << 20, SEC, SEC)
            .await
            .expect_err("over cap");
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(err.to_string().contains("cap"), "{err}");
    }

    #[tokio::test]
    async fn truncated_frame_is_an_error() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello", 1024).await.expect("write");
        buf.truncate(6);
        let mut r = &buf[..];
        assert!(read_frame(&mut r, 1024, SEC, SEC).await.is_err());
    }

    #[tokio::test]
    async fn refuses_to_write_over_the_cap() {
        let mut buf = Vec::new();
        let err = write_frame(&mut buf, &[0u8; 10], 9).await.expect_err("cap");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(buf.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_and_stalled_peers_time_out() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let idle = read_frame(&mut server, 1024, SEC, SEC).await;
        assert_eq!(idle.expect_err("idle").kind(), ErrorKind::Timeout);
        // Start a frame and stall half-way.
        client.write_all(&[0, 0, 0, 9, 1, 2]).await.expect("write");
        let stalled = read_frame(&mut server, 1024, SEC, SEC).await;
        let err = stalled.expect_err("stalled");
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.to_string().contains("finish"), "{err}");
    }
}
