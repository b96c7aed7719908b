//! STUB: pure, incremental Server-Sent-Events decoder.
