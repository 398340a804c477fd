"""What the engine does, one service per job, each built on the kernel."""
