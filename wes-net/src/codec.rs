//! The request-response framing: a 4-byte big-endian length, then that many bytes.
//!
//! The codec moves raw frames and enforces the size limits *before* reading a frame's body,
//! so an oversize frame costs the reader four bytes. Decoding the frame into a
//! [`Request`](crate::protocol::Request) happens in the service, where a failure can be
//! charged to the peer that sent it.

use std::io;

use async_trait::async_trait;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;

/// Length-prefixed raw frames with separate limits for requests and responses.
#[derive(Clone, Copy, Debug)]
pub struct FrameCodec {
    /// Largest request accepted.
    pub max_request: usize,
    /// Largest response accepted.
    pub max_response: usize,
}

/// Reads one frame of at most `max` bytes.
pub async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            FrameTooLarge { len, max },
        ));
    }
    // Grow with what actually arrives: an announced length costs nothing until it is sent.
    let mut buf = Vec::with_capacity(len.min(64 * 1024));
    io.take(len as u64).read_to_end(&mut buf).await?;
    if buf.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("frame ended after {} of {len} bytes", buf.len()),
        ));
    }
    Ok(buf)
}

/// Writes one frame.
pub async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

/// A frame announced a length over the limit (the error inside the `io::Error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("frame of {len} bytes exceeds the limit of {max}")]
pub struct FrameTooLarge {
    /// The announced length.
    pub len: usize,
    /// The limit.
    pub max: usize,
}

#[async_trait]
impl Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_request).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_response).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    #[test]
    fn frames_round_trip() {
        let mut buf = Cursor::new(Vec::new());
        block_on(write_frame(&mut buf, b"hello")).unwrap();
        let mut r = Cursor::new(buf.into_inner());
        assert_eq!(block_on(read_frame(&mut r, 5)).unwrap(), b"hello");
    }

    #[test]
    fn oversize_frames_are_refused_before_their_body_is_read() {
        let mut bytes = (u32::MAX).to_be_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        let err = block_on(read_frame(&mut Cursor::new(bytes), 1024)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let inner = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<FrameTooLarge>());
        assert_eq!(
            inner,
            Some(&FrameTooLarge {
                len: u32::MAX as usize,
                max: 1024
            })
        );
    }

    #[test]
    fn truncated_frames_are_an_error() {
        let mut bytes = 10u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        assert!(block_on(read_frame(&mut Cursor::new(bytes), 1024)).is_err());
    }
}
