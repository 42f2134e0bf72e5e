//! The jobs page in a real headless browser (Debian's chromium, `--dump-dom`, and its DevTools
//! endpoint for the open list's title): a job queued over the API appears on the page, the open
//! list follows it without a reload, its page follows it live from waiting to success and shows the
//! component's output — hostile output as text, never as markup — and its output tables; the
//! token reaches the browser only as an HttpOnly, SameSite=Strict cookie and is never written
//! into a page. Without chromium the browser tests skip, unless `BERTH_REQUIRE_BROWSER=1`
//! (CI), where they fail.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use components_artifacts as guests;
use serde_json::{Value, json};

use crate::support::Server;

/// Text the component prints that a browser would run if the page parsed it as HTML.
const HOSTILE: &str =
    "<script>document.title='pwned'</script><img src=x onerror=\"document.body.dataset.pwned=1\">";

/// The chromium binary, or `None` (the test skips) when it is missing and not required.
fn chromium(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("BERTH_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{test}: chromium is not installed and BERTH_REQUIRE_BROWSER=1 (apt-get install chromium)"
        );
        eprintln!("{test}: skipped, chromium is not installed");
    }
    found
}

/// Starts chromium loading `url` headless; it prints the DOM once `budget` of virtual time has
/// passed with nothing left to fetch (timers run in virtual time, fetches in real time).
fn browse(chromium: &PathBuf, profile: &tempfile::TempDir, url: &str, budget: Duration) -> Browser {
    let budget = format!("--virtual-time-budget={}", budget.as_millis());
    launch(chromium, profile, &[budget.as_str(), "--dump-dom"], url)
}

/// Starts headless chromium with `args` on `url` (stopped when the [`Browser`] is dropped).
fn launch(chromium: &PathBuf, profile: &tempfile::TempDir, args: &[&str], url: &str) -> Browser {
    // Files, not pipes: a page larger than a pipe's buffer never blocks chromium.
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(args)
        .arg(url)
        .stdout(Stdio::from(out.reopen().unwrap()))
        .stderr(Stdio::from(err.reopen().unwrap()))
        .spawn()
        .expect("starting chromium");
    Browser { child, out, err }
}

struct Browser {
    child: std::process::Child,
    out: tempfile::NamedTempFile,
    err: tempfile::NamedTempFile,
}

impl Browser {
    /// The DOM chromium printed (at most two minutes).
    fn dom(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self
            .child
            .try_wait()
            .expect("waiting for chromium")
            .is_none()
        {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("chromium did not finish within two minutes");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let dom = std::fs::read_to_string(self.out.path()).expect("chromium's output");
        assert!(
            dom.contains("</html>"),
            "chromium printed no page: {}",
            std::fs::read_to_string(self.err.path()).unwrap_or_default()
        );
        dom
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The row of job `id` in the jobs table.
#[track_caller]
fn row<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("data-job=\"{id}\""))
        .unwrap_or_else(|| panic!("job {id} is not on the page: {dom}"));
    let end = dom[start..].find("</tr>").expect("the row ends") + start;
    &dom[start..end]
}

/// Requests the server has answered (`berth_http_requests_total`, this one included).
fn requests(server: &Server) -> u64 {
    let text = server.get("/metrics").text().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("berth_http_requests_total "))
        .and_then(|n| n.parse().ok())
        .expect("the request counter")
}

#[test]
fn a_queued_job_appears_on_the_page_turns_to_success_and_shows_its_output_as_text() {
    let Some(chromium) = chromium("jobs page") else {
        return;
    };
    let server = Server::start(1, |env| {
        env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    });
    let profile = tempfile::tempdir().unwrap();
    // A job of the same configuration keeps ours waiting until the test kills it.
    let blocker = server.queue(json!({
        "component": "acme.writer", "config": "cfg",
        "configData": {"parameters": {"sleep_ms": 600_000}}
    }));
    server.wait_for(&blocker, |j| j["status"] == "processing");
    let id = server.queue(json!({
        "component": "acme.writer", "config": "cfg",
        "configData": {"parameters": {
            "print": [HOSTILE, "hello from the component"],
            "write": [{"path": "out/tables/out.c-main.t.csv", "text": "a\n1\n"}]
        }, "storage": {"output": {"tables": [{"destination": "out.c-main.t"}]}}}
    }));
    assert_eq!(server.job(&id)["status"], "waiting");

    // The list: both jobs, newest first, with their status, component and configuration.
    let dom = browse(
        &chromium,
        &profile,
        &format!("{}/?token={}", server.url, server.token),
        Duration::from_secs(3),
    )
    .dom();
    assert!(!dom.contains(&server.token), "the token is in the page");
    let waiting = row(&dom, &id);
    assert!(
        waiting.contains("data-status=\"waiting\">waiting<"),
        "{waiting}"
    );
    assert!(
        waiting.contains(">acme.writer<") && waiting.contains(">cfg<"),
        "{waiting}"
    );
    assert!(
        waiting.contains(&format!("href=\"/ui/jobs/{id}\"")),
        "{waiting}"
    );
    assert!(
        row(&dom, &blocker).contains("data-status=\"processing\">processing<"),
        "{dom}"
    );
    assert!(dom.find(&format!("data-job=\"{id}\"")) < dom.find(&format!("data-job=\"{blocker}\"")));

    // A running job's page offers the kill button.
    let dom = browse(
        &chromium,
        &profile,
        &format!("{}/ui/jobs/{blocker}?token={}", server.url, server.token),
        Duration::from_secs(3),
    )
    .dom();
    assert!(
        dom.contains("id=\"status\" data-status=\"processing\">processing<"),
        "{dom}"
    );
    assert!(
        dom.contains("<button id=\"kill\" type=\"button\">"),
        "{dom}"
    );

    // The job's page, opened while the job waits, follows it to its end: the blocker is killed
    // only once the browser has asked for the job.
    let before = requests(&server);
    let page = browse(
        &chromium,
        &profile,
        &format!("{}/ui/jobs/{id}?token={}", server.url, server.token),
        Duration::from_secs(3600),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut polls = 1;
    // The sign-in redirect, the page and the job: three requests besides the test's own.
    while requests(&server) < before + polls + 3 {
        polls += 1;
        assert!(
            Instant::now() < deadline,
            "the browser never asked for the job"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.job(&id)["status"], "waiting");
    assert_eq!(
        server
            .post(&format!("/jobs/{blocker}/kill"), json!({}))
            .status(),
        202
    );
    let dom = page.dom();
    assert!(!dom.contains(&server.token), "the token is in the page");
    assert!(
        dom.contains("id=\"status\" data-status=\"success\">success<"),
        "{dom}"
    );
    // The component's output is on the page as text: escaped in the DOM, never run.
    assert!(dom.contains("hello from the component"), "{dom}");
    assert!(
        dom.contains(
            "&lt;script&gt;document.title='pwned'&lt;/script&gt;\
             &lt;img src=x onerror=\"document.body.dataset.pwned=1\"&gt;"
        ),
        "{dom}"
    );
    assert!(!dom.contains("<script>document.title"), "{dom}");
    assert!(!dom.contains("<img src=\"x\""), "{dom}");
    assert!(!dom.contains("data-pwned"), "{dom}");
    assert!(dom.contains("<title>berth job</title>"), "{dom}");
    assert!(dom.contains("<td>out.c-main.t</td>"), "{dom}");
    assert!(
        dom.contains("Job success: Component processing finished."),
        "{dom}"
    );
    // A finished job has no kill button to press.
    assert!(dom.contains("id=\"kill\" type=\"button\" hidden"), "{dom}");

    // The list shows the job's new status.
    let dom = browse(
        &chromium,
        &profile,
        &format!("{}/?token={}", server.url, server.token),
        Duration::from_secs(3),
    )
    .dom();
    assert!(
        row(&dom, &id).contains("data-status=\"success\">success<"),
        "{dom}"
    );
    assert!(
        row(&dom, &blocker).contains("data-status=\"terminated\">terminated<"),
        "{dom}"
    );
}

#[test]
fn the_open_jobs_list_follows_the_jobs_without_a_reload() {
    let Some(chromium) = chromium("live jobs list") else {
        return;
    };
    let server = Server::start(1, |env| {
        env.component("acme.writer", guests::WRITE_OUTPUTS, json!({}));
    });
    let profile = tempfile::tempdir().unwrap();
    let blocker = server.queue(json!({
        "component": "acme.writer", "config": "cfg",
        "configData": {"parameters": {"sleep_ms": 600_000}}
    }));
    server.wait_for(&blocker, |j| j["status"] == "processing");
    let id = server.queue(json!({
        "component": "acme.writer", "config": "cfg", "configData": {"parameters": {}}
    }));
    // The page's title counts the jobs not finished; chromium's DevTools endpoint reports it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let debugging = format!("--remote-debugging-port={port}");
    let _browser = launch(
        &chromium,
        &profile,
        &[debugging.as_str()],
        &format!("{}/?token={}", server.url, server.token),
    );
    let client = reqwest::blocking::Client::new();
    let title = || -> Option<String> {
        let targets: Value = client
            .get(format!("http://127.0.0.1:{port}/json/list"))
            .send()
            .ok()?
            .json()
            .ok()?;
        targets.as_array()?.iter().find_map(|t| {
            (t["type"] == "page" && t["url"] == format!("{}/", server.url))
                .then(|| t["title"].as_str().map(str::to_owned))?
        })
    };
    let wait_for_title = |expected: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let seen = title();
            if seen.as_deref() == Some(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page's title stayed {seen:?}, not {expected:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for_title("berth jobs (2 active)");
    assert_eq!(
        server
            .post(&format!("/jobs/{blocker}/kill"), json!({}))
            .status(),
        202
    );
    // The same page, never reloaded, sees both jobs end.
    wait_for_title("berth jobs");
    assert_eq!(server.job(&id)["status"], "success");
}

#[test]
fn the_page_takes_the_token_as_an_http_only_cookie_and_never_shows_it() {
    let server = Server::start(1, |_| {});
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Without a token: the form, no jobs.
    let form = client.get(format!("{}/", server.url)).send().unwrap();
    assert_eq!(form.status(), 401);
    let csp = form.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let text = form.text().unwrap();
    assert!(text.contains("action=\"/ui/login\""), "{text}");
    // A wrong token sets nothing.
    let wrong = client
        .post(format!("{}/ui/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=1-nope")
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.text().unwrap().contains("That token is not known."));
    // The right one: an HttpOnly, SameSite=Strict cookie and a redirect to the jobs.
    let signed_in = client
        .post(format!("{}/ui/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", server.token))
        .send()
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/");
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        cookie,
        format!(
            "berth_token={}; Path=/; HttpOnly; SameSite=Strict",
            server.token
        )
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let page = client
        .get(format!("{}/", server.url))
        .header("cookie", &pair)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().unwrap();
    assert!(text.contains("<table id=\"jobs\">"), "{text}");
    assert!(!text.contains(&server.token));
    // The cookie is what the page's script uses for the API.
    let jobs = client
        .get(format!("{}/jobs", server.url))
        .header("cookie", &pair)
        .send()
        .unwrap();
    assert_eq!(jobs.status(), 200);
    assert_eq!(jobs.json::<Value>().unwrap(), json!([]));
    // `?token=` signs in and comes back to the same page without it.
    let link = client
        .get(format!("{}/ui/jobs/42?token={}", server.url, server.token))
        .send()
        .unwrap();
    assert_eq!(link.status(), 303);
    assert_eq!(link.headers()["location"], "/ui/jobs/42");
    // Forgetting the token clears the cookie.
    let out = client
        .post(format!("{}/ui/logout", server.url))
        .header("cookie", &pair)
        .send()
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}
