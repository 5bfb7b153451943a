//! `WOLO_ENV=production` is safe by default (issue #13, item 10): `wolo serve` refuses every
//! development default, short secret, the fake Wave, the development message provider and
//! open CORS with one line naming the setting and exit status 2, before anything starts;
//! the same values are fine outside production; a real production configuration gets past
//! the checks. The built binary runs as a subprocess.

use std::{
    collections::BTreeMap,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use testkit::TestDb;

const WOLO: &str = env!("CARGO_BIN_EXE_wolo");

/// The secrets production checks, by setting.
const SECRETS: &[&str] = &[
    "WOLO_JWT_SECRET",
    "WOLO_WAVE_API_KEY",
    "WOLO_WAVE_WEBHOOK_SECRET",
    "WOLO_ID_HASH_KEY",
    "WOLO_ID_ENCRYPTION_KEYS",
    "WOLO_NOTIFY_RECEIPT_SECRET",
    "WOLO_QR_SECRET",
];

const ALL: [&str; 10] = [
    "identity",
    "profiles",
    "referral",
    "pots",
    "donations",
    "packs",
    "qr",
    "notifications",
    "analytics",
    "admin",
];

/// A production configuration that passes the checks (no development value in it).
pub(crate) fn valid() -> BTreeMap<&'static str, String> {
    [
        ("WOLO_ENV", "production"),
        ("WOLO_JWT_SECRET", "Zq3v9xL2pR7mW4tY8kB1nC6hJ0sD5fG2aE9uQ"),
        ("WOLO_CORS_ORIGINS", "https://app.wolo.sn"),
        ("WOLO_PUBLIC_URL", "https://wolo.sn"),
        ("WOLO_WAVE_API_URL", "https://api.wave.com"),
        (
            "WOLO_WAVE_API_KEY",
            "wave_sn_prod_Hq8Lr2Vx7Kp4Nm9Tb3Wc6Yz1Fd5Gs0J",
        ),
        (
            "WOLO_WAVE_WEBHOOK_SECRET",
            "wave_sn_WHS_p7Rk2Lm9Qx4Vt8Nb3Hc6Jz1Wd5Fs0G",
        ),
        ("WOLO_ID_HASH_KEY", "Xk4Tn8Qm2Rv6Lp0Wz3Hb7Jc1Fd5Gs9Ya"),
        (
            "WOLO_ID_ENCRYPTION_KEYS",
            "k1:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=",
        ),
        ("WOLO_QR_SECRET", "Pm5Wq9Lx3Rt7Vn1Kb4Hz8Jc2Fd6Gs0Ya"),
        ("WOLO_SMTP_URL", "smtps://wolo:pw@smtp.example.sn:465"),
        ("WOLO_SMS_API_URL", "https://sms.example.sn/send"),
        ("WOLO_SMS_API_KEY", "sms-provider-key"),
        (
            "WOLO_WHATSAPP_API_URL",
            "https://graph.facebook.com/v19.0/1/messages",
        ),
        ("WOLO_WHATSAPP_API_KEY", "whatsapp-provider-key"),
        (
            "WOLO_NOTIFY_RECEIPT_SECRET",
            "Rc7Tn3Qm9Lv5Wp1Kz8Hb2Jd6Fs0Gx4Ya",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

pub(crate) fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// `wolo <args>` with exactly `env` (and PATH): nothing leaks in from the test's own
/// environment (the Makefile exports a development JWT secret).
pub(crate) fn wolo(args: &[&str], env: &BTreeMap<&str, String>) -> Command {
    let mut cmd = Command::new(WOLO);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null());
    cmd
}

pub(crate) struct Outcome {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `wolo serve [service]` to its end (a refusal ends it at once).
pub(crate) fn refused_run(service: Option<&str>, env: &BTreeMap<&str, String>) -> Outcome {
    let mut env = env.clone();
    // Nothing may reach a database or a port: a refusal comes first.
    env.insert("DATABASE_URL", "postgres://wolo@127.0.0.1:1/wolo".into());
    env.insert("WOLO_HTTP_ADDR", free_addr());
    env.insert("WOLO_FAKE_WAVE_ADDR", free_addr());
    let mut args = vec!["serve"];
    args.extend(service);
    let mut child = wolo(&args, &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "wolo serve did not stop: it listens\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_refused(service: Option<&str>, env: &BTreeMap<&str, String>, setting: &str, case: &str) {
    let out = refused_run(service, env);
    assert_eq!(
        out.code,
        Some(2),
        "{case}: exit status\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "{case}: one line on stderr: {lines:?}");
    assert!(
        lines[0].starts_with(&format!("wolo: {setting} refused in production")),
        "{case}: {}",
        lines[0]
    );
    // Nothing started: no listener, no fake Wave, no job announced itself.
    assert!(out.stdout.is_empty(), "{case}: {}", out.stdout);
}

#[test]
fn production_refuses_each_development_setting_with_status_2_before_anything_starts() {
    type Case = (&'static str, Option<&'static str>);
    let cases: &[Case] = &[
        // .env.example, the Makefile and compose.yaml's JWT secrets, the tests' one, a short one.
        (
            "WOLO_JWT_SECRET",
            Some("change-me-change-me-change-me-change-me"),
        ),
        (
            "WOLO_JWT_SECRET",
            Some("dev-only-jwt-secret-change-me-0123456789"),
        ),
        ("WOLO_JWT_SECRET", Some(testkit::TEST_JWT_SECRET)),
        ("WOLO_CORS_ORIGINS", Some("*")),
        ("WOLO_CORS_ORIGINS", None),
        // Links at http://localhost, or not https.
        ("WOLO_PUBLIC_URL", None),
        ("WOLO_PUBLIC_URL", Some("http://wolo.sn")),
        // The fake Wave: unset, its address, its key and secret.
        ("WOLO_WAVE_API_URL", None),
        ("WOLO_WAVE_API_URL", Some("http://127.0.0.1:8099")),
        ("WOLO_WAVE_API_URL", Some("http://api.wave.com")),
        ("WOLO_WAVE_API_KEY", Some(fakewave::DEV_API_KEY)),
        ("WOLO_WAVE_API_KEY", Some("wave_sn_prod_tooshort")),
        (
            "WOLO_WAVE_WEBHOOK_SECRET",
            Some(fakewave::DEV_WEBHOOK_SECRET),
        ),
        ("WOLO_WAVE_WEBHOOK_SECRET", None),
        ("WOLO_ID_HASH_KEY", Some(profiles::crypto::DEV_HASH_KEY)),
        ("WOLO_ID_HASH_KEY", None),
        ("WOLO_ID_ENCRYPTION_KEYS", None),
        ("WOLO_ID_ENCRYPTION_KEYS", Some("k1:c2hvcnQ=")),
        ("WOLO_QR_SECRET", Some(qr::code::DEV_SECRET)),
        ("WOLO_QR_SECRET", Some("short-qr-secret")),
        ("WOLO_QR_SECRET", None),
        (
            "WOLO_NOTIFY_RECEIPT_SECRET",
            Some("receipt-secret-for-tests"),
        ),
        // compose.yaml's database passwords, however they are given.
        ("WOLO_DB_PASSWORD_QR", Some("dev-only-qr")),
        (
            "WOLO_POTS_DATABASE_URL",
            Some("postgres://wolo_svc_pots:dev-only-pots@127.0.0.1:1/wolo"),
        ),
        // The development message provider, channel by channel.
        ("WOLO_SMTP_URL", None),
        ("WOLO_SMS_API_URL", None),
        ("WOLO_WHATSAPP_API_URL", None),
    ];
    for (setting, value) in cases {
        let mut env = valid();
        match value {
            Some(v) => env.insert(setting, v.to_string()),
            None => env.remove(setting),
        };
        assert_refused(None, &env, setting, &format!("{setting}={value:?}"));
    }
    // `prod` is production too.
    let mut env = valid();
    env.insert("WOLO_ENV", "prod".into());
    env.insert("WOLO_QR_SECRET", qr::code::DEV_SECRET.into());
    assert_refused(None, &env, "WOLO_QR_SECRET", "WOLO_ENV=prod");
}

#[test]
fn a_malformed_setting_is_one_line_and_status_2_too() {
    // Config::from_env refuses these before the production checks run: the same exit.
    for (setting, value) in [
        ("WOLO_JWT_SECRET", "too-short"),
        ("WOLO_CORS_ORIGINS", "not a url"),
    ] {
        let mut env = valid();
        env.insert(setting, value.into());
        let out = refused_run(None, &env);
        assert_eq!(out.code, Some(2), "{setting}: {}", out.stderr);
        let lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "{setting}: {lines:?}");
        assert!(
            lines[0].starts_with("wolo: bad setting") && lines[0].contains(setting),
            "{setting}: {}",
            lines[0]
        );
        assert!(out.stdout.is_empty(), "{setting}: {}", out.stdout);
    }
}

#[test]
fn a_bad_service_setting_outside_production_is_one_line_not_a_panic() {
    // A 31-byte QR secret used to abort `wolo serve` with a panic and a backtrace; the
    // identity settings are read at start-up too, not when the router is built.
    let cases: [(&str, String, &str); 3] = [
        ("WOLO_QR_SECRET", "x".repeat(31), "qr"),
        (
            "WOLO_REFRESH_TOKEN_REUSE_INTERVAL",
            "ten".into(),
            "identity",
        ),
        ("WOLO_PASSWORD_MIN_LENGTH", "3".into(), "identity"),
    ];
    for (setting, value, owner) in cases {
        let mut env = valid();
        env.remove("WOLO_ENV");
        env.insert(setting, value);
        env.insert("RUST_BACKTRACE", "1".into());
        for service in [None, Some(owner)] {
            let out = refused_run(service, &env);
            assert_eq!(out.code, Some(2), "{setting} {service:?}: {}", out.stderr);
            let lines: Vec<&str> = out
                .stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect();
            assert_eq!(lines.len(), 1, "{setting} {service:?}: {lines:?}");
            assert!(
                lines[0].starts_with("wolo: ") && lines[0].contains(setting),
                "{setting} {service:?}: {}",
                lines[0]
            );
            assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        }
    }
}

#[test]
fn a_service_served_alone_is_checked_for_its_own_settings() {
    let mut env = valid();
    env.insert("WOLO_QR_SECRET", qr::code::DEV_SECRET.into());
    assert_refused(Some("qr"), &env, "WOLO_QR_SECRET", "wolo serve qr");
    env.insert("WOLO_CORS_ORIGINS", "*".into());
    assert_refused(Some("pots"), &env, "WOLO_CORS_ORIGINS", "wolo serve pots");
}

/// `(setting, value)` for every secret setting given a value in `text`: `S=v`, `S ?= v`,
/// `${S:-v}`, `S: v` (variable references and empty values skipped).
fn shipped_values(text: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for setting in SECRETS.iter().copied().chain(["BENCH_WAVE_SECRET"]) {
        for (i, _) in text.match_indices(setting) {
            let rest = &text[i + setting.len()..];
            let Some(value) = ["=", " ?= ", ":-", ": "]
                .iter()
                .find_map(|sep| rest.strip_prefix(sep))
            else {
                continue;
            };
            let value: String = value
                .chars()
                .take_while(|c| !c.is_whitespace() && !"}\"'`".contains(*c))
                .collect();
            if value.is_empty() || value.starts_with('$') {
                continue;
            }
            let setting = if setting == "BENCH_WAVE_SECRET" {
                "WOLO_WAVE_WEBHOOK_SECRET"
            } else {
                setting
            };
            out.push((setting, value));
        }
    }
    out
}

/// Every file the project ships settings in.
fn shipped_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = [
        ".env.example",
        "Makefile",
        "compose.yaml",
        "Dockerfile",
        "README.md",
        "bench/run.sh",
        "deploy/nginx.conf",
        ".ci/run",
    ]
    .iter()
    .map(|f| root.join(f))
    .filter(|p| p.exists())
    .collect();
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            files.push(p);
        }
    }
    files
}

#[test]
fn every_development_value_shipped_in_files_or_code_is_refused_in_production() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found: Vec<(String, &'static str, String)> = Vec::new();
    for file in shipped_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (setting, value) in shipped_values(&text) {
            found.push((file.display().to_string(), setting, value));
        }
    }
    // The files do ship some: .env.example's and the Makefile's JWT secrets at least.
    assert!(
        found.iter().any(|(f, _, _)| f.ends_with(".env.example"))
            && found.iter().any(|(f, _, _)| f.ends_with("Makefile")),
        "{found:?}"
    );
    // The code's development defaults, for every secret setting.
    for value in [
        testkit::TEST_JWT_SECRET,
        fakewave::DEV_API_KEY,
        fakewave::DEV_WEBHOOK_SECRET,
        donations::config::DEV_API_KEY,
        donations::config::DEV_WEBHOOK_SECRET,
        profiles::crypto::DEV_HASH_KEY,
        qr::code::DEV_SECRET,
    ] {
        for setting in SECRETS {
            found.push(("code".into(), setting, value.to_string()));
        }
    }
    for (file, setting, value) in &found {
        let mut env = valid();
        env.insert(setting, value.clone());
        let refused =
            platform::production::check(platform::config::Environment::Production, &ALL, |k| {
                env.get(k).cloned()
            })
            .expect_err(&format!(
                "{file}: {setting}={value} is accepted in production"
            ));
        assert_eq!(refused.setting, *setting, "{file}: {value}");
        if !value.contains(':') {
            assert!(
                platform::production::is_development_value(value) || value.len() < 32,
                "{file}: {setting}={value} is not in platform::production::DEVELOPMENT_VALUES"
            );
        }
    }
}

#[tokio::test]
async fn outside_production_the_development_values_are_allowed() {
    let db = TestDb::new().await;
    let addr = free_addr();
    // .env.example's values: its JWT secret, CORS open, no Wave (the fake starts).
    let env: BTreeMap<&str, String> = [
        ("WOLO_ENV", "development"),
        ("DATABASE_URL", db.url.as_str()),
        ("WOLO_JWT_SECRET", "change-me-change-me-change-me-change-me"),
        ("WOLO_CORS_ORIGINS", "*"),
        ("WOLO_QR_SECRET", qr::code::DEV_SECRET),
        ("WOLO_HTTP_ADDR", addr.as_str()),
        ("WOLO_FAKE_WAVE_ADDR", "127.0.0.1:0"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    let mut child = wolo(&["serve"], &env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let res = wait_for(&mut child, &format!("http://{addr}/pots/health")).await;
    let res = res.unwrap_or_else(|stderr| panic!("wolo serve stopped: {stderr}"));
    assert_eq!(res.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `url` until it answers; `Err(stderr)` if the process ends first.
pub(crate) async fn wait_for(
    child: &mut std::process::Child,
    url: &str,
) -> Result<reqwest::Response, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(res) = reqwest::get(url).await {
            return Ok(res);
        }
        if child.try_wait().unwrap().is_some() {
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                use std::io::Read;
                let _ = s.read_to_string(&mut err);
            }
            return Err(err);
        }
        assert!(Instant::now() < deadline, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_valid_production_configuration_gets_past_the_checks() {
    let db = TestDb::new().await;
    let addr = free_addr();
    let mut env = valid();
    env.insert("DATABASE_URL", db.url.clone());
    env.insert("WOLO_HTTP_ADDR", addr.clone());
    let mut child = wolo(&["serve"], &env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    match wait_for(&mut child, &format!("http://{addr}/pots/health")).await {
        Ok(res) => {
            assert_eq!(res.status(), 200);
            let _ = child.kill();
            let _ = child.wait();
        }
        // Later start-up checks (the database role, ...) may stop it; these checks did not.
        Err(stderr) => {
            assert!(
                !stderr.contains("refused in production: ")
                    || !SECRETS
                        .iter()
                        .chain(&[
                            "WOLO_CORS_ORIGINS",
                            "WOLO_WAVE_API_URL",
                            "WOLO_SMTP_URL",
                            "WOLO_SMS_API_URL",
                            "WOLO_WHATSAPP_API_URL",
                        ])
                        .any(|s| stderr.contains(&format!("{s} refused in production"))),
                "{stderr}"
            );
        }
    }
}
