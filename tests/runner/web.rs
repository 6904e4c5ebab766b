//! The registry's web view: a real `pulse serve` over a real repository, its pages loaded
//! by a real headless Chromium (what a person sees: the DOM once the page has loaded, and
//! what the browser said on its console), and its sign-in cookie spoken to over raw HTTP.
//!
//! Chromium is found through `PULSE_TEST_CHROMIUM`, else `chromium` or `chromium-browser`
//! on `PATH`. Without it these tests fail and say how to install it
//! (`scripts/install-chromium.sh`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::registry::{HANG_GUARD, Registry, Response};
use crate::common::{Env, OutputExt};

/// A prompt that tries to run a script, in its content, description and message.
const HOSTILE: &[u8] = b"<script>document.title='pwned'</script>\n<b>not bold</b>\n";

/// A repository with `team/reviewer` (three releases, a description, a label moved once),
/// `hostile` (markup everywhere) and `bytes` (content that is not UTF-8).
fn seeded() -> Env {
    let env = Env::new();
    let contents: [(&str, &[u8]); 3] = [
        ("1.0.0", b"# Reviewer\n\nReview the diff.\nBe kind.\n"),
        (
            "1.1.0",
            b"# Reviewer\n\nReview the diff carefully.\nBe kind.\n",
        ),
        (
            "2.0.0",
            b"# Reviewer\n\nReview every line.\nBe kind.\nSay why.\n",
        ),
    ];
    for (version, content) in contents {
        env.pulse_stdin(
            &[
                "add",
                "team/reviewer",
                "--version",
                version,
                "--description",
                "Reviews code",
                "--message",
                &format!("release {version}"),
            ],
            content,
        )
        .assert_ok();
    }
    env.pulse(&["label", "set", "team/reviewer", "production", "1.0.0"])
        .assert_ok();
    env.pulse(&["label", "set", "team/reviewer", "production", "1.1.0"])
        .assert_ok();
    env.pulse_stdin(
        &[
            "add",
            "hostile",
            "--version",
            "1.0.0",
            "--description",
            "<img src=x onerror=\"document.title='pwned'\">",
            "--message",
            "<i>hi</i>",
        ],
        HOSTILE,
    )
    .assert_ok();
    env.add("bytes", "1.0.0", b"caf\xe9 \xff ok\n");
    env
}

/// The Chromium these tests drive.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("PULSE_TEST_CHROMIUM").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "PULSE_TEST_CHROMIUM names '{}', which is not a file: install Chromium with \
             scripts/install-chromium.sh (on Debian: apt-get install chromium), or point \
             PULSE_TEST_CHROMIUM at it",
            path.display()
        );
        return path;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the web view's tests drive a real headless Chromium, and none was found \
         (neither PULSE_TEST_CHROMIUM nor chromium/chromium-browser on PATH): install it with \
         scripts/install-chromium.sh (on Debian: apt-get install chromium), or set \
         PULSE_TEST_CHROMIUM to its path"
    );
}

/// A headless Chromium with a profile of its own, in a temporary directory.
struct Browser {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

/// What the browser made of a page.
struct Seen {
    /// The DOM once the page loaded (after any script would have run).
    dom: String,
    /// What Chromium logged, its console messages among them.
    log: String,
}

impl Seen {
    /// Whether the browser refused something the page asked for under its policy.
    fn csp_violations(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| l.contains("Content Security Policy"))
            .collect()
    }
}

impl Browser {
    fn new() -> Browser {
        Browser {
            bin: chromium(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Load `url` as a person would (following redirects) and return the DOM.
    fn load(&self, url: &str) -> Seen {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        let home = self.dir.path().join(format!("run-{n}"));
        std::fs::create_dir_all(&home).unwrap();
        let out = home.join("dom.html");
        let log = home.join("chromium.log");
        let mut child = Command::new(&self.bin)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--enable-logging=stderr",
                "--v=0",
                &format!("--user-data-dir={}", home.join("profile").display()),
                "--dump-dom",
                url,
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let deadline = Instant::now() + HANG_GUARD;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish loading {url}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let seen = Seen {
            dom: std::fs::read_to_string(&out).unwrap(),
            log: std::fs::read_to_string(&log).unwrap(),
        };
        assert!(
            status.success() && seen.dom.contains("</html>"),
            "chromium could not load {url} ({status}):\n{}",
            seen.log
        );
        seen
    }
}

/// The text of the first element of `dom` that starts with `open` (its tag and
/// attributes), up to the tag's end.
fn element<'a>(dom: &'a str, open: &str, close: &str) -> &'a str {
    let start = dom
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in:\n{dom}"));
    let rest = &dom[start + open.len()..];
    &rest[..rest
        .find(close)
        .unwrap_or_else(|| panic!("{open} is not closed"))]
}

/// Where `needle` first is in `hay` (panics if it is not there).
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("'{needle}' is not in:\n{hay}"))
}

#[test]
fn a_browser_sees_the_prompts_their_releases_a_diff_and_the_label_history() {
    let env = seeded();
    let reg = Registry::start(
        &env,
        env.repo.to_str().unwrap(),
        &["--allow-anonymous-read"],
    );
    let browser = Browser::new();
    let page = |path: &str| {
        let seen = browser.load(&format!("{}{path}", reg.url()));
        assert_eq!(
            seen.csp_violations(),
            Vec::<&str>::new(),
            "{path} asked for something its own policy refuses"
        );
        seen.dom
    };

    // The prompts: names, latest releases, labels and descriptions.
    let home = page("/_ui/");
    assert!(home.contains("<title>Prompts · pulse</title>"), "{home}");
    for shown in [
        ">team/reviewer</a>",
        ">hostile</a>",
        ">bytes</a>",
        ">2.0.0</a>",
        "production → 1.1.0",
        "Reviews code",
    ] {
        assert!(
            home.contains(shown),
            "'{shown}' is not on the list:\n{home}"
        );
    }
    // Markup in a description is text: no image element, so nothing to fire onerror.
    assert!(
        home.contains("&lt;img src=x onerror=\"document.title='pwned'\"&gt;"),
        "{home}"
    );
    assert!(!home.contains("<img"), "{home}");
    let filtered = page("/_ui/?prefix=team");
    assert!(filtered.contains(">team/reviewer</a>"), "{filtered}");
    assert!(!filtered.contains(">hostile</a>"), "{filtered}");
    assert!(filtered.contains("value=\"team\""), "{filtered}");

    // A prompt: its releases newest first, their labels, and diffs between neighbours.
    let prompt = page("/_ui/p/team/reviewer");
    let rows = element(&prompt, "<tbody>", "</tbody>");
    assert!(at(rows, ">2.0.0</a>") < at(rows, ">1.1.0</a>"), "{rows}");
    assert!(at(rows, ">1.1.0</a>") < at(rows, ">1.0.0</a>"), "{rows}");
    assert!(
        rows.contains("<span class=\"label\">production</span>"),
        "{rows}"
    );
    assert!(
        rows.contains("Ada Tester &lt;ada@example.com&gt;"),
        "{rows}"
    );
    assert!(
        rows.contains("href=\"../../p/team/reviewer/diff?from=1.1.0&amp;to=2.0.0\""),
        "{rows}"
    );
    assert!(rows.contains(">diff from 1.0.0</a>"), "{rows}");

    // A release: its metadata and its content.
    let release = page("/_ui/p/team/reviewer/v/1.1.0");
    assert!(
        release.contains("<title>team/reviewer@1.1.0 · pulse</title>"),
        "{release}"
    );
    let digest = pulse::Digest::of(b"# Reviewer\n\nReview the diff carefully.\nBe kind.\n");
    assert!(release.contains(&digest.to_string()), "{release}");
    assert!(release.contains("release 1.1.0"), "{release}");
    assert_eq!(
        element(&release, "<pre class=\"content\">", "</pre>"),
        "# Reviewer\n\nReview the diff carefully.\nBe kind.\n"
    );
    assert!(
        release.contains("href=\"../../../../p/team/reviewer/v/1.1.0/content.md\""),
        "{release}"
    );

    // Markup in a prompt is shown as text, and no script of it ran: the title is the
    // page's own, and the DOM has no script element at all.
    let hostile = page("/_ui/p/hostile/v/1.0.0");
    assert!(
        hostile.contains("<title>hostile@1.0.0 · pulse</title>"),
        "{hostile}"
    );
    assert!(!hostile.contains("pwned</title>"), "{hostile}");
    assert!(!hostile.to_lowercase().contains("<script"), "{hostile}");
    assert!(!hostile.contains("<b>"), "{hostile}");
    assert_eq!(
        element(&hostile, "<pre class=\"content\">", "</pre>"),
        "&lt;script&gt;document.title='pwned'&lt;/script&gt;\n&lt;b&gt;not bold&lt;/b&gt;\n"
    );
    assert!(hostile.contains("&lt;i&gt;hi&lt;/i&gt;"), "{hostile}");
    // The raw content is served as text, and runs nothing either.
    let raw = page("/_ui/p/hostile/v/1.0.0/content.md");
    assert!(!raw.contains("pwned</title>"), "{raw}");
    assert!(
        raw.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{raw}"
    );

    // Content that is not UTF-8 is shown lossily, and says so.
    let bytes = page("/_ui/p/bytes/v/1.0.0");
    assert!(bytes.contains("not valid UTF-8"), "{bytes}");
    assert_eq!(
        element(&bytes, "<pre class=\"content\">", "</pre>"),
        "caf\u{FFFD} \u{FFFD} ok\n"
    );

    // A diff: removed and added lines, marked.
    let diff = page("/_ui/p/team/reviewer/diff?from=1.0.0&to=2.0.0");
    let lines = element(&diff, "<pre class=\"diff\">", "</pre>");
    for shown in [
        "<span class=\"file\">--- team/reviewer@1.0.0</span>",
        "<span class=\"file\">+++ team/reviewer@2.0.0</span>",
        "<span class=\"hunk\">@@ -1,4 +1,5 @@</span>",
        "<span class=\"ctx\"> # Reviewer</span>",
        "<span class=\"del\">-Review the diff.</span>",
        "<span class=\"add\">+Review every line.</span>",
        "<span class=\"add\">+Say why.</span>",
    ] {
        assert!(
            lines.contains(shown),
            "'{shown}' is not in the diff:\n{lines}"
        );
    }
    assert!(diff.contains("2 line(s) added, 1 removed"), "{diff}");
    // Without versions: the newest against the one before it; selectors work too.
    let latest = page("/_ui/p/team/reviewer/diff");
    assert!(latest.contains("--- team/reviewer@1.1.0"), "{latest}");
    let labelled = page("/_ui/p/team/reviewer/diff?from=production&to=production");
    assert!(labelled.contains("the same content"), "{labelled}");

    // The labels, and who moved them from what to what.
    let labels = page("/_ui/p/team/reviewer/labels");
    let history = element(&labels, "<table class=\"history\">", "</table>");
    let moved = at(
        history,
        ">1.0.0</a></td><td><a href=\"../../../p/team/reviewer/v/1.1.0\">1.1.0</a>",
    );
    let created = at(history, "(new)");
    assert!(moved < created, "newest first:\n{history}");
    assert!(history.contains("Ada Tester"), "{history}");
    assert!(
        history.contains("<span class=\"label\">production</span>"),
        "{history}"
    );

    // A page that is not there, and a prompt that is not there.
    let missing = page("/_ui/p/nope");
    assert!(missing.contains("no prompt 'nope'"), "{missing}");
    let unknown = page("/_ui/nowhere");
    assert!(
        unknown.contains("is not a page of this registry"),
        "{unknown}"
    );

    // The browser fetched the style sheet (its policy allowed it), and the metrics count
    // pages by their route, never by a prompt's name.
    let metrics = reg.get("/metrics", None).text();
    for counted in [
        "route=\"/_ui/style.css\",status=\"200\"",
        "route=\"/_ui/\",status=\"200\"",
        "route=\"/_ui/p/{name}\",status=\"200\"",
        "route=\"/_ui/p/{name}\",status=\"404\"",
        "route=\"/_ui/p/{name}/v/{version}\",status=\"200\"",
        "route=\"/_ui/p/{name}/v/{version}/content.md\",status=\"200\"",
        "route=\"/_ui/p/{name}/diff\",status=\"200\"",
        "route=\"/_ui/p/{name}/labels\",status=\"200\"",
    ] {
        assert!(
            metrics.contains(counted),
            "{counted} is not counted:\n{metrics}"
        );
    }
    assert!(!metrics.contains("reviewer"), "{metrics}");
}

#[test]
fn a_store_without_label_history_says_so() {
    let env = seeded();
    let dir = env.path("dir-store");
    env.pulse(&["sync", env.repo.to_str().unwrap(), dir.to_str().unwrap()])
        .assert_ok();
    let reg = Registry::start(&env, dir.to_str().unwrap(), &["--allow-anonymous-read"]);
    let labels = Browser::new()
        .load(&format!("{}/_ui/p/team/reviewer/labels", reg.url()))
        .dom;
    assert!(
        labels.contains("This store keeps no history of label moves"),
        "{labels}"
    );
    let current = element(&labels, "<table class=\"labels\">", "</table>");
    assert!(current.contains(">production</span>"), "{current}");
    assert!(current.contains(">1.1.0</a>"), "{current}");
}

/// Every header every answer under `/_ui` carries.
fn assert_guarded(r: &Response, what: &str) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'self'"),
        "{what}: {csp}"
    );
    assert!(!csp.contains("script-src"), "{what}: {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

#[test]
fn without_a_token_the_pages_ask_for_one_and_sign_in_keeps_it_in_a_cookie() {
    let env = seeded();
    let token = Registry::token(&env, "web-reader", "read", None);
    let narrow = Registry::token(&env, "narrow", "read", Some("other"));
    let reg = Registry::start(&env, env.repo.to_str().unwrap(), &[]);
    let cookie = format!("pulse_token={token}");
    let with_cookie =
        |path: &str, cookie: &str| reg.request("GET", path, &[("Cookie", cookie)], b"");

    // No token: every page that shows the store is the sign-in page, 401.
    for path in [
        "/_ui/",
        "/_ui/p/team/reviewer",
        "/_ui/p/team/reviewer/v/1.0.0",
        "/_ui/p/team/reviewer/v/1.0.0/content.md",
        "/_ui/p/team/reviewer/diff",
        "/_ui/p/team/reviewer/labels",
    ] {
        let r = reg.get(path, None);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"pulse\""),
            "{path}"
        );
        assert!(r.text().contains("<h1>Sign in</h1>"), "{path}");
        assert!(!r.text().contains("reviewer"), "{path}: {}", r.text());
        assert_guarded(&r, path);
    }
    // What a person sees: the form to paste a token into.
    let browser = Browser::new();
    let seen = browser.load(&format!("{}/_ui/p/team/reviewer", reg.url()));
    assert!(seen.dom.contains("<h1>Sign in</h1>"), "{}", seen.dom);
    assert!(
        seen.dom.contains("<input type=\"password\" name=\"token\""),
        "{}",
        seen.dom
    );

    // The style sheet and the sign-in page need no token.
    assert_eq!(reg.get("/_ui/style.css", None).status, 200);
    let form = reg.get("/_ui/login", None);
    assert_eq!(form.status, 200);
    assert!(form.header("set-cookie").is_none());

    // `?token=` once: the cookie, and on to the prompts; the token is never in a page.
    let login = reg.get(&format!("/_ui/login?token={token}"), None);
    assert_eq!(login.status, 303, "{}", login.text());
    assert_eq!(login.header("location"), Some("./"));
    assert_eq!(login.header("cache-control"), Some("no-store"));
    assert_eq!(
        login.header("set-cookie"),
        Some(format!("pulse_token={token}; HttpOnly; SameSite=Strict; Path=/_ui").as_str())
    );
    assert!(!login.text().contains(&token));
    assert_guarded(&login, "login");
    // Another site cannot sign a browser in (or out): a login CSRF is refused.
    let forged = reg.request(
        "POST",
        "/_ui/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        format!("token={token}").as_bytes(),
    );
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert!(forged.header("set-cookie").is_none());
    let linked = reg.request(
        "GET",
        &format!("/_ui/login?token={token}"),
        &[("Sec-Fetch-Site", "cross-site")],
        b"",
    );
    assert_eq!(linked.status, 403);
    assert!(linked.header("set-cookie").is_none());
    let same = reg.request(
        "GET",
        &format!("/_ui/login?token={token}"),
        &[("Sec-Fetch-Site", "same-origin")],
        b"",
    );
    assert_eq!(same.status, 303);
    // The form sends it in its body rather than the address.
    let posted = reg.request(
        "POST",
        "/_ui/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token={token}").as_bytes(),
    );
    assert_eq!(posted.status, 303, "{}", posted.text());
    assert_eq!(posted.header("set-cookie"), login.header("set-cookie"));

    // With the cookie, every page shows; no page shows the token.
    for path in [
        "/_ui/",
        "/_ui/p/team/reviewer",
        "/_ui/p/team/reviewer/v/1.0.0",
        "/_ui/p/team/reviewer/diff",
        "/_ui/p/team/reviewer/labels",
    ] {
        let r = with_cookie(path, &format!("theme=dark; {cookie}"));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(r.text().contains("team/reviewer"), "{path}");
        assert!(r.text().contains("token web-reader"), "{path}");
        assert!(!r.text().contains(&token), "{path} shows the token");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        assert_guarded(&r, path);
    }
    let raw = with_cookie("/_ui/p/team/reviewer/v/1.0.0/content.md", &cookie);
    assert_eq!(raw.status, 200);
    assert_eq!(raw.body, b"# Reviewer\n\nReview the diff.\nBe kind.\n");
    assert_eq!(
        raw.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        raw.header("content-security-policy"),
        Some("default-src 'none'; sandbox")
    );
    // The bearer header works as for the JSON API.
    let bearer = reg.get("/_ui/p/team/reviewer", Some(&token));
    assert_eq!(bearer.status, 200);

    // In a browser: the sign-in link sets the cookie, and the redirect shows the prompts.
    let seen = browser.load(&format!("{}/_ui/login?token={token}", reg.url()));
    assert!(
        seen.dom.contains("<title>Prompts · pulse</title>"),
        "{}",
        seen.dom
    );
    assert!(seen.dom.contains(">team/reviewer</a>"), "{}", seen.dom);
    assert!(!seen.dom.contains(&token), "the page shows the token");

    // A token that is not known: no cookie, the sign-in page again, the input not echoed.
    let bad = "pulse_0000beef_not-a-secret-anyone-has";
    let refused = reg.get(&format!("/_ui/login?token={bad}"), None);
    assert_eq!(refused.status, 401);
    assert!(refused.header("set-cookie").is_none());
    assert!(refused.text().contains("not a token this registry knows"));
    assert!(!refused.text().contains(bad));
    // A cookie whose token is unknown (revoked) is refused, and dropped.
    let stale = with_cookie("/_ui/", &format!("pulse_token={bad}"));
    assert_eq!(stale.status, 401);
    assert!(
        stale
            .header("set-cookie")
            .is_some_and(|c| c.starts_with("pulse_token=;") && c.contains("Max-Age=0")),
        "{:?}",
        stale.headers
    );
    // Signing out drops it too.
    let out = with_cookie("/_ui/logout", &cookie);
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("login"));
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );

    // A token whose prefixes do not cover a prompt: not listed, and its pages are 403.
    let narrow_cookie = format!("pulse_token={narrow}");
    let listed = with_cookie("/_ui/", &narrow_cookie);
    assert_eq!(listed.status, 200);
    assert!(
        listed.text().contains("No prompts here."),
        "{}",
        listed.text()
    );
    let forbidden = with_cookie("/_ui/p/team/reviewer/v/1.0.0", &narrow_cookie);
    assert_eq!(forbidden.status, 403);
    assert!(!forbidden.text().contains("Review the diff"));

    // Refusals are in the audit log; no secret ever is.
    let log = reg.stderr_text();
    assert!(
        log.contains("\"action\":\"read\",\"target\":\"team/reviewer\",\"status\":401,\"result\":\"unauthorized\""),
        "{log}"
    );
    assert!(
        log.contains("\"status\":403,\"result\":\"forbidden\""),
        "{log}"
    );
    for secret in [&token, &narrow] {
        let secret_part = secret.rsplit('_').next().unwrap();
        assert!(!log.contains(secret_part), "the log holds a secret:\n{log}");
    }
}

#[test]
fn pages_take_only_reads_and_head_sends_no_body() {
    let env = seeded();
    let reg = Registry::start(
        &env,
        env.repo.to_str().unwrap(),
        &["--allow-anonymous-read"],
    );
    let get = reg.get("/_ui/p/team/reviewer", None);
    assert_eq!(get.status, 200);
    let head = reg.request("HEAD", "/_ui/p/team/reviewer", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "{}", head.text());
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    assert_guarded(&head, "HEAD");
    for (method, path) in [
        ("POST", "/_ui/"),
        ("PUT", "/_ui/p/team/reviewer"),
        ("DELETE", "/_ui/p/team/reviewer/v/1.0.0"),
    ] {
        let r = reg.request(method, path, &[], b"");
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method} {path}");
        assert_guarded(&r, path);
    }
    // `/_ui` goes on to `/_ui/`; the style sheet is revalidated by its tag.
    let bare = reg.get("/_ui", None);
    assert_eq!(bare.status, 303);
    assert_eq!(bare.header("location"), Some("_ui/"));
    let css = reg.get("/_ui/style.css", None);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_guarded(&css, "style.css");
    let tag = css.header("etag").unwrap().to_owned();
    let again = reg.request("GET", "/_ui/style.css", &[("If-None-Match", &tag)], b"");
    assert_eq!(again.status, 304);
    // A name or version that cannot be one is a 400 page, not a prompt's.
    let bad = reg.get("/_ui/p/Team/reviewer", None);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("content-type"), Some("text/html; charset=utf-8"));
    // The JSON API and the layout are untouched by the pages' prefix.
    assert_eq!(reg.get("/_api/v1/prompts", None).status, 200);
    assert_eq!(reg.get("/team/reviewer/labels.json", None).status, 200);
}
