//! Child processes with a time limit, argv only, never a shell.
