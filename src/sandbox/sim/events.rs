//! v1 Event bookkeeping (being written).
