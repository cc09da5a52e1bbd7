//! Rule files: any text is either loaded or rejected with an error; never a panic, and never
//! a regex past the size limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patrol::rules::RuleSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut set = RuleSet::default();
    if set.add_text("fuzz.toml", text, None).is_ok() {
        let _ = patrol::matcher::check_examples(&set);
    }
});
