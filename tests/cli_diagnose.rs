#![cfg(not(target_arch = "wasm32"))]
//! `makemore train --init … --json` reports tanh saturation; `makemore diagnose`
//! and `makemore lr-find` as a user runs them.

use std::process::{Command, Output};

fn makemore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_makemore")).args(args).output().expect("runs makemore")
}

/// The last line of stdout as JSON, after checking the command succeeded.
fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(out.lines().last().expect("some output")).expect("JSON")
}

const SEED_MODEL: [&str; 4] = ["--emb", "50", "--hidden", "100"];

#[test]
fn train_json_reports_saturation_at_the_start_and_the_end() {
    let run = |init: &str| {
        let mut args = vec!["train", "--steps", "60", "--batch", "256", "--lr-decay", "none", "--init", init, "--json"];
        args.extend(SEED_MODEL);
        json(&makemore(&args))
    };
    let stalled = run("uniform-zero-output");
    assert!((stalled["initial_loss"].as_f64().unwrap() - 27f64.ln()).abs() < 1e-3, "{stalled}");
    assert!(stalled["saturated_init"].as_f64().unwrap() > 0.99 && stalled["saturated"].as_f64().unwrap() > 0.99);
    assert_eq!(stalled["init"], "uniform-zero-output");
    let kaiming = run("kaiming");
    assert!(kaiming["saturated_init"].as_f64().unwrap() < 0.5, "{kaiming}");
}

#[test]
fn diagnose_prints_the_statistics_of_a_fresh_init_and_of_a_saved_model() {
    let mut args = vec!["diagnose", "--init", "uniform", "--json"];
    args.extend(SEED_MODEL);
    let d = json(&makemore(&args));
    assert_eq!(d["rows"], 256);
    assert_eq!(d["hidden"], 100);
    assert!(d["saturated"].as_f64().unwrap() > 0.99, "U[0,1) weights saturate every unit");
    assert_eq!(d["tensors"].as_array().unwrap().len(), 5);
    assert_eq!(d["saturationMap"].as_array().unwrap().len(), 256 * 100);

    let path = std::env::temp_dir().join(format!("makemore-diagnose-{}.safetensors", std::process::id()));
    let saved = path.to_str().unwrap();
    let o = makemore(&["train", "--steps", "20", "--hidden", "32", "--init", "kaiming", "--save", saved, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = makemore(&["diagnose", "--model", saved]);
    std::fs::remove_file(&path).ok();
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(text.status.success() && out.contains("32 hidden units") && out.contains("update:data"), "{out}");
    let missing = makemore(&["diagnose", "--model", "/nonexistent/model.safetensors"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}

#[test]
fn lr_find_suggests_a_rate_for_the_lecture_config() {
    let v = json(&makemore(&["lr-find", "--preset", "lecture", "--json"]));
    let lr = v["suggested_lr"].as_f64().unwrap();
    assert!((0.03..=0.5).contains(&lr), "{lr}");
    assert_eq!(v["lrs"].as_array().unwrap().len(), v["losses"].as_array().unwrap().len());
    let bad = makemore(&["lr-find", "--lowest", "1", "--highest", "0.1"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("lowest < highest"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
