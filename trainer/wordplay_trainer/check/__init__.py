"""What this machine can do: the interpreter's probe, training throughput, the GPU check."""
