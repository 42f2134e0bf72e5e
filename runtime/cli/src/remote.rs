//! Client mode: with `--url` (or `BERTH_URL`) every command that has a route on `berth serve`
//! goes through that server, with `--token` (or `BERTH_TOKEN`) as `X-StorageApi-Token`, and
//! prints what the local command prints. Table import/export and file upload/download stream
//! their bodies. Commands without a route (image, exec, serve, info, key) run locally only and
//! refuse `--url`.
//!
//! Exit codes stay those of the local commands: the server refusing a request (4xx) is the
//! user's error (exit 1, the server's text); the server failing (5xx), or no server at the URL,
//! is an application error (exit 2). A job run remotely exits as the job ended (user error 1,
//! application error ≥ 2).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use reqwest::Method;
use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use serde_json::{Value, json};

use super::component::ComponentCommand;
use super::config::{ConfigCommand, RowCommand, UpdateArgs};
use super::file::FileCommand;
use super::job::JobCommand;
use super::oauth::OauthCommand;
use super::table::{TableCommand, print_json};
use super::token::TokenCommand;
use super::{Command, UserError};

/// The header carrying the token.
const TOKEN_HEADER: &str = "X-StorageApi-Token";
/// How often a followed job's log is polled.
const FOLLOW_EVERY: Duration = Duration::from_millis(300);

/// A berth server and the token to call it with.
#[derive(Debug)]
pub struct Remote {
    url: String,
    token: Option<String>,
    client: Client,
}

/// Which command a local-only command is, for the refusal.
fn local_only(command: &Command) -> Option<&'static str> {
    match command {
        Command::Exec(_) => Some("exec"),
        Command::Image(_) => Some("image"),
        Command::Serve(_) => Some("serve"),
        Command::Info(_) => Some("info"),
        Command::Key(_) => Some("key"),
        _ => None,
    }
}

fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Remote {
    /// A client of the server at `url`.
    pub fn new(url: &str, token: Option<String>) -> Result<Self> {
        let url = url.trim().trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(UserError::new(format!(
                "--url \"{url}\" is not an http:// or https:// URL."
            ))
            .into());
        }
        // reqwest shares oci-client's rustls build, which brings no crypto provider of its own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Streams (tables, files, a followed job) take as long as they take.
            .timeout(None)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            url,
            token: token.filter(|t| !t.is_empty()),
            client,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.url));
        match &self.token {
            Some(token) => request.header(TOKEN_HEADER, token),
            None => request,
        }
    }

    /// Sends `request`; a refusal or failure of the server becomes the CLI's error.
    fn send(&self, request: RequestBuilder) -> Result<Response> {
        self.answer(self.reach(request)?)
    }

    /// Sends `request`, whatever the server answers; only an unreachable server is an error.
    fn reach(&self, request: RequestBuilder) -> Result<Response> {
        request.send().map_err(|error| {
            anyhow!(
                "cannot reach the berth server at {}: {}",
                self.url,
                error_chain(&error)
            )
        })
    }

    /// The server's answer, or its refusal or failure as the CLI's error.
    fn answer(&self, response: Response) -> Result<Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| text.trim().to_owned());
        let message = format!("{message} (HTTP {} from {})", status.as_u16(), self.url);
        if status.is_client_error() {
            Err(UserError::new(message).into())
        } else {
            Err(anyhow!("the server failed: {message}"))
        }
    }

    fn json(&self, request: RequestBuilder) -> Result<Value> {
        self.send(request)?
            .json()
            .with_context(|| format!("reading the answer of the berth server at {}", self.url))
    }

    fn get(&self, path: &str) -> Result<Value> {
        self.json(self.request(Method::GET, path))
    }

    /// Runs `command` on the server.
    pub fn run(&self, command: Command) -> Result<ExitCode> {
        if let Some(name) = local_only(&command) {
            return Err(UserError::new(format!(
                "`berth {name}` runs locally only (the server has no route for it); run it \
                 without --url / BERTH_URL on the machine of the berth home."
            ))
            .into());
        }
        match command {
            Command::Table(cmd) => self.table(cmd),
            Command::File(cmd) => self.file(cmd),
            Command::Component(cmd) => self.component(cmd),
            Command::Config(cmd) => self.config(cmd),
            Command::Token(cmd) => self.token(cmd),
            Command::Job(cmd) => self.job(cmd),
            Command::Run(args) => self.run_job(args),
            Command::Action(args) => self.action(args),
            Command::Encrypt(args) => self.encrypt(args),
            Command::Oauth(cmd) => self.oauth(cmd),
            Command::Exec(_)
            | Command::Image(_)
            | Command::Serve(_)
            | Command::Info(_)
            | Command::Key(_) => unreachable!("refused above"),
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_source(source);
    }
    text
}

fn cause_source<'a>(
    error: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    error.and_then(|e| e.source())
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn list_of(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// A query string of `pairs` (`?a=b&c=d`, empty without pairs).
fn query(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Copies a streamed answer to `--output` or stdout.
fn write_out(mut response: Response, output: Option<&std::path::Path>) -> Result<()> {
    match output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .map_err(|e| UserError::new(format!("cannot create {}: {e}", path.display())))?;
            response
                .copy_to(&mut file)
                .with_context(|| format!("receiving {}", path.display()))?;
            file.sync_all()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            response.copy_to(&mut out).context("receiving the answer")?;
            out.flush()?;
        }
    }
    Ok(())
}

fn open_body(path: &std::path::Path, what: &str) -> Result<Body> {
    let file = std::fs::File::open(path)
        .map_err(|e| UserError::new(format!("Cannot read the {what} {}: {e}", path.display())))?;
    Ok(Body::from(file))
}

fn read_json_file(path: &std::path::Path, what: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UserError::new(format!("Cannot read the {what} {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        UserError::new(format!("{what} {} is not valid JSON: {e}", path.display())).into()
    })
}

impl Remote {
    fn table(&self, cmd: TableCommand) -> Result<ExitCode> {
        match cmd {
            TableCommand::Import(args) => {
                let mut pairs = vec![
                    ("delimiter", args.delimiter.clone()),
                    ("enclosure", args.enclosure.clone()),
                ];
                if args.incremental {
                    pairs.push(("incremental", "true".into()));
                }
                if !args.primary_key.is_empty() {
                    pairs.push(("primaryKey", args.primary_key.join(",")));
                }
                if !args.columns.is_empty() {
                    pairs.push(("columns", args.columns.join(",")));
                }
                if let Some(column) = &args.delete_where_column {
                    pairs.push(("deleteWhereColumn", column.clone()));
                    pairs.push(("deleteWhereOperator", args.delete_where_operator.clone()));
                }
                for value in &args.delete_where_values {
                    pairs.push(("deleteWhereValues", value.clone()));
                }
                let path = format!("/tables/{}/import{}", encode(&args.table), query(&pairs));
                let report = self.json(
                    self.request(Method::POST, &path)
                        .header("content-type", "text/csv")
                        .body(open_body(&args.file, "CSV file")?),
                )?;
                if args.json {
                    print_json(&report)?;
                } else {
                    println!(
                        "Imported {} rows into {} ({} rows in the table)",
                        report["rows_imported"],
                        str_of(&report, "table"),
                        report["rows"]
                    );
                }
            }
            TableCommand::Export(args) => {
                let mut pairs = vec![("whereOperator", args.where_operator.clone())];
                if !args.columns.is_empty() {
                    pairs.push(("columns", args.columns.join(",")));
                }
                if let Some(column) = &args.where_column {
                    pairs.push(("whereColumn", column.clone()));
                }
                for value in &args.where_values {
                    pairs.push(("whereValues", value.clone()));
                }
                if let Some(limit) = args.limit {
                    pairs.push(("limit", limit.to_string()));
                }
                if let Some(since) = &args.changed_since {
                    pairs.push(("changedSince", since.clone()));
                }
                let path = format!("/tables/{}/export{}", encode(&args.table), query(&pairs));
                let response = self.send(self.request(Method::GET, &path))?;
                write_out(response, args.output.as_deref())?;
            }
            TableCommand::Ls(args) => {
                let tables = self.get("/tables")?;
                if args.json {
                    print_json(&tables)?;
                } else {
                    let mut out = std::io::stdout().lock();
                    for t in array(tables) {
                        writeln!(
                            out,
                            "{}\t{} rows\t{}\tprimary key: {}",
                            str_of(&t, "id"),
                            t["rows"],
                            list_of(&t, "columns"),
                            list_of(&t, "primary_key")
                        )?;
                    }
                }
            }
            TableCommand::Show(args) => {
                let info = self.get(&format!("/tables/{}", encode(&args.table)))?;
                if args.json {
                    print_json(&info)?;
                } else {
                    let mut out = std::io::stdout().lock();
                    let join = |key: &str| list_of(&info, key).replace(',', ", ");
                    writeln!(out, "id:               {}", str_of(&info, "id"))?;
                    writeln!(out, "columns:          {}", join("columns"))?;
                    writeln!(out, "primary key:      {}", join("primary_key"))?;
                    writeln!(out, "rows:             {}", info["rows"])?;
                    writeln!(out, "created:          {}", str_of(&info, "created"))?;
                    writeln!(
                        out,
                        "last import date: {}",
                        str_of(&info, "last_import_date")
                    )?;
                    writeln!(
                        out,
                        "last change date: {}",
                        str_of(&info, "last_change_date")
                    )?;
                    for m in info["metadata"].as_array().into_iter().flatten() {
                        writeln!(
                            out,
                            "metadata:         [{}] {} = {}",
                            str_of(m, "provider"),
                            str_of(m, "key"),
                            str_of(m, "value")
                        )?;
                    }
                }
            }
            TableCommand::Rm(args) => {
                self.send(
                    self.request(Method::DELETE, &format!("/tables/{}", encode(&args.table))),
                )?;
                println!("Removed table {}", args.table);
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn file(&self, cmd: FileCommand) -> Result<ExitCode> {
        match cmd {
            FileCommand::Upload(args) => {
                let name = match &args.name {
                    Some(name) => name.clone(),
                    None => args
                        .path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                };
                let mut pairs = vec![("name", name)];
                for tag in &args.tags {
                    pairs.push(("tag", tag.clone()));
                }
                if args.public {
                    pairs.push(("public", "true".into()));
                }
                if args.permanent {
                    pairs.push(("permanent", "true".into()));
                }
                let file = self.json(
                    self.request(Method::POST, &format!("/files{}", query(&pairs)))
                        .header("content-type", "application/octet-stream")
                        .body(open_body(&args.path, "file")?),
                )?;
                if args.json {
                    print_json(&file)?;
                } else {
                    println!("{}", file["id"]);
                }
            }
            FileCommand::Ls(args) => {
                let mut pairs: Vec<(&str, String)> =
                    args.tags.iter().map(|t| ("tag", t.clone())).collect();
                if let Some(q) = &args.query {
                    pairs.push(("query", q.clone()));
                }
                if let Some(limit) = args.limit {
                    pairs.push(("limit", limit.to_string()));
                }
                let files = self.get(&format!("/files{}", query(&pairs)))?;
                if args.json {
                    print_json(&files)?;
                } else {
                    let mut out = std::io::stdout().lock();
                    for f in array(files) {
                        writeln!(
                            out,
                            "{}\t{}\t{} bytes\t{}",
                            f["id"],
                            str_of(&f, "name"),
                            f["size_bytes"],
                            list_of(&f, "tags")
                        )?;
                    }
                }
            }
            FileCommand::Download(args) => {
                let path = format!("/files/{}/download", encode(&args.id));
                let response = self.send(self.request(Method::GET, &path))?;
                write_out(response, args.output.as_deref())?;
            }
            FileCommand::Tag(args) => {
                let file = self.json(
                    self.request(Method::POST, &format!("/files/{}/tags", encode(&args.id)))
                        .json(&json!({"tags": args.tags})),
                )?;
                if args.json {
                    print_json(&file)?;
                } else {
                    println!("{}", list_of(&file, "tags"));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn component(&self, cmd: ComponentCommand) -> Result<ExitCode> {
        match cmd {
            ComponentCommand::Add(args) => {
                // `add` registers or replaces, as locally: the server's POST refuses an
                // existing id (409), so that case is a PUT.
                let definition = read_json_file(&args.file, "component definition")?;
                let id = str_of(&definition, "id").to_owned();
                let created =
                    self.reach(self.request(Method::POST, "/components").json(&definition))?;
                let verb = if created.status() == reqwest::StatusCode::CONFLICT && !id.is_empty() {
                    let path = format!("/components/{}", encode(&id));
                    self.send(self.request(Method::PUT, &path).json(&definition))?;
                    "Updated"
                } else {
                    self.answer(created)?;
                    "Added"
                };
                println!("{verb} component {id}");
            }
            ComponentCommand::Update(args) => {
                let definition = read_json_file(&args.file, "component definition")?;
                let id = str_of(&definition, "id").to_owned();
                let path = format!("/components/{}", encode(&id));
                self.send(self.request(Method::PUT, &path).json(&definition))?;
                println!("Updated component {id}");
            }
            ComponentCommand::Rm(args) => {
                let path = format!("/components/{}?force={}", encode(&args.id), args.force);
                let answer = self.json(self.request(Method::DELETE, &path))?;
                let removed = answer["removedConfigurations"].as_u64().unwrap_or(0);
                if removed > 0 {
                    println!(
                        "Removed component {} and its {removed} configuration(s)",
                        args.id
                    );
                } else {
                    println!("Removed component {}", args.id);
                }
            }
            ComponentCommand::Ls(args) => {
                let components = self.get("/components")?;
                if args.json {
                    print_json(&components)?;
                } else {
                    let mut out = std::io::stdout().lock();
                    for c in array(components) {
                        writeln!(
                            out,
                            "{}\t{}\t{}",
                            str_of(&c, "id"),
                            str_of(&c, "image"),
                            str_of(&c, "name")
                        )?;
                    }
                }
            }
            ComponentCommand::Show(args) => {
                print_json(&self.get(&format!("/components/{}", encode(&args.id)))?)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn configs_path(component: &str) -> String {
        format!("/v2/storage/components/{}/configs", encode(component))
    }

    fn config(&self, cmd: ConfigCommand) -> Result<ExitCode> {
        match cmd {
            ConfigCommand::Create(args) => {
                let configuration = read_json_file(&args.file, "configuration")?;
                let mut body = json!({"name": args.name, "configuration": configuration});
                if let Some(id) = &args.id {
                    body["configurationId"] = json!(id);
                }
                let created = self.json(
                    self.request(Method::POST, &Self::configs_path(&args.component))
                        .json(&body),
                )?;
                if args.json {
                    print_json(&json!({"id": created["id"]}))?;
                } else {
                    println!("{}", str_of(&created, "id"));
                }
            }
            ConfigCommand::Update(args) => {
                if args.is_empty() {
                    return Err(UserError::new(UpdateArgs::NOTHING_TO_CHANGE).into());
                }
                let mut body = json!({});
                if let Some(path) = &args.file {
                    body["configuration"] = read_json_file(path, "configuration")?;
                }
                if let Some(name) = &args.name {
                    body["name"] = json!(name);
                }
                if let Some(description) = &args.description {
                    body["description"] = json!(description);
                }
                if let Some(disabled) = args.disabled {
                    body["isDisabled"] = json!(disabled);
                }
                let path = format!(
                    "{}/{}",
                    Self::configs_path(&args.component),
                    encode(&args.config)
                );
                let config = self.json(self.request(Method::PUT, &path).json(&body))?;
                if args.json {
                    print_json(&json!({"id": config["id"], "version": config["version"]}))?;
                    return Ok(ExitCode::SUCCESS);
                }
                println!(
                    "Updated configuration {}/{} (version {})",
                    args.component,
                    str_of(&config, "id"),
                    config["version"]
                );
            }
            ConfigCommand::Rm(args) => {
                let path = format!(
                    "{}/{}",
                    Self::configs_path(&args.component),
                    encode(&args.config)
                );
                self.send(self.request(Method::DELETE, &path))?;
                println!("Removed configuration {}/{}", args.component, args.config);
            }
            ConfigCommand::Ls(args) => {
                let configs = self.get(&Self::configs_path(&args.component))?;
                if args.json {
                    print_json(&configs)?;
                } else {
                    let mut out = std::io::stdout().lock();
                    for c in array(configs) {
                        let rows = c["rows"].as_array().map_or(0, Vec::len);
                        writeln!(
                            out,
                            "{}\t{}\t{rows} rows",
                            str_of(&c, "id"),
                            str_of(&c, "name")
                        )?;
                    }
                }
            }
            ConfigCommand::Show(args) => {
                let path = format!(
                    "{}/{}",
                    Self::configs_path(&args.component),
                    encode(&args.config)
                );
                print_json(&self.get(&path)?)?;
            }
            ConfigCommand::State(args) if args.set.is_some() => {
                let file = args.set.as_ref().expect("matched");
                let state = read_json_file(file, "state")?;
                let config_path = format!(
                    "{}/{}",
                    Self::configs_path(&args.component),
                    encode(&args.config)
                );
                let (component, config) = (&args.component, &args.config);
                match &args.row {
                    Some(row) => {
                        let path = format!("{config_path}/rows/{}", encode(row));
                        self.send(
                            self.request(Method::PUT, &path)
                                .json(&json!({ "state": state })),
                        )?;
                        println!("Stored the state of row {component}/{config}/{row}");
                    }
                    None => {
                        let path = format!("{config_path}/state");
                        self.send(
                            self.request(Method::PUT, &path)
                                .json(&json!({ "state": state })),
                        )?;
                        println!("Stored the state of configuration {component}/{config}");
                    }
                }
            }
            ConfigCommand::Row(cmd) => self.config_row(cmd)?,
            ConfigCommand::State(args) => {
                let path = format!(
                    "{}/{}",
                    Self::configs_path(&args.component),
                    encode(&args.config)
                );
                let config = self.get(&path)?;
                let state = match &args.row {
                    None => config.get("state").cloned(),
                    Some(row) => {
                        let found = config["rows"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|r| str_of(r, "id") == row);
                        let Some(found) = found else {
                            return Err(UserError::new(format!(
                                "Row \"{row}\" of configuration {}/{} was not found.",
                                args.component, args.config
                            ))
                            .into());
                        };
                        found.get("state").cloned()
                    }
                };
                print_json(&state.unwrap_or_else(|| json!({})))?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn config_row(&self, cmd: RowCommand) -> Result<()> {
        let rows_path = |component: &str, config: &str| {
            format!("{}/{}/rows", Self::configs_path(component), encode(config))
        };
        match cmd {
            RowCommand::Add(args) => {
                let configuration = read_json_file(&args.file, "row configuration")?;
                let mut body = json!({
                    "name": args.name,
                    "description": args.description,
                    "configuration": configuration,
                    "isDisabled": args.disabled,
                });
                if let Some(id) = &args.id {
                    body["rowId"] = json!(id);
                }
                let path = rows_path(&args.component, &args.config);
                let row = self.json(self.request(Method::POST, &path).json(&body))?;
                println!("{}", str_of(&row, "id"));
            }
            RowCommand::Update(args) => {
                let mut body = json!({});
                if let Some(file) = &args.file {
                    body["configuration"] = read_json_file(file, "row configuration")?;
                }
                if let Some(name) = &args.name {
                    body["name"] = json!(name);
                }
                if let Some(description) = &args.description {
                    body["description"] = json!(description);
                }
                if let Some(disabled) = args.disabled {
                    body["isDisabled"] = json!(disabled);
                }
                let path = format!(
                    "{}/{}",
                    rows_path(&args.component, &args.config),
                    encode(&args.row)
                );
                let row = self.json(self.request(Method::PUT, &path).json(&body))?;
                let disabled = row["isDisabled"].as_bool().unwrap_or(false);
                println!(
                    "Updated row {}/{}/{}{}",
                    args.component,
                    args.config,
                    args.row,
                    if disabled { " (disabled)" } else { "" }
                );
            }
            RowCommand::Rm(args) => {
                let path = format!(
                    "{}/{}",
                    rows_path(&args.component, &args.config),
                    encode(&args.row)
                );
                self.send(self.request(Method::DELETE, &path))?;
                println!(
                    "Removed row {}/{}/{}",
                    args.component, args.config, args.row
                );
            }
        }
        Ok(())
    }

    fn oauth(&self, cmd: OauthCommand) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        match cmd {
            OauthCommand::Add {
                component,
                file,
                id,
            } => {
                let credentials = super::run::read_config_data(&file)?;
                let mut path = format!("/oauth/credentials/{}", encode(&component));
                if let Some(id) = &id {
                    path.push_str(&format!("?id={}", encode(id)));
                }
                let answer = self.json(self.request(Method::POST, &path).json(&credentials))?;
                writeln!(out, "{}", str_of(&answer, "id"))?;
            }
            OauthCommand::Ls { component, json } => {
                let path = match &component {
                    Some(component) => format!("/oauth/credentials/{}", encode(component)),
                    None => "/oauth/credentials".to_owned(),
                };
                let entries = self.get(&path)?;
                if json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&entries)?)?;
                } else {
                    writeln!(out, "{:<40} ID", "COMPONENT")?;
                    for e in array(entries) {
                        writeln!(out, "{:<40} {}", str_of(&e, "component"), str_of(&e, "id"))?;
                    }
                }
            }
            OauthCommand::Rm { component, id } => {
                let path = format!("/oauth/credentials/{}/{}", encode(&component), encode(&id));
                self.send(self.request(Method::DELETE, &path))?;
                writeln!(out, "removed OAuth credentials {id} of {component}")?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn token(&self, cmd: TokenCommand) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        match cmd {
            TokenCommand::Create {
                description,
                read_only,
                component_access,
                admin,
                expires_in,
                json,
            } => {
                let expires_in = expires_in
                    .as_deref()
                    .map(super::token::parse_duration)
                    .transpose()?
                    .map(|d| d.whole_seconds().max(0));
                let token = self.json(self.request(Method::POST, "/tokens").json(&json!({
                    "description": description,
                    "readOnly": read_only,
                    "componentAccess": component_access,
                    "admin": admin,
                    "expiresIn": expires_in,
                })))?;
                if json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&token)?)?;
                } else {
                    writeln!(
                        out,
                        "token {} created; its secret (shown once):",
                        str_of(&token, "id")
                    )?;
                    writeln!(out, "{}", str_of(&token, "secret"))?;
                }
            }
            TokenCommand::Ls { json } => {
                let tokens = self.get("/tokens")?;
                if json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&tokens)?)?;
                } else {
                    writeln!(
                        out,
                        "{:<6} {:<8} {:<32} {:<24} STATE",
                        "ID", "KIND", "DESCRIPTION", "COMPONENTS"
                    )?;
                    let now = time::OffsetDateTime::now_utc();
                    for t in array(tokens) {
                        let kind = if t["admin"] == true {
                            "admin"
                        } else if t["read_only"] == true {
                            "read"
                        } else {
                            "write"
                        };
                        let components = match &t["component_access"] {
                            Value::Array(_) => list_of(&t, "component_access"),
                            _ => "all".to_owned(),
                        };
                        let expired = t["expires"]
                            .as_str()
                            .and_then(|e| {
                                time::OffsetDateTime::parse(
                                    e,
                                    &time::format_description::well_known::Rfc3339,
                                )
                                .ok()
                            })
                            .is_some_and(|e| e <= now);
                        let state = if !t["revoked"].is_null() {
                            "revoked"
                        } else if expired {
                            "expired"
                        } else {
                            "valid"
                        };
                        writeln!(
                            out,
                            "{:<6} {:<8} {:<32} {:<24} {state}",
                            str_of(&t, "id"),
                            kind,
                            str_of(&t, "description"),
                            components
                        )?;
                    }
                }
            }
            TokenCommand::Revoke { id } => {
                self.send(self.request(Method::DELETE, &format!("/tokens/{}", encode(&id))))?;
                writeln!(out, "token {id} revoked")?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn job(&self, cmd: JobCommand) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        match cmd {
            JobCommand::Ls { json } => {
                let mut jobs = Vec::new();
                // The server lists newest first, a page at a time; the CLI prints oldest first.
                loop {
                    let page = array(self.get(&format!("/jobs?limit=500&offset={}", jobs.len()))?);
                    let done = page.len() < 500;
                    jobs.extend(page);
                    if done {
                        break;
                    }
                }
                jobs.reverse();
                if json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&jobs)?)?;
                    return Ok(ExitCode::SUCCESS);
                }
                writeln!(
                    out,
                    "{:<20} {:<28} {:<12} {:<10} {:<20} {:>9} {:>4}  MESSAGE",
                    "ID", "COMPONENT", "CONFIG", "STATUS", "CREATED", "SECONDS", "EXIT"
                )?;
                for j in jobs {
                    let created = str_of(&j, "createdTime");
                    writeln!(
                        out,
                        "{:<20} {:<28} {:<12} {:<10} {:<20} {:>9} {:>4}  {}",
                        str_of(&j, "id"),
                        str_of(&j, "component"),
                        j["config"].as_str().unwrap_or("-"),
                        str_of(&j, "status"),
                        created.get(..19).unwrap_or(created),
                        j["durationSeconds"]
                            .as_f64()
                            .map(|s| format!("{s:.1}"))
                            .unwrap_or_else(|| "-".into()),
                        j["result"]["exitCode"]
                            .as_i64()
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "-".into()),
                        str_of(&j["result"], "message").lines().next().unwrap_or("")
                    )?;
                }
            }
            JobCommand::Show { job_id, json } => {
                let job = self.get(&format!("/jobs/{}", encode(&job_id)))?;
                if json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&job)?)?;
                    return Ok(ExitCode::SUCCESS);
                }
                let or_dash = |v: &Value| v.as_str().unwrap_or("-").to_owned();
                writeln!(out, "id:            {}", str_of(&job, "id"))?;
                writeln!(out, "run id:        {}", str_of(&job, "runId"))?;
                writeln!(out, "component:     {}", str_of(&job, "component"))?;
                writeln!(out, "configuration: {}", or_dash(&job["config"]))?;
                if let Some(rows) = job["configRowIds"].as_array().filter(|r| !r.is_empty()) {
                    writeln!(out, "row:           {}", or_dash(&rows[0]))?;
                }
                writeln!(out, "status:        {}", str_of(&job, "status"))?;
                if let Some(mode) = job["mode"].as_str().filter(|m| *m != "run") {
                    writeln!(out, "mode:          {mode}")?;
                }
                writeln!(out, "created:       {}", or_dash(&job["createdTime"]))?;
                writeln!(out, "started:       {}", or_dash(&job["startTime"]))?;
                writeln!(out, "finished:      {}", or_dash(&job["endTime"]))?;
                if let Some(seconds) = job["durationSeconds"].as_f64() {
                    writeln!(out, "duration:      {seconds:.3} s")?;
                }
                writeln!(out, "message:       {}", str_of(&job["result"], "message"))?;
                if let Some(code) = job["result"]["exitCode"].as_i64() {
                    writeln!(out, "exit code:     {code}")?;
                }
            }
            JobCommand::Logs {
                job_id,
                follow,
                json,
            } => {
                drop(out);
                self.follow(&job_id, follow, json)?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Prints the events of `job_id` after `since` as `berth job logs` does; returns the last
    /// sequence number printed.
    fn print_events(&self, job_id: &str, since: u64, json: bool) -> Result<u64> {
        let events = array(self.get(&format!("/jobs/{}/events?since={since}", encode(job_id)))?);
        let mut out = std::io::stdout().lock();
        let mut last = since;
        for event in events {
            if json {
                writeln!(out, "{}", serde_json::to_string(&event)?)?;
            } else {
                let time = str_of(&event, "time");
                writeln!(
                    out,
                    "{} {:<5} {}",
                    time.get(..19).unwrap_or(time),
                    str_of(&event, "level"),
                    str_of(&event, "message")
                )?;
            }
            last = last.max(event["seq"].as_u64().unwrap_or(last));
        }
        out.flush()?;
        Ok(last)
    }

    /// Prints job `job_id`'s log (until it ends, with `follow`) and returns the job.
    fn follow(&self, job_id: &str, follow: bool, json: bool) -> Result<Value> {
        let mut since = 0;
        loop {
            let job = self.get(&format!("/jobs/{}", encode(job_id)))?;
            since = self.print_events(job_id, since, json)?;
            if !follow || job["isFinished"] == true {
                // One more read: events written between the two reads.
                self.print_events(job_id, since, json)?;
                return Ok(job);
            }
            std::thread::sleep(FOLLOW_EVERY);
        }
    }

    fn run_job(&self, args: super::run::RunArgs) -> Result<ExitCode> {
        if args.keep_data {
            return Err(UserError::new(
                "--keep-data keeps the data folder on the server's machine; it is not available \
                 with --url.",
            )
            .into());
        }
        let mut body = json!({"component": args.component_id});
        match (&args.source.config, &args.source.config_data) {
            (None, None) => return Err(UserError::new("Specify --config or --config-data.").into()),
            (config, data) => {
                // Both together: the document runs under the configuration's id and state.
                if let Some(id) = config {
                    body["config"] = json!(id);
                }
                if let Some(path) = data {
                    body["configData"] = super::run::read_config_data(path)?;
                }
            }
        }
        if let Some(values) = super::run::variable_values_data(&args.variables)? {
            body["variableValuesData"] = values;
        }
        if let Some(id) = &args.variable_values_id {
            body["variableValuesId"] = json!(id);
        }
        if let Some(row) = &args.row {
            body["configRowIds"] = json!([row]);
        }
        if let Some(tag) = &args.tag {
            body["tag"] = json!(tag);
        }
        if args.debug {
            body["mode"] = json!("debug");
        }
        if args.force {
            body["mode"] = json!("forceRun");
        }
        let job = self.json(self.request(Method::POST, "/jobs").json(&body))?;
        let id = str_of(&job, "id").to_owned();
        eprintln!("berth: job {id} queued on {}", self.url);
        let job = if args.json {
            loop {
                let job = self.get(&format!("/jobs/{}", encode(&id)))?;
                if job["isFinished"] == true {
                    print_json(&job)?;
                    break job;
                }
                std::thread::sleep(FOLLOW_EVERY);
            }
        } else {
            self.follow(&id, true, false)?
        };
        let status = str_of(&job, "status");
        let message = str_of(&job["result"], "message");
        if status == "success" {
            eprintln!("berth: job {id} succeeded: {message}");
            return Ok(ExitCode::SUCCESS);
        }
        let code = match job["result"]["exitCode"].as_i64() {
            Some(code @ 1..=255) => code as u8,
            _ if job["result"]["error"]["type"] == "user" => 1,
            _ => 2,
        };
        let _ = writeln!(
            super::terminal_stderr(),
            "berth: job {id} {status}: {message}"
        );
        Ok(ExitCode::from(code))
    }

    fn action(&self, args: super::action::ActionArgs) -> Result<ExitCode> {
        let body = match (&args.source.config, &args.source.config_data) {
            (_, Some(path)) => json!({"configData": super::run::read_config_data(path)?}),
            (Some(id), None) => json!({"config": id}),
            (None, None) => return Err(UserError::new("Specify --config or --config-data.").into()),
        };
        let path = format!(
            "/{}/action/{}",
            encode(&args.component_id),
            encode(&args.action)
        );
        let answer = self.json(self.request(Method::POST, &path).json(&body))?;
        writeln!(std::io::stdout().lock(), "{answer}")?;
        Ok(ExitCode::SUCCESS)
    }

    fn encrypt(&self, args: super::secrets::EncryptArgs) -> Result<ExitCode> {
        let mut pairs = Vec::new();
        if !args.project_wide
            && let Some(component) = &args.component
        {
            pairs.push(("componentId", component.clone()));
        }
        if !args.component_only {
            // The project the server's home is (Keboola's verify answers it as `owner.id`).
            let verified = self.get("/v2/storage/tokens/verify")?;
            let project = verified["owner"]["id"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| verified["owner"]["id"].as_u64().map(|n| n.to_string()))
                .ok_or_else(|| anyhow!("the server did not say which project it is (owner.id)"))?;
            pairs.push(("projectId", project));
        }
        if let Some(config) = &args.config {
            pairs.push(("configId", config.clone()));
        }
        if let Some(branch) = &args.branch_type {
            pairs.push(("branchType", branch.clone()));
        }
        let path = format!("/encrypt{}", query(&pairs));
        let mut out = std::io::stdout().lock();
        match (&args.json, &args.text) {
            (Some(path_in), _) => {
                let document = super::run::read_config_data(path_in)?;
                let value = self.json(self.request(Method::POST, &path).json(&document))?;
                writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
            }
            (None, Some(text)) => {
                let cipher = self
                    .send(
                        self.request(Method::POST, &path)
                            .header("content-type", "text/plain")
                            .body(text.clone()),
                    )?
                    .text()
                    .context("reading the cipher")?;
                writeln!(out, "{cipher}")?;
            }
            (None, None) => return Err(UserError::new("Specify TEXT or --json FILE.").into()),
        }
        Ok(ExitCode::SUCCESS)
    }
}
