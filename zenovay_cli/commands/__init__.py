"""One module per command group; each command: parse -> client -> shape -> output."""
