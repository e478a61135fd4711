//! post_deploy: the post-deploy engine as a Python extension module, for a Python host.
//!
//! `post_deploy.Monitor(env=None, state_dir=None)` arms, ticks, disarms and lists windows,
//! carries out the operator's commands and lists known-good images with
//! the binary's configuration, adapters, state folder and files, and answers with the binary's
//! JSON as plain dicts and lists. This file converts to and from Python values and nothing
//! else: the variables and arguments are read under the GIL, the call runs with the GIL
//! released (a tick probes, reads logs and may roll back), and the answer comes back as
//! dicts. What a call does is `host.rs`.
//!
//! Calls never raise: every fault comes back in the answer as `error: {kind, message}`. Only
//! an argument of the wrong Python type raises `TypeError`, whose message names the argument
//! (`work_item must be a str, not NoneType`), and a `BaseException` that is not an
//! `Exception` raised by the host's own env mapping (`KeyboardInterrupt`, `SystemExit`)
//! propagates: never-raise is for the engine's faults.

mod host;

use std::path::PathBuf;

use post_deploy_core::config::PREFIX;
use pyo3::IntoPyObjectExt as _;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyMapping, PyString};
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
    fn new(env: Option<&Bound<'_, PyAny>>, state_dir: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let env = env
            .map(|e| {
                e.cast::<PyMapping>()
                    .map(|m| m.clone().unbind())
                    .map_err(|_| wrong_type("env", "a Mapping or None", e))
            })
            .transpose()?;
        Ok(Self {
            env,
            state_dir: path_arg("state_dir", state_dir)?,
        })
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
        repo: &Bound<'py, PyAny>,
        work_item: &Bound<'py, PyAny>,
        health_url: &Bound<'py, PyAny>,
        container: Option<&Bound<'py, PyAny>>,
        service: Option<&Bound<'py, PyAny>>,
        previous_image: Option<&Bound<'py, PyAny>>,
        artefacts_dir: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = host::Arm {
            repo: str_arg("repo", repo)?,
            work_item: str_arg("work_item", work_item)?,
            health_url: str_arg("health_url", health_url)?,
            container: opt_str_arg("container", container)?,
            service: opt_str_arg("service", service)?,
            previous_image: opt_str_arg("previous_image", previous_image)?,
            artefacts_dir: path_arg("artefacts_dir", artefacts_dir)?,
        };
        let env = self.env(py)?;
        let answer = py.detach(move || host::arm(env, args));
        to_python(py, &answer)
    }

    fn tick<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyAny>,
        work_item: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (repo, work_item) = pair(repo, work_item)?;
        let env = self.env(py)?;
        let answer = py.detach(move || host::tick(env, repo, work_item));
        to_python(py, &answer)
    }

    fn disarm<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyAny>,
        work_item: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (repo, work_item) = pair(repo, work_item)?;
        let env = self.env(py)?;
        let answer = py.detach(move || host::disarm(env, repo, work_item));
        to_python(py, &answer)
    }

    #[pyo3(signature = (repo=None, work_item=None))]
    fn status<'py>(
        &self,
        py: Python<'py>,
        repo: Option<&Bound<'py, PyAny>>,
        work_item: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let repo = opt_str_arg("repo", repo)?;
        let work_item = opt_str_arg("work_item", work_item)?;
        let env = self.env(py)?;
        let answer = py.detach(move || host::status(env, repo, work_item));
        to_python(py, &answer)
    }

    fn extend<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyAny>,
        work_item: &Bound<'py, PyAny>,
        by_s: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // An int too large for 64 bits is refused in the answer, like any bad value.
        let by = by_s
            .cast::<PyInt>()
            .map_err(|_| wrong_type("by_s", "an int", by_s))?
            .extract::<i64>()
            .ok();
        self.operator(py, repo, work_item, host::Operator::Extend(by))
    }

    fn rollback<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyAny>,
        work_item: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.operator(py, repo, work_item, host::Operator::Rollback)
    }

    fn promote<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyAny>,
        work_item: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.operator(py, repo, work_item, host::Operator::Promote)
    }

    #[pyo3(signature = (repo, container=None, service=None))]
    fn known_good<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyAny>,
        container: Option<&Bound<'py, PyAny>>,
        service: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let repo = str_arg("repo", repo)?;
        let container = opt_str_arg("container", container)?;
        let service = opt_str_arg("service", service)?;
        let env = self.env(py)?;
        let answer = py.detach(move || host::known_good(env, repo, container, service));
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
    /// Runs an operator's command on the pair, with the GIL released.
    fn operator<'py>(
        &self,
        py: Python<'py>,
        repo: &Bound<'py, PyAny>,
        work_item: &Bound<'py, PyAny>,
        op: host::Operator,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (repo, work_item) = pair(repo, work_item)?;
        let env = self.env(py)?;
        let answer = py.detach(move || host::operator(env, repo, work_item, op));
        to_python(py, &answer)
    }

    /// The variables as they are now (the mapping given, or `os.environ`) and the state folder.
    /// A fault of the mapping is the answer's error, unless it is a `BaseException` that is
    /// not an `Exception` (`KeyboardInterrupt`, `SystemExit`): that is the host's own, and
    /// propagates.
    fn env(&self, py: Python<'_>) -> PyResult<host::Env> {
        let vars = match &self.env {
            Some(env) => read_vars(env.bind(py))?,
            None => match py.import("os").and_then(|os| os.getattr("environ")) {
                Err(e) => Err(host_fault(py, "reading os.environ", e)?),
                Ok(environ) => match environ.cast_into::<PyMapping>() {
                    Err(e) => Err(format!("reading os.environ: {e}")),
                    Ok(environ) => read_vars(&environ)?,
                },
            },
        };
        Ok(host::Env {
            vars,
            state_dir: self.state_dir.clone(),
        })
    }
}

/// What `what` raised, as the answer's error; `Err` for a `BaseException` that is not an
/// `Exception` (`KeyboardInterrupt`, `SystemExit`), which the caller propagates: never-raise
/// is for the engine's faults, not the host's own.
fn host_fault(py: Python<'_>, what: &str, e: PyErr) -> PyResult<String> {
    if e.is_instance_of::<PyException>(py) {
        Ok(format!("{what}: {e}"))
    } else {
        Err(e)
    }
}

/// `value` as a `str`, or a `TypeError` naming the argument.
fn str_arg(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    value
        .cast::<PyString>()
        .map(text)
        .map_err(|_| wrong_type(name, "a str", value))
}

/// [`str_arg`] of an argument that may be `None`.
fn opt_str_arg(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    value
        .map(|v| {
            v.cast::<PyString>()
                .map(text)
                .map_err(|_| wrong_type(name, "a str or None", v))
        })
        .transpose()
}

/// The `repo` and `work_item` arguments.
fn pair(repo: &Bound<'_, PyAny>, work_item: &Bound<'_, PyAny>) -> PyResult<(String, String)> {
    Ok((str_arg("repo", repo)?, str_arg("work_item", work_item)?))
}

/// A folder argument (`str` or `os.PathLike`, or `None`), or a `TypeError` naming it.
fn path_arg(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<PathBuf>> {
    value
        .map(|v| {
            v.extract::<PathBuf>()
                .map_err(|_| wrong_type(name, "a str, an os.PathLike or None", v))
        })
        .transpose()
}

/// The `TypeError` of an argument of the wrong type: `NAME must be EXPECTED, not TYPE`.
fn wrong_type(name: &str, expected: &str, value: &Bound<'_, PyAny>) -> PyErr {
    let kind = value
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| text(&n));
    PyTypeError::new_err(format!("{name} must be {expected}, not {kind}"))
}

/// The `ORCH_POST_DEPLOY_*` items of `env`. A name that is not a `str` is skipped; a value
/// that is not a `str` is refused, naming the variable; a value that is not valid UTF-8 (a
/// surrogate-escaped byte from the process environment) is passed on with the bad bytes
/// replaced, so that the variable is refused by name, as `ProcessEnv` does.
fn read_vars(env: &Bound<'_, PyMapping>) -> PyResult<Result<Vec<(String, String)>, String>> {
    const WHAT: &str = "reading the variables";
    let items = match env.items() {
        Ok(items) => items,
        Err(e) => return Ok(Err(host_fault(env.py(), WHAT, e)?)),
    };
    let mut vars = Vec::new();
    for item in items.iter() {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = match item.extract() {
            Ok(pair) => pair,
            Err(e) => return Ok(Err(host_fault(env.py(), WHAT, e)?)),
        };
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
                return Ok(Err(format!(
                    "invalid {name}: expected a str value, not {kind}"
                )));
            }
        }
    }
    Ok(Ok(vars))
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
/// `P[Binomial(n, t) >= k]`, as `CONFIDENCE` judges a ratio rule by (to within 1e-9 for any
/// `n` up to 10^9): the chance of `k` or more failures among `n` requests that each fail with
/// probability `t`. Counts below 0 count as 0; `t` is clamped to 0..1.
#[pyfunction]
fn binomial_tail(
    n: &Bound<'_, PyAny>,
    k: &Bound<'_, PyAny>,
    t: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    let count = |value: &Bound<'_, PyAny>, name: &str| -> PyResult<u64> {
        let int = value
            .cast::<PyInt>()
            .map_err(|_| wrong_type(name, "an int", value))?;
        // Beyond 64 bits: as many as u64 holds (the tail is exact long before).
        Ok(int.extract::<u64>().unwrap_or_else(|_| {
            if int.lt(0).unwrap_or(false) {
                0
            } else {
                u64::MAX
            }
        }))
    };
    let (n, k) = (count(n, "n")?, count(k, "k")?);
    let t = t
        .extract::<f64>()
        .map_err(|_| wrong_type("t", "a float", t))?;
    Ok(post_deploy_core::binomial::tail_at_least(n, k, t))
}

#[pymodule]
fn _post_deploy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Monitor>()?;
    m.add_function(wrap_pyfunction!(binomial_tail, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
