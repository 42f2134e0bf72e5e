//! Running a component: load the [`Context`], dispatch on the action, map the outcome to the exit
//! code of the contract.
//!
//! - action `run`: the run handler does the work (reads `in/`, writes `out/`);
//! - any other action: the synchronous action handler registered under that name returns a value,
//!   printed as exactly one JSON document on stdout (`null` prints `{"status":"success"}`);
//!   an unknown action is the user error `Action "x" is not supported.`;
//! - `Ok` exits 0; [`Error::User`] prints its message on stderr and exits 1; any other error
//!   prints its message on stderr and exits 2.

use std::io::Write;
use std::process::ExitCode;

use berth_host_api::ExitClass;
use berth_host_api::config::DEFAULT_ACTION;
use serde::Serialize;
use serde_json::Value;

use crate::{Context, Error, Result};

type ActionFn = Box<dyn Fn(&Context) -> Result<Value>>;

/// A component: a run handler plus named synchronous actions.
///
/// ```no_run
/// use berth_guest_sdk::{Component, Context, Result};
/// use std::process::ExitCode;
///
/// fn main() -> ExitCode {
///     Component::new()
///         .action("info", |_ctx: &Context| Ok(serde_json::json!({"status": "success"})))
///         .run(|_ctx: &mut Context| -> Result<()> { Ok(()) })
/// }
/// ```
#[derive(Default)]
pub struct Component {
    actions: Vec<(String, ActionFn)>,
}

impl Component {
    /// A component with no synchronous actions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the synchronous action `name` (`run` is reserved for the run handler).
    pub fn action<F, T>(mut self, name: &str, handler: F) -> Self
    where
        F: Fn(&Context) -> Result<T> + 'static,
        T: Serialize,
    {
        let boxed: ActionFn = Box::new(move |ctx| {
            let value = handler(ctx)?;
            serde_json::to_value(value).map_err(|e| {
                Error::application(format!("Cannot serialise the action's answer: {e}"))
            })
        });
        self.actions.push((name.to_owned(), boxed));
        self
    }

    /// Loads the context from the environment, dispatches, reports and returns the exit code.
    pub fn run<F>(self, handler: F) -> ExitCode
    where
        F: FnOnce(&mut Context) -> Result<()>,
    {
        let result = Context::from_env().and_then(|mut ctx| {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            self.execute(&mut ctx, handler, &mut lock)
        });
        report(result)
    }

    /// Dispatches on `ctx.action()`; an action's JSON answer goes to `stdout`.
    pub fn execute<F>(self, ctx: &mut Context, handler: F, stdout: &mut dyn Write) -> Result<()>
    where
        F: FnOnce(&mut Context) -> Result<()>,
    {
        let action = ctx.action().to_owned();
        if action == DEFAULT_ACTION {
            return handler(ctx);
        }
        let Some((_, action_fn)) = self.actions.iter().find(|(name, _)| *name == action) else {
            return Err(Error::User(format!(
                "Action \"{action}\" is not supported."
            )));
        };
        let value = match action_fn(ctx)? {
            Value::Null => serde_json::json!({"status": "success"}),
            other => other,
        };
        let io = |e| Error::Io {
            context: "Cannot write the action's answer to stdout".to_owned(),
            source: e,
        };
        serde_json::to_writer(&mut *stdout, &value).map_err(|e| io(e.into()))?;
        stdout.write_all(b"\n").map_err(io)?;
        stdout.flush().map_err(io)
    }
}

/// Runs `handler` for action `run` (no synchronous actions): the whole `main` of a simple
/// component is `berth_guest_sdk::run(|ctx| { ... })`.
pub fn run<F>(handler: F) -> ExitCode
where
    F: FnOnce(&mut Context) -> Result<()>,
{
    Component::new().run(handler)
}

/// Prints an error's message on stderr and turns the outcome into the exit code of the contract.
pub fn report(result: Result<()>) -> ExitCode {
    let class = match result {
        Ok(()) => ExitClass::Success,
        Err(e) => {
            eprintln!("{e}");
            e.exit_class()
        }
    };
    exit_code(class)
}

/// The process exit code of an [`ExitClass`]: 0, 1 or 2.
pub fn exit_code(class: ExitClass) -> ExitCode {
    ExitCode::from(u8::try_from(class.code()).unwrap_or(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_host_api::{ConfigFile, DataDir};

    fn ctx(action: &str) -> Context {
        let json = format!(r#"{{"action":"{action}"}}"#);
        Context::new(
            DataDir::new("/x"),
            ConfigFile::from_json_lenient(&json).unwrap(),
        )
    }

    fn component() -> Component {
        Component::new()
            .action("info", |_: &Context| {
                Ok(serde_json::json!({"multiplier": 2}))
            })
            .action("nothing", |_: &Context| Ok(()))
            .action("fail", |_: &Context| -> Result<()> {
                Err(Error::user("bad"))
            })
    }

    fn execute(action: &str) -> (Result<()>, String, bool) {
        let mut out = Vec::new();
        let mut ran = false;
        let r = component().execute(
            &mut ctx(action),
            |_| {
                ran = true;
                Ok(())
            },
            &mut out,
        );
        (r, String::from_utf8(out).unwrap(), ran)
    }

    #[test]
    fn dispatch() {
        let (r, out, ran) = execute("run");
        assert!(r.is_ok() && out.is_empty() && ran);
        let (r, out, ran) = execute("info");
        assert!(r.is_ok() && !ran);
        assert_eq!(out, "{\"multiplier\":2}\n");
        let (_, out, _) = execute("nothing");
        assert_eq!(out, "{\"status\":\"success\"}\n");
        let (r, out, _) = execute("fail");
        assert!(r.unwrap_err().is_user() && out.is_empty());
        let (r, _, _) = execute("x");
        assert_eq!(r.unwrap_err().to_string(), "Action \"x\" is not supported.");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(report(Ok(())), ExitCode::from(0));
        assert_eq!(report(Err(Error::user("u"))), ExitCode::from(1));
        assert_eq!(report(Err(Error::application("a"))), ExitCode::from(2));
    }
}
