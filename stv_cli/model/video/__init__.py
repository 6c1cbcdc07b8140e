"""The telemetry model of a clip: the video pipeline, its components and running statistics,
and the frame ring that holds the last frames as one volume (no files, no threads)."""
