"""The pipeline's stages: their rules (transitions, status keywords) and their rows."""
