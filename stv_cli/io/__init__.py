"""Files <-> arrays: image stacks, pictures and grids, latents and resonance files, video
clips in and out, and the atomic writer every output goes through (no click)."""
