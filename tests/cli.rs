#![cfg(not(target_arch = "wasm32"))]
//! The `makemore` binary as a user runs it.

use std::process::{Command, Output};

fn makemore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_makemore")).args(args).output().expect("runs makemore")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn split_prints_the_sizes() {
    let o = makemore(&["split", "--block", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words.len(), 6);
    assert_eq!((words[0], words[2], words[4]), ("train", "dev", "test"));
    let n: Vec<usize> = [1, 3, 5].iter().map(|&i| words[i].parse().unwrap()).collect();
    assert!(n[0] > 7 * n[1] && n[0] > 7 * n[2], "{n:?}");
}

#[test]
fn steps_0_reports_the_initial_loss_as_json() {
    let o = makemore(&["train", "--steps", "0", "--emb", "50", "--hidden", "100", "--init", "small-output", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let last = stdout(&o).lines().last().unwrap().to_string();
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    for key in ["initial_loss", "train_loss", "dev_loss", "test_loss", "steps", "seconds", "examples_per_sec"] {
        assert!(v.get(key).is_some(), "summary lacks {key}: {last}");
    }
    assert_eq!(v["steps"], 0);
    assert!((v["initial_loss"].as_f64().unwrap() - 27f64.ln()).abs() < 0.02);
}

#[test]
fn train_save_then_sample() {
    let dir = std::env::temp_dir().join(format!("makemore-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.safetensors");
    let m = model.to_str().unwrap();
    let o = makemore(&["train", "--preset", "e01", "--steps", "300", "--eval-every", "100", "--save", m, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let evals = stdout(&o).lines().filter(|l| l.contains("\"eval\"")).count();
    assert_eq!(evals, 3);
    let o = makemore(&["sample", "--model", m, "-n", "12", "--temperature", "0.8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(names.len(), 12);
    assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase())), "{names:?}");
    std::fs::write(&model, b"not a model at all").unwrap();
    let o = makemore(&["sample", "--model", m]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("weights file"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_gets_a_message_naming_the_problem() {
    let dir = std::env::temp_dir().join(format!("makemore-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["train", "--steps", "1", "--lr", "NaN"], "`lr`"),
        (&["train", "--steps", "1", "--batch", "0"], "`batch_size`"),
        (&["train", "--steps", "1", "--hidden", "0"], "`n_hidden`"),
        (&["train", "--steps", "1", "--block", "0"], "`block_size`"),
        (&["train", "--steps", "1", "--lr-decay", "sometimes"], "lr_decay"),
        (&["train", "--data", empty.to_str().unwrap()], "no words"),
    ];
    for (args, want) in cases {
        let o = makemore(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?} panicked");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn inspect_reports_the_word_nll_and_sample_completes_a_prefix() {
    let dir = std::env::temp_dir().join(format!("makemore-cli-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.safetensors");
    let m = model.to_str().unwrap();
    let o = makemore(&["train", "--preset", "e03", "--steps", "300", "--save", m, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dev: f64 = serde_json::from_str::<serde_json::Value>(stdout(&o).lines().last().unwrap()).unwrap()["dev_loss"]
        .as_f64()
        .unwrap();
    let ck = makemore::weights::load(&std::fs::read(&model).unwrap()).unwrap();
    // The bundled names, split as training split them (tests/inspect.rs checks the library against the backend).
    let d = makemore::data::Dataset::new(include_bytes!("../data/names.txt"), 4, 42).unwrap();

    let o = makemore(&["inspect", "--model", m, "--word", "emma", "--word", "qzx", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for (v, word, in_train) in [(&lines[0], "emma", true), (&lines[1], "qzx", false)] {
        let r = &v["inspection"];
        let nll = r["nll"].as_f64().unwrap();
        let want = makemore::inspect::inspect(&ck.params, &ck.vocab, d.train_words(), word).unwrap().nll;
        assert!((nll - want).abs() < 1e-9, "{word}: the CLI says {nll}, the library {want}");
        assert_eq!(r["positions"].as_array().unwrap().len(), word.len() + 1);
        assert_eq!(r["inTrain"], in_train, "{word}");
        assert!((v["dev_loss"].as_f64().unwrap() - dev).abs() < 1e-5);
    }
    let text = makemore(&["inspect", "--model", m, "--word", "emma"]);
    assert!(stdout(&text).starts_with("emma: nll "), "{}", stdout(&text));

    let o = makemore(&["sample", "--model", m, "-n", "15", "--prefix", "ja", "--hide-existing"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert!(!names.is_empty() && names.iter().all(|n| n.starts_with("ja")), "{names:?}");
    assert!(names.iter().all(|n| !d.train_words().contains(n)), "{names:?}");

    let other = dir.join("other.txt");
    std::fs::write(&other, "ab\nba\naab\nbba\nabab\nbaba\n").unwrap();

    for (args, want) in [
        (&["sample", "--model", m, "--prefix", "jé"][..], "\"é\""),
        (&["inspect", "--model", m, "--word", "em.ma"], "end token"),
        (&["inspect", "--model", m, "--word", "emma", "--data", other.to_str().unwrap()], "--data"),
    ] {
        let o = makemore(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `--backend auto`: lavapipe is a software adapter, so it trains on the CPU
/// without a race; `--race` times both and trains on the faster. Needs an
/// adapter (lavapipe in CI) and fails without one.
#[test]
fn backend_auto_says_what_it_found_and_what_it_chose() {
    let run = |extra: &[&str]| {
        let mut args = vec!["train", "--preset", "e01", "--emb", "8", "--hidden", "32", "--batch", "32"];
        args.extend(["--steps", "20", "--eval-every", "0", "--backend", "auto", "--json"]);
        args.extend(extra);
        let o = makemore(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let last = stdout(&o).lines().last().unwrap().to_string();
        serde_json::from_str::<serde_json::Value>(&last).unwrap()
    };
    let plain = run(&[]);
    let c = &plain["calibration"];
    assert_eq!((c["found"]["kind"].as_str(), c["choice"].as_str()), (Some("software"), Some("cpu")), "{plain}");
    assert!(c["summary"].as_str().unwrap().contains("software GPU"), "{plain}");
    assert_eq!(plain["backend"], "cpu");

    let raced = run(&["--race"]);
    let c = &raced["calibration"];
    assert_eq!(c["found"]["kind"], "measured", "{raced}");
    let (cpu, gpu) = (c["found"]["rates"]["cpu"].as_f64().unwrap(), c["found"]["rates"]["gpu"].as_f64().unwrap());
    assert!(cpu > 0.0 && gpu > 0.0, "{raced}");
    let faster = if gpu > cpu { "gpu" } else { "cpu" };
    assert_eq!((c["choice"].as_str(), raced["backend"].as_str()), (Some(faster), Some(faster)), "{raced}");
}
