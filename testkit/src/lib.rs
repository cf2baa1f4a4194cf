//! Test targets for Provisio (filled in by the testkit work).
