"""The untrusted side of code re-runs: the namespace launcher, PID 1 of a sandbox, and the two stage runners."""
