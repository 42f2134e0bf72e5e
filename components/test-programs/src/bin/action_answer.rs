//! A synchronous-action guest that reads its action from /data/config.json: `hello` answers
//! `{"hello":"world"}`, `silent` answers nothing, `garbage` answers text that is not JSON, `fail`
//! is a user error (exit 1), `slow` answers after `SLEEP_MS` milliseconds. The data folder is
//! `KBC_DATADIR` (else /data), so the same program also runs natively for the benches.
fn main() {
    let data_dir = std::env::var("KBC_DATADIR").unwrap_or_else(|_| "/data".to_owned());
    let config_path = std::path::Path::new(&data_dir).join("config.json");
    let config = std::fs::read_to_string(config_path).expect("config.json is readable");
    let config: serde_json::Value = serde_json::from_str(&config).expect("config.json is JSON");
    let action = std::env::var("BERTH_ACTION")
        .ok()
        .or_else(|| config["action"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "run".to_owned());
    match action.as_str() {
        "hello" => println!("{}", serde_json::json!({"hello": "world"})),
        "silent" => {}
        "garbage" => println!("this is not json"),
        "slow" => {
            let ms = std::env::var("SLEEP_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            println!("{}", serde_json::json!({"slept_ms": ms}));
        }
        "fail" => {
            eprintln!("the fail action always fails");
            std::process::exit(1);
        }
        other => {
            eprintln!("Action \"{other}\" is not supported.");
            std::process::exit(1);
        }
    }
}
