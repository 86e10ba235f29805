use shopbridge::openapi::spec_json;

#[test]
fn committed_spec_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == spec_json(),
        "openapi/openapi.json differs from the spec the code generates; \
         rewrite it with `cargo run -- openapi > openapi/openapi.json`"
    );
}
