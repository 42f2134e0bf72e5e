//! A real server per test: a fresh berth home (its compiled cache shared by the binary), an
//! in-process `berth serve` on 127.0.0.1 with a free port, an admin token, and a blocking HTTP
//! client. Dropping the server shuts it down the way SIGTERM does.

use std::time::{Duration, Instant};

use berth_job::testing::Env;
use berth_server::{ServeOptions, TOKEN_HEADER, serve_until};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub(crate) struct Server {
    pub(crate) env: Env,
    pub(crate) url: String,
    pub(crate) token: String,
    client: Client,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// A server with `workers` workers on a new home prepared by `setup`.
    pub(crate) fn start(workers: usize, setup: impl FnOnce(&Env)) -> Self {
        // reqwest shares oci-client's rustls build, which brings no crypto provider of its own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let env = Env::new();
        setup(&env);
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let home = env.home.clone();
        let options = ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            workers,
            grace: Duration::from_secs(5),
            init_token: true,
            ..ServeOptions::default()
        };
        let thread = std::thread::spawn(move || {
            let ready = |started: &berth_server::Started| {
                ready_tx
                    .send((started.url.clone(), started.admin_token.clone().unwrap()))
                    .unwrap();
            };
            serve_until(&home, &options, ready, async {
                let _ = stopped.await;
            })
            .expect("the server runs");
        });
        let (url, token) = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server starts");
        Self {
            env,
            url,
            token,
            client: Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .header(TOKEN_HEADER, &self.token)
    }

    pub(crate) fn get(&self, path: &str) -> Response {
        self.request(reqwest::Method::GET, path).send().unwrap()
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> Response {
        self.request(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .unwrap()
    }

    /// The same request without a token.
    pub(crate) fn anonymous(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.url))
    }

    /// Creates a token with `body` (`POST /tokens`) and returns its secret.
    pub(crate) fn token(&self, body: Value) -> String {
        let response = self.post("/tokens", body);
        assert_eq!(response.status(), 201);
        response.json::<Value>().unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Queues a job (`POST /jobs`) and returns its id.
    pub(crate) fn queue(&self, body: Value) -> String {
        let response = self.post("/jobs", body);
        assert_eq!(response.status(), 201, "{:?}", response.text());
        response.json::<Value>().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) fn job(&self, id: &str) -> Value {
        let response = self.get(&format!("/jobs/{id}"));
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    /// Waits until job `id` is finished (at most two minutes) and returns it.
    #[track_caller]
    pub(crate) fn wait(&self, id: &str) -> Value {
        self.wait_for(id, |job| job["isFinished"] == json!(true))
    }

    /// Waits until job `id` satisfies `done` (at most two minutes) and returns it.
    #[track_caller]
    pub(crate) fn wait_for(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let job = self.job(id);
            if done(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} never got there: {job}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The messages of job `id`'s events.
    pub(crate) fn events(&self, id: &str) -> Vec<String> {
        let events: Vec<Value> = self.get(&format!("/jobs/{id}/events")).json().unwrap();
        events
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The error message of an error answer, after checking its status and JSON shape.
#[track_caller]
pub(crate) fn error_of(response: Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().unwrap();
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["code"], status, "{body}");
    body["error"].as_str().unwrap().to_owned()
}
