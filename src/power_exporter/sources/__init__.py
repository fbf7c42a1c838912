"""Device sources: one folder per kind of device, each turning a protocol into Readings."""
