#![no_main]
//! cargo fuzz target: see `wafpipe_native::fuzzing::file`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wafpipe_native_fuzz_entry(data));

fn wafpipe_native_fuzz_entry(data: &[u8]) {
    _native::fuzzing::file(data);
}
