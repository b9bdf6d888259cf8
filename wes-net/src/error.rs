//! Errors of the network service.

/// What went wrong talking to the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The transport could not be built or could not listen.
    #[error("transport: {0}")]
    Transport(String),
    /// The network task has stopped.
    #[error("the network has stopped")]
    Stopped,
    /// The command queue is full.
    #[error("the network is busy (command queue full)")]
    Busy,
    /// The peer is not connected.
    #[error("peer {0} is not connected")]
    NotConnected(String),
    /// A request failed (dial failure, timeout, connection closed, refused).
    #[error("request failed: {0}")]
    Request(String),
    /// The peer's answer did not decode.
    #[error("undecodable response: {0}")]
    Decode(String),
}
