//! In-memory world for the simulator's tests (being written).
