"""post_deploy: the post-deploy engine in-process, for a Python host orchestrator.

After a deploy reaches ``done`` the host arms an observation window for (repo, work item), then
ticks it from its job loop every ``requeue_after_s`` seconds until it is ``finished``. Each tick
probes production, classifies it, and rolls back or alerts, exactly as the ``post-deploy``
binary does: same ``ORCH_POST_DEPLOY_*`` variables, same state folder and files, same JSON keys
and values (``requeue_after_s`` is a float here). A window armed by one can be ticked by the
other.

Calls never raise: a fault comes back as ``error: {"kind": ..., "message": ...}`` in the
answer, with ``armed: False`` (arm) or ``finished: True`` (tick, disarm). Only an argument of
the wrong Python type raises ``TypeError``, and a ``KeyboardInterrupt`` or ``SystemExit``
that the host's own ``env`` mapping raises propagates. A tick releases the GIL while it probes, reads
logs and rolls back.

An operator's commands are there too: ``extend``, ``rollback`` and ``promote`` answer as the
binary's commands of those names (``done`` and ``reason``), and ``known_good`` lists the
images production has proved, as ``post-deploy known-good --json``.

``binomial_tail(n, k, t)`` is ``P[Binomial(n, t) >= k]`` as ``ORCH_POST_DEPLOY_CONFIDENCE``
judges a ratio rule by.
"""

from ._post_deploy import Monitor, __version__, binomial_tail

__all__ = ["Monitor", "__version__", "binomial_tail"]
