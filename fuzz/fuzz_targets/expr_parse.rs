//! Fuzzes the expression parser, printer, checker and evaluator (see `provisio::expr::fuzz::check`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    provisio::expr::fuzz::check(data);
});
