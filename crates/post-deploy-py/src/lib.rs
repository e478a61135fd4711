//! post_deploy: the post-deploy engine as a Python extension module, for a Python host.
//!
//! `post_deploy.Monitor(env=None, state_dir=None)` arms, ticks, disarms and lists windows with
//! the binary's configuration, adapters, state folder and files, and answers with the binary's
//! JSON as plain dicts and lists. This file converts to and from Python values and nothing
//! else: the variables and arguments are read under the GIL, the call runs with the GIL
//! released (a tick probes, reads logs and may roll back), and the answer comes back as
//! dicts. What a call does is `host.rs`.
//!
//! Calls never raise: every fault comes back in the answer as `error: {kind, message}`. Only
//! an argument of the wrong Python type raises `TypeError`, as PyO3 checks it.

mod host;

use std::path::PathBuf;

use post_deploy_core::config::PREFIX;
use pyo3::IntoPyObjectExt as _;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping, PyString};
use serde_json::Value;

/// Arms, ticks, disarms and lists observation windows, as the `post-deploy` binary does.
#[allow(
    unsafe_code,
    reason = "PyO3's macros expand to unsafe code; none is written here"
)]
#[pyclass(frozen, module = "post_deploy")]
struct Monitor {
    /// The host's variables; `None`: `os.environ`, read at every call.
    env: Option<Py<PyMapping>>,
    /// Overrides `ORCH_POST_DEPLOY_STATE_DIR`, like the binary's `--state-dir`.
    state_dir: Option<PathBuf>,
}

#[allow(
    unsafe_code,
    reason = "PyO3's macros expand to unsafe code; none is written here"
)]
#[pymethods]
impl Monitor {
    #[new]
    #[pyo3(signature = (env=None, state_dir=None))]
    fn new(env: Option<Bound<'_, PyMapping>>, state_dir: Option<PathBuf>) -> Self {
        Self {
            env: env.map(Bound::unbind),
            state_dir,
        }
    }

    #[pyo3(signature = (
        repo, work_item, health_url, container=None, service=None, previous_image=None,
        artefacts_dir=None
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "the contract's keyword arguments"
    )]
    fn arm<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyString>,
        work_item: &Bound<'py, PyString>,
        health_url: &Bound<'py, PyString>,
        container: Option<&Bound<'py, PyString>>,
        service: Option<&Bound<'py, PyString>>,
        previous_image: Option<&Bound<'py, PyString>>,
        artefacts_dir: Option<PathBuf>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let env = self.env(py);
        let args = host::Arm {
            repo: text(repo),
            work_item: text(work_item),
            health_url: text(health_url),
            container: container.map(text),
            service: service.map(text),
            previous_image: previous_image.map(text),
            artefacts_dir,
        };
        let answer = py.detach(move || host::arm(env, args));
        to_python(py, &answer)
    }

    fn tick<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyString>,
        work_item: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (env, repo, work_item) = (self.env(py), text(repo), text(work_item));
        let answer = py.detach(move || host::tick(env, repo, work_item));
        to_python(py, &answer)
    }

    fn disarm<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyString>,
        work_item: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (env, repo, work_item) = (self.env(py), text(repo), text(work_item));
        let answer = py.detach(move || host::disarm(env, repo, work_item));
        to_python(py, &answer)
    }

    #[pyo3(signature = (repo=None, work_item=None))]
    fn status<'py>(
        &self,
        py: Python<'py>,
        repo: Option<&Bound<'py, PyString>>,
        work_item: Option<&Bound<'py, PyString>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (env, repo, work_item) = (self.env(py), repo.map(text), work_item.map(text));
        let answer = py.detach(move || host::status(env, repo, work_item));
        to_python(py, &answer)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let env = match &self.env {
            Some(env) => env
                .bind(py)
                .repr()
                .map_or_else(|_| "<mapping>".to_owned(), |r| text(&r)),
            None => "None".to_owned(),
        };
        let state_dir = self
            .state_dir
            .as_ref()
            .map_or_else(|| "None".to_owned(), |d| format!("{:?}", d.display()));
        format!("Monitor(env={env}, state_dir={state_dir})")
    }
}

impl Monitor {
    /// The variables as they are now (the mapping given, or `os.environ`) and the state folder.
    fn env(&self, py: Python<'_>) -> host::Env {
        let vars = match &self.env {
            Some(env) => read_vars(env.bind(py)),
            None => py
                .import("os")
                .and_then(|os| os.getattr("environ"))
                .map_err(|e| format!("reading os.environ: {e}"))
                .and_then(|environ| {
                    let environ = environ
                        .cast_into::<PyMapping>()
                        .map_err(|e| format!("reading os.environ: {e}"))?;
                    read_vars(&environ)
                }),
        };
        host::Env {
            vars,
            state_dir: self.state_dir.clone(),
        }
    }
}

/// The `ORCH_POST_DEPLOY_*` items of `env`. A name that is not a `str` is skipped; a value
/// that is not a `str` is refused, naming the variable; a value that is not valid UTF-8 (a
/// surrogate-escaped byte from the process environment) is passed on with the bad bytes
/// replaced, so that the variable is refused by name, as `ProcessEnv` does.
fn read_vars(env: &Bound<'_, PyMapping>) -> Result<Vec<(String, String)>, String> {
    let items = env
        .items()
        .map_err(|e| format!("reading the variables: {e}"))?;
    let mut vars = Vec::new();
    for item in items.iter() {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item
            .extract()
            .map_err(|e| format!("reading the variables: {e}"))?;
        let Some(name) = name.cast::<PyString>().ok().map(text) else {
            continue;
        };
        if !name.starts_with(PREFIX) {
            continue;
        }
        match value.cast::<PyString>() {
            Ok(v) => vars.push((name, text(v))),
            Err(_) => {
                let kind = value
                    .get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |n| text(&n));
                return Err(format!("invalid {name}: expected a str value, not {kind}"));
            }
        }
    }
    Ok(vars)
}

/// A Python `str` as Rust text; a lone surrogate becomes U+FFFD, so a check refuses it.
fn text(s: &Bound<'_, PyString>) -> String {
    s.to_string_lossy().into_owned()
}

/// A JSON value as plain Python values: `None`, `bool`, `int`, `float`, `str`, `list`, `dict`.
fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Null => Ok(py.None().into_bound(py)),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_bound_py_any(py),
            (None, Some(i)) => i.into_bound_py_any(py),
            (None, None) => n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py),
        },
        Value::String(s) => s.into_bound_py_any(py),
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|v| to_python(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyList::new(py, items)?.into_any())
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_python(py, v)?)?;
            }
            Ok(dict.into_any())
        }
    }
}

/// The module: `Monitor` and `__version__` (the workspace version, as `post-deploy --version`
/// prints it).
#[allow(
    unsafe_code,
    reason = "PyO3's macros expand to unsafe code; none is written here"
)]
#[pymodule]
fn _post_deploy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Monitor>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
