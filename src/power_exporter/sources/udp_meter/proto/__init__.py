"""Generated protobuf code of the UDP power meter (``make proto`` regenerates it)."""
